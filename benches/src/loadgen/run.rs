//! Runs an ingest load: one producer thread encodes requests in plan order, one sender thread
//! per connection posts them, and the clock only runs while requests are on the wire.
//!
//! Before the clock starts the producer fills per-sender queues up to `--prebuffer-mib` (all
//! of a run when it fits, which keeps encoding out of the measurement); beyond that it keeps
//! encoding while the senders drain the queues, and the report says how many requests were
//! ready beforehand. Senders pace themselves when a rate is set and otherwise send back to back.

use std::collections::BTreeMap;
use std::io::{self, Write as _};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::loadgen::config::IngestConfig;
use crate::loadgen::encode::{EncodeError, EncodedRequest, RequestEncoder};
use crate::loadgen::http::Connection;
use crate::loadgen::plan::Plan;
use crate::loadgen::report::{IngestReport, LatencySummary};
use crate::loadgen::series::Fleet;

/// How often progress is printed on stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How often the main thread looks at the senders.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on Linux).
const PROC_TICKS_PER_SECOND: f64 = 100.0;

/// A run that could not be carried out (failed requests are not errors: they are reported).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A request could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The operating system refused a thread.
    #[error("cannot start a thread: {0}")]
    Thread(io::Error),
    /// A thread of the run panicked.
    #[error("the {0} thread stopped unexpectedly")]
    ThreadLost(&'static str),
}

/// Request counters shared with the progress printer.
#[derive(Debug, Default)]
struct Progress {
    requests: AtomicU64,
    failed: AtomicU64,
    samples_ok: AtomicU64,
    finished_senders: AtomicUsize,
}

/// What one sender thread saw.
#[derive(Debug, Default)]
struct SenderStats {
    requests: u64,
    requests_ok: u64,
    samples_ok: u64,
    samples_attempted: u64,
    body_bytes: u64,
    latencies_micros: Vec<u32>,
    errors: BTreeMap<String, u64>,
    error_examples: BTreeMap<String, String>,
    finished: Option<Instant>,
}

/// Runs the load `config` describes and reports on it.
pub fn run_ingest(config: &IngestConfig) -> Result<IngestReport, RunError> {
    let plan = plan_for(config, unix_now_ms());
    let fleet = Fleet::new(config.series, config.interval.as_secs_f64(), config.seed);
    let mut encoder = RequestEncoder::new(fleet, plan.clone());
    let first = encoder.encode(0)?;
    let senders = plan.active_senders();
    let queued_total = (config.prebuffer_bytes / first.body.len().max(1)).max(senders);
    let per_sender = queued_total.div_ceil(senders);

    let progress = Arc::new(Progress::default());
    let barrier = Arc::new(Barrier::new(senders + 1));
    let pace = config
        .samples_per_second()
        .map(|rate| rate / senders as f64);
    let mut queues = Vec::with_capacity(senders);
    let mut sender_threads = Vec::with_capacity(senders);
    for index in 0..senders {
        let (queue, receiver) = mpsc::sync_channel(per_sender);
        queues.push(queue);
        let connection = Connection::new(config.endpoint.clone(), &headers(config));
        let barrier = Arc::clone(&barrier);
        let progress = Arc::clone(&progress);
        let handle = thread::Builder::new()
            .name(format!("sender-{index}"))
            .spawn(move || send_all(receiver, connection, &barrier, pace, &progress))
            .map_err(RunError::Thread)?;
        sender_threads.push(handle);
    }
    let (prefilled_tx, prefilled_rx) = mpsc::channel();
    let producer = thread::Builder::new()
        .name("producer".to_owned())
        .spawn(move || produce(encoder, first, queues, &prefilled_tx))
        .map_err(RunError::Thread)?;

    let prebuffered = prefilled_rx.recv().unwrap_or(0);
    say(config, &format!("{prebuffered} requests encoded; sending"));
    let cpu_before = process_cpu_seconds();
    barrier.wait();
    let started = Instant::now();
    watch(config, &plan, &progress, senders, started);
    let mut stats = Vec::with_capacity(senders);
    for handle in sender_threads {
        stats.push(handle.join().map_err(|_| RunError::ThreadLost("sender"))?);
    }
    let client_cpu_seconds = process_cpu_seconds() - cpu_before;
    producer
        .join()
        .map_err(|_| RunError::ThreadLost("producer"))??;
    Ok(assemble(
        config,
        &plan,
        stats,
        started,
        prebuffered,
        client_cpu_seconds,
    ))
}

