//! The result of an ingest run: throughput, latency percentiles and failures by HTTP status,
//! printed as text and written as JSON (`--json`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// Latency percentiles of the requests, in milliseconds (successful and failed alike).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest request.
    pub max_ms: f64,
    /// Arithmetic mean.
    pub mean_ms: f64,
}

impl LatencySummary {
    /// Summarises request latencies given in microseconds (sorted in place).
    pub fn from_micros(latencies: &mut [u32]) -> Self {
        if latencies.is_empty() {
            return Self::default();
        }
        latencies.sort_unstable();
        let at = |quantile: f64| {
            // Nearest rank: the smallest latency with at least `quantile` of the requests at
            // or below it.
            let rank = (quantile * latencies.len() as f64).ceil() as usize;
            f64::from(latencies[rank.clamp(1, latencies.len()) - 1]) / 1000.0
        };
        let total: u64 = latencies.iter().map(|micros| u64::from(*micros)).sum();
        Self {
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: at(1.0),
            mean_ms: total as f64 / latencies.len() as f64 / 1000.0,
        }
    }
}

/// Everything `norn-bench loadgen` reports about one ingest run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngestReport {
    /// Remote write URL.
    pub url: String,
    /// Active series.
    pub series: usize,
    /// Scrapes of every series.
    pub scrapes: usize,
    /// Simulated scrape interval in seconds.
    pub interval_seconds: f64,
    /// Series per request.
    pub batch: usize,
    /// Connections that carried requests.
    pub concurrency: usize,
    /// Offered samples per second, `None` when sent as fast as possible.
    pub rate_limit: Option<f64>,
    /// Series replaced per hour of simulated time.
    pub churn_per_hour: u64,
    /// Series replacements churn made during the run.
    pub series_replaced: u64,
    /// Timestamp of the first scrape, Unix milliseconds.
    pub first_timestamp_ms: i64,
    /// Timestamp of the last scrape, Unix milliseconds.
    pub last_timestamp_ms: i64,
    /// Requests sent.
    pub requests: u64,
    /// Requests answered with a 2xx status.
    pub requests_ok: u64,
    /// Requests answered otherwise or lost to a transport error.
    pub requests_failed: u64,
    /// Samples in requests answered with 2xx.
    pub samples_sent: u64,
    /// Samples in every request sent.
    pub samples_attempted: u64,
    /// Compressed body bytes sent.
    pub body_bytes: u64,
    /// Wall-clock seconds from the first request to the last response.
    pub elapsed_seconds: f64,
    /// `samples_sent / elapsed_seconds`.
    pub samples_per_second: f64,
    /// Request latencies.
    pub latency: LatencySummary,
    /// Failed requests by HTTP status code, or `io` for transport errors.
    pub errors: BTreeMap<String, u64>,
    /// The first response body (or I/O error) seen for each failure kind.
    pub error_examples: BTreeMap<String, String>,
    /// Requests encoded before the clock started (the rest were encoded while sending).
    pub prebuffered_requests: u64,
    /// CPU seconds the load generator itself used while sending (user + system).
    pub client_cpu_seconds: f64,
}

impl IngestReport {
    /// Fraction of requests that failed (0 when none were sent).
    pub fn failed_ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.requests_failed as f64 / self.requests as f64
        }
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// A human-readable summary.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let rate = match self.rate_limit {
            Some(rate) => format!("{rate:.0} samples/s offered"),
            None => "as fast as possible".to_owned(),
        };
        let _ = writeln!(text, "target           {}", self.url);
        let _ = writeln!(
            text,
            "workload         {} series x {} scrapes at {}s, {} series/request, {} connections, {}",
            self.series, self.scrapes, self.interval_seconds, self.batch, self.concurrency, rate
        );
        if self.churn_per_hour > 0 {
            let _ = writeln!(
                text,
                "churn            {} series/h ({} replaced)",
                self.churn_per_hour, self.series_replaced
            );
        }
        let _ = writeln!(
            text,
            "samples sent     {} of {} ({} MiB of bodies)",
            self.samples_sent,
            self.samples_attempted,
            self.body_bytes / (1 << 20)
        );
        let _ = writeln!(
            text,
            "requests         {} ({} ok, {} failed)",
            self.requests, self.requests_ok, self.requests_failed
        );
        let _ = writeln!(text, "elapsed          {:.2}s", self.elapsed_seconds);
        let _ = writeln!(
            text,
            "throughput       {:.0} samples/s",
            self.samples_per_second
        );
        let _ = writeln!(
            text,
            "latency          p50 {:.1}ms  p90 {:.1}ms  p99 {:.1}ms  max {:.1}ms",
            self.latency.p50_ms, self.latency.p90_ms, self.latency.p99_ms, self.latency.max_ms
        );
        let _ = writeln!(
            text,
            "client CPU       {:.2}s ({} requests pre-encoded)",
            self.client_cpu_seconds, self.prebuffered_requests
        );
        for (kind, count) in &self.errors {
            let example = self.error_examples.get(kind).map_or("", String::as_str);
            let _ = writeln!(text, "errors {kind:>9} {count}  e.g. {example}");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut latencies: Vec<u32> = (1..=100).rev().map(|ms| ms * 1000).collect();
        let summary = LatencySummary::from_micros(&mut latencies);
        assert_eq!(summary.p50_ms, 50.0);
        assert_eq!(summary.p90_ms, 90.0);
        assert_eq!(summary.p99_ms, 99.0);
        assert_eq!(summary.max_ms, 100.0);
        assert_eq!(summary.mean_ms, 50.5);
        assert_eq!(
            LatencySummary::from_micros(&mut []),
            LatencySummary::default()
        );
        assert_eq!(LatencySummary::from_micros(&mut [7000]).p99_ms, 7.0);
    }

    #[test]
    fn json_and_text_carry_the_counts() {
        let mut report = IngestReport {
            url: "http://127.0.0.1:1/api/v1/push".to_owned(),
            requests: 10,
            requests_ok: 9,
            requests_failed: 1,
            samples_sent: 18_000,
            ..Default::default()
        };
        report.errors.insert("429".to_owned(), 1);
        report
            .error_examples
            .insert("429".to_owned(), "rate limited".to_owned());
        assert_eq!(report.failed_ratio(), 0.1);
        let json: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
        assert_eq!(json["samples_sent"], 18_000);
        assert_eq!(json["errors"]["429"], 1);
        assert!(json["rate_limit"].is_null());
        let text = report.to_text();
        assert!(text.contains("18000"), "{text}");
        assert!(text.contains("429"), "{text}");
    }
}
