//! Reference formulas for the tests of the implicitly reparameterized families, written out
//! here in `f64` independently of the library: `ln Γ`, `ψ`, `ψ′`, Bessel ratios, densities and
//! distribution functions by quadrature.
#![allow(dead_code)]

use core::f64::consts::PI;

/// `ln Γ(x)`, `x > 0`: the recurrence up to 15, then Stirling's series (error < 1e-14).
pub fn ln_gamma(x: f64) -> f64 {
    let mut y = x;
    let mut shift = 0.0;
    while y < 15.0 {
        shift -= y.ln();
        y += 1.0;
    }
    let r = 1.0 / (y * y);
    shift + (y - 0.5) * y.ln() - y
        + 0.5 * (2.0 * PI).ln()
        + (1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r / 1680.0))) / y
}

/// `ψ(x)`.
pub fn digamma(x: f64) -> f64 {
    let mut y = x;
    let mut acc = 0.0;
    while y < 15.0 {
        acc -= 1.0 / y;
        y += 1.0;
    }
    let r = 1.0 / (y * y);
    acc + y.ln() - 0.5 / y - r * (1.0 / 12.0 - r * (1.0 / 120.0 - r * (1.0 / 252.0 - r / 240.0)))
}

/// `ψ′(x)`.
pub fn trigamma(x: f64) -> f64 {
    let mut y = x;
    let mut acc = 0.0;
    while y < 15.0 {
        acc += 1.0 / (y * y);
        y += 1.0;
    }
    let r = 1.0 / (y * y);
    acc + 1.0 / y + 0.5 * r + r / y * (1.0 / 6.0 - r * (1.0 / 30.0 - r * (1.0 / 42.0 - r / 30.0)))
}

/// `(e^{−κ} I₀(κ), e^{−κ} I₁(κ))` by the trapezoidal rule on `(1/π)∫₀^π e^{κ(cos t − 1)} cos(nt) dt`
/// (exponentially accurate for this periodic integrand).
pub fn scaled_bessel_pair(kappa: f64) -> (f64, f64) {
    let m = 20_000;
    let h = PI / m as f64;
    let (mut a, mut b) = (0.0, 0.0);
    for i in 0..=m {
        let t = i as f64 * h;
        let w = if i == 0 || i == m { 0.5 } else { 1.0 };
        let e = (kappa * (t.cos() - 1.0)).exp();
        a += w * e;
        b += w * e * t.cos();
    }
    (a * h / PI, b * h / PI)
}

/// `A(κ) = I₁(κ)/I₀(κ)` and its derivative `A′ = 1 − A/κ − A²`.
pub fn bessel_ratio(kappa: f64) -> (f64, f64) {
    let (i0, i1) = scaled_bessel_pair(kappa);
    let a = i1 / i0;
    (a, 1.0 - a / kappa - a * a)
}

/// 8-point Gauss–Legendre nodes and weights on [−1, 1].
const GL_NODES: [f64; 8] = [
    -0.960_289_856_497_536_3,
    -0.796_666_477_413_626_7,
    -0.525_532_409_916_329,
    -0.183_434_642_495_649_8,
    0.183_434_642_495_649_8,
    0.525_532_409_916_329,
    0.796_666_477_413_626_7,
    0.960_289_856_497_536_3,
];
const GL_WEIGHTS: [f64; 8] = [
    0.101_228_536_290_376_26,
    0.222_381_034_453_374_47,
    0.313_706_645_877_887_3,
    0.362_683_783_378_362,
    0.362_683_783_378_362,
    0.313_706_645_877_887_3,
    0.222_381_034_453_374_47,
    0.101_228_536_290_376_26,
];

/// `∫_a^b g` by composite 8-point Gauss–Legendre on `panels` equal panels.
pub fn integrate(a: f64, b: f64, panels: usize, g: impl Fn(f64) -> f64) -> f64 {
    let h = (b - a) / panels as f64;
    let mut sum = 0.0;
    for i in 0..panels {
        let mid = a + (i as f64 + 0.5) * h;
        for (x, w) in GL_NODES.iter().zip(GL_WEIGHTS) {
            sum += w * g(mid + 0.5 * h * x);
        }
    }
    sum * 0.5 * h
}

