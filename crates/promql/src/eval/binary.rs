//! Binary operators: arithmetic, comparisons (filtering or `bool`), `atan2` and the set
//! operators `and`/`or`/`unless`, between scalars and vectors, with Prometheus's vector
//! matching (`on`/`ignoring`, `group_left`/`group_right`) and its error messages.

use norn_model::Labels;
use norn_model::labels::METRIC_NAME;
use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD,
    T_MUL, T_NEQ, T_POW, T_SUB, TokenId,
};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use crate::error::PromqlError;
use crate::value::{FPoint, Series};

use super::evaluator::{EVALUATION, Evaluator};
use super::fast_hash::{FastMap, FastSet};
use super::grid::{Grid, SeriesBuilder, StepReader, StepValues};
use super::result::is_metadata_label;

/// How two vectors' series are matched.
struct Matching {
    /// `on(...)` (true) or `ignoring(...)` (false).
    on: bool,
    /// The labels listed in `on`/`ignoring`.
    labels: Vec<String>,
    /// The cardinality.
    card: Card,
    /// Labels copied from the "one" side (`group_left(...)`/`group_right(...)`).
    include: Vec<String>,
    /// The value standing in for a missing partner of an iterated ("many") element:
    /// Prometheus's right fill, applied after the one-to-many swap.
    fill_one: Option<f64>,
    /// The value standing in for a missing partner of a "one" element (the left fill).
    fill_many: Option<f64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
}

impl Matching {
    fn of(binary: &BinaryExpr) -> Self {
        let modifier = binary.modifier.as_ref();
        let (on, labels) = match modifier.and_then(|modifier| modifier.matching.as_ref()) {
            Some(LabelModifier::Include(labels)) => (true, labels.labels.clone()),
            Some(LabelModifier::Exclude(labels)) => (false, labels.labels.clone()),
            None => (false, Vec::new()),
        };
        let (card, include) = match modifier.map(|modifier| &modifier.card) {
            Some(VectorMatchCardinality::ManyToOne(labels)) => {
                (Card::ManyToOne, labels.labels.clone())
            }
            Some(VectorMatchCardinality::OneToMany(labels)) => {
                (Card::OneToMany, labels.labels.clone())
            }
            _ => (Card::OneToOne, Vec::new()),
        };
        let fills = modifier.map(|modifier| &modifier.fill_values);
        Self {
            on,
            labels,
            card,
            include,
            fill_one: fills.and_then(|fills| fills.rhs),
            fill_many: fills.and_then(|fills| fills.lhs),
        }
    }

    /// Returns the join key of a series.
    fn signature(&self, labels: &Labels) -> String {
        let mut signature = String::new();
        for label in labels.iter() {
            let listed = self.labels.iter().any(|name| name == label.name);
            let included = if self.on {
                listed
            } else {
                !listed && label.name != METRIC_NAME
            };
            if included {
                signature.push_str(label.name);
                signature.push('\u{ff}');
                signature.push_str(label.value);
                signature.push('\u{ff}');
            }
        }
        signature
    }

    /// Returns the labels the matching looks at (Prometheus's `MatchLabels`).
    fn matched_labels(&self, labels: &Labels) -> Result<Labels, PromqlError> {
        let kept = labels.iter().filter(|label| {
            let listed = self.labels.iter().any(|name| name == label.name);
            if self.on {
                listed
            } else {
                !listed && label.name != METRIC_NAME
            }
        });
        build_labels(kept.map(|label| (label.name, label.value)))
    }

    /// Returns the labels of a result element (Prometheus's `resultMetric`).
    fn result_metric(
        &self,
        op: TokenId,
        lhs: &Labels,
        rhs: &Labels,
    ) -> Result<Labels, PromqlError> {
        let drop_name = changes_metric_schema(op);
        let mut pairs: Vec<(&str, &str)> = lhs
            .iter()
            .filter(|label| !(drop_name && is_metadata_label(label.name)))
            .filter(|label| {
                if self.card != Card::OneToOne {
                    return true;
                }
                let listed = self.labels.iter().any(|name| name == label.name);
                if self.on { listed } else { !listed }
            })
            .map(|label| (label.name, label.value))
            .collect();
        for name in &self.include {
            pairs.retain(|(existing, _)| existing != name);
            let value = rhs.get(name);
            if !value.is_empty() {
                pairs.push((name, value));
            }
        }
        build_labels(pairs)
    }
}

