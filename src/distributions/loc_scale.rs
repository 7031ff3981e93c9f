//! The location-scale core shared by Normal, LogNormal, Laplace, Logistic and Gumbel:
//! parameters `loc` and `scale`, their broadcast shape, validation, and `loc + scale·ε`.

use burn::prelude::*;

use super::internal::{self, SCALE_MAX, SCALE_MIN};
use crate::error::Result;
use crate::special;

/// The requirement quoted for a log-scale out of range.
const LOG_SCALE_RANGE: &str =
    "finite and in [-87.3, 43.7], so that exp(log_scale) is in [1.2e-38, 1e19]";

/// A location and a positive scale of one broadcast shape.
#[derive(Debug, Clone)]
pub(crate) struct LocScale<const D: usize> {
    pub(crate) loc: Tensor<D>,
    pub(crate) scale: Tensor<D>,
    /// `ln scale` when the caller gave it (kept for exact log-densities and entropies).
    log_scale: Option<Tensor<D>>,
    pub(crate) shape: [usize; D],
}

impl<const D: usize> LocScale<D> {
    /// Checks the values (finite location, scale in `[SCALE_MIN, SCALE_MAX]`; one device sync
    /// each) and the shapes.
    pub(crate) fn new(owner: &'static str, loc: Tensor<D>, scale: Tensor<D>) -> Result<Self> {
        let out = Self::unchecked(owner, loc, scale)?;
        internal::finite(owner, "loc", &out.loc)?;
        internal::scale(owner, "scale", &out.scale)?;
        Ok(out)
    }

    /// Checks the shapes only.
    pub(crate) fn unchecked(owner: &'static str, loc: Tensor<D>, scale: Tensor<D>) -> Result<Self> {
        let shape = internal::broadcast(owner, &[loc.dims(), scale.dims()])?;
        Ok(Self {
            loc,
            scale,
            log_scale: None,
            shape,
        })
    }

    /// From `ln scale`, checked: finite location, `exp(log_scale)` in the scale range.
    pub(crate) fn from_log_scale(
        owner: &'static str,
        loc: Tensor<D>,
        log_scale: Tensor<D>,
    ) -> Result<Self> {
        let out = Self::from_log_scale_unchecked(owner, loc, log_scale)?;
        internal::finite(owner, "loc", &out.loc)?;
        // the range is checked on the scale actually used, so that rounding at the ends of
        // the log-scale range cannot let a subnormal or too large scale through
        internal::in_range(
            owner,
            "log_scale",
            &out.scale,
            (SCALE_MIN, SCALE_MAX),
            LOG_SCALE_RANGE,
        )?;
        Ok(out)
    }

    /// From `ln scale`, shapes checked only.
    pub(crate) fn from_log_scale_unchecked(
        owner: &'static str,
        loc: Tensor<D>,
        log_scale: Tensor<D>,
    ) -> Result<Self> {
        let shape = internal::broadcast(owner, &[loc.dims(), log_scale.dims()])?;
        Ok(Self {
            loc,
            scale: special::exp(log_scale.clone()),
            log_scale: Some(log_scale),
            shape,
        })
    }

    /// `ln scale`.
    pub(crate) fn log_scale(&self) -> Tensor<D> {
        match &self.log_scale {
            Some(l) => l.clone(),
            None => self.scale.clone().log(),
        }
    }

    /// `ln(scale / other.scale)`, accurate for nearly equal scales and finite for every pair of
    /// normal scales: the difference of the log-scales where both were given, else
    /// [`special::log_ratio`].
    pub(crate) fn log_scale_ratio(&self, other: &Self) -> Tensor<D> {
        match (&self.log_scale, &other.log_scale) {
            (Some(a), Some(b)) => a.clone() - b.clone(),
            _ => special::log_ratio(self.scale.clone(), other.scale.clone()),
        }
    }

