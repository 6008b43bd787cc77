//! Merging the answers of several ingesters into one.
//!
//! Every series lives on `replication_factor` ingesters, so a read over the ring sees each
//! series several times, each copy with the chunks that replica cut. [`merge_series`] turns
//! those copies back into one series whose chunks are the union of the copies'
//! ([`merge_chunk_lists`]): chunks identical on several replicas (the common case: every
//! replica received every sample) are kept once, and chunks that differ are all kept, to be
//! merged sample by sample when the series is read. When copies disagree on a timestamp (a
//! replica that missed a stale marker, say), the sample of the copy that comes **first in
//! the order the answers are given** wins; the ingester querier gives them in ring order
//! (instance ID), so the choice is deterministic. Mimir's batch merge of replicated chunks
//! likewise keeps the first of two samples with the same timestamp.
//!
//! Nothing is decoded here: series and chunks are moved, and chunk bytes stay shared.

use norn_rpc::{ChunkSeries, MetricMetadata};
use norn_tsdb::series::merge_chunk_lists;

/// Merges the series answers of several ingesters, given in a fixed order (the first answer
/// wins ties), into one list sorted by labels with one entry per label set.
///
/// Each answer is expected sorted by labels (the [`norn_rpc::IngesterClient::select`]
/// contract); an unsorted answer is still merged correctly, only more slowly.
pub fn merge_series(answers: Vec<Vec<ChunkSeries>>) -> Vec<ChunkSeries> {
    if answers.len() == 1 {
        let mut only = answers;
        let mut series = only.pop().unwrap_or_default();
        if !series.is_sorted_by(|a, b| a.labels <= b.labels) {
            series.sort_by(|a, b| a.labels.cmp(&b.labels));
        }
        return series;
    }
    let largest = answers.iter().map(Vec::len).max().unwrap_or(0);
    let total = answers.iter().map(Vec::len).sum();
    let mut all: Vec<ChunkSeries> = Vec::with_capacity(total);
    for answer in answers {
        all.extend(answer);
    }
    // A stable sort of concatenated sorted runs: it merges the runs, and equal label sets stay
    // in answer order, which is what makes the first answer win ties below.
    all.sort_by(|a, b| a.labels.cmp(&b.labels));

    let mut merged = Vec::with_capacity(largest);
    let mut series = all.into_iter().peekable();
    while let Some(first) = series.next() {
        let mut copies = vec![first.chunks];
        while let Some(copy) = series.next_if(|next| next.labels == first.labels) {
            copies.push(copy.chunks);
        }
        merged.push(ChunkSeries {
            labels: first.labels,
            chunks: merge_chunk_lists(copies),
        });
    }
    merged
}

/// Merges sorted (or unsorted) string lists into one sorted list without duplicates: the
/// union of label names or label values from several ingesters.
pub fn union_strings(lists: Vec<Vec<String>>) -> Vec<String> {
    let total = lists.iter().map(Vec::len).sum();
    let mut all = Vec::with_capacity(total);
    for list in lists {
        all.extend(list);
    }
    all.sort_unstable();
    all.dedup();
    all
}

/// Merges metadata lists into one without duplicates, sorted by metric family, then type,
/// help and unit.
pub fn union_metadata(lists: Vec<Vec<MetricMetadata>>) -> Vec<MetricMetadata> {
    let total = lists.iter().map(Vec::len).sum();
    let mut all = Vec::with_capacity(total);
    for list in lists {
        all.extend(list);
    }
    all.sort_unstable_by(|a, b| metadata_key(a).cmp(&metadata_key(b)));
    all.dedup();
    all
}

