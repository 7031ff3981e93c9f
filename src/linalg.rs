//! Small batched linear algebra on lower-triangular matrices, written with differentiable
//! tensor ops so that gradients flow to every input.

use burn::prelude::*;

/// The diagonals of a batch of square matrices `[B, K, K]`, as `[B, K]`.
pub(crate) fn diagonal(m: Tensor<3>) -> Tensor<2> {
    let [b, k, _] = m.dims();
    let eye = Tensor::<2>::eye(k, &m.device()).reshape([1, k, k]);
    (m * eye).sum_dim(2).reshape([b, k])
}

/// Solves `L X = R` for a batch of lower-triangular `L` `[B, K, K]` and right-hand sides `R`
/// `[B, K, C]` by forward substitution: `x_i = (r_i − Σ_{j<i} L_ij x_j) / L_ii`.
///
/// `K` sequential steps of batched element-wise work: right for the small event sizes of
/// variational families, not for large dense solves.
pub(crate) fn solve_lower(l: Tensor<3>, r: Tensor<3>) -> Tensor<3> {
    let [b, k, _] = l.dims();
    let c = r.dims()[2];
    let mut rows: Vec<Tensor<3>> = Vec::with_capacity(k);
    for i in 0..k {
        let r_i = r.clone().slice([0..b, i..i + 1, 0..c]);
        let l_ii = l.clone().slice([0..b, i..i + 1, i..i + 1]);
        let acc = if i == 0 {
            r_i
        } else {
            // Σ_{j<i} L_ij x_j: [B, 1, i] @ [B, i, C]
            let l_row = l.clone().slice([0..b, i..i + 1, 0..i]);
            let x_prev = Tensor::cat(rows.clone(), 1);
            r_i - l_row.matmul(x_prev)
        };
        rows.push(acc / l_ii);
    }
    Tensor::cat(rows, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_substitution_inverts_a_lower_triangular_product() {
        let device = Device::flex();
        let l = Tensor::<3>::from_floats(
            [[[2.0, 0.0, 0.0], [1.0, 3.0, 0.0], [-1.0, 0.5, 1.5]]],
            &device,
        );
        let x = Tensor::<3>::from_floats([[[1.0, 2.0], [-1.0, 0.0], [0.5, 4.0]]], &device);
        let r = l.clone().matmul(x.clone());
        let solved = solve_lower(l.clone(), r);
        solved
            .into_data()
            .assert_approx_eq::<f32>(&x.into_data(), burn::tensor::Tolerance::absolute(1e-5));
        let d = diagonal(l).try_into_vec_as::<f32>().unwrap();
        assert_eq!(d, vec![2.0, 3.0, 1.5]);
    }
}
