//! The PromQL expressions the differential test asks, generated from a seed over the
//! [`super::data`] families, and the instant and range queries built from them.
//!
//! Each expression family (selectors, range functions over counters and gauges, aggregations,
//! `topk`/`quantile`/`count_values`, arithmetic, vector matching with `on`/`ignoring`/
//! `group_left`/`group_right`, comparisons with and without `bool`, `and`/`or`/`unless`,
//! `histogram_quantile`, `label_replace`/`label_join`, `offset`/`@`, subqueries, math and
//! time functions, `sort`) is drawn round-robin, its metrics, matchers, ranges and parameters
//! picked by the generator, so a few hundred expressions cover the language broadly.
//!
//! Only what Prometheus 2.42 and 3.x evaluate the same way is generated (the test compares
//! Norn, which follows 3.x, with a 2.42 server):
//! - every evaluation time is a whole second ≡ 17 (mod 60) and every range, offset and step a
//!   whole number of seconds, so neither range boundaries (closed on the left in 2.x, open in
//!   3.x) nor subquery steps (multiples of 15s…5m) ever meet a sample or an inner step;
//! - no function that 2.42 lacks or 3.x renamed: `holt_winters` (3.x:
//!   `double_exponential_smoothing`), `sort_by_label`, `mad_over_time`, `limitk`,
//!   `limit_ratio`, `ts_of_*_over_time`, `info`; no negative `offset` (a feature flag in 2.42);
//! - no `topk`/`bottomk`/`sort` over values that tie (integer gauges, `up`, counts, rates of
//!   counters with integer increments): which of equal series wins is an implementation detail
//!   of each engine's heap or sort (the first runs of this test showed Norn and Prometheus
//!   picking different ones of equal `rate(http_requests_total[…])` values).

use super::data::{
    ACCOUNTS, CODES, CPU_MODES, LOCATIONS, METHODS, NODE_INSTANCES, QUEUES, Rng, SENSOR_INSTANCES,
    SERVICE_INSTANCES, SERVICE_JOBS, WORKERS,
};

/// How a query is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryKind {
    /// `/api/v1/query` at `time` (Unix seconds).
    Instant {
        /// Evaluation time.
        time: i64,
    },
    /// `/api/v1/query_range` over `[start, end]` every `step` seconds.
    Range {
        /// First evaluation time.
        start: i64,
        /// Last evaluation time (at most).
        end: i64,
        /// Seconds between evaluations.
        step: i64,
    },
}

/// One query of the test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    /// The PromQL expression.
    pub(crate) expr: String,
    /// Instant or range, with its times.
    pub(crate) kind: QueryKind,
}

impl Query {
    /// Whether the answer's series order is part of the contract: `sort`/`sort_desc` at the
    /// top of an instant query (a range query's matrix is always ordered by labels).
    pub(crate) fn ordered(&self) -> bool {
        matches!(self.kind, QueryKind::Instant { .. })
            && (self.expr.starts_with("sort(") || self.expr.starts_with("sort_desc("))
    }

    /// A one-line description for reports.
    pub(crate) fn describe(&self) -> String {
        match self.kind {
            QueryKind::Instant { time } => format!("instant @{time}: {}", self.expr),
            QueryKind::Range { start, end, step } => {
                format!("range [{start}, {end}] step {step}s: {}", self.expr)
            }
        }
    }
}

/// What a metric is, for choosing the functions that make sense over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Monotonic but for resets: `rate`, `increase`, …
    Counter,
    /// A float gauge with distinct values (safe for `topk`).
    Gauge,
    /// A gauge whose values repeat (integers, 0/1): not for `topk`/`bottomk`.
    SteppedGauge,
}

/// A metric of the dataset with the labels a matcher may use.
#[derive(Debug, Clone, Copy)]
struct Metric {
    name: &'static str,
    kind: Kind,
    /// Whether two series can hold equal values (or equal rates: counters with integer
    /// increments give rates with a common denominator) at one time. Such metrics stay out of
    /// `topk`, `bottomk` and `sort`: which of two equal series Prometheus keeps or puts first
    /// depends on its heap and sort internals, not on PromQL semantics.
    ties: bool,
    labels: &'static [(&'static str, &'static [&'static str])],
}

const JOB: (&str, &[&str]) = ("job", &SERVICE_JOBS);
const SERVICE_INSTANCE: (&str, &[&str]) = ("instance", &SERVICE_INSTANCES);