/// The plan of `config`; without `--start-ms` the first scrape is placed so that no sample is
/// in the future when it is sent, even at the offered rate.
fn plan_for(config: &IngestConfig, now_ms: i64) -> Plan {
    let interval_ms = i64::try_from(config.interval.as_millis()).unwrap_or(i64::MAX);
    let span_ms = interval_ms.saturating_mul(config.scrapes as i64);
    let expected_wall_ms = config.samples_per_second().map_or(0, |rate| {
        (config.series as f64 * config.scrapes as f64 / rate * 1000.0) as i64
    });
    let start_ms = config
        .start_ms
        .unwrap_or_else(|| now_ms - span_ms + expected_wall_ms.min(span_ms));
    Plan {
        series: config.series,
        scrapes: config.scrapes,
        batch: config.batch,
        concurrency: config.concurrency,
        start_ms,
        interval_ms,
        churn_per_hour: config.churn_per_hour,
    }
}

fn headers(config: &IngestConfig) -> Vec<(&str, &str)> {
    let mut headers = vec![
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ];
    if let Some(tenant) = &config.tenant {
        headers.push(("X-Scope-OrgID", tenant.as_str()));
    }
    headers
}

/// Encodes every request in order and queues it for its sender. Sends the number of requests
/// queued before the first full queue (or all of them) on `prefilled`.
fn produce(
    mut encoder: RequestEncoder,
    first: EncodedRequest,
    queues: Vec<SyncSender<EncodedRequest>>,
    prefilled: &mpsc::Sender<u64>,
) -> Result<(), EncodeError> {
    let total = encoder.plan().total_requests();
    let mut pending = Some(first);
    let mut produced = 0u64;
    let mut notified = false;
    for index in 0..total {
        let request = match pending.take() {
            Some(request) => request,
            None => encoder.encode(index)?,
        };
        let Some(queue) = queues.get(request.sender) else {
            break;
        };
        match queue.try_send(request) {
            Ok(()) => {}
            Err(TrySendError::Full(request)) => {
                if !notified {
                    let _ = prefilled.send(produced);
                    notified = true;
                }
                if queue.send(request).is_err() {
                    break;
                }
            }
            Err(TrySendError::Disconnected(_)) => break,
        }
        produced += 1;
    }
    if !notified {
        let _ = prefilled.send(produced);
    }
    Ok(())
}

/// Posts every request of `queue` on `connection`, pacing to `pace` samples/s if set.
fn send_all(
    queue: Receiver<EncodedRequest>,
    mut connection: Connection,
    barrier: &Barrier,
    pace: Option<f64>,
    progress: &Progress,
) -> SenderStats {
    let mut stats = SenderStats::default();
    barrier.wait();
    let started = Instant::now();
    while let Ok(request) = queue.recv() {
        if let Some(rate) = pace {
            let due = started + Duration::from_secs_f64(stats.samples_attempted as f64 / rate);
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
        }
        let samples = u64::from(request.samples);
        stats.samples_attempted += samples;
        stats.body_bytes += request.body.len() as u64;
        let sent = Instant::now();
        let outcome = connection.post(&request.body);
        let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        stats.latencies_micros.push(micros);
        stats.requests += 1;
        progress.requests.fetch_add(1, Ordering::Relaxed);
        let failure = match outcome {
            Ok(response) if (200..300).contains(&response.status) => {
                stats.requests_ok += 1;
                stats.samples_ok += samples;
                progress.samples_ok.fetch_add(samples, Ordering::Relaxed);
                None
            }
            Ok(response) => Some((response.status.to_string(), response.body_snippet)),
            Err(error) => Some(("io".to_owned(), error.to_string())),
        };
        if let Some((kind, example)) = failure {
            progress.failed.fetch_add(1, Ordering::Relaxed);
            stats.error_examples.entry(kind.clone()).or_insert(example);
            *stats.errors.entry(kind).or_default() += 1;
        }
    }
    stats.finished = Some(Instant::now());
    progress.finished_senders.fetch_add(1, Ordering::Release);
    stats
}

