//! The fixed query set of `norn-bench query`: what a dashboard asks of node_exporter-like data,
//! written against the series `norn-bench loadgen` generates ([`crate::loadgen::series`]).
//!
//! Every request is relative to one evaluation time `T` (`--time`), so all targets see the same
//! window. Instant queries run at `T`; range queries cover `[T - window, T]`; the label and
//! series calls cover `[T - 1h, T]`. Selective queries name one host (`host-00001:9100`, so the
//! data needs at least two hosts, 350 series); heavy ones aggregate every host. `topk` runs over
//! values that cannot tie (per-host byte rates): which of equal series a server keeps is not
//! defined, and ties would make equal answers look different.
//!
//! | name | kind | what it measures |
//! | --- | --- | --- |
//! | `cpu_rate_one_host` | instant | `rate` over one host's 64 CPU series (index lookup + few chunks) |
//! | `cpu_busy_by_instance` | instant | `sum by (instance)` of `rate` over 7/8 of every CPU series, `!=` matcher |
//! | `cpu_modes_regex` | instant | regex matcher on `mode`, `sum by (mode)` |
//! | `network_topk` | instant | `topk` over per-host sums, `!=` on device |
//! | `http_p99` | instant | `histogram_quantile` over every host's buckets |
//! | `memory_used_ratio` | instant | one-to-one vector matching over every host |
//! | `filesystem_regex_hosts` | instant | regex on `instance` and `!~` on `mountpoint`, raw series |
//! | `count_node_series` | instant | regex on `__name__` touching nearly every series |
//! | `disk_io_increase_1h` | instant | `increase` over a 1h range on every host |
//! | `load1_max_24h_one_host` | instant | `max_over_time` over 24h of one series |
//! | `cpu_rate_24h_by_mode` | instant | `rate` over 24h of every CPU series, `avg by (mode)` |
//! | `cpu_busy_1h` | range 1h, 60s | the `cpu_busy_by_instance` panel over an hour |
//! | `net_one_host_1h` | range 1h, 60s | one host's network rates |
//! | `http_p95_1h` | range 1h, 60s | `histogram_quantile` panel over an hour |
//! | `cpu_by_mode_24h` | range 24h, 5m | `sum by (mode)` of `rate` over a day |
//! | `net_topk_24h` | range 24h, 5m | `topk` of per-host sums of `rate` per step over a day |
//! | `memory_one_host_24h` | range 24h, 5m | one raw series over a day |
//! | `filesystem_regex_24h` | range 24h, 5m | regex matchers, `sum by (instance)` over a day |
//! | `labels` | labels | `/api/v1/labels` over the last hour |
//! | `instance_values` | label values | `/api/v1/label/instance/values` over the last hour |
//! | `mode_values_matched` | label values | `/api/v1/label/mode/values?match[]=node_cpu_seconds_total` |
//! | `series_one_host` | series | `/api/v1/series` for one host's CPU series |
//! | `series_memory_regex` | series | `/api/v1/series` for `{__name__=~"node_memory_.*"}` |

/// One request kind with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `/api/v1/query?query=<expr>&time=T`.
    Instant {
        /// The PromQL expression.
        expr: &'static str,
    },
    /// `/api/v1/query_range?query=<expr>&start=T-window&end=T&step=<step>`.
    Range {
        /// The PromQL expression.
        expr: &'static str,
        /// Seconds before `T` the range starts.
        window_s: i64,
        /// Seconds between evaluations.
        step_s: i64,
    },
    /// `/api/v1/labels?start=T-1h&end=T`.
    Labels,
    /// `/api/v1/label/<name>/values?start=T-1h&end=T[&match[]=<selector>]`.
    LabelValues {
        /// The label name.
        name: &'static str,
        /// An optional series selector.
        matcher: Option<&'static str>,
    },
    /// `/api/v1/series?match[]=<selector>&start=T-1h&end=T`.
    Series {
        /// The series selector.
        matcher: &'static str,
    },
}

