use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use norn_model::labels::Labels;
use norn_model::matcher::{MatchType, Matcher};

use super::*;
use crate::head::{AppendError, DEFAULT_CHUNK_RANGE};

const RANGE: i64 = DEFAULT_CHUNK_RANGE;

fn labels(name: &str, index: usize) -> Labels {
    Labels::new([("__name__", name), ("i", &index.to_string())]).unwrap()
}

fn all_samples(db: &Db) -> Vec<(String, Vec<(i64, f64)>)> {
    db.select(&[], i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|series| {
            let samples = series.collect_samples(i64::MIN, i64::MAX).unwrap();
            (series.labels.to_string(), samples)
        })
        .collect()
}

/// Appends `series` series with a sample every `step` ms in `[from, to)`, one commit per step.
fn fill(db: &Db, series: usize, from: i64, to: i64, step: i64) {
    let mut t = from;
    while t < to {
        let mut appender = db.appender();
        for index in 0..series {
            appender.append(&labels("m", index), t, t as f64).unwrap();
        }
        appender.commit().unwrap();
        t += step;
    }
}

#[test]
fn samples_survive_reopen_through_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        fill(&db, 10, 0, 600_000, 15_000);
        db.close().unwrap();
        all_samples(&db)
    };
    assert_eq!(before.len(), 10);
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(all_samples(&db), before);
    assert!(db.counters().wal_replayed_records.load(Ordering::Relaxed) > 0);
    // New series after reopen get refs that do not collide with replayed ones.
    let mut appender = db.appender();
    appender.append(&labels("other", 0), 700_000, 1.0).unwrap();
    appender.commit().unwrap();
    assert_eq!(all_samples(&db).len(), 11);
}

#[test]
fn head_compaction_cuts_blocks_and_queries_span_both() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    // 3.5 ranges of data at 60s: the first two ranges become blocks.
    fill(&db, 5, 0, RANGE * 7 / 2, 60_000);
    let expected = all_samples(&db);
    let written = db.compact_head().unwrap();
    assert_eq!(written.len(), 2);
    assert_eq!((written[0].min_time, written[0].max_time), (0, RANGE));
    assert_eq!(
        (written[1].min_time, written[1].max_time),
        (RANGE, 2 * RANGE)
    );
    assert_eq!(db.blocks().len(), 2);
    assert_eq!(db.head().min_time(), 2 * RANGE);
    assert_eq!(
        all_samples(&db),
        expected,
        "head + blocks answer like the head did"
    );
    // Samples inside the cut ranges are now out of bounds.
    let mut appender = db.appender();
    assert!(matches!(
        appender.append(&labels("m", 0), RANGE, 1.0),
        Err(crate::head::AppendError::OutOfBounds { .. })
    ));
    drop(appender);
    let matcher = [Matcher::new(MatchType::Equal, "i", "3").unwrap()];
    let part = db.select(&matcher, RANGE - 60_000, RANGE + 60_000).unwrap();
    assert_eq!(part.len(), 1);
    assert_eq!(
        part[0]
            .collect_samples(RANGE - 60_000, RANGE + 60_000)
            .unwrap(),
        vec![
            (RANGE - 60_000, (RANGE - 60_000) as f64),
            (RANGE, RANGE as f64),
            (RANGE + 60_000, (RANGE + 60_000) as f64)
        ]
    );
    assert_eq!(db.label_values("i", &[], 0, RANGE - 1).unwrap().len(), 5);
    assert_eq!(db.label_names(&[], 0, 10).unwrap(), vec!["__name__", "i"]);
    db.close().unwrap();
    drop(db);

    // Reopen: blocks plus the checkpointed WAL restore exactly the same data.
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(db.blocks().len(), 2);
    assert_eq!(all_samples(&db), expected);
    assert_eq!(db.head().min_valid_time(), 2 * RANGE);
}

#[test]
fn flush_moves_everything_into_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    fill(&db, 3, RANGE / 2, RANGE + RANGE / 2, 300_000);
    let expected = all_samples(&db);
    let written = db.flush().unwrap();
    assert_eq!(written.len(), 2);
    assert_eq!(db.head().num_series(), 0);
    assert_eq!(all_samples(&db), expected);
    drop(db);
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(
        db.head().num_series(),
        0,
        "the WAL no longer resurrects flushed data"
    );
    assert_eq!(all_samples(&db), expected);
}

#[test]
fn samples_newer_than_a_flush_are_still_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    // The head ends in the middle of its chunk range.
    fill(&db, 2, RANGE / 4, RANGE / 2, 60_000);
    let newest = db.head().max_time();
    let written = db.flush().unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(
        written[0].max_time,
        newest + 1,
        "the block ends after the newest sample"
    );
    // The next scrape, later in the same range, is accepted...
    fill(&db, 2, newest + 60_000, newest + 120_000, 60_000);
    // ... but one at or before the flushed data is out of bounds.
    let mut appender = db.appender();
    assert!(matches!(
        appender.append(&labels("m", 0), newest, 1.0),
        Err(AppendError::OutOfBounds { .. })
    ));
    drop(appender);
    assert_eq!(all_samples(&db).len(), 2);
    assert!(
        all_samples(&db)
            .iter()
            .all(|(_, samples)| samples.last().map(|s| s.0) == Some(newest + 60_000))
    );
}

