//! The same distribution with its parameters cut off the autodiff graph.

use crate::distributions::{
    Bernoulli, Beta, Categorical, Chi2, Dirichlet, Distribution, Exponential, Gamma, Gumbel,
    Laplace, LogNormal, Logistic, MultivariateNormal, Normal, OneHotCategorical, RelaxedBernoulli,
    RelaxedOneHotCategorical, StudentT, Uniform, VonMises,
};

/// A distribution that can be rebuilt from detached parameters: the same law, whose
/// `log_prob` carries no gradient to the parameters, only to the value it is evaluated at.
///
/// This is the stop-gradient `ln q_{sg(φ)}(z)` of "sticking the landing" and of the doubly
/// reparameterized estimators: with `z = g_φ(ε)` the total derivative of
/// `ln q_{sg(φ)}(g_φ(ε))` keeps the path through the sample and drops the score term
/// `∂ ln q_φ(z)/∂φ`, whose expectation is zero but whose variance is not.
///
/// Implemented for every family of the crate (the implicit families Gamma, Chi2, Beta,
/// Dirichlet, Student-t and von Mises included: their samples carry the implicit gradient, so
/// DReG and STL work with them as proposals); implement it for a family of your own to use it with [`ImportanceWeighted`](super::ImportanceWeighted).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Distribution, Normal};
/// use mcgrad::estimators::multisample::DetachParameters;
///
/// let device = Device::flex().autodiff();
/// let loc = Tensor::<2>::from_floats([[0.5]], &device).require_grad();
/// let q = Normal::new(loc.clone(), Tensor::<2>::from_floats([[1.0]], &device))?;
/// let z = Tensor::<2>::from_floats([[1.5]], &device).require_grad();
/// let lp = q.detach_parameters().log_prob(&z)?;
/// let grads = lp.sum().backward();
/// assert!(loc.grad(&grads).is_none()); // no path to the parameters
/// assert_eq!(z.grad(&grads).unwrap().into_scalar::<f32>(), -1.0); // −(z − μ)/σ²
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub trait DetachParameters<const D: usize>: Distribution<D> + Sized {
    /// The same distribution with every parameter detached.
    fn detach_parameters(&self) -> Self;
}

/// Rebuilding from parameters that were valid cannot fail: shapes are unchanged.
const SAME_SHAPES: &str = "detached parameters have the shapes of valid ones";

impl<const D: usize> DetachParameters<D> for Normal<D> {
    fn detach_parameters(&self) -> Self {
        Normal::new_unchecked(self.loc().clone().detach(), self.scale().clone().detach())
            .expect(SAME_SHAPES)
    }
}

/// The location-scale families other than the normal: the same two parameters, detached.
macro_rules! detach_loc_scale {
    ($($family:ident),*) => {$(
        impl<const D: usize> DetachParameters<D> for $family<D> {
            fn detach_parameters(&self) -> Self {
                $family::new_unchecked(self.loc().clone().detach(), self.scale().clone().detach())
                    .expect(SAME_SHAPES)
            }
        }
    )*};
}

detach_loc_scale!(Laplace, Logistic, Gumbel);

