//! Numerically stable elementary functions built from single backend ops.

pub(crate) mod bessel;
pub(crate) mod gamma;
pub(crate) mod incomplete_gamma;
pub(crate) mod von_mises_cdf;

use burn::prelude::*;
use burn::tensor::activation::{self, log_sigmoid};

/// `softplus(x) = ln(1 + eˣ) = −ln σ(−x)`, exact in both tails (it is `x` for large `x` and
/// `eˣ` for very negative `x`, never `inf − inf`). One fused backend op forward and one
/// backward (`log_sigmoid`), where Burn's `activation::softplus` is a chain of seven.
pub(crate) fn softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    log_sigmoid(x.neg()).neg()
}

/// `softmax(x)` along `dim`: `y_k = exp(x_k) / Σ_j exp(x_j)`.
///
/// The value is the backend's fused softmax of `x` taken off the autodiff graph (on the CPU
/// backend one SIMD pass that shifts each row by its maximum, so finite rows never overflow).
/// The gradient is attached through a term that is exactly zero in the forward pass:
///
/// `y = y_c ⊙ (1 + δ − Σ_j y_c,j δ_j)`, with `y_c = sg(softmax(x))` and `δ = x − sg(x)`.
///
/// For finite `x`, `δ = x − x` is exactly 0, so the value is `y_c` bit for bit; the Jacobian is
/// `diag(y_c) − y_c y_cᵀ`, softmax's own. Burn's autodiff splits `softmax` into
/// max/sub/exp/sum/div and recomputes the `exp` in the backward pass (two scalar `exp` per
/// value); this form has one vectorized `exp` forward and none backward.
pub(crate) fn softmax<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    if !x.is_autodiff() {
        return activation::softmax(x, dim);
    }
    let y = activation::softmax(x.clone().inner(), dim).autodiff();
    let delta = x.clone() - x.detach();
    let mixed = (y.clone() * delta.clone()).sum_dim(dim);
    y * (delta - mixed + 1.0)
}

/// `exp(x)`, with the gradient `g ⊙ eˣ` from the forward value instead of a second `exp`.
///
/// Burn's autodiff recomputes `exp` of the input in the backward pass; here the value
/// `e_c = sg(exp(x))` is taken off the graph and the gradient attached through a term that is
/// exactly zero forward: `e = e_c ⊙ (1 + δ)`, `δ = x − sg(x)` (0 for finite `x`, so the value
/// is `e_c` bit for bit; `∂e/∂x = e_c`).
pub(crate) fn exp<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !x.is_autodiff() {
        return x.exp();
    }
    let e = x.clone().inner().exp().autodiff();
    e * (x.clone() - x.detach() + 1.0)
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
    fn softmax_gradient_is_the_softmax_jacobian() {
        let device = Device::flex().autodiff();
        let x = Tensor::<2>::from_floats([[0.3, -1.2, 2.0, 0.5]], &device).require_grad();
        let w = [1.5f64, -0.5, 0.25, 2.0];
        let y = softmax(x.clone(), 1);
        let values = y.clone().inner().try_into_vec_as::<f32>().unwrap();
        let loss = (y * Tensor::<2>::from_floats([[1.5, -0.5, 0.25, 2.0]], &device)).sum();
        let grad = x.grad(&loss.backward()).unwrap();
        let grad = grad.try_into_vec_as::<f32>().unwrap();
        // d/dx_j Σ_k w_k y_k = y_j (w_j − Σ_k w_k y_k), in f64 from the definition
        let xs = [0.3f64, -1.2, 2.0, 0.5];
        let z: f64 = xs.iter().map(|v| v.exp()).sum();
        let p: Vec<f64> = xs.iter().map(|v| v.exp() / z).collect();
        let mean: f64 = p.iter().zip(&w).map(|(p, w)| p * w).sum();
        for j in 0..4 {
            assert!((values[j] as f64 - p[j]).abs() < 1e-7);
            let want = p[j] * (w[j] - mean);
            assert!((grad[j] as f64 - want).abs() < 1e-6, "{grad:?}");
        }
    }

    #[test]
    fn exp_has_the_value_and_gradient_of_exp() {
        let device = Device::flex().autodiff();
        let xs = [-3.0f32, -0.5, 0.0, 0.7, 4.0];
        let x = Tensor::<1>::from_floats(xs, &device).require_grad();
        let e = exp(x.clone());
        let plain = x.clone().inner().exp().try_into_vec_as::<f32>().unwrap();
        assert_eq!(e.clone().inner().try_into_vec_as::<f32>().unwrap(), plain);
        let w = Tensor::<1>::from_floats([1.0, -2.0, 0.5, 3.0, 0.25], &device);
        let grad = x.grad(&(e * w).sum().backward()).unwrap();
        let grad = grad.try_into_vec_as::<f32>().unwrap();
        for (k, w) in [1.0f32, -2.0, 0.5, 3.0, 0.25].iter().enumerate() {
            assert_eq!(grad[k], plain[k] * w);
        }
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
