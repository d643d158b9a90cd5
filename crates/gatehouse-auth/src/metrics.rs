//! Prometheus metrics of edge authentication.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

/// Labels of a key-set or discovery fetch.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FetchLabels {
    /// Provider name.
    pub provider: String,
    /// `jwks` or `discovery`.
    pub document: &'static str,
    /// `success` or `failure`.
    pub outcome: &'static str,
}

/// Labels of a rejection.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReasonLabels {
    /// [`crate::Rejection::reason`].
    pub reason: &'static str,
}

/// Labels of a cache lookup.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct CacheLabels {
    /// `hit` or `miss`.
    pub result: &'static str,
}

/// Milliseconds since the epoch of a provider's last successful key load, 0 if never.
#[derive(Debug, Default)]
pub(crate) struct LoadedAt(AtomicU64);

impl LoadedAt {
    /// Records a successful load now.
    pub fn mark_now(&self) {
        self.0.store(now_millis().max(1), Ordering::Release);
    }

    /// Seconds since the last load, if any.
    pub fn age_seconds(&self) -> Option<f64> {
        let at = self.0.load(Ordering::Acquire);
        (at != 0).then(|| now_millis().saturating_sub(at) as f64 / 1000.0)
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Reports each provider's key-set age at scrape time, so the value is never stale.
#[derive(Debug)]
struct KeyAge {
    providers: Vec<(String, Arc<LoadedAt>)>,
}

impl Collector for KeyAge {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut metric = encoder.encode_descriptor(
            "auth_key_set_age",
            "Time since the provider's keys were last loaded successfully",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        for (name, loaded) in &self.providers {
            if let Some(age) = loaded.age_seconds() {
                let labels = [("provider", name.as_str())];
                ConstGauge::new(age).encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// All metrics; clones share the same series.
#[derive(Debug, Clone, Default)]
pub(crate) struct Metrics {
    /// Key-set and discovery fetches by provider and outcome.
    pub fetches: Family<FetchLabels, Counter>,
    /// Rejections by reason.
    pub rejections: Family<ReasonLabels, Counter>,
    /// Verified-token cache lookups.
    pub cache: Family<CacheLabels, Counter>,
}

impl Metrics {
    /// Counts a fetch.
    pub fn fetch(&self, provider: &str, document: &'static str, ok: bool) {
        let outcome = if ok { "success" } else { "failure" };
        self.fetches
            .get_or_create(&FetchLabels {
                provider: provider.to_owned(),
                document,
                outcome,
            })
            .inc();
    }

    /// Registers every metric, and the key-age collector over `providers`.
    pub fn register(&self, registry: &mut Registry, providers: Vec<(String, Arc<LoadedAt>)>) {
        registry.register(
            "auth_key_fetches",
            "Key-set and discovery document fetches",
            self.fetches.clone(),
        );
        registry.register(
            "auth_rejections",
            "Requests refused by edge authentication",
            self.rejections.clone(),
        );
        registry.register(
            "auth_token_cache_lookups",
            "Verified-token cache lookups",
            self.cache.clone(),
        );
        registry.register_collector(Box::new(KeyAge { providers }));
    }
}
