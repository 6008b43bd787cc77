//! Tests of [`call`] as the evaluator uses it: one step, evaluated arguments in, output
//! samples (labels, values, name flags) and annotations out.

use norn_model::Labels;
use promql_parser::parser::Expr;
use proptest::prelude::*;

use super::{FnArg, FunctionCall, Window, call};
use crate::annotations::Annotations;
use crate::error::PromqlError;
use crate::value::{FPoint, Sample, Series, Vector};

const TS: i64 = 600_000;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).expect("valid labels")
}

fn sample(pairs: &[(&str, &str)], f: f64) -> Sample {
    Sample {
        metric: labels(pairs),
        t: TS,
        f,
        drop_name: false,
    }
}

fn series(pairs: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
    Series {
        metric: labels(pairs),
        floats: points.iter().map(|&(t, f)| FPoint { t, f }).collect(),
        drop_name: false,
    }
}

fn window(range_ms: i64) -> Window {
    Window {
        start_ms: TS - range_ms,
        end_ms: TS,
    }
}

/// Runs `name` at [`TS`] as an instant query.
fn run(
    name: &str,
    args: Vec<FnArg<'_>>,
    arg_exprs: &[Box<Expr>],
) -> (Result<Vector, PromqlError>, Annotations) {
    let mut annotations = Annotations::new();
    let result = call(FunctionCall {
        name,
        args,
        arg_exprs,
        ts: TS,
        instant_query: true,
        annotations: &mut annotations,
    });
    (result, annotations)
}

fn run_ok(name: &str, args: Vec<FnArg<'_>>) -> Vector {
    let (result, _) = run(name, args, &[]);
    result.expect("function succeeds")
}

fn values(vector: &[Sample]) -> Vec<f64> {
    vector.iter().map(|sample| sample.f).collect()
}

/// The argument expressions of `query`, which must be a function call (boxed, as the
/// parser's `FunctionArgs` and `FunctionCall::arg_exprs` hold them).
#[allow(clippy::vec_box)]
fn arg_exprs(query: &str) -> Vec<Box<Expr>> {
    match promql_parser::parser::parse(query) {
        Ok(Expr::Call(parsed)) => parsed.args.args,
        other => panic!("{query} is not a call: {other:?}"),
    }
}

#[test]
fn element_wise_functions_drop_the_name_and_keep_labels() {
    let input = [sample(&[("__name__", "m"), ("a", "1")], -2.5)];
    let out = run_ok("abs", vec![FnArg::Vector(&input)]);
    assert_eq!(values(&out), [2.5]);
    assert_eq!(out[0].metric, input[0].metric);
    assert!(out[0].drop_name);
    assert_eq!(out[0].t, TS);
}

#[test]
fn round_clamp_and_scalar_conversions() {
    let input = [sample(&[("a", "1")], 2.5), sample(&[("a", "2")], -2.5)];
    assert_eq!(
        values(&run_ok("round", vec![FnArg::Vector(&input)])),
        [3.0, -2.0]
    );
    let to_two = run_ok("round", vec![FnArg::Vector(&input), FnArg::Scalar(2.0)]);
    assert_eq!(values(&to_two), [2.0, -2.0]);
    let clamped = run_ok(
        "clamp",
        vec![
            FnArg::Vector(&input),
            FnArg::Scalar(-1.0),
            FnArg::Scalar(1.0),
        ],
    );
    assert_eq!(values(&clamped), [1.0, -1.0]);
    let empty = run_ok(
        "clamp",
        vec![
            FnArg::Vector(&input),
            FnArg::Scalar(1.0),
            FnArg::Scalar(-1.0),
        ],
    );
    assert!(empty.is_empty());
    assert_eq!(
        values(&run_ok(
            "clamp_min",
            vec![FnArg::Vector(&input), FnArg::Scalar(0.0)]
        )),
        [2.5, 0.0]
    );
    assert_eq!(
        values(&run_ok(
            "clamp_max",
            vec![FnArg::Vector(&input), FnArg::Scalar(0.0)]
        )),
        [0.0, -2.5]
    );

    assert!(values(&run_ok("scalar", vec![FnArg::Vector(&input)]))[0].is_nan());
    assert_eq!(
        values(&run_ok("scalar", vec![FnArg::Vector(&input[..1])])),
        [2.5]
    );
    let vector = run_ok("vector", vec![FnArg::Scalar(7.0)]);
    assert_eq!(vector[0].metric, Labels::default());
    assert!(!vector[0].drop_name);
    assert_eq!(values(&run_ok("time", vec![])), [600.0]);
    assert_eq!(values(&run_ok("pi", vec![])), [std::f64::consts::PI]);
}

