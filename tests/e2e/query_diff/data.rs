//! The data both servers receive: a seeded pseudo-random generator and about 150 series of
//! counters (with resets), gauges (negative values included), integer gauges, a classic
//! histogram (`_bucket` by `le`, `_sum`, `_count`), `up`, and series that start late or stop
//! early, over two hours at a 15s interval.
//!
//! Every sample timestamp sits [`SAMPLE_OFFSET_MS`] (7.3s) past a 15s grid that starts on a
//! whole minute, so no sample ever falls on a whole second. Queries are evaluated at whole
//! seconds with whole-second ranges, offsets and steps, so no sample falls on a range boundary:
//! Prometheus 2.x selects ranges closed on the left (`[t - r, t]`) and 3.x open on the left
//! (`(t - r, t]`), and with this data both select the same samples.
//!
//! Queries only look at the second hour (see [`super::queries::INSTANT_TIMES`]) and reach back
//! at most 55 minutes, so no query window starts before the data does. That keeps out a
//! difference between Prometheus 2.42 and 3.x in `rate`/`increase` extrapolation: when a
//! window starts well before a counter's first sample and the counter starts near zero (the
//! histogram's `_bucket`/`_count`/`_sum` series start at 0 here), 2.42 first caps the
//! extrapolation at the counter's zero point and then applies the "more than 1.1 sample
//! intervals away: extrapolate half an interval" rule, while 3.x (since 2.52, prometheus PR
//! #13725) applies the half-interval rule first and the zero point after it. The first run of
//! this test, with windows reaching before the data, showed exactly that: 3.x-correct rates
//! from Norn 0.5–0.8% below 2.42's on the histogram counters in windows covering their start.

use norn_e2e::remote::Series;

/// Milliseconds between two samples of a series.
pub(crate) const INTERVAL_MS: i64 = 15_000;
/// How far past the 15s grid every sample sits.
pub(crate) const SAMPLE_OFFSET_MS: i64 = 7_300;
/// Samples per series (two hours at 15s).
pub(crate) const SAMPLES: usize = 480;

/// A small seeded pseudo-random generator (SplitMix64): deterministic on every platform and
/// good enough for test data; the e2e crate takes no random-number crate for this.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator whose whole sequence is fixed by `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A float in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A float in `[low, high)`.
    pub(crate) fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// An index in `0..count` (`count` > 0).
    pub(crate) fn below(&mut self, count: usize) -> usize {
        (self.next_u64() % count as u64) as usize
    }

    /// True with probability `probability`.
    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The generated series and the time span they cover.
#[derive(Debug, Clone)]
pub(crate) struct Dataset {
    /// Every series with its samples in time order.
    pub(crate) series: Vec<Series>,
    /// The whole minute the sample grid starts on (Unix ms); the first sample is 7.3s later.
    pub(crate) base_ms: i64,
}

impl Dataset {
    /// Timestamp of sample `index` of every series that has it.
    pub(crate) fn sample_time(&self, index: usize) -> i64 {
        self.base_ms + SAMPLE_OFFSET_MS + INTERVAL_MS * index as i64
    }

    /// Number of samples over all series.
    pub(crate) fn sample_count(&self) -> usize {
        self.series.iter().map(|series| series.samples.len()).sum()
    }

    /// The series cut to the samples with index in `range` (series without any are left out):
    /// the data is pushed in time slices, as a remote-write client sends it.
    pub(crate) fn slice(&self, range: std::ops::Range<i64>) -> Vec<Series> {
        self.series
            .iter()
            .filter_map(|series| {
                let samples: Vec<(i64, f64)> = series
                    .samples
                    .iter()
                    .copied()
                    .filter(|(timestamp, _)| range.contains(timestamp))
                    .collect();
                (!samples.is_empty()).then(|| Series {
                    labels: series.labels.clone(),
                    samples,
                })
            })
            .collect()
    }
}

