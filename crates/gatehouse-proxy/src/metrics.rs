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

    /// Counts an answered request.
    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        let status_class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                status_class,
            })
            .inc();
        self.duration
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
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