#[test]
fn timestamp_reads_each_samples_own_time() {
    let mut input = sample(&[("__name__", "m")], 1.0);
    input.t = 590_000;
    let out = run_ok(
        "timestamp",
        vec![FnArg::Vector(std::slice::from_ref(&input))],
    );
    assert_eq!(values(&out), [590.0]);
    assert!(out[0].drop_name);
}

#[test]
fn calendar_functions_default_to_the_step_time() {
    // 600 s after the epoch: 00:10 on Thursday 1970-01-01.
    assert_eq!(values(&run_ok("minute", vec![])), [10.0]);
    assert_eq!(values(&run_ok("day_of_week", vec![])), [4.0]);
    let input = [sample(&[("a", "1")], 1_136_239_445.0)];
    let out = run_ok("hour", vec![FnArg::Vector(&input)]);
    assert_eq!(values(&out), [22.0]);
    assert!(out[0].drop_name);
    assert_eq!(
        values(&run_ok("year", vec![FnArg::Vector(&input)])),
        [2006.0]
    );
}

#[test]
fn rate_on_a_non_counter_name_adds_an_info() {
    let input = [series(
        &[("__name__", "requests")],
        &[(540_000, 0.0), (570_000, 30.0), (600_000, 60.0)],
    )];
    let (result, annotations) = run(
        "rate",
        vec![FnArg::Matrix {
            series: &input,
            window: window(60_000),
        }],
        &[],
    );
    let out = result.expect("rate succeeds");
    assert_eq!(values(&out), [1.0]);
    assert!(out[0].drop_name);
    let infos: Vec<&str> = annotations.infos().collect();
    assert_eq!(
        infos,
        [
            "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"requests\""
        ]
    );

    let counter = [series(
        &[("__name__", "requests_total")],
        &[(540_000, 0.0), (600_000, 60.0)],
    )];
    let (_, annotations) = run(
        "increase",
        vec![FnArg::Matrix {
            series: &counter,
            window: window(60_000),
        }],
        &[],
    );
    assert!(annotations.is_empty());
}

#[test]
fn last_and_first_over_time_keep_the_name_others_drop_it() {
    let input = [series(
        &[("__name__", "m")],
        &[(550_000, 1.0), (600_000, 3.0)],
    )];
    let matrix = || FnArg::Matrix {
        series: &input,
        window: window(60_000),
    };
    let last = run_ok("last_over_time", vec![matrix()]);
    assert_eq!(values(&last), [3.0]);
    assert!(!last[0].drop_name);
    let first = run_ok("first_over_time", vec![matrix()]);
    assert_eq!(values(&first), [1.0]);
    assert!(!first[0].drop_name);
    for (name, expected) in [
        ("sum_over_time", 4.0),
        ("avg_over_time", 2.0),
        ("count_over_time", 2.0),
        ("min_over_time", 1.0),
        ("max_over_time", 3.0),
        ("present_over_time", 1.0),
        ("stdvar_over_time", 1.0),
        ("stddev_over_time", 1.0),
        ("ts_of_last_over_time", 600.0),
        ("ts_of_first_over_time", 550.0),
        ("ts_of_max_over_time", 600.0),
        ("ts_of_min_over_time", 550.0),
        ("changes", 1.0),
        ("resets", 0.0),
        ("deriv", 0.04),
        ("mad_over_time", 1.0),
    ] {
        let out = run_ok(name, vec![matrix()]);
        assert_eq!(out.len(), 1, "{name}");
        assert!((out[0].f - expected).abs() < 1e-12, "{name}: {}", out[0].f);
        assert!(out[0].drop_name, "{name}");
    }
}

