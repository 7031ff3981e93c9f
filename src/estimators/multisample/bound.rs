//! The importance-weighted bound on log-weights, and its evaluation with many samples in
//! bounded memory.

use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::distributions::{Distribution, sum_per_row};
use crate::error::{Error, Result};
use crate::estimators::check_costs;
use crate::rng::NoiseSource;

/// The importance-weighted bound `ln (1/k) Σ_i exp(ℓ_i)` of log-weights `ℓ`, `[k, B]` → `[B]`
/// (the log-mean-exp over the `k` draws of each element), with the gradient of the standard
/// IWAE estimator.
///
/// With `ℓ_i = ln p(x, z_i) − ln q(z_i | x)` for draws `z_i ~ q`, the value is the `k`-sample
/// bound estimate `L̂_k` of Burda et al. (2016), and its gradient is
///
/// `∇L̂_k = Σ_i w̃_i ∇ℓ_i`, with `w̃_i = exp(ℓ_i) / Σ_j exp(ℓ_j)` (the normalized weights).
///
/// Differentiate it through reparameterized draws and the gradient is the standard
/// (reparameterized) IWAE estimator, unbiased for `∇L_k`; see [`ImportanceWeighted`] for the
/// lower-variance variants of the proposal's gradient and [`Vimco`] for discrete proposals.
///
/// # Numerics
///
/// Computed as `m + ln Σ_i exp(ℓ_i − m) − ln k` with `m = max_i ℓ_i` held constant for the
/// gradient: every `exp` is of a number `≤ 0` and the sum is at least 1, so the value and the
/// gradient are finite for every finite input over the whole `f32` range (log-weights that
/// differ by `1e30`, say: the bound is then the largest minus `ln k`, the gradient one-hot).
/// A log-weight of `−∞` (a draw the model deems impossible) gets weight 0; a column of `−∞`
/// gives `−∞`.
///
/// # Shapes
///
/// `[k, B]` → `[B]`.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for `k = 0`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::estimators::multisample::importance_weighted_bound;
///
/// let device = Device::flex().autodiff();
/// // two draws with weights 1 and 3: ln((1 + 3)/2) = ln 2; gradient (1/4, 3/4)
/// let l = Tensor::<2>::from_floats([[0.0], [3.0f32.ln()]], &device).require_grad();
/// let bound = importance_weighted_bound(l.clone())?;
/// assert!((bound.clone().into_scalar::<f32>() - 2f32.ln()).abs() < 1e-6);
/// let g = l.grad(&bound.backward()).unwrap().try_into_vec_as::<f32>().unwrap();
/// assert!((g[0] - 0.25).abs() < 1e-6 && (g[1] - 0.75).abs() < 1e-6);
/// // a spread of 2e30 stays finite
/// let wide = Tensor::<2>::from_floats([[1e30], [-1e30]], &device);
/// assert_eq!(importance_weighted_bound(wide)?.into_scalar::<f32>(), 1e30 - 2f32.ln());
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Burda, Grosse & Salakhutdinov, *Importance Weighted Autoencoders*, ICLR 2016, §3 (eq. 8
/// and 13).
///
/// [`ImportanceWeighted`]: super::ImportanceWeighted
/// [`Vimco`]: super::Vimco
pub fn importance_weighted_bound(log_weights: Tensor<2>) -> Result<Tensor<1>> {
    let [k, _] = log_weights.dims();
    if k == 0 {
        return Err(Error::argument(
            "log_weights",
            "the bound needs at least one draw (k ≥ 1) per element",
        ));
    }
    Ok(log_mean_exp(log_weights))
}

/// `ln (1/k) Σ_i exp(ℓ_i)` over axis 0, the maximum held constant for the gradient.
pub(crate) fn log_mean_exp(l: Tensor<2>) -> Tensor<1> {
    let [k, b] = l.dims();
    let (max, sum) = shifted_sum(l);
    (sum.log() + max).sub_scalar((k as f64).ln()).reshape([b])
}

/// `(m, Σ_i exp(ℓ_i − m))` over axis 0, both `[1, B]`, with `m = max_i ℓ_i` detached (raised to
/// `f32::MIN` for a column of `−∞`, so that `ℓ − m` is never `−∞ − (−∞)`).
fn shifted_sum(l: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    let max = l.clone().detach().max_dim(0).clamp_min(f32::MIN);
    let sum = (l - max.clone()).exp().sum_dim(0);
    (max, sum)
}

/// The normalized weights `w̃ = softmax(ℓ)` over axis 0, detached, `[k, B]`.
pub(crate) fn normalized_weights(log_weights: Tensor<2>) -> Tensor<2> {
    softmax(log_weights.detach(), 0)
}

/// A log-mean-exp over samples that arrive in chunks: `ln (1/n) Σ_i exp(ℓ_i)` per element
/// after chunks of log-weights `[c, B]` with `n = Σ c` in all, in memory that does not grow
/// with `n`.
///
/// It keeps, per element, the running maximum `m` and the running sum `s = Σ exp(ℓ_i − m)`;
/// a chunk with maximum `m'` updates them to `max(m, m')` and
/// `s·exp(m − max) + Σ_chunk exp(ℓ − max)`. Every `exp` is of a number `≤ 0`: finite for every
/// finite input. The state stays on the device (no synchronization per chunk) and carries no
/// gradient (chunks are detached): it is an evaluation tool. See [`importance_sampled_nll`]
/// for the usual loop.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::estimators::multisample::StreamingLogMeanExp;
///
/// let device = Device::flex();
/// let mut acc = StreamingLogMeanExp::new();
/// acc.push(Tensor::<2>::from_floats([[0.0], [1.0]], &device))?;
/// acc.push(Tensor::<2>::from_floats([[2.0]], &device))?;
/// let v: f32 = acc.value()?.into_scalar();
/// let exact = ((1.0f32 + 1f32.exp() + 2f32.exp()) / 3.0).ln();
/// assert!((v - exact).abs() < 1e-6);
/// assert_eq!(acc.count(), 3);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StreamingLogMeanExp {
    /// Running maximum and running shifted sum, `[1, B]` each.
    state: Option<(Tensor<2>, Tensor<2>)>,
    count: usize,
}