const METRICS: [Metric; 9] = [
    Metric {
        name: "http_requests_total",
        kind: Kind::Counter,
        ties: true,
        labels: &[
            JOB,
            SERVICE_INSTANCE,
            ("method", &METHODS),
            ("code", &["200", "404", "500"]),
        ],
    },
    Metric {
        name: "node_cpu_seconds_total",
        kind: Kind::Counter,
        ties: false,
        labels: &[
            ("instance", &NODE_INSTANCES),
            ("cpu", &["0", "1"]),
            ("mode", &CPU_MODES),
        ],
    },
    Metric {
        name: "batch_items_processed_total",
        kind: Kind::Counter,
        ties: true,
        labels: &[("instance", &WORKERS)],
    },
    Metric {
        name: "request_duration_seconds_count",
        kind: Kind::Counter,
        ties: true,
        labels: &[JOB, SERVICE_INSTANCE],
    },
    Metric {
        name: "request_duration_seconds_sum",
        kind: Kind::Counter,
        ties: false,
        labels: &[JOB, SERVICE_INSTANCE],
    },
    Metric {
        name: "temperature_celsius",
        kind: Kind::Gauge,
        ties: false,
        labels: &[
            ("instance", &SENSOR_INSTANCES),
            ("location", &["freezer", "indoor", "outdoor"]),
        ],
    },
    Metric {
        name: "balance_delta",
        kind: Kind::Gauge,
        ties: false,
        labels: &[("account", &ACCOUNTS)],
    },
    Metric {
        name: "queue_depth",
        kind: Kind::SteppedGauge,
        ties: true,
        labels: &[JOB, SERVICE_INSTANCE, ("queue", &QUEUES)],
    },
    Metric {
        name: "up",
        kind: Kind::SteppedGauge,
        ties: true,
        labels: &[("job", &["api", "web", "node", "sensors"])],
    },
];

/// The histogram's buckets (used by `histogram_quantile` only, so not in [`METRICS`]).
const BUCKET_METRIC: Metric = Metric {
    name: "request_duration_seconds_bucket",
    kind: Kind::Counter,
    ties: true,
    labels: &[JOB, SERVICE_INSTANCE],
};

/// Range durations of range selectors (at 15s per sample: 4 to 120 samples).
const RANGES: [&str; 6] = ["1m", "2m", "5m", "10m", "15m", "30m"];
/// Offsets (whole minutes keep evaluation times ≡ 17 mod 60).
const OFFSETS: [&str; 4] = ["1m", "5m", "10m", "20m"];
/// Quantiles for `quantile`, `quantile_over_time` and `histogram_quantile`.
const PHIS: [&str; 6] = ["0", "0.1", "0.5", "0.9", "0.99", "1"];

/// Seconds past the data's base minute of the instant queries' evaluation times, all ≡ 17
/// (mod 60), in the second hour of the data (which spans [7.3s, 7192.3s]).
pub(crate) const INSTANT_TIMES: [i64; 4] = [3917, 5117, 6317, 6917];
/// The longest a range query lasts (minutes); with its end at [`INSTANT_TIMES`]`[2]` or later it
/// starts at 3317s, and the longest look-back of any generated expression (a 30m range with a
/// 20m offset, a 30m subquery over a 5m range) stays after the first sample.
const LONGEST_RANGE_QUERY_MINUTES: i64 = 50;
/// Steps of range queries: with a start ≡ 17 (mod 60) every evaluation time stays ≡ 17 or 47.
pub(crate) const RANGE_STEPS: [i64; 3] = [30, 60, 150];

/// Generates `count` distinct expressions from `seed`.
pub(crate) fn expressions(seed: u64, count: usize, base_s: i64) -> Vec<String> {
    let mut generator = Generator {
        rng: Rng::new(seed),
        base_s,
        next_edge_case: 0,
    };
    let mut out: Vec<String> = Vec::with_capacity(count);
    let mut attempts = 0;
    while out.len() < count && attempts < count * 20 {
        let family = FAMILIES[attempts % FAMILIES.len()];
        attempts += 1;
        let expr = family(&mut generator);
        if !out.contains(&expr) {
            out.push(expr);
        }
    }
    out
}

