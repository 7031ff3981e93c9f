//! The testing kit: exact gradients, unbiasedness checks and variance measurement for
//! gradient estimators, for this crate's tests and for users' property tests.
//!
//! # How a check works
//!
//! A gradient estimator is unbiased when the mean of its estimates equals the exact gradient
//! `∇θ E[f]`. The kit draws `N` independent single estimates `g_1, …, g_N` of a parameter
//! vector θ (size P), and for each parameter runs a z-test of their mean against the exact
//! value: `z = (ḡ − g*) / (s/√N)`. With a stated false-failure rate α the check fails when
//! any `|z|` exceeds the two-sided critical value `Φ⁻¹(1 − α/(2P))` (Bonferroni over the P
//! parameters). By the central limit theorem the rate holds for large `N` and estimators of
//! finite variance; use a few thousand samples or more.
//!
//! The `N` estimates come from one batched forward and backward pass: θ is repeated as the
//! `N` rows of a tracked `[N, P]` tensor, the caller builds the distribution row by row from
//! it (row `i` of θ parameterizes batch element `i`) and returns the surrogate per row, and the
//! gradient of the summed surrogate with respect to the `[N, P]` tensor holds the `N`
//! independent estimates. The one requirement: row `i` of the surrogate depends on row `i` of
//! θ only, which holds for every estimator in this crate.
//!
//! # Examples
//!
//! The pathwise estimator of `∇ E[(x − 2)²]` for `x ~ N(μ, σ²)` is unbiased; the exact gradient
//! is `(2(μ − 2), 2σ)`:
//!
//! ```
//! use burn::prelude::*;
//! use mcgrad::distributions::Normal;
//! use mcgrad::estimators::{Estimator, Pathwise};
//! use mcgrad::testing::GradientCheck;
//!
//! let device = Device::flex();
//! let (mu, sigma) = (0.5, 1.5);
//! let samples = GradientCheck::new(20_000).seed(1).run(&device, &[mu, sigma], |theta, noise| {
//!     let [rows, _] = theta.dims();
//!     let normal = Normal::new_unchecked(theta.clone().slice([0..rows, 0..1]), theta.slice([0..rows, 1..2]))?;
//!     let est = Pathwise.estimate(&normal, 1, noise, |x| (x - 2.0).square().reshape([rows]))?;
//!     Ok(est.surrogate)
//! })?;
//! let report = samples.unbiasedness(&[2.0 * (mu - 2.0), 2.0 * sigma], 1e-6)?;
//! assert!(report.passed(), "{report}");
//! # Ok::<(), mcgrad::Error>(())
//! ```

use core::fmt;

use burn::prelude::*;
use burn::tensor::TensorData;

use crate::error::{Error, Result};
use crate::rng::NoiseSource;

mod chi_square;
mod quadrature;
mod stats;

pub use chi_square::{ChiSquareReport, chi_square};
pub use quadrature::{density_quadrature, simpson_rule};
pub use stats::{normal_quantile, normal_upper_tail};

/// Settings for drawing per-sample gradient estimates: how many, in chunks of what size, from
/// which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradientCheck {
    samples: usize,
    chunk: usize,
    seed: u64,
}

impl GradientCheck {
    /// `samples` independent estimates, seed 0, chunks of 16 384 rows.
    pub fn new(samples: usize) -> Self {
        Self {
            samples,
            chunk: 16_384,
            seed: 0,
        }
    }

    /// The seed of the noise source the estimator receives.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The largest number of rows drawn in one forward and backward pass (memory bound).
    pub fn chunk(mut self, rows: usize) -> Self {
        self.chunk = rows.max(1);
        self
    }

