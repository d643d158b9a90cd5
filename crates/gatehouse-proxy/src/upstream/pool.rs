//! Idle HTTP/1 upstream connections, kept per thread. A connection's tasks never leave their
//! worker thread, so each worker keeps its own pools, the way Envoy and nginx keep theirs per
//! worker: no lock and no cross-thread wake-up on the request path.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::Weak;
use std::time::Duration;

use tokio::net::TcpStream;

use super::endpoint::{Endpoint, now_ms};

/// How often a thread's pools are swept for connections that expired or were closed by the
/// upstream while nobody used them.
const SWEEP_EVERY_MS: u64 = 1000;

/// A pooled connection.
struct Idle {
    io: TcpStream,
    since_ms: u64,
}

/// The idle connections of one endpoint on this thread.
struct Queue {
    endpoint: Weak<Endpoint>,
    idle_timeout_ms: u64,
    /// Oldest first; taken from the back, so the warmest connection is reused.
    idle: VecDeque<Idle>,
}

impl Queue {
    fn sweep(&mut self, now: u64) {
        let timeout = self.idle_timeout_ms;
        self.idle
            .retain(|c| now.saturating_sub(c.since_ms) < timeout && is_reusable(&c.io));
    }
}

#[derive(Default)]
struct Pools {
    /// foldhash, not SipHash: looked up twice per request, keyed by our own endpoint ids.
    by_endpoint: HashMap<u64, Queue, foldhash::fast::RandomState>,
}

thread_local! {
    static POOLS: RefCell<Pools> = RefCell::new(Pools::default());
    static SWEEPER: Cell<bool> = const { Cell::new(false) };
    static LAST_SWEEP_MS: Cell<u64> = const { Cell::new(0) };
}