#[test]
fn quantile_over_time_warns_about_phi_out_of_range() {
    let input = [series(&[("a", "1")], &[(550_000, 1.0), (600_000, 3.0)])];
    let (result, annotations) = run(
        "quantile_over_time",
        vec![
            FnArg::Scalar(1.5),
            FnArg::Matrix {
                series: &input,
                window: window(60_000),
            },
        ],
        &[],
    );
    assert_eq!(values(&result.expect("succeeds")), [f64::INFINITY]);
    let warnings: Vec<&str> = annotations.warnings().collect();
    assert_eq!(
        warnings,
        ["PromQL warning: quantile value should be between 0 and 1, got 1.5"]
    );
}

#[test]
fn double_exponential_smoothing_rejects_factors_outside_zero_one() {
    let input = [series(&[("a", "1")], &[(550_000, 1.0), (600_000, 3.0)])];
    let args = |sf, tf| {
        vec![
            FnArg::Matrix {
                series: &input,
                window: window(60_000),
            },
            FnArg::Scalar(sf),
            FnArg::Scalar(tf),
        ]
    };
    let (result, _) = run("double_exponential_smoothing", args(1.0, 0.5), &[]);
    assert_eq!(
        result,
        Err(PromqlError::Execution(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000".to_owned()
        ))
    );
    let (result, _) = run("double_exponential_smoothing", args(0.5, 0.0), &[]);
    assert_eq!(
        result,
        Err(PromqlError::Execution(
            "invalid trend factor. Expected: 0 < tf < 1, got: 0.000000".to_owned()
        ))
    );
    assert_eq!(
        run_ok("double_exponential_smoothing", args(0.5, 0.5)).len(),
        1
    );
}

#[test]
fn label_replace_rewrites_matching_samples_only() {
    let input = [
        sample(
            &[
                ("__name__", "m"),
                ("src", "source-value-10"),
                ("dst", "orig"),
            ],
            0.0,
        ),
        sample(&[("__name__", "m"), ("src", "other"), ("dst", "orig")], 1.0),
    ];
    let out = run_ok(
        "label_replace",
        vec![
            FnArg::Vector(&input),
            FnArg::String("dst"),
            FnArg::String("value-$1"),
            FnArg::String("src"),
            FnArg::String("source-value-(.*)"),
        ],
    );
    assert_eq!(
        out[0].metric,
        labels(&[
            ("__name__", "m"),
            ("src", "source-value-10"),
            ("dst", "value-10")
        ])
    );
    assert_eq!(out[1].metric, input[1].metric);

    // An empty replacement removes the label.
    let removed = run_ok(
        "label_replace",
        vec![
            FnArg::Vector(&input),
            FnArg::String("dst"),
            FnArg::String(""),
            FnArg::String("dst"),
            FnArg::String(".*"),
        ],
    );
    assert_eq!(removed[0].metric.get("dst"), "");

    // Writing the name keeps it.
    let mut dropped = input.clone();
    dropped[0].drop_name = true;
    let renamed = run_ok(
        "label_replace",
        vec![
            FnArg::Vector(&dropped),
            FnArg::String("__name__"),
            FnArg::String("renamed"),
            FnArg::String("src"),
            FnArg::String(".*"),
        ],
    );
    assert_eq!(renamed[0].metric.get("__name__"), "renamed");
    assert!(!renamed[0].drop_name);

    let (bad_regex, _) = run(
        "label_replace",
        vec![
            FnArg::Vector(&input),
            FnArg::String("dst"),
            FnArg::String(""),
            FnArg::String("src"),
            FnArg::String("(.*"),
        ],
        &[],
    );
    assert_eq!(
        bad_regex,
        Err(PromqlError::Execution(
            "invalid regular expression in label_replace(): (.*".to_owned()
        ))
    );
    let (bad_name, _) = run(
        "label_replace",
        vec![
            FnArg::Vector(&input),
            FnArg::String(""),
            FnArg::String(""),
            FnArg::String("src"),
            FnArg::String(".*"),
        ],
        &[],
    );
    assert_eq!(
        bad_name,
        Err(PromqlError::Execution(
            "invalid destination label name in label_replace(): ".to_owned()
        ))
    );
}

