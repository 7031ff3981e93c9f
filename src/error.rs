//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in `mcgrad`, as a typed value: bad parameters, shapes that do
/// not fit, arguments out of range.
///
/// Constructors of distributions validate their parameters and return this error rather than
/// panicking or producing NaN later; estimators return it for an argument that cannot work (for
/// instance a leave-one-out baseline with a single sample).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::{Error, distributions::Normal};
///
/// let device = Device::flex();
/// let loc = Tensor::<1>::from_floats([0.0], &device);
/// let scale = Tensor::<1>::from_floats([-1.0], &device);
/// let err = Normal::new(loc, scale).unwrap_err();
/// assert!(matches!(err, Error::InvalidParameter { name: "scale", .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter value is outside its domain (a non-positive scale, a NaN location, a
    /// temperature of zero, `low >= high`, ...).
    #[error("invalid parameter `{name}` of {distribution}: must be {requirement}")]
    InvalidParameter {
        /// The distribution or estimator the parameter belongs to.
        distribution: &'static str,
        /// The parameter's name.
        name: &'static str,
        /// What the parameter must satisfy.
        requirement: &'static str,
    },
    /// Two shapes that must agree (or broadcast against each other) do not.
    #[error("shape mismatch in {context}: {left:?} and {right:?} do not fit")]
    ShapeMismatch {
        /// Where the shapes met.
        context: &'static str,
        /// The first shape.
        left: Vec<usize>,
        /// The second shape.
        right: Vec<usize>,
    },
    /// A categorical distribution was given an empty category axis.
    #[error("{distribution} needs at least one category, the category axis is empty")]
    EmptyCategories {
        /// The distribution.
        distribution: &'static str,
    },
    /// The support is too large to enumerate.
    #[error("the support of {distribution} has {size} points, more than the limit of {limit}")]
    SupportTooLarge {
        /// The distribution.
        distribution: &'static str,
        /// The number of points in the support (saturated at `u128::MAX`).
        size: u128,
        /// The largest support that is enumerated.
        limit: u128,
    },
    /// An argument outside its range (zero samples, a rate outside (0, 1), ...).
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// The argument's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    pub(crate) fn invalid(
        distribution: &'static str,
        name: &'static str,
        requirement: &'static str,
    ) -> Self {
        Error::InvalidParameter {
            distribution,
            name,
            requirement,
        }
    }

    pub(crate) fn argument(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name,
            reason: reason.into(),
        }
    }
}

/// Shorthand for `Result<T, mcgrad::Error>`.
pub type Result<T, E = Error> = core::result::Result<T, E>;
