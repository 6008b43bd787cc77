//! The JSON tree `api/v1/parse_query` answers with, shaped as Prometheus's `translateAST`
//! (`web/api/v1/translate_ast.go`, used by its UI's tree view): one object per node with a
//! `type` (`aggregation`, `binaryExpr`, `call`, `matrixSelector`, `subquery`, `numberLiteral`,
//! `parenExpr`, `stringLiteral`, `unaryExpr`, `vectorSelector`) and the node's fields.
//!
//! Differences, from the parser Norn uses (`promql-parser`): duration expressions
//! (`rangeExpr`, `offsetExpr`, `stepExpr`) are always `null` because durations are parsed to
//! values, and `anchored`/`smoothed` (experimental Prometheus modifiers) are always `false`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::Matcher as ParsedMatcher;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    AtModifier, Expr, LabelModifier, Offset, VectorMatchCardinality, VectorSelector,
};
use serde_json::{Value as Json, json};

use crate::api::json::format_value;

/// Translates an expression tree into Prometheus's JSON shape.
pub(crate) fn translate(expr: &Expr) -> Json {
    match expr {
        Expr::Aggregate(aggregate) => {
            let (grouping, without) = match &aggregate.modifier {
                Some(LabelModifier::Include(labels)) => (labels.labels.clone(), false),
                Some(LabelModifier::Exclude(labels)) => (labels.labels.clone(), true),
                None => (Vec::new(), false),
            };
            json!({
                "type": "aggregation",
                "op": aggregate.op.to_string(),
                "expr": translate(&aggregate.expr),
                "param": aggregate.param.as_deref().map_or(Json::Null, translate),
                "grouping": grouping,
                "without": without,
            })
        }
        Expr::Binary(binary) => {
            let modifier = binary.modifier.as_ref();
            let both_vectors = binary.lhs.value_type() == ValueType::Vector
                && binary.rhs.value_type() == ValueType::Vector;
            let matching = both_vectors.then(|| {
                let set_operator = binary.op.is_set_operator();
                let (card, include) = match modifier.map(|modifier| &modifier.card) {
                    Some(VectorMatchCardinality::ManyToOne(labels)) => {
                        ("many-to-one", labels.labels.clone())
                    }
                    Some(VectorMatchCardinality::OneToMany(labels)) => {
                        ("one-to-many", labels.labels.clone())
                    }
                    Some(VectorMatchCardinality::ManyToMany) => ("many-to-many", Vec::new()),
                    _ if set_operator => ("many-to-many", Vec::new()),
                    _ => ("one-to-one", Vec::new()),
                };
                let (labels, on) = match modifier.and_then(|modifier| modifier.matching.as_ref()) {
                    Some(LabelModifier::Include(labels)) => (labels.labels.clone(), true),
                    Some(LabelModifier::Exclude(labels)) => (labels.labels.clone(), false),
                    None => (Vec::new(), false),
                };
                let fill = modifier.map(|modifier| &modifier.fill_values);
                json!({
                    "card": card,
                    "labels": labels,
                    "on": on,
                    "include": include,
                    "fillValues": {
                        "lhs": fill.and_then(|fill| fill.lhs),
                        "rhs": fill.and_then(|fill| fill.rhs),
                    },
                })
            });
            json!({
                "type": "binaryExpr",
                "op": binary.op.to_string(),
                "lhs": translate(&binary.lhs),
                "rhs": translate(&binary.rhs),
                "matching": matching,
                "bool": modifier.is_some_and(|modifier| modifier.return_bool),
            })
        }
        Expr::Call(call) => json!({
            "type": "call",
            "func": {
                "name": call.func.name,
                "argTypes": call
                    .func
                    .arg_types
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
                "variadic": call.func.variadic,
                "returnType": call.func.return_type.to_string(),
            },
            "args": call.args.args.iter().map(|arg| translate(arg)).collect::<Vec<_>>(),
        }),
        Expr::MatrixSelector(matrix) => {
            let mut node = selector_fields(&matrix.vs);
            node["type"] = json!("matrixSelector");
            node["range"] = json!(millis(&matrix.range));
            node["rangeExpr"] = Json::Null;
            node
        }
        Expr::Subquery(subquery) => {
            let (timestamp, start_or_end) = at_fields(subquery.at.as_ref());
            json!({
                "type": "subquery",
                "expr": translate(&subquery.expr),
                "range": millis(&subquery.range),
                "rangeExpr": Json::Null,
                "offset": offset_millis(subquery.offset.as_ref()),
                "offsetExpr": Json::Null,
                "step": subquery.step.as_ref().map_or(0, millis),
                "stepExpr": Json::Null,
                "timestamp": timestamp,
                "startOrEnd": start_or_end,
            })
        }
        Expr::NumberLiteral(number) => json!({
            "type": "numberLiteral",
            "val": number_text(number.val),
        }),
        Expr::Paren(paren) => json!({
            "type": "parenExpr",
            "expr": translate(&paren.expr),
        }),
        Expr::StringLiteral(string) => json!({
            "type": "stringLiteral",
            "val": string.val,
        }),
        Expr::Unary(unary) => json!({
            "type": "unaryExpr",
            "op": "-",
            "expr": translate(&unary.expr),
        }),
        Expr::VectorSelector(vector) => {
            let mut node = selector_fields(vector);
            node["type"] = json!("vectorSelector");
            node
        }
        Expr::Extension(_) => Json::Null,
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)` (no exponent form), with Go's spellings of
/// the non-finite values.
fn number_text(value: f64) -> String {
    if value.is_finite() {
        format!("{value}")
    } else {
        format_value(value)
    }
}

fn millis(duration: &Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn offset_millis(offset: Option<&Offset>) -> i64 {
    match offset {
        Some(Offset::Pos(duration)) => millis(duration),
        Some(Offset::Neg(duration)) => -millis(duration),
        None => 0,
    }
}

/// The `timestamp` (milliseconds or null) and `startOrEnd` (`start`, `end` or null) of an
/// `@` modifier.
fn at_fields(at: Option<&AtModifier>) -> (Json, Json) {
    match at {
        None => (Json::Null, Json::Null),
        Some(AtModifier::Start) => (Json::Null, json!("start")),
        Some(AtModifier::End) => (Json::Null, json!("end")),
        Some(AtModifier::At(time)) => (json!(system_time_millis(*time)), Json::Null),
    }
}

fn system_time_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => millis(&after),
        Err(before) => -millis(&before.duration()),
    }
}

/// The fields vector and matrix selectors share; the matchers include the metric name, as
/// Prometheus's `LabelMatchers` do.
fn selector_fields(vector: &VectorSelector) -> Json {
    let (timestamp, start_or_end) = at_fields(vector.at.as_ref());
    let mut matchers: Vec<Json> = Vec::new();
    let mut push = |matcher: &ParsedMatcher| {
        matchers.push(json!({
            "name": matcher.name,
            "value": matcher.value,
            "type": matcher.op.to_string(),
        }));
    };
    for matcher in &vector.matchers.matchers {
        push(matcher);
    }
    for group in &vector.matchers.or_matchers {
        for matcher in group {
            push(matcher);
        }
    }
    if let Some(name) = &vector.name {
        matchers.push(json!({"name": "__name__", "value": name, "type": "="}));
    }
    json!({
        "name": vector.name.clone().unwrap_or_default(),
        "offset": offset_millis(vector.offset.as_ref()),
        "offsetExpr": Json::Null,
        "matchers": matchers,
        "timestamp": timestamp,
        "startOrEnd": start_or_end,
        "anchored": false,
        "smoothed": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(query: &str) -> Json {
        translate(&promql_parser::parser::parse(query).unwrap())
    }

    #[test]
    fn selectors_and_calls_are_translated() {
        let node = tree("rate(http_requests_total{job=\"api\"}[5m] offset 1m)");
        assert_eq!(node["type"], "call");
        assert_eq!(node["func"]["name"], "rate");
        assert_eq!(node["func"]["argTypes"], json!(["matrix"]));
        assert_eq!(node["func"]["returnType"], "vector");
        let matrix = &node["args"][0];
        assert_eq!(matrix["type"], "matrixSelector");
        assert_eq!(matrix["name"], "http_requests_total");
        assert_eq!(matrix["range"], 300_000);
        assert_eq!(matrix["offset"], 60_000);
        assert_eq!(
            matrix["matchers"],
            json!([
                {"name": "job", "value": "api", "type": "="},
                {"name": "__name__", "value": "http_requests_total", "type": "="},
            ])
        );
    }

    #[test]
    fn operators_aggregations_and_literals_are_translated() {
        let node = tree("sum by (job) (up) / on (job) group_left (env) count(up) > bool 2");
        assert_eq!(node["type"], "binaryExpr");
        assert_eq!(node["op"], ">");
        assert_eq!(node["bool"], true);
        assert_eq!(node["rhs"], json!({"type": "numberLiteral", "val": "2"}));
        let division = &node["lhs"];
        assert_eq!(division["op"], "/");
        assert_eq!(division["matching"]["card"], "many-to-one");
        assert_eq!(division["matching"]["on"], true);
        assert_eq!(division["matching"]["labels"], json!(["job"]));
        assert_eq!(division["matching"]["include"], json!(["env"]));
        let sum = &division["lhs"];
        assert_eq!(sum["type"], "aggregation");
        assert_eq!(sum["op"], "sum");
        assert_eq!(sum["grouping"], json!(["job"]));
        assert_eq!(sum["without"], false);
        assert_eq!(sum["param"], Json::Null);
        let sub = tree("-(max_over_time(up[1h:5m] @ end()))");
        assert_eq!(sub["type"], "unaryExpr");
        assert_eq!(sub["expr"]["type"], "parenExpr");
        let subquery = &sub["expr"]["expr"]["args"][0];
        assert_eq!(subquery["type"], "subquery");
        assert_eq!(subquery["step"], 300_000);
        assert_eq!(subquery["startOrEnd"], "end");
        assert_eq!(tree("\"x\""), json!({"type": "stringLiteral", "val": "x"}));
        let plain = tree("up + up");
        assert_eq!(plain["matching"]["card"], "one-to-one");
        assert_eq!(tree("up and up")["matching"]["card"], "many-to-many");
        assert_eq!(tree("up * 2")["matching"], Json::Null);
    }
}