fn build_labels<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Labels, PromqlError> {
    Labels::new(pairs).map_err(|error| PromqlError::Internal(error.to_string()))
}

/// True for the operators whose result is no longer the metric (the name goes).
fn changes_metric_schema(op: TokenId) -> bool {
    matches!(op, T_ADD | T_SUB | T_MUL | T_DIV | T_MOD | T_POW | T_ATAN2)
}

fn is_comparison(op: TokenId) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

/// Applies `op` to two floats: the value and whether a comparison holds (arithmetic always
/// keeps; comparisons yield the left value).
fn element_binop(op: TokenId, lhs: f64, rhs: f64) -> Result<(f64, bool), PromqlError> {
    Ok(match op {
        T_ADD => (lhs + rhs, true),
        T_SUB => (lhs - rhs, true),
        T_MUL => (lhs * rhs, true),
        T_DIV => (lhs / rhs, true),
        T_POW => (lhs.powf(rhs), true),
        T_MOD => (go_mod(lhs, rhs), true),
        T_ATAN2 => (lhs.atan2(rhs), true),
        T_EQLC => (lhs, lhs == rhs),
        T_NEQ => (lhs, lhs != rhs),
        T_GTR => (lhs, lhs > rhs),
        T_LSS => (lhs, lhs < rhs),
        T_GTE => (lhs, lhs >= rhs),
        T_LTE => (lhs, lhs <= rhs),
        other => {
            return Err(PromqlError::Internal(format!(
                "operator {} not allowed between samples",
                promql_parser::parser::token::TokenType::new(other)
            )));
        }
    })
}

/// Go's `math.Mod`: the remainder with the sign of the dividend (Rust's `%` on floats).
fn go_mod(lhs: f64, rhs: f64) -> f64 {
    lhs % rhs
}

/// Applies `op` to two scalars (comparisons give 1 or 0).
fn scalar_binop(op: TokenId, lhs: f64, rhs: f64) -> Result<f64, PromqlError> {
    let (value, keep) = element_binop(op, lhs, rhs)?;
    Ok(if is_comparison(op) {
        if keep { 1.0 } else { 0.0 }
    } else {
        value
    })
}

