//! Variance diagnostics for gradient estimators: from `K` independent estimates of one
//! gradient, the per-parameter mean, variance and signal-to-noise ratio, and the total
//! variance.
//!
//! Comparing estimators by the variance of their gradient is the standard diagnostic of this
//! field (Tucker et al. 2017, Fig. 2; Grathwohl et al. 2018, Fig. 3; Dong et al. 2020, Fig. 5 plot
//! the log-variance of the encoder gradient over training). To measure it during training,
//! every `N` steps draw `K` independent estimates of the same gradient (same parameters, same
//! batch, fresh noise: `K` forward and backward passes), and pass them here.
//!
//! # Cost
//!
//! Everything stays on the device of the estimates: `O(K·P)` element-wise operations for `P`
//! parameters, no host transfer. [`GradientAccumulator`] holds three `[P]` tensors whatever
//! `K` (push each estimate as it comes, then drop it); [`GradientStatistics::from_estimates`]
//! stacks the `K` tensors (`K·P` floats). [`GradientStatistics::summary`] is the only host
//! read: one transfer of four numbers. The `K` backward passes dominate by far: at `K = 10`
//! every 100 steps, the diagnostic costs about 10% of training time.
//!
//! # Examples
//!
//! ```
//! use burn::prelude::*;
//! use mcgrad::NoiseSource;
//! use mcgrad::diagnostics::GradientAccumulator;
//! use mcgrad::distributions::Bernoulli;
//! use mcgrad::estimators::{DisArm, Estimator};
//!
//! let device = Device::flex().autodiff();
//! let logits = Tensor::<2>::from_floats([[0.0, 1.0]], &device).require_grad();
//! let mut noise = NoiseSource::seed_from_u64(0);
//! let mut acc = GradientAccumulator::new();
//! for _ in 0..64 {
//!     let q = Bernoulli::from_logits(logits.clone())?;
//!     let est = DisArm.estimate(&q, 1, &mut noise, |b| (b.sum_dim(1) - 0.9).square().reshape([2]))?;
//!     acc.push(logits.grad(&est.loss().backward()).unwrap())?;
//! }
//! let stats = acc.finish()?;
//! let summary = stats.summary()?;
//! assert_eq!((summary.estimates, summary.parameters), (64, 2));
//! assert!(summary.total_variance >= 0.0 && summary.total_variance.is_finite());
//! # Ok::<(), mcgrad::Error>(())
//! ```

use core::fmt;

use burn::prelude::*;
use burn::tensor::TensorData;

use crate::error::{Error, Result};
use crate::testing::GradientSamples;

/// Per-parameter statistics of `K ≥ 2` independent estimates of a gradient of `P` parameters,
/// as device tensors.
#[derive(Debug, Clone)]
pub struct GradientStatistics {
    mean: Tensor<1>,
    variance: Tensor<1>,
    estimates: usize,
}

/// The host-side digest of [`GradientStatistics`], read in one transfer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientSummary {
    /// `Σ_j Var(g_j)`: the trace of the covariance, the usual "gradient variance" of the
    /// estimator papers.
    pub total_variance: f64,
    /// `total_variance / P`.
    pub mean_variance: f64,
    /// The mean of `|mean_j| / std_j` over the parameters with a finite ratio (NaN if none).
    pub mean_signal_to_noise: f64,
    /// `‖mean‖²`, the squared norm of the mean estimate (its ratio to the total variance is the
    /// signal-to-noise ratio of the whole vector).
    pub squared_mean_norm: f64,
    /// The number of parameters P.
    pub parameters: usize,
    /// The number of estimates K.
    pub estimates: usize,
}

impl fmt::Display for GradientSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "K = {}, P = {}: total variance {:.4e} (log10 {:.3}), mean variance {:.4e}, mean SNR {:.4}",
            self.estimates,
            self.parameters,
            self.total_variance,
            self.total_variance.log10(),
            self.mean_variance,
            self.mean_signal_to_noise
        )
    }
}

impl GradientStatistics {
    /// From `K ≥ 2` estimates of one shape (each flattened to `P` parameters).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for fewer than two estimates or an empty one;
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn from_estimates<const D: usize>(estimates: &[Tensor<D>]) -> Result<Self> {
        let mut acc = GradientAccumulator::new();
        for e in estimates {
            acc.push(e.clone())?;
        }
        acc.finish()
    }