/// Prints progress until every sender has finished.
fn watch(
    config: &IngestConfig,
    plan: &Plan,
    progress: &Progress,
    senders: usize,
    started: Instant,
) {
    let total = plan.total_requests() as u64;
    let mut next_report = started + PROGRESS_EVERY;
    while progress.finished_senders.load(Ordering::Acquire) < senders {
        thread::sleep(POLL_EVERY);
        if Instant::now() < next_report {
            continue;
        }
        next_report += PROGRESS_EVERY;
        let elapsed = started.elapsed().as_secs_f64();
        let samples = progress.samples_ok.load(Ordering::Relaxed);
        say(
            config,
            &format!(
                "{:>6.1}s  {}/{} requests  {} failed  {:.0} samples/s",
                elapsed,
                progress.requests.load(Ordering::Relaxed),
                total,
                progress.failed.load(Ordering::Relaxed),
                samples as f64 / elapsed.max(f64::EPSILON),
            ),
        );
    }
}

fn assemble(
    config: &IngestConfig,
    plan: &Plan,
    stats: Vec<SenderStats>,
    started: Instant,
    prebuffered: u64,
    client_cpu_seconds: f64,
) -> IngestReport {
    let finished = stats
        .iter()
        .filter_map(|sender| sender.finished)
        .max()
        .unwrap_or(started);
    let elapsed_seconds = finished.duration_since(started).as_secs_f64();
    let mut report = IngestReport {
        url: format!(
            "http://{}{}",
            config.endpoint.authority, config.endpoint.path
        ),
        series: plan.series,
        scrapes: plan.scrapes,
        interval_seconds: config.interval.as_secs_f64(),
        batch: plan.batch,
        concurrency: plan.active_senders(),
        rate_limit: config.samples_per_second(),
        churn_per_hour: plan.churn_per_hour,
        series_replaced: plan.replaced_by(plan.scrapes.saturating_sub(1)),
        first_timestamp_ms: plan.start_ms,
        last_timestamp_ms: plan.last_timestamp_ms(),
        elapsed_seconds,
        prebuffered_requests: prebuffered,
        client_cpu_seconds,
        ..Default::default()
    };
    let mut latencies = Vec::new();
    for sender in stats {
        report.requests += sender.requests;
        report.requests_ok += sender.requests_ok;
        report.samples_sent += sender.samples_ok;
        report.samples_attempted += sender.samples_attempted;
        report.body_bytes += sender.body_bytes;
        latencies.extend(sender.latencies_micros);
        for (kind, count) in sender.errors {
            *report.errors.entry(kind).or_default() += count;
        }
        for (kind, example) in sender.error_examples {
            report.error_examples.entry(kind).or_insert(example);
        }
    }
    report.requests_failed = report.requests - report.requests_ok;
    report.samples_per_second = report.samples_sent as f64 / elapsed_seconds.max(f64::EPSILON);
    report.latency = LatencySummary::from_micros(&mut latencies);
    report
}

fn say(config: &IngestConfig, line: &str) {
    if !config.quiet {
        let _ = writeln!(io::stderr(), "norn-bench: {line}");
    }
}

fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// User plus system CPU seconds of this process so far (0 if `/proc` is unavailable).
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / PROC_TICKS_PER_SECOND
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::Mutex;

    use norn_proto::Message;
    use norn_proto::prometheus::WriteRequest;

    use super::*;
    use crate::loadgen::config::{Command, parse_args};

    /// A receiver that decodes every request, answers 204 (or 429 for every `fail_every`-th
    /// request) and records the samples by series.
    fn spawn_receiver(
        fail_every: usize,
        samples: Arc<Mutex<Vec<(String, i64)>>>,
    ) -> (u16, thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let counter = Arc::new(AtomicUsize::new(0));
        let handle = thread::spawn(move || {
            let mut workers = Vec::new();
            for stream in listener.incoming().take(2) {
                let stream = stream.unwrap();
                let samples = Arc::clone(&samples);
                let counter = Arc::clone(&counter);
                workers.push(thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    loop {
                        let mut length = None;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap() == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            if let Some(value) = line.strip_prefix("Content-Length: ") {
                                length = Some(value.trim().parse::<usize>().unwrap());
                            }
                        }
                        let mut body = vec![0; length.unwrap()];
                        reader.read_exact(&mut body).unwrap();
                        let number = counter.fetch_add(1, Ordering::SeqCst) + 1;
                        if number.is_multiple_of(fail_every) {
                            writer
                                .write_all(b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 4\r\n\r\nslow")
                                .unwrap();
                            continue;
                        }
                        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
                        let request = WriteRequest::decode(raw.as_slice()).unwrap();
                        let mut samples = samples.lock().unwrap();
                        for series in request.timeseries {
                            let key = format!("{:?}", series.labels);
                            for sample in series.samples {
                                samples.push((key.clone(), sample.timestamp));
                            }
                        }
                        drop(samples);
                        writer.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
                    }
                }));
            }
            for worker in workers {
                worker.join().unwrap();
            }
        });
        (port, handle)
    }

    fn config(port: u16, extra: &[&str]) -> IngestConfig {
        let url = format!("http://127.0.0.1:{port}/api/v1/push");
        let mut args = vec![
            "loadgen",
            "--url",
            &url,
            "--series",
            "1000",
            "--scrapes",
            "5",
            "--batch",
            "100",
            "--concurrency",
            "2",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        match parse_args(args.into_iter().map(str::to_owned)).unwrap() {
            Command::Ingest(config) => *config,
            Command::Help => unreachable!(),
        }
    }

    #[test]
    fn every_sample_arrives_once_and_in_order() {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (port, server) = spawn_receiver(usize::MAX, Arc::clone(&samples));
        let report = run_ingest(&config(port, &["--prebuffer-mib", "0"])).unwrap();
        server.join().unwrap();
        assert_eq!(report.requests, 50);
        assert_eq!(report.requests_failed, 0);
        assert_eq!(report.samples_sent, 5000);
        assert!(report.latency.max_ms >= report.latency.p50_ms);
        let samples = samples.lock().unwrap();
        assert_eq!(samples.len(), 5000);
        let mut last: BTreeMap<&str, i64> = BTreeMap::new();
        for (series, timestamp) in samples.iter() {
            if let Some(previous) = last.insert(series.as_str(), *timestamp) {
                assert_eq!(*timestamp - previous, 15_000, "{series}");
            }
        }
        assert_eq!(last.len(), 1000);
        assert!(last.values().all(|timestamp| *timestamp <= unix_now_ms()));
    }

    #[test]
    fn failures_are_counted_by_status() {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (port, server) = spawn_receiver(10, Arc::clone(&samples));
        let report = run_ingest(&config(port, &[])).unwrap();
        server.join().unwrap();
        assert_eq!(report.requests, 50);
        assert_eq!(report.errors.get("429"), Some(&5));
        assert_eq!(
            report.error_examples.get("429").map(String::as_str),
            Some("slow")
        );
        assert_eq!(report.samples_sent, 4500);
        assert_eq!(report.samples_sent as usize, samples.lock().unwrap().len());
        assert!((report.failed_ratio() - 0.1).abs() < 1e-9);
    }

    #[test]
    fn an_unreachable_receiver_fails_every_request() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let report = run_ingest(&config(port, &["--scrapes", "1"])).unwrap();
        assert_eq!(report.requests, 10);
        assert_eq!(report.errors.get("io"), Some(&10));
        assert_eq!(report.samples_sent, 0);
    }

    #[test]
    fn the_default_start_keeps_samples_out_of_the_future() {
        let unlimited = config(1, &[]);
        let plan = plan_for(&unlimited, 10_000_000);
        assert!(plan.last_timestamp_ms() < 10_000_000);
        let paced = config(1, &["--rate", "100"]);
        let plan = plan_for(&paced, 10_000_000);
        // 5000 samples at 100/s take 50s of the 75s span, so the first scrape goes 25s back
        // and scrape k, sent about k * 10s into the run, is never ahead of the clock.
        for scrape in 0..plan.scrapes {
            let sent_at = 10_000_000 + (scrape as i64 * 1000 * 1000) / 100;
            assert!(plan.timestamp_ms(scrape) <= sent_at);
        }
    }
}
