//! Numerically stable elementary functions built from single backend ops.

use burn::prelude::*;
use burn::tensor::activation::log_sigmoid;

/// `softplus(x) = ln(1 + eˣ) = −ln σ(−x)`, exact in both tails (it is `x` for large `x` and
/// `eˣ` for very negative `x`, never `inf − inf`). One fused backend op forward and one
/// backward (`log_sigmoid`), where Burn's `activation::softplus` is a chain of seven.
pub(crate) fn softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    log_sigmoid(x.neg()).neg()
}

/// `softmax(x)` along `dim`, as `e / Σe` with `e = exp(x − sg(max x))`: one `exp` pass forward
/// and none backward (the gradient of `exp` reuses its output), where Burn's `softmax` is
/// `exp(log_softmax(x))` with three. The shift by the (detached) maximum keeps every `e` in
/// (0, 1] and the sum at least 1, so no overflow and no division by zero for finite rows;
/// softmax is invariant to the shift, so its gradient is exact.
pub(crate) fn softmax<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    let e = (x.clone() - x.detach().max_dim(dim)).exp();
    e.clone() / e.sum_dim(dim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_matches_the_definition_and_survives_huge_logits() {
        let device = Device::flex();
        let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [1e7, -1e7, 0.0]], &device);
        let y = softmax(x, 1).try_into_vec_as::<f32>().unwrap();
        let z: f64 = [1f64, 2.0, 3.0].iter().map(|v| v.exp()).sum();
        for (k, v) in [1f64, 2.0, 3.0].iter().enumerate() {
            assert!((y[k] as f64 - v.exp() / z).abs() < 1e-7);
        }
        assert_eq!(&y[3..], &[1.0, 0.0, 0.0]);
    }

    #[test]
    fn softplus_is_exact_in_both_tails() {
        let device = Device::flex();
        let x = Tensor::<1>::from_floats([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4], &device);
        let y = softplus(x).try_into_vec_as::<f32>().unwrap();
        let want = [
            0.0,
            (-50f64).exp(),
            (1.0 + (-1f64).exp()).ln(),
            2f64.ln(),
            (1.0 + 1f64.exp()).ln(),
            50.0,
            1e4,
        ];
        for (g, w) in y.iter().zip(want) {
            assert!(
                (*g as f64 - w).abs() <= 1e-6 * w.abs().max(1e-30),
                "{g} vs {w}"
            );
        }
    }
}
