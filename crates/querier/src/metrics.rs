//! The querier's own metrics: PromQL queries by endpoint and outcome, their duration, how
//! many evaluate or wait for a slot right now, and how many were abandoned by their client.
//!
//! | metric | type | meaning |
//! | --- | --- | --- |
//! | `norn_querier_queries_total{endpoint, status}` | counter | answered queries; `status` is `success` or the Prometheus `errorType` |
//! | `norn_querier_query_duration_seconds{endpoint}` | histogram | evaluation time, queueing excluded |
//! | `norn_querier_queries_canceled_total` | counter | queries whose client went away before the answer; their evaluation is canceled |
//! | `norn_querier_inflight_queries` | gauge | queries evaluating now (until their evaluation really stops) |
//! | `norn_querier_queued_queries` | gauge | queries waiting for one of the `-querier.max-concurrent` slots |

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of the query counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueryOutcome {
    /// `query` or `query_range`.
    pub endpoint: String,
    /// `success` or the error type (`bad_data`, `execution`, `timeout`, ...).
    pub status: String,
}

/// Labels of the duration histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabel {
    /// `query` or `query_range`.
    pub endpoint: String,
}

type HistogramFamily = Family<EndpointLabel, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
    ])
}

/// The querier's metrics; cheap to clone (every clone updates the same series).
#[derive(Clone, Debug)]
pub struct QuerierMetrics {
    queries: Family<QueryOutcome, Counter>,
    duration: HistogramFamily,
    canceled: Counter,
    inflight: Gauge,
    queued: Gauge,
}

impl Default for QuerierMetrics {
    fn default() -> Self {
        Self {
            queries: Family::default(),
            duration: HistogramFamily::new_with_constructor(duration_histogram),
            canceled: Counter::default(),
            inflight: Gauge::default(),
            queued: Gauge::default(),
        }
    }
}

impl QuerierMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "norn_querier_queries",
            "PromQL queries answered, by endpoint and outcome",
            metrics.queries.clone(),
        );
        registry.register(
            "norn_querier_query_duration_seconds",
            "Time spent evaluating PromQL queries, waiting for a slot excluded",
            metrics.duration.clone(),
        );
        registry.register(
            "norn_querier_queries_canceled",
            "PromQL queries abandoned by their client before the answer; their evaluation is canceled",
            metrics.canceled.clone(),
        );
        registry.register(
            "norn_querier_inflight_queries",
            "PromQL queries evaluating now",
            metrics.inflight.clone(),
        );
        registry.register(
            "norn_querier_queued_queries",
            "PromQL queries waiting for an evaluation slot (-querier.max-concurrent)",
            metrics.queued.clone(),
        );
        metrics
    }

    /// Counts an answered query.
    pub fn observe(&self, endpoint: &str, status: &str, seconds: Option<f64>) {
        self.queries
            .get_or_create(&QueryOutcome {
                endpoint: endpoint.to_owned(),
                status: status.to_owned(),
            })
            .inc();
        if let Some(seconds) = seconds {
            self.duration
                .get_or_create(&EndpointLabel {
                    endpoint: endpoint.to_owned(),
                })
                .observe(seconds);
        }
    }

    /// Counts a query its client abandoned.
    pub fn canceled(&self) {
        self.canceled.inc();
    }

    /// Returns how many queries were abandoned by their client.
    pub fn canceled_count(&self) -> u64 {
        self.canceled.get()
    }

    /// Returns how many queries evaluate now.
    pub fn inflight_count(&self) -> i64 {
        self.inflight.get()
    }

    /// Returns how many queries wait for a slot now.
    pub fn queued_count(&self) -> i64 {
        self.queued.get()
    }

    /// Returns how many queries with `endpoint` ended with `status`.
    pub fn query_count(&self, endpoint: &str, status: &str) -> u64 {
        self.queries
            .get_or_create(&QueryOutcome {
                endpoint: endpoint.to_owned(),
                status: status.to_owned(),
            })
            .get()
    }

    /// Marks one query evaluating until the returned guard is dropped.
    pub(crate) fn evaluating(&self) -> GaugeGuard {
        GaugeGuard::new(self.inflight.clone())
    }

    /// Marks one query waiting for a slot until the returned guard is dropped.
    pub(crate) fn queued(&self) -> GaugeGuard {
        GaugeGuard::new(self.queued.clone())
    }
}

/// Holds a gauge one higher while alive.
#[derive(Debug)]
pub(crate) struct GaugeGuard(Gauge);

impl GaugeGuard {
    fn new(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::*;

    #[test]
    fn metrics_are_exposed_with_their_names() {
        let mut registry = Registry::default();
        let metrics = QuerierMetrics::new(&mut registry);
        metrics.observe("query", "success", Some(0.2));
        metrics.canceled();
        let guard = metrics.evaluating();
        assert_eq!(metrics.inflight_count(), 1);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for expected in [
            r#"norn_querier_queries_total{endpoint="query",status="success"} 1"#,
            "norn_querier_queries_canceled_total 1",
            "norn_querier_inflight_queries 1",
            "norn_querier_queued_queries 0",
            r#"norn_querier_query_duration_seconds_count{endpoint="query"} 1"#,
        ] {
            assert!(text.contains(expected), "{expected} missing:\n{text}");
        }
        drop(guard);
        assert_eq!(metrics.inflight_count(), 0);
        assert_eq!(metrics.query_count("query", "success"), 1);
    }
}
