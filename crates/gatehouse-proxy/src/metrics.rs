//! The gateway's Prometheus metrics.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamErrorLabels {
    upstream: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    result: &'static str,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// One route's request counters (by status class) and latency histogram.
#[derive(Debug, Clone)]
pub struct RouteMetrics {
    classes: [Counter; 5],
    duration: Histogram,
}

impl RouteMetrics {
    /// Counts an answered request.
    pub fn record(&self, status: u16, seconds: f64) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.classes[class].inc();
        self.duration.observe(seconds);
    }
}

/// Handles to every metric the request path updates.
#[derive(Debug, Clone)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    duration: HistogramFamily,
    upstream_errors: Family<UpstreamErrorLabels, Counter>,
    open_connections: Gauge,
    reloads: Family<ReloadLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 100 µs to about 6.5 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

impl Metrics {
    /// Creates the metrics and registers them.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Metrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
            upstream_errors: Family::default(),
            open_connections: Gauge::default(),
            reloads: Family::default(),
        };
        let gatehouse = registry.sub_registry_with_prefix("gatehouse");
        gatehouse.register(
            "requests",
            "Requests answered, by route and status class",
            metrics.requests.clone(),
        );
        gatehouse.register(
            "request_duration_seconds",
            "Time from request head to response head, by route",
            metrics.duration.clone(),
        );
        gatehouse.register(
            "upstream_errors",
            "Failed upstream exchanges, by upstream and kind",
            metrics.upstream_errors.clone(),
        );
        gatehouse.register(
            "open_connections",
            "Client connections currently open",
            metrics.open_connections.clone(),
        );
        gatehouse.register(
            "config_reloads",
            "Configuration reloads, by result",
            metrics.reloads.clone(),
        );
        metrics
    }

    /// Handles to one route's series, resolved once per configuration generation so the
    /// request path never formats, hashes or allocates label sets.
    pub fn for_route(&self, route: &str) -> RouteMetrics {
        let classes = STATUS_CLASSES.map(|status_class| {
            self.requests
                .get_or_create(&RequestLabels {
                    route: route.to_owned(),
                    status_class,
                })
                .clone()
        });
        let duration = self
            .duration
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .clone();
        RouteMetrics { classes, duration }
    }

    /// Counts a failed upstream exchange.
    pub fn upstream_error(&self, upstream: &str, kind: &'static str) {
        self.upstream_errors
            .get_or_create(&UpstreamErrorLabels {
                upstream: upstream.to_owned(),
                kind,
            })
            .inc();
    }

    /// Counts a configuration reload.
    pub fn reload(&self, ok: bool) {
        self.reloads
            .get_or_create(&ReloadLabels {
                result: if ok { "success" } else { "failure" },
            })
            .inc();
    }

    /// Tracks an open client connection until the guard drops.
    pub fn connection_opened(&self) -> ConnectionGauge {
        self.open_connections.inc();
        ConnectionGauge(self.open_connections.clone())
    }
}

/// Decrements the open-connection gauge on drop.
#[derive(Debug)]
pub struct ConnectionGauge(Gauge);

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}