/// An instant and a range query for every expression, at times chosen by `seed`.
pub(crate) fn queries(expressions: &[String], seed: u64, base_s: i64) -> Vec<Query> {
    let mut rng = Rng::new(seed ^ 0xA5A5);
    let mut out = Vec::with_capacity(expressions.len() * 2);
    for expr in expressions {
        out.push(Query {
            expr: expr.clone(),
            kind: QueryKind::Instant {
                time: base_s + rng.pick(&INSTANT_TIMES),
            },
        });
        let step = *rng.pick(&RANGE_STEPS);
        // Ranges of 20 to 50 minutes ending at one of the late instant times.
        let end = base_s + *rng.pick(&INSTANT_TIMES[2..]);
        let minutes = 20 + rng.below(LONGEST_RANGE_QUERY_MINUTES as usize - 19) as i64;
        let start = end - 60 * minutes;
        out.push(Query {
            expr: expr.clone(),
            kind: QueryKind::Range { start, end, step },
        });
    }
    out
}

/// Picks the parts of expressions.
struct Generator {
    rng: Rng,
    base_s: i64,
    /// The next of [`EDGE_CASES`] to hand out.
    next_edge_case: usize,
}

type Family = fn(&mut Generator) -> String;

/// Every family once per round.
const FAMILIES: [Family; 25] = [
    edge_case_family,
    selector_family,
    counter_range_family,
    gauge_range_family,
    aggregation_family,
    topk_family,
    quantile_family,
    count_values_family,
    scalar_arithmetic_family,
    vector_matching_family,
    comparison_family,
    set_operator_family,
    histogram_quantile_family,
    label_function_family,
    offset_family,
    at_modifier_family,
    subquery_family,
    math_family,
    time_function_family,
    sort_family,
    nested_aggregation_family,
    counter_range_family,
    aggregation_family,
    vector_matching_family,
    subquery_family,
];

impl Generator {
    fn metric(&mut self, kinds: &[Kind]) -> Metric {
        let candidates: Vec<Metric> = METRICS
            .iter()
            .copied()
            .filter(|metric| kinds.contains(&metric.kind))
            .collect();
        *self.rng.pick(&candidates)
    }

    fn range(&mut self) -> &'static str {
        RANGES[self.rng.below(RANGES.len())]
    }

    /// A selector of `metric` with zero to two matchers of every kind.
    fn selector(&mut self, metric: Metric) -> String {
        let mut matchers = Vec::new();
        let wanted = self.rng.below(3);
        for _ in 0..wanted {
            let (label, values) = *self.rng.pick(metric.labels);
            if matchers
                .iter()
                .any(|matcher: &String| matcher.starts_with(label))
            {
                continue;
            }
            let value = *self.rng.pick(values);
            let matcher = match self.rng.below(5) {
                0 | 1 => format!("{label}=\"{value}\""),
                2 => format!("{label}!=\"{value}\""),
                3 => {
                    let other = *self.rng.pick(values);
                    if self.rng.chance(0.3) && value.len() > 2 {
                        // A prefix pattern.
                        format!("{label}=~\"{}.*\"", regex_escape(&value[..2]))
                    } else {
                        format!(
                            "{label}=~\"{}|{}\"",
                            regex_escape(value),
                            regex_escape(other)
                        )
                    }
                }
                _ => format!("{label}!~\"{}\"", regex_escape(value)),
            };
            matchers.push(matcher);
        }
        if self.rng.chance(0.08) {
            // The name as a matcher, spelled out.
            matchers.insert(0, format!("__name__=\"{}\"", metric.name));
            return format!("{{{}}}", matchers.join(", "));
        }
        if matchers.is_empty() {
            metric.name.to_owned()
        } else {
            format!("{}{{{}}}", metric.name, matchers.join(", "))
        }
    }

    /// A vector of distinct float values (for `topk`, `sort`, `quantile`): a gauge or the rate
    /// of a counter that cannot tie.
    fn distinct_vector(&mut self) -> (String, Metric) {
        let kinds = if self.rng.chance(0.5) {
            [Kind::Gauge]
        } else {
            [Kind::Counter]
        };
        let candidates: Vec<Metric> = METRICS
            .iter()
            .copied()
            .filter(|metric| !metric.ties && kinds.contains(&metric.kind))
            .collect();
        let metric = *self.rng.pick(&candidates);
        let selector = self.selector(metric);
        if metric.kind == Kind::Gauge {
            return (selector, metric);
        }
        let range = *self.rng.pick(&["5m", "10m", "30m"]);
        (format!("rate({selector}[{range}])"), metric)
    }

    /// Any instant vector expression of the simple families, with its metric.
    fn inner_vector(&mut self) -> (String, Metric) {
        match self.rng.below(3) {
            0 => {
                let metric = self.metric(&[Kind::Gauge, Kind::SteppedGauge]);
                (self.selector(metric), metric)
            }
            1 => {
                let metric = self.metric(&[Kind::Counter]);
                let function = *self
                    .rng
                    .pick(&["rate", "increase", "irate", "resets", "changes"]);
                let selector = self.selector(metric);
                let range = self.range();
                (format!("{function}({selector}[{range}])"), metric)
            }
            _ => {
                let metric = self.metric(&[Kind::Gauge, Kind::SteppedGauge]);
                let function = *self.rng.pick(&GAUGE_RANGE_FUNCTIONS);
                let selector = self.selector(metric);
                let range = self.range();
                (format!("{function}({selector}[{range}])"), metric)
            }
        }
    }

    /// `by (…)`, `without (…)` or nothing, over labels of `metric`.
    fn grouping(&mut self, metric: Metric) -> String {
        let (first, _) = *self.rng.pick(metric.labels);
        let (second, _) = *self.rng.pick(metric.labels);
        let labels = if first == second || self.rng.chance(0.5) {
            first.to_owned()
        } else {
            format!("{first}, {second}")
        };
        match self.rng.below(4) {
            0 => String::new(),
            1 => format!(" without ({labels})"),
            _ => format!(" by ({labels})"),
        }
    }

    /// An evaluation time for `@` inside the data: a whole second ≡ 17 (mod 60).
    fn at_time(&mut self) -> String {
        let time = self.base_s + *self.rng.pick(&INSTANT_TIMES);
        format!("{time}")
    }
}