    /// Draws the per-sample gradient estimates at parameter vector `theta`.
    ///
    /// `estimator` receives a tracked `[m, P]` tensor whose rows are copies of θ (on the
    /// autodiff version of `device`) and a noise source, and returns the surrogate loss per
    /// row, `[m]`. It is called once per chunk.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for zero samples or an empty θ, for a surrogate that does not
    /// depend on θ (no gradient reaches the tracked rows: a detached cost, say, which would
    /// otherwise pass as an exact zero gradient), or for a gradient that cannot be read back;
    /// [`Error::ShapeMismatch`] for a surrogate of the wrong length or a gradient that is not
    /// `[m, P]`; and whatever `estimator` returns.
    pub fn run<F>(
        &self,
        device: &Device,
        theta: &[f64],
        mut estimator: F,
    ) -> Result<GradientSamples>
    where
        F: FnMut(Tensor<2>, &mut NoiseSource) -> Result<Tensor<1>>,
    {
        if self.samples < 2 {
            return Err(Error::argument("samples", "at least 2 samples are needed"));
        }
        if theta.is_empty() {
            return Err(Error::argument("theta", "at least one parameter is needed"));
        }
        let p = theta.len();
        let device = device.clone().autodiff();
        let mut noise = NoiseSource::seed_from_u64(self.seed);
        let mut values = Vec::with_capacity(self.samples * p);
        let mut done = 0;
        while done < self.samples {
            let m = self.chunk.min(self.samples - done);
            let rows: Vec<f32> = (0..m)
                .flat_map(|_| theta.iter().map(|&t| t as f32))
                .collect();
            let theta_rows =
                Tensor::<2>::from_data(TensorData::new(rows, [m, p]), &device).require_grad();
            let surrogate = estimator(theta_rows.clone(), &mut noise)?;
            let [len] = surrogate.dims();
            if len != m {
                return Err(Error::ShapeMismatch {
                    context: "surrogate per row of theta",
                    left: vec![len],
                    right: vec![m],
                });
            }
            let grads = backward(surrogate.sum())?;
            values.extend(read_gradient(theta_rows.grad(&grads), [m, p])?);
            done += m;
        }
        Ok(GradientSamples { values, params: p })
    }
}

/// `loss.backward()`, or an error for a loss that is not on the autodiff graph at all (Burn
/// panics there): a detached or constant surrogate.
fn backward(loss: Tensor<1>) -> Result<burn::tensor::Gradients> {
    if loss.is_tracked() {
        Ok(loss.backward())
    } else {
        Err(no_gradient())
    }
}

/// The error of a surrogate that does not reach θ.
fn no_gradient() -> Error {
    Error::argument(
        "estimator",
        "no gradient reaches θ: the surrogate does not depend on the tracked θ rows (a \
         detached or constant surrogate would otherwise pass as an exact zero gradient)",
    )
}

/// The gradient of a tracked `[rows, params]` tensor, read back in row-major order, or an
/// error: `None` (the loss does not depend on the tensor), a shape other than `[rows, params]`
/// or a failed read. Never a silent zero or a short vector that would shift later rows.
fn read_gradient(grad: Option<Tensor<2>>, [rows, params]: [usize; 2]) -> Result<Vec<f64>> {
    let grad = grad.ok_or_else(no_gradient)?;
    if grad.dims() != [rows, params] {
        return Err(Error::ShapeMismatch {
            context: "gradient of the θ rows",
            left: grad.dims().to_vec(),
            right: vec![rows, params],
        });
    }
    let values = grad.try_into_vec_as::<f32>().map_err(|e| {
        Error::argument(
            "estimator",
            format!("the gradient could not be read back: {e:?}"),
        )
    })?;
    if values.len() != rows * params {
        return Err(Error::argument(
            "estimator",
            format!(
                "read {} gradient values for {rows} rows of {params}",
                values.len()
            ),
        ));
    }
    Ok(values.into_iter().map(f64::from).collect())
}

/// `N` independent estimates of a gradient of `P` parameters.
///
/// # Examples
///
/// ```
/// use mcgrad::testing::GradientSamples;
///
/// // three estimates of a two-parameter gradient, row-major
/// let s = GradientSamples::from_rows(vec![1.0, 0.0, 3.0, 0.5, 2.0, -0.5], 2)?;
/// assert_eq!((s.len(), s.params()), (3, 2));
/// assert_eq!(s.column(0).collect::<Vec<_>>(), vec![1.0, 3.0, 2.0]);
/// let report = s.unbiasedness(&[2.0, 0.0], 1e-3)?;
/// assert!(report.passed(), "{report}");
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GradientSamples {
    /// Row-major `[N, P]`.
    values: Vec<f64>,
    params: usize,
}

