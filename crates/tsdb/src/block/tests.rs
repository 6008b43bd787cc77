//! Tests of block writing, opening, selecting, tombstones and compaction.

use std::collections::BTreeMap;
use std::path::Path;

use norn_model::labels::Labels;
use norn_model::matcher::{MatchType, Matcher};

use super::compact::encode_samples;
use super::*;
use crate::chunkenc::Encoding;
use crate::error::Error;
use crate::series::{ChunkMeta, ChunkSeries};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).unwrap()
}

fn matcher(kind: MatchType, name: &str, value: &str) -> Matcher {
    Matcher::new(kind, name, value).unwrap()
}

/// Samples every 15s from `start`, `count` of them, values derived from `seed`.
fn samples(start: i64, count: usize, seed: f64) -> Vec<(i64, f64)> {
    (0..count as i64)
        .map(|i| (start + i * 15_000, seed + i as f64 * 0.25))
        .collect()
}

/// Writes a block of `series` (any order) covering `[min_time, max_time)`.
fn write_block(
    parent: &Path,
    series: &[(Labels, Vec<(i64, f64)>)],
    min_time: i64,
    max_time: i64,
) -> BlockMeta {
    let mut sorted: Vec<&(Labels, Vec<(i64, f64)>)> = series.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut writer = BlockWriter::new(parent).unwrap();
    for (labels, samples) in sorted {
        writer
            .add_series(labels, &encode_samples(samples).unwrap())
            .unwrap();
    }
    writer
        .finish(min_time, max_time, CompactionMeta::default(), None)
        .unwrap()
}

fn all_samples(series: &[ChunkSeries]) -> BTreeMap<String, Vec<(i64, f64)>> {
    series
        .iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.collect_samples(i64::MIN, i64::MAX).unwrap(),
            )
        })
        .collect()
}

fn test_series() -> Vec<(Labels, Vec<(i64, f64)>)> {
    let mut series = Vec::new();
    for job in ["api", "db"] {
        for instance in 0..5 {
            let instance = format!("host-{instance}");
            let mut pairs = vec![
                ("__name__", "up"),
                ("job", job),
                ("instance", instance.as_str()),
            ];
            if instance == "host-0" {
                pairs.push(("zone", "eu"));
            }
            series.push((labels(&pairs), samples(0, 300, instance.len() as f64)));
        }
    }
    series.push((
        labels(&[("__name__", "other")]),
        samples(1_000_000, 10, 7.0),
    ));
    series
}