const GAUGE_RANGE_FUNCTIONS: [&str; 14] = [
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "last_over_time",
    "present_over_time",
    "delta",
    "idelta",
    "deriv",
    "changes",
    "resets",
];

/// Escapes regex metacharacters the label values contain, for a PromQL double-quoted string
/// (hence the double backslash).
fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for character in value.chars() {
        if ".+*?()[]{}|^$\\".contains(character) {
            out.push_str("\\\\");
        }
        out.push(character);
    }
    out
}

/// Fixed expressions for corners of the language the families do not reach: precedence and
/// associativity, scalar/vector conversions, empty and out-of-range parameters, `on ()`,
/// matching that must fail. Handed out in order, one per round.
const EDGE_CASES: [&str; 31] = [
    // A series ends inside the range: its rate outlives it by the range minus the lookback,
    // and from then on the right-hand side's label set (no `__name__`) fills in.
    "batch_items_processed_total or on (instance) rate(batch_items_processed_total[10m])",
    "2 ^ 3 ^ 2",
    "1 + 2 * 3 - 4 / 2 % 3",
    "-2 ^ 2",
    "balance_delta + temperature_celsius * 0",
    "scalar(up)",
    "scalar(up{job=\"sensors\", instance=\"sensor-1\"}) + 1",
    "vector(1) and on () up{job=\"api\"}",
    "sum(rate(http_requests_total[5m])) / on () group_left count(up)",
    "quantile(1.5, temperature_celsius)",
    "quantile(-1, temperature_celsius)",
    "histogram_quantile(1.2, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    "histogram_quantile(-0.5, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, sum by (le, job) (rate(request_duration_seconds_bucket{le!=\"+Inf\"}[5m])))",
    "clamp(temperature_celsius, 10, -10)",
    "round(temperature_celsius, 0.001)",
    "label_replace(up, \"x\", \"$1\", \"job\", \"no-(match)\")",
    "topk(0, temperature_celsius)",
    "bottomk(100, balance_delta)",
    "count_values(\"t\", round(temperature_celsius))",
    "sum without () (up)",
    "max by () (temperature_celsius)",
    "up == on (job, instance) group_left queue_depth",
    "http_requests_total + on (job, instance) http_requests_total",
    "rate(http_requests_total[5m]) > bool on (job, instance, method, code) rate(http_requests_total[5m] offset 5m)",
    "absent_over_time(temperature_celsius{location=\"freezer\"}[5m])",
    "present_over_time(batch_items_processed_total[30m])",
    "timestamp(temperature_celsius @ start())",
    "sgn(balance_delta) * abs(balance_delta) == balance_delta",
    "sum by (job) (up) unless on (job) sum by (job) (queue_depth) > 1000",
    "(temperature_celsius > 0) + 0",
];

fn edge_case_family(generator: &mut Generator) -> String {
    let expr = EDGE_CASES[generator.next_edge_case % EDGE_CASES.len()];
    generator.next_edge_case += 1;
    expr.to_owned()
}

fn selector_family(generator: &mut Generator) -> String {
    let metric = *generator.rng.pick(&METRICS);
    let selector = generator.selector(metric);
    if generator.rng.chance(0.15) {
        // A range selector: an instant query answers the raw samples (a matrix); a range query
        // of it is an error on both sides.
        let range = generator.range();
        return format!("{selector}[{range}]");
    }
    if generator.rng.chance(0.15) {
        let other = *generator.rng.pick(&METRICS);
        return format!(
            "{{__name__=~\"{}|{}\", job!=\"\"}}",
            metric.name, other.name
        );
    }
    selector
}

fn counter_range_family(generator: &mut Generator) -> String {
    let metric = generator.metric(&[Kind::Counter]);
    let function = *generator.rng.pick(&[
        "rate", "increase", "irate", "resets", "changes", "delta", "idelta",
    ]);
    let selector = generator.selector(metric);
    let range = generator.range();
    format!("{function}({selector}[{range}])")
}

fn gauge_range_family(generator: &mut Generator) -> String {
    let metric = generator.metric(&[Kind::Gauge, Kind::SteppedGauge]);
    let selector = generator.selector(metric);
    let range = generator.range();
    match generator.rng.below(8) {
        0 => {
            let phi = *generator.rng.pick(&PHIS);
            format!("quantile_over_time({phi}, {selector}[{range}])")
        }
        1 => {
            let seconds = *generator.rng.pick(&["60", "300", "3600"]);
            format!("predict_linear({selector}[{range}], {seconds})")
        }
        _ => {
            let function = *generator.rng.pick(&GAUGE_RANGE_FUNCTIONS);
            format!("{function}({selector}[{range}])")
        }
    }
}

fn aggregation_family(generator: &mut Generator) -> String {
    let (inner, metric) = generator.inner_vector();
    let aggregation = *generator.rng.pick(&[
        "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar",
    ]);
    let grouping = generator.grouping(metric);
    if generator.rng.chance(0.5) {
        format!("{aggregation}{grouping} ({inner})")
    } else {
        // Prometheus also takes the clause after the parameters.
        format!("{aggregation} ({inner}){grouping}")
    }
}

fn topk_family(generator: &mut Generator) -> String {
    let (inner, metric) = generator.distinct_vector();
    let function = *generator.rng.pick(&["topk", "bottomk"]);
    let k = 1 + generator.rng.below(4);
    let grouping = match generator.rng.below(3) {
        0 => {
            let (label, _) = *generator.rng.pick(metric.labels);
            format!(" by ({label})")
        }
        _ => String::new(),
    };
    format!("{function}{grouping} ({k}, {inner})")
}

fn quantile_family(generator: &mut Generator) -> String {
    let (inner, metric) = generator.distinct_vector();
    let phi = *generator.rng.pick(&PHIS);
    let grouping = generator.grouping(metric);
    format!("quantile{grouping} ({phi}, {inner})")
}

fn count_values_family(generator: &mut Generator) -> String {
    let metric = generator.metric(&[Kind::SteppedGauge]);
    let selector = generator.selector(metric);
    let grouping = match generator.rng.below(3) {
        0 => " by (job)".to_owned(),
        _ => String::new(),
    };
    format!("count_values{grouping} (\"value\", {selector})")
}

fn scalar_arithmetic_family(generator: &mut Generator) -> String {
    let (inner, _) = generator.inner_vector();
    let operator = *generator.rng.pick(&["+", "-", "*", "/", "%", "^"]);
    let number = match operator {
        "^" => *generator.rng.pick(&["2", "0.5", "-1"]),
        "%" => *generator.rng.pick(&["7", "2.5", "-3"]),
        _ => *generator.rng.pick(&["2", "0.5", "100", "-3", "0"]),
    };
    if generator.rng.chance(0.5) {
        format!("{inner} {operator} {number}")
    } else {
        format!("{number} {operator} {inner}")
    }
}

fn vector_matching_family(generator: &mut Generator) -> String {
    let range = *generator.rng.pick(&["5m", "10m", "30m"]);
    let code = CODES[generator.rng.below(CODES.len())].0;
    let job = *generator.rng.pick(&SERVICE_JOBS);
    match generator.rng.below(12) {
        0 => format!(
            "sum by (job, instance) (rate(http_requests_total{{code=\"{code}\"}}[{range}])) / sum by (job, instance) (rate(http_requests_total[{range}]))"
        ),
        1 => format!(
            "rate(http_requests_total[{range}]) / ignoring (code) group_left sum without (code) (rate(http_requests_total[{range}]))"
        ),
        2 => format!(
            "rate(request_duration_seconds_sum[{range}]) / rate(request_duration_seconds_count[{range}])"
        ),
        3 => format!(
            "sum by (job, instance) (rate(http_requests_total{{job=\"{job}\"}}[{range}])) * on (job, instance) group_left up"
        ),
        4 => "queue_depth / on (job, instance) group_left sum by (job, instance) (queue_depth)"
            .to_owned(),
        5 => format!(
            "rate(node_cpu_seconds_total{{mode!=\"idle\"}}[{range}]) / on (instance, cpu) group_left sum by (instance, cpu) (rate(node_cpu_seconds_total[{range}]))"
        ),
        6 => "temperature_celsius - on (instance) group_left avg by (instance) (temperature_celsius)"
            .to_owned(),
        7 => format!(
            "sum by (job, instance) (up) * on (job, instance) group_right rate(http_requests_total{{code=\"{code}\"}}[{range}])"
        ),
        8 => "request_duration_seconds_count + request_duration_seconds_sum".to_owned(),
        9 => format!(
            "rate(http_requests_total{{method=\"GET\"}}[{range}]) - ignoring (method) rate(http_requests_total{{method=\"POST\"}}[{range}])"
        ),
        10 => "queue_depth{queue=\"high\"} * on (job, instance) group_left (queue) queue_depth{queue=\"low\"}"
            .to_owned(),
        _ => format!(
            "sum by (job) (rate(http_requests_total[{range}])) / on (job) group_left count by (job) (up == 1)"
        ),
    }
}

fn comparison_family(generator: &mut Generator) -> String {
    let bool_modifier = if generator.rng.chance(0.4) {
        " bool"
    } else {
        ""
    };
    let operator = *generator.rng.pick(&["==", "!=", ">", "<", ">=", "<="]);
    match generator.rng.below(6) {
        0 => {
            let metric = generator.metric(&[Kind::Gauge]);
            let selector = generator.selector(metric);
            let threshold = *generator.rng.pick(&["0", "-10", "20", "3.5"]);
            format!("{selector} {operator}{bool_modifier} {threshold}")
        }
        1 => {
            let metric = generator.metric(&[Kind::SteppedGauge]);
            let selector = generator.selector(metric);
            let threshold = *generator.rng.pick(&["0", "1", "10", "25"]);
            format!("{threshold} {operator}{bool_modifier} {selector}")
        }
        2 => format!(
            "queue_depth{{queue=\"high\"}} {operator}{bool_modifier} ignoring (queue) queue_depth{{queue=\"low\"}}"
        ),
        3 => format!(
            "temperature_celsius {operator}{bool_modifier} on (instance) group_left avg by (instance) (temperature_celsius)"
        ),
        4 => {
            let range = generator.range();
            format!("rate(http_requests_total[{range}]) {operator}{bool_modifier} 1")
        }
        _ => format!("2 {operator} bool 3"),
    }
}

fn set_operator_family(generator: &mut Generator) -> String {
    let range = *generator.rng.pick(&["5m", "10m"]);
    let depth = *generator.rng.pick(&["5", "20", "35"]);
    match generator.rng.below(8) {
        0 => format!("rate(http_requests_total[{range}]) > 1 and on (job, instance) up == 1"),
        1 => format!("queue_depth > {depth} or queue_depth < 3"),
        2 => format!("up unless on (job, instance) queue_depth{{queue=\"high\"}} > {depth}"),
        3 => {
            "temperature_celsius{location=\"freezer\"} or temperature_celsius{location=\"outdoor\"}"
                .to_owned()
        }
        4 => "balance_delta > 0 unless balance_delta > 400".to_owned(),
        5 => format!(
            "sum by (job, instance) (rate(http_requests_total[{range}])) and ignoring (queue) queue_depth{{queue=\"low\"}} > {depth}"
        ),
        6 => "up or vector(0)".to_owned(),
        _ => format!(
            "batch_items_processed_total or on (instance) rate(batch_items_processed_total[{range}])"
        ),
    }
}

fn histogram_quantile_family(generator: &mut Generator) -> String {
    let phi = *generator.rng.pick(&["0.5", "0.9", "0.95", "0.99", "0.25"]);
    let range = *generator.rng.pick(&["1m", "5m", "10m", "30m"]);
    let selector = generator.selector(BUCKET_METRIC);
    match generator.rng.below(4) {
        0 => format!("histogram_quantile({phi}, rate({selector}[{range}]))"),
        1 => format!("histogram_quantile({phi}, sum by (le) (rate({selector}[{range}])))"),
        2 => {
            let by = *generator.rng.pick(&["job", "instance"]);
            format!("histogram_quantile({phi}, sum by (le, {by}) (rate({selector}[{range}])))")
        }
        _ => format!(
            "histogram_quantile({phi}, sum without (instance) (increase({selector}[{range}])))"
        ),
    }
}

fn label_function_family(generator: &mut Generator) -> String {
    let range = *generator.rng.pick(&["5m", "10m"]);
    match generator.rng.below(6) {
        0 => "label_replace(up, \"host\", \"$1\", \"instance\", \"([^:]+):.*\")".to_owned(),
        1 => format!(
            "sum by (class) (label_replace(rate(http_requests_total[{range}]), \"class\", \"${{1}}xx\", \"code\", \"(.).*\"))"
        ),
        2 => "label_join(up, \"target\", \"/\", \"job\", \"instance\")".to_owned(),
        3 => {
            "label_replace(temperature_celsius, \"location\", \"cold\", \"location\", \"freezer\")"
                .to_owned()
        }
        4 => {
            let location = LOCATIONS[generator.rng.below(LOCATIONS.len())].0;
            format!(
                "label_replace(temperature_celsius{{location=\"{location}\"}}, \"instance\", \"\", \"instance\", \".*\")"
            )
        }
        _ => "label_join(queue_depth, \"id\", \"-\", \"queue\", \"job\", \"queue\")".to_owned(),
    }
}

fn offset_family(generator: &mut Generator) -> String {
    let offset = *generator.rng.pick(&OFFSETS);
    match generator.rng.below(4) {
        0 => {
            let metric = generator.metric(&[Kind::Counter]);
            let selector = generator.selector(metric);
            let range = generator.range();
            format!("rate({selector}[{range}] offset {offset})")
        }
        1 => {
            let metric = generator.metric(&[Kind::Gauge, Kind::SteppedGauge]);
            let selector = generator.selector(metric);
            format!("{selector} offset {offset}")
        }
        2 => {
            let range = generator.range();
            format!(
                "sum by (job) (rate(http_requests_total[{range}])) - sum by (job) (rate(http_requests_total[{range}] offset {offset}))"
            )
        }
        _ => {
            let metric = generator.metric(&[Kind::Gauge]);
            let selector = generator.selector(metric);
            let range = generator.range();
            format!("avg_over_time({selector}[{range}] offset {offset})")
        }
    }
}

fn at_modifier_family(generator: &mut Generator) -> String {
    let time = generator.at_time();
    match generator.rng.below(5) {
        0 => {
            let metric = generator.metric(&[Kind::Gauge, Kind::SteppedGauge]);
            let selector = generator.selector(metric);
            format!("{selector} @ {time}")
        }
        1 => {
            let metric = generator.metric(&[Kind::Counter]);
            let selector = generator.selector(metric);
            let range = generator.range();
            format!("rate({selector}[{range}] @ {time})")
        }
        2 => {
            let range = generator.range();
            format!("sum by (job) (rate(http_requests_total[{range}] @ end()))")
        }
        3 => "temperature_celsius - temperature_celsius @ start()".to_owned(),
        _ => {
            let offset = *generator.rng.pick(&OFFSETS);
            format!("max_over_time(balance_delta[10m] @ {time} offset {offset})")
        }
    }
}

fn subquery_family(generator: &mut Generator) -> String {
    let window = *generator.rng.pick(&["10m", "20m", "30m"]);
    let step = *generator.rng.pick(&["15s", "30s", "1m", "2m", "5m", ""]);
    let range = *generator.rng.pick(&["1m", "5m"]);
    match generator.rng.below(6) {
        0 => {
            let metric = generator.metric(&[Kind::Counter]);
            let selector = generator.selector(metric);
            format!("max_over_time(rate({selector}[{range}])[{window}:{step}])")
        }
        1 => {
            let metric = generator.metric(&[Kind::Gauge, Kind::SteppedGauge]);
            let selector = generator.selector(metric);
            format!("avg_over_time({selector}[{window}:{step}])")
        }
        2 => format!("deriv(sum(temperature_celsius)[{window}:{step}])"),
        3 => format!(
            "min_over_time(sum by (job) (rate(http_requests_total[{range}]))[{window}:{step}])"
        ),
        4 => format!("rate(sum by (job) (http_requests_total)[{window}:{step}])"),
        _ => {
            let offset = *generator.rng.pick(&OFFSETS);
            format!("stddev_over_time(balance_delta[{window}:{step}] offset {offset})")
        }
    }
}

fn math_family(generator: &mut Generator) -> String {
    let metric = generator.metric(&[Kind::Gauge]);
    let selector = generator.selector(metric);
    match generator.rng.below(16) {
        0 => format!("abs({selector})"),
        1 => format!("ceil({selector})"),
        2 => format!("floor({selector})"),
        3 => format!("round({selector})"),
        4 => format!("round({selector}, 0.5)"),
        5 => format!("sqrt(abs({selector}))"),
        6 => format!("exp({selector} / 100)"),
        7 => format!("ln(abs({selector}) + 1)"),
        8 => format!("log2(abs({selector}) + 1)"),
        9 => format!("log10(abs({selector}) + 1)"),
        10 => format!("sgn({selector})"),
        11 => format!("clamp({selector}, -10, 10)"),
        12 => format!("clamp_min({selector}, 0)"),
        13 => format!("clamp_max({selector}, 5)"),
        14 => format!("-{selector}"),
        _ => {
            let function = *generator
                .rng
                .pick(&["sin", "cos", "atan", "deg", "rad", "tanh"]);
            format!("{function}({selector})")
        }
    }
}

fn time_function_family(generator: &mut Generator) -> String {
    let metric = *generator.rng.pick(&METRICS);
    let selector = generator.selector(metric);
    match generator.rng.below(10) {
        0 => format!("timestamp({selector})"),
        1 => "time()".to_owned(),
        2 => format!("hour(timestamp({selector}))"),
        3 => "minute()".to_owned(),
        4 => "vector(time()) - 60".to_owned(),
        5 => format!("scalar(sum({selector})) * 2"),
        6 => "absent(nonexistent_metric{job=\"x\"})".to_owned(),
        7 => format!("absent({selector})"),
        8 => {
            let range = generator.range();
            format!(
                "absent_over_time(batch_items_processed_total{{instance=\"worker-2\"}}[{range}])"
            )
        }
        _ => format!(
            "day_of_week() + day_of_month() + days_in_month() + month() + year() - {}",
            2000
        ),
    }
}

fn sort_family(generator: &mut Generator) -> String {
    let (inner, _) = generator.distinct_vector();
    let function = *generator.rng.pick(&["sort", "sort_desc"]);
    format!("{function}({inner})")
}

fn nested_aggregation_family(generator: &mut Generator) -> String {
    let range = *generator.rng.pick(&["5m", "10m", "30m"]);
    match generator.rng.below(5) {
        0 => format!("max by (job) (sum by (job, instance) (rate(http_requests_total[{range}])))"),
        1 => "count(count by (job) (up))".to_owned(),
        2 => "avg by (location) (max by (location, instance) (temperature_celsius))".to_owned(),
        3 => format!(
            "sum(rate(node_cpu_seconds_total{{mode=\"idle\"}}[{range}])) / count(count by (instance, cpu) (node_cpu_seconds_total))"
        ),
        _ => "stddev by (job) (queue_depth) / avg by (job) (queue_depth)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_diff_generator_is_deterministic_and_broad() {
        let first = expressions(3, 300, 1_700_000_040);
        assert_eq!(first, expressions(3, 300, 1_700_000_040));
        assert_eq!(first.len(), 300);
        for needle in [
            "rate(",
            "topk",
            "histogram_quantile",
            "label_replace",
            "offset",
            " @ ",
            ":",
            "group_left",
            " bool ",
            " unless ",
            "count_values",
            "quantile(",
        ] {
            assert!(
                first.iter().any(|expr| expr.contains(needle)),
                "no expression contains {needle:?}"
            );
        }
        let built = queries(&first, 3, 1_700_000_040);
        assert_eq!(built.len(), 600);
        for query in &built {
            let times: Vec<i64> = match query.kind {
                QueryKind::Instant { time } => vec![time],
                QueryKind::Range { start, end, step } => {
                    (start..=end).step_by(step as usize).collect()
                }
            };
            assert!(
                times
                    .iter()
                    .all(|time| (time - 1_700_000_040).rem_euclid(60) % 30 == 17)
            );
        }
    }
}
