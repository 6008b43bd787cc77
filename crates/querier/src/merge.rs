//! Merging the answers of several ingesters into one.
//!
//! Every series lives on `replication_factor` ingesters, so a read over the ring sees each
//! series several times, each copy with the samples that replica received. [`merge_series`]
//! turns those copies back into one series whose samples are the union of the copies: sorted
//! by timestamp, one sample per timestamp. When copies disagree on a timestamp (a replica that
//! missed a stale marker, say), the sample of the copy that comes **first in the order the
//! answers are given** wins; the ingester querier gives them in ring order (instance ID), so
//! the choice is deterministic. Mimir's batch merge of replicated chunks likewise keeps the
//! first of two samples with the same timestamp.
//!
//! Allocation stays proportional to the output: series are moved, never cloned; copies with
//! the same timestamps (the common case of replicas that all received every sample) are
//! detected without allocating and the first copy is kept as is; only copies that differ go
//! through a k-way merge into one new vector.

use norn_rpc::{MetricMetadata, Sample, SeriesSamples};

/// Merges the series answers of several ingesters, given in a fixed order (the first answer
/// wins ties), into one list sorted by labels with one entry per label set.
///
/// Each answer is expected sorted by labels (the [`norn_rpc::IngesterClient::select`]
/// contract); an unsorted answer is still merged correctly, only more slowly.
pub fn merge_series(answers: Vec<Vec<SeriesSamples>>) -> Vec<SeriesSamples> {
    if answers.len() == 1 {
        let mut only = answers;
        let mut series = only.pop().unwrap_or_default();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        return series;
    }
    let largest = answers.iter().map(Vec::len).max().unwrap_or(0);
    let total = answers.iter().map(Vec::len).sum();
    let mut all: Vec<SeriesSamples> = Vec::with_capacity(total);
    for answer in answers {
        all.extend(answer);
    }
    // A stable sort of concatenated sorted runs: it merges the runs, and equal label sets stay
    // in answer order, which is what makes the first answer win ties below.
    all.sort_by(|a, b| a.labels.cmp(&b.labels));

    let mut merged = Vec::with_capacity(largest);
    let mut copies: Vec<Vec<Sample>> = Vec::new();
    let mut series = all.into_iter().peekable();
    while let Some(first) = series.next() {
        copies.clear();
        copies.push(first.samples);
        while let Some(copy) = series.next_if(|next| next.labels == first.labels) {
            copies.push(copy.samples);
        }
        merged.push(SeriesSamples {
            labels: first.labels,
            samples: merge_samples(&mut copies),
        });
    }
    merged
}

/// Merges copies of one series' samples, each sorted by timestamp, into one sorted vector
/// with one sample per timestamp; on equal timestamps the earliest copy wins. The copies are
/// emptied.
pub fn merge_samples(copies: &mut [Vec<Sample>]) -> Vec<Sample> {
    match copies {
        [] => Vec::new(),
        [only] => std::mem::take(only),
        [first, rest @ ..] if rest.iter().all(|copy| same_timestamps(first, copy)) => {
            std::mem::take(first)
        }
        _ => k_way_merge(copies),
    }
}

/// Returns true when both copies hold samples at exactly the same timestamps.
fn same_timestamps(a: &[Sample], b: &[Sample]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.timestamp_ms == y.timestamp_ms)
}

/// Merges `copies` by repeatedly taking the smallest head timestamp. The copies are few (the
/// replication factor), so a linear scan over the heads beats a heap.
fn k_way_merge(copies: &mut [Vec<Sample>]) -> Vec<Sample> {
    let largest = copies.iter().map(Vec::len).max().unwrap_or(0);
    let mut merged = Vec::with_capacity(largest);
    let mut positions = vec![0usize; copies.len()];
    loop {
        // The first copy holding the smallest head timestamp provides the sample.
        let mut chosen: Option<Sample> = None;
        for (copy, &position) in copies.iter().zip(&positions) {
            if let Some(head) = copy.get(position)
                && chosen.is_none_or(|best| head.timestamp_ms < best.timestamp_ms)
            {
                chosen = Some(*head);
            }
        }
        let Some(sample) = chosen else {
            break;
        };
        merged.push(sample);
        // Every copy skips the samples at that timestamp (duplicates within a copy too).
        for (copy, position) in copies.iter().zip(positions.iter_mut()) {
            while copy
                .get(*position)
                .is_some_and(|head| head.timestamp_ms == sample.timestamp_ms)
            {
                *position += 1;
            }
        }
    }
    for copy in copies.iter_mut() {
        copy.clear();
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

    fn samples(points: &[(i64, f64)]) -> Vec<Sample> {
        points
            .iter()
            .map(|&(timestamp_ms, value)| Sample {
                timestamp_ms,
                value,
            })
            .collect()
    }

    fn series(name: &str, points: &[(i64, f64)]) -> SeriesSamples {
        SeriesSamples {
            labels: labels(name),
            samples: samples(points),
        }
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
            merged,
            vec![
                // Ties keep the first answer's value: 1.0 at t=1, 3.0 at t=3.
                series("a", &[(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]),
                series("b", &[(5, 5.0)]),
                series("c", &[(1, 9.0)]),
            ]
        );
    }

    #[test]
    fn identical_replicas_keep_the_first_copy() {
        let mut copies = vec![
            samples(&[(1, 1.0), (2, f64::NAN)]),
            samples(&[(1, 5.0), (2, 2.0)]),
        ];
        let merged = merge_samples(&mut copies);
        assert_eq!(merged[0].value, 1.0);
        assert!(merged[1].value.is_nan());
        assert_eq!(merged.len(), 2);
    }

    #[test]
    fn duplicates_inside_one_copy_collapse() {
        let mut copies = vec![
            samples(&[(1, 1.0), (1, 2.0), (2, 2.0)]),
            samples(&[(3, 3.0)]),
        ];
        assert_eq!(
            merge_samples(&mut copies),
            samples(&[(1, 1.0), (2, 2.0), (3, 3.0)])
        );
    }

    #[test]
    fn unsorted_answers_are_sorted_and_merged() {
        let merged = merge_series(vec![
            vec![series("b", &[(1, 1.0)]), series("a", &[(1, 1.0)])],
            vec![series("a", &[(2, 2.0)])],
        ]);
        assert_eq!(
            merged,
            vec![series("a", &[(1, 1.0), (2, 2.0)]), series("b", &[(1, 1.0)])]
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
    fn arb_replicas() -> impl Strategy<Value = Vec<Vec<SeriesSamples>>> {
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
                    for sample in &series.samples {
                        points.entry(sample.timestamp_ms).or_insert(sample.value);
                    }
                }
            }
            let merged = merge_series(answers);
            let actual: BTreeMap<Labels, BTreeMap<i64, f64>> = merged
                .iter()
                .map(|series| {
                    let points = series.samples.iter().map(|s| (s.timestamp_ms, s.value)).collect();
                    (series.labels.clone(), points)
                })
                .collect();
            prop_assert_eq!(actual, expected);
            prop_assert!(merged.windows(2).all(|w| w[0].labels < w[1].labels));
            for series in &merged {
                prop_assert!(series.samples.windows(2).all(|w| w[0].timestamp_ms < w[1].timestamp_ms));
            }
        }
    }
}