#[test]
fn write_open_and_select() {
    let dir = tempfile::tempdir().unwrap();
    let meta = write_block(dir.path(), &test_series(), 0, 7_200_000);
    assert_eq!(meta.stats.num_series, 11);
    assert_eq!(meta.stats.num_samples, 10 * 300 + 10);
    assert_eq!(meta.stats.num_float_samples, meta.stats.num_samples);
    assert_eq!(meta.stats.num_chunks, 10 * 3 + 1);
    let block = Block::open(&dir.path().join(meta.ulid.to_string())).unwrap();
    assert_eq!(block.meta(), &meta);
    assert_eq!(block.dir(), dir.path().join(meta.ulid.to_string()));

    // Everything, sorted by labels, with every sample.
    let all = block.select(&[], i64::MIN, i64::MAX).unwrap();
    assert_eq!(all.len(), 11);
    assert!(all.windows(2).all(|w| w[0].labels < w[1].labels));
    let mut expected: BTreeMap<String, Vec<(i64, f64)>> = test_series()
        .into_iter()
        .map(|(l, s)| (l.to_string(), s))
        .collect();
    assert_eq!(all_samples(&all), expected);

    // Matchers.
    let db = block
        .select(
            &[matcher(MatchType::Equal, "job", "db")],
            i64::MIN,
            i64::MAX,
        )
        .unwrap();
    assert_eq!(db.len(), 5);
    assert!(db.iter().all(|s| s.labels.get("job") == "db"));
    let no_zone = block
        .select(
            &[
                matcher(MatchType::Equal, "__name__", "up"),
                matcher(MatchType::Equal, "zone", ""),
            ],
            i64::MIN,
            i64::MAX,
        )
        .unwrap();
    assert_eq!(no_zone.len(), 8);
    let regex = block
        .select(
            &[
                matcher(MatchType::Regex, "instance", "host-[12]"),
                matcher(MatchType::NotEqual, "job", "api"),
            ],
            i64::MIN,
            i64::MAX,
        )
        .unwrap();
    let names: Vec<String> = regex.iter().map(|s| s.labels.to_string()).collect();
    assert_eq!(
        names,
        [
            r#"{__name__="up", instance="host-1", job="db"}"#,
            r#"{__name__="up", instance="host-2", job="db"}"#
        ]
    );
    assert!(
        block
            .select(
                &[matcher(MatchType::Equal, "job", "nope")],
                i64::MIN,
                i64::MAX
            )
            .unwrap()
            .is_empty()
    );

    // Time ranges keep only overlapping chunks (120 samples = 1 785 000 ms per chunk).
    let first_chunk = block
        .select(&[matcher(MatchType::Equal, "job", "api")], 0, 1_000)
        .unwrap();
    assert!(
        first_chunk
            .iter()
            .all(|s| s.chunks.len() == 1 && s.chunks[0].min_time == 0)
    );
    let middle = block
        .select(
            &[matcher(MatchType::Equal, "job", "api")],
            1_800_000,
            1_800_000,
        )
        .unwrap();
    assert!(
        middle
            .iter()
            .all(|s| s.chunks.len() == 1 && s.chunks[0].min_time == 1_800_000)
    );
    let tail = block.select(&[], 999_000, 1_200_000).unwrap();
    assert_eq!(tail.len(), 11);
    let other = tail
        .iter()
        .find(|s| s.labels.metric_name() == "other")
        .unwrap();
    assert_eq!(other.collect_samples(999_000, 1_200_000).unwrap().len(), 10);
    assert!(block.select(&[], 7_200_000, i64::MAX).unwrap().is_empty());
    assert!(block.select(&[], i64::MIN, -1).unwrap().is_empty());
    expected.clear();
}

#[test]
fn label_names_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let meta = write_block(dir.path(), &test_series(), 0, 7_200_000);
    let block = Block::open(&dir.path().join(meta.ulid.to_string())).unwrap();
    assert_eq!(
        block.label_names(&[]).unwrap(),
        ["__name__", "instance", "job", "zone"]
    );
    assert_eq!(
        block
            .label_names(&[matcher(MatchType::Equal, "__name__", "other")])
            .unwrap(),
        ["__name__"]
    );
    assert_eq!(
        block
            .label_names(&[matcher(MatchType::Equal, "instance", "host-3")])
            .unwrap(),
        ["__name__", "instance", "job"]
    );
    assert_eq!(block.label_values("job", &[]).unwrap(), ["api", "db"]);
    assert_eq!(
        block
            .label_values("instance", &[matcher(MatchType::Equal, "zone", "eu")])
            .unwrap(),
        ["host-0"]
    );
    assert_eq!(
        block
            .label_values("job", &[matcher(MatchType::Equal, "__name__", "other")])
            .unwrap(),
        Vec::<String>::new()
    );
    assert!(block.label_values("nope", &[]).unwrap().is_empty());
}

#[test]
fn meta_json_is_written_as_prometheus_and_mimir_expect() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = BlockWriter::new(dir.path()).unwrap();
    let ulid = writer.ulid();
    writer
        .add_series(
            &labels(&[("a", "b")]),
            &encode_samples(&samples(1000, 130, 1.0)).unwrap(),
        )
        .unwrap();
    let thanos = ThanosMeta {
        source: "receive".into(),
        ..ThanosMeta::default()
    };
    let meta = writer
        .finish(1000, 7_200_000, CompactionMeta::default(), Some(thanos))
        .unwrap();
    let block_dir = dir.path().join(ulid.to_string());
    // Only the finished block is left in the parent.
    let entries: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(entries, [ulid.to_string()]);
    assert_eq!(
        std::fs::read(block_dir.join("tombstones")).unwrap(),
        [0x01, 0x30, 0xba, 0x30, 0x01, 0, 0, 0, 0]
    );

    let text = std::fs::read_to_string(block_dir.join("meta.json")).unwrap();
    assert!(text.contains("\n\t\"ulid\": "), "tab-indented: {text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let index_size = std::fs::metadata(block_dir.join("index")).unwrap().len();
    let chunk_size = std::fs::metadata(block_dir.join("chunks/000001"))
        .unwrap()
        .len();
    assert_eq!(
        json,
        serde_json::json!({
            "ulid": ulid.to_string(),
            "minTime": 1000,
            "maxTime": 7_200_000,
            "stats": {"numSamples": 130, "numFloatSamples": 130, "numSeries": 1, "numChunks": 2},
            "compaction": {"level": 1, "sources": [ulid.to_string()]},
            "version": 1,
            "thanos": {
                "labels": {},
                "downsample": {"resolution": 0},
                "source": "receive",
                "segment_files": ["000001"],
                "files": [
                    {"rel_path": "chunks/000001", "size_bytes": chunk_size},
                    {"rel_path": "index", "size_bytes": index_size},
                    {"rel_path": "meta.json"}
                ]
            }
        })
    );
    assert_eq!(BlockMeta::read_from_dir(&block_dir).unwrap(), meta);
}

