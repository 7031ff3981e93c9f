//! Exact expectations of one-dimensional distributions by numerical quadrature of the density.

use burn::prelude::*;
use burn::tensor::TensorData;

use crate::distributions::Distribution;
use crate::error::{Error, Result};

/// Nodes and weights of the composite Simpson rule on `[a, b]` with `intervals` subintervals
/// (rounded up to an even number): `∫_a^b g ≈ Σ_i w_i g(x_i)`, error `O(h⁴)`.
///
/// # Examples
///
/// ```
/// let (x, w) = mcgrad::testing::simpson_rule(0.0, 1.0, 10);
/// let integral: f64 = x.iter().zip(&w).map(|(x, w)| w * x * x).sum();
/// assert!((integral - 1.0 / 3.0).abs() < 1e-12);
/// ```
pub fn simpson_rule(a: f64, b: f64, intervals: usize) -> (Vec<f64>, Vec<f64>) {
    let n = intervals.max(2).next_multiple_of(2);
    let h = (b - a) / n as f64;
    let nodes = (0..=n).map(|i| a + i as f64 * h).collect();
    let weights = (0..=n)
        .map(|i| {
            let c = if i == 0 || i == n {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            c * h / 3.0
        })
        .collect();
    (nodes, weights)
}

/// `E[f(z)] = ∫ f(z) p_θ(z) dz ≈ Σ_m w_m f(z_m) p_θ(z_m)` for each row of a distribution of
/// one-dimensional rows (value shape `[B, 1]`), on fixed nodes: differentiable in θ through
/// `log_prob`, and independent of how the distribution samples. Its autodiff gradient is the
/// exact gradient the kit tests estimators against (when the support does not move with θ:
/// for a Uniform with parameter-dependent bounds integrate over the standardized variable
/// instead).
///
/// `f` receives the nodes as `R = M·B` rows `[R, 1]` (node-major) and returns one cost per
/// row, `[R]`. Returns `[B]`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] unless the value shape is `[B, 1]` and `nodes` and `weights` have
/// one length; errors of `log_prob`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::Normal;
/// use mcgrad::testing::{density_quadrature, simpson_rule};
///
/// let device = Device::flex();
/// let normal = Normal::new(Tensor::<2>::from_floats([[1.0]], &device), Tensor::<2>::from_floats([[2.0]], &device))?;
/// let (x, w) = simpson_rule(-25.0, 27.0, 4000);
/// // E[z²] = μ² + σ² = 5
/// let e: f32 = density_quadrature(&normal, &x, &w, |z| z.square().reshape([4001]))?.into_scalar();
/// assert!((e - 5.0).abs() < 1e-3);
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub fn density_quadrature<P, F>(dist: &P, nodes: &[f64], weights: &[f64], f: F) -> Result<Tensor<1>>
where
    P: Distribution<2, Value = Tensor<2>>,
    F: FnOnce(Tensor<2>) -> Tensor<1>,
{
    let [b, k] = dist.value_shape();
    if k != 1 || nodes.len() != weights.len() || nodes.is_empty() {
        return Err(Error::ShapeMismatch {
            context: "density_quadrature: value shape [B, 1] and one weight per node",
            left: vec![b, k, nodes.len()],
            right: vec![b, 1, weights.len()],
        });
    }
    let m = nodes.len();
    let device = dist.device();
    let expand = |v: &[f64]| -> Tensor<2> {
        let data: Vec<f32> = v
            .iter()
            .flat_map(|&x| std::iter::repeat_n(x as f32, b))
            .collect();
        Tensor::from_data(TensorData::new(data, [m * b, 1]), &device)
    };
    let z = expand(nodes);
    let w = expand(weights);
    let density = dist.replicate(m).log_prob(&z)?.exp();
    let costs = f(z);
    crate::estimators::check_costs(&costs, m * b)?;
    let terms = (w * density).reshape([m * b]) * costs;
    Ok(terms.reshape([m, b]).sum_dim(0).reshape([b]))
}