    /// From the estimates stacked as the rows of `[K, P]`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for `K < 2` or `P = 0`.
    pub fn from_stacked(estimates: Tensor<2>) -> Result<Self> {
        let [k, p] = estimates.dims();
        check_sizes(k, p)?;
        let estimates = estimates.detach();
        // shifted by the first estimate: a parameter whose K estimates are equal gets exactly
        // 0 (its mean is that value and its signal-to-noise ratio +∞), where the mean of the
        // raw values, rounded, would leave a variance of ~1e-17 (and a ratio of ~1e7)
        let first = estimates.clone().narrow(0, 0, 1);
        let shifted = estimates - first.clone();
        let offset = shifted.clone().mean_dim(0);
        let variance = (shifted - offset.clone()).square().sum_dim(0) / (k as f64 - 1.0);
        let mean = first + offset;
        Ok(Self {
            mean: mean.reshape([p]),
            variance: variance.reshape([p]),
            estimates: k,
        })
    }

    /// From the testing kit's samples, on `device`.
    pub fn from_samples(samples: &GradientSamples, device: &Device) -> Self {
        let (k, p) = (samples.len(), samples.params());
        let mut rows = vec![0.0f32; k * p];
        for j in 0..p {
            for (i, v) in samples.column(j).enumerate() {
                rows[i * p + j] = v as f32;
            }
        }
        let stacked = Tensor::<2>::from_data(TensorData::new(rows, [k, p]), device);
        // a GradientSamples always has K ≥ 2 and P ≥ 1
        Self::from_stacked(stacked).expect("GradientSamples holds two or more rows")
    }

    /// The mean estimate per parameter, `[P]`.
    pub fn mean(&self) -> &Tensor<1> {
        &self.mean
    }

    /// The unbiased sample variance of one estimate per parameter, `[P]`.
    pub fn variance(&self) -> &Tensor<1> {
        &self.variance
    }

    /// The number of estimates K.
    pub fn estimates(&self) -> usize {
        self.estimates
    }

    /// The number of parameters P.
    pub fn parameters(&self) -> usize {
        self.mean.dims()[0]
    }

    /// The signal-to-noise ratio `|mean_j| / std_j` per parameter, `[P]`: 0 where both are 0,
    /// `+∞` where an estimator has no variance but a non-zero mean (DisARM on a single Bernoulli
    /// at θ = 0, for instance).
    pub fn signal_to_noise(&self) -> Tensor<1> {
        let std = self.variance.clone().clamp_min(0.0).sqrt();
        let no_noise = std.clone().lower_equal_elem(0.0);
        let no_signal = self.mean.clone().equal_elem(0.0);
        let ratio = self.mean.clone().abs() / std.mask_fill(no_noise.clone(), 1.0);
        ratio
            .mask_fill(no_noise.clone(), f32::INFINITY)
            .mask_fill(no_noise.bool_and(no_signal), 0.0)
    }

    /// `Σ_j Var(g_j)`, `[1]`, on the device.
    pub fn total_variance(&self) -> Tensor<1> {
        self.variance.clone().sum()
    }

    /// The scalar digest, read from the device in one transfer.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if the device cannot return the values.
    pub fn summary(&self) -> Result<GradientSummary> {
        let p = self.parameters();
        let snr = self.signal_to_noise();
        let finite = snr.clone().is_finite();
        let count = finite.clone().float().sum();
        let snr_sum = snr.mask_fill(finite.bool_not(), 0.0).sum();
        let values = Tensor::cat(
            vec![
                self.total_variance(),
                snr_sum,
                count,
                self.mean.clone().square().sum(),
            ],
            0,
        )
        .try_into_vec_as::<f32>()
        .map_err(|e| Error::argument("statistics", format!("cannot read them back: {e:?}")))?;
        let total = f64::from(values[0]);
        let mean_snr = if values[2] > 0.0 {
            f64::from(values[1]) / f64::from(values[2])
        } else {
            f64::NAN
        };
        Ok(GradientSummary {
            total_variance: total,
            mean_variance: total / p as f64,
            mean_signal_to_noise: mean_snr,
            squared_mean_norm: f64::from(values[3]),
            parameters: p,
            estimates: self.estimates,
        })
    }
}

fn check_sizes(k: usize, p: usize) -> Result<()> {
    if k < 2 {
        return Err(Error::argument(
            "estimates",
            format!("{k} estimates: at least 2 are needed for a variance"),
        ));
    }
    if p == 0 {
        return Err(Error::argument("estimates", "the estimates are empty"));
    }
    Ok(())
}