#[test]
fn label_join_joins_in_order_treating_absent_labels_as_empty() {
    let input = [sample(&[("a", "x"), ("b", "y")], 1.0)];
    let out = run_ok(
        "label_join",
        vec![
            FnArg::Vector(&input),
            FnArg::String("dst"),
            FnArg::String("-"),
            FnArg::String("b"),
            FnArg::String("missing"),
            FnArg::String("a"),
        ],
    );
    assert_eq!(
        out[0].metric,
        labels(&[("a", "x"), ("b", "y"), ("dst", "y--x")])
    );
}

#[test]
fn sort_orders_only_instant_queries() {
    let input = [
        sample(&[("i", "1")], 3.0),
        sample(&[("i", "2")], f64::NAN),
        sample(&[("i", "3")], 1.0),
    ];
    let ascending = run_ok("sort", vec![FnArg::Vector(&input)]);
    assert_eq!(&values(&ascending)[..2], &[1.0, 3.0]);
    assert!(ascending[2].f.is_nan());
    let descending = run_ok("sort_desc", vec![FnArg::Vector(&input)]);
    assert_eq!(&values(&descending)[..2], &[3.0, 1.0]);

    let mut annotations = Annotations::new();
    let unsorted = call(FunctionCall {
        name: "sort",
        args: vec![FnArg::Vector(&input)],
        arg_exprs: &[],
        ts: TS,
        instant_query: false,
        annotations: &mut annotations,
    })
    .expect("sort succeeds");
    assert_eq!(unsorted[0].metric, input[0].metric);
}

#[test]
fn sort_by_label_uses_natural_order_then_labels() {
    let input = [
        sample(&[("cpu", "10"), ("x", "a")], 0.0),
        sample(&[("cpu", "2"), ("x", "b")], 0.0),
        sample(&[("cpu", "2"), ("x", "a")], 0.0),
    ];
    let out = run_ok(
        "sort_by_label",
        vec![FnArg::Vector(&input), FnArg::String("cpu")],
    );
    let order: Vec<(&str, &str)> = out
        .iter()
        .map(|sample| (sample.metric.get("cpu"), sample.metric.get("x")))
        .collect();
    assert_eq!(order, [("2", "a"), ("2", "b"), ("10", "a")]);
    let out = run_ok(
        "sort_by_label_desc",
        vec![FnArg::Vector(&input), FnArg::String("cpu")],
    );
    let order: Vec<(&str, &str)> = out
        .iter()
        .map(|sample| (sample.metric.get("cpu"), sample.metric.get("x")))
        .collect();
    assert_eq!(order, [("10", "a"), ("2", "b"), ("2", "a")]);
}

#[test]
fn absent_builds_labels_from_equality_matchers() {
    let exprs = arg_exprs(r#"absent(nonexistent{job="testjob", instance=~"x"})"#);
    let (result, _) = run("absent", vec![FnArg::Vector(&[])], &exprs);
    let out = result.expect("absent succeeds");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].metric, labels(&[("job", "testjob")]));
    assert_eq!(out[0].f, 1.0);

    let present = [sample(&[("job", "testjob")], 5.0)];
    let (result, _) = run("absent", vec![FnArg::Vector(&present)], &exprs);
    assert_eq!(result.expect("absent succeeds"), Vec::new());

    let exprs = arg_exprs(r#"absent_over_time(nonexistent{job="testjob"}[5m])"#);
    let empty: [Series; 0] = [];
    let (result, _) = run(
        "absent_over_time",
        vec![FnArg::Matrix {
            series: &empty,
            window: window(300_000),
        }],
        &exprs,
    );
    assert_eq!(
        result.expect("succeeds")[0].metric,
        labels(&[("job", "testjob")])
    );
}