/// A named benchmark query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchQuery {
    /// Short stable name (reports and `--only` use it).
    pub name: &'static str,
    /// What is asked.
    pub request: Request,
}

/// Window of the label and series calls.
const METADATA_WINDOW_S: i64 = 3600;
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// The query set, in the order it runs.
pub fn suite() -> Vec<BenchQuery> {
    use Request::{Instant, LabelValues, Labels, Range, Series};
    let query = |name, request| BenchQuery { name, request };
    vec![
        query(
            "cpu_rate_one_host",
            Instant {
                expr: r#"rate(node_cpu_seconds_total{instance="host-00001:9100"}[5m])"#,
            },
        ),
        query(
            "cpu_busy_by_instance",
            Instant {
                expr: r#"sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))"#,
            },
        ),
        query(
            "cpu_modes_regex",
            Instant {
                expr: r#"sum by (mode) (rate(node_cpu_seconds_total{mode=~"user|system|iowait"}[5m]))"#,
            },
        ),
        query(
            "network_topk",
            Instant {
                expr: r#"topk(10, sum by (instance) (rate(node_network_receive_bytes_total{device!="lo"}[5m])))"#,
            },
        ),
        query(
            "http_p99",
            Instant {
                expr: "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
            },
        ),
        query(
            "memory_used_ratio",
            Instant {
                expr: "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
            },
        ),
        query(
            "filesystem_regex_hosts",
            Instant {
                expr: r#"node_filesystem_avail_bytes{instance=~"host-0000[0-9]:9100", mountpoint!~"/run|/boot"}"#,
            },
        ),
        query(
            "count_node_series",
            Instant {
                expr: r#"count({__name__=~"node_.+"})"#,
            },
        ),
        query(
            "disk_io_increase_1h",
            Instant {
                expr: "sum by (device) (increase(node_disk_io_time_seconds_total[1h]))",
            },
        ),
        query(
            "load1_max_24h_one_host",
            Instant {
                expr: r#"max_over_time(node_load1{instance="host-00001:9100"}[24h])"#,
            },
        ),
        query(
            "cpu_rate_24h_by_mode",
            Instant {
                expr: "avg by (mode) (rate(node_cpu_seconds_total[24h]))",
            },
        ),
        query(
            "cpu_busy_1h",
            Range {
                expr: r#"sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))"#,
                window_s: HOUR,
                step_s: 60,
            },
        ),
        query(
            "net_one_host_1h",
            Range {
                expr: r#"rate(node_network_transmit_bytes_total{instance="host-00001:9100"}[5m])"#,
                window_s: HOUR,
                step_s: 60,
            },
        ),
        query(
            "http_p95_1h",
            Range {
                expr: "histogram_quantile(0.95, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))",
                window_s: HOUR,
                step_s: 60,
            },
        ),
        query(
            "cpu_by_mode_24h",
            Range {
                expr: "sum by (mode) (rate(node_cpu_seconds_total[5m]))",
                window_s: DAY,
                step_s: 300,
            },
        ),
        query(
            "net_topk_24h",
            Range {
                expr: "topk(5, sum by (instance) (rate(node_network_receive_bytes_total[5m])))",
                window_s: DAY,
                step_s: 300,
            },
        ),
        query(
            "memory_one_host_24h",
            Range {
                expr: r#"node_memory_Active_bytes{instance="host-00001:9100"}"#,
                window_s: DAY,
                step_s: 300,
            },
        ),
        query(
            "filesystem_regex_24h",
            Range {
                expr: r#"sum by (instance) (node_filesystem_avail_bytes{mountpoint=~"/|/var/lib", instance=~"host-0000.*"})"#,
                window_s: DAY,
                step_s: 300,
            },
        ),
        query("labels", Labels),
        query(
            "instance_values",
            LabelValues {
                name: "instance",
                matcher: None,
            },
        ),
        query(
            "mode_values_matched",
            LabelValues {
                name: "mode",
                matcher: Some("node_cpu_seconds_total"),
            },
        ),
        query(
            "series_one_host",
            Series {
                matcher: r#"node_cpu_seconds_total{instance="host-00001:9100"}"#,
            },
        ),
        query(
            "series_memory_regex",
            Series {
                matcher: r#"{__name__=~"node_memory_.*"}"#,
            },
        ),
    ]
}

