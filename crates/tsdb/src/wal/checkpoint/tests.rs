use std::collections::BTreeMap;

use norn_model::labels::Labels;

use super::*;
use crate::wal::record::{RefSample, RefSeries, Stone};
use crate::wal::replay::replay;

fn series(refs: &[SeriesRef]) -> Vec<u8> {
    let series: Vec<RefSeries> = refs
        .iter()
        .map(|&series_ref| RefSeries {
            series_ref,
            labels: Labels::new([("__name__", "up"), ("instance", &*series_ref.to_string())])
                .unwrap(),
        })
        .collect();
    let mut out = Vec::new();
    encode_series(&mut out, &series);
    out
}

fn samples(refs: &[SeriesRef], t: i64) -> Vec<u8> {
    let samples: Vec<RefSample> = refs
        .iter()
        .map(|&series_ref| RefSample {
            series_ref,
            t,
            v: t as f64 + series_ref as f64,
        })
        .collect();
    let mut out = Vec::new();
    encode_samples(&mut out, &samples);
    out
}

fn stones(stones: &[(SeriesRef, i64, i64)]) -> Vec<u8> {
    let stones: Vec<Stone> = stones
        .iter()
        .map(|&(series_ref, mint, maxt)| Stone {
            series_ref,
            mint,
            maxt,
        })
        .collect();
    let mut out = Vec::new();
    encode_tombstones(&mut out, &stones);
    out
}

fn metadata(entries: &[(SeriesRef, &str)]) -> Vec<u8> {
    let metadata: Vec<RefMetadata> = entries
        .iter()
        .map(|&(series_ref, help)| RefMetadata {
            series_ref,
            metric_type: 1,
            unit: "seconds".into(),
            help: help.into(),
        })
        .collect();
    let mut out = Vec::new();
    encode_metadata(&mut out, &metadata);
    out
}

fn decoded(dir: &Path) -> Vec<Record> {
    let mut records = Vec::new();
    replay(dir, &mut |data| {
        records.push(record::decode(data)?);
        Ok(())
    })
    .unwrap();
    records
}

/// What the head would hold after replaying `records` with the checkpoint's keep rules
/// applied: the state a checkpoint must preserve.
#[derive(Debug, Default, PartialEq)]
struct Kept {
    series: BTreeMap<SeriesRef, Labels>,
    samples: Vec<(SeriesRef, i64, u64)>,
    stones: Vec<Stone>,
    metadata: BTreeMap<SeriesRef, RefMetadata>,
}

fn kept(records: &[Record], keep: &dyn Fn(SeriesRef) -> bool, mint: i64) -> Kept {
    let mut kept = Kept::default();
    for record in records {
        match record {
            Record::Series(series) => {
                for entry in series.iter().filter(|entry| keep(entry.series_ref)) {
                    kept.series.insert(entry.series_ref, entry.labels.clone());
                }
            }
            Record::Samples(samples) => kept.samples.extend(
                samples
                    .iter()
                    .filter(|sample| sample.t >= mint)
                    .map(|sample| (sample.series_ref, sample.t, sample.v.to_bits())),
            ),
            Record::Tombstones(stones) => kept.stones.extend(
                stones
                    .iter()
                    .filter(|stone| keep(stone.series_ref) && stone.maxt >= mint),
            ),
            Record::Metadata(metadata) => {
                for entry in metadata.iter().filter(|entry| keep(entry.series_ref)) {
                    kept.metadata.insert(entry.series_ref, entry.clone());
                }
            }
            Record::Unknown(_) => {}
        }
    }
    kept.samples.sort_unstable();
    kept
}

/// Segments 0..=5 (5 being written):
/// 0: series 1 2 3, samples @100, metadata 1 (v1) and 2, tombstones, an unknown record;
/// 1: samples @200, metadata 1 (v2); 2: series 4, samples @300; 3, 4, 5: samples @400..600.
fn populate(dir: &Path) -> Wal {
    let wal = Wal::open(dir, WalOptions::default()).unwrap();
    let unknown = [7u8, 1, 2, 3];
    wal.log(&[
        &series(&[1, 2, 3]),
        &samples(&[1, 2, 3], 100),
        &metadata(&[(1, "v1"), (2, "two")]),
        &stones(&[(1, 0, 50), (3, 0, 300), (2, 0, 400)]),
        &unknown,
    ])
    .unwrap();
    wal.next_segment().unwrap();
    wal.log(&[&samples(&[1, 2, 3], 200), &metadata(&[(1, "v2")])])
        .unwrap();
    wal.next_segment().unwrap();
    wal.log(&[&series(&[4]), &samples(&[1, 2, 3, 4], 300)])
        .unwrap();
    for t in [400, 500, 600] {
        wal.next_segment().unwrap();
        wal.log(&[&samples(&[1, 2, 3, 4], t)]).unwrap();
    }
    wal
}

