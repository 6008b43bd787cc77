//! Postings: which series carry a label pair, and the matcher algebra over them.
//!
//! The head and a block index both answer the same three questions (values of a label, series
//! with `name=value` for some values, all series), so [`IndexLookup`] is the one trait between
//! them and [`postings_for_matchers`] turns a selector into a set of series IDs once for both.
//! Sets are roaring bitmaps: compact for dense ID ranges and fast to intersect.
//!
//! The matcher rules are Prometheus's: a matcher that accepts the empty value also selects
//! series that lack the label, so such matchers are applied by subtracting what they reject,
//! and a selector made only of such matchers starts from all series.

use roaring::RoaringTreemap;

use norn_model::matcher::{MatchType, Matcher};

use crate::error::Result;

/// The lookups an index offers; series IDs are head refs or block series IDs.
pub trait IndexLookup {
    /// Returns the distinct values of label `name` in ascending order (empty if none).
    fn label_values(&self, name: &str) -> Result<Vec<String>>;
    /// Returns the series having label `name` with any of `values` (absent values are skipped).
    fn postings(&self, name: &str, values: &[&str]) -> Result<RoaringTreemap>;
    /// Returns every series.
    fn all_postings(&self) -> Result<RoaringTreemap>;
}

/// Returns the series selected by all `matchers` (an empty list selects every series).
pub fn postings_for_matchers(
    index: &(impl IndexLookup + ?Sized),
    matchers: &[Matcher],
) -> Result<RoaringTreemap> {
    let mut selected: Option<RoaringTreemap> = None;
    let mut subtract: Vec<RoaringTreemap> = Vec::new();
    // Positive matchers first: they usually narrow the set the most.
    for matcher in matchers.iter().filter(|m| !m.matches_empty()) {
        let postings = matching_postings(index, matcher, false)?;
        selected = Some(match selected {
            Some(set) => set & postings,
            None => postings,
        });
        if selected.as_ref().is_some_and(RoaringTreemap::is_empty) {
            return Ok(RoaringTreemap::new());
        }
    }
    for matcher in matchers.iter().filter(|m| m.matches_empty()) {
        // Accepts "": remove the series whose value the matcher rejects.
        subtract.push(matching_postings(index, matcher, true)?);
    }
    let mut result = match selected {
        Some(set) => set,
        None => index.all_postings()?,
    };
    for postings in subtract {
        result -= postings;
    }
    Ok(result)
}

/// Returns the series whose value of the matcher's label is non-empty and accepted by the
/// matcher (or, with `rejected`, non-empty and refused by it).
fn matching_postings(
    index: &(impl IndexLookup + ?Sized),
    matcher: &Matcher,
    rejected: bool,
) -> Result<RoaringTreemap> {
    if !rejected && let Some(values) = matcher.set_values() {
        return index.postings(matcher.name(), &values);
    }
    if rejected && matcher.kind() == MatchType::NotEqual && !matcher.value().is_empty() {
        return index.postings(matcher.name(), &[matcher.value()]);
    }
    let values = index.label_values(matcher.name())?;
    let chosen: Vec<&str> = values
        .iter()
        .map(String::as_str)
        .filter(|value| matcher.matches(value) != rejected)
        .collect();
    index.postings(matcher.name(), &chosen)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// An index over a handful of label sets, for checking the algebra.
    struct TestIndex(Vec<Vec<(&'static str, &'static str)>>);

    impl IndexLookup for TestIndex {
        fn label_values(&self, name: &str) -> Result<Vec<String>> {
            let mut values: Vec<String> = self
                .0
                .iter()
                .flat_map(|labels| labels.iter())
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
                .collect();
            values.sort();
            values.dedup();
            Ok(values)
        }
        fn postings(&self, name: &str, values: &[&str]) -> Result<RoaringTreemap> {
            Ok(self
                .0
                .iter()
                .enumerate()
                .filter(|(_, labels)| labels.iter().any(|(n, v)| *n == name && values.contains(v)))
                .map(|(id, _)| id as u64)
                .collect())
        }
        fn all_postings(&self) -> Result<RoaringTreemap> {
            Ok((0..self.0.len() as u64).collect())
        }
    }

    fn select(index: &TestIndex, matchers: &[(&str, MatchType, &str)]) -> Vec<u64> {
        let matchers: Vec<Matcher> = matchers
            .iter()
            .map(|(n, k, v)| Matcher::new(*k, *n, *v).unwrap())
            .collect();
        postings_for_matchers(index, &matchers)
            .unwrap()
            .iter()
            .collect()
    }

    #[test]
    fn matcher_algebra_agrees_with_brute_force() {
        let index = TestIndex(vec![
            vec![("__name__", "up"), ("job", "a")],
            vec![("__name__", "up"), ("job", "b"), ("env", "prod")],
            vec![("__name__", "up")],
            vec![("__name__", "down"), ("job", "a")],
        ]);
        let cases: Vec<Vec<(&str, MatchType, &str)>> = vec![
            vec![("__name__", MatchType::Equal, "up")],
            vec![("job", MatchType::Equal, "")],
            vec![("job", MatchType::NotEqual, "")],
            vec![("job", MatchType::NotEqual, "a")],
            vec![
                ("__name__", MatchType::Equal, "up"),
                ("job", MatchType::NotEqual, "a"),
            ],
            vec![("job", MatchType::Regex, "a|")],
            vec![("job", MatchType::Regex, "a|b")],
            vec![("job", MatchType::NotRegex, "a|b")],
            vec![("job", MatchType::NotRegex, "")],
            vec![("env", MatchType::Regex, ".*")],
            vec![("env", MatchType::Regex, ".+")],
            vec![
                ("env", MatchType::Equal, "prod"),
                ("job", MatchType::Regex, "a"),
            ],
            vec![],
        ];
        for case in cases {
            let expected: Vec<u64> = index
                .0
                .iter()
                .enumerate()
                .filter(|(_, labels)| {
                    let map: BTreeMap<&str, &str> = labels.iter().copied().collect();
                    case.iter().all(|(n, k, v)| {
                        Matcher::new(*k, *n, *v)
                            .unwrap()
                            .matches(map.get(n).copied().unwrap_or(""))
                    })
                })
                .map(|(id, _)| id as u64)
                .collect();
            assert_eq!(select(&index, &case), expected, "{case:?}");
        }
    }
}
