//! The result of a query run: per query, latency percentiles and the answer's fingerprint,
//! printed as a text table and written as JSON (`--json`).

use std::fmt::Write as _;

use serde::Serialize;

use crate::loadgen::report::LatencySummary;
use crate::query::fingerprint::Fingerprint;

/// What one query of the suite gave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryResult {
    /// The query's name in the suite.
    pub name: String,
    /// `instant`, `range`, `labels`, `label_values` or `series`.
    pub kind: String,
    /// The expression or selector.
    pub query: String,
    /// The request path and query string sent.
    pub path: String,
    /// HTTP status of the last answer (`None` if no answer arrived).
    pub status: Option<u16>,
    /// Fingerprint of the last answer.
    pub fingerprint: Option<Fingerprint>,
    /// Whether every timed answer had the same fingerprint.
    pub stable: bool,
    /// Timed requests that got an answer.
    pub runs: usize,
    /// Latency of the timed requests (send to last body byte).
    pub latency: LatencySummary,
    /// Fastest timed request, in milliseconds.
    pub min_ms: f64,
    /// Body size of the last answer in bytes.
    pub response_bytes: usize,
    /// Why the query failed, when it did (transport error or non-200 status).
    pub error: Option<String>,
}

impl QueryResult {
    /// Whether the query failed (no answer, or a status other than 200).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// Everything `norn-bench query` reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueryReport {
    /// The API base URL.
    pub url: String,
    /// Evaluation time, Unix seconds.
    pub time: i64,
    /// Timed runs per query.
    pub repeat: usize,
    /// Untimed runs per query before them.
    pub warmup: usize,
    /// Per-query results, in suite order.
    pub queries: Vec<QueryResult>,
    /// Wall time of the whole run in seconds.
    pub elapsed_seconds: f64,
}

impl QueryReport {
    /// Queries that failed.
    pub fn failures(&self) -> usize {
        self.queries.iter().filter(|query| query.failed()).count()
    }

    /// The report as a text table.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "norn-bench query: {} at time {}, {} timed run(s) per query after {} warm-up",
            self.url, self.time, self.repeat, self.warmup
        );
        let _ = writeln!(
            out,
            "{:<24} {:<12} {:>10} {:>10} {:>8} {:>8} {:<16} note",
            "query", "kind", "median ms", "p99 ms", "series", "points", "fingerprint"
        );
        for query in &self.queries {
            let (series, points, hash) = query.fingerprint.as_ref().map_or((0, 0, "-"), |print| {
                (print.series, print.points, print.hash.as_str())
            });
            let mut note = String::new();
            if let Some(error) = &query.error {
                note.push_str(error);
            } else if !query.stable {
                note.push_str("answers differed between runs");
            }
            let _ = writeln!(
                out,
                "{:<24} {:<12} {:>10.2} {:>10.2} {:>8} {:>8} {:<16} {}",
                query.name,
                query.kind,
                query.latency.p50_ms,
                query.latency.p99_ms,
                series,
                points,
                hash,
                note
            );
        }
        let _ = writeln!(
            out,
            "{} queries, {} failed, {:.1}s",
            self.queries.len(),
            self.failures(),
            self.elapsed_seconds
        );
        out
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_name_every_query() {
        let report = QueryReport {
            url: "http://h:1".to_owned(),
            time: 10,
            repeat: 3,
            warmup: 1,
            queries: vec![QueryResult {
                name: "http_p99".to_owned(),
                kind: "instant".to_owned(),
                query: "histogram_quantile(…)".to_owned(),
                path: "/api/v1/query".to_owned(),
                status: Some(422),
                fingerprint: None,
                stable: true,
                runs: 3,
                latency: LatencySummary::from_micros(&mut [1000, 2000, 3000]),
                min_ms: 1.0,
                response_bytes: 10,
                error: Some("HTTP 422".to_owned()),
            }],
            elapsed_seconds: 0.5,
        };
        let text = report.to_text();
        assert!(
            text.contains("http_p99") && text.contains("HTTP 422"),
            "{text}"
        );
        assert!(text.contains("1 failed"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
        assert_eq!(json["queries"][0]["latency"]["p50_ms"], 2.0);
        assert_eq!(json["queries"][0]["status"], 422);
    }
}