/// `ln p(w)` of `w = ln G`, `G ~ Gamma(a, 1)`: `a w − e^w − ln Γ(a)`.
pub fn ln_gamma_log_density(a: f64, w: f64) -> f64 {
    a * w - w.exp() - ln_gamma(a)
}

/// The Gamma(a, 1) distribution function at `x` as `(P, Q)`, by quadrature of the density of
/// `w = ln G` (a smooth unimodal integrand for every `a`), integrating the lighter tail and an
/// analytic series below `w = −20`. Relative accuracy about 1e-12.
pub fn gamma_cdf(a: f64, x: f64) -> (f64, f64) {
    gamma_cdf_ln(a, x.ln())
}

/// [`gamma_cdf`] at `x = e^{lw}` (for `x` below the `f64` range).
pub fn gamma_cdf_ln(a: f64, lw: f64) -> (f64, f64) {
    let mode = a.ln();
    let width = 1.0 / a.sqrt().max(1.0);
    // the integration window: density below e^{-70} of its peak outside
    let lo = if a >= 50.0 {
        mode - 12.0 * width
    } else {
        -20.0
    };
    let hi = (mode + 12.0 * width).max((a + 800.0).ln());
    let panels_per_unit = (20.0 / width).max(40.0);
    let quad = |from: f64, to: f64| {
        if to <= from {
            return 0.0;
        }
        let panels = ((to - from) * panels_per_unit).ceil() as usize;
        integrate(from, to, panels.max(4), |w| {
            ln_gamma_log_density(a, w).exp()
        })
    };
    // ∫_{−∞}^{−20} e^{aw − e^w} dw / Γ(a) = Σ_n (−1)ⁿ/n! e^{(a+n)c}/(a+n), c = −20
    let tail = if a < 50.0 {
        let c = -20.0f64;
        let mut s = 0.0;
        let mut fact = 1.0;
        for n in 0..6 {
            if n > 0 {
                fact *= n as f64;
            }
            let sign = if n % 2 == 0 { 1.0 } else { -1.0 };
            s += sign / fact * (((a + n as f64) * c).exp() / (a + n as f64));
        }
        s * (-ln_gamma(a)).exp()
    } else {
        0.0
    };
    if lw <= mode {
        let p = if a < 50.0 && lw <= lo {
            // deep in the analytic tail: e^{ac}/a − e^{(a+1)c}/(a+1), over Γ(a)
            let c = lw;
            ((a * c).exp() / a) * (1.0 - a / (a + 1.0) * c.exp()) * (-ln_gamma(a)).exp()
        } else {
            let from = if a < 50.0 {
                lo
            } else {
                lo.min(lw - 12.0 * width)
            };
            tail + quad(from, lw)
        };
        (p, 1.0 - p)
    } else {
        let q = quad(lw, hi);
        (1.0 - q, q)
    }
}

/// The von Mises(0, κ) distribution function on [−π, π], by composite Gauss–Legendre
/// quadrature of the lighter side, normalized by the trapezoidal rule over the circle.
pub fn von_mises_cdf(kappa: f64, xi: f64) -> f64 {
    let (i0e, _) = scaled_bessel_pair(kappa);
    let norm = 2.0 * PI * i0e;
    let width = 1.0 / kappa.sqrt().max(1.0);
    let panels = |len: f64| ((len / width) * 40.0).ceil().max(50.0) as usize;
    let g = |t: f64| (kappa * (t.cos() - 1.0)).exp();
    if xi <= 0.0 {
        integrate(-PI, xi, panels(xi + PI), g) / norm
    } else {
        1.0 - integrate(xi, PI, panels(PI - xi), g) / norm
    }
}

/// `ln B(a, b)`.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// A law tabulated on a fine grid: its distribution function at the grid points, by
/// cumulative Gauss–Legendre quadrature of a density given in logarithms (`ln_density`), plus the
/// mass below the grid (`left_mass`, from an analytic tail).
pub struct Law {
    grid: Vec<f64>,
    cdf: Vec<f64>,
}