impl GradientSamples {
    /// From row-major estimates `[N, P]` computed elsewhere.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `values` is not a whole number of rows of `params`, or has
    /// fewer than two rows.
    pub fn from_rows(values: Vec<f64>, params: usize) -> Result<Self> {
        if params == 0 || !values.len().is_multiple_of(params) || values.len() / params < 2 {
            return Err(Error::argument(
                "values",
                format!(
                    "{} values do not make two or more rows of {params}",
                    values.len()
                ),
            ));
        }
        Ok(Self { values, params })
    }

    /// The number of estimates N.
    pub fn len(&self) -> usize {
        self.values.len() / self.params
    }

    /// Never true: a `GradientSamples` holds at least two estimates.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The number of parameters P.
    pub fn params(&self) -> usize {
        self.params
    }

    /// The estimates of parameter `j`.
    pub fn column(&self, j: usize) -> impl Iterator<Item = f64> + Clone + '_ {
        self.values.iter().skip(j).step_by(self.params).copied()
    }

    /// Mean, variance and fourth central moment of parameter `j`.
    fn moments(&self, j: usize) -> stats::Moments {
        stats::Moments::of(self.column(j))
    }

    /// The z-test of the mean estimate against `exact`, with false-failure rate
    /// `false_failure_rate` for the whole vector.
    ///
    /// A standard error below `1e-6·max(1, |exact|)` (an estimator with no variance along a
    /// parameter) is raised to that floor, which absorbs `f32` rounding.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `exact` does not have P entries or the rate is not in
    /// (0, 1).
    pub fn unbiasedness(
        &self,
        exact: &[f64],
        false_failure_rate: f64,
    ) -> Result<UnbiasednessReport> {
        self.check_len("exact", exact)?;
        let critical_z = critical_z(false_failure_rate, self.params)?;
        let n = self.len() as f64;
        let parameters = (0..self.params)
            .map(|j| {
                let m = self.moments(j);
                let floor = 1e-6 * exact[j].abs().max(1.0);
                let standard_error = (m.variance / n).sqrt().max(floor);
                ParameterCheck {
                    mean: m.mean,
                    exact: exact[j],
                    standard_error,
                    z: (m.mean - exact[j]) / standard_error,
                    variance: m.variance,
                }
            })
            .collect();
        Ok(UnbiasednessReport {
            parameters,
            samples: self.len(),
            false_failure_rate,
            critical_z,
        })
    }

    /// The variance of a single estimate, per parameter, with its standard error.
    pub fn variance(&self) -> VarianceReport {
        let n = self.len() as f64;
        let parameters = (0..self.params)
            .map(|j| {
                let m = self.moments(j);
                // Var(s²) = μ₄/N − σ⁴(N − 3)/(N(N − 1)), with the sample moments
                let v2 = m.variance * m.variance;
                let standard_error = (m.fourth / n - v2 * (n - 3.0) / (n * (n - 1.0)))
                    .max(0.0)
                    .sqrt();
                VarianceEstimate {
                    mean: m.mean,
                    variance: m.variance,
                    standard_error,
                }
            })
            .collect();
        VarianceReport {
            parameters,
            samples: self.len(),
        }
    }

    fn check_len(&self, name: &'static str, v: &[f64]) -> Result<()> {
        if v.len() == self.params {
            Ok(())
        } else {
            Err(Error::argument(
                name,
                format!("{} values for {} parameters", v.len(), self.params),
            ))
        }
    }
}

/// The two-sided critical z for a false-failure rate over `tests` tests (Bonferroni).
fn critical_z(false_failure_rate: f64, tests: usize) -> Result<f64> {
    if !(false_failure_rate > 0.0 && false_failure_rate < 1.0) {
        return Err(Error::argument(
            "false_failure_rate",
            format!("{false_failure_rate} is not in (0, 1)"),
        ));
    }
    Ok(normal_quantile(
        1.0 - false_failure_rate / (2.0 * tests as f64),
    ))
}

