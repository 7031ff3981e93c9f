//! Numerically stable elementary functions built from single backend ops.

use burn::prelude::*;
use burn::tensor::activation::log_sigmoid;

/// `softplus(x) = ln(1 + eˣ) = −ln σ(−x)`, exact in both tails (it is `x` for large `x` and
/// `eˣ` for very negative `x`, never `inf − inf`). One fused backend op forward and one
/// backward (`log_sigmoid`), where Burn's `activation::softplus` is a chain of seven.
pub(crate) fn softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    log_sigmoid(x.neg()).neg()
}

#[cfg(test)]
mod tests {
    use super::*;

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