#[test]
fn histogram_quantile_groups_buckets_by_labels_without_le() {
    let input = [
        sample(&[("__name__", "h_bucket"), ("job", "a"), ("le", "1")], 4.0),
        sample(&[("__name__", "h_bucket"), ("job", "a"), ("le", "2")], 8.0),
        sample(
            &[("__name__", "h_bucket"), ("job", "a"), ("le", "+Inf")],
            10.0,
        ),
        sample(
            &[("__name__", "h_bucket"), ("job", "b"), ("le", "+Inf")],
            10.0,
        ),
        sample(
            &[("__name__", "h_bucket"), ("job", "b"), ("le", "1.0")],
            10.0,
        ),
    ];
    let (result, annotations) = run(
        "histogram_quantile",
        vec![FnArg::Scalar(0.5), FnArg::Vector(&input)],
        &[],
    );
    let out = result.expect("succeeds");
    assert!(annotations.is_empty());
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0].metric,
        labels(&[("__name__", "h_bucket"), ("job", "a")])
    );
    assert_eq!(out[0].f, 1.25);
    assert!(out[0].drop_name);
    assert_eq!(out[1].f, 0.5);

    let fraction = run_ok(
        "histogram_fraction",
        vec![
            FnArg::Scalar(0.0),
            FnArg::Scalar(1.0),
            FnArg::Vector(&input),
        ],
    );
    assert_eq!(values(&fraction), [0.4, 1.0]);
}

#[test]
fn histogram_quantile_annotations() {
    let malformed = [sample(
        &[("__name__", "series"), ("le", "Hello World")],
        2.0,
    )];
    let (result, annotations) = run(
        "histogram_quantile",
        vec![FnArg::Scalar(1.2), FnArg::Vector(&malformed)],
        &[],
    );
    assert_eq!(result.expect("succeeds"), Vec::new());
    let warnings: Vec<&str> = annotations.warnings().collect();
    assert_eq!(
        warnings,
        [
            "PromQL warning: bucket label \"le\" is missing or has a malformed value of \"Hello World\" for metric name \"series\"",
            "PromQL warning: quantile value should be between 0 and 1, got 1.2",
        ]
    );

    let nonmonotonic = [
        sample(&[("__name__", "nm"), ("le", "1")], 5.0),
        sample(&[("__name__", "nm"), ("le", "10")], 4.0),
        sample(&[("__name__", "nm"), ("le", "+Inf")], 8.0),
    ];
    let (_, annotations) = run(
        "histogram_quantile",
        vec![FnArg::Scalar(0.5), FnArg::Vector(&nonmonotonic)],
        &[],
    );
    let infos: Vec<&str> = annotations.infos().collect();
    assert_eq!(
        infos,
        [
            "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name \"nm\""
        ]
    );
}

#[test]
fn histogram_quantiles_labels_each_quantile() {
    let input = [
        sample(&[("le", "1")], 4.0),
        sample(&[("le", "2")], 8.0),
        sample(&[("le", "+Inf")], 10.0),
    ];
    let out = run_ok(
        "histogram_quantiles",
        vec![
            FnArg::Vector(&input),
            FnArg::String("q"),
            FnArg::Scalar(0.5),
            FnArg::Scalar(1.0),
        ],
    );
    let labelled: Vec<(&str, f64)> = out.iter().map(|s| (s.metric.get("q"), s.f)).collect();
    assert_eq!(labelled, [("0.5", 1.25), ("1.0", 2.0)]);
}

#[test]
fn native_histogram_functions_ignore_floats() {
    let input = [sample(&[("a", "1")], 1.0)];
    for name in [
        "histogram_count",
        "histogram_sum",
        "histogram_avg",
        "histogram_stddev",
        "histogram_stdvar",
    ] {
        assert!(
            run_ok(name, vec![FnArg::Vector(&input)]).is_empty(),
            "{name}"
        );
    }
}

#[test]
fn unknown_functions_are_execution_errors() {
    let (result, _) = run("no_such_function", vec![], &[]);
    assert!(matches!(result, Err(PromqlError::Execution(_))));
}

fn arbitrary_labels() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map("[a-e]{1,3}", "[a-z0-9]{1,4}", 0..5)
        .prop_map(|map| map.into_iter().collect())
}