/// One parameter's line of an [`UnbiasednessReport`]: see its example.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParameterCheck {
    /// The mean of the estimates.
    pub mean: f64,
    /// The exact gradient.
    pub exact: f64,
    /// The standard error of the mean.
    pub standard_error: f64,
    /// `(mean − exact) / standard_error`.
    pub z: f64,
    /// The variance of a single estimate.
    pub variance: f64,
}

/// The outcome of an unbiasedness z-test, with a verdict for `assert!`.
///
/// # Examples
///
/// ```
/// use mcgrad::testing::GradientSamples;
///
/// // estimates centred on 1.0 against an exact gradient of 1.0, then of 1.5
/// let values: Vec<f64> = (0..1000).map(|i| 1.0 + if i % 2 == 0 { 0.1 } else { -0.1 }).collect();
/// let samples = GradientSamples::from_rows(values, 1)?;
/// let report = samples.unbiasedness(&[1.0], 1e-6)?;
/// assert!(report.passed() && report.max_abs_z() < 1e-6);
/// let line = report.parameters[0];
/// assert!((line.mean - 1.0).abs() < 1e-12 && (line.variance - 0.01).abs() < 1e-4);
/// assert!(!samples.unbiasedness(&[1.5], 1e-6)?.passed());
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UnbiasednessReport {
    /// One line per parameter.
    pub parameters: Vec<ParameterCheck>,
    /// The number of estimates N.
    pub samples: usize,
    /// The chance that an unbiased estimator fails the check.
    pub false_failure_rate: f64,
    /// The two-sided critical value every `|z|` must stay under.
    pub critical_z: f64,
}

impl UnbiasednessReport {
    /// True when every `|z|` is at most the critical value (and none is NaN).
    pub fn passed(&self) -> bool {
        self.parameters.iter().all(|p| p.z.abs() <= self.critical_z)
    }

    /// The largest `|z|` (NaN if any z is NaN).
    pub fn max_abs_z(&self) -> f64 {
        self.parameters.iter().map(|p| p.z.abs()).fold(0.0, |a, b| {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else {
                a.max(b)
            }
        })
    }
}

impl fmt::Display for UnbiasednessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "unbiasedness z-test: N = {}, false-failure rate {:.1e}, |z| ≤ {:.3}: {}",
            self.samples,
            self.false_failure_rate,
            self.critical_z,
            if self.passed() { "PASS" } else { "FAIL" }
        )?;
        writeln!(
            f,
            "  param        mean       exact     std.err        z    variance"
        )?;
        for (j, p) in self.parameters.iter().enumerate() {
            writeln!(
                f,
                "  {j:>5} {:>11.5} {:>11.5} {:>11.3e} {:>8.2} {:>11.4e}",
                p.mean, p.exact, p.standard_error, p.z, p.variance
            )?;
        }
        Ok(())
    }
}

/// One parameter's line of a [`VarianceReport`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VarianceEstimate {
    /// The mean of the estimates.
    pub mean: f64,
    /// The sample variance of a single estimate.
    pub variance: f64,
    /// The standard error of that variance, `√(μ₄/N − σ⁴(N − 3)/(N(N − 1)))`. The z-tests
    /// built on it assume the sample variance is close to normal, which holds unless the
    /// estimates take very few values (a two-point estimate has a second-order error; see
    /// tests/discrete_variance.rs for an exact treatment).
    pub standard_error: f64,
}

/// The variance of an estimator, per parameter.
///
/// # Examples
///
/// ```
/// use mcgrad::testing::GradientSamples;
/// use mcgrad::{NoiseSource, StandardNoise};
///
/// // 10 000 standard normal "estimates": variance 1, measured to about ±0.014
/// let values: Vec<f64> = NoiseSource::seed_from_u64(0)
///     .vec(StandardNoise::Normal, 10_000)
///     .into_iter()
///     .map(f64::from)
///     .collect();
/// let report = GradientSamples::from_rows(values, 1)?.variance();
/// assert!((report.parameters[0].variance - 1.0).abs() < 0.1, "{report}");
/// assert!(report.matches(&[1.0], 1e-6)?);
/// assert!(!report.matches(&[1.2], 1e-6)?);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VarianceReport {
    /// One line per parameter.
    pub parameters: Vec<VarianceEstimate>,
    /// The number of estimates N.
    pub samples: usize,
}

