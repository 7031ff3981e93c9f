//! Pearson's chi-square goodness-of-fit test, for checking that discrete samplers follow their
//! law.

use core::fmt;

use crate::error::{Error, Result};

/// The outcome of a chi-square goodness-of-fit test.
///
/// # Examples
///
/// ```
/// use mcgrad::testing::chi_square;
///
/// // 1000 rolls of a die that never shows a six, against a fair die
/// let report = chi_square(&[200, 200, 200, 200, 200, 0], &[1.0 / 6.0; 6])?;
/// assert_eq!(report.degrees_of_freedom, 5);
/// assert!(report.p_value < 1e-30 && !report.passes(1e-6));
/// println!("{report}");
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChiSquareReport {
    /// `Σ_k (O_k − E_k)² / E_k`.
    pub statistic: f64,
    /// Categories minus one.
    pub degrees_of_freedom: usize,
    /// `P(χ²_dof ≥ statistic)`.
    pub p_value: f64,
}

impl ChiSquareReport {
    /// True when the p-value is at least `false_failure_rate`: a sampler that follows the law
    /// fails with that probability.
    pub fn passes(&self, false_failure_rate: f64) -> bool {
        self.p_value >= false_failure_rate
    }
}

impl fmt::Display for ChiSquareReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "chi-square = {:.3} on {} degrees of freedom, p = {:.3e}",
            self.statistic, self.degrees_of_freedom, self.p_value
        )
    }
}

/// Pearson's chi-square test of observed counts against category probabilities.
///
/// The usual rule for the approximation applies: expected counts of 5 or more.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for fewer than two categories, lengths that differ, no
/// observations, or probabilities that are negative or do not sum to 1 (within 1e-6).
///
/// # Examples
///
/// ```
/// use mcgrad::testing::chi_square;
/// let report = chi_square(&[260, 240, 500], &[0.25, 0.25, 0.5])?;
/// assert!(report.passes(1e-6));
/// assert!(!chi_square(&[400, 100, 500], &[0.25, 0.25, 0.5])?.passes(1e-6));
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub fn chi_square(observed: &[u64], probs: &[f64]) -> Result<ChiSquareReport> {
    if observed.len() != probs.len() || observed.len() < 2 {
        return Err(Error::argument(
            "observed",
            format!(
                "{} counts for {} probabilities (at least 2 needed)",
                observed.len(),
                probs.len()
            ),
        ));
    }
    let total: u64 = observed.iter().sum();
    let sum: f64 = probs.iter().sum();
    if total == 0 || probs.iter().any(|p| p.is_nan() || *p < 0.0) || (sum - 1.0).abs() > 1e-6 {
        return Err(Error::argument(
            "probs",
            "non-negative probabilities summing to 1 and at least one observation are needed",
        ));
    }
    let n = total as f64;
    let mut statistic = 0.0;
    let mut dof = 0usize;
    for (&o, &p) in observed.iter().zip(probs) {
        if p == 0.0 {
            if o > 0 {
                statistic = f64::INFINITY;
            }
            continue;
        }
        let e = n * p;
        statistic += (o as f64 - e).powi(2) / e;
        dof += 1;
    }
    let degrees_of_freedom = dof.saturating_sub(1).max(1);
    Ok(ChiSquareReport {
        statistic,
        degrees_of_freedom,
        p_value: chi_square_upper_tail(statistic, degrees_of_freedom),
    })
}

/// `P(χ²_k ≥ x) = Q(k/2, x/2)`, the regularized upper incomplete gamma function.
pub(crate) fn chi_square_upper_tail(x: f64, k: usize) -> f64 {
    if x.is_infinite() {
        return 0.0;
    }
    gamma_q(k as f64 / 2.0, x / 2.0)
}

/// `ln Γ(a)` for `a` a positive multiple of ½, exactly by the recurrence
/// `Γ(a) = (a − 1)Γ(a − 1)` from `Γ(1) = 1` or `Γ(½) = √π`.
fn ln_gamma_half_integer(a: f64) -> f64 {
    let (mut x, mut acc) = if (a - a.floor()).abs() < 1e-12 {
        (1.0, 0.0)
    } else {
        (0.5, 0.5 * core::f64::consts::PI.ln())
    };
    while x + 0.5 < a {
        acc += x.ln();
        x += 1.0;
    }
    acc
}

/// `Q(a, x) = Γ(a, x)/Γ(a)` by its series (`x < a + 1`) or continued fraction (otherwise),
/// as in Press et al., *Numerical Recipes*, §6.2.
fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let log_prefactor = -x + a * x.ln() - ln_gamma_half_integer(a);
    if x < a + 1.0 {
        // P(a, x) = e^{−x} x^a / Γ(a) · Σ_n x^n / (a (a+1) ... (a+n))
        let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        1.0 - sum * log_prefactor.exp()
    } else {
        // modified Lentz evaluation of the continued fraction for Γ(a, x)
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        log_prefactor.exp() * h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_matches_tabulated_critical_values() {
        // standard chi-square tables: (dof, x, upper tail)
        for (k, x, p) in [
            (1, 3.841_458_820_694_124, 0.05),
            (9, 16.918_977_604_620_45, 0.05),
            (9, 27.877_164_583_833_0, 0.001),
            (2, 13.815_510_557_964_274, 0.001),
            (30, 43.772_971_825_742_2, 0.05),
        ] {
            let q = chi_square_upper_tail(x, k);
            assert!((q - p).abs() < 1e-9, "dof {k}, x {x}: {q} vs {p}");
        }
    }

    #[test]
    fn ln_gamma_of_half_integers() {
        assert!((ln_gamma_half_integer(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma_half_integer(0.5) - core::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        // Γ(4.5) = 3.5·2.5·1.5·0.5·√π
        let g = 3.5 * 2.5 * 1.5 * 0.5 * core::f64::consts::PI.sqrt();
        assert!((ln_gamma_half_integer(4.5) - g.ln()).abs() < 1e-12);
    }
}