/// Jobs with instances, as `up` and most families label them.
pub(crate) const SERVICE_JOBS: [&str; 2] = ["api", "web"];
/// Instances of every service job.
pub(crate) const SERVICE_INSTANCES: [&str; 3] = ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"];
/// HTTP methods of `http_requests_total`.
pub(crate) const METHODS: [&str; 2] = ["GET", "POST"];
/// Status codes of `http_requests_total`, with their mean requests per second.
pub(crate) const CODES: [(&str, f64); 3] = [("200", 12.0), ("404", 1.5), ("500", 0.3)];
/// Instances of `job="node"`.
pub(crate) const NODE_INSTANCES: [&str; 3] = ["node-a:9100", "node-b:9100", "node-c:9100"];
/// CPU modes of `node_cpu_seconds_total`.
pub(crate) const CPU_MODES: [&str; 4] = ["idle", "iowait", "system", "user"];
/// Sensor instances of `temperature_celsius`.
pub(crate) const SENSOR_INSTANCES: [&str; 3] = ["sensor-1", "sensor-2", "sensor-3"];
/// Locations of `temperature_celsius`: name, mean degrees, swing.
pub(crate) const LOCATIONS: [(&str, f64, f64); 3] = [
    ("freezer", -18.0, 1.5),
    ("indoor", 21.0, 1.0),
    ("outdoor", 3.0, 7.0),
];
/// Queues of `queue_depth`.
pub(crate) const QUEUES: [&str; 2] = ["high", "low"];
/// Upper bounds of `request_duration_seconds_bucket`.
pub(crate) const BUCKETS: [&str; 7] = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
/// Accounts of `balance_delta`.
pub(crate) const ACCOUNTS: [&str; 4] = ["acme", "globex", "initech", "umbrella"];
/// Workers of `batch_items_processed_total`: one runs throughout, one starts late and stops
/// early (series that appear and vanish inside the window).
pub(crate) const WORKERS: [&str; 2] = ["worker-1", "worker-2"];

/// Generates the dataset for `seed` on a grid starting at `base_ms` (a whole minute).
pub(crate) fn generate(seed: u64, base_ms: i64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut dataset = Dataset {
        series: Vec::new(),
        base_ms,
    };
    let times: Vec<i64> = (0..SAMPLES)
        .map(|index| dataset.sample_time(index))
        .collect();
    let mut out = Vec::new();
    http_requests(&mut rng, &times, &mut out);
    node_cpu(&mut rng, &times, &mut out);
    temperatures(&mut rng, &times, &mut out);
    queue_depths(&mut rng, &times, &mut out);
    histograms(&mut rng, &times, &mut out);
    up(&mut rng, &times, &mut out);
    balances(&mut rng, &times, &mut out);
    batch_workers(&mut rng, &times, &mut out);
    dataset.series = out;
    dataset
}

fn series(name: &str, labels: &[(&str, &str)], samples: Vec<(i64, f64)>) -> Series {
    let mut pairs = vec![("__name__", name)];
    pairs.extend_from_slice(labels);
    pairs.sort();
    Series::new(&pairs, &samples)
}

/// Rounds to `decimals` places, as exporters often do (keeps values readable in failures).
fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// A counter: increments drawn around `per_second`, restarting from a small value at `reset`
/// (a process restart) when given.
fn counter(
    rng: &mut Rng,
    times: &[i64],
    per_second: f64,
    decimals: i32,
    reset: Option<usize>,
) -> Vec<(i64, f64)> {
    let mut value = round_to(rng.between(0.0, 5000.0) * per_second, decimals);
    times
        .iter()
        .enumerate()
        .map(|(index, &timestamp)| {
            let increment = per_second * 15.0 * rng.between(0.2, 1.8);
            value = if reset == Some(index) {
                round_to(increment * rng.unit(), decimals)
            } else {
                round_to(value + increment, decimals)
            };
            (timestamp, value)
        })
        .collect()
}

fn http_requests(rng: &mut Rng, times: &[i64], out: &mut Vec<Series>) {
    for job in SERVICE_JOBS {
        for instance in SERVICE_INSTANCES {
            // One instance per job restarts once: all its counters reset together.
            let restart = (instance == SERVICE_INSTANCES[1]).then(|| 40 + rng.below(SAMPLES - 80));
            for method in METHODS {
                for (code, per_second) in CODES {
                    let scale = if method == "POST" { 0.4 } else { 1.0 };
                    // A few more resets on single series, as a counter overflow or a bug would.
                    let reset =
                        restart.or_else(|| rng.chance(0.15).then(|| 20 + rng.below(SAMPLES - 40)));
                    let samples = counter(rng, times, per_second * scale, 0, reset);
                    out.push(series(
                        "http_requests_total",
                        &[
                            ("code", code),
                            ("instance", instance),
                            ("job", job),
                            ("method", method),
                        ],
                        samples,
                    ));
                }
            }
        }
    }
}