impl VarianceReport {
    /// The z-scores of the measured variances against `expected`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `expected` does not have one entry per parameter.
    pub fn z_scores(&self, expected: &[f64]) -> Result<Vec<f64>> {
        if expected.len() != self.parameters.len() {
            return Err(Error::argument(
                "expected",
                format!(
                    "{} values for {} parameters",
                    expected.len(),
                    self.parameters.len()
                ),
            ));
        }
        Ok(self
            .parameters
            .iter()
            .zip(expected)
            .map(|(p, e)| (p.variance - e) / p.standard_error.max(f64::MIN_POSITIVE))
            .collect())
    }

    /// True when every measured variance is within the two-sided critical z of
    /// `false_failure_rate` (Bonferroni over the parameters) of `expected`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a wrong number of values or a rate outside (0, 1).
    pub fn matches(&self, expected: &[f64], false_failure_rate: f64) -> Result<bool> {
        let crit = critical_z(false_failure_rate, self.parameters.len())?;
        Ok(self.z_scores(expected)?.iter().all(|z| z.abs() <= crit))
    }
}

impl fmt::Display for VarianceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "estimator variance: N = {}", self.samples)?;
        writeln!(f, "  param        mean    variance     std.err")?;
        for (j, p) in self.parameters.iter().enumerate() {
            writeln!(
                f,
                "  {j:>5} {:>11.5} {:>11.5e} {:>11.3e}",
                p.mean, p.variance, p.standard_error
            )?;
        }
        Ok(())
    }
}

/// The exact gradient `∇θ E[f]` by autodiff of an exact expectation: `expectation` receives
/// θ as a tracked `[1, P]` tensor and returns `E[f]` (by a closed form, by
/// [`density_quadrature`], or by enumeration of a discrete support), of one element.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for an empty θ, an expectation with more than one element, or
/// an expectation that does not depend on θ (no gradient reaches it: an error, not a silent
/// zero); and whatever `expectation` returns.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::testing::exact_gradient;
///
/// // E[(x − 2)²] = (μ − 2)² + σ² for x ~ N(μ, σ²)
/// let g = exact_gradient(&Device::flex(), &[0.5, 1.5], |t| {
///     let [mu, sigma] = [t.clone().slice([0..1, 0..1]), t.slice([0..1, 1..2])];
///     Ok(((mu - 2.0).square() + sigma.square()).reshape([1]))
/// })?;
/// assert!((g[0] + 3.0).abs() < 1e-6 && (g[1] - 3.0).abs() < 1e-6);
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub fn exact_gradient<F>(device: &Device, theta: &[f64], expectation: F) -> Result<Vec<f64>>
where
    F: FnOnce(Tensor<2>) -> Result<Tensor<1>>,
{
    if theta.is_empty() {
        return Err(Error::argument("theta", "at least one parameter is needed"));
    }
    let p = theta.len();
    let data: Vec<f32> = theta.iter().map(|&t| t as f32).collect();
    let t = Tensor::<2>::from_data(TensorData::new(data, [1, p]), &device.clone().autodiff())
        .require_grad();
    let e = expectation(t.clone())?;
    if e.dims() != [1] {
        return Err(Error::argument(
            "expectation",
            format!("must have one element, has shape {:?}", e.dims()),
        ));
    }
    let grads = backward(e.sum())?;
    read_gradient(t.grad(&grads), [1, p])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_gradient_is_an_error_not_a_zero() {
        assert!(matches!(
            read_gradient(None, [4, 2]),
            Err(Error::InvalidArgument { .. })
        ));
    }

    #[test]
    fn a_gradient_of_the_wrong_shape_is_an_error_not_misaligned_rows() {
        let g = Tensor::<2>::zeros([3, 2], &Device::flex());
        assert!(matches!(
            read_gradient(Some(g), [4, 2]),
            Err(Error::ShapeMismatch { .. })
        ));
        let g = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &Device::flex());
        assert_eq!(
            read_gradient(Some(g), [2, 2]).unwrap(),
            vec![1.0, 2.0, 3.0, 4.0]
        );
    }
}