proptest! {
    #[test]
    fn label_join_never_loses_other_labels(
        pairs in arbitrary_labels(),
        destination in "[a-f]{1,3}",
        separator in "[-,;]{0,2}",
    ) {
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let input = [sample(&borrowed, 1.0)];
        let sources: Vec<&str> = borrowed.iter().map(|(name, _)| *name).collect();
        let mut args = vec![
            FnArg::Vector(&input),
            FnArg::String(&destination),
            FnArg::String(&separator),
        ];
        args.extend(sources.iter().map(|name| FnArg::String(name)));
        let out = run_ok("label_join", args);
        prop_assert_eq!(out.len(), 1);
        for (name, value) in &borrowed {
            if *name != destination {
                prop_assert_eq!(out[0].metric.get(name), *value);
            }
        }
        let joined: Vec<&str> = borrowed.iter().map(|(_, value)| *value).collect();
        prop_assert_eq!(out[0].metric.get(&destination), joined.join(&separator));
    }

    #[test]
    fn sort_output_is_a_permutation_of_its_input(
        values in proptest::collection::vec(prop_oneof![Just(f64::NAN), -1e3f64..1e3], 0..30),
    ) {
        let input: Vec<Sample> = values
            .iter()
            .enumerate()
            .map(|(index, &f)| sample(&[("i", &index.to_string())], f))
            .collect();
        let out = run_ok("sort", vec![FnArg::Vector(&input)]);
        let mut seen: Vec<String> = out.iter().map(|s| s.metric.get("i").to_owned()).collect();
        seen.sort();
        let mut expected: Vec<String> = (0..values.len()).map(|i| i.to_string()).collect();
        expected.sort();
        prop_assert_eq!(seen, expected);
        let finite: Vec<f64> = out.iter().map(|s| s.f).filter(|f| !f.is_nan()).collect();
        prop_assert!(finite.windows(2).all(|pair| pair[0] <= pair[1]));
        // NaNs come last.
        let first_nan = out.iter().position(|s| s.f.is_nan()).unwrap_or(out.len());
        prop_assert!(out[first_nan..].iter().all(|s| s.f.is_nan()));
    }

    #[test]
    fn sum_over_time_of_a_constant_is_count_times_constant(
        count in 1usize..100,
        constant in -1e6f64..1e6,
    ) {
        let points: Vec<(i64, f64)> = (0..count)
            .map(|i| (TS - i as i64 * 1000, constant))
            .rev()
            .collect();
        let input = [series(&[("a", "1")], &points)];
        let out = run_ok(
            "sum_over_time",
            vec![FnArg::Matrix { series: &input, window: window(count as i64 * 1000) }],
        );
        let expected = constant * count as f64;
        prop_assert!((out[0].f - expected).abs() <= expected.abs() * 1e-12);
        let count_out = run_ok(
            "count_over_time",
            vec![FnArg::Matrix { series: &input, window: window(count as i64 * 1000) }],
        );
        prop_assert_eq!(count_out[0].f, count as f64);
    }

    #[test]
    fn increase_of_a_steady_counter_over_its_window_is_the_total_rise(
        step_s in 1i64..60,
        count in 2usize..40,
        slope in 0.1f64..100.0,
    ) {
        // Points on a line from the window's start to its end: no extrapolation needed.
        let range_ms = step_s * 1000 * (count as i64 - 1);
        let points: Vec<(i64, f64)> = (0..count)
            .map(|i| (TS - range_ms + i as i64 * step_s * 1000, 1e6 + slope * (i as i64 * step_s) as f64))
            .collect();
        let input = [series(&[("__name__", "x_total")], &points)];
        // Window start one interval before the first point: extrapolation reaches it
        // exactly (below 1.1 intervals).
        let matrix = FnArg::Matrix {
            series: &input,
            window: Window { start_ms: TS - range_ms - step_s * 1000, end_ms: TS },
        };
        let out = run_ok("increase", vec![matrix]);
        let expected = slope * (range_ms + step_s * 1000) as f64 / 1000.0;
        prop_assert!((out[0].f - expected).abs() <= expected * 1e-9);
    }
}