/// Accumulates estimates one at a time (Welford's algorithm, on the device), so that `K`
/// estimates cost three `[P]` tensors of memory.
///
/// Each estimate is detached and flattened; all must have the same number of elements.
#[derive(Debug, Clone, Default)]
pub struct GradientAccumulator {
    count: usize,
    mean: Option<Tensor<1>>,
    squares: Option<Tensor<1>>,
}

impl GradientAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one estimate.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty estimate; [`Error::ShapeMismatch`] if its number
    /// of elements differs from the first one's.
    pub fn push<const D: usize>(&mut self, estimate: Tensor<D>) -> Result<()> {
        let p = estimate.shape().num_elements();
        if p == 0 {
            return Err(Error::argument("estimate", "the estimate is empty"));
        }
        let x = estimate.detach().reshape([p]);
        match (self.mean.take(), self.squares.take()) {
            (Some(mean), Some(squares)) => {
                let [have] = mean.dims();
                if have != p {
                    self.mean = Some(mean);
                    self.squares = Some(squares);
                    return Err(Error::ShapeMismatch {
                        context: "GradientAccumulator::push (parameters per estimate)",
                        left: vec![have],
                        right: vec![p],
                    });
                }
                self.count += 1;
                let delta = x.clone() - mean.clone();
                let mean = mean + delta.clone() / self.count as f64;
                self.squares = Some(squares + delta * (x - mean.clone()));
                self.mean = Some(mean);
            }
            _ => {
                self.count = 1;
                self.squares = Some(x.zeros_like());
                self.mean = Some(x);
            }
        }
        Ok(())
    }

    /// The number of estimates so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True before the first estimate.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The statistics of the estimates pushed so far.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for fewer than two estimates.
    pub fn finish(&self) -> Result<GradientStatistics> {
        check_sizes(self.count, 1)?;
        match (&self.mean, &self.squares) {
            (Some(mean), Some(squares)) => Ok(GradientStatistics {
                mean: mean.clone(),
                variance: squares.clone() / (self.count as f64 - 1.0),
                estimates: self.count,
            }),
            _ => Err(Error::argument("estimates", "no estimates were pushed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(t: Tensor<1>) -> Vec<f32> {
        t.try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn accumulator_and_stack_agree_with_the_definition() {
        let device = Device::flex();
        let rows = [
            [1.0f32, 0.0, 2.0],
            [3.0, 0.0, 2.0],
            [2.0, 0.0, 2.0],
            [6.0, 0.0, 2.0],
        ];
        let estimates: Vec<Tensor<1>> = rows
            .iter()
            .map(|r| Tensor::<1>::from_floats(*r, &device))
            .collect();
        let a = GradientStatistics::from_estimates(&estimates).unwrap();
        let b = GradientStatistics::from_stacked(Tensor::<2>::from_floats(rows, &device)).unwrap();
        // column 0: mean 3, variance (4 + 0 + 1 + 9)/3
        for s in [&a, &b] {
            let m = v(s.mean().clone());
            let var = v(s.variance().clone());
            assert!((m[0] - 3.0).abs() < 1e-6 && (var[0] - 14.0 / 3.0).abs() < 1e-5);
            assert_eq!((var[1], var[2]), (0.0, 0.0));
            let snr = v(s.signal_to_noise());
            assert!((snr[0] - 3.0 / (14.0f32 / 3.0).sqrt()).abs() < 1e-5);
            assert_eq!(snr[1], 0.0);
            assert_eq!(snr[2], f32::INFINITY);
            let summary = s.summary().unwrap();
            assert!((summary.total_variance - 14.0 / 3.0).abs() < 1e-5);
            assert!((summary.mean_signal_to_noise - snr[0] as f64 / 2.0).abs() < 1e-5);
            assert_eq!((summary.estimates, summary.parameters), (4, 3));
        }
    }

    #[test]
    fn too_few_or_mismatched_estimates_are_errors() {
        let device = Device::flex();
        let one = [Tensor::<1>::zeros([3], &device)];
        assert!(matches!(
            GradientStatistics::from_estimates(&one),
            Err(Error::InvalidArgument { .. })
        ));
        let mut acc = GradientAccumulator::new();
        acc.push(Tensor::<1>::zeros([3], &device)).unwrap();
        assert!(matches!(
            acc.push(Tensor::<1>::zeros([4], &device)),
            Err(Error::ShapeMismatch { .. })
        ));
        assert_eq!(acc.len(), 1);
        assert!(acc.finish().is_err());
        assert!(GradientStatistics::from_stacked(Tensor::<2>::zeros([1, 3], &device)).is_err());
    }
}
