mod common;
use burn::prelude::*;
use mcgrad::distributions::{
    Bernoulli, Categorical, Exponential, Laplace, LogNormal, Normal, Uniform,
};
use mcgrad::kl::kl_divergence;

fn one(v: f32) -> Tensor<2> {
    Tensor::<2>::from_floats([[v]], &common::device().autodiff()).require_grad()
}
macro_rules! rep {
    ($what:expr, $kl:expr, $($p:expr),*) => {{
        let kl: Tensor<2> = $kl;
        let v = common::values(kl.clone().inner());
        let grads = kl.sum().backward();
        let g: Vec<Vec<f64>> = vec![$($p.grad(&grads).map(common::values).unwrap_or_default()),*];
        if v.iter().any(|x| x.is_nan()) || g.iter().flatten().any(|x| !x.is_finite()) {
            eprintln!("BAD {}: {:?} {:?}", $what, v, g);
        }
    }};
}

#[test]
fn probe() {
    let scales = [1.2e-38f32, 1e-30, 1e-10, 1.0, 1e10, 1e19];
    let locs = [0.0f32, 1.0, -1e30, 1e30, f32::MAX];
    for &s1 in &scales {
        for &s2 in &scales {
            for &m1 in &locs {
                for &m2 in &[0.0f32, 1.0] {
                    let (a, b, c, d) = (one(m1), one(s1), one(m2), one(s2));
                    if let (Ok(p), Ok(q)) = (
                        Normal::new(a.clone(), b.clone()),
                        Normal::new(c.clone(), d.clone()),
                    ) {
                        rep!(
                            format!("Normal({m1},{s1}||{m2},{s2})"),
                            kl_divergence(&p, &q).unwrap(),
                            a,
                            b,
                            c,
                            d
                        );
                    }
                    let (a, b, c, d) = (one(m1), one(s1), one(m2), one(s2));
                    if let (Ok(p), Ok(q)) = (
                        Laplace::new(a.clone(), b.clone()),
                        Laplace::new(c.clone(), d.clone()),
                    ) {
                        rep!(
                            format!("Laplace({m1},{s1}||{m2},{s2})"),
                            kl_divergence(&p, &q).unwrap(),
                            a,
                            b,
                            c,
                            d
                        );
                    }
                    let (a, b, c, d) = (
                        one(m1.clamp(-80.0, 80.0)),
                        one(s1.min(80.0)),
                        one(m2),
                        one(s2.min(80.0)),
                    );
                    if let (Ok(p), Ok(q)) = (
                        LogNormal::new(a.clone(), b.clone()),
                        LogNormal::new(c.clone(), d.clone()),
                    ) {
                        rep!(
                            format!("LogNormal({m1},{s1}||{m2},{s2})"),
                            kl_divergence(&p, &q).unwrap(),
                            a,
                            b,
                            c,
                            d
                        );
                    }
                }
            }
        }
        let (b, d) = (one(s1), one(1.0));
        if let (Ok(p), Ok(q)) = (Exponential::new(b.clone()), Exponential::new(d.clone())) {
            rep!(format!("Exp({s1})"), kl_divergence(&p, &q).unwrap(), b, d);
        }
    }
    let logits = [
        -1e30f32,
        -1e10,
        -80.0,
        -10.0,
        0.0,
        10.0,
        80.0,
        1e10,
        1e30,
        f32::MAX,
    ];
    for &l1 in &logits {
        for &l2 in &logits {
            let (a, c) = (one(l1), one(l2));
            if let (Ok(p), Ok(q)) = (
                Bernoulli::from_logits(a.clone()),
                Bernoulli::from_logits(c.clone()),
            ) {
                rep!(
                    format!("Bern({l1}||{l2})"),
                    kl_divergence(&p, &q).unwrap(),
                    a,
                    c
                );
            }
            let dev = common::device().autodiff();
            let a = Tensor::<2>::from_floats([[l1, 0.0, -3.0]], &dev).require_grad();
            let c = Tensor::<2>::from_floats([[l2, 1.0, 0.0]], &dev).require_grad();
            if let (Ok(p), Ok(q)) = (
                Categorical::from_logits(a.clone()),
                Categorical::from_logits(c.clone()),
            ) {
                rep!(
                    format!("Cat({l1}||{l2})"),
                    kl_divergence(&p, &q).unwrap(),
                    a,
                    c
                );
            }
        }
    }
    for &(l1, h1, l2, h2) in &[
        (0.0f32, 1.0f32, -1.0f32, 2.0f32),
        (-f32::MAX, f32::MAX, -f32::MAX, f32::MAX),
        (0.0, 1e-30, 0.0, 1e30),
        (1.0, 1.0 + 1e-7, 0.0, 2.0),
    ] {
        let (a, b, c, d) = (one(l1), one(h1), one(l2), one(h2));
        if let (Ok(p), Ok(q)) = (
            Uniform::new(a.clone(), b.clone()),
            Uniform::new(c.clone(), d.clone()),
        ) {
            rep!(
                format!("Unif({l1},{h1}||{l2},{h2})"),
                kl_divergence(&p, &q).unwrap(),
                a,
                b,
                c,
                d
            );
        }
    }
}