#[test]
fn checkpoint_keeps_what_keep_and_mint_say_and_deletes_what_it_folds_in() {
    let dir = tempfile::tempdir().unwrap();
    let wal = populate(dir.path());
    let before = decoded(dir.path());
    let keep = |series_ref: SeriesRef| series_ref != 2;

    let stats = checkpoint(&wal, &keep, 250).unwrap().expect("a checkpoint");
    // Segments 0..=5, 5 was being written: to = 0 + (4 - 0) * 2 / 3 = 2.
    assert_eq!((stats.from, stats.to, stats.previous), (0, 2, None));
    assert_eq!(stats.dir, dir.path().join("checkpoint.00000002"));
    assert_eq!((stats.total_series, stats.dropped_series), (4, 1));
    assert_eq!((stats.total_samples, stats.dropped_samples), (10, 6));
    assert_eq!((stats.total_tombstones, stats.dropped_tombstones), (3, 2));
    assert_eq!((stats.total_metadata, stats.dropped_metadata), (3, 2));
    assert_eq!(stats.dropped_unknown_records, 1);
    assert_eq!(stats.records_written, 5);
    assert_eq!(stats.cleanup_failures, 0);

    assert_eq!(wal.segment_range().unwrap(), Some((3, 6)), "0..=2 deleted");
    assert!(stats.dir.is_dir());
    assert!(!dir.path().join("checkpoint.00000002.tmp").exists());

    // The checkpoint itself, record by record.
    let inside = decoded(&stats.dir);
    let label_refs = |record: &Record| match record {
        Record::Series(series) => series.iter().map(|entry| entry.series_ref).collect(),
        _ => Vec::new(),
    };
    assert_eq!(inside.len(), 5);
    assert_eq!(label_refs(&inside[0]), [1, 3]);
    assert_eq!(
        inside[1],
        Record::Tombstones(vec![Stone {
            series_ref: 3,
            mint: 0,
            maxt: 300
        }])
    );
    assert_eq!(label_refs(&inside[2]), [4]);
    assert!(
        matches!(&inside[3], Record::Samples(samples) if samples.len() == 4 && samples.iter().all(|sample| sample.t == 300))
    );
    assert_eq!(
        inside[4],
        Record::Metadata(vec![RefMetadata {
            series_ref: 1,
            metric_type: 1,
            unit: "seconds".into(),
            help: "v2".into(),
        }]),
        "only the latest metadata of kept series, at the end"
    );

    // Replaying checkpoint + remaining segments gives the same kept data.
    let after = decoded(dir.path());
    assert_eq!(kept(&after, &keep, 250), kept(&before, &keep, 250));

    // New data keeps going to the new segment.
    wal.log(&[&samples(&[1], 700)]).unwrap();
    wal.close().unwrap();
    assert_eq!(decoded(dir.path()).len(), after.len() + 1);
}

#[test]
fn a_second_checkpoint_folds_in_the_first_and_deletes_it() {
    let dir = tempfile::tempdir().unwrap();
    let wal = populate(dir.path());
    checkpoint(&wal, &|series_ref| series_ref != 2, 250)
        .unwrap()
        .unwrap();
    // Segments 3..=6 now; add 7 and 8.
    for t in [700, 800] {
        wal.log(&[&samples(&[1, 3, 4], t)]).unwrap();
        wal.next_segment().unwrap();
    }
    let before = decoded(dir.path());
    let keep = |series_ref: SeriesRef| series_ref != 2 && series_ref != 3;
    let stats = checkpoint(&wal, &keep, 450).unwrap().expect("a checkpoint");
    // Segments 3..=8 with 8 being written: to = 3 + (7 - 3) * 2 / 3 = 5.
    assert_eq!((stats.from, stats.to, stats.previous), (3, 5, Some(2)));
    assert!(!dir.path().join("checkpoint.00000002").exists());
    assert!(dir.path().join("checkpoint.00000005").is_dir());
    assert_eq!(wal.segment_range().unwrap(), Some((6, 9)));

    let after = decoded(dir.path());
    assert_eq!(kept(&after, &keep, 450), kept(&before, &keep, 450));
    let series: Vec<SeriesRef> = after
        .iter()
        .flat_map(|record| match record {
            Record::Series(series) => series.iter().map(|entry| entry.series_ref).collect(),
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(series, [1, 4]);
}

#[test]
fn too_few_segments_are_not_worth_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(checkpoint(&wal, &|_| true, 0).unwrap(), None);
    // 0 finished, 1 being written; the call itself starts segment 2.
    assert_eq!(checkpoint(&wal, &|_| true, 0).unwrap(), None);
    assert_eq!(wal.segment_range().unwrap(), Some((0, 2)));
    assert!(list_checkpoints(dir.path()).unwrap().is_empty());
}

#[test]
fn corruption_aborts_the_checkpoint_and_leaves_the_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let wal = populate(dir.path());
    let damaged = segment_path(dir.path(), 1);
    let mut bytes = fs::read(&damaged).unwrap();
    bytes[20] ^= 0xff;
    fs::write(&damaged, &bytes).unwrap();

    let error = checkpoint(&wal, &|_| true, 0).unwrap_err();
    assert!(
        matches!(&error, Error::WalCorruption { segment, .. } if *segment == damaged),
        "{error:?}"
    );
    assert_eq!(
        wal.segment_range().unwrap(),
        Some((0, 6)),
        "nothing deleted"
    );
    assert!(list_checkpoints(dir.path()).unwrap().is_empty());
    assert!(!dir.path().join("checkpoint.00000002.tmp").exists());
    assert_eq!(fs::read(&damaged).unwrap(), bytes);
}

#[test]
fn a_gap_after_the_previous_checkpoint_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let wal = populate(dir.path());
    Wal::open(
        &dir.path().join("checkpoint.00000000"),
        WalOptions::default(),
    )
    .unwrap()
    .close()
    .unwrap();
    wal.truncate(2).unwrap(); // Segment 1 is gone: 2 does not follow checkpoint 0.
    let error = checkpoint(&wal, &|_| true, 0).unwrap_err();
    assert!(matches!(error, Error::WalCorruption { .. }), "{error:?}");
    assert!(!dir.path().join("checkpoint.00000003").exists());
}