#[test]
fn merging_series_sets_combines_equal_labels() {
    let a = labels("a", 0);
    let b = labels("b", 0);
    let chunk = |t: i64| {
        let mut chunk = crate::chunkenc::XorChunk::new();
        chunk.append(t, 1.0).unwrap();
        crate::series::ChunkMeta {
            min_time: t,
            max_time: t,
            encoding: crate::chunkenc::Encoding::Xor,
            data: chunk.bytes().into(),
        }
    };
    let merged = merge_series_sets(vec![
        vec![ChunkSeries {
            labels: a.clone(),
            chunks: vec![chunk(5)],
        }],
        vec![
            ChunkSeries {
                labels: a.clone(),
                chunks: vec![chunk(1)],
            },
            ChunkSeries {
                labels: b.clone(),
                chunks: vec![chunk(2)],
            },
        ],
    ]);
    assert_eq!(merged.len(), 2);
    assert_eq!(merged[0].labels, a);
    assert_eq!(
        merged[0]
            .chunks
            .iter()
            .map(|c| c.min_time)
            .collect::<Vec<_>>(),
        vec![1, 5]
    );
    assert_eq!(merged[1].labels, b);
}

#[test]
fn a_corrupt_wal_tail_is_repaired_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        fill(&db, 4, 0, 100_000, 10_000);
        db.close().unwrap();
    }
    // Chop the last few bytes off the newest non-empty segment: the last commit is torn.
    let wal_dir = dir.path().join(WAL_DIR);
    let mut segments: Vec<_> = std::fs::read_dir(&wal_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && std::fs::metadata(path).unwrap().len() > 0)
        .collect();
    segments.sort();
    let last = segments.last().unwrap();
    let bytes = std::fs::read(last).unwrap();
    let used = bytes.iter().rposition(|&byte| byte != 0).unwrap() + 1;
    std::fs::write(last, &bytes[..used - 5]).unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(db.counters().wal_corruptions.load(Ordering::Relaxed), 1);
    let samples = all_samples(&db);
    assert_eq!(samples.len(), 4);
    for (_, series) in &samples {
        // Exactly the last commit (t = 90s) is lost; everything before it is intact.
        assert_eq!(series.len(), 9, "{series:?}");
        assert_eq!(series.last().unwrap().0, 80_000);
    }
}

/// Environment variable that turns [`crash_child`] into the appending child process.
const CRASH_DIR_ENV: &str = "NORN_TSDB_CRASH_CHILD_DIR";
const CRASH_SERIES: usize = 20;

/// The child side of the crash test: appends batches forever (bounded) and prints the index of
/// every batch whose commit returned, i.e. every acknowledged batch.
#[test]
#[ignore = "child process of kill_9_loses_no_acknowledged_sample"]
fn crash_child() {
    let Ok(dir) = std::env::var(CRASH_DIR_ENV) else {
        return; // Only meaningful when started by `kill_9_loses_no_acknowledged_sample`.
    };
    let options = DbOptions {
        wal: WalOptions {
            segment_size: 256 * 1024,
            ..WalOptions::default()
        },
        ..DbOptions::default()
    };
    let db = Db::open(Path::new(&dir), options).unwrap();
    let start = match db.head().max_time() {
        i64::MIN => 0,
        max => max / 1000 + 1,
    };
    let mut stdout = std::io::stdout();
    for batch in start..start + 1_000_000 {
        let mut appender = db.appender();
        for index in 0..CRASH_SERIES {
            appender
                .append(&labels("crash", index), batch * 1000, batch as f64)
                .unwrap();
        }
        appender.commit().unwrap();
        writeln!(stdout, "ack {batch}").unwrap();
        stdout.flush().unwrap();
    }
}

#[test]
fn kill_9_loses_no_acknowledged_sample() {
    let exe = std::env::current_exe().unwrap();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut random = move |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged: Option<i64> = None;
    // Several kills into the same directory: every restart replays, repairs and continues.
    for round in 0..4 {
        let kill_after = 1 + random(1500);
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "db::tests::crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = 0;
        while let Some(Ok(line)) = lines.next() {
            if let Some(batch) = line.strip_prefix("ack ") {
                acknowledged = Some(batch.parse().unwrap());
                seen += 1;
                if seen >= kill_after {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix.
        child.wait().unwrap();
        // Acks printed before the kill landed still count.
        for line in lines.map_while(Result::ok) {
            if let Some(batch) = line.strip_prefix("ack ") {
                acknowledged = Some(batch.parse().unwrap());
            }
        }
        let last = acknowledged.expect("the child acknowledged nothing");
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        let series = db.select(&[], i64::MIN, i64::MAX).unwrap();
        assert_eq!(series.len(), CRASH_SERIES, "round {round}");
        for entry in &series {
            let samples = entry.collect_samples(i64::MIN, i64::MAX).unwrap();
            // Every acknowledged batch is there, in order, with nothing invented: batches
            // 0..=k for some k >= last (a commit may land without its ack being printed).
            assert!(
                samples.len() as i64 > last,
                "round {round}: lost acknowledged samples"
            );
            for (index, (t, v)) in samples.iter().enumerate() {
                assert_eq!(
                    (*t, *v),
                    (index as i64 * 1000, index as f64),
                    "round {round}"
                );
            }
        }
        db.close().unwrap();
    }
}
