//! Unit and property tests of the aggregation operators, with hand-computed expectations.

use norn_model::Labels;
use promql_parser::parser::token::{self, TokenType};
use proptest::prelude::*;

use super::kahan::kahan_inc;
use super::{AggParam, AggregateCall, Grouping, aggregate};
use crate::annotations::Annotations;
use crate::error::PromqlError;
use crate::value::{Sample, Vector};

const TS: i64 = 60_000;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).unwrap()
}

fn sample(pairs: &[(&str, &str)], f: f64) -> Sample {
    Sample {
        metric: labels(pairs),
        t: 1_234,
        f,
        drop_name: false,
    }
}

fn run(
    op: u16,
    grouping: Grouping<'_>,
    param: AggParam<'_>,
    input: &[Sample],
) -> (Result<Vector, PromqlError>, Annotations) {
    let mut annotations = Annotations::new();
    let result = aggregate(AggregateCall {
        op: TokenType::new(op),
        grouping,
        param,
        input,
        ts: TS,
        annotations: &mut annotations,
    });
    (result, annotations)
}

fn ok(op: u16, grouping: Grouping<'_>, param: AggParam<'_>, input: &[Sample]) -> Vector {
    let (result, annotations) = run(op, grouping, param, input);
    assert!(annotations.is_empty(), "{annotations:?}");
    result.unwrap()
}

