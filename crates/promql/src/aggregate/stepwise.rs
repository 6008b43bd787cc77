//! Aggregating the same input series at many steps (a range query): each series' group is
//! worked out once ([`SeriesGroups::new`]) instead of hashing its labels at every step, and a
//! step's input is given as `(series, value)` pairs, so no label set is copied per step.
//!
//! A step gives exactly what [`super::aggregate`] gives for the same input vector: groups
//! are numbered per step in order of first appearance (the output order), the reductions
//! and selections are the same code, and the same warnings and errors come out.

use norn_model::Labels;
use promql_parser::parser::token::{self, TokenType};

use crate::annotations::Annotations;
use crate::error::PromqlError;

use super::grouping::Groups;
use super::numeric::{self, Reduction};
use super::select::{self, Selection};
use super::{AggParam, Grouping, number_param};

/// What one step of a [`SeriesGroups`] aggregation outputs.
#[derive(Debug, PartialEq)]
pub(crate) enum StepOutput {
    /// New samples, one per group: `(group, value, drop_name)`, labelled with
    /// [`SeriesGroups::group_labels`].
    Groups(Vec<(usize, f64, bool)>),
    /// Input samples kept unchanged (`topk`, …): positions in the step's input.
    Positions(Vec<usize>),
}

/// The groups of a fixed list of input series under one aggregation.
#[derive(Debug)]
pub(crate) struct SeriesGroups {
    op: TokenType,
    /// The group of each series.
    group_of_series: Vec<usize>,
    /// Each group's labels.
    labels: Vec<Labels>,
    /// Each series' name flag.
    drop_name: Vec<bool>,
    /// Each series' label hash (`limit_ratio` only).
    hashes: Vec<u64>,
    /// Scratch: each group's number at the current step (`usize::MAX` when absent).
    numbers: Vec<usize>,
    /// Scratch: the groups met at the current step, by number.
    met: Vec<usize>,
}

impl SeriesGroups {
    /// Returns the groups of `series` (labels and name flag of each input series) for `op`
    /// with `grouping`, or `None` for an operator that needs the step's labels
    /// (`count_values`).
    pub(crate) fn new<'s>(
        op: TokenType,
        grouping: Grouping<'_>,
        series: impl Iterator<Item = (&'s Labels, bool)>,
    ) -> Result<Option<Self>, PromqlError> {
        if op.id() == token::T_COUNT_VALUES {
            return Ok(None);
        }
        let mut groups = Groups::new(grouping);
        let mut group_of_series = Vec::new();
        let mut drop_name = Vec::new();
        let mut hashes = Vec::new();
        for (metric, drop) in series {
            group_of_series.push(groups.group_of(metric)?);
            drop_name.push(drop);
            if op.id() == token::T_LIMIT_RATIO {
                hashes.push(metric.hash());
            }
        }
        let labels = groups.into_labels();
        Ok(Some(Self {
            op,
            numbers: vec![usize::MAX; labels.len()],
            met: Vec::new(),
            group_of_series,
            labels,
            drop_name,
            hashes,
        }))
    }

    /// Returns the number of groups.
    pub(crate) fn group_count(&self) -> usize {
        self.labels.len()
    }

    /// Returns the labels of `group`.
    pub(crate) fn group_labels(&self, group: usize) -> &Labels {
        &self.labels[group]
    }

    /// Aggregates one step whose input vector is `input`: `(series, value)` pairs in the
    /// vector's order, `series` indexing the list given to [`SeriesGroups::new`].
    pub(crate) fn aggregate_step(
        &mut self,
        param: AggParam<'_>,
        input: &[(usize, f64)],
        annotations: &mut Annotations,
    ) -> Result<StepOutput, PromqlError> {
        let op = self.op;
        let reduction = match op.id() {
            token::T_SUM => Some(Reduction::Sum),
            token::T_AVG => Some(Reduction::Avg),
            token::T_COUNT => Some(Reduction::Count),
            token::T_MIN => Some(Reduction::Min),
            token::T_MAX => Some(Reduction::Max),
            token::T_GROUP => Some(Reduction::Group),
            token::T_STDDEV => Some(Reduction::Stddev),
            token::T_STDVAR => Some(Reduction::Stdvar),
            token::T_QUANTILE => Some(Reduction::Quantile(number_param(op, param)?)),
            _ => None,
        };
        if let Some(reduction) = reduction {
            numeric::warn_about_parameter(reduction, annotations);
            let samples = input.iter().map(|&(series, f)| {
                let number = self.number_of(self.group_of_series[series]);
                (number, f, self.drop_name[series])
            });
            let reduced = numeric::reduce_numbered(reduction, samples)?;
            let output = reduced
                .into_iter()
                .zip(&self.met)
                .map(|((f, drop_name), &group)| (group, f, drop_name))
                .collect();
            self.reset_numbers();
            return Ok(StepOutput::Groups(output));
        }
        let selection = match op.id() {
            token::T_TOPK => Selection::TopK,
            token::T_BOTTOMK => Selection::BottomK,
            token::T_LIMITK => Selection::LimitK,
            token::T_LIMIT_RATIO => Selection::LimitRatio,
            _ => {
                return Err(PromqlError::Internal(format!(
                    "{op} is not a stepwise aggregation"
                )));
            }
        };
        let param = number_param(op, param)?;
        let hashes = std::mem::take(&mut self.hashes);
        let chosen = select::select_positions(
            selection,
            param,
            input.len(),
            |position| Ok(self.number_of(self.group_of_series[input[position].0])),
            |position| input[position].1,
            |ratio, position| {
                hashes
                    .get(input[position].0)
                    .is_some_and(|hash| select::ratio_keeps_hash(ratio, *hash))
            },
            annotations,
        );
        self.hashes = hashes;
        self.reset_numbers();
        Ok(StepOutput::Positions(chosen?))
    }

