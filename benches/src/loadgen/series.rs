//! The simulated targets: node_exporter-like hosts and the value of every series at every scrape.
//!
//! Each simulated host (`job="node"`, `instance="host-NNNN:9100"`) exposes the same
//! [`SERIES_PER_HOST`] series: CPU seconds per `cpu` and `mode` (the family
//! [`crate::node_exporter_labels`] generates, on 8 CPUs instead of 64), disk and network
//! counters per `device`, filesystem and memory gauges, load averages, collector durations, an
//! HTTP request-duration histogram (`_bucket` per `le`, `_sum`, `_count`) and the `up`/`scrape_*`
//! series Prometheus adds. Series `i` is entry `i % SERIES_PER_HOST` of host
//! `i / SERIES_PER_HOST`, so `--series` needs not be a multiple of the host size.
//!
//! Values are a pure function of (seed, series, generation, scrape): counters only go up,
//! histogram buckets are cumulative and consistent with `_count`, gauges wander around a base.
//! With churn, a replaced series keeps its slot and gets a new `instance` (`host-NNNN-gK:9100`),
//! as a restarted pod would.

/// Modes of `node_cpu_seconds_total`, as node_exporter reports them on Linux.
const CPU_MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];
/// CPUs per simulated host.
const CPUS: usize = 8;
/// Block devices per host.
const DISKS: [&str; 4] = ["nvme0n1", "nvme1n1", "sda", "sdb"];
/// Network devices per host.
const NICS: [&str; 3] = ["eth0", "eth1", "lo"];
/// Filesystems per host: device, mountpoint, fstype.
const FILESYSTEMS: [(&str, &str, &str); 4] = [
    ("/dev/nvme0n1p1", "/", "ext4"),
    ("/dev/nvme0n1p2", "/boot", "vfat"),
    ("/dev/nvme1n1", "/var/lib", "xfs"),
    ("tmpfs", "/run", "tmpfs"),
];
/// Collectors reported by `node_scrape_collector_*`.
const COLLECTORS: [&str; 10] = [
    "cpu",
    "diskstats",
    "filesystem",
    "loadavg",
    "meminfo",
    "netdev",
    "netstat",
    "stat",
    "time",
    "vmstat",
];
/// Upper bounds of the request-duration histogram (the Prometheus client default buckets).
const BUCKETS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];
/// Fraction of requests at or below each bucket bound (a cumulative distribution).
const BUCKET_SHARE: [f64; 12] = [
    0.31, 0.52, 0.74, 0.86, 0.93, 0.97, 0.985, 0.993, 0.997, 0.999, 0.9997, 1.0,
];
/// Handlers of the request-duration histogram.
const HANDLERS: [&str; 2] = ["/metrics", "/"];
/// Memory gauges: metric name and typical size in bytes.
const MEMORY: [(&str, f64); 10] = [
    ("node_memory_Active_bytes", 9.0e9),
    ("node_memory_Buffers_bytes", 3.0e8),
    ("node_memory_Cached_bytes", 6.0e9),
    ("node_memory_Dirty_bytes", 2.0e6),
    ("node_memory_Inactive_bytes", 4.0e9),
    ("node_memory_MemAvailable_bytes", 1.9e10),
    ("node_memory_MemFree_bytes", 1.2e10),
    ("node_memory_MemTotal_bytes", 3.4e10),
    ("node_memory_SwapFree_bytes", 2.0e9),
    ("node_memory_SwapTotal_bytes", 2.0e9),
];

/// Series exposed by one simulated host.
pub const SERIES_PER_HOST: usize = CPUS * CPU_MODES.len()
    + DISKS.len() * 5
    + NICS.len() * 5
    + FILESYSTEMS.len() * 3
    + MEMORY.len()
    + 3
    + COLLECTORS.len() * 2
    + HANDLERS.len() * (BUCKETS.len() + 2)
    + 3;