impl Evaluator<'_> {
    /// Evaluates a binary expression over `grid`.
    pub(crate) fn eval_binary(
        &mut self,
        binary: &BinaryExpr,
        grid: Grid,
    ) -> Result<StepValues, PromqlError> {
        let lhs = self.eval(&binary.lhs, grid)?;
        let rhs = self.eval(&binary.rhs, grid)?;
        let held = lhs.sample_count() + rhs.sample_count();
        let op = binary.op.id();
        let return_bool = binary.return_bool();
        let result = match (lhs, rhs) {
            (StepValues::Scalar(lhs), StepValues::Scalar(rhs)) => lhs
                .iter()
                .zip(&rhs)
                .map(|(&l, &r)| scalar_binop(op, l, r))
                .collect::<Result<Vec<f64>, _>>()
                .map(StepValues::Scalar),
            (StepValues::Vector(vector), StepValues::Scalar(scalar)) => {
                vector_scalar(op, vector, &scalar, false, return_bool, grid).map(StepValues::Vector)
            }
            (StepValues::Scalar(scalar), StepValues::Vector(vector)) => {
                vector_scalar(op, vector, &scalar, true, return_bool, grid).map(StepValues::Vector)
            }
            (StepValues::Vector(lhs), StepValues::Vector(rhs)) => {
                let matching = Matching::of(binary);
                if matches!(op, T_LAND | T_LOR | T_LUNLESS) {
                    self.set_operation(op, &matching, &lhs, &rhs, grid)
                } else {
                    self.vector_binop(op, &matching, return_bool, &lhs, &rhs, grid)
                }
                .map(StepValues::Vector)
            }
            _ => Err(PromqlError::Internal(
                "binary operator between unsupported types".to_owned(),
            )),
        };
        self.samples.release(held);
        result
    }

    /// `and`, `or`, `unless`: elements keep their labels and values.
    fn set_operation(
        &mut self,
        op: TokenId,
        matching: &Matching,
        lhs: &[Series],
        rhs: &[Series],
        grid: Grid,
    ) -> Result<Vec<Series>, PromqlError> {
        let (lhs_sigs, rhs_sigs, _) = signatures(matching, lhs, rhs);
        let mut lhs_reader = StepReader::new(lhs);
        let mut rhs_reader = StepReader::new(rhs);
        let (mut lhs_now, mut rhs_now) = (Vec::new(), Vec::new());
        let mut builder = SeriesBuilder::new(grid);
        let mut slots: FastMap<(bool, usize), usize> = FastMap::default();
        let mut present: FastSet<usize> = FastSet::default();
        for ts in grid.times() {
            self.guard.check(EVALUATION)?;
            lhs_reader.read(lhs, ts, &mut lhs_now);
            rhs_reader.read(rhs, ts, &mut rhs_now);
            let mut emit = |right: bool, index: usize, f: f64| -> Result<(), PromqlError> {
                let series = if right { &rhs[index] } else { &lhs[index] };
                let slot = match slots.get(&(right, index)) {
                    Some(&slot) => slot,
                    None => {
                        let slot = builder.slot(&series.metric, series.drop_name);
                        slots.insert((right, index), slot);
                        slot
                    }
                };
                builder.push(slot, ts, f)
            };
            present.clear();
            match op {
                T_LAND => {
                    if lhs_now.is_empty() || rhs_now.is_empty() {
                        continue;
                    }
                    present.extend(rhs_now.iter().map(|&(index, _)| rhs_sigs[index]));
                    for &(index, f) in &lhs_now {
                        if present.contains(&lhs_sigs[index]) {
                            emit(false, index, f)?;
                        }
                    }
                }
                T_LOR => {
                    for &(index, f) in &lhs_now {
                        present.insert(lhs_sigs[index]);
                        emit(false, index, f)?;
                    }
                    for &(index, f) in &rhs_now {
                        if !present.contains(&rhs_sigs[index]) {
                            emit(true, index, f)?;
                        }
                    }
                }
                _ => {
                    present.extend(rhs_now.iter().map(|&(index, _)| rhs_sigs[index]));
                    for &(index, f) in &lhs_now {
                        if !present.contains(&lhs_sigs[index]) {
                            emit(false, index, f)?;
                        }
                    }
                }
            }
        }
        Ok(builder.finish())
    }

    /// Arithmetic and comparisons between two vectors, with one-to-one or
    /// many-to-one/one-to-many matching and the experimental `fill` modifiers.
    fn vector_binop(
        &mut self,
        op: TokenId,
        matching: &Matching,
        return_bool: bool,
        lhs: &[Series],
        rhs: &[Series],
        grid: Grid,
    ) -> Result<Vec<Series>, PromqlError> {
        let (lhs_sigs, rhs_sigs, sig_count) = signatures(matching, lhs, rhs);
        // The "many" side is iterated; the "one" side is looked up by signature.
        let swapped = matching.card == Card::OneToMany;
        let (many, one, many_sigs, one_sigs) = if swapped {
            (rhs, lhs, &rhs_sigs, &lhs_sigs)
        } else {
            (lhs, rhs, &lhs_sigs, &rhs_sigs)
        };
        let mut state = MatchState {
            op,
            matching,
            return_bool,
            swapped,
            many,
            one,
            matched_one_to_one: vec![false; sig_count],
            matched_any: vec![false; sig_count],
            matched_many: FastSet::default(),
            results: FastMap::default(),
            last_result: vec![None; many.len()],
            builder: SeriesBuilder::new(grid),
        };
        let mut many_reader = StepReader::new(many);
        let mut one_reader = StepReader::new(one);
        let (mut many_now, mut one_now) = (Vec::new(), Vec::new());
        let mut one_by_sig: Vec<Option<(usize, f64)>> = vec![None; sig_count];
        let has_fill = matching.fill_one.is_some() || matching.fill_many.is_some();
        for ts in grid.times() {
            self.guard.check(EVALUATION)?;
            many_reader.read(many, ts, &mut many_now);
            one_reader.read(one, ts, &mut one_now);
            let either_empty = many_now.is_empty() || one_now.is_empty();
            if (many_now.is_empty() && one_now.is_empty()) || (either_empty && !has_fill) {
                continue;
            }
            one_by_sig.iter_mut().for_each(|entry| *entry = None);
            state.start_step();
            for &(index, f) in &one_now {
                let sig = one_sigs[index];
                if let Some((existing, _)) = one_by_sig[sig] {
                    return Err(duplicate_one_side(
                        matching,
                        &one[index].metric,
                        &one[existing].metric,
                        swapped,
                    ));
                }
                one_by_sig[sig] = Some((index, f));
            }
            for &(many_index, many_f) in &many_now {
                let sig = many_sigs[many_index];
                let (one_index, one_f) = match (one_by_sig[sig], matching.fill_one) {
                    (Some((index, f)), _) => (Some(index), f),
                    (None, Some(fill)) => (None, fill),
                    (None, None) => continue,
                };
                state.combine(ts, sig, Some(many_index), many_f, one_index, one_f)?;
            }
            if let Some(fill) = matching.fill_many {
                for &(one_index, one_f) in &one_now {
                    let sig = one_sigs[one_index];
                    if !state.matched_any[sig] {
                        state.combine(ts, sig, None, fill, Some(one_index), one_f)?;
                    }
                }
            }
        }
        Ok(state.builder.finish())
    }
}

