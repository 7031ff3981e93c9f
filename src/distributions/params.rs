//! Parameter plumbing shared by the distributions: broadcasting, value checks, replication.

use burn::prelude::*;

use crate::error::{Error, Result};

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

/// True when any element of `bad` is true. One device read (a sync).
fn any(bad: Tensor<1, Bool>) -> bool {
    bad.any().into_scalar::<bool>()
}

fn flat<const D: usize>(t: &Tensor<D>) -> Tensor<1> {
    let n = t.shape().num_elements();
    t.clone().reshape([n])
}

/// Fails with [`Error::InvalidParameter`] if any element is NaN or infinite.
pub(crate) fn finite<const D: usize>(
    owner: &'static str,
    name: &'static str,
    t: &Tensor<D>,
) -> Result<()> {
    if any(flat(t).is_finite().bool_not()) {
        Err(Error::invalid(owner, name, "finite (no NaN or infinity)"))
    } else {
        Ok(())
    }
}

/// Fails with [`Error::InvalidParameter`] unless every element is finite and `> 0`.
pub(crate) fn positive<const D: usize>(
    owner: &'static str,
    name: &'static str,
    t: &Tensor<D>,
) -> Result<()> {
    let t = flat(t);
    let bad = t
        .clone()
        .lower_equal_elem(0.0)
        .bool_or(t.is_finite().bool_not());
    if any(bad) {
        Err(Error::invalid(owner, name, "finite and > 0"))
    } else {
        Ok(())
    }
}

/// Fails with [`Error::InvalidParameter`] unless `low < high` element-wise (after
/// broadcasting).
pub(crate) fn ordered<const D: usize>(
    owner: &'static str,
    low: &Tensor<D>,
    high: &Tensor<D>,
) -> Result<()> {
    let bad = low.clone().greater_equal(high.clone());
    let n = bad.shape().num_elements();
    if any(bad.reshape([n])) {
        Err(Error::invalid(owner, "low", "strictly below `high`"))
    } else {
        Ok(())
    }
}

/// A parameter of a batch with `rows` rows, replicated `n` times along axis 0, sample-major:
/// row `i·rows + b` of the result is row `b` of `t`. A parameter that broadcasts along axis 0
/// (size 1) is left as it is.
pub(crate) fn replicate<const D: usize, K: burn::tensor::kind::Basic>(
    t: &Tensor<D, K>,
    n: usize,
) -> Tensor<D, K> {
    if n == 1 || t.dims()[0] == 1 {
        t.clone()
    } else {
        t.clone().repeat_dim(0, n)
    }
}

/// A batch shape with axis 0 multiplied by `n`.
pub(crate) fn replicated_shape<const D: usize>(shape: [usize; D], n: usize) -> [usize; D] {
    let mut out = shape;
    out[0] *= n;
    out
}

/// Fails unless a temperature is finite and positive (a host check, no sync).
pub(crate) fn temperature(name: &'static str, temperature: f64) -> Result<()> {
    if temperature.is_finite() && temperature > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(name, "temperature", "finite and > 0"))
    }
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
}