/// The output as (labels text, value), sorted by labels.
fn pairs(vector: &Vector) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = vector.iter().map(|s| (s.metric.to_string(), s.f)).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Eight `http_requests` series as in Prometheus's aggregators.test at 50m.
fn http_requests() -> Vec<Sample> {
    let mut input = Vec::new();
    let mut value = 100.0;
    for job in ["api-server", "app-server"] {
        for group in ["production", "canary"] {
            for instance in ["0", "1"] {
                input.push(sample(
                    &[
                        ("__name__", "http_requests"),
                        ("job", job),
                        ("group", group),
                        ("instance", instance),
                    ],
                    value,
                ));
                value += 100.0;
            }
        }
    }
    input
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn sum_by_group_keeps_only_listed_labels() {
    let by = strings(&["group"]);
    let api: Vec<Sample> = http_requests()
        .into_iter()
        .filter(|s| s.metric.get("job") == "api-server")
        .collect();
    let out = ok(token::T_SUM, Grouping::By(&by), AggParam::None, &api);
    assert_eq!(
        pairs(&out),
        [
            (r#"{group="canary"}"#.to_owned(), 700.0),
            (r#"{group="production"}"#.to_owned(), 300.0)
        ]
    );
    assert!(out.iter().all(|s| s.t == TS && !s.drop_name));
}

#[test]
fn sum_by_nothing_is_one_group_and_nonexistent_labels_vanish() {
    let none: Vec<String> = Vec::new();
    let out = ok(
        token::T_SUM,
        Grouping::By(&none),
        AggParam::None,
        &http_requests(),
    );
    assert_eq!(pairs(&out), [("{}".to_owned(), 3600.0)]);
    let by = strings(&["job", "nonexistent"]);
    let out = ok(
        token::T_SUM,
        Grouping::By(&by),
        AggParam::None,
        &http_requests(),
    );
    assert_eq!(
        pairs(&out),
        [
            (r#"{job="api-server"}"#.to_owned(), 1000.0),
            (r#"{job="app-server"}"#.to_owned(), 2600.0)
        ]
    );
}

#[test]
fn without_removes_listed_labels_and_the_name() {
    let without = strings(&["instance"]);
    let mut input = http_requests();
    input.truncate(4);
    input.push(sample(
        &[("__name__", "foo"), ("job", "api-server"), ("region", "eu")],
        900.0,
    ));
    let out = ok(
        token::T_SUM,
        Grouping::Without(&without),
        AggParam::None,
        &input,
    );
    assert_eq!(
        pairs(&out),
        [
            (r#"{group="canary", job="api-server"}"#.to_owned(), 700.0),
            (
                r#"{group="production", job="api-server"}"#.to_owned(),
                300.0
            ),
            (r#"{job="api-server", region="eu"}"#.to_owned(), 900.0),
        ]
    );
    let empty: Vec<String> = Vec::new();
    let out = ok(
        token::T_COUNT,
        Grouping::Without(&empty),
        AggParam::None,
        &input[..1],
    );
    assert_eq!(
        out[0].metric,
        labels(&[
            ("job", "api-server"),
            ("group", "production"),
            ("instance", "0")
        ])
    );
}

#[test]
fn grouping_does_not_confuse_values_that_concatenate_alike() {
    let by = strings(&["a", "b"]);
    let input = [
        sample(&[("a", "aa"), ("b", "bb")], 100.0),
        sample(&[("a", "a"), ("b", "abb")], 200.0),
    ];
    let out = ok(token::T_SUM, Grouping::By(&by), AggParam::None, &input);
    assert_eq!(out.len(), 2);
}

#[test]
fn avg_count_min_max_group_by_job() {
    let by = strings(&["job"]);
    let input = http_requests();
    let expect = |op, api: f64, app: f64| {
        let out = ok(op, Grouping::By(&by), AggParam::None, &input);
        assert_eq!(
            pairs(&out),
            [
                (r#"{job="api-server"}"#.to_owned(), api),
                (r#"{job="app-server"}"#.to_owned(), app)
            ]
        );
    };
    expect(token::T_AVG, 250.0, 650.0);
    expect(token::T_COUNT, 4.0, 4.0);
    expect(token::T_MIN, 100.0, 500.0);
    expect(token::T_MAX, 400.0, 800.0);
    expect(token::T_GROUP, 1.0, 1.0);
}

#[test]
fn min_and_max_skip_nan_unless_everything_is_nan() {
    let none: Vec<String> = Vec::new();
    let input = [
        sample(&[("i", "0")], f64::NAN),
        sample(&[("i", "1")], 3.0),
        sample(&[("i", "2")], 1.0),
    ];
    let max = ok(token::T_MAX, Grouping::By(&none), AggParam::None, &input);
    assert_eq!(max[0].f, 3.0);
    let min = ok(token::T_MIN, Grouping::By(&none), AggParam::None, &input);
    assert_eq!(min[0].f, 1.0);
    let all_nan = [
        sample(&[("i", "0")], f64::NAN),
        sample(&[("i", "1")], f64::NAN),
    ];
    let max = ok(token::T_MAX, Grouping::By(&none), AggParam::None, &all_nan);
    assert!(max[0].f.is_nan());
}

#[test]
fn sum_and_avg_use_kahan_summation_and_survive_overflow() {
    let none: Vec<String> = Vec::new();
    let input = [
        sample(&[("p", "a")], 2.0),
        sample(&[("p", "b")], 8.0),
        sample(&[("p", "c")], 1e100),
        sample(&[("p", "d")], -1e100),
    ];
    let sum = ok(token::T_SUM, Grouping::By(&none), AggParam::None, &input);
    assert_eq!(sum[0].f, 10.0);
    let avg = ok(token::T_AVG, Grouping::By(&none), AggParam::None, &input);
    assert_eq!(avg[0].f, 2.5);

    let big = 9.988_465_674_311_58e307;
    let bigs: Vec<Sample> = ["a", "b", "c", "d"]
        .iter()
        .map(|p| sample(&[("p", p)], big))
        .collect();
    let avg = ok(token::T_AVG, Grouping::By(&none), AggParam::None, &bigs);
    assert_eq!(avg[0].f, big);
    let zero: Vec<Sample> = [-big, -big, big, big]
        .iter()
        .enumerate()
        .map(|(i, f)| sample(&[("p", &i.to_string())], *f))
        .collect();
    let avg = ok(token::T_AVG, Grouping::By(&none), AggParam::None, &zero);
    assert_eq!(avg[0].f, 0.0);

    let infs = [
        sample(&[("p", "a")], 0.0),
        sample(&[("p", "b")], f64::INFINITY),
        sample(&[("p", "c")], f64::INFINITY),
        sample(&[("p", "d")], 0.0),
    ];
    let avg = ok(token::T_AVG, Grouping::By(&none), AggParam::None, &infs);
    assert_eq!(avg[0].f, f64::INFINITY);
    let mixed = [
        sample(&[("p", "a")], f64::INFINITY),
        sample(&[("p", "b")], f64::NEG_INFINITY),
    ];
    let avg = ok(token::T_AVG, Grouping::By(&none), AggParam::None, &mixed);
    assert!(avg[0].f.is_nan());
    let sum = ok(token::T_SUM, Grouping::By(&none), AggParam::None, &mixed);
    assert!(sum[0].f.is_nan());
}

#[test]
fn avg_of_equal_values_is_exact() {
    let none: Vec<String> = Vec::new();
    for count in 1..=12 {
        let input: Vec<Sample> = (0..count)
            .map(|i| sample(&[("idx", &i.to_string())], 52.0))
            .collect();
        let avg = ok(token::T_AVG, Grouping::By(&none), AggParam::None, &input);
        assert_eq!(avg[0].f, 52.0);
    }
}

#[test]
fn stddev_and_stdvar() {
    let none: Vec<String> = Vec::new();
    let input = http_requests();
    let stdvar = ok(token::T_STDVAR, Grouping::By(&none), AggParam::None, &input);
    assert!((stdvar[0].f - 52_500.0).abs() < 1e-9);
    let stddev = ok(token::T_STDDEV, Grouping::By(&none), AggParam::None, &input);
    assert!((stddev[0].f - 229.128_784_747_79).abs() < 1e-9);
    let same: Vec<Sample> = (0..3)
        .map(|i| sample(&[("i", &i.to_string())], 13.3))
        .collect();
    let stddev = ok(token::T_STDDEV, Grouping::By(&none), AggParam::None, &same);
    assert_eq!(stddev[0].f, 0.0);
    for bad in [f64::NAN, f64::INFINITY] {
        for first in [true, false] {
            let mut values = vec![1.0, 2.0];
            if first {
                values.insert(0, bad);
            } else {
                values.push(bad);
            }
            let input: Vec<Sample> = values
                .iter()
                .enumerate()
                .map(|(i, f)| sample(&[("i", &i.to_string())], *f))
                .collect();
            let out = ok(token::T_STDVAR, Grouping::By(&none), AggParam::None, &input);
            assert!(out[0].f.is_nan());
        }
    }
    let single = [sample(&[("i", "0")], f64::INFINITY)];
    let out = ok(
        token::T_STDDEV,
        Grouping::By(&none),
        AggParam::None,
        &single,
    );
    assert!(out[0].f.is_nan());
}

fn quantile_input() -> Vec<Sample> {
    let mut input = Vec::new();
    for (test, values) in [
        ("two", vec![0.0, 1.0]),
        ("three", vec![0.0, 1.0, 2.0]),
        ("uneven", vec![0.0, 1.0, 4.0]),
        ("nan", vec![0.0, 1.0, f64::NAN]),
    ] {
        for (point, value) in ["a", "b", "c"].iter().zip(values) {
            input.push(sample(
                &[("__name__", "data"), ("test", test), ("point", point)],
                value,
            ));
        }
    }
    input
}

#[test]
fn quantile_interpolates_and_sorts_nan_first() {
    let without = strings(&["point"]);
    let out = ok(
        token::T_QUANTILE,
        Grouping::Without(&without),
        AggParam::Number(0.8),
        &quantile_input(),
    );
    let got = pairs(&out);
    let expected = [
        (r#"{test="nan"}"#, 0.6),
        (r#"{test="three"}"#, 1.6),
        (r#"{test="two"}"#, 0.8),
        (r#"{test="uneven"}"#, 2.8),
    ];
    for ((labels, value), (want_labels, want)) in got.iter().zip(expected) {
        assert_eq!(labels, want_labels);
        assert!((value - want).abs() < 1e-12, "{labels}: {value}");
    }
    let out = ok(
        token::T_QUANTILE,
        Grouping::Without(&without),
        AggParam::Number(0.2),
        &quantile_input(),
    );
    let nan_group = out.iter().find(|s| s.metric.get("test") == "nan").unwrap();
    assert!(nan_group.f.is_nan());
}

#[test]
fn quantile_out_of_range_warns_and_gives_infinities() {
    let none: Vec<String> = Vec::new();
    for (phi, expected, text) in [
        (1.5, f64::INFINITY, "1.5"),
        (-0.5, f64::NEG_INFINITY, "-0.5"),
    ] {
        let (result, annotations) = run(
            token::T_QUANTILE,
            Grouping::By(&none),
            AggParam::Number(phi),
            &http_requests(),
        );
        assert_eq!(result.unwrap()[0].f, expected);
        let warnings: Vec<&str> = annotations.warnings().collect();
        assert_eq!(
            warnings,
            [format!(
                "PromQL warning: quantile value should be between 0 and 1, got {text}"
            )]
        );
    }
    let (result, annotations) = run(
        token::T_QUANTILE,
        Grouping::By(&none),
        AggParam::Number(f64::NAN),
        &http_requests(),
    );
    assert!(result.unwrap()[0].f.is_nan());
    assert_eq!(
        annotations.warnings().collect::<Vec<_>>(),
        ["PromQL warning: quantile value should be between 0 and 1, got NaN"]
    );
}

fn topk_input() -> Vec<Sample> {
    let mut input = http_requests();
    input.insert(
        2,
        sample(
            &[
                ("__name__", "http_requests"),
                ("job", "api-server"),
                ("group", "production"),
                ("instance", "2"),
            ],
            f64::NAN,
        ),
    );
    input
}

fn values(vector: &Vector) -> Vec<f64> {
    vector.iter().map(|s| s.f).collect()
}

#[test]
fn topk_and_bottomk_order_and_return_input_samples() {
    let none: Vec<String> = Vec::new();
    let mut input = topk_input();
    input[8].drop_name = true;
    let top = ok(
        token::T_TOPK,
        Grouping::By(&none),
        AggParam::Number(3.0),
        &input,
    );
    assert_eq!(values(&top), [800.0, 700.0, 600.0]);
    assert_eq!(top[0].metric, input[8].metric);
    assert!(top[0].drop_name && !top[1].drop_name);
    assert!(top.iter().all(|s| s.t == TS));
    let bottom = ok(
        token::T_BOTTOMK,
        Grouping::By(&none),
        AggParam::Number(3.0),
        &input,
    );
    assert_eq!(values(&bottom), [100.0, 200.0, 300.0]);
}

#[test]
fn topk_puts_nan_last_and_caps_k_at_the_input_size() {
    let none: Vec<String> = Vec::new();
    let production: Vec<Sample> = topk_input().into_iter().take(3).collect();
    for k in [3.0, 9_999_999_999.0] {
        let top = ok(
            token::T_TOPK,
            Grouping::By(&none),
            AggParam::Number(k),
            &production,
        );
        let got = values(&top);
        assert_eq!(got[..2], [200.0, 100.0]);
        assert!(got[2].is_nan());
        let bottom = ok(
            token::T_BOTTOMK,
            Grouping::By(&none),
            AggParam::Number(k),
            &production,
        );
        let got = values(&bottom);
        assert_eq!(got[..2], [100.0, 200.0]);
        assert!(got[2].is_nan());
    }
}

#[test]
fn topk_by_group_and_fractional_or_small_k() {
    let by = strings(&["group"]);
    let input = topk_input();
    let top = ok(
        token::T_TOPK,
        Grouping::By(&by),
        AggParam::Number(1.9),
        &input,
    );
    assert_eq!(values(&top), [600.0, 800.0]);
    for k in [0.0, 0.99, -1.0, f64::NEG_INFINITY] {
        let out = ok(
            token::T_TOPK,
            Grouping::By(&by),
            AggParam::Number(k),
            &input,
        );
        assert!(out.is_empty());
        let out = ok(
            token::T_LIMITK,
            Grouping::By(&by),
            AggParam::Number(k),
            &input,
        );
        assert!(out.is_empty());
    }
}

#[test]
fn k_parameter_errors() {
    let none: Vec<String> = Vec::new();
    for op in [token::T_TOPK, token::T_BOTTOMK, token::T_LIMITK] {
        let (result, _) = run(op, Grouping::By(&none), AggParam::Number(f64::NAN), &[]);
        assert_eq!(
            result,
            Err(PromqlError::Execution("Parameter value is NaN".to_owned()))
        );
        let (result, _) = run(
            op,
            Grouping::By(&none),
            AggParam::Number(1e20),
            &http_requests(),
        );
        assert_eq!(
            result,
            Err(PromqlError::Execution(
                "Scalar value 1e+20 overflows int64".to_owned()
            ))
        );
    }
    let (result, _) = run(
        token::T_LIMIT_RATIO,
        Grouping::By(&none),
        AggParam::Number(f64::NAN),
        &[],
    );
    assert_eq!(
        result,
        Err(PromqlError::Execution("Ratio value is NaN".to_owned()))
    );
}

#[test]
fn limitk_takes_the_first_k_per_group_in_input_order() {
    let by = strings(&["group"]);
    let input = http_requests();
    let out = ok(
        token::T_LIMITK,
        Grouping::By(&by),
        AggParam::Number(1.0),
        &input,
    );
    let mut chosen: Vec<&Labels> = out.iter().map(|s| &s.metric).collect();
    chosen.sort();
    let mut expected = vec![&input[0].metric, &input[2].metric];
    expected.sort();
    assert_eq!(chosen, expected);
    let out = ok(
        token::T_LIMITK,
        Grouping::By(&by),
        AggParam::Number(100.0),
        &input,
    );
    assert_eq!(out.len(), input.len());
}

#[test]
fn limit_ratio_complements_and_caps() {
    let none: Vec<String> = Vec::new();
    let input = http_requests();
    let pick = |ratio: f64| {
        let (result, _) = run(
            token::T_LIMIT_RATIO,
            Grouping::By(&none),
            AggParam::Number(ratio),
            &input,
        );
        let mut chosen: Vec<Labels> = result.unwrap().into_iter().map(|s| s.metric).collect();
        chosen.sort();
        chosen
    };
    assert!(pick(0.0).is_empty());
    assert_eq!(pick(1.0).len(), input.len());
    assert_eq!(pick(-1.0).len(), input.len());
    for ratio in [0.2, 0.5, 0.8] {
        let positive = pick(ratio);
        let negative = pick(ratio - 1.0);
        assert_eq!(positive.len() + negative.len(), input.len());
        assert!(positive.iter().all(|labels| !negative.contains(labels)));
    }
    let (result, annotations) = run(
        token::T_LIMIT_RATIO,
        Grouping::By(&none),
        AggParam::Number(1.1),
        &input,
    );
    assert_eq!(result.unwrap().len(), input.len());
    assert_eq!(
        annotations.warnings().collect::<Vec<_>>(),
        ["PromQL warning: ratio value should be between -1 and 1, got 1.1, capping to 1"]
    );
    let (_, annotations) = run(
        token::T_LIMIT_RATIO,
        Grouping::By(&none),
        AggParam::Number(-1.1),
        &input,
    );
    assert_eq!(
        annotations.warnings().collect::<Vec<_>>(),
        ["PromQL warning: ratio value should be between -1 and 1, got -1.1, capping to -1"]
    );
}

fn versions() -> Vec<Sample> {
    let mut input = Vec::new();
    for (job, group, instances, value) in [
        ("api-server", "production", 3, 6.0),
        ("api-server", "canary", 2, 8.0),
        ("app-server", "production", 2, 6.0),
        ("app-server", "canary", 2, 7.0),
    ] {
        for instance in 0..instances {
            input.push(sample(
                &[
                    ("__name__", "version"),
                    ("job", job),
                    ("group", group),
                    ("instance", &instance.to_string()),
                ],
                value,
            ));
        }
    }
    input
}

#[test]
fn count_values_counts_per_value() {
    let none: Vec<String> = Vec::new();
    let out = ok(
        token::T_COUNT_VALUES,
        Grouping::By(&none),
        AggParam::String("version"),
        &versions(),
    );
    assert_eq!(
        pairs(&out),
        [
            (r#"{version="6"}"#.to_owned(), 5.0),
            (r#"{version="7"}"#.to_owned(), 2.0),
            (r#"{version="8"}"#.to_owned(), 2.0)
        ]
    );
    let without = strings(&["instance"]);
    let out = ok(
        token::T_COUNT_VALUES,
        Grouping::Without(&without),
        AggParam::String("job"),
        &versions(),
    );
    assert_eq!(
        pairs(&out),
        [
            (r#"{group="canary", job="7"}"#.to_owned(), 2.0),
            (r#"{group="canary", job="8"}"#.to_owned(), 2.0),
            (r#"{group="production", job="6"}"#.to_owned(), 5.0)
        ]
    );
    let by = strings(&["job", "group"]);
    let out = ok(
        token::T_COUNT_VALUES,
        Grouping::By(&by),
        AggParam::String("job"),
        &versions(),
    );
    assert_eq!(out.len(), 3);
    let fractional = [sample(&[("a", "1")], 0.5), sample(&[("a", "2")], 1e21)];
    let out = ok(
        token::T_COUNT_VALUES,
        Grouping::By(&none),
        AggParam::String("v"),
        &fractional,
    );
    assert_eq!(
        pairs(&out),
        [
            (r#"{v="0.5"}"#.to_owned(), 1.0),
            (r#"{v="1000000000000000000000"}"#.to_owned(), 1.0)
        ]
    );
}

#[test]
fn count_values_rejects_an_empty_label_name() {
    let none: Vec<String> = Vec::new();
    let (result, _) = run(
        token::T_COUNT_VALUES,
        Grouping::By(&none),
        AggParam::String(""),
        &versions(),
    );
    assert_eq!(
        result,
        Err(PromqlError::Execution(
            r#"invalid label name """#.to_owned()
        ))
    );
}

#[test]
fn aggregation_name_dropping_follows_prometheus() {
    let by = strings(&["__name__"]);
    let mut input = http_requests();
    input[0].drop_name = true;
    let out = ok(token::T_SUM, Grouping::By(&by), AggParam::None, &input);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].metric.metric_name(), "http_requests");
    assert!(out[0].drop_name, "any dropped input name drops the group's");
}

#[test]
fn empty_input_gives_empty_output() {
    let none: Vec<String> = Vec::new();
    for op in [
        token::T_SUM,
        token::T_AVG,
        token::T_COUNT,
        token::T_MIN,
        token::T_MAX,
        token::T_GROUP,
        token::T_STDDEV,
        token::T_STDVAR,
    ] {
        assert!(ok(op, Grouping::By(&none), AggParam::None, &[]).is_empty());
    }
    assert!(
        ok(
            token::T_TOPK,
            Grouping::By(&none),
            AggParam::Number(3.0),
            &[]
        )
        .is_empty()
    );
}

fn arbitrary_input() -> impl Strategy<Value = Vec<Sample>> {
    prop::collection::vec((0u8..4, -1e6f64..1e6), 0..40).prop_map(|entries| {
        entries
            .into_iter()
            .enumerate()
            .map(|(i, (group, f))| {
                sample(
                    &[
                        ("__name__", "m"),
                        ("g", &group.to_string()),
                        ("i", &i.to_string()),
                    ],
                    f,
                )
            })
            .collect()
    })
}

fn nan_or_value() -> impl Strategy<Value = f64> {
    prop_oneof![1 => Just(f64::NAN), 6 => -100.0f64..100.0, 1 => Just(5.0)]
}

proptest! {
    #[test]
    fn sum_by_nothing_is_the_kahan_sum(input in arbitrary_input()) {
        let none: Vec<String> = Vec::new();
        let out = ok(token::T_SUM, Grouping::By(&none), AggParam::None, &input);
        if input.is_empty() {
            prop_assert!(out.is_empty());
        } else {
            let (sum, c) = input.iter().skip(1).fold((input[0].f, 0.0), |(s, c), x| kahan_inc(x.f, s, c));
            let naive: f64 = input.iter().map(|s| s.f).sum();
            prop_assert_eq!(out[0].f, sum + c);
            prop_assert!((out[0].f - naive).abs() <= 1e-6 * (1.0 + naive.abs()));
        }
    }

    #[test]
    fn group_sums_add_up_and_counts_cover_the_input(input in arbitrary_input()) {
        let by = strings(&["g"]);
        let none: Vec<String> = Vec::new();
        let sums = ok(token::T_SUM, Grouping::By(&by), AggParam::None, &input);
        let counts = ok(token::T_COUNT, Grouping::By(&by), AggParam::None, &input);
        let total: f64 = input.iter().map(|s| s.f).sum();
        let grouped: f64 = sums.iter().map(|s| s.f).sum();
        prop_assert!((total - grouped).abs() <= 1e-6 * (1.0 + total.abs()));
        prop_assert_eq!(counts.iter().map(|s| s.f).sum::<f64>(), input.len() as f64);
        let avg = ok(token::T_AVG, Grouping::By(&none), AggParam::None, &input);
        if !input.is_empty() {
            let mean = total / input.len() as f64;
            prop_assert!((avg[0].f - mean).abs() <= 1e-6 * (1.0 + mean.abs()));
        }
    }

    #[test]
    fn topk_returns_the_largest(raw in prop::collection::vec(nan_or_value(), 0..30), k in 0usize..35) {
        let none: Vec<String> = Vec::new();
        let input: Vec<Sample> = raw.iter().enumerate()
            .map(|(i, f)| sample(&[("i", &i.to_string())], *f)).collect();
        for op in [token::T_TOPK, token::T_BOTTOMK] {
            let out = ok(op, Grouping::By(&none), AggParam::Number(k as f64), &input);
            prop_assert_eq!(out.len(), k.min(input.len()));
            let better = |a: f64, b: f64| if op == token::T_TOPK { a >= b } else { a <= b };
            // Every chosen number beats every excluded sample; NaN is chosen only when no
            // number is left out.
            let excluded: Vec<f64> = input.iter()
                .filter(|s| !out.iter().any(|o| o.metric == s.metric))
                .map(|s| s.f).collect();
            for chosen in &out {
                for other in &excluded {
                    if chosen.f.is_nan() {
                        prop_assert!(other.is_nan());
                    } else if !other.is_nan() {
                        prop_assert!(better(chosen.f, *other));
                    }
                }
            }
            // Ordered best first, NaN last.
            for pair in out.windows(2) {
                if pair[0].f.is_nan() {
                    prop_assert!(pair[1].f.is_nan());
                } else if !pair[1].f.is_nan() {
                    prop_assert!(better(pair[0].f, pair[1].f));
                }
            }
        }
    }

    #[test]
    fn count_values_counts_add_up(raw in prop::collection::vec(prop_oneof![Just(1.0), Just(2.5), Just(f64::NAN), -3.0f64..3.0], 0..30)) {
        let none: Vec<String> = Vec::new();
        let input: Vec<Sample> = raw.iter().enumerate()
            .map(|(i, f)| sample(&[("i", &i.to_string())], *f)).collect();
        let out = ok(token::T_COUNT_VALUES, Grouping::By(&none), AggParam::String("v"), &input);
        prop_assert_eq!(out.iter().map(|s| s.f).sum::<f64>(), input.len() as f64);
        let mut seen: Vec<&str> = out.iter().map(|s| s.metric.get("v")).collect();
        seen.sort_unstable();
        let before = seen.len();
        seen.dedup();
        prop_assert_eq!(before, seen.len());
    }

    #[test]
    fn limit_ratio_halves_partition(ratio in -1.0f64..1.0, input in arbitrary_input()) {
        let none: Vec<String> = Vec::new();
        let keep = |r: f64| {
            let (result, _) = run(token::T_LIMIT_RATIO, Grouping::By(&none), AggParam::Number(r), &input);
            result.unwrap().len()
        };
        if ratio > 0.0 {
            prop_assert_eq!(keep(ratio) + keep(ratio - 1.0), input.len());
        }
    }
}