/// The state of a vector-to-vector operation across steps.
struct MatchState<'a> {
    op: TokenId,
    matching: &'a Matching,
    return_bool: bool,
    swapped: bool,
    many: &'a [Series],
    one: &'a [Series],
    /// Per signature: matched at this step (one-to-one).
    matched_one_to_one: Vec<bool>,
    /// Per signature: anything matched at this step.
    matched_any: Vec<bool>,
    /// (signature, result labels hash) produced at this step (many-to-one).
    matched_many: FastSet<(usize, u64)>,
    /// Result slot and labels hash by (many index, one index), `usize::MAX` for a fill.
    results: FastMap<(usize, usize), (usize, u64)>,
    /// Per "many" element: its last partner's index with the result's slot and labels hash
    /// (a cache in front of `results`: partners rarely change between steps).
    last_result: Vec<Option<(usize, usize, u64)>>,
    builder: SeriesBuilder,
}

impl MatchState<'_> {
    fn start_step(&mut self) {
        self.matched_one_to_one
            .iter_mut()
            .for_each(|entry| *entry = false);
        self.matched_any.iter_mut().for_each(|entry| *entry = false);
        self.matched_many.clear();
    }

    /// Combines a "many" element with its "one" partner (either may be a fill value,
    /// `None` then, whose labels are the present side's matched labels).
    fn combine(
        &mut self,
        ts: i64,
        sig: usize,
        many_index: Option<usize>,
        many_f: f64,
        one_index: Option<usize>,
        one_f: f64,
    ) -> Result<(), PromqlError> {
        let (fl, fr) = if self.swapped {
            (one_f, many_f)
        } else {
            (many_f, one_f)
        };
        let (mut value, keep) = element_binop(self.op, fl, fr)?;
        if self.return_bool {
            value = if keep { 1.0 } else { 0.0 };
        }
        let key = (
            many_index.unwrap_or(usize::MAX),
            one_index.unwrap_or(usize::MAX),
        );
        let cached = many_index
            .and_then(|index| self.last_result.get(index).copied().flatten())
            .filter(|&(partner, _, _)| partner == key.1);
        let (slot, hash) = match cached {
            Some((_, slot, hash)) => (slot, hash),
            None => {
                let found = match self.results.get(&key) {
                    Some(&found) => found,
                    None => {
                        let metric = self.result_metric(many_index, one_index)?;
                        let hash = metric.hash();
                        let slot = self.builder.slot_owned(metric, self.return_bool);
                        self.results.insert(key, (slot, hash));
                        (slot, hash)
                    }
                };
                if let Some(entry) = many_index.and_then(|index| self.last_result.get_mut(index)) {
                    *entry = Some((key.1, found.0, found.1));
                }
                found
            }
        };
        if self.matching.card == Card::OneToOne {
            if self.matched_one_to_one[sig] {
                return Err(PromqlError::Execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".to_owned(),
                ));
            }
            self.matched_one_to_one[sig] = true;
        } else if !self.matched_many.insert((sig, hash)) {
            return Err(PromqlError::Execution(
                "multiple matches for labels: grouping labels must ensure unique matches"
                    .to_owned(),
            ));
        }
        self.matched_any[sig] = true;
        if keep || self.return_bool {
            self.builder.push(slot, ts, value)?;
        }
        Ok(())
    }

    fn result_metric(
        &self,
        many_index: Option<usize>,
        one_index: Option<usize>,
    ) -> Result<Labels, PromqlError> {
        let many = many_index.and_then(|index| self.many.get(index));
        let one = one_index.and_then(|index| self.one.get(index));
        match (many, one) {
            (Some(many), Some(one)) => {
                self.matching
                    .result_metric(self.op, &many.metric, &one.metric)
            }
            (Some(many), None) => {
                let one = self.matching.matched_labels(&many.metric)?;
                self.matching.result_metric(self.op, &many.metric, &one)
            }
            (None, Some(one)) => {
                let many = self.matching.matched_labels(&one.metric)?;
                self.matching.result_metric(self.op, &many, &one.metric)
            }
            (None, None) => Err(PromqlError::Internal(
                "a vector match without either side".to_owned(),
            )),
        }
    }
}