    /// Returns the step's number of `group`, numbering it when it is new at this step.
    fn number_of(&mut self, group: usize) -> usize {
        let number = &mut self.numbers[group];
        if *number == usize::MAX {
            *number = self.met.len();
            self.met.push(group);
        }
        *number
    }

    /// Forgets the step's numbering.
    fn reset_numbers(&mut self) {
        for &group in &self.met {
            self.numbers[group] = usize::MAX;
        }
        self.met.clear();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::aggregate::{AggregateCall, aggregate};
    use crate::value::Sample;

    const OPS: [u16; 13] = [
        token::T_SUM,
        token::T_AVG,
        token::T_COUNT,
        token::T_MIN,
        token::T_MAX,
        token::T_GROUP,
        token::T_STDDEV,
        token::T_STDVAR,
        token::T_QUANTILE,
        token::T_TOPK,
        token::T_BOTTOMK,
        token::T_LIMITK,
        token::T_LIMIT_RATIO,
    ];

    /// Twelve series over three jobs and two modes, some with the name flag set.
    fn series() -> Vec<(Labels, bool)> {
        (0..12)
            .map(|index| {
                let instance = format!("i{index}");
                let job = format!("j{}", index % 3);
                let mode = if index % 2 == 0 { "user" } else { "idle" };
                let labels = Labels::new([
                    ("__name__", "m"),
                    ("instance", instance.as_str()),
                    ("job", job.as_str()),
                    ("mode", mode),
                ])
                .unwrap();
                (labels, index % 5 == 0)
            })
            .collect()
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => (-4i32..5).prop_map(f64::from),
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
        ]
    }

    proptest! {
        /// Every step gives exactly what the per-vector aggregation gives for the same
        /// input: labels, values (bit for bit), name flags, order, annotations and errors.
        #[test]
        fn steps_match_the_per_vector_aggregation(
            op in prop::sample::select(OPS.to_vec()),
            without in any::<bool>(),
            by_labels in prop::sample::subsequence(vec!["job", "mode", "instance"], 0..3),
            param in prop_oneof![Just(0.5), Just(2.0), Just(-0.3), Just(f64::NAN), Just(1.5)],
            steps in prop::collection::vec(
                prop::collection::vec((0usize..12, value()), 0..16),
                1..5,
            ),
        ) {
            let op = TokenType::new(op);
            let names: Vec<String> = by_labels.iter().map(|name| (*name).to_owned()).collect();
            let grouping = if without { Grouping::Without(&names) } else { Grouping::By(&names) };
            let all = series();
            let mut groups = SeriesGroups::new(
                op,
                grouping,
                all.iter().map(|(labels, drop)| (labels, *drop)),
            )
            .unwrap()
            .unwrap();
            let param = match op.id() {
                token::T_SUM | token::T_AVG | token::T_COUNT | token::T_MIN | token::T_MAX
                | token::T_GROUP | token::T_STDDEV | token::T_STDVAR => AggParam::None,
                _ => AggParam::Number(param),
            };
            for step in steps {
                // A vector holds each series once, in series order (as the evaluator reads it).
                let mut input: Vec<(usize, f64)> = Vec::new();
                for (series, f) in step {
                    if !input.iter().any(|(seen, _)| *seen == series) {
                        input.push((series, f));
                    }
                }
                input.sort_by_key(|(series, _)| *series);
                let vector: Vec<Sample> = input
                    .iter()
                    .map(|&(series, f)| Sample {
                        metric: all[series].0.clone(),
                        t: 7,
                        f,
                        drop_name: all[series].1,
                    })
                    .collect();
                let mut expected_annotations = Annotations::new();
                let expected = aggregate(AggregateCall {
                    op,
                    grouping,
                    param,
                    input: &vector,
                    ts: 7,
                    annotations: &mut expected_annotations,
                });
                let mut annotations = Annotations::new();
                let got = groups.aggregate_step(param, &input, &mut annotations);
                prop_assert_eq!(&annotations, &expected_annotations);
                let (expected, got) = match (expected, got) {
                    (Err(expected), Err(got)) => {
                        prop_assert_eq!(got, expected);
                        continue;
                    }
                    (Ok(expected), Ok(got)) => (expected, got),
                    (expected, got) => {
                        return Err(TestCaseError::fail(format!("{expected:?} vs {got:?}")));
                    }
                };
                let got: Vec<(Labels, u64, bool)> = match got {
                    StepOutput::Groups(output) => output
                        .into_iter()
                        .map(|(group, f, drop)| (groups.group_labels(group).clone(), f.to_bits(), drop))
                        .collect(),
                    StepOutput::Positions(chosen) => chosen
                        .into_iter()
                        .map(|position| {
                            let (series, f) = input[position];
                            (all[series].0.clone(), f.to_bits(), all[series].1)
                        })
                        .collect(),
                };
                let expected: Vec<(Labels, u64, bool)> = expected
                    .into_iter()
                    .map(|sample| (sample.metric, sample.f.to_bits(), sample.drop_name))
                    .collect();
                prop_assert_eq!(got, expected);
            }
        }
    }

    #[test]
    fn count_values_is_left_to_the_per_vector_path() {
        let all = series();
        let groups = SeriesGroups::new(
            TokenType::new(token::T_COUNT_VALUES),
            Grouping::By(&[]),
            all.iter().map(|(labels, drop)| (labels, *drop)),
        )
        .unwrap();
        assert!(groups.is_none());
    }
}