/// How a series' value evolves from scrape to scrape.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// Monotonic counter: about `per_second` per second, rounded to `decimals`.
    Counter { per_second: f64, decimals: i32 },
    /// Value wandering around `base` by up to `spread` (a fraction), rounded to `decimals`.
    Gauge {
        base: f64,
        spread: f64,
        decimals: i32,
    },
    /// Always the same value.
    Constant(f64),
    /// Cumulative histogram bucket: `share` of the handler's request count.
    Bucket { share: f64 },
    /// Histogram `_count`: the handler's cumulative request count.
    HistogramCount,
    /// Histogram `_sum`: seconds spent, `mean` seconds per request.
    HistogramSum { mean: f64 },
}

/// One series of the host template: metric name, labels besides `job`/`instance`, shape.
#[derive(Debug, Clone)]
struct TemplateSeries {
    name: String,
    labels: Vec<(&'static str, String)>,
    shape: Shape,
}

/// The simulated fleet: `series` series over as many hosts as they need.
#[derive(Debug, Clone)]
pub struct Fleet {
    template: Vec<TemplateSeries>,
    series: usize,
    seed: u64,
    interval_seconds: f64,
}

impl Fleet {
    /// A fleet of `series` series scraped every `interval_seconds`, values drawn from `seed`.
    pub fn new(series: usize, interval_seconds: f64, seed: u64) -> Self {
        Self {
            template: host_template(),
            series,
            seed,
            interval_seconds,
        }
    }

    /// Number of active series.
    pub fn series(&self) -> usize {
        self.series
    }

    /// Labels of series `slot` in its `generation` (0 until churn replaces it), sorted by name
    /// as remote write requires.
    pub fn labels(&self, slot: usize, generation: u64) -> Vec<(&'static str, String)> {
        let entry = &self.template[slot % self.template.len()];
        let host = slot / self.template.len();
        let instance = if generation == 0 {
            format!("host-{host:05}:9100")
        } else {
            format!("host-{host:05}-g{generation}:9100")
        };
        let mut labels = Vec::with_capacity(entry.labels.len() + 3);
        labels.push(("__name__", entry.name.clone()));
        labels.push(("instance", instance));
        labels.push(("job", "node".to_owned()));
        labels.extend(entry.labels.iter().cloned());
        labels.sort_by(|left, right| left.0.cmp(right.0));
        labels
    }

    /// Value of series `slot` (in its `generation`) at scrape number `step`.
    pub fn value(&self, slot: usize, generation: u64, step: u64) -> f64 {
        let entry = &self.template[slot % self.template.len()];
        let identity = mix(self.seed ^ mix(slot as u64) ^ mix(generation.wrapping_add(1) << 32));
        // A per-series scale in [0.5, 1.5) so hosts do not look identical.
        let scale = 0.5 + unit(identity);
        let elapsed = step as f64 * self.interval_seconds;
        let noise = unit(mix(identity ^ step));
        match entry.shape {
            Shape::Counter {
                per_second,
                decimals,
            } => {
                // Increments between scrapes vary in [0.5, 1.5) of the mean, so the counter
                // never goes down; the start is an arbitrary uptime's worth.
                let mean_step = per_second * scale * self.interval_seconds;
                let start = mean_step * (1000.0 + 5000.0 * unit(identity >> 7));
                round(
                    start + mean_step * step as f64 + mean_step * 0.5 * noise,
                    decimals,
                )
            }
            Shape::Gauge {
                base,
                spread,
                decimals,
            } => {
                let phase = unit(identity >> 11) * std::f64::consts::TAU;
                let wave = (elapsed / 600.0 + phase).sin();
                let value = base * scale * (1.0 + spread * (0.7 * wave + 0.3 * (noise - 0.5)));
                round(value, decimals)
            }
            Shape::Constant(value) => value,
            Shape::Bucket { share } => (self.requests(step) * share).floor(),
            Shape::HistogramCount => self.requests(step),
            Shape::HistogramSum { mean } => round(self.requests(step) * mean, 3),
        }
    }

