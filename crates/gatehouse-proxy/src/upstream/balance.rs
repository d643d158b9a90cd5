//! Endpoint selection among the healthy endpoints of a pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gatehouse_config::Balance;
use rand::Rng;

use super::Endpoint;

/// Picks an endpoint for each request.
#[derive(Debug)]
pub struct Balancer {
    kind: Balance,
    next: AtomicUsize,
}

impl Balancer {
    /// A balancer of the configured kind.
    pub fn new(kind: Balance) -> Self {
        Balancer {
            kind,
            next: AtomicUsize::new(0),
        }
    }

    /// Picks one of `healthy`, or `None` if it is empty.
    pub fn pick<'a>(&self, healthy: &[&'a Arc<Endpoint>]) -> Option<&'a Arc<Endpoint>> {
        match (healthy.len(), self.kind) {
            (0, _) => None,
            (1, _) => Some(healthy[0]),
            (n, Balance::RoundRobin) => {
                Some(healthy[self.next.fetch_add(1, Ordering::Relaxed) % n])
            }
            (n, Balance::PowerOfTwoChoices) => {
                let mut rng = rand::rng();
                let a = rng.random_range(0..n);
                // A second index distinct from the first, uniformly.
                let b = (a + rng.random_range(1..n)) % n;
                let (ea, eb) = (healthy[a], healthy[b]);
                Some(if eb.in_flight() < ea.in_flight() {
                    eb
                } else {
                    ea
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(n: u16) -> Vec<Arc<Endpoint>> {
        (0..n)
            .map(|i| {
                Arc::new(Endpoint::new(
                    format!("127.0.0.1:{}", 1000 + i).parse().unwrap(),
                ))
            })
            .collect()
    }

    #[test]
    fn round_robin_visits_each_in_turn() {
        let eps = endpoints(3);
        let refs: Vec<&Arc<Endpoint>> = eps.iter().collect();
        let b = Balancer::new(Balance::RoundRobin);
        let picks: Vec<u16> = (0..6)
            .map(|_| b.pick(&refs).unwrap().authority.port_u16().unwrap())
            .collect();
        assert_eq!(picks, [1000, 1001, 1002, 1000, 1001, 1002]);
    }

    #[test]
    fn p2c_avoids_the_loaded_endpoint() {
        let eps = endpoints(2);
        let _busy: Vec<_> = (0..5).map(|_| eps[0].start()).collect();
        let refs: Vec<&Arc<Endpoint>> = eps.iter().collect();
        let b = Balancer::new(Balance::PowerOfTwoChoices);
        for _ in 0..50 {
            assert_eq!(b.pick(&refs).unwrap().authority.port_u16(), Some(1001));
        }
    }

    #[test]
    fn empty() {
        let b = Balancer::new(Balance::RoundRobin);
        assert!(b.pick(&[]).is_none());
    }
}
