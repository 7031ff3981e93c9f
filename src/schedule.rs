//! Temperature schedules for the relaxed estimators.
//!
//! The Gumbel-softmax estimator trades bias (high at high temperature) against variance (high
//! at low temperature); the usual remedy is to start warm and anneal. Jang et al. (2017, §4)
//! anneal `τ_t = max(τ_min, τ_0·exp(−r·t))`, with `τ_0 = 1`, `τ_min = 0.5` and `r` of order
//! 1e-5 to 1e-4 per step.

use crate::error::{Error, Result};

/// A temperature as a function of the training step.
///
/// # Examples
///
/// A schedule of one's own, next to the provided ones:
///
/// ```
/// use mcgrad::schedule::{ExponentialAnnealing, TemperatureSchedule};
///
/// /// Halve τ every 1000 steps, down to 0.1.
/// struct Halving;
/// impl TemperatureSchedule for Halving {
///     fn temperature(&self, step: u64) -> f64 {
///         (0.5f64.powi((step / 1000) as i32)).max(0.1)
///     }
/// }
/// let schedules: Vec<Box<dyn TemperatureSchedule>> =
///     vec![Box::new(Halving), Box::new(ExponentialAnnealing::new(1.0, 1e-3, 0.1)?)];
/// for s in &schedules {
///     assert_eq!(s.temperature(0), 1.0);
///     assert_eq!(s.temperature(1_000_000), 0.1);
/// }
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub trait TemperatureSchedule {
    /// τ at step `step` (counted from 0).
    fn temperature(&self, step: u64) -> f64;
}

/// A constant temperature.
///
/// # Examples
///
/// ```
/// use mcgrad::schedule::{Constant, TemperatureSchedule};
/// let s = Constant::new(0.5)?;
/// assert_eq!(s.temperature(1_000_000), 0.5);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constant {
    temperature: f64,
}

impl Constant {
    /// A constant τ.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] unless τ is finite and positive.
    pub fn new(temperature: f64) -> Result<Self> {
        positive("temperature", temperature)?;
        Ok(Self { temperature })
    }
}

impl TemperatureSchedule for Constant {
    fn temperature(&self, _step: u64) -> f64 {
        self.temperature
    }
}

/// Exponential annealing with a floor, `τ_t = max(τ_min, τ_0·exp(−r·t))` (Jang et al. 2017).
///
/// # Examples
///
/// ```
/// use mcgrad::schedule::{ExponentialAnnealing, TemperatureSchedule};
/// // the categorical VAE recipe: τ = max(0.5, exp(−3e-5·t))
/// let s = ExponentialAnnealing::new(1.0, 3e-5, 0.5)?;
/// assert_eq!(s.temperature(0), 1.0);
/// assert!((s.temperature(6000) - (-0.18f64).exp()).abs() < 1e-12);
/// assert_eq!(s.temperature(1_000_000), 0.5);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExponentialAnnealing {
    initial: f64,
    rate: f64,
    floor: f64,
}

impl ExponentialAnnealing {
    /// From τ_0, the rate r per step and the floor τ_min.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] unless τ_0 and τ_min are finite and positive and r is
    /// finite and non-negative.
    pub fn new(initial: f64, rate: f64, floor: f64) -> Result<Self> {
        positive("initial", initial)?;
        positive("floor", floor)?;
        if !(rate.is_finite() && rate >= 0.0) {
            return Err(Error::invalid(
                "ExponentialAnnealing",
                "rate",
                "finite and >= 0",
            ));
        }
        Ok(Self {
            initial,
            rate,
            floor,
        })
    }
}

impl TemperatureSchedule for ExponentialAnnealing {
    fn temperature(&self, step: u64) -> f64 {
        (self.initial * (-self.rate * step as f64).exp()).max(self.floor)
    }
}

fn positive(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            "temperature schedule",
            name,
            "finite and > 0",
        ))
    }
}
