//! `promtool` against Norn blocks, and Norn against `promtool`'s blocks.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::{Command, Output};

use norn_tsdb::block::Block;

use super::{SampleSet, now_ms, prometheus_binary, write_test_block};

fn promtool(args: &[&str]) -> Output {
    let output = Command::new(prometheus_binary("promtool"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "promtool {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Parses `{a="b", c="d"}` as `promtool tsdb dump` prints label sets (values without quotes
/// or commas).
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let inner = text.trim().trim_start_matches('{').trim_end_matches('}');
    inner
        .split(", ")
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_string(), value.trim_matches('"').to_string())
        })
        .collect()
}

#[test]
fn promtool_analyzes_lists_and_dumps_a_norn_block() {
    let dir = tempfile::tempdir().unwrap();
    let start = (now_ms() - 6 * 3_600_000) / 7_200_000 * 7_200_000;
    let block = write_test_block(dir.path(), 300, 400, start);
    let ulid = block.meta.ulid.to_string();
    assert_eq!(block.meta.stats.num_series, 300);
    assert_eq!(block.meta.stats.num_samples, 300 * 400);
    assert_eq!(block.meta.stats.num_chunks, 300 * 4);
    let path = dir.path().to_str().unwrap();

    // `list` reads meta.json and sizes.
    let list = String::from_utf8(promtool(&["tsdb", "list", path]).stdout).unwrap();
    let row = list
        .lines()
        .find(|line| line.starts_with(&ulid))
        .unwrap_or_else(|| panic!("block {ulid} not listed:\n{list}"));
    let columns: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(columns[1], start.to_string(), "{list}");
    assert_eq!(columns[2], (start + 7_200_000).to_string(), "{list}");
    assert_eq!(&columns[4..7], ["120000", "1200", "300"], "{list}");

    // `analyze --extended` reads the index (symbols, postings, series) and every chunk.
    let analyze =
        String::from_utf8(promtool(&["tsdb", "analyze", "--extended", path, &ulid]).stdout)
            .unwrap();
    for expected in [
        format!("Block ID: {ulid}"),
        "Series: 300".to_string(),
        "Label names: 4".to_string(),
        // __name__ (1) + instance (300) + job (1) + shard (5).
        "Postings (unique label pairs): 307".to_string(),
        "Postings entries (total label pairs): 1200".to_string(),
        "300 instance".to_string(),
        "5 shard".to_string(),
        format!("300 {}", block.metric),
        "Fullness".to_string(),
    ] {
        assert!(
            analyze.contains(&expected),
            "missing {expected:?} in:\n{analyze}"
        );
    }

    // `dump` decodes every sample with Prometheus' own chunk code (it needs a `wal` dir).
    std::fs::create_dir(dir.path().join("wal")).unwrap();
    let dump = String::from_utf8(promtool(&["tsdb", "dump", path]).stdout).unwrap();
    let mut dumped = SampleSet::new();
    for line in dump.lines() {
        let (rest, timestamp) = line.rsplit_once(' ').unwrap();
        let (labels, value) = rest.rsplit_once(' ').unwrap();
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        dumped
            .entry(parse_labels(labels))
            .or_default()
            .push((timestamp.parse().unwrap(), value.to_bits()));
    }
    assert_eq!(dumped.len(), 300);
    assert_eq!(dumped, block.samples);
}

#[test]
fn norn_reads_blocks_written_by_promtool() {
    let dir = tempfile::tempdir().unwrap();
    // 3 gauges × 20 series, one sample a minute for 5 hours from a 2h boundary + 30 min, so
    // promtool cuts several 2h blocks. Whole seconds: OpenMetrics timestamps are seconds and
    // promtool truncates `ts * 1000`.
    let start_s: i64 = 1_700_000_000 / 7200 * 7200 + 1800;
    let mut text = String::new();
    let mut expected = SampleSet::new();
    for family in ["norn_om_a", "norn_om_b", "norn_om_c"] {
        writeln!(text, "# TYPE {family} gauge").unwrap();
        for s in 0..20 {
            let instance = format!("i{s:02}");
            let mut samples = Vec::new();
            for i in 0..300 {
                let t = start_s + i * 60;
                let v =
                    super::value(s, i as usize) * if family == "norn_om_b" { -1.0 } else { 1.0 };
                // `{:?}` prints the shortest representation that reads back exactly.
                writeln!(
                    text,
                    "{family}{{instance=\"{instance}\",job=\"om\"}} {v:?} {t}"
                )
                .unwrap();
                samples.push((t * 1000, v.to_bits()));
            }
            let labels: BTreeMap<String, String> = [
                ("__name__".to_string(), family.to_string()),
                ("instance".to_string(), instance),
                ("job".to_string(), "om".to_string()),
            ]
            .into();
            expected.insert(labels, samples);
        }
    }
    text.push_str("# EOF\n");
    let input = dir.path().join("input.om");
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("blocks");
    std::fs::create_dir(&out).unwrap();
    promtool(&[
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);

    let mut read = SampleSet::new();
    let mut blocks = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if norn_tsdb::block::parse_block_dir_name(&name).is_none() {
            continue;
        }
        blocks += 1;
        let block = Block::open(&entry.path()).unwrap();
        let meta = block.meta();
        let series = block.select(&[], i64::MIN, i64::MAX).unwrap();
        let mut samples_in_block = 0;
        for series in series {
            let labels: BTreeMap<String, String> = series
                .labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect();
            let samples = series.collect_samples(i64::MIN, i64::MAX).unwrap();
            samples_in_block += samples.len() as u64;
            for (t, v) in samples {
                assert!(
                    meta.min_time <= t && t < meta.max_time,
                    "{t} outside {name}"
                );
                read.entry(labels.clone())
                    .or_default()
                    .push((t, v.to_bits()));
            }
        }
        assert_eq!(samples_in_block, meta.stats.num_samples, "{name}");
        // Label lookups through the index agree.
        assert_eq!(
            block.label_names(&[]).unwrap(),
            ["__name__", "instance", "job"]
        );
        assert_eq!(
            block.label_values("__name__", &[]).unwrap(),
            ["norn_om_a", "norn_om_b", "norn_om_c"]
        );
    }
    assert!(blocks >= 3, "expected several 2h blocks, got {blocks}");
    for samples in read.values_mut() {
        samples.sort_unstable();
    }
    assert_eq!(read, expected);
}