#[test]
fn meta_json_parsing_rules() {
    let example = r#"{
        "ulid": "01J9Z3K5QW0000000000000000",
        "minTime": 1727776800000,
        "maxTime": 1727784000000,
        "stats": {"numSamples": 360, "numFloatSamples": 360, "numSeries": 3, "numChunks": 3},
        "compaction": {"level": 2, "sources": ["01J9Z3K5QW0000000000000000"],
            "parents": [{"ulid": "01J9Z3K5QW0000000000000000", "minTime": 1, "maxTime": 2}],
            "hints": ["from-out-of-order"], "somethingNew": true},
        "version": 1,
        "thanos": {
            "labels": {"__compactor_shard_id__": "1_of_4"},
            "downsample": {"resolution": 300000},
            "source": "compactor",
            "segment_files": ["000001"],
            "files": [{"rel_path": "chunks/000001", "size_bytes": 1234, "hash": {"hashFunc": "SHA256", "value": "ab"}},
                      {"rel_path": "meta.json"}],
            "index_stats": {"series_max_size": 10, "chunk_max_size": 20}
        },
        "futureField": [1, 2]
    }"#;
    let meta = BlockMeta::from_json(example.as_bytes()).unwrap();
    assert_eq!(meta.ulid.to_string(), "01J9Z3K5QW0000000000000000");
    assert_eq!(
        (meta.min_time, meta.max_time),
        (1727776800000, 1727784000000)
    );
    assert_eq!(meta.stats.num_series, 3);
    assert_eq!(meta.compaction.level, 2);
    assert_eq!(meta.compaction.parents[0].max_time, 2);
    assert_eq!(meta.compaction.hints, [HINT_FROM_OUT_OF_ORDER]);
    let thanos = meta.thanos.as_ref().unwrap();
    assert_eq!(thanos.labels["__compactor_shard_id__"], "1_of_4");
    assert_eq!(thanos.downsample.resolution, 300_000);
    assert_eq!(thanos.files[0].size_bytes, Some(1234));
    assert_eq!(thanos.files[1].size_bytes, None);
    // Fields Norn does not interpret survive a round trip.
    let again = BlockMeta::from_json(&meta.to_json().unwrap()).unwrap();
    assert_eq!(again, meta);
    let json: serde_json::Value = serde_json::from_slice(&meta.to_json().unwrap()).unwrap();
    assert_eq!(json["thanos"]["index_stats"]["chunk_max_size"], 20);
    assert_eq!(json["thanos"]["files"][0]["hash"]["hashFunc"], "SHA256");

    // Prometheus' own meta (no thanos section, null sources) parses.
    let prometheus = r#"{"ulid":"01M7YTQKC3QND8WC0Z1YR1721F","minTime":1,"maxTime":2,
        "stats":{},"compaction":{"level":1,"sources":null},"version":1}"#;
    let meta = BlockMeta::from_json(prometheus.as_bytes()).unwrap();
    assert!(meta.thanos.is_none() && meta.compaction.sources.is_empty());

    for bad in [
        prometheus.replace("\"version\":1", "\"version\":2"),
        prometheus.replace("\"version\":1", "\"version\":1,\"thanos\":{\"version\":2}"),
        prometheus.replace("01M7YTQKC3QND8WC0Z1YR1721F", "not-a-ulid"),
        "{".to_string(),
    ] {
        assert!(BlockMeta::from_json(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn tombstones_round_trip_and_match_the_spec() {
    let empty = Tombstones::new();
    assert_eq!(empty.encode(), [0x01, 0x30, 0xba, 0x30, 0x01, 0, 0, 0, 0]);
    let mut one = Tombstones::new();
    one.add(3, 100, 200);
    assert_eq!(
        one.encode(),
        [
            0x01, 0x30, 0xba, 0x30, 0x01, 0x03, 0xc8, 0x01, 0x90, 0x03, 0x70, 0x14, 0x59, 0x0d
        ]
    );
    assert_eq!(Tombstones::decode(&one.encode()).unwrap(), one);

    let mut many = Tombstones::new();
    many.add(7, 10, 20);
    many.add(7, 21, 30); // adjacent: merged
    many.add(7, 100, 200);
    many.add(7, 150, 250); // overlapping: merged
    many.add(1, -50, -10);
    many.add(1, 5, 1); // empty: ignored
    assert_eq!(
        many.get(7),
        [
            Interval {
                min_time: 10,
                max_time: 30
            },
            Interval {
                min_time: 100,
                max_time: 250
            }
        ]
    );
    assert_eq!(many.num_intervals(), 3);
    assert!(many.get(2).is_empty());
    let decoded = Tombstones::decode(&many.encode()).unwrap();
    assert_eq!(decoded, many);

    let dir = tempfile::tempdir().unwrap();
    assert!(Tombstones::read_from_dir(dir.path()).unwrap().is_empty());
    many.write_to_dir(dir.path()).unwrap();
    assert_eq!(Tombstones::read_from_dir(dir.path()).unwrap(), many);

    // Damage is detected.
    let bytes = many.encode();
    for index in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[index] ^= 0x10;
        assert!(Tombstones::decode(&damaged).is_err(), "flip at {index}");
    }
    for len in 0..bytes.len() {
        assert!(Tombstones::decode(&bytes[..len]).is_err(), "cut at {len}");
    }
}

#[test]
fn select_applies_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let meta = write_block(dir.path(), &test_series(), 0, 7_200_000);
    let block_dir = dir.path().join(meta.ulid.to_string());
    let block = Block::open(&block_dir).unwrap();
    let ids: Vec<u64> = block.index().all_postings().unwrap().iter().collect();
    let all = block.select(&[], i64::MIN, i64::MAX).unwrap();
    let other_index = all
        .iter()
        .position(|s| s.labels.metric_name() == "other")
        .unwrap();
    let target = all
        .iter()
        .position(|s| s.labels.metric_name() == "up")
        .unwrap();
    drop(block);

    let mut tombstones = Tombstones::new();
    // The first "up" series: drop samples 10..=19 (inside the first chunk) and the whole
    // second chunk.
    tombstones.add(ids[target], 150_000, 285_000);
    tombstones.add(ids[target], 1_800_000, 3_585_000);
    // The "other" series disappears entirely.
    tombstones.add(ids[other_index], i64::MIN, i64::MAX);
    // The next one: the tail of its first chunk.
    tombstones.add(ids[target + 1], 1_700_000, 1_785_000);
    tombstones.write_to_dir(&block_dir).unwrap();

    let block = Block::open(&block_dir).unwrap();
    assert_eq!(block.tombstones(), &tombstones);
    let selected = block.select(&[], i64::MIN, i64::MAX).unwrap();
    assert_eq!(selected.len(), 10);
    assert!(selected.iter().all(|s| s.labels.metric_name() != "other"));
    let first = &selected[0];
    assert_eq!(first.labels, all[target].labels);
    let expected: Vec<(i64, f64)> = all[target]
        .collect_samples(i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .filter(|(t, _)| !(150_000..=285_000).contains(t) && !(1_800_000..=3_585_000).contains(t))
        .collect();
    assert_eq!(first.collect_samples(i64::MIN, i64::MAX).unwrap(), expected);
    assert_eq!(first.chunks.len(), 2);
    assert_eq!(
        (first.chunks[0].min_time, first.chunks[0].max_time),
        (0, 1_785_000)
    );
    assert_ne!(first.chunks[0], all[target].chunks[0]);
    // Untouched series keep their chunk bytes.
    assert_eq!(selected[2].chunks, all[target + 2].chunks);
    // A range only inside the deleted interval finds nothing for that series.
    let inside = block.select(&[], 2_000_000, 2_100_000).unwrap();
    assert_eq!(inside.len(), 9);
    // The next series lost the tail of its first chunk: a range over just that tail does
    // not return the trimmed chunk.
    let tail = block.select(&[], 1_750_000, 1_790_000).unwrap();
    assert!(tail.iter().all(|s| s.labels != all[target + 1].labels));
    let before = block.select(&[], 1_600_000, 1_750_000).unwrap();
    let trimmed = before
        .iter()
        .find(|s| s.labels == all[target + 1].labels)
        .unwrap();
    assert_eq!(trimmed.chunks[0].max_time, 1_695_000);
    assert!(inside.iter().all(|s| s.labels != all[target].labels));
}

/// The samples of every series of `block`.
fn block_samples(block: &Block) -> BTreeMap<String, Vec<(i64, f64)>> {
    all_samples(&block.select(&[], i64::MIN, i64::MAX).unwrap())
}

#[test]
fn compaction_of_overlapping_blocks_dedupes_samples() {
    let dir = tempfile::tempdir().unwrap();
    let a_series = labels(&[("__name__", "m"), ("replica", "x")]);
    let shared = labels(&[("__name__", "m")]);
    // Block 1: samples at 0, 15s, ... (200); block 2: same series shifted by 5 samples, with
    // different values where they overlap (block 1 has the lower minTime and wins), plus a
    // series of its own.
    let first: Vec<(i64, f64)> = samples(0, 200, 1.0);
    let second: Vec<(i64, f64)> = samples(75_000, 200, 1000.0);
    let meta1 = write_block(dir.path(), &[(shared.clone(), first.clone())], 0, 7_200_000);
    let meta2 = write_block(
        dir.path(),
        &[
            (shared.clone(), second.clone()),
            (a_series.clone(), samples(75_000, 3, 5.0)),
        ],
        75_000,
        7_200_000,
    );
    let b1 = Block::open(&dir.path().join(meta1.ulid.to_string())).unwrap();
    let b2 = Block::open(&dir.path().join(meta2.ulid.to_string())).unwrap();
    let out = tempfile::tempdir().unwrap();
    let meta = compact(&[&b2, &b1], out.path()).unwrap().unwrap();
    assert_eq!(meta.compaction.level, 2);
    let mut sources = vec![meta1.ulid, meta2.ulid];
    sources.sort();
    assert_eq!(meta.compaction.sources, sources);
    assert_eq!(meta.compaction.parents, [meta1.desc(), meta2.desc()]);
    assert_eq!((meta.min_time, meta.max_time), (0, 7_200_000));
    assert_eq!(meta.stats.num_series, 2);
    assert_eq!(meta.stats.num_samples, 205 + 3);

    let merged = Block::open(&out.path().join(meta.ulid.to_string())).unwrap();
    let got = block_samples(&merged);
    let mut expected_shared = first.clone();
    expected_shared.extend(second.iter().filter(|(t, _)| *t > first[first.len() - 1].0));
    assert_eq!(got[&shared.to_string()], expected_shared);
    assert_eq!(got[&a_series.to_string()], samples(75_000, 3, 5.0));
    let series = merged.select(&[], i64::MIN, i64::MAX).unwrap();
    let shared_chunks = &series.iter().find(|s| s.labels == shared).unwrap().chunks;
    assert!(
        shared_chunks
            .iter()
            .all(|c| u16::from_be_bytes([c.data[0], c.data[1]]) <= 120)
    );
    assert!(
        shared_chunks
            .windows(2)
            .all(|w| w[0].max_time < w[1].min_time)
    );
}

#[test]
fn compaction_of_disjoint_blocks_copies_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let series = labels(&[("__name__", "m"), ("job", "j")]);
    let meta1 = write_block(
        dir.path(),
        &[(series.clone(), samples(0, 250, 1.0))],
        0,
        7_200_000,
    );
    let meta2 = write_block(
        dir.path(),
        &[(series.clone(), samples(7_200_000, 250, 2.0))],
        7_200_000,
        14_400_000,
    );
    let b1 = Block::open(&dir.path().join(meta1.ulid.to_string())).unwrap();
    let b2 = Block::open(&dir.path().join(meta2.ulid.to_string())).unwrap();
    let meta = compact(&[&b1, &b2], dir.path()).unwrap().unwrap();
    assert_eq!((meta.min_time, meta.max_time), (0, 14_400_000));
    assert_eq!(
        meta.stats.num_chunks,
        meta1.stats.num_chunks + meta2.stats.num_chunks
    );
    let merged = Block::open(&dir.path().join(meta.ulid.to_string())).unwrap();
    let mut inputs = b1.select(&[], i64::MIN, i64::MAX).unwrap()[0]
        .chunks
        .clone();
    inputs.extend(
        b2.select(&[], i64::MIN, i64::MAX).unwrap()[0]
            .chunks
            .clone(),
    );
    assert_eq!(
        merged.select(&[], i64::MIN, i64::MAX).unwrap()[0].chunks,
        inputs
    );

    // Compacting the output again goes one level up and keeps the level-1 sources.
    let out = tempfile::tempdir().unwrap();
    let again = compact(&[&merged], out.path()).unwrap().unwrap();
    assert_eq!(again.compaction.level, 3);
    assert_eq!(again.compaction.sources, meta.compaction.sources);
    assert_eq!(again.compaction.parents, [meta.desc()]);
}

#[test]
fn compaction_applies_tombstones_and_skips_empty_results() {
    let dir = tempfile::tempdir().unwrap();
    let series = labels(&[("__name__", "m")]);
    let meta = write_block(
        dir.path(),
        &[(series.clone(), samples(0, 10, 1.0))],
        0,
        7_200_000,
    );
    let block_dir = dir.path().join(meta.ulid.to_string());
    let mut tombstones = Tombstones::new();
    tombstones.add(
        Block::open(&block_dir)
            .unwrap()
            .index()
            .all_postings()
            .unwrap()
            .min()
            .unwrap(),
        30_000,
        45_000,
    );
    tombstones.write_to_dir(&block_dir).unwrap();
    let block = Block::open(&block_dir).unwrap();
    let out = tempfile::tempdir().unwrap();
    let compacted = compact(&[&block], out.path()).unwrap().unwrap();
    assert_eq!(compacted.stats.num_samples, 8);
    let result = Block::open(&out.path().join(compacted.ulid.to_string())).unwrap();
    assert!(result.tombstones().is_empty());
    let got = block_samples(&result);
    let expected: Vec<(i64, f64)> = samples(0, 10, 1.0)
        .into_iter()
        .filter(|(t, _)| *t != 30_000 && *t != 45_000)
        .collect();
    assert_eq!(got[&series.to_string()], expected);

    // Everything deleted: no block at all.
    let mut all = Tombstones::new();
    all.add(
        result.index().all_postings().unwrap().min().unwrap(),
        i64::MIN,
        i64::MAX,
    );
    let result_dir = result.dir().to_path_buf();
    drop(result);
    all.write_to_dir(&result_dir).unwrap();
    let emptied = Block::open(&result_dir).unwrap();
    let out = tempfile::tempdir().unwrap();
    assert_eq!(compact(&[&emptied], out.path()).unwrap(), None);
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    assert_eq!(compact(&[], out.path()).unwrap(), None);
}

#[test]
fn compaction_keeps_the_thanos_stream() {
    let dir = tempfile::tempdir().unwrap();
    let thanos = ThanosMeta {
        labels: [("__compactor_shard_id__".to_string(), "1_of_2".to_string())].into(),
        source: "receive".into(),
        ..ThanosMeta::default()
    };
    let mut metas = Vec::new();
    for (start, thanos) in [(0, Some(thanos.clone())), (3_600_000, Some(thanos.clone()))] {
        let mut writer = BlockWriter::new(dir.path()).unwrap();
        writer
            .add_series(
                &labels(&[("a", "b")]),
                &encode_samples(&samples(start, 5, 1.0)).unwrap(),
            )
            .unwrap();
        metas.push(
            writer
                .finish(start, start + 3_600_000, CompactionMeta::default(), thanos)
                .unwrap(),
        );
    }
    let blocks: Vec<Block> = metas
        .iter()
        .map(|m| Block::open(&dir.path().join(m.ulid.to_string())).unwrap())
        .collect();
    let out = tempfile::tempdir().unwrap();
    let meta = compact(&[&blocks[0], &blocks[1]], out.path())
        .unwrap()
        .unwrap();
    let section = meta.thanos.unwrap();
    assert_eq!(section.labels, thanos.labels);
    assert_eq!(section.source, "compactor");
    assert_eq!(section.segment_files, ["000001"]);

    // Different streams refuse to merge.
    let other = write_block(
        dir.path(),
        &[(labels(&[("a", "b")]), samples(0, 1, 1.0))],
        0,
        1,
    );
    let other = Block::open(&dir.path().join(other.ulid.to_string())).unwrap();
    assert!(compact(&[&blocks[0], &other], out.path()).is_err());
}

#[test]
fn writer_validates_input_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let chunks = encode_samples(&samples(0, 5, 1.0)).unwrap();
    let mut writer = BlockWriter::new(dir.path()).unwrap();
    let tmp = dir
        .path()
        .join(format!("{}.tmp-for-creation", writer.ulid()));
    assert!(tmp.is_dir());
    writer.add_series(&labels(&[("a", "2")]), &chunks).unwrap();
    assert!(writer.add_series(&labels(&[("a", "1")]), &chunks).is_err());
    assert!(writer.add_series(&labels(&[("a", "2")]), &chunks).is_err());
    assert!(writer.add_series(&Labels::default(), &chunks).is_err());
    let overlapping = [chunks[0].clone(), chunks[0].clone()];
    assert!(
        writer
            .add_series(&labels(&[("a", "3")]), &overlapping)
            .is_err()
    );
    // A series without chunks is skipped.
    writer.add_series(&labels(&[("a", "4")]), &[]).unwrap();
    assert_eq!(writer.num_series(), 1);
    drop(writer);
    assert!(!tmp.exists(), "abandoned writer leaves nothing");

    let mut writer = BlockWriter::new(dir.path()).unwrap();
    writer.add_series(&labels(&[("a", "2")]), &chunks).unwrap();
    // Chunks outside the block range are refused, and nothing is left behind.
    let error = writer
        .finish(0, 60_000, CompactionMeta::default(), None)
        .unwrap_err();
    assert!(matches!(error, Error::InvalidBlock { .. }), "{error}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn blocks_use_several_segment_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = BlockWriter::with_segment_size(dir.path(), 1024).unwrap();
    let mut expected = BTreeMap::new();
    for i in 0..40 {
        let series = labels(&[("i", &format!("{i:03}"))]);
        let data = samples(0, 240, i as f64 * 3.3);
        writer
            .add_series(&series, &encode_samples(&data).unwrap())
            .unwrap();
        expected.insert(series.to_string(), data);
    }
    let meta = writer
        .finish(0, 7_200_000, CompactionMeta::default(), None)
        .unwrap();
    let block = Block::open(&dir.path().join(meta.ulid.to_string())).unwrap();
    assert!(block.chunk_reader().segment_count() > 5);
    assert_eq!(block_samples(&block), expected);
}

#[test]
fn opens_a_block_written_by_prometheus() {
    // index and chunks/000001 of a block `promtool tsdb create-blocks-from openmetrics` (2.42)
    // wrote for foo{a="1"} 1.5 @1700000000, 2.5 @1700000015 and foo{a="2"} 3 @1700000000.
    let dir = tempfile::tempdir().unwrap();
    let block_dir = dir.path().join("01M7YTQKC3QND8WC0Z1YR1721F");
    std::fs::create_dir_all(block_dir.join("chunks")).unwrap();
    std::fs::write(
        block_dir.join("index"),
        crate::index::tests::hex(crate::index::tests::PROMETHEUS_2_42_INDEX),
    )
    .unwrap();
    std::fs::write(
        block_dir.join("chunks/000001"),
        crate::index::tests::hex(
            "85bd40dd010000001601000280a0abfef9623ff80000000000009875c26fffc02f1689291101000180a0abfef96240080000000000000029f97494",
        ),
    )
    .unwrap();
    std::fs::write(
        block_dir.join("meta.json"),
        r#"{"ulid": "01M7YTQKC3QND8WC0Z1YR1721F", "minTime": 1700000000000, "maxTime": 1700000015001,
            "stats": {"numSamples": 3, "numSeries": 2, "numChunks": 2},
            "compaction": {"level": 1, "sources": ["01M7YTQKC3QND8WC0Z1YR1721F"]}, "version": 1}"#,
    )
    .unwrap();
    std::fs::write(
        block_dir.join("tombstones"),
        [0x01, 0x30, 0xba, 0x30, 0x01, 0, 0, 0, 0],
    )
    .unwrap();
    let block = Block::open(&block_dir).unwrap();
    let got = block_samples(&block);
    let mut expected = BTreeMap::new();
    expected.insert(
        r#"{__name__="foo", a="1"}"#.to_string(),
        vec![(1_700_000_000_000, 1.5), (1_700_000_015_000, 2.5)],
    );
    expected.insert(
        r#"{__name__="foo", a="2"}"#.to_string(),
        vec![(1_700_000_000_000, 3.0)],
    );
    assert_eq!(got, expected);
    assert_eq!(
        block.select(&[], i64::MIN, i64::MAX).unwrap()[0].chunks[0].encoding,
        Encoding::Xor
    );
}