impl StreamingLogMeanExp {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a chunk of log-weights `[c, B]` (detached first).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if `B` differs from earlier chunks'.
    pub fn push(&mut self, log_weights: Tensor<2>) -> Result<()> {
        let [c, b] = log_weights.dims();
        if c == 0 {
            return Ok(());
        }
        let l = log_weights.detach();
        let chunk_max = l.clone().max_dim(0).clamp_min(f32::MIN);
        self.state = Some(match self.state.take() {
            None => {
                let sum = (l - chunk_max.clone()).exp().sum_dim(0);
                (chunk_max, sum)
            }
            Some((max, sum)) => {
                let [_, have] = max.dims();
                if have != b {
                    self.state = Some((max, sum));
                    return Err(Error::ShapeMismatch {
                        context: "StreamingLogMeanExp::push (batch size of each chunk)",
                        left: vec![c, b],
                        right: vec![c, have],
                    });
                }
                let new_max = max.clone().max_pair(chunk_max);
                let sum =
                    sum * (max - new_max.clone()).exp() + (l - new_max.clone()).exp().sum_dim(0);
                (new_max, sum)
            }
        });
        self.count += c;
        Ok(())
    }

    /// The number of samples pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// `ln (1/n) Σ_i exp(ℓ_i)` per element, `[B]`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] before the first sample.
    pub fn value(&self) -> Result<Tensor<1>> {
        match &self.state {
            Some((max, sum)) => {
                let [_, b] = max.dims();
                Ok((sum.clone().log() + max.clone())
                    .sub_scalar((self.count as f64).ln())
                    .reshape([b]))
            }
            None => Err(Error::argument(
                "StreamingLogMeanExp",
                "no samples were pushed",
            )),
        }
    }
}

/// The importance-sampled estimate of the negative log-likelihood,
/// `−ln p̂(x) = −ln (1/k) Σ_{i=1}^k p(x, z_i)/q(z_i | x)`, `[B]`, with `k` in the thousands,
/// computed in chunks of at most `chunk` draws so that memory is bounded by one chunk.
///
/// `chunk_log_weights(c)` returns the log-weights of `c` fresh draws per element, `[c, B]`
/// (for instance [`importance_log_weights`] on the encoder's `q` and the model's log-joint);
/// it is called `⌈k / chunk⌉` times, the last time with the remainder. The chunks are combined
/// by [`StreamingLogMeanExp`]: the result equals the log-mean-exp of all `k` log-weights at
/// once, up to `f32` rounding.
///
/// `E[p̂(x)] = p(x)`, so `−ln p̂` is an upper bound on the NLL in expectation (Jensen) that
/// tightens as `k` grows: the `k`-sample IWAE bound, negated. Burda et al. (2016) report test
/// NLL with `k = 5000`.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for `k = 0` or `chunk = 0`; [`Error::ShapeMismatch`] if a chunk
/// does not have `c` rows or changes the batch size; errors of the closure.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::Normal;
/// use mcgrad::estimators::multisample::{importance_log_weights, importance_sampled_nll};
///
/// let device = Device::flex();
/// // p(z) = N(0, 1), p(x | z) = N(z, 1), x = 1: p(x) = N(1; 0, 2), −ln p(x) = ½ ln 4π + ¼
/// let q = Normal::new(Tensor::<2>::from_floats([[0.5]], &device), Tensor::<2>::from_floats([[0.8]], &device))?;
/// let mut noise = NoiseSource::seed_from_u64(0);
/// let nll = importance_sampled_nll(5000, 512, |c| {
///     importance_log_weights(&q, c, &mut noise, |z| {
///         let rows = z.dims()[0];
///         ((z.clone().square() + (z - 1.0).square()) * -0.5 - (2.0 * std::f64::consts::PI).ln()).reshape([rows])
///     })
/// })?;
/// let exact = 0.5 * (4.0 * std::f32::consts::PI).ln() + 0.25;
/// assert!((nll.into_scalar::<f32>() - exact).abs() < 0.01);
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub fn importance_sampled_nll<F>(
    k: usize,
    chunk: usize,
    mut chunk_log_weights: F,
) -> Result<Tensor<1>>
where
    F: FnMut(usize) -> Result<Tensor<2>>,
{
    if k == 0 {
        return Err(Error::argument(
            "k",
            "at least one importance sample is needed",
        ));
    }
    if chunk == 0 {
        return Err(Error::argument(
            "chunk",
            "the chunk size must be at least 1",
        ));
    }
    let mut acc = StreamingLogMeanExp::new();
    let mut done = 0;
    while done < k {
        let c = chunk.min(k - done);
        let l = chunk_log_weights(c)?;
        let [rows, _] = l.dims();
        if rows != c {
            return Err(Error::ShapeMismatch {
                context: "importance_sampled_nll: log-weights of a chunk, [c, B]",
                left: l.dims().to_vec(),
                right: vec![c, l.dims()[1]],
            });
        }
        acc.push(l)?;
        done += c;
    }
    Ok(acc.value()?.neg())
}

