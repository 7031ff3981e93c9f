//! Which gradient the proposal's parameters get: the switch of [`ImportanceWeighted`].
//!
//! [`ImportanceWeighted`]: super::ImportanceWeighted

use crate::error::{Error, Result};

/// The gradient estimator for the proposal's (inference network's) parameters φ in
/// [`ImportanceWeighted`](super::ImportanceWeighted). The model's parameters θ always get the
/// standard `Σ_i w̃_i ∇θ ln p_θ(x, z_i)`, unbiased for `∇θ L_k`.
///
/// With reparameterized draws `z_i = g_φ(ε_i)`, `ℓ_i = ln w_i = ln p(x, z_i) − ln q_φ(z_i)` and
/// normalized weights `w̃_i = w_i / Σ_j w_j`, write `∂ℓ_i/∂z_i` for the derivative of `ℓ_i` in
/// `z_i` with φ *held fixed inside* `q_φ`, and `D_i = (∂ℓ_i/∂z_i)(∂z_i/∂φ)` for the path
/// through the sample. The exact gradient of the bound is
///
/// `∇φ L_k = E[Σ_i w̃_i (D_i − ∇φ ln q_φ(z_i))]`   (standard: path term and score term),
///
/// and the identity `E[w̃_i ∇φ ln q_φ(z_i)] = E[(w̃_i − w̃_i²) D_i]` (a second
/// reparameterization of the score term, Tucker et al. 2019) turns it into
/// `E[Σ_i w̃_i² D_i]`. Every variant is a weighted path term `Σ_i c_i D_i` (or, for [`Rws`],
/// a score term):
///
/// | variant | φ-gradient | unbiased for | extra cost |
/// |---|---|---|---|
/// | [`Standard`] | `Σ w̃_i (D_i − ∇φ ln q_φ(z_i))` | `∇φ L_k` (the ELBO's for `k = 1`) | none |
/// | [`StickingTheLanding`] | `Σ w̃_i D_i` | `∇φ L_1`, the ELBO's, for `k = 1`. **Biased** for `∇φ L_k` when `k > 1`: its mean is `∇φ L_k` plus the RWS direction below | none |
/// | [`Dreg`] | `Σ w̃_i² D_i` | `∇φ L_k` | one more evaluation of `log_joint` |
/// | [`RwsDreg`] | `Σ (w̃_i − w̃_i²) D_i` | the reweighted wake-sleep update `E[Σ w̃_i ∇φ ln q_φ(z_i)]` | the same |
/// | [`DregMixture`]`(α)` | `Σ ((1 − α) w̃_i² + α (w̃_i − w̃_i²)) D_i` | `(1 − α)·∇φ L_k + α·RWS` | the same |
/// | [`Rws`] | `Σ w̃_i ∇φ ln q_φ(z_i)`, draws held fixed | the RWS update | none |
///
/// Variance: at `k = 1` and `q` equal to the exact posterior, `ℓ` is constant in `z`, so every
/// path term vanishes and [`StickingTheLanding`] has zero variance, while [`Standard`] keeps
/// the score term's (for a Normal `q`, `Var ∂/∂μ = 1/σ²`, `Var ∂/∂σ = 2/σ²`). As `k` grows the
/// standard estimator's signal-to-noise ratio for φ falls as `1/√k` (Rainforth et al. 2018);
/// [`Dreg`]'s does not (Tucker et al. 2019, Fig. 1).
///
/// [`Rws`] and [`RwsDreg`] estimate the wake-φ update of reweighted wake-sleep (Bornschein &
/// Bengio 2015), which ascends `−KL(p(z | x) ‖ q)` rather than the bound; the surrogate's value
/// is still the bound, and θ still gets `∇θ L_k`. [`StickingTheLanding`]'s weights are the sum
/// of [`Dreg`]'s and [`RwsDreg`]'s, so `2·DregMixture(½)` is STL (Tucker et al. 2019).
///
/// The doubly reparameterized variants need `w̃` before the pass that differentiates through
/// `z` (the weight scales that pass's path to φ, and Burn has no gradient hooks to scale it
/// afterwards), so they evaluate `log_joint` once more on the detached draws: a forward pass
/// with no backward through it. On the VAE of `benches/iwae.rs` (k = 50) a DReG step took
/// 1.2–1.6 times a standard one (docs/BENCHMARKS.md).
///
/// # References
///
/// Roeder, Wu & Duvenaud, *Sticking the Landing: Simple, Lower-Variance Gradient Estimators
/// for Variational Inference*, NeurIPS 2017; Tucker, Lawson, Gu & Maddison, *Doubly
/// Reparameterized Gradient Estimators for Monte Carlo Objectives*, ICLR 2019 (IWAE-DReG,
/// RWS-DReG, and the bias of STL; the authors' released code calls the mixture
/// "dreg-alpha"); Bornschein & Bengio, *Reweighted Wake-Sleep*, ICLR 2015; Rainforth et al.,
/// *Tighter Variational Bounds are Not Necessarily Better*, ICML 2018.
///
/// [`Standard`]: InferenceGradient::Standard
/// [`StickingTheLanding`]: InferenceGradient::StickingTheLanding
/// [`Dreg`]: InferenceGradient::Dreg
/// [`RwsDreg`]: InferenceGradient::RwsDreg
/// [`DregMixture`]: InferenceGradient::DregMixture
/// [`Rws`]: InferenceGradient::Rws
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum InferenceGradient {
    /// The standard reparameterized gradient of the bound, score term included.
    #[default]
    Standard,
    /// "Sticking the landing": the path term alone, `ln q` evaluated with detached parameters.
    StickingTheLanding,
    /// The doubly reparameterized gradient of the IWAE bound (IWAE-DReG): path terms weighted
    /// by the squared normalized weights.
    Dreg,
    /// The doubly reparameterized reweighted wake-sleep update (RWS-DReG).
    RwsDreg,
    /// `(1 − α)·Dreg + α·RwsDreg`, for α in `[0, 1]`.
    DregMixture(f64),
    /// The reweighted wake-sleep update in its score-function form.
    Rws,
}

