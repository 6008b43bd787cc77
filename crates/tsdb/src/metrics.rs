//! The engine's metrics: a snapshot of one TSDB's counters ([`DbStats`]) and a
//! prometheus-client collector that sums the snapshots of every open TSDB at scrape time.
//!
//! Summing at scrape time keeps the append path free of metric updates beyond the atomic
//! counters the head and WAL already keep, and lets the ingester (one TSDB per tenant) export
//! one set of series for all tenants. Names follow Prometheus's own `prometheus_tsdb_*`
//! metrics with the prefix `norn_tsdb_` (`docs/tsdb.md` lists them).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::db::Db;

/// A point-in-time copy of a TSDB's counters and sizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DbStats {
    /// Series in the head.
    pub head_series: u64,
    /// Chunks in the head (completed and open).
    pub head_chunks: u64,
    /// Series created in the head.
    pub head_series_created: u64,
    /// Series removed from the head by garbage collection.
    pub head_series_removed: u64,
    /// Samples appended to the head.
    pub head_samples_appended: u64,
    /// Samples rejected as out of order.
    pub out_of_order_samples: u64,
    /// Samples rejected for a duplicate timestamp with another value.
    pub duplicate_samples: u64,
    /// Samples rejected as out of bounds.
    pub out_of_bounds_samples: u64,
    /// Head chunks created.
    pub head_chunks_created: u64,
    /// Head chunks removed by truncation.
    pub head_chunks_removed: u64,
    /// Head truncations.
    pub head_truncations: u64,
    /// Blocks on disk.
    pub blocks: u64,
    /// Blocks cut from the head.
    pub compactions: u64,
    /// Failed head compactions.
    pub compaction_failures: u64,
    /// WAL tails repaired on open.
    pub wal_corruptions: u64,
    /// WAL records written.
    pub wal_records_written: u64,
    /// WAL bytes written (framed, after compression).
    pub wal_bytes_written: u64,
    /// WAL fsyncs.
    pub wal_fsyncs: u64,
    /// WAL segments created.
    pub wal_segments_created: u64,
    /// WAL truncations (segments deleted after a checkpoint).
    pub wal_truncations: u64,
    /// WAL checkpoints written.
    pub wal_checkpoints: u64,
    /// WAL checkpoints that failed.
    pub wal_checkpoint_failures: u64,
    /// WAL write or fsync failures.
    pub wal_write_failures: u64,
}

impl DbStats {
    /// Adds another TSDB's figures to these.
    pub fn add(&mut self, other: &DbStats) {
        let pairs: [(&mut u64, u64); 23] = [
            (&mut self.head_series, other.head_series),
            (&mut self.head_chunks, other.head_chunks),
            (&mut self.head_series_created, other.head_series_created),
            (&mut self.head_series_removed, other.head_series_removed),
            (&mut self.head_samples_appended, other.head_samples_appended),
            (&mut self.out_of_order_samples, other.out_of_order_samples),
            (&mut self.duplicate_samples, other.duplicate_samples),
            (&mut self.out_of_bounds_samples, other.out_of_bounds_samples),
            (&mut self.head_chunks_created, other.head_chunks_created),
            (&mut self.head_chunks_removed, other.head_chunks_removed),
            (&mut self.head_truncations, other.head_truncations),
            (&mut self.blocks, other.blocks),
            (&mut self.compactions, other.compactions),
            (&mut self.compaction_failures, other.compaction_failures),
            (&mut self.wal_corruptions, other.wal_corruptions),
            (&mut self.wal_records_written, other.wal_records_written),
            (&mut self.wal_bytes_written, other.wal_bytes_written),
            (&mut self.wal_fsyncs, other.wal_fsyncs),
            (&mut self.wal_segments_created, other.wal_segments_created),
            (&mut self.wal_truncations, other.wal_truncations),
            (&mut self.wal_checkpoints, other.wal_checkpoints),
            (
                &mut self.wal_checkpoint_failures,
                other.wal_checkpoint_failures,
            ),
            (&mut self.wal_write_failures, other.wal_write_failures),
        ];
        for (mine, theirs) in pairs {
            *mine = mine.saturating_add(theirs);
        }
    }
}

impl Db {
    /// Returns a snapshot of the TSDB's counters and sizes.
    pub fn stats(&self) -> DbStats {
        let head = self.head().counters();
        let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        let own = self.counters();
        let wal = self.wal().stats();
        let chunks_created = load(&head.chunks_created);
        let chunks_removed = load(&head.chunks_removed);
        DbStats {
            head_series: self.head().num_series(),
            head_chunks: chunks_created.saturating_sub(chunks_removed),
            head_series_created: load(&head.series_created),
            head_series_removed: load(&head.series_removed),
            head_samples_appended: load(&head.samples_appended),
            out_of_order_samples: load(&head.out_of_order_samples),
            duplicate_samples: load(&head.duplicate_samples),
            out_of_bounds_samples: load(&head.out_of_bounds_samples),
            head_chunks_created: chunks_created,
            head_chunks_removed: chunks_removed,
            head_truncations: load(&head.truncations),
            blocks: self.blocks().len() as u64,
            compactions: load(&own.head_compactions),
            compaction_failures: load(&own.head_compaction_failures),
            wal_corruptions: load(&own.wal_corruptions),
            wal_records_written: wal.records_written,
            wal_bytes_written: wal.bytes_written,
            wal_fsyncs: wal.fsyncs,
            wal_segments_created: wal.segments_created,
            wal_truncations: wal.truncations,
            wal_checkpoints: load(&own.wal_checkpoints),
            wal_checkpoint_failures: load(&own.wal_checkpoint_failures),
            wal_write_failures: wal.write_failures + wal.fsync_failures,
        }
    }
}

