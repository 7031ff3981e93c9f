//! The location-scale core shared by Normal, LogNormal, Laplace, Logistic and Gumbel:
//! parameters `loc` and `scale`, their broadcast shape, validation, and `loc + scale·ε`.

use burn::prelude::*;

use super::params;
use crate::error::Result;
use crate::special;

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
    /// Checks the values (finite location, finite positive scale; one device sync each) and
    /// the shapes.
    pub(crate) fn new(name: &'static str, loc: Tensor<D>, scale: Tensor<D>) -> Result<Self> {
        let out = Self::unchecked(name, loc, scale)?;
        params::finite(name, "loc", &out.loc)?;
        params::positive(name, "scale", &out.scale)?;
        Ok(out)
    }

    /// Checks the shapes only.
    pub(crate) fn unchecked(name: &'static str, loc: Tensor<D>, scale: Tensor<D>) -> Result<Self> {
        let shape = params::broadcast(name, &[loc.dims(), scale.dims()])?;
        Ok(Self {
            loc,
            scale,
            log_scale: None,
            shape,
        })
    }

    /// From `ln scale`, checked: finite location, finite log-scale.
    pub(crate) fn from_log_scale(
        name: &'static str,
        loc: Tensor<D>,
        log_scale: Tensor<D>,
    ) -> Result<Self> {
        let out = Self::from_log_scale_unchecked(name, loc, log_scale)?;
        params::finite(name, "loc", &out.loc)?;
        params::finite(name, "log_scale", out.log_scale.as_ref().expect("given"))?;
        Ok(out)
    }

    /// From `ln scale`, shapes checked only.
    pub(crate) fn from_log_scale_unchecked(
        name: &'static str,
        loc: Tensor<D>,
        log_scale: Tensor<D>,
    ) -> Result<Self> {
        let shape = params::broadcast(name, &[loc.dims(), log_scale.dims()])?;
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

    /// `(x − loc) / scale`.
    pub(crate) fn standardize(&self, x: Tensor<D>) -> Tensor<D> {
        (x - self.loc.clone()) / self.scale.clone()
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
        Self {
            loc: params::replicate(&self.loc, n),
            scale: params::replicate(&self.scale, n),
            log_scale: self.log_scale.as_ref().map(|l| params::replicate(l, n)),
            shape: params::replicated_shape(self.shape, n),
        }
    }

    /// The shape of a log-density at `x` (value and batch broadcast), or a shape error.
    pub(crate) fn check_value(&self, context: &'static str, x: &Tensor<D>) -> Result<[usize; D]> {
        params::value_shape(context, x.dims(), self.shape)
    }
}

/// The validated and unchecked constructors of a location-scale family with a
/// `core: LocScale<D>` field; the argument names what `loc` and `scale` are.
macro_rules! loc_scale_constructors {
    ($what:literal) => {
        #[doc = concat!("From ", $what, ".")]
        ///
        /// # Errors
        ///
        /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a non-finite `loc` or
        /// a `scale` that is not finite and positive (one device sync per parameter);
        /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not
        /// broadcast.
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

        fn batch_shape(&self) -> Vec<usize> {
            self.core.shape.to_vec()
        }

        fn event_shape(&self) -> Vec<usize> {
            Vec::new()
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
