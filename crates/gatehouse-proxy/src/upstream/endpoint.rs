//! One upstream endpoint: its in-flight count (for least-loaded balancing) and its passive
//! health (consecutive failures eject it for a while).

use std::sync::Arc;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(any(target_os = "linux", target_os = "android")))]
use std::time::Instant;

use gatehouse_config::PassiveHealth;

/// Milliseconds on a monotonic clock, a value that fits in an atomic.
///
/// On Linux it is the kernel's coarse clock: it advances every few milliseconds, which is all
/// that idle, health and keep-alive tracking need, and it is read several times per request at
/// a fraction of the cost of a precise reading.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn now_ms() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
    u64::try_from(now.tv_sec).unwrap_or(0) * 1000
        + u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000_000
}

/// Milliseconds since the first call; a monotonic clock that fits in an atomic.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// An endpoint of an upstream pool.
#[derive(Debug)]
pub struct Endpoint {
    /// `host:port`.
    pub authority: http::uri::Authority,
    /// Unique in the process: the key of this endpoint's idle connections on each thread.
    pub(crate) id: u64,
    in_flight: AtomicUsize,
    consecutive_failures: AtomicU32,
    ejected_until_ms: AtomicU64,
}

impl Endpoint {
    /// A healthy endpoint with nothing in flight.
    pub fn new(authority: http::uri::Authority) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Endpoint {
            authority,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            in_flight: AtomicUsize::new(0),
            consecutive_failures: AtomicU32::new(0),
            ejected_until_ms: AtomicU64::new(0),
        }
    }

    /// Requests currently in flight to this endpoint.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub(crate) fn is_healthy(&self, now_ms: u64) -> bool {
        self.ejected_until_ms.load(Ordering::Relaxed) <= now_ms
    }

    /// Counts a request in flight until the returned guard is dropped.
    pub fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// A successful exchange ends a run of failures.
    pub fn record_success(&self) {
        self.consecutive_failures.store(0, Ordering::Relaxed);
    }

    /// A transport failure; returns true when it ejected the endpoint.
    pub fn record_failure(&self, health: &PassiveHealth) -> bool {
        let failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= health.consecutive_failures {
            self.consecutive_failures.store(0, Ordering::Relaxed);
            let until = now_ms().saturating_add(health.ejection_time.as_millis() as u64);
            self.ejected_until_ms.store(until, Ordering::Relaxed);
            return true;
        }
        false
    }
}

/// Holds one in-flight slot of an endpoint.
#[derive(Debug)]
pub struct InFlight(Arc<Endpoint>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ejects_after_consecutive_failures_only() {
        let e = Endpoint::new(http::uri::Authority::from_static("127.0.0.1:1"));
        let health = PassiveHealth {
            consecutive_failures: 3,
            ejection_time: Duration::from_secs(60),
        };
        assert!(!e.record_failure(&health));
        assert!(!e.record_failure(&health));
        e.record_success();
        assert!(!e.record_failure(&health));
        assert!(!e.record_failure(&health));
        assert!(e.is_healthy(now_ms()));
        assert!(e.record_failure(&health));
        assert!(!e.is_healthy(now_ms()));
        assert!(e.is_healthy(now_ms() + 60_001));
    }

    #[test]
    fn in_flight_guard() {
        let e = Arc::new(Endpoint::new(http::uri::Authority::from_static(
            "127.0.0.1:1",
        )));
        let a = e.start();
        let b = e.start();
        assert_eq!(e.in_flight(), 2);
        drop(a);
        drop(b);
        assert_eq!(e.in_flight(), 0);
    }
}
