//! `count_values("label", v)`: counts the samples sharing each value, per group. Each input
//! sample first gets the label set to its value (spelled as Go's
//! `strconv.FormatFloat(f, 'f', -1, 64)`), then is grouped; with `by` the new label is part
//! of the grouping, with `without` it stays unless listed.

use norn_model::Labels;

use crate::error::PromqlError;
use crate::value::{Sample, Vector};

use super::Grouping;
use super::goformat::format_go_f;
use super::grouping::Groups;

/// Counts the samples of `input` per group and value.
pub(super) fn count_values(
    value_label: &str,
    grouping: Grouping<'_>,
    input: &[Sample],
    ts: i64,
) -> Result<Vector, PromqlError> {
    // Prometheus validates with UTF-8 rules: any non-empty valid UTF-8 name is accepted.
    if value_label.is_empty() || crate::parse::is_invalid_utf8_marker(value_label) {
        return Err(PromqlError::Execution(format!(
            "invalid label name {value_label:?}"
        )));
    }
    let by_with_value: Vec<String>;
    let grouping = match grouping {
        Grouping::By(names) => {
            by_with_value = names
                .iter()
                .cloned()
                .chain(std::iter::once(value_label.to_owned()))
                .collect();
            Grouping::By(&by_with_value)
        }
        without @ Grouping::Without(_) => without,
    };
    let mut groups = Groups::new(grouping);
    let mut counts: Vec<f64> = Vec::new();
    for sample in input {
        let value = format_go_f(sample.f);
        let labelled = Labels::new(
            sample
                .metric
                .iter()
                .filter(|label| label.name != value_label)
                .map(|label| (label.name, label.value))
                .chain(std::iter::once((value_label, value.as_str()))),
        )
        .map_err(|error| PromqlError::Internal(format!("count_values labels: {error}")))?;
        let group = groups.group_of(&labelled)?;
        match counts.get_mut(group) {
            Some(count) => *count += 1.0,
            None => counts.push(1.0),
        }
    }
    Ok(groups
        .into_labels()
        .into_iter()
        .zip(counts)
        .map(|(metric, count)| Sample {
            metric,
            t: ts,
            f: count,
            drop_name: false,
        })
        .collect())
}