    /// Cumulative requests counted by a request-duration histogram at scrape `step`: two per
    /// second. Every series of one histogram shares it, so buckets stay at or below `_count`.
    fn requests(&self, step: u64) -> f64 {
        let per_scrape = 2.0 * self.interval_seconds;
        (500.0 + per_scrape * step as f64).floor()
    }
}

/// The series one host exposes, in a fixed order.
fn host_template() -> Vec<TemplateSeries> {
    let mut template = Vec::with_capacity(SERIES_PER_HOST);
    let mut add = |name: &str, labels: Vec<(&'static str, String)>, shape: Shape| {
        template.push(TemplateSeries {
            name: name.to_owned(),
            labels,
            shape,
        });
    };
    for cpu in 0..CPUS {
        for mode in CPU_MODES {
            let per_second = if mode == "idle" { 0.8 } else { 0.02 };
            add(
                "node_cpu_seconds_total",
                vec![("cpu", cpu.to_string()), ("mode", mode.to_owned())],
                Shape::Counter {
                    per_second,
                    decimals: 2,
                },
            );
        }
    }
    for device in DISKS {
        for (name, per_second) in [
            ("node_disk_read_bytes_total", 2.0e5),
            ("node_disk_written_bytes_total", 8.0e5),
            ("node_disk_reads_completed_total", 40.0),
            ("node_disk_writes_completed_total", 120.0),
            ("node_disk_io_time_seconds_total", 0.05),
        ] {
            let decimals = if per_second < 1.0 { 3 } else { 0 };
            add(
                name,
                vec![("device", device.to_owned())],
                Shape::Counter {
                    per_second,
                    decimals,
                },
            );
        }
    }
    for device in NICS {
        for (name, per_second) in [
            ("node_network_receive_bytes_total", 1.5e6),
            ("node_network_transmit_bytes_total", 9.0e5),
            ("node_network_receive_packets_total", 1.2e3),
            ("node_network_transmit_packets_total", 9.0e2),
            ("node_network_receive_errs_total", 0.001),
        ] {
            add(
                name,
                vec![("device", device.to_owned())],
                Shape::Counter {
                    per_second,
                    decimals: 0,
                },
            );
        }
    }
    for (device, mountpoint, fstype) in FILESYSTEMS {
        let labels = vec![
            ("device", device.to_owned()),
            ("fstype", fstype.to_owned()),
            ("mountpoint", mountpoint.to_owned()),
        ];
        add(
            "node_filesystem_avail_bytes",
            labels.clone(),
            Shape::Gauge {
                base: 2.0e11,
                spread: 0.001,
                decimals: -3,
            },
        );
        add(
            "node_filesystem_size_bytes",
            labels.clone(),
            Shape::Constant(5.0e11),
        );
        add(
            "node_filesystem_files_free",
            labels,
            Shape::Gauge {
                base: 3.0e7,
                spread: 0.0001,
                decimals: 0,
            },
        );
    }
    for (name, base) in MEMORY {
        let shape = if name.ends_with("Total_bytes") {
            Shape::Constant(base)
        } else {
            Shape::Gauge {
                base,
                spread: 0.05,
                decimals: -3,
            }
        };
        add(name, vec![], shape);
    }
    for (name, base) in [
        ("node_load1", 1.2),
        ("node_load5", 1.0),
        ("node_load15", 0.9),
    ] {
        add(
            name,
            vec![],
            Shape::Gauge {
                base,
                spread: 0.4,
                decimals: 2,
            },
        );
    }
    for collector in COLLECTORS {
        add(
            "node_scrape_collector_duration_seconds",
            vec![("collector", collector.to_owned())],
            Shape::Gauge {
                base: 0.002,
                spread: 0.5,
                decimals: 6,
            },
        );
        add(
            "node_scrape_collector_success",
            vec![("collector", collector.to_owned())],
            Shape::Constant(1.0),
        );
    }
    for handler in HANDLERS {
        for (le, share) in BUCKETS.iter().zip(BUCKET_SHARE) {
            add(
                "http_request_duration_seconds_bucket",
                vec![("handler", handler.to_owned()), ("le", (*le).to_owned())],
                Shape::Bucket { share },
            );
        }
        add(
            "http_request_duration_seconds_count",
            vec![("handler", handler.to_owned())],
            Shape::HistogramCount,
        );
        add(
            "http_request_duration_seconds_sum",
            vec![("handler", handler.to_owned())],
            Shape::HistogramSum { mean: 0.021 },
        );
    }
    add("up", vec![], Shape::Constant(1.0));
    add(
        "scrape_duration_seconds",
        vec![],
        Shape::Gauge {
            base: 0.03,
            spread: 0.3,
            decimals: 4,
        },
    );
    add(
        "scrape_samples_scraped",
        vec![],
        Shape::Constant(SERIES_PER_HOST as f64),
    );
    template
}

/// SplitMix64 finaliser: a cheap, well-spread hash of a 64-bit value.
fn mix(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^ (value >> 31)
}

/// Maps a hash to [0, 1).
fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// Rounds to `decimals` places (negative: to tens, thousands, …), like exporters' precision.
fn round(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_template_has_the_advertised_size_and_unique_series() {
        let fleet = Fleet::new(3 * SERIES_PER_HOST, 15.0, 7);
        assert_eq!(fleet.template.len(), SERIES_PER_HOST);
        let distinct: HashSet<_> = (0..fleet.series())
            .map(|slot| fleet.labels(slot, 0))
            .collect();
        assert_eq!(distinct.len(), fleet.series());
    }

    #[test]
    fn labels_are_sorted_and_carry_job_and_instance() {
        let fleet = Fleet::new(1000, 15.0, 1);
        for slot in [0, 63, 64, 500, 999] {
            let labels = fleet.labels(slot, 0);
            assert!(
                labels.windows(2).all(|pair| pair[0].0 < pair[1].0),
                "{labels:?}"
            );
            assert!(
                labels
                    .iter()
                    .any(|(name, value)| *name == "job" && value == "node")
            );
            assert!(labels.iter().any(|(name, _)| *name == "instance"));
        }
        let cpu = fleet.labels(0, 0);
        assert!(cpu.contains(&("cpu", "0".to_owned())));
        assert!(cpu.contains(&("mode", "idle".to_owned())));
    }

    #[test]
    fn a_new_generation_is_a_new_series() {
        let fleet = Fleet::new(10, 15.0, 1);
        assert_ne!(fleet.labels(3, 0), fleet.labels(3, 1));
        assert_ne!(fleet.labels(3, 1), fleet.labels(3, 2));
    }

    #[test]
    fn counters_and_buckets_never_decrease() {
        let fleet = Fleet::new(SERIES_PER_HOST, 15.0, 42);
        for slot in 0..SERIES_PER_HOST {
            let entry = &fleet.template[slot];
            let monotonic = matches!(
                entry.shape,
                Shape::Counter { .. }
                    | Shape::Bucket { .. }
                    | Shape::HistogramCount
                    | Shape::HistogramSum { .. }
            );
            if !monotonic {
                continue;
            }
            let values: Vec<f64> = (0..200).map(|step| fleet.value(slot, 0, step)).collect();
            assert!(
                values.windows(2).all(|pair| pair[0] <= pair[1]),
                "{} {:?}",
                entry.name,
                entry.labels
            );
        }
    }

    #[test]
    fn buckets_are_cumulative_and_end_at_the_count() {
        let fleet = Fleet::new(SERIES_PER_HOST, 15.0, 3);
        let first_bucket = fleet
            .template
            .iter()
            .position(|entry| entry.name.ends_with("_bucket"))
            .unwrap();
        for step in [0, 10, 1000] {
            let buckets: Vec<f64> = (first_bucket..first_bucket + BUCKETS.len())
                .map(|slot| fleet.value(slot, 0, step))
                .collect();
            assert!(buckets.windows(2).all(|pair| pair[0] <= pair[1]));
            let count = fleet.value(first_bucket + BUCKETS.len(), 0, step);
            assert_eq!(buckets.last().copied(), Some(count));
        }
    }

    #[test]
    fn values_depend_on_the_seed_only_through_the_hash() {
        let one = Fleet::new(500, 15.0, 1);
        let same = Fleet::new(500, 15.0, 1);
        let other = Fleet::new(500, 15.0, 2);
        let sample = |fleet: &Fleet| {
            (0..500)
                .map(|slot| fleet.value(slot, 0, 5))
                .collect::<Vec<_>>()
        };
        assert_eq!(sample(&one), sample(&same));
        assert_ne!(sample(&one), sample(&other));
    }
}
