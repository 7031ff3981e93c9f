//! The plumbing every family shares, in one internal module: constants, broadcasting, the
//! value checks behind each family's valid range, the one `replicate`, one-hot encoding,
//! category checks and support enumeration. (The location-scale core is `loc_scale`.)

use burn::prelude::*;

use crate::error::{Error, Result};

/// `ln √(2π)`.
pub(crate) const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_7;

/// The Euler-Mascheroni constant γ.
pub(crate) const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// The floor under `y` (and `1 − y`) before a logarithm in the relaxed log-densities. Above
/// `f32::MIN_POSITIVE` on purpose: the gradient of `ln y` is `1/y`, and at 1e-30 it stays far
/// from overflow for any temperature in use.
pub(crate) const LOG_FLOOR: f32 = 1e-30;

/// The smallest scale a validated constructor accepts: the smallest normal `f32`, so that
/// `ln σ` and `1/σ` are finite.
pub(crate) const SCALE_MIN: f32 = f32::MIN_POSITIVE;

/// The largest scale a validated constructor accepts. With every noise draw bounded by 104
/// in magnitude ([`StandardNoise::bounds`](crate::StandardNoise::bounds)), `loc + scale·ε`
/// then stays finite for every finite `loc` (the largest `scale·ε`, 1.04e21, is far below
/// half an ulp of `f32::MAX`, 1e31), and `scale²` (a variance) stays below `f32::MAX`.
pub(crate) const SCALE_MAX: f32 = 1e19;

/// The requirement string of a scale.
pub(crate) const SCALE_RANGE: &str = "finite and in [1.2e-38, 1e19] (f32::MIN_POSITIVE to 1e19)";

/// The largest support [`Categorical::enumerate_support`](super::Categorical::enumerate_support)
/// and its kin will build, in points per row.
pub const SUPPORT_LIMIT: u128 = 1 << 20;

// ---- shapes ----------------------------------------------------------------------------------

/// The broadcast of several shapes of one rank, PyTorch's rule restricted to equal ranks: along
/// each axis the sizes agree or one of them is 1.
pub(crate) fn broadcast<const D: usize>(
    context: &'static str,
    shapes: &[[usize; D]],
) -> Result<[usize; D]> {
    let mut out = [1usize; D];
    for shape in shapes {
        for (axis, (&have, &want)) in out.clone().iter().zip(shape).enumerate() {
            out[axis] = match (have, want) {
                (a, b) if a == b => a,
                (1, b) => b,
                (a, 1) => a,
                _ => {
                    return Err(Error::ShapeMismatch {
                        context,
                        left: out.to_vec(),
                        right: shape.to_vec(),
                    });
                }
            };
        }
    }
    Ok(out)
}

/// Fails unless `value`'s shape equals `expected`.
pub(crate) fn expect_shape(
    context: &'static str,
    value: &[usize],
    expected: &[usize],
) -> Result<()> {
    if value == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            context,
            left: value.to_vec(),
            right: expected.to_vec(),
        })
    }
}

/// The shape of a log-density at `value`: the broadcast of the value's shape and the batch's
/// (so one distribution can be evaluated at many points, as in PyTorch).
pub(crate) fn value_shape<const D: usize>(
    context: &'static str,
    value: [usize; D],
    batch: [usize; D],
) -> Result<[usize; D]> {
    broadcast(context, &[batch, value])
}

/// A batch shape with axis 0 multiplied by `n`.
pub(crate) fn replicated_shape<const D: usize>(shape: [usize; D], n: usize) -> [usize; D] {
    let mut out = shape;
    out[0] *= n;
    out
}

/// The one `replicate` of every family: a parameter of a batch of `rows` rows, repeated `n`
/// times along axis 0 in the sample-major layout of the estimators (row `i·rows + b` of the
/// result is row `b` of `t`, as [`replicate_rows`](super::replicate_rows)). A parameter of one
/// row in a batch of several broadcasts along axis 0 and is left as it is.
pub(crate) fn replicate<const D: usize, K: burn::tensor::kind::Basic>(
    t: &Tensor<D, K>,
    n: usize,
    rows: usize,
) -> Tensor<D, K> {
    if n == 1 || (t.dims()[0] == 1 && rows != 1) {
        t.clone()
    } else {
        super::replicate_rows(t.clone(), n)
    }
}

// ---- value checks ----------------------------------------------------------------------------