/// Log-weights `ln p(x, z_i) − ln q(z_i | x)` of `n` fresh draws per element from `q`, `[n, B]`,
/// without gradient through the draws (`q.sample`): the input of the evaluation helpers
/// [`importance_weighted_bound`] (the `n`-sample bound) and [`importance_sampled_nll`].
///
/// `log_joint` receives the `n·B` draws (sample-major) and returns `ln p(x, z)` per row. For
/// evaluation, build `q` and the model on a device without autodiff (`model.valid()`), so that
/// no graph is recorded.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for `n = 0`; [`Error::ShapeMismatch`] if `log_joint` does not
/// return one value per draw; errors of `log_prob`.
pub fn importance_log_weights<const D: usize, Q, F>(
    q: &Q,
    n: usize,
    noise: &mut NoiseSource,
    log_joint: F,
) -> Result<Tensor<2>>
where
    Q: Distribution<D>,
    F: FnOnce(Q::Value) -> Tensor<1>,
{
    crate::distributions::params::samples(n)?;
    let draws = q.replicate(n);
    let z = draws.sample(noise);
    let log_q = sum_per_row(draws.log_prob(&z)?);
    let log_p = log_joint(z);
    check_costs(&log_p, draws.rows())?;
    Ok((log_p - log_q).detach().reshape([n, q.rows()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn bound_is_the_log_mean_exp() {
        let device = Device::flex();
        let l = Tensor::<2>::from_floats([[0.0, -1.0], [1.0, -1.0], [2.0, 5.0]], &device);
        let v = values(importance_weighted_bound(l).unwrap());
        let a = ((1.0f32 + 1f32.exp() + 2f32.exp()) / 3.0).ln();
        let b = ((2.0 * (-1f32).exp() + 5f32.exp()) / 3.0).ln();
        assert!((v[0] - a).abs() < 1e-6 && (v[1] - b).abs() < 1e-5, "{v:?}");
    }

    #[test]
    fn empty_draws_are_an_error() {
        let l = Tensor::<2>::zeros([0, 3], &Device::flex());
        assert!(matches!(
            importance_weighted_bound(l),
            Err(Error::InvalidArgument { .. })
        ));
    }

    #[test]
    fn chunks_agree_with_the_whole() {
        let device = Device::flex();
        let data: Vec<f32> = (0..70).map(|i| ((i as f32) * 0.37).sin() * 20.0).collect();
        let all = Tensor::<2>::from_data(burn::tensor::TensorData::new(data, [35, 2]), &device);
        let whole = values(importance_weighted_bound(all.clone()).unwrap());
        let mut start = 0;
        let nll = importance_sampled_nll(35, 8, |c| {
            let t = all.clone().slice([start..start + c, 0..2]);
            start += c;
            Ok(t)
        })
        .unwrap();
        let chunked = values(nll.neg());
        for (a, b) in whole.iter().zip(&chunked) {
            assert!((a - b).abs() < 1e-5, "{whole:?} vs {chunked:?}");
        }
    }

    #[test]
    fn a_batch_size_change_is_an_error() {
        let device = Device::flex();
        let mut acc = StreamingLogMeanExp::new();
        acc.push(Tensor::<2>::zeros([2, 3], &device)).unwrap();
        assert!(acc.push(Tensor::<2>::zeros([2, 4], &device)).is_err());
        assert_eq!(acc.count(), 2);
        assert!(StreamingLogMeanExp::new().value().is_err());
    }
}