impl<const D: usize> DetachParameters<D> for Gamma<D> {
    fn detach_parameters(&self) -> Self {
        Gamma::new_unchecked(
            self.concentration().clone().detach(),
            self.rate().clone().detach(),
        )
        .expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for Chi2<D> {
    fn detach_parameters(&self) -> Self {
        Chi2::new_unchecked(self.df().clone().detach()).expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for Beta<D> {
    fn detach_parameters(&self) -> Self {
        Beta::new_unchecked(self.a().clone().detach(), self.b().clone().detach())
            .expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for Dirichlet<D> {
    fn detach_parameters(&self) -> Self {
        Dirichlet::new_unchecked(self.concentration().clone().detach()).expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for StudentT<D> {
    fn detach_parameters(&self) -> Self {
        StudentT::new_unchecked(
            self.df().clone().detach(),
            self.loc().clone().detach(),
            self.scale().clone().detach(),
        )
        .expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for VonMises<D> {
    fn detach_parameters(&self) -> Self {
        VonMises::new_unchecked(
            self.loc().clone().detach(),
            self.concentration().clone().detach(),
        )
        .expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for LogNormal<D> {
    fn detach_parameters(&self) -> Self {
        let base = self.base();
        LogNormal::new_unchecked(base.loc().clone().detach(), base.scale().clone().detach())
            .expect(SAME_SHAPES)
    }
}

impl DetachParameters<2> for MultivariateNormal {
    fn detach_parameters(&self) -> Self {
        MultivariateNormal::new_unchecked(
            self.loc().clone().detach(),
            self.scale_tril().clone().detach(),
        )
        .expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for Exponential<D> {
    fn detach_parameters(&self) -> Self {
        Exponential::new_unchecked(self.rate().clone().detach()).expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for Uniform<D> {
    fn detach_parameters(&self) -> Self {
        Uniform::new_unchecked(self.low().clone().detach(), self.high().clone().detach())
            .expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for RelaxedBernoulli<D> {
    fn detach_parameters(&self) -> Self {
        RelaxedBernoulli::new_unchecked(self.logits().clone().detach(), self.temperature())
            .expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for RelaxedOneHotCategorical<D> {
    fn detach_parameters(&self) -> Self {
        RelaxedOneHotCategorical::new_unchecked(self.logits().clone().detach(), self.temperature())
            .expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for Bernoulli<D> {
    fn detach_parameters(&self) -> Self {
        Bernoulli::from_logits_unchecked(self.logits().clone().detach()).expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for Categorical<D> {
    fn detach_parameters(&self) -> Self {
        Categorical::from_logits_unchecked(self.log_probs().clone().detach()).expect(SAME_SHAPES)
    }
}

impl<const D: usize> DetachParameters<D> for OneHotCategorical<D> {
    fn detach_parameters(&self) -> Self {
        OneHotCategorical::from_logits_unchecked(self.categorical().log_probs().clone().detach())
            .expect(SAME_SHAPES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::Reparameterized;
    use crate::rng::NoiseSource;
    use burn::prelude::*;

    /// Detached families give the same log-densities, and no gradient to the parameters.
    #[test]
    fn detached_log_densities_are_equal_and_carry_no_parameter_gradient() {
        let device = Device::flex().autodiff();
        let loc = Tensor::<2>::from_floats([[0.3, -1.0]], &device).require_grad();
        let scale = Tensor::<2>::from_floats([[0.7, 2.0]], &device).require_grad();
        let q = Normal::new(loc.clone(), scale.clone()).unwrap();
        let mut noise = NoiseSource::seed_from_u64(3);
        let z = q.sample(&mut noise);
        let a = q.log_prob(&z).unwrap().try_into_vec_as::<f32>().unwrap();
        let d = q.detach_parameters();
        let lp = d.log_prob(&z).unwrap();
        assert_eq!(lp.clone().try_into_vec_as::<f32>().unwrap(), a);
        let grads = lp.sum().backward();
        assert!(loc.grad(&grads).is_none() && scale.grad(&grads).is_none());
        // the sample path survives: d/dμ ln q_sg(μ + σε) = −ε/σ
        let eps = q.draw_noise(&mut noise);
        let y = q.transform_noise(eps.clone());
        let grads = d.log_prob(&y).unwrap().sum().backward();
        let g = loc.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
        let e = eps.try_into_vec_as::<f32>().unwrap();
        assert!((g[0] + e[0] / 0.7).abs() < 1e-5 && (g[1] + e[1] / 2.0).abs() < 1e-5);
    }

    /// Every family that can be a proposal: the detached log-density equals the original one
    /// bit for bit and no gradient reaches the parameters (a parameter that keeps its gradient
    /// is the negative control, checked on the original distribution).
    #[test]
    fn every_family_detaches_all_its_parameters() {
        let device = Device::flex().autodiff();
        let p = |v: [f32; 2]| Tensor::<2>::from_floats([v], &device).require_grad();
        fn check<Q: DetachParameters<2>>(q: Q, params: &[Tensor<2>]) {
            let mut noise = NoiseSource::seed_from_u64(5);
            let z = q.sample(&mut noise);
            let lp = q.log_prob(&z).unwrap();
            let grads = lp.clone().sum().backward();
            assert!(params.iter().any(|t| t.grad(&grads).is_some()), "control");
            let d = q.detach_parameters();
            let ld = d.log_prob(&z).unwrap();
            assert_eq!(
                ld.clone().try_into_vec_as::<f32>().unwrap(),
                lp.try_into_vec_as::<f32>().unwrap()
            );
            let grads = ld.sum().backward();
            assert!(params.iter().all(|t| t.grad(&grads).is_none()));
        }
        let (a, b, c) = (p([0.3, -1.0]), p([0.7, 2.0]), p([3.0, 5.0]));
        let abc = [a.clone(), b.clone(), c.clone()];
        check(Laplace::new(a.clone(), b.clone()).unwrap(), &abc);
        check(Logistic::new(a.clone(), b.clone()).unwrap(), &abc);
        check(Gumbel::new(a.clone(), b.clone()).unwrap(), &abc);
        check(Gamma::new(b.clone(), c.clone()).unwrap(), &abc);
        check(Chi2::new(c.clone()).unwrap(), &abc);
        check(Beta::new(b.clone(), c.clone()).unwrap(), &abc);
        check(Dirichlet::new(c.clone()).unwrap(), &abc);
        check(
            StudentT::new(c.clone(), a.clone(), b.clone()).unwrap(),
            &abc,
        );
        check(VonMises::new(a.clone(), c.clone()).unwrap(), &abc);
    }
}