/// Where the collector finds the TSDBs to report: called at every scrape.
pub type DbSource = Arc<dyn Fn() -> Vec<Arc<Db>> + Send + Sync>;

/// Exports the summed [`DbStats`] of every TSDB `source` returns.
pub struct TsdbCollector {
    source: DbSource,
}

impl std::fmt::Debug for TsdbCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsdbCollector").finish_non_exhaustive()
    }
}

impl TsdbCollector {
    /// Returns a collector over the TSDBs `source` lists.
    pub fn new(source: DbSource) -> Self {
        Self { source }
    }

    /// Returns the summed stats of every TSDB now.
    pub fn totals(&self) -> DbStats {
        let mut total = DbStats::default();
        for db in (self.source)() {
            total.add(&db.stats());
        }
        total
    }
}

/// Gauges: (name, help, value).
type Row = (&'static str, &'static str, u64);

impl Collector for TsdbCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = self.totals();
        let gauges: [Row; 3] = [
            ("norn_tsdb_head_series", "Series in the head", s.head_series),
            ("norn_tsdb_head_chunks", "Chunks in the head", s.head_chunks),
            ("norn_tsdb_blocks_loaded", "Blocks on local disk", s.blocks),
        ];
        for (name, help, value) in gauges {
            let value = i64::try_from(value).unwrap_or(i64::MAX);
            ConstGauge::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }
        let counters: [Row; 20] = [
            (
                "norn_tsdb_head_series_created",
                "Series created in the head",
                s.head_series_created,
            ),
            (
                "norn_tsdb_head_series_removed",
                "Series removed from the head",
                s.head_series_removed,
            ),
            (
                "norn_tsdb_head_samples_appended",
                "Samples appended to the head",
                s.head_samples_appended,
            ),
            (
                "norn_tsdb_out_of_order_samples",
                "Samples rejected as out of order",
                s.out_of_order_samples,
            ),
            (
                "norn_tsdb_duplicate_samples",
                "Samples rejected for a duplicate timestamp with another value",
                s.duplicate_samples,
            ),
            (
                "norn_tsdb_out_of_bounds_samples",
                "Samples rejected as older than the head accepts",
                s.out_of_bounds_samples,
            ),
            (
                "norn_tsdb_head_chunks_created",
                "Head chunks created",
                s.head_chunks_created,
            ),
            (
                "norn_tsdb_head_chunks_removed",
                "Head chunks removed by truncation",
                s.head_chunks_removed,
            ),
            (
                "norn_tsdb_head_truncations",
                "Head truncations",
                s.head_truncations,
            ),
            (
                "norn_tsdb_compactions",
                "Blocks cut from the head",
                s.compactions,
            ),
            (
                "norn_tsdb_compactions_failed",
                "Head compactions that failed",
                s.compaction_failures,
            ),
            (
                "norn_tsdb_wal_corruptions",
                "WAL tails repaired on open",
                s.wal_corruptions,
            ),
            (
                "norn_tsdb_wal_records_written",
                "WAL records written",
                s.wal_records_written,
            ),
            (
                "norn_tsdb_wal_bytes_written",
                "WAL bytes written",
                s.wal_bytes_written,
            ),
            ("norn_tsdb_wal_fsyncs", "WAL fsyncs", s.wal_fsyncs),
            (
                "norn_tsdb_wal_segments_created",
                "WAL segments created",
                s.wal_segments_created,
            ),
            (
                "norn_tsdb_wal_truncations",
                "WAL truncations",
                s.wal_truncations,
            ),
            (
                "norn_tsdb_checkpoint_creations",
                "WAL checkpoints written",
                s.wal_checkpoints,
            ),
            (
                "norn_tsdb_checkpoint_creations_failed",
                "WAL checkpoints that failed",
                s.wal_checkpoint_failures,
            ),
            (
                "norn_tsdb_wal_write_failures",
                "WAL write or fsync failures",
                s.wal_write_failures,
            ),
        ];
        for (name, help, value) in counters {
            ConstCounter::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Counter,
            )?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::registry::Registry;

    use super::*;
    use crate::db::DbOptions;
    use norn_model::labels::Labels;

    #[test]
    fn collector_sums_every_tsdb() {
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let dbs: Vec<Arc<Db>> = dirs
            .iter()
            .map(|dir| Arc::new(Db::open(dir.path(), DbOptions::default()).unwrap()))
            .collect();
        for (index, db) in dbs.iter().enumerate() {
            let mut appender = db.appender();
            for series in 0..=index {
                let labels = Labels::new([("__name__", "m"), ("s", &series.to_string())]).unwrap();
                appender.append(&labels, 1000, 1.0).unwrap();
                assert!(appender.append(&labels, 500, 1.0).is_err());
            }
            appender.commit().unwrap();
        }
        let listed = dbs.clone();
        let collector = TsdbCollector::new(Arc::new(move || listed.clone()));
        let totals = collector.totals();
        assert_eq!(totals.head_series, 3);
        assert_eq!(totals.head_samples_appended, 3);
        assert_eq!(totals.out_of_order_samples, 3);
        assert_eq!(totals.head_chunks, 3);
        assert!(
            totals.wal_records_written >= 4,
            "series and samples records of both"
        );

        let mut registry = Registry::default();
        registry.register_collector(Box::new(collector));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("norn_tsdb_head_series 3\n"), "{text}");
        assert!(
            text.contains("norn_tsdb_out_of_order_samples_total 3\n"),
            "{text}"
        );
    }
}
