//! `kill -9` during sustained ingest: a writer pushes batches to a `norn` child process and
//! records every batch answered 2xx; Norn is killed mid-stream and restarted on the same
//! directories, and every acknowledged sample must be readable again (the WAL makes an
//! acknowledged sample durable). Unacknowledged samples may or may not be there, but nothing
//! that was never sent may appear.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use norn_e2e::remote::{Series, now_ms, read, try_push_series};
use norn_e2e::{CapturedOutput, NornProcess, norn_binary, wait_for};

const TENANT: &str = "crash-tenant";
const ROUNDS: u64 = 3;
/// Series that get one new sample in every batch (besides one new series per batch).
const STEADY_SERIES: usize = 8;

/// Samples by label set (sorted label pairs) and timestamp.
type SampleMap = BTreeMap<Vec<(String, String)>, BTreeMap<i64, f64>>;

/// A tiny deterministic generator (xorshift64*), seeded from the clock and printed, so a
/// failing run can be told apart from the next.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Batch `batch` of `round`: one sample for each steady series and a series of its own.
fn batch_series(round: u64, batch: u64, base_ms: i64) -> Vec<Series> {
    let timestamp = base_ms + batch as i64;
    let round = round.to_string();
    let mut series: Vec<Series> = (0..STEADY_SERIES)
        .map(|index| {
            Series::new(
                &[
                    ("__name__", "crash_steady"),
                    ("round", &round),
                    ("index", &index.to_string()),
                ],
                &[(timestamp, batch as f64 + index as f64 / 8.0)],
            )
        })
        .collect();
    series.push(Series::new(
        &[
            ("__name__", "crash_batch"),
            ("round", &round),
            ("batch", &batch.to_string()),
        ],
        &[(timestamp, batch as f64)],
    ));
    series
}

fn add_samples(map: &mut SampleMap, series: &[Series]) {
    for one in series {
        let mut labels = one.labels.clone();
        labels.sort();
        map.entry(labels)
            .or_default()
            .extend(one.samples.iter().copied());
    }
}

fn start_norn(args: &[String]) -> (NornProcess, CapturedOutput) {
    let binary = norn_binary();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut norn = NornProcess::start(binary.to_str().unwrap(), &args, |_| {});
    let output = norn.capture_output();
    assert!(
        norn.wait_ready(),
        "norn never became ready after a restart\n{}",
        output.text()
    );
    (norn, output)
}

/// Reads back everything and checks every acknowledged sample is there and nothing stored
/// was never sent.
fn verify(norn: &NornProcess, log: &CapturedOutput, acknowledged: &SampleMap, sent: &SampleMap) {
    let (Some(start), Some(end)) = (
        sent.values().flat_map(|samples| samples.keys()).min(),
        sent.values().flat_map(|samples| samples.keys()).max(),
    ) else {
        return;
    };
    let stored = read(
        norn.address,
        Some(TENANT),
        &[("=~", "__name__", "crash_.+")],
        start - 1,
        end + 1,
    )
    .unwrap_or_else(|response| panic!("remote read failed: {response:?}\n{}", log.text()));
    let mut stored_map = SampleMap::new();
    add_samples(&mut stored_map, &stored);
    let mut missing = Vec::new();
    for (labels, samples) in acknowledged {
        for (timestamp, value) in samples {
            match stored_map
                .get(labels)
                .and_then(|found| found.get(timestamp))
            {
                Some(found) if found == value => {}
                found => missing.push(format!("{labels:?}@{timestamp}={value} (found {found:?})")),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} acknowledged samples lost or changed after kill -9, e.g. {:?}\n{}",
        missing.len(),
        &missing[..missing.len().min(5)],
        log.text()
    );
    for (labels, samples) in &stored_map {
        for (timestamp, value) in samples {
            assert_eq!(
                sent.get(labels).and_then(|sent| sent.get(timestamp)),
                Some(value),
                "stored sample was never sent: {labels:?}@{timestamp}"
            );
        }
    }
}

#[test]
#[allow(
    clippy::print_stdout,
    reason = "the seed and where each round was killed, for a failing run's report"
)]
fn write_crash_kill_9_during_ingest_keeps_every_acknowledged_sample() {
    let data = tempfile::tempdir().unwrap();
    let dir = |name: &str| data.path().join(name).display().to_string();
    let args = vec![
        format!("-blocks-storage.tsdb.dir={}", dir("tsdb")),
        format!("-blocks-storage.filesystem.dir={}", dir("blocks")),
        format!("-blocks-storage.bucket-store.sync-dir={}", dir("tsdb-sync")),
        format!("-compactor.data-dir={}", dir("compactor")),
        "-distributor.ingestion-rate-limit=1000000".to_owned(),
        "-distributor.ingestion-burst-size=1000000".to_owned(),
        "-log.level=warn".to_owned(),
    ];
    let seed = now_ms() as u64 | 1;
    println!("write_crash seed {seed}");
    let mut random = Xorshift(seed);
    let mut acknowledged = SampleMap::new();
    let mut sent = SampleMap::new();

    for round in 0..ROUNDS {
        let (norn, log) = start_norn(&args);
        verify(&norn, &log, &acknowledged, &sent);

        let wanted_acks = 20 + (random.next() % 150) as usize;
        let acks = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let address = norn.address;
        let base_ms = now_ms();
        let writer = {
            let acks = Arc::clone(&acks);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut attempted = Vec::new();
                let mut refusals = Vec::new();
                let mut batch = 0;
                while !stop.load(Ordering::SeqCst) {
                    let series = batch_series(round, batch, base_ms);
                    batch += 1;
                    attempted.extend(series.iter().cloned());
                    match try_push_series(address, Some(TENANT), &series) {
                        Ok(response) if (200..300).contains(&response.status) => {
                            acked.extend(series);
                            acks.fetch_add(1, Ordering::SeqCst);
                        }
                        // The connection died with the process: stop writing.
                        Ok(response) if response.status == 0 => break,
                        Err(_) => break,
                        Ok(response) => refusals.push((response.status, response.body)),
                    }
                }
                (acked, attempted, refusals)
            })
        };
        let reached = wait_for(Duration::from_secs(30), || {
            (acks.load(Ordering::SeqCst) >= wanted_acks).then_some(())
        });
        norn.signal("KILL");
        let (code, _) = norn.wait_exit(Duration::from_secs(10));
        stop.store(true, Ordering::SeqCst);
        let (acked, attempted, refusals) = writer.join().unwrap();
        assert!(
            reached.is_some(),
            "round {round}: only {} of {wanted_acks} batches acknowledged; refusals {:?}\n{}",
            acks.load(Ordering::SeqCst),
            &refusals[..refusals.len().min(3)],
            log.text()
        );
        assert_eq!(code, None, "norn should have died of SIGKILL");
        assert!(
            refusals.is_empty(),
            "round {round}: pushes refused: {:?}",
            &refusals[..refusals.len().min(3)]
        );
        add_samples(&mut acknowledged, &acked);
        add_samples(&mut sent, &attempted);
        println!(
            "round {round}: killed after {} acknowledged batches ({} attempted)",
            acked.len() / (STEADY_SERIES + 1),
            attempted.len() / (STEADY_SERIES + 1)
        );
    }

    let (norn, log) = start_norn(&args);
    verify(&norn, &log, &acknowledged, &sent);
    norn.signal("TERM");
    let (code, _) = norn.wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{}", log.text());
}