fn metadata_key(metadata: &MetricMetadata) -> (&str, &str, &str, &str) {
    (
        &metadata.metric_family,
        &metadata.metric_type,
        &metadata.help,
        &metadata.unit,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use norn_model::Labels;
    use proptest::prelude::*;

    use super::*;

    fn labels(name: &str) -> Labels {
        Labels::new([("__name__", name)]).unwrap()
    }

    fn series(name: &str, points: &[(i64, f64)]) -> ChunkSeries {
        ChunkSeries::from_samples(labels(name), points).unwrap()
    }

    fn decoded(series: &[ChunkSeries]) -> Vec<(String, Vec<(i64, f64)>)> {
        series
            .iter()
            .map(|series| {
                (
                    series.labels.metric_name().to_owned(),
                    series.collect_samples(i64::MIN, i64::MAX).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn replicas_merge_into_one_series_with_the_union_of_their_samples() {
        let merged = merge_series(vec![
            vec![series("a", &[(1, 1.0), (3, 3.0)]), series("c", &[(1, 9.0)])],
            vec![
                series("a", &[(2, 2.0), (3, 30.0)]),
                series("b", &[(5, 5.0)]),
            ],
            vec![series("a", &[(1, 10.0), (4, 4.0)])],
        ]);
        assert_eq!(
            decoded(&merged),
            vec![
                // Ties keep the first answer's value: 1.0 at t=1, 3.0 at t=3.
                ("a".to_owned(), vec![(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]),
                ("b".to_owned(), vec![(5, 5.0)]),
                ("c".to_owned(), vec![(1, 9.0)]),
            ]
        );
    }

    #[test]
    fn identical_replicas_share_their_chunks() {
        let points: Vec<(i64, f64)> = (0..300).map(|t| (t, t as f64)).collect();
        let merged = merge_series(vec![
            vec![series("a", &points)],
            vec![series("a", &points)],
            vec![series("a", &points[..120])],
        ]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].chunks, series("a", &points).chunks);
        assert_eq!(decoded(&merged)[0].1, points);
    }

    #[test]
    fn replicas_disagreeing_on_a_value_keep_the_first() {
        let merged = merge_series(vec![
            vec![series("a", &[(1, 1.0), (2, f64::NAN)])],
            vec![series("a", &[(1, 5.0), (2, 2.0)])],
        ]);
        let samples = &decoded(&merged)[0].1;
        assert_eq!(samples[0], (1, 1.0));
        assert!(samples[1].1.is_nan());
        assert_eq!(samples.len(), 2);
    }

    #[test]
    fn unsorted_answers_are_sorted_and_merged() {
        let merged = merge_series(vec![
            vec![series("b", &[(1, 1.0)]), series("a", &[(1, 1.0)])],
            vec![series("a", &[(2, 2.0)])],
        ]);
        assert_eq!(
            decoded(&merged),
            vec![
                ("a".to_owned(), vec![(1, 1.0), (2, 2.0)]),
                ("b".to_owned(), vec![(1, 1.0)])
            ]
        );
        let single = merge_series(vec![vec![series("b", &[]), series("a", &[])]]);
        assert_eq!(single, vec![series("a", &[]), series("b", &[])]);
        assert!(merge_series(Vec::new()).is_empty());
    }

    #[test]
    fn string_and_metadata_unions_are_sorted_and_distinct() {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            union_strings(vec![strings(&["b", "d"]), strings(&["a", "b"]), vec![]]),
            strings(&["a", "b", "d"])
        );
        let metadata = |family: &str, help: &str| MetricMetadata {
            metric_family: family.into(),
            metric_type: "counter".into(),
            help: help.into(),
            unit: String::new(),
        };
        assert_eq!(
            union_metadata(vec![
                vec![metadata("b", "x"), metadata("a", "y")],
                vec![metadata("a", "y"), metadata("a", "z")],
            ]),
            vec![metadata("a", "y"), metadata("a", "z"), metadata("b", "x")]
        );
    }

    /// Per series name, the samples each of 1 to 3 replicas holds (a random subset of the
    /// series' timestamps, each with a replica-specific value).
    fn arb_replicas() -> impl Strategy<Value = Vec<Vec<ChunkSeries>>> {
        let replica_count = 1..4usize;
        (
            replica_count,
            proptest::collection::btree_map(
                "[a-e]",
                proptest::collection::btree_set(0..50i64, 0..12),
                0..5,
            ),
            any::<u64>(),
        )
            .prop_map(|(replicas, truth, seed)| {
                let mut answers = vec![Vec::new(); replicas];
                for (index, (name, timestamps)) in truth.into_iter().enumerate() {
                    for (replica, answer) in answers.iter_mut().enumerate() {
                        let kept: Vec<(i64, f64)> = timestamps
                            .iter()
                            .filter(|&&t| (seed >> ((t as usize + index + replica) % 64)) & 1 == 1)
                            .map(|&t| (t, (replica * 1000) as f64 + t as f64))
                            .collect();
                        if !kept.is_empty() {
                            answer.push(series(&name, &kept));
                        }
                    }
                }
                answers
            })
    }

    proptest! {
        #[test]
        fn merging_yields_the_union_with_the_first_replica_winning(answers in arb_replicas()) {
            let mut expected: BTreeMap<Labels, BTreeMap<i64, f64>> = BTreeMap::new();
            for answer in &answers {
                for series in answer {
                    let points = expected.entry(series.labels.clone()).or_default();
                    for (t, v) in series.collect_samples(i64::MIN, i64::MAX).unwrap() {
                        points.entry(t).or_insert(v);
                    }
                }
            }
            let merged = merge_series(answers);
            let actual: BTreeMap<Labels, BTreeMap<i64, f64>> = merged
                .iter()
                .map(|series| {
                    let points = series.collect_samples(i64::MIN, i64::MAX).unwrap().into_iter().collect();
                    (series.labels.clone(), points)
                })
                .collect();
            prop_assert_eq!(actual, expected);
            prop_assert!(merged.windows(2).all(|w| w[0].labels < w[1].labels));
            for series in &merged {
                let samples = series.collect_samples(i64::MIN, i64::MAX).unwrap();
                prop_assert!(samples.windows(2).all(|w| w[0].0 < w[1].0));
            }
        }
    }
}
