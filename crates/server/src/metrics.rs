//! Process-level metrics: build info, process resources and service states.
//!
//! - `norn_build_info{version, revision, rustc}`: always 1, for dashboards and alerts that
//!   join on the running version.
//! - `process_cpu_seconds_total`, `process_resident_memory_bytes`,
//!   `process_virtual_memory_bytes`, `process_open_fds`, `process_start_time_seconds`: the
//!   standard process metrics every Prometheus client library exports, read from `/proc` at
//!   scrape time (Linux only; elsewhere they are left out). The benchmark harness uses them.
//! - `norn_service_state{service, state}`: 1 for each service's current state, 0 for the others.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

use norn_common::service::{ServiceStatus, State};

/// Registers `norn_build_info`.
pub fn register_build_info(registry: &mut Registry) {
    let info: Family<Vec<(String, String)>, Gauge> = Family::default();
    info.get_or_create(&vec![
        ("version".to_owned(), crate::VERSION.to_owned()),
        ("revision".to_owned(), crate::REVISION.to_owned()),
        ("rustc".to_owned(), crate::RUSTC_VERSION.to_owned()),
    ])
    .set(1);
    registry.register(
        "norn_build_info",
        "A metric with a constant '1' value labeled by version, revision and compiler",
        info,
    );
}

/// Reports the state of every service at scrape time.
#[derive(Debug)]
pub struct ServiceStateCollector {
    status: ServiceStatus,
}

impl ServiceStateCollector {
    /// Returns a collector over `status`.
    pub fn new(status: ServiceStatus) -> Self {
        Self { status }
    }
}

impl Collector for ServiceStateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let mut metric = encoder.encode_descriptor(
            "norn_service_state",
            "Current lifecycle state of each service: 1 for the state it is in, 0 otherwise",
            None,
            MetricType::Gauge,
        )?;
        for (service, current) in self.status.states() {
            for state in State::ALL {
                let labels = [("service", service.as_str()), ("state", state.as_str())];
                let value = ConstGauge::new(i64::from(state == current));
                value.encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// Reads the standard process metrics from `/proc/self` at scrape time.
#[derive(Debug, Default)]
pub struct ProcessCollector;

/// The kernel's USER_HZ, the unit of CPU times in `/proc/<pid>/stat`; 100 on every mainstream
/// Linux architecture.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Default, PartialEq)]
struct ProcessSample {
    cpu_seconds: f64,
    resident_bytes: i64,
    virtual_bytes: i64,
    start_time_seconds: f64,
    open_fds: i64,
}

fn read_process_sample() -> Option<ProcessSample> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let boot_time = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|value| value.trim().parse::<f64>().ok())?;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count();
    parse_process_sample(&stat, &status, boot_time, open_fds)
}

fn parse_process_sample(
    stat: &str,
    status: &str,
    boot_time: f64,
    open_fds: usize,
) -> Option<ProcessSample> {
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after_command = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_command.split_whitespace().collect();
    // `fields[0]` is field 3 (state) of proc(5); utime is 14, stime 15, starttime 22, vsize 23.
    let field = |number: usize| fields.get(number - 3).and_then(|v| v.parse::<f64>().ok());
    let kilobytes = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse::<i64>().ok())
            .map(|kb| kb * 1024)
    };
    Some(ProcessSample {
        cpu_seconds: (field(14)? + field(15)?) / CLOCK_TICKS_PER_SECOND,
        resident_bytes: kilobytes("VmRSS:").unwrap_or(0),
        virtual_bytes: field(23)? as i64,
        start_time_seconds: boot_time + field(22)? / CLOCK_TICKS_PER_SECOND,
        open_fds: i64::try_from(open_fds).unwrap_or(i64::MAX),
    })
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(sample) = read_process_sample() else {
            return Ok(());
        };
        ConstCounter::new(sample.cpu_seconds).encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            MetricType::Counter,
        )?)?;
        for (name, help, value) in [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                sample.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                sample.virtual_bytes,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                sample.open_fds,
            ),
        ] {
            ConstGauge::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }
        ConstGauge::new(sample.start_time_seconds).encode(encoder.encode_descriptor(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            None,
            MetricType::Gauge,
        )?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files_including_commands_with_spaces() {
        let stat = "42 (my (odd) cmd) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 1000 123456789 500 18446744073709551615";
        let status = "Name:\tx\nVmRSS:\t   2048 kB\nThreads:\t4\n";
        let sample = parse_process_sample(stat, status, 1_700_000_000.0, 7).unwrap();
        assert_eq!(sample.cpu_seconds, 3.0);
        assert_eq!(sample.resident_bytes, 2048 * 1024);
        assert_eq!(sample.virtual_bytes, 123_456_789);
        assert_eq!(sample.start_time_seconds, 1_700_000_010.0);
        assert_eq!(sample.open_fds, 7);
        assert!(parse_process_sample("garbage", status, 0.0, 0).is_none());
    }

    #[test]
    fn reads_this_process() {
        let sample = read_process_sample().expect("/proc is available on Linux");
        assert!(sample.resident_bytes > 0);
        assert!(sample.open_fds > 0);
    }
}
