//! The importance-weighted objective with a reparameterized proposal.

use burn::prelude::*;

use super::bound::{log_mean_exp, normalized_weights};
use super::{DetachParameters, InferenceGradient, MultiSampleEstimate, MultiSampleEstimator};
use crate::distributions::{Reparameterized, sum_per_row};
use crate::error::{Error, Result};
use crate::estimators::check_costs;
use crate::rng::NoiseSource;

/// The `k`-sample importance-weighted bound (IWAE; Burda et al. 2016) with a reparameterized
/// proposal, and a switch for the gradient its parameters get ([`InferenceGradient`]):
/// standard, sticking the landing (STL), doubly reparameterized (DReG), and the reweighted
/// wake-sleep updates. `k = 1` is the ELBO ([`ImportanceWeighted::elbo`]).
///
/// For draws `z_i = g_φ(ε_i)`, `i = 1..k`, from the proposal `q_φ(z | x)` of each element and
/// log-weights `ℓ_i = ln p_θ(x, z_i) − ln q_φ(z_i | x)`, the surrogate is
///
/// `L̂_k = ln (1/k) Σ_i exp(ℓ_i)` (see [`importance_weighted_bound`](super::importance_weighted_bound)),
///
/// built so that its value is always the bound estimate and its gradient is:
///
/// - for the model's parameters θ (those `log_joint` depends on): `Σ_i w̃_i ∇θ ln p_θ(x, z_i)`,
///   unbiased for `∇θ L_k`;
/// - for the proposal's φ: the variant chosen, see [`InferenceGradient`] for what each is
///   unbiased for. Where the stop-gradients go:
///   - `Standard`: `ℓ_i = ln p(x, z_i) − ln q_φ(z_i)`, nothing stopped;
///   - `StickingTheLanding`: `ℓ_i = ln p(x, z_i) − ln q_{sg(φ)}(z_i)` (the proposal rebuilt
///     from detached parameters, [`DetachParameters`]);
///   - `Dreg`, `RwsDreg`, `DregMixture`: the same `ℓ_i`, evaluated at
///     `z'_i = sg(z_i) + a_i·(z_i − sg(z_i))` (equal to `z_i`) with `a_i = sg(w̃_i)` for DReG,
///     `sg(1 − w̃_i)` for RWS-DReG, so the path through draw `i` is weighted `w̃_i·a_i`
///     (`w̃_i²`, `w̃_i − w̃_i²`) while the direct path to θ keeps `w̃_i`; `w̃` comes from a first,
///     detached evaluation of `log_joint`;
///   - `Rws`: `ℓ_i` at `sg(z_i)` with `sg(ln q)`, plus `Σ_i sg(w̃_i)·(ln q_φ(sg z_i) − sg(·))`.
///
/// - Bias: none for θ; for φ as the table of [`InferenceGradient`] says (STL is biased for
///   `∇φ L_k` when `k > 1`).
/// - Variance: see [`InferenceGradient`]; DReG's φ-gradient variance falls with `k` where the
///   standard estimator's signal-to-noise ratio falls as `1/√k`.
/// - Requirements: a [`Reparameterized`] proposal with [`DetachParameters`]; a `log_joint`
///   differentiable in `z` (and deterministic: the DReG variants call it twice).
///
/// # Shapes
///
/// A proposal of `B` rows; `log_joint` receives `k·B` draws, sample-major, and returns
/// `ln p(x, z)` per draw, `[k·B]`. Surrogate `[B]`, log-weights `[k, B]`.
///
/// # Examples
///
/// Sticking the landing at the exact posterior: for `z ~ N(0, 1)`, `x | z ~ N(z, 1)` and
/// `x = 1` the posterior is `N(½, ½)`; with `q` equal to it every log-weight is `ln p(x)`, and
/// the STL gradient vanishes draw by draw while the standard one does not.
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::Normal;
/// use mcgrad::estimators::multisample::{ImportanceWeighted, InferenceGradient, MultiSampleEstimator};
///
/// let device = Device::flex().autodiff();
/// let log_joint = |z: Tensor<2>| {
///     let rows = z.dims()[0];
///     ((z.clone().square() + (z - 1.0).square()) * -0.5).reshape([rows])
/// };
/// for (gradient, vanishes) in [(InferenceGradient::StickingTheLanding, true), (InferenceGradient::Standard, false)] {
///     let loc = Tensor::<2>::from_floats([[0.5]], &device).require_grad();
///     let q = Normal::new(loc.clone(), Tensor::<2>::from_floats([[0.5f32.sqrt()]], &device))?;
///     let est = ImportanceWeighted::elbo()
///         .with_gradient(gradient)?
///         .estimate(&q, &mut NoiseSource::seed_from_u64(7), log_joint)?;
///     let g: f32 = loc.grad(&est.loss().backward()).unwrap().into_scalar();
///     assert_eq!(g.abs() < 1e-5, vanishes);
/// }
///
/// // the doubly reparameterized gradient of the 16-sample bound
/// let q = Normal::new(Tensor::<2>::from_floats([[0.0]], &device).require_grad(), Tensor::<2>::from_floats([[1.0]], &device))?;
/// let est = ImportanceWeighted::new(16)?
///     .with_gradient(InferenceGradient::Dreg)?
///     .estimate(&q, &mut NoiseSource::seed_from_u64(0), log_joint)?;
/// assert_eq!(est.log_weights.dims(), [16, 1]);
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Burda, Grosse & Salakhutdinov, *Importance Weighted Autoencoders*, ICLR 2016; Roeder, Wu &
/// Duvenaud, *Sticking the Landing*, NeurIPS 2017; Tucker, Lawson, Gu & Maddison, *Doubly
/// Reparameterized Gradient Estimators for Monte Carlo Objectives*, ICLR 2019.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImportanceWeighted {
    k: usize,
    gradient: InferenceGradient,
}