impl BenchQuery {
    /// `instant`, `range`, `labels`, `label_values` or `series`.
    pub fn kind(&self) -> &'static str {
        match self.request {
            Request::Instant { .. } => "instant",
            Request::Range { .. } => "range",
            Request::Labels => "labels",
            Request::LabelValues { .. } => "label_values",
            Request::Series { .. } => "series",
        }
    }

    /// The expression, selector or label name, for reports.
    pub fn text(&self) -> String {
        match &self.request {
            Request::Instant { expr } => (*expr).to_owned(),
            Request::Range {
                expr,
                window_s,
                step_s,
            } => {
                format!("{expr} [{}h, step {step_s}s]", window_s / HOUR)
            }
            Request::Labels => "labels".to_owned(),
            Request::LabelValues { name, matcher } => match matcher {
                Some(matcher) => format!("{name} values of {matcher}"),
                None => format!("{name} values"),
            },
            Request::Series { matcher } => (*matcher).to_owned(),
        }
    }

    /// The path and query string of the request at evaluation time `time` (Unix seconds),
    /// under the API's base path `base` (`""` for Prometheus, `/prometheus` for Norn).
    pub fn path(&self, base: &str, time: i64) -> String {
        let base = base.trim_end_matches('/');
        let window = |seconds: i64| format!("start={}&end={time}", time - seconds);
        match &self.request {
            Request::Instant { expr } => {
                format!("{base}/api/v1/query?query={}&time={time}", encode(expr))
            }
            Request::Range {
                expr,
                window_s,
                step_s,
            } => format!(
                "{base}/api/v1/query_range?query={}&{}&step={step_s}",
                encode(expr),
                window(*window_s)
            ),
            Request::Labels => format!("{base}/api/v1/labels?{}", window(METADATA_WINDOW_S)),
            Request::LabelValues { name, matcher } => {
                let mut path = format!(
                    "{base}/api/v1/label/{name}/values?{}",
                    window(METADATA_WINDOW_S)
                );
                if let Some(matcher) = matcher {
                    path.push_str(&format!("&match[]={}", encode(matcher)));
                }
                path
            }
            Request::Series { matcher } => format!(
                "{base}/api/v1/series?match[]={}&{}",
                encode(matcher),
                window(METADATA_WINDOW_S)
            ),
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte));
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_kind_is_covered() {
        let queries = suite();
        let mut names: Vec<&str> = queries.iter().map(|query| query.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), queries.len());
        for kind in ["instant", "range", "labels", "label_values", "series"] {
            assert!(queries.iter().any(|query| query.kind() == kind), "{kind}");
        }
    }

    #[test]
    fn paths_carry_the_window_and_encoded_expression() {
        let range = BenchQuery {
            name: "x",
            request: Request::Range {
                expr: "sum by (a) (rate(b{c=~\"d|e\"}[5m]))",
                window_s: 3600,
                step_s: 60,
            },
        };
        assert_eq!(
            range.path("/prometheus/", 10_000),
            "/prometheus/api/v1/query_range?query=sum%20by%20%28a%29%20%28rate%28b%7Bc%3D~%22d%7Ce%22%7D%5B5m%5D%29%29&start=6400&end=10000&step=60"
        );
        let values = BenchQuery {
            name: "y",
            request: Request::LabelValues {
                name: "mode",
                matcher: Some("up"),
            },
        };
        assert_eq!(
            values.path("", 7200),
            "/api/v1/label/mode/values?start=3600&end=7200&match[]=up"
        );
    }
}