/// True when any element of `bad` is true. One device read (a sync).
fn any<const D: usize>(bad: Tensor<D, Bool>) -> bool {
    let n = bad.shape().num_elements();
    bad.reshape([n]).any().into_scalar::<bool>()
}

/// Fails with [`Error::InvalidParameter`] if any element is NaN or infinite.
pub(crate) fn finite<const D: usize>(
    owner: &'static str,
    name: &'static str,
    t: &Tensor<D>,
) -> Result<()> {
    if any(t.clone().is_finite().bool_not()) {
        Err(Error::invalid(owner, name, "finite (no NaN or infinity)"))
    } else {
        Ok(())
    }
}

/// Fails with [`Error::InvalidParameter`] (`requirement` quoted) unless every element is
/// finite and in `[low, high]`.
pub(crate) fn in_range<const D: usize>(
    owner: &'static str,
    name: &'static str,
    t: &Tensor<D>,
    (low, high): (f32, f32),
    requirement: &'static str,
) -> Result<()> {
    let bad = t
        .clone()
        .lower_elem(low)
        .bool_or(t.clone().greater_elem(high))
        .bool_or(t.clone().is_finite().bool_not());
    if any(bad) {
        Err(Error::invalid(owner, name, requirement))
    } else {
        Ok(())
    }
}

/// Fails unless every element is a valid scale: finite, in `[SCALE_MIN, SCALE_MAX]`.
pub(crate) fn scale<const D: usize>(
    owner: &'static str,
    name: &'static str,
    t: &Tensor<D>,
) -> Result<()> {
    in_range(owner, name, t, (SCALE_MIN, SCALE_MAX), SCALE_RANGE)
}

/// Fails if `bad` holds anywhere, with the given parameter and requirement.
pub(crate) fn reject_if<const D: usize>(
    owner: &'static str,
    name: &'static str,
    bad: Tensor<D, Bool>,
    requirement: &'static str,
) -> Result<()> {
    if any(bad) {
        Err(Error::invalid(owner, name, requirement))
    } else {
        Ok(())
    }
}

/// Fails unless a temperature is finite and positive (a host check, no sync).
pub(crate) fn temperature(owner: &'static str, temperature: f64) -> Result<()> {
    if temperature.is_finite() && temperature > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(owner, "temperature", "finite and > 0"))
    }
}

/// A temperature as the relaxed families compute with it in `f32`: clamped into
/// `[1/f32::MAX, f32::MAX]`, so that both `τ` and `1/τ` are finite `f32` numbers. (Below the
/// lower end the relaxed sample is the Gumbel-max one-hot vector to `f32` precision, above
/// the upper end the uniform vector.)
pub(crate) fn f32_temperature(temperature: f64) -> f64 {
    let low = 1.0 / f32::MAX as f64 * (1.0 + 1e-6);
    temperature.clamp(low, f32::MAX as f64)
}

/// Fails unless `n >= 1`.
pub(crate) fn samples(n: usize) -> Result<()> {
    if n == 0 {
        Err(Error::argument(
            "n",
            "the number of samples must be at least 1",
        ))
    } else {
        Ok(())
    }
}

// ---- categories ------------------------------------------------------------------------------

/// Fails when the class axis is empty.
pub(crate) fn check_categories<const D: usize>(owner: &'static str, t: &Tensor<D>) -> Result<()> {
    if t.dims()[D - 1] == 0 {
        Err(Error::EmptyCategories { owner })
    } else {
        Ok(())
    }
}

/// The one-hot encoding of class indices `[..., 1]` into `[..., K]`, exactly 0 and 1, on the
/// device without a host round trip (it compares each index with `0..K`; an index outside
/// `0..K` gives a row of zeros).
///
/// # Shapes
///
/// `[..., 1]` (`Int`) → `[..., K]`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::one_hot;
///
/// let device = Device::flex();
/// let index = Tensor::<2, Int>::from_ints([[2], [0], [7]], &device);
/// let y = one_hot(index, 3).try_into_vec_as::<f32>().unwrap();
/// assert_eq!(y, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
/// ```
pub fn one_hot<const D: usize>(index: Tensor<D, Int>, k: usize) -> Tensor<D> {
    let device = index.device();
    let mut shape = [1usize; D];
    shape[D - 1] = k;
    let classes = Tensor::<1, Int>::arange(0..k as i64, &device).reshape(shape);
    let mut full = index.dims();
    full[D - 1] = k;
    index.expand(full).equal(classes.expand(full)).float()
}