    /// `(x − loc) / (2·scale)`: half the standardized value, computed from halves so that no
    /// difference of two finite numbers overflows. Halving is exact in binary floating point,
    /// so `2·half_standardize(x)` is `(x − loc)/scale` bit for bit (values and gradients)
    /// wherever that is finite.
    pub(crate) fn half_standardize(&self, x: Tensor<D>) -> Tensor<D> {
        (x.mul_scalar(0.5) - self.loc.clone().mul_scalar(0.5)) / self.scale.clone()
    }

    /// `(x − loc) / scale`, infinite only where the exact value exceeds `f32::MAX`.
    pub(crate) fn standardize(&self, x: Tensor<D>) -> Tensor<D> {
        self.half_standardize(x).mul_scalar(2.0)
    }

    /// `loc + scale·ε`.
    pub(crate) fn transform(&self, eps: Tensor<D>) -> Tensor<D> {
        self.loc.clone() + self.scale.clone() * eps
    }

    /// A tensor broadcast to the full shape.
    pub(crate) fn full(&self, t: Tensor<D>) -> Tensor<D> {
        t.expand(self.shape)
    }

    pub(crate) fn replicate(&self, n: usize) -> Self {
        let rows = self.shape[0];
        Self {
            loc: internal::replicate(&self.loc, n, rows),
            scale: internal::replicate(&self.scale, n, rows),
            log_scale: self
                .log_scale
                .as_ref()
                .map(|l| internal::replicate(l, n, rows)),
            shape: internal::replicated_shape(self.shape, n),
        }
    }

    /// The shape of a log-density at `x` (value and batch broadcast), or a shape error.
    pub(crate) fn check_value(&self, context: &'static str, x: &Tensor<D>) -> Result<[usize; D]> {
        internal::value_shape(context, x.dims(), self.shape)
    }

    /// The broadcast shape of two batches (for a KL divergence).
    pub(crate) fn pair_shape(&self, context: &'static str, other: &Self) -> Result<[usize; D]> {
        internal::broadcast(context, &[self.shape, other.shape])
    }
}

/// The validated and unchecked constructors of a location-scale family with a
/// `core: LocScale<D>` field; the argument names what `loc` and `scale` are.
macro_rules! loc_scale_constructors {
    ($what:literal) => {
        #[doc = concat!("From ", $what, ", which broadcast against each other.")]
        ///
        /// # Errors
        ///
        /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a non-finite `loc`,
        /// or a `scale` outside the valid range (finite, in `[f32::MIN_POSITIVE, 1e19]`; one
        /// device sync per parameter); [`Error::ShapeMismatch`](crate::Error::ShapeMismatch)
        /// when the shapes do not broadcast.
        pub fn new(loc: Tensor<D>, scale: Tensor<D>) -> Result<Self> {
            Ok(Self {
                core: LocScale::new(Self::NAME, loc, scale)?,
            })
        }

        /// Like [`new`](Self::new) without the value checks (no device sync); shapes are
        /// checked.
        ///
        /// # Errors
        ///
        /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not
        /// broadcast.
        pub fn new_unchecked(loc: Tensor<D>, scale: Tensor<D>) -> Result<Self> {
            Ok(Self {
                core: LocScale::unchecked(Self::NAME, loc, scale)?,
            })
        }

        /// The location.
        pub fn loc(&self) -> &Tensor<D> {
            &self.core.loc
        }

        /// The scale.
        pub fn scale(&self) -> &Tensor<D> {
            &self.core.scale
        }
    };
}
pub(crate) use loc_scale_constructors;

/// The `Distribution` methods that every location-scale family shares, for a type with a
/// `core: LocScale<D>` field and a `Reparameterized` impl.
macro_rules! loc_scale_methods {
    () => {
        fn value_shape(&self) -> [usize; D] {
            self.core.shape
        }

        fn device(&self) -> Device {
            self.core.loc.device()
        }

        fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
            self.rsample(noise).detach()
        }

        fn replicate(&self, n: usize) -> Self {
            Self {
                core: self.core.replicate(n),
            }
        }
    };
}
pub(crate) use loc_scale_methods;
