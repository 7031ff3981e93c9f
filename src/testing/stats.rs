//! Sample moments and the standard normal tail, for the z-tests of the kit.

/// Mean, unbiased variance and fourth central moment of a sample.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moments {
    pub(crate) mean: f64,
    pub(crate) variance: f64,
    pub(crate) fourth: f64,
}

impl Moments {
    pub(crate) fn of(values: impl Iterator<Item = f64> + Clone) -> Self {
        let (n, sum) = values
            .clone()
            .fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
        let n = n as f64;
        let mean = sum / n;
        let (m2, m4) = values.fold((0.0, 0.0), |(m2, m4), v| {
            let d = v - mean;
            let d2 = d * d;
            (m2 + d2, m4 + d2 * d2)
        });
        Self {
            mean,
            variance: m2 / (n - 1.0),
            fourth: m4 / n,
        }
    }
}

/// The standard normal density.
fn phi(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * core::f64::consts::PI).sqrt()
}

/// `Q(z) = P(Z > z)` for a standard normal Z, with a relative accuracy near 1e-10 out to
/// `z ≈ 37` (composite Simpson integration of the density over `[z, z + 14]`; the mass
/// beyond is below `e^{−98}` of the tail).
///
/// # Examples
///
/// ```
/// let q = mcgrad::testing::normal_upper_tail(1.959_963_984_540_054);
/// assert!((q - 0.025).abs() < 1e-10);
/// ```
pub fn normal_upper_tail(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    if z < 0.0 {
        return 1.0 - normal_upper_tail(-z);
    }
    let intervals = 4000;
    let h = 14.0 / intervals as f64;
    let mut sum = phi(z) + phi(z + 14.0);
    for i in 1..intervals {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += w * phi(z + i as f64 * h);
    }
    sum * h / 3.0
}

/// The standard normal quantile `Φ⁻¹(p)`, by bisection on [`normal_upper_tail`]: accurate to
/// about 1e-9 for `p` in `(1e-300, 1 − 1e-16)`. Returns ±∞ at 0 and 1, NaN outside [0, 1].
///
/// # Examples
///
/// ```
/// let z = mcgrad::testing::normal_quantile(0.975);
/// assert!((z - 1.959_963_985).abs() < 1e-8);
/// ```
pub fn normal_quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p < 0.5 {
        return -normal_quantile(1.0 - p);
    }
    let tail = 1.0 - p;
    let (mut lo, mut hi) = (0.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if normal_upper_tail(mid) > tail {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_and_quantile_match_tabulated_values() {
        // Abramowitz & Stegun, table 26.1 and its complement
        assert!((normal_upper_tail(0.0) - 0.5).abs() < 1e-12);
        assert!((normal_upper_tail(1.0) - 0.158_655_253_931_457).abs() < 1e-11);
        assert!((normal_upper_tail(5.0) / 2.866_515_718_791_939e-7 - 1.0).abs() < 1e-8);
        assert!((normal_quantile(0.5)).abs() < 1e-10);
        assert!((normal_quantile(0.999) - 3.090_232_306_167_813).abs() < 1e-8);
        assert!((normal_quantile(0.001) + 3.090_232_306_167_813).abs() < 1e-8);
        // 5 sigma, two-sided
        assert!((normal_quantile(1.0 - 2.866_515_718_791_939e-7) - 5.0).abs() < 1e-6);
    }

    #[test]
    fn moments_of_a_known_sample() {
        let m = Moments::of([1.0, 2.0, 3.0, 4.0].into_iter());
        assert_eq!(m.mean, 2.5);
        assert!((m.variance - 5.0 / 3.0).abs() < 1e-12);
        // central 4th moment: (1.5⁴·2 + 0.5⁴·2)/4
        assert!((m.fourth - (2.0 * 5.0625 + 2.0 * 0.0625) / 4.0).abs() < 1e-12);
    }
}