/// True where a float tensor is not a one-hot vector along the last axis (an entry other than
/// 0 and 1, or a sum other than 1), `[..., 1]`.
pub(crate) fn not_one_hot<const D: usize>(value: &Tensor<D>) -> Tensor<D, Bool> {
    let binary = value
        .clone()
        .equal_elem(0.0)
        .bool_or(value.clone().equal_elem(1.0));
    let binary = binary.all_dim(D - 1);
    binary
        .bool_not()
        .bool_or(value.clone().sum_dim(D - 1).not_equal_elem(1.0))
}

/// `ln p` with `0 · ln 0 = 0`: `−∞` log-probabilities are replaced by a finite number before
/// multiplying by the (zero) probability.
pub(crate) fn finite_log<const D: usize>(log_p: Tensor<D>) -> Tensor<D> {
    log_p.clamp_min(f32::MIN)
}

// ---- support enumeration ---------------------------------------------------------------------

/// `K^L`, or an error above [`SUPPORT_LIMIT`].
pub(crate) fn support_size(owner: &'static str, k: usize, positions: usize) -> Result<usize> {
    let size = (0..positions).try_fold(1u128, |acc, _| acc.checked_mul(k as u128));
    match size {
        Some(s) if s <= SUPPORT_LIMIT => Ok(s as usize),
        other => Err(Error::SupportTooLarge {
            owner,
            size: other.unwrap_or(u128::MAX),
            limit: SUPPORT_LIMIT,
        }),
    }
}

/// Every point of the joint support of `positions` variables of `k` values each, for a batch
/// of `rows` rows, sample-major: the digits of point `j` (most significant first) repeated for
/// each row, `count·rows·positions` values in all; and `count = k^positions`.
///
/// # Errors
///
/// [`Error::SupportTooLarge`] above [`SUPPORT_LIMIT`].
pub(crate) fn support_digits(
    owner: &'static str,
    k: usize,
    rows: usize,
    positions: usize,
) -> Result<(Vec<usize>, usize)> {
    let count = support_size(owner, k, positions)?;
    let mut data = Vec::with_capacity(count * rows * positions);
    let mut digits = vec![0; positions];
    for mut j in 0..count {
        for d in digits.iter_mut().rev() {
            *d = j % k;
            j /= k;
        }
        for _ in 0..rows {
            data.extend_from_slice(&digits);
        }
    }
    Ok((data, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasts_like_pytorch_for_equal_ranks() {
        assert_eq!(broadcast("t", &[[1, 3], [4, 1]]).unwrap(), [4, 3]);
        assert_eq!(broadcast("t", &[[4, 3], [4, 3]]).unwrap(), [4, 3]);
        assert!(matches!(
            broadcast("t", &[[2, 3], [4, 3]]),
            Err(Error::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn values_broadcast_against_the_batch() {
        assert_eq!(value_shape("t", [1, 3], [4, 3]).unwrap(), [4, 3]);
        assert_eq!(value_shape("t", [5, 3], [1, 3]).unwrap(), [5, 3]);
        assert!(value_shape("t", [2, 3], [4, 3]).is_err());
    }

    #[test]
    fn replicate_repeats_rows_and_keeps_broadcast_parameters() {
        let device = Device::flex();
        let t = Tensor::<2>::from_floats([[1.0], [2.0]], &device);
        let r = replicate(&t, 3, 2).try_into_vec_as::<f32>().unwrap();
        assert_eq!(r, vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
        // one row in a batch of two: broadcasts, stays
        let one = Tensor::<2>::from_floats([[5.0]], &device);
        assert_eq!(replicate(&one, 3, 2).dims(), [1, 1]);
        // one row in a batch of one: repeated (the batch's shape may follow it)
        assert_eq!(replicate(&one, 3, 1).dims(), [3, 1]);
    }

    #[test]
    fn support_digits_are_sample_major() {
        let (d, count) = support_digits("t", 2, 2, 2).unwrap();
        assert_eq!(count, 4);
        assert_eq!(d, vec![0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1]);
        assert!(matches!(
            support_digits("t", 2, 1, 21),
            Err(Error::SupportTooLarge { .. })
        ));
    }

    #[test]
    fn temperatures_are_clamped_into_the_f32_range() {
        assert_eq!(f32_temperature(0.5), 0.5);
        assert!((1.0 / f32_temperature(1e-300)) as f32 <= f32::MAX);
        assert!((f32_temperature(1e300) as f32).is_finite());
    }
}