/// Computes every series' join-signature ordinal (shared numbering for both sides).
fn signatures(
    matching: &Matching,
    lhs: &[Series],
    rhs: &[Series],
) -> (Vec<usize>, Vec<usize>, usize) {
    let mut ordinals: FastMap<String, usize> = FastMap::default();
    let mut ordinal_of = |series: &Series| {
        let next = ordinals.len();
        *ordinals
            .entry(matching.signature(&series.metric))
            .or_insert(next)
    };
    let lhs_sigs = lhs.iter().map(&mut ordinal_of).collect();
    let rhs_sigs = rhs.iter().map(&mut ordinal_of).collect();
    (lhs_sigs, rhs_sigs, ordinals.len())
}

/// Prometheus's error for two series of the "one" side sharing a match group.
fn duplicate_one_side(
    matching: &Matching,
    found: &Labels,
    existing: &Labels,
    swapped: bool,
) -> PromqlError {
    let side = if swapped { "left" } else { "right" };
    let group = matching
        .matched_labels(found)
        .map(|labels| labels.to_string())
        .unwrap_or_default();
    let (mut first, mut second) = (found.to_string(), existing.to_string());
    if first > second {
        std::mem::swap(&mut first, &mut second);
    }
    PromqlError::Execution(format!(
        "found duplicate series for the match group {group} on the {side} hand-side of the operation: [{first}, {second}];many-to-many matching not allowed: matching labels must be unique on one side"
    ))
}

/// A vector and a scalar (`swapped` when the scalar is on the left): per point, with
/// comparisons filtering (keeping the vector's value) unless `bool` is given.
fn vector_scalar(
    op: TokenId,
    vector: Vec<Series>,
    scalar: &[f64],
    swapped: bool,
    return_bool: bool,
    grid: Grid,
) -> Result<Vec<Series>, PromqlError> {
    let comparison = is_comparison(op);
    let drops_name = changes_metric_schema(op) || return_bool;
    let mut out = Vec::with_capacity(vector.len());
    for mut series in vector {
        let mut kept = Vec::with_capacity(series.floats.len());
        for point in &series.floats {
            let other = scalar.get(grid.index(point.t)).copied().unwrap_or(f64::NAN);
            let (lhs, rhs) = if swapped {
                (other, point.f)
            } else {
                (point.f, other)
            };
            let (mut value, mut keep) = element_binop(op, lhs, rhs)?;
            if comparison && swapped {
                value = point.f;
            }
            if return_bool {
                value = if keep { 1.0 } else { 0.0 };
                keep = true;
            }
            if keep {
                kept.push(FPoint {
                    t: point.t,
                    f: value,
                });
            }
        }
        if kept.is_empty() {
            continue;
        }
        series.floats = kept;
        series.drop_name |= drops_name;
        out.push(series);
    }
    Ok(out)
}