#[test]
fn damaged_blocks_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let meta = write_block(dir.path(), &test_series(), 0, 7_200_000);
    let block_dir = dir.path().join(meta.ulid.to_string());
    let chunk_file = block_dir.join("chunks/000001");
    let mut bytes = std::fs::read(&chunk_file).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&chunk_file, &bytes).unwrap();
    let block = Block::open(&block_dir).unwrap();
    let error = block.select(&[], i64::MIN, i64::MAX).unwrap_err();
    assert!(
        matches!(&error, Error::InvalidBlock { path, .. } if path == &block_dir),
        "{error}"
    );

    std::fs::write(block_dir.join("index"), b"garbage").unwrap();
    assert!(matches!(
        Block::open(&block_dir),
        Err(Error::InvalidBlock { .. })
    ));
    std::fs::remove_file(block_dir.join("meta.json")).unwrap();
    assert!(Block::open(&block_dir).is_err());
}

#[test]
fn merge_keeps_the_first_listed_chunk_on_equal_timestamps() {
    let a = encode_samples(&[(1, 1.0), (2, 2.0), (3, 3.0)]).unwrap();
    let b = encode_samples(&[(2, 20.0), (4, 40.0)]).unwrap();
    let c = encode_samples(&[(10, 10.0)]).unwrap();
    let merged =
        super::compact::merge_chunks(vec![a[0].clone(), c[0].clone(), b[0].clone()]).unwrap();
    // Listed the other way round, b's sample at 2 wins.
    let reversed = super::compact::merge_chunks(vec![b[0].clone(), a[0].clone()]).unwrap();
    let reversed = ChunkSeries {
        labels: Labels::default(),
        chunks: reversed,
    };
    assert_eq!(
        reversed.collect_samples(i64::MIN, i64::MAX).unwrap(),
        [(1, 1.0), (2, 20.0), (3, 3.0), (4, 40.0)]
    );
    assert_eq!(merged.len(), 2);
    let series = ChunkSeries {
        labels: Labels::default(),
        chunks: merged.clone(),
    };
    assert_eq!(
        series.collect_samples(i64::MIN, i64::MAX).unwrap(),
        [(1, 1.0), (2, 2.0), (3, 3.0), (4, 40.0), (10, 10.0)]
    );
    assert_eq!(merged[1], c[0]);
    let long: Vec<(i64, f64)> = (0..250).map(|t| (t, t as f64)).collect();
    let chunks: Vec<ChunkMeta> = encode_samples(&long).unwrap();
    assert_eq!(chunks.len(), 3);
    assert_eq!((chunks[2].min_time, chunks[2].max_time), (240, 249));
}

#[test]
fn block_dir_names() {
    assert!(parse_block_dir_name("01M7YTQKC3QND8WC0Z1YR1721F").is_some());
    assert!(parse_block_dir_name("01M7YTQKC3QND8WC0Z1YR1721F.tmp-for-creation").is_none());
    assert!(parse_block_dir_name("wal").is_none());
    assert!(parse_block_dir_name("chunks_head").is_none());
}

#[test]
fn block_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Block>();
    check::<BlockWriter>();
}