fn node_cpu(rng: &mut Rng, times: &[i64], out: &mut Vec<Series>) {
    for instance in NODE_INSTANCES {
        let reboot = (instance == NODE_INSTANCES[2]).then(|| 100 + rng.below(SAMPLES - 140));
        for cpu in ["0", "1"] {
            for mode in CPU_MODES {
                let per_second = match mode {
                    "idle" => 0.7,
                    "user" => 0.2,
                    "system" => 0.07,
                    _ => 0.03,
                };
                // Five decimals (node_exporter reports two) keep rates of different series
                // apart, so `topk`/`sort` over them never meet a tie.
                let samples = counter(rng, times, per_second, 5, reboot);
                out.push(series(
                    "node_cpu_seconds_total",
                    &[
                        ("cpu", cpu),
                        ("instance", instance),
                        ("job", "node"),
                        ("mode", mode),
                    ],
                    samples,
                ));
            }
        }
    }
}

fn temperatures(rng: &mut Rng, times: &[i64], out: &mut Vec<Series>) {
    for instance in SENSOR_INSTANCES {
        for (location, mean, swing) in LOCATIONS {
            let phase = rng.between(0.0, std::f64::consts::TAU);
            let period_s = rng.between(900.0, 2400.0);
            let samples = times
                .iter()
                .enumerate()
                .map(|(index, &timestamp)| {
                    let wave =
                        (index as f64 * 15.0 / period_s * std::f64::consts::TAU + phase).sin();
                    let value = mean + swing * wave + rng.between(-0.3, 0.3);
                    (timestamp, round_to(value, 3))
                })
                .collect();
            out.push(series(
                "temperature_celsius",
                &[
                    ("instance", instance),
                    ("job", "sensors"),
                    ("location", location),
                ],
                samples,
            ));
        }
    }
}

fn queue_depths(rng: &mut Rng, times: &[i64], out: &mut Vec<Series>) {
    for job in SERVICE_JOBS {
        for instance in SERVICE_INSTANCES {
            for queue in QUEUES {
                let mut depth: f64 = rng.between(0.0, 20.0).floor();
                let samples = times
                    .iter()
                    .map(|&timestamp| {
                        depth = (depth + rng.between(-4.0, 4.5).round()).clamp(0.0, 60.0);
                        (timestamp, depth)
                    })
                    .collect();
                out.push(series(
                    "queue_depth",
                    &[("instance", instance), ("job", job), ("queue", queue)],
                    samples,
                ));
            }
        }
    }
}

/// A classic histogram per service instance: cumulative buckets consistent with `_count`,
/// all reset together when the instance restarts.
fn histograms(rng: &mut Rng, times: &[i64], out: &mut Vec<Series>) {
    for job in SERVICE_JOBS {
        for instance in SERVICE_INSTANCES {
            let restart = (instance == SERVICE_INSTANCES[2]).then(|| 60 + rng.below(SAMPLES - 120));
            // Typical latency of this instance: shifts which buckets fill.
            let typical = rng.between(0.05, 0.6);
            let mut buckets = [0f64; BUCKETS.len()];
            let mut sum = 0f64;
            let mut bucket_samples: Vec<Vec<(i64, f64)>> = vec![Vec::new(); BUCKETS.len()];
            let mut sum_samples = Vec::new();
            for (index, &timestamp) in times.iter().enumerate() {
                if restart == Some(index) {
                    buckets = [0.0; BUCKETS.len()];
                    sum = 0.0;
                }
                for _ in 0..5 + rng.below(25) {
                    // A skewed duration: typical × e^(gaussian-ish).
                    let spread = rng.unit() + rng.unit() + rng.unit() - 1.5;
                    let duration = typical * (1.6 * spread).exp();
                    sum += duration;
                    for (bucket, bound) in BUCKETS.iter().enumerate() {
                        let bound: f64 = bound.parse().unwrap_or(f64::INFINITY);
                        if duration <= bound {
                            buckets[bucket] += 1.0;
                        }
                    }
                }
                for (bucket, value) in buckets.iter().enumerate() {
                    bucket_samples[bucket].push((timestamp, *value));
                }
                sum_samples.push((timestamp, round_to(sum, 4)));
            }
            let count_samples = bucket_samples[BUCKETS.len() - 1].clone();
            for (bound, samples) in BUCKETS.iter().zip(bucket_samples) {
                out.push(series(
                    "request_duration_seconds_bucket",
                    &[("instance", instance), ("job", job), ("le", bound)],
                    samples,
                ));
            }
            let labels = [("instance", instance), ("job", job)];
            out.push(series("request_duration_seconds_sum", &labels, sum_samples));
            out.push(series(
                "request_duration_seconds_count",
                &labels,
                count_samples,
            ));
        }
    }
}

