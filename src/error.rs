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
    /// A parameter of a distribution, estimator or schedule is outside its domain (a
    /// non-positive scale, a NaN location, a temperature of zero, `low >= high`, a log-scale
    /// whose `exp` leaves `f32`, ...).
    ///
    /// The rule: a value that *defines* an object (what its constructor or builder takes)
    /// is a parameter; anything else passed to a call (a number of samples, a rate of a
    /// test, an index, a data vector) is an argument, [`Error::InvalidArgument`].
    #[error(
        "invalid parameter `{name}` of {owner}: it must be {requirement}; fix the value passed to {owner}'s constructor"
    )]
    InvalidParameter {
        /// The distribution, estimator or schedule the parameter belongs to (`"Normal"`,
        /// `"GumbelSoftmax"`, ...).
        owner: &'static str,
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
    #[error("{owner} needs at least one category, but the last (category) axis has size 0")]
    EmptyCategories {
        /// The distribution.
        owner: &'static str,
    },
    /// The support is too large to enumerate.
    #[error(
        "the support of {owner} has {size} points per row, more than the limit of {limit}: enumerate fewer variables per row"
    )]
    SupportTooLarge {
        /// The distribution.
        owner: &'static str,
        /// The number of points in the support (saturated at `u128::MAX`).
        size: u128,
        /// The largest support that is enumerated.
        limit: u128,
    },
    /// An argument of a call outside its range (zero samples, a rate outside (0, 1), an
    /// index, ...); see [`Error::InvalidParameter`] for the rule between the two.
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
        owner: &'static str,
        name: &'static str,
        requirement: &'static str,
    ) -> Self {
        Error::InvalidParameter {
            owner,
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
