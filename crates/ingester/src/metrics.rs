//! The ingester's metrics, read from its state at scrape time so the push path only touches
//! atomics. Names are Mimir's, so its dashboards and alerts work.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::ingester::Ingester;

/// Exports `cortex_ingester_*` for one ingester.
#[derive(Debug)]
pub struct IngesterCollector {
    ingester: Ingester,
}

impl IngesterCollector {
    /// Returns a collector over `ingester`.
    pub fn new(ingester: Ingester) -> Self {
        Self { ingester }
    }
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: f64,
) -> Result<(), std::fmt::Error> {
    ConstGauge::new(value).encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    ConstCounter::new(value).encode(encoder.encode_descriptor(
        name,
        help,
        None,
        MetricType::Counter,
    )?)
}

impl Collector for IngesterCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let ingester = &self.ingester;
        let tenants = ingester.tenants();
        gauge(
            &mut encoder,
            "cortex_ingester_memory_series",
            "The current number of series in memory.",
            ingester.series_in_memory() as f64,
        )?;
        gauge(
            &mut encoder,
            "cortex_ingester_memory_users",
            "The current number of tenants with a TSDB in memory.",
            tenants.len() as f64,
        )?;
        gauge(
            &mut encoder,
            "cortex_ingester_inflight_push_requests",
            "Push requests being handled by the ingester now.",
            ingester.inflight_pushes() as f64,
        )?;
        gauge(
            &mut encoder,
            "cortex_ingester_ingestion_rate_samples_per_second",
            "Samples per second the ingester stores (smoothed).",
            ingester.ingestion_rate(),
        )?;
        let (created, removed) = ingester.series_created_removed();
        counter(
            &mut encoder,
            "cortex_ingester_memory_series_created",
            "Series created in memory.",
            created,
        )?;
        counter(
            &mut encoder,
            "cortex_ingester_memory_series_removed",
            "Series removed from memory.",
            removed,
        )?;
        let (appended, failed) = ingester.samples_totals();
        counter(
            &mut encoder,
            "cortex_ingester_ingested_samples",
            "Samples stored by the ingester.",
            appended,
        )?;
        counter(
            &mut encoder,
            "cortex_ingester_ingested_samples_failures",
            "Samples the ingester refused.",
            failed,
        )?;
        if ingester.config().active_series_metrics_enabled {
            let mut family = encoder.encode_descriptor(
                "cortex_ingester_active_series",
                "Series that received a sample within the active-series idle timeout, per tenant.",
                None,
                MetricType::Gauge,
            )?;
            for tenant in &tenants {
                let labels = [("user", tenant.tenant())];
                ConstGauge::new(tenant.active_series() as f64)
                    .encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "norn_ingester_tenant_series",
            "Series in memory per tenant.",
            None,
            MetricType::Gauge,
        )?;
        for tenant in &tenants {
            let labels = [("user", tenant.tenant())];
            ConstGauge::new(tenant.series() as f64).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