impl Law {
    /// Tabulates on `[lo, hi]` in panels of width at most `panel`.
    pub fn tabulate(
        lo: f64,
        hi: f64,
        panel: f64,
        left_mass: f64,
        ln_density: impl Fn(f64) -> f64,
    ) -> Self {
        let panels = ((hi - lo) / panel).ceil() as usize;
        let h = (hi - lo) / panels as f64;
        let mut grid = Vec::with_capacity(panels + 1);
        let mut cdf = Vec::with_capacity(panels + 1);
        let mut acc = left_mass;
        grid.push(lo);
        cdf.push(acc);
        for i in 0..panels {
            let a = lo + i as f64 * h;
            acc += integrate(a, a + h, 1, |x| ln_density(x).exp());
            grid.push(a + h);
            cdf.push(acc);
        }
        Self { grid, cdf }
    }

    /// The total mass tabulated (1 up to the tails left out and the quadrature error).
    pub fn total(&self) -> f64 {
        *self.cdf.last().unwrap()
    }

    /// Pearson's chi-square p-value of `draws` (in the tabulated variable) against the law, on
    /// about `bins` bins of equal probability whose edges are grid points (so their
    /// probabilities are exact table values); the outer bins run to ±∞.
    pub fn chi_square_p(&self, draws: &[f64], bins: usize) -> f64 {
        let total = self.total();
        let mut edges = Vec::new();
        let mut probs = Vec::new();
        let mut prev = 0.0;
        let mut next = 1;
        for (x, f) in self.grid.iter().zip(&self.cdf) {
            if next < bins && *f / total >= next as f64 / bins as f64 {
                edges.push(*x);
                probs.push(f / total - prev);
                prev = f / total;
                while next < bins && prev >= next as f64 / bins as f64 {
                    next += 1;
                }
            }
        }
        probs.push(1.0 - prev);
        let mut counts = vec![0u64; edges.len() + 1];
        for &d in draws {
            counts[edges.partition_point(|&e| e < d)] += 1;
        }
        mcgrad::testing::chi_square(&counts, &probs)
            .expect("valid bins")
            .p_value
    }
}

/// The law of `ln G`, `G ~ Gamma(a, 1)`, tabulated.
pub fn log_gamma_law(a: f64) -> Law {
    let width = 1.0 / a.sqrt().max(1.0);
    let lo = (a.ln() - 14.0 * width).min(-30.0 / a - 1.0);
    let hi = (a.ln() + 14.0 * width).max((a + 50.0).ln());
    // below lo the density is e^{a w}/Γ(a) to 1e-13: mass e^{a lo}/(a Γ(a))
    let left = (a * lo - ln_gamma(a)).exp() / a;
    Law::tabulate(lo, hi, (width / 40.0).min(0.05), left, |w| {
        ln_gamma_log_density(a, w)
    })
}

/// The law of `logit X`, `X ~ Beta(a, b)`: density `e^{ay}/(1 + e^y)^{a+b}/B(a, b)`.
pub fn logit_beta_law(a: f64, b: f64) -> Law {
    let lo = -40.0 / a - 5.0;
    let hi = 40.0 / b + 5.0;
    let width = (1.0 / a + 1.0 / b).sqrt().min(1.0);
    let lb = ln_beta(a, b);
    Law::tabulate(lo, hi, width / 40.0, 0.0, |y| {
        let softplus = if y > 0.0 {
            y + (-y).exp().ln_1p()
        } else {
            y.exp().ln_1p()
        };
        a * y - (a + b) * softplus - lb
    })
}

/// The law of `asinh T`, `T ~ t_ν` standard: density `p_t(sinh s) cosh s`.
pub fn asinh_student_law(nu: f64) -> Law {
    let c = ln_gamma(0.5 * (nu + 1.0)) - ln_gamma(0.5 * nu) - 0.5 * (nu * PI).ln();
    let reach = 45.0 / nu + 10.0;
    Law::tabulate(-reach, reach, 0.01, 0.0, |s: f64| {
        let t = s.sinh();
        c - 0.5 * (nu + 1.0) * (t * t / nu).ln_1p() + s.cosh().ln()
    })
}

/// The law of `ξ ~ von Mises(0, κ)` on `[−π, π]`.
pub fn von_mises_law(kappa: f64) -> Law {
    let (i0e, _) = scaled_bessel_pair(kappa);
    let ln_norm = (2.0 * PI * i0e).ln();
    let panel = (0.05 / kappa.sqrt()).min(0.01);
    Law::tabulate(-PI, PI, panel, 0.0, |x| kappa * (x.cos() - 1.0) - ln_norm)
}