impl InferenceGradient {
    /// Checks the variant's parameter (α of [`DregMixture`](Self::DregMixture) in `[0, 1]`).
    pub(crate) fn validate(self) -> Result<Self> {
        match self {
            InferenceGradient::DregMixture(alpha) if !(0.0..=1.0).contains(&alpha) => Err(
                Error::invalid("InferenceGradient::DregMixture", "alpha", "in [0, 1]"),
            ),
            other => Ok(other),
        }
    }

    /// The factor `a_i` the doubly reparameterized variants put on the path through draw `i`
    /// on top of the bound's own weight `w̃_i`, as a function of `w̃_i`; `None` for the
    /// variants without it.
    pub(crate) fn path_factor(self) -> Option<(f64, f64)> {
        // a_i = c0 + c1·w̃_i
        match self {
            InferenceGradient::Dreg => Some((0.0, 1.0)),
            InferenceGradient::RwsDreg => Some((1.0, -1.0)),
            InferenceGradient::DregMixture(alpha) => Some((alpha, 1.0 - 2.0 * alpha)),
            _ => None,
        }
    }
}

impl core::str::FromStr for InferenceGradient {
    type Err = Error;

    /// `standard`, `stl`, `dreg`, `rws-dreg`, `rws`, or `dreg-mixture:α` (case-insensitive):
    /// the names a command line takes.
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.to_ascii_lowercase();
        let parsed = match lower.as_str() {
            "standard" => InferenceGradient::Standard,
            "stl" | "sticking-the-landing" => InferenceGradient::StickingTheLanding,
            "dreg" | "iwae-dreg" => InferenceGradient::Dreg,
            "rws-dreg" => InferenceGradient::RwsDreg,
            "rws" => InferenceGradient::Rws,
            other => match other.strip_prefix("dreg-mixture:") {
                Some(alpha) => InferenceGradient::DregMixture(alpha.parse().map_err(|_| {
                    Error::argument("gradient", format!("`{alpha}` is not a number"))
                })?),
                None => {
                    return Err(Error::argument(
                        "gradient",
                        format!(
                            "`{s}` is not one of standard, stl, dreg, rws-dreg, rws, dreg-mixture:α"
                        ),
                    ));
                }
            },
        };
        parsed.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_command_line_names() {
        assert_eq!(
            "dreg".parse::<InferenceGradient>().unwrap(),
            InferenceGradient::Dreg
        );
        assert_eq!(
            "STL".parse::<InferenceGradient>().unwrap(),
            InferenceGradient::StickingTheLanding
        );
        assert_eq!(
            "dreg-mixture:0.25".parse::<InferenceGradient>().unwrap(),
            InferenceGradient::DregMixture(0.25)
        );
        assert!("dreg-mixture:2".parse::<InferenceGradient>().is_err());
        assert!("dreg-mixture:x".parse::<InferenceGradient>().is_err());
        assert!("reinforce".parse::<InferenceGradient>().is_err());
    }

    #[test]
    fn the_mixture_interpolates_dreg_and_rws_dreg() {
        assert_eq!(
            InferenceGradient::DregMixture(0.0).path_factor(),
            Some((0.0, 1.0))
        );
        assert_eq!(
            InferenceGradient::DregMixture(1.0).path_factor(),
            Some((1.0, -1.0))
        );
        // α = ½: a = ½ for every draw, half of sticking the landing
        assert_eq!(
            InferenceGradient::DregMixture(0.5).path_factor(),
            Some((0.5, 0.0))
        );
        assert_eq!(InferenceGradient::Standard.path_factor(), None);
    }
}