impl ImportanceWeighted {
    /// The `k`-sample bound with the standard gradient.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for `k = 0`.
    pub fn new(k: usize) -> Result<Self> {
        if k == 0 {
            return Err(Error::invalid("ImportanceWeighted", "k", "at least 1"));
        }
        Ok(Self {
            k,
            gradient: InferenceGradient::Standard,
        })
    }

    /// The ELBO, `k = 1`, with the standard (pathwise) gradient.
    pub fn elbo() -> Self {
        Self {
            k: 1,
            gradient: InferenceGradient::Standard,
        }
    }

    /// The same bound with another gradient for the proposal's parameters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a [`InferenceGradient::DregMixture`] α outside `[0, 1]`.
    pub fn with_gradient(self, gradient: InferenceGradient) -> Result<Self> {
        Ok(Self {
            gradient: gradient.validate()?,
            ..self
        })
    }

    /// The number of draws per element.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The gradient the proposal's parameters get.
    pub fn gradient(&self) -> InferenceGradient {
        self.gradient
    }
}

/// `[rows]` → `[rows, 1, …, 1]` (rank `D`), to scale each row of a sample.
fn per_row<const D: usize>(t: Tensor<1>) -> Tensor<D> {
    let [rows] = t.dims();
    let mut shape = [1usize; D];
    shape[0] = rows;
    t.reshape(shape)
}

impl ImportanceWeighted {
    fn run<const D: usize, Q, F>(
        &self,
        q: &Q,
        noise: &mut NoiseSource,
        mut log_joint: F,
    ) -> Result<MultiSampleEstimate<Tensor<D>>>
    where
        Q: Reparameterized<D> + DetachParameters<D>,
        F: FnMut(Tensor<D>) -> Tensor<1>,
    {
        let (k, b) = (self.k, q.rows());
        let draws = q.replicate(k);
        let rows = draws.rows();
        let z = draws.transform_noise(draws.draw_noise(noise));
        let mut log_p = |z: Tensor<D>| -> Result<Tensor<1>> {
            let lp = log_joint(z);
            check_costs(&lp, rows)?;
            Ok(lp)
        };
        let by_draw = |t: Tensor<1>| t.reshape([k, b]);

        let (surrogate, log_w) = match self.gradient {
            InferenceGradient::Standard => {
                let log_q = sum_per_row(draws.log_prob(&z)?);
                let log_w = by_draw(log_p(z.clone())? - log_q);
                (log_mean_exp(log_w.clone()), log_w)
            }
            InferenceGradient::StickingTheLanding => {
                let log_q = sum_per_row(draws.detach_parameters().log_prob(&z)?);
                let log_w = by_draw(log_p(z.clone())? - log_q);
                (log_mean_exp(log_w.clone()), log_w)
            }
            InferenceGradient::Rws => {
                let fixed = z.clone().detach();
                let log_q = by_draw(sum_per_row(draws.log_prob(&fixed)?));
                let log_w = by_draw(log_p(fixed)?) - log_q.clone().detach();
                let w = normalized_weights(log_w.clone());
                let score = (w * (log_q.clone() - log_q.detach()))
                    .sum_dim(0)
                    .reshape([b]);
                (log_mean_exp(log_w.clone()) + score, log_w)
            }
            doubly => {
                let (c0, c1) = doubly
                    .path_factor()
                    .expect("every other variant has a path factor");
                let stopped = draws.detach_parameters();
                let fixed = z.clone().detach();
                // the weights first, from a pass that carries no gradient to the draws
                let first = log_p(fixed.clone())? - sum_per_row(stopped.log_prob(&fixed)?);
                let a = (normalized_weights(by_draw(first)) * c1)
                    .add_scalar(c0)
                    .reshape([rows]);
                let scaled = fixed.clone() + (z.clone() - fixed) * per_row::<D>(a);
                let log_q = sum_per_row(stopped.log_prob(&scaled)?);
                let log_w = by_draw(log_p(scaled)? - log_q);
                (log_mean_exp(log_w.clone()), log_w)
            }
        };
        Ok(MultiSampleEstimate {
            surrogate,
            log_weights: log_w.detach(),
            samples: z,
        })
    }
}