/// Whether an idle connection can carry another request: nothing to read (no early close, no
/// stray bytes). Uses the runtime's cached readiness, so the usual answer costs no system call.
fn is_reusable(io: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    matches!(io.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// Takes the most recently used idle connection to `endpoint` on this thread, if one is still
/// good.
pub fn checkout(endpoint: &Endpoint) -> Option<TcpStream> {
    let now = now_ms();
    POOLS
        .try_with(|pools| {
            let mut pools = pools.try_borrow_mut().ok()?;
            let queue = pools.by_endpoint.get_mut(&endpoint.id)?;
            while let Some(idle) = queue.idle.pop_back() {
                if now.saturating_sub(idle.since_ms) >= queue.idle_timeout_ms {
                    // Everything before it is older still.
                    queue.idle.clear();
                    return None;
                }
                if is_reusable(&idle.io) {
                    return Some(idle.io);
                }
            }
            None
        })
        .ok()
        .flatten()
}

/// Returns a connection whose last exchange completed cleanly. Beyond `max_idle` connections
/// for this endpoint on this thread, the oldest is closed.
pub fn checkin(
    endpoint: &std::sync::Arc<Endpoint>,
    io: TcpStream,
    max_idle: usize,
    idle_timeout: Duration,
) {
    if max_idle == 0 {
        return;
    }
    let now = now_ms();
    let stored = POOLS.try_with(|pools| {
        let Ok(mut pools) = pools.try_borrow_mut() else {
            return;
        };
        let queue = pools
            .by_endpoint
            .entry(endpoint.id)
            .or_insert_with(|| Queue {
                endpoint: std::sync::Arc::downgrade(endpoint),
                idle_timeout_ms: idle_timeout.as_millis() as u64,
                idle: VecDeque::new(),
            });
        if queue.idle.len() >= max_idle {
            queue.idle.pop_front();
        }
        queue.idle.push_back(Idle { io, since_ms: now });
    });
    if stored.is_ok() {
        // Traffic sweeps the pools of its own thread as it goes, whatever the runtime; a worker
        // runtime also gets a timer, so that an idle worker closes its connections too.
        let due = LAST_SWEEP_MS
            .try_with(|last| {
                let due = now.saturating_sub(last.get()) >= SWEEP_EVERY_MS;
                if due {
                    last.set(now);
                }
                due
            })
            .unwrap_or(false);
        if due {
            sweep();
        }
        ensure_sweeper();
    }
}

/// Starts this thread's sweeper unless one runs. It lives as long as the runtime it was spawned
/// on; a guard clears the flag when that runtime drops it, so a later runtime starts its own.
fn ensure_sweeper() {
    if SWEEPER.try_with(Cell::get).unwrap_or(true) {
        return;
    }
    // Only where a task cannot leave this thread: on a work-stealing runtime the sweeper could
    // run on (and sweep) any thread, and the lazy sweep above is what keeps pools in check.
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::CurrentThread {
        return;
    }
    let _ = SWEEPER.try_with(|s| s.set(true));
    handle.spawn(async {
        struct Running;
        impl Drop for Running {
            fn drop(&mut self) {
                let _ = SWEEPER.try_with(|s| s.set(false));
            }
        }
        let _running = Running;
        let mut tick = tokio::time::interval(Duration::from_millis(SWEEP_EVERY_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !sweep() {
                return;
            }
        }
    });
}

/// Closes expired and dead connections and forgets endpoints that are gone; false when this
/// thread holds nothing any more, so the sweeper can stop.
fn sweep() -> bool {
    let now = now_ms();
    POOLS
        .try_with(|pools| {
            let Ok(mut pools) = pools.try_borrow_mut() else {
                return true;
            };
            pools.by_endpoint.retain(|_, queue| {
                if queue.endpoint.strong_count() == 0 {
                    return false;
                }
                queue.sweep(now);
                !queue.idle.is_empty()
            });
            !pools.by_endpoint.is_empty()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    /// Idle connections to `endpoint` on this thread.
    fn idle_count(endpoint: &Endpoint) -> usize {
        POOLS
            .try_with(|pools| {
                pools
                    .try_borrow()
                    .ok()
                    .and_then(|p| p.by_endpoint.get(&endpoint.id).map(|q| q.idle.len()))
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    }

    async fn connected(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    fn endpoint(addr: std::net::SocketAddr) -> Arc<Endpoint> {
        Arc::new(Endpoint::new(addr.to_string().parse().unwrap()))
    }

    #[tokio::test]
    async fn reuses_the_warmest_and_caps_the_count() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let e = endpoint(listener.local_addr().unwrap());
        let mut servers = Vec::new();
        let mut ports = Vec::new();
        for _ in 0..3 {
            let (client, server) = connected(&listener).await;
            ports.push(client.local_addr().unwrap().port());
            servers.push(server);
            checkin(&e, client, 2, Duration::from_secs(60));
        }
        assert_eq!(idle_count(&e), 2, "the oldest was closed");
        let warmest = checkout(&e).unwrap();
        assert_eq!(warmest.local_addr().unwrap().port(), ports[2]);
        assert_eq!(checkout(&e).unwrap().local_addr().unwrap().port(), ports[1]);
        assert!(checkout(&e).is_none());
    }

    #[tokio::test]
    async fn a_connection_the_upstream_closed_is_not_reused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let e = endpoint(listener.local_addr().unwrap());
        let (client, server) = connected(&listener).await;
        checkin(&e, client, 4, Duration::from_secs(60));
        drop(server);
        // The close reaches the runtime's readiness once its driver has seen the event.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            tokio::task::yield_now().await;
            let alive =
                POOLS.with_borrow(|p| p.by_endpoint[&e.id].idle.iter().all(|c| is_reusable(&c.io)));
            if !alive {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "close never seen");
        }
        assert!(checkout(&e).is_none());

        let (client, mut server) = connected(&listener).await;
        checkin(&e, client, 4, Duration::from_secs(60));
        server.write_all(b"stray").await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while POOLS.with_borrow(|p| p.by_endpoint[&e.id].idle.iter().all(|c| is_reusable(&c.io))) {
            tokio::task::yield_now().await;
            assert!(
                std::time::Instant::now() < deadline,
                "stray bytes never seen"
            );
        }
        assert!(
            checkout(&e).is_none(),
            "stray bytes make a connection unusable"
        );
    }

    #[tokio::test]
    async fn expired_connections_are_not_reused_and_swept() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let e = endpoint(listener.local_addr().unwrap());
        let (client, _server) = connected(&listener).await;
        checkin(&e, client, 4, Duration::ZERO);
        assert!(checkout(&e).is_none());
        let (client, _server) = connected(&listener).await;
        checkin(&e, client, 4, Duration::ZERO);
        assert!(!sweep(), "nothing left after the sweep");
        assert_eq!(idle_count(&e), 0);
    }

    #[tokio::test]
    async fn pools_of_dropped_endpoints_are_forgotten() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let e = endpoint(listener.local_addr().unwrap());
        let (client, _server) = connected(&listener).await;
        checkin(&e, client, 4, Duration::from_secs(60));
        let id = e.id;
        drop(e);
        sweep();
        assert!(POOLS.with_borrow(|p| !p.by_endpoint.contains_key(&id)));
    }
}