fn up(rng: &mut Rng, times: &[i64], out: &mut Vec<Series>) {
    let jobs = [
        ("api", &SERVICE_INSTANCES[..]),
        ("web", &SERVICE_INSTANCES[..]),
        ("node", &NODE_INSTANCES[..]),
        ("sensors", &SENSOR_INSTANCES[..]),
    ];
    for (job, instances) in jobs {
        for instance in instances {
            // Some targets are down for a stretch.
            let down_from = rng.chance(0.3).then(|| rng.below(SAMPLES));
            let down_for = 4 + rng.below(40);
            let samples = times
                .iter()
                .enumerate()
                .map(|(index, &timestamp)| {
                    let down =
                        down_from.is_some_and(|from| (from..from + down_for).contains(&index));
                    (timestamp, if down { 0.0 } else { 1.0 })
                })
                .collect();
            out.push(series(
                "up",
                &[("instance", instance), ("job", job)],
                samples,
            ));
        }
    }
}

/// Gauges wandering around zero: negative values, sign changes, abs/sgn/clamp material.
fn balances(rng: &mut Rng, times: &[i64], out: &mut Vec<Series>) {
    for account in ACCOUNTS {
        let mut balance = rng.between(-500.0, 500.0);
        let samples = times
            .iter()
            .map(|&timestamp| {
                balance += rng.between(-40.0, 40.0);
                (timestamp, round_to(balance, 2))
            })
            .collect();
        out.push(series(
            "balance_delta",
            &[("account", account), ("job", "ledger")],
            samples,
        ));
    }
}

fn batch_workers(rng: &mut Rng, times: &[i64], out: &mut Vec<Series>) {
    for worker in WORKERS {
        let mut samples = counter(rng, times, 3.0, 0, None);
        if worker == WORKERS[1] {
            // Starts a third of the way in, stops at three quarters: absent at the end.
            samples.truncate(SAMPLES * 3 / 4);
            samples.drain(..SAMPLES / 3);
        }
        out.push(series(
            "batch_items_processed_total",
            &[("instance", worker), ("job", "batch")],
            samples,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_diff_data_is_deterministic_and_well_formed() {
        let first = generate(7, 1_700_000_040_000);
        let again = generate(7, 1_700_000_040_000);
        assert_eq!(first.series, again.series);
        assert!(
            (100..=200).contains(&first.series.len()),
            "{}",
            first.series.len()
        );
        for one in &first.series {
            assert!(one.samples.windows(2).all(|pair| pair[0].0 < pair[1].0));
            // No sample on a whole second (see the module doc).
            assert!(
                one.samples
                    .iter()
                    .all(|(timestamp, _)| timestamp % 1000 != 0)
            );
        }
        // Histogram buckets are cumulative at every sample.
        let buckets: Vec<&Series> = first
            .series
            .iter()
            .filter(|one| {
                one.label("__name__") == Some("request_duration_seconds_bucket")
                    && one.label("job") == Some("api")
                    && one.label("instance") == Some(SERVICE_INSTANCES[0])
            })
            .collect();
        assert_eq!(buckets.len(), BUCKETS.len());
        let bound = |one: &Series| {
            one.label("le")
                .unwrap()
                .parse::<f64>()
                .unwrap_or(f64::INFINITY)
        };
        let mut sorted = buckets.clone();
        sorted.sort_by(|a, b| bound(a).total_cmp(&bound(b)));
        for index in 0..SAMPLES {
            let values: Vec<f64> = sorted.iter().map(|one| one.samples[index].1).collect();
            assert!(
                values.windows(2).all(|pair| pair[0] <= pair[1]),
                "{values:?}"
            );
        }
        assert!(
            first
                .series
                .iter()
                .flat_map(|one| &one.samples)
                .any(|(_, value)| *value < 0.0)
        );
    }
}