impl<const D: usize, Q> MultiSampleEstimator<D, Q> for ImportanceWeighted
where
    Q: Reparameterized<D> + DetachParameters<D>,
{
    fn estimate<F>(
        &self,
        q: &Q,
        noise: &mut NoiseSource,
        log_joint: F,
    ) -> Result<MultiSampleEstimate<Tensor<D>>>
    where
        F: FnMut(Tensor<D>) -> Tensor<1>,
    {
        self.run(q, noise, log_joint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::Normal;

    #[test]
    fn k_must_be_positive_and_alpha_in_range() {
        assert!(matches!(
            ImportanceWeighted::new(0),
            Err(Error::InvalidParameter { name: "k", .. })
        ));
        let iw = ImportanceWeighted::new(3).unwrap();
        assert!(
            iw.with_gradient(InferenceGradient::DregMixture(1.5))
                .is_err()
        );
        assert!(
            iw.with_gradient(InferenceGradient::DregMixture(f64::NAN))
                .is_err()
        );
        let mixed = iw
            .with_gradient(InferenceGradient::DregMixture(0.3))
            .unwrap();
        assert_eq!(
            (mixed.k(), mixed.gradient()),
            (3, InferenceGradient::DregMixture(0.3))
        );
    }

    #[test]
    fn a_log_joint_of_the_wrong_length_is_an_error() {
        let device = Device::flex().autodiff();
        let q = Normal::new(
            Tensor::<2>::zeros([2, 1], &device),
            Tensor::<2>::ones([2, 1], &device),
        )
        .unwrap();
        for gradient in [
            InferenceGradient::Standard,
            InferenceGradient::Dreg,
            InferenceGradient::Rws,
        ] {
            let iw = ImportanceWeighted::new(3)
                .unwrap()
                .with_gradient(gradient)
                .unwrap();
            let err = iw
                .estimate(&q, &mut NoiseSource::seed_from_u64(0), |z: Tensor<2>| {
                    z.sum().reshape([1])
                })
                .unwrap_err();
            assert!(matches!(err, Error::ShapeMismatch { .. }), "{gradient:?}");
        }
    }

    /// Every variant's surrogate has the bound as its value, bit for bit the same draws.
    #[test]
    fn every_variant_has_the_bound_as_its_value() {
        let device = Device::flex().autodiff();
        let q = Normal::new(
            Tensor::<2>::from_floats([[0.2], [-0.4]], &device).require_grad(),
            Tensor::<2>::from_floats([[0.9], [1.3]], &device),
        )
        .unwrap();
        let log_joint = |z: Tensor<2>| {
            let rows = z.dims()[0];
            ((z.clone().square() + (z - 1.5).square() * 2.0) * -0.5).reshape([rows])
        };
        let mut values = Vec::new();
        for gradient in [
            InferenceGradient::Standard,
            InferenceGradient::StickingTheLanding,
            InferenceGradient::Dreg,
            InferenceGradient::RwsDreg,
            InferenceGradient::DregMixture(0.4),
            InferenceGradient::Rws,
        ] {
            let est = ImportanceWeighted::new(5)
                .unwrap()
                .with_gradient(gradient)
                .unwrap()
                .estimate(&q, &mut NoiseSource::seed_from_u64(9), log_joint)
                .unwrap();
            let v = est.surrogate.try_into_vec_as::<f32>().unwrap();
            let direct = super::super::importance_weighted_bound(est.log_weights)
                .unwrap()
                .try_into_vec_as::<f32>()
                .unwrap();
            for (a, b) in v.iter().zip(&direct) {
                assert!((a - b).abs() < 1e-6, "{gradient:?}: {v:?} vs {direct:?}");
            }
            values.push(v);
        }
        for v in &values[1..] {
            for (a, b) in v.iter().zip(&values[0]) {
                assert!((a - b).abs() < 1e-5, "{values:?}");
            }
        }
    }
}
