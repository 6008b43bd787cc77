//! Tests of series, timestamp and metadata validation: one per rule, both schemes, length
//! boundaries, and a property test that validation never panics.

use norn_common::Duration;
use norn_limits::{ErrorId, Limits};
use proptest::prelude::*;

use super::*;

const NOW_MS: i64 = 1_741_352_642_887; // 2025-03-07T13:04:02.887Z

fn validator(limits: Limits) -> SeriesValidator {
    SeriesValidator::new(&limits)
}

fn utf8() -> SeriesValidator {
    validator(Limits::default())
}

fn legacy() -> SeriesValidator {
    validator(Limits {
        name_validation_scheme: "legacy".into(),
        ..Limits::default()
    })
}

fn check(validator: &SeriesValidator, labels: &[(&str, &str)]) -> Result<(), ValidationError> {
    validator.validate_labels(labels.iter().copied())
}

fn rejected(validator: &SeriesValidator, labels: &[(&str, &str)]) -> ValidationError {
    match check(validator, labels) {
        Ok(()) => panic!("{labels:?} was accepted"),
        Err(error) => error,
    }
}

fn assert_suffix(error: &ValidationError) {
    assert!(
        error.message.contains(&error.id.message_suffix()),
        "{:?} lacks its id suffix",
        error.message
    );
    assert_eq!(error.to_string(), error.message);
}

fn assert_names_flag(error: &ValidationError, flag: &str) {
    assert_suffix(error);
    assert!(
        error.message.ends_with(&format!(
            "To adjust the related per-tenant limit, configure -{flag}, or contact your service \
             administrator."
        )),
        "{:?} does not name -{flag}",
        error.message
    );
}

// --- metric name ---

#[test]
fn series_without_metric_name_is_rejected() {
    for validator in [utf8(), legacy()] {
        let error = rejected(&validator, &[("job", "a")]);
        assert_eq!(error.id, ErrorId::MissingMetricName);
        assert_eq!(
            error.message,
            "received series has no metric name (err-norn-missing-metric-name)"
        );
        // An empty __name__ is no __name__, as Mimir drops empty values first.
        let error = rejected(&validator, &[("__name__", ""), ("job", "a")]);
        assert_eq!(error.id, ErrorId::MissingMetricName);
        assert!(check(&validator, &[("__name__", "up"), ("job", "a")]).is_ok());
    }
}

#[test]
fn legacy_scheme_rejects_metric_names_outside_its_character_set() {
    let validator = legacy();
    for name in ["up", "http_requests:rate5m", "_x", ":colon", "a1"] {
        assert!(check(&validator, &[("__name__", name)]).is_ok(), "{name}");
    }
    for name in ["1up", "foo-bar", "foo.bar", "with space"] {
        let error = rejected(&validator, &[("__name__", name)]);
        assert_eq!(error.id, ErrorId::InvalidMetricName);
        assert!(
            error.message.contains(&format!("'{name}'")),
            "{}",
            error.message
        );
        assert_suffix(&error);
    }
    let error = rejected(&validator, &[("__name__", "métric")]);
    assert!(
        error
            .message
            .contains("'mtric (non-ascii characters removed)'"),
        "{}",
        error.message
    );
}

#[test]
fn utf8_scheme_accepts_any_non_empty_metric_name() {
    let validator = utf8();
    for name in ["1up", "foo-bar", "foo.bar", "métric", "with space", "日本"] {
        assert!(check(&validator, &[("__name__", name)]).is_ok(), "{name}");
    }
}

// --- label count ---

#[test]
fn label_count_limit_is_inclusive_and_ignores_empty_values() {
    let validator = validator(Limits {
        max_label_names_per_series: 3,
        ..Limits::default()
    });
    let three = [("__name__", "up"), ("a", "1"), ("b", "2")];
    assert!(check(&validator, &three).is_ok());
    assert!(
        check(
            &validator,
            &[("__name__", "up"), ("a", "1"), ("b", "2"), ("c", "")]
        )
        .is_ok()
    );

    let four = [("__name__", "up"), ("a", "1"), ("b", "2"), ("c", "3")];
    let error = rejected(&validator, &four);
    assert_eq!(error.id, ErrorId::MaxLabelNamesPerSeries);
    assert!(
        error.message.contains("(actual: 4, limit: 3)"),
        "{}",
        error.message
    );
    assert!(
        error
            .message
            .contains(r#"series: 'up{a="1", b="2", c="3"}'"#),
        "{}",
        error.message
    );
    assert_names_flag(&error, "validation.max-label-names-per-series");
}

#[test]
fn too_many_labels_message_marks_a_cut_series() {
    let validator = validator(Limits {
        max_label_names_per_series: 1,
        ..Limits::default()
    });
    let long = "v".repeat(300);
    let error = rejected(&validator, &[("__name__", "up"), ("a", &long)]);
    assert!(error.message.contains("\u{2026}'"), "{}", error.message);
    assert!(error.message.len() < 500);
}

// --- label names ---

#[test]
fn legacy_scheme_rejects_label_names_outside_its_character_set() {
    let validator = legacy();
    for name in ["job", "_x", "A_1", "__meta"] {
        assert!(
            check(&validator, &[("__name__", "up"), (name, "v")]).is_ok(),
            "{name}"
        );
    }
    for name in ["a.b", "a-b", "1a", "a:b", "ä", "with space"] {
        let error = rejected(&validator, &[("__name__", "up"), (name, "v")]);
        assert_eq!(error.id, ErrorId::InvalidLabel, "{name}");
        assert!(
            error.message.starts_with(&format!(
                "received a series with an invalid label: '{name}' series: 'up{{{name}=\"v\"}}'"
            )),
            "{}",
            error.message
        );
        assert_suffix(&error);
    }
}

#[test]
fn utf8_scheme_accepts_utf8_label_names() {
    let validator = utf8();
    for name in ["a.b", "a-b", "1a", "a:b", "ä", "with space", "🙂"] {
        assert!(
            check(&validator, &[("__name__", "up"), (name, "v")]).is_ok(),
            "{name}"
        );
    }
}

#[test]
fn empty_label_name_is_invalid_in_both_schemes() {
    for validator in [utf8(), legacy()] {
        let error = rejected(&validator, &[("__name__", "up"), ("", "v")]);
        assert_eq!(error.id, ErrorId::InvalidLabel);
    }
}

#[test]
fn empty_valued_labels_are_ignored() {
    // Mimir drops `{foo=""}` before validating: even an invalid name passes when its value is
    // empty, and the label does not appear in messages.
    let validator = validator(Limits {
        name_validation_scheme: "legacy".into(),
        max_label_names_per_series: 2,
        ..Limits::default()
    });
    assert!(
        check(
            &validator,
            &[("__name__", "up"), ("bad-name", ""), ("", ""), ("a", "1")]
        )
        .is_ok()
    );
    let error = rejected(
        &validator,
        &[("__name__", "up"), ("gone", ""), ("a-b", "1")],
    );
    assert!(!error.message.contains("gone"), "{}", error.message);
}

// --- lengths ---

#[test]
fn label_name_length_limit_counts_bytes_inclusively() {
    let validator = validator(Limits {
        max_label_name_length: 8,
        ..Limits::default()
    });
    assert!(check(&validator, &[("__name__", "up"), ("abcdefgh", "v")]).is_ok());
    // "éééé" is four characters but eight bytes.
    assert!(check(&validator, &[("__name__", "up"), ("éééé", "v")]).is_ok());

    for name in ["abcdefghi", "ééééa"] {
        let error = rejected(&validator, &[("__name__", "up"), (name, "v")]);
        assert_eq!(error.id, ErrorId::LabelNameTooLong);
        assert!(
            error.message.starts_with(&format!(
                "received a series whose label name length exceeds the limit, label: '{name}' \
                 series: 'up{{{name}=\"v\"}}'"
            )),
            "{}",
            error.message
        );
        assert_names_flag(&error, "validation.max-length-label-name");
    }
}

#[test]
fn metric_name_counts_against_the_value_length_limit() {
    let validator = validator(Limits {
        max_label_value_length: 4,
        ..Limits::default()
    });
    assert!(check(&validator, &[("__name__", "abcd")]).is_ok());
    let error = rejected(&validator, &[("__name__", "abcde")]);
    assert_eq!(error.id, ErrorId::LabelValueTooLong);
    assert!(
        error.message.contains("label: '__name__'"),
        "{}",
        error.message
    );
}

#[test]
fn label_value_length_limit_counts_bytes_inclusively() {
    let validator = validator(Limits {
        max_label_value_length: 4,
        ..Limits::default()
    });
    assert!(check(&validator, &[("__name__", "up"), ("a", "1234")]).is_ok());
    assert!(check(&validator, &[("__name__", "up"), ("a", "éé")]).is_ok());

    for value in ["12345", "ééa"] {
        let error = rejected(&validator, &[("__name__", "up"), ("a", value)]);
        assert_eq!(error.id, ErrorId::LabelValueTooLong);
        assert!(
            error.message.starts_with(&format!(
                "received a series whose label value length exceeds the limit, label: 'a', \
                 value: '{value}' (truncated) series: 'up{{a=\"{value}\"}}'"
            )),
            "{}",
            error.message
        );
        assert_names_flag(&error, "validation.max-length-label-value");
    }
}

#[test]
fn long_values_are_cut_to_200_characters_in_messages() {
    let validator = validator(Limits {
        max_label_value_length: 10,
        ..Limits::default()
    });
    let value = "x".repeat(5000);
    let error = rejected(&validator, &[("__name__", "up"), ("a", &value)]);
    assert!(
        error
            .message
            .contains(&format!("value: '{}' (truncated)", "x".repeat(200)))
    );
    assert!(!error.message.contains(&"x".repeat(201)));
}

// --- duplicates and order ---

#[test]
fn duplicate_names_are_rejected_in_any_order() {
    let validator = utf8();
    let cases: [&[(&str, &str)]; 3] = [
        &[("__name__", "up"), ("a", "1"), ("a", "2")],
        &[("a", "1"), ("__name__", "up"), ("b", "2"), ("a", "3")],
        &[("__name__", "up"), ("__name__", "down")],
    ];
    for labels in cases {
        let error = rejected(&validator, labels);
        assert_eq!(error.id, ErrorId::DuplicateLabelNames, "{labels:?}");
        assert!(
            error
                .message
                .starts_with("received a series with duplicate label name, label: '"),
            "{}",
            error.message
        );
        assert_suffix(&error);
    }
    let error = rejected(&validator, &[("b", "1"), ("__name__", "up"), ("b", "2")]);
    assert!(
        error
            .message
            .contains(r#"label: 'b' series: 'up{b="1", b="2"}'"#),
        "{}",
        error.message
    );
}

#[test]
fn unsorted_labels_are_accepted_as_mimir_sorts_them() {
    let validator = utf8();
    assert!(
        check(
            &validator,
            &[("job", "a"), ("__name__", "up"), ("instance", "h")]
        )
        .is_ok()
    );
}

#[test]
fn duplicates_in_large_unsorted_series_are_found() {
    let validator = validator(Limits {
        max_label_names_per_series: 1000,
        ..Limits::default()
    });
    let names: Vec<String> = (0..200).rev().map(|index| format!("l{index:03}")).collect();
    let mut labels: Vec<(&str, &str)> = vec![("__name__", "up")];
    labels.extend(names.iter().map(|name| (name.as_str(), "v")));
    assert!(check(&validator, &labels).is_ok());
    labels.push(("l150", "again"));
    let error = rejected(&validator, &labels);
    assert_eq!(error.id, ErrorId::DuplicateLabelNames);
    assert!(error.message.contains("label: 'l150'"), "{}", error.message);
}

// --- timestamps ---

#[test]
fn timestamps_too_far_in_the_future_are_rejected() {
    let validator = utf8(); // creation grace period 10m
    let labels = [("__name__", "up"), ("job", "a")];
    let grace = 600_000;
    assert!(
        validator
            .validate_timestamp(NOW_MS + grace, NOW_MS, labels.iter().copied())
            .is_ok()
    );
    let Err(error) =
        validator.validate_timestamp(NOW_MS + grace + 1, NOW_MS, labels.iter().copied())
    else {
        panic!("accepted");
    };
    assert_eq!(error.id, ErrorId::TooFarInFuture);
    assert!(
        error.message.starts_with(
            "received a sample whose timestamp is too far in the future, timestamp: \
             2025-03-07T13:14:02.888Z series: 'up{job=\"a\"}'"
        ),
        "{}",
        error.message
    );
    assert_names_flag(&error, "validation.create-grace-period");
}

#[test]
fn past_grace_period_is_off_by_default() {
    let validator = utf8();
    assert!(
        validator
            .validate_timestamp(0, NOW_MS, [("__name__", "up")].into_iter())
            .is_ok()
    );
}

#[test]
fn timestamps_too_far_in_the_past_are_rejected_when_configured() {
    let validator = validator(Limits {
        past_grace_period: Duration::from_secs(3600),
        ..Limits::default()
    });
    let labels = [("__name__", "up")];
    let bound = NOW_MS - 3_600_000;
    assert!(
        validator
            .validate_timestamp(bound, NOW_MS, labels.iter().copied())
            .is_ok()
    );
    let Err(error) = validator.validate_timestamp(bound - 1, NOW_MS, labels.iter().copied()) else {
        panic!("accepted");
    };
    assert_eq!(error.id, ErrorId::TooFarInPast);
    assert!(
        error
            .message
            .contains("timestamp: 2025-03-07T12:04:02.886Z series: 'up'"),
        "{}",
        error.message
    );
    assert_names_flag(&error, "validation.past-grace-period");
}

#[test]
fn extreme_timestamps_do_not_overflow() {
    let validator = validator(Limits {
        past_grace_period: Duration::from_secs(1),
        ..Limits::default()
    });
    let labels = [("__name__", "up")];
    assert!(
        validator
            .validate_timestamp(i64::MAX, i64::MAX, labels.iter().copied())
            .is_ok()
    );
    assert!(
        validator
            .validate_timestamp(i64::MIN, i64::MIN, labels.iter().copied())
            .is_ok()
    );
    assert!(
        validator
            .validate_timestamp(i64::MAX, i64::MIN, labels.iter().copied())
            .is_err()
    );
    assert!(
        validator
            .validate_timestamp(i64::MIN, i64::MAX, labels.iter().copied())
            .is_err()
    );
}

// --- metadata ---

#[test]
fn metadata_without_family_name_is_rejected_when_enforced() {
    let error = match utf8().validate_metadata("", "help", "") {
        Err(error) => error,
        Ok(()) => panic!("accepted"),
    };
    assert_eq!(error.id, ErrorId::MetadataMissingMetricName);
    assert_eq!(
        error.message,
        "received a metric metadata with no metric name (err-norn-metadata-missing-metric-name)"
    );
    let lenient = validator(Limits {
        enforce_metadata_metric_name: false,
        ..Limits::default()
    });
    assert!(lenient.validate_metadata("", "help", "").is_ok());
}

#[test]
fn metadata_name_and_unit_length_limits_are_inclusive() {
    let validator = validator(Limits {
        max_metadata_length: 5,
        ..Limits::default()
    });
    assert!(
        validator
            .validate_metadata("abcde", "a much longer help text", "bytes")
            .is_ok()
    );

    let Err(error) = validator.validate_metadata("abcdef", "", "") else {
        panic!("accepted");
    };
    assert_eq!(error.id, ErrorId::MetadataMetricNameTooLong);
    assert!(
        error.message.contains("metric name: 'abcdef'"),
        "{}",
        error.message
    );
    assert_names_flag(&error, "validation.max-metadata-length");

    let Err(error) = validator.validate_metadata("up", "", "second") else {
        panic!("accepted");
    };
    assert_eq!(error.id, ErrorId::MetadataUnitTooLong);
    assert!(
        error.message.contains("unit: 'second' metric name: 'up'"),
        "{}",
        error.message
    );
    assert_names_flag(&error, "validation.max-metadata-length");
}

#[test]
fn help_is_truncated_at_a_character_boundary() {
    let validator = validator(Limits {
        max_metadata_length: 5,
        ..Limits::default()
    });
    assert_eq!(validator.truncate_help("hello"), "hello");
    assert_eq!(validator.truncate_help("hello world"), "hello");
    // "abcdé": é spans bytes 4..6, so the cut falls back to byte 4.
    assert_eq!(validator.truncate_help("abcdéf"), "abcd");
    assert_eq!(validator.truncate_help(""), "");
}

// --- formatting and helpers ---

#[test]
fn series_format_as_mimir_shows_them() {
    let format = |labels: &[(&str, &str)]| format_series(labels.iter().copied());
    assert_eq!(
        format(&[("__name__", "up"), ("a", "b"), ("c", "d")]),
        r#"up{a="b", c="d"}"#
    );
    assert_eq!(format(&[("a", "b"), ("__name__", "up")]), r#"up{a="b"}"#);
    assert_eq!(format(&[("__name__", "up")]), "up");
    assert_eq!(format(&[("a", "b")]), r#"{a="b"}"#);
    assert_eq!(format(&[]), "{}");
    assert_eq!(
        format(&[("__name__", "up"), ("__name__", "down")]),
        r#"up{__name__="down"}"#
    );
    assert_eq!(
        format(&[("__name__", "up"), ("q", "say \"hi\"\\\n\t\u{1}\u{a0}é")]),
        r#"up{q="say \"hi\"\\\n\t\x01\u00a0é"}"#
    );
}

#[test]
fn invalid_utf8_values_get_mimirs_message() {
    let error = invalid_label_value_error("job", b"a\xffb", "up");
    assert_eq!(error.id, ErrorId::InvalidLabelValue);
    assert_eq!(
        error.message,
        "received a series with invalid value in label 'job': 'a\u{fffd}b' metric: 'up' \
         (err-norn-label-value-invalid)"
    );
}

proptest! {
    #[test]
    fn validation_never_panics_and_accepted_series_build_label_sets(
        labels in prop::collection::vec((".{0,12}", ".{0,12}"), 0..12),
        with_name in any::<bool>(),
        legacy_scheme in any::<bool>(),
        max_labels in 0u32..8,
        max_length in 0u32..16,
        timestamp in any::<i64>(),
        now in any::<i64>(),
    ) {
        let validator = validator(Limits {
            name_validation_scheme: if legacy_scheme { "legacy" } else { "utf8" }.into(),
            max_label_names_per_series: max_labels,
            max_label_name_length: max_length,
            max_label_value_length: max_length,
            max_metadata_length: max_length,
            past_grace_period: Duration::from_secs(60),
            ..Limits::default()
        });
        let mut pairs: Vec<(&str, &str)> =
            labels.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        if with_name {
            pairs.push(("__name__", "metric"));
        }
        match validator.validate_labels(pairs.iter().copied()) {
            Ok(()) => {
                prop_assert!(norn_model::Labels::new(pairs.iter().copied()).is_ok());
            }
            Err(error) => {
                prop_assert!(error.message.contains(&error.id.message_suffix()));
            }
        }
        if let Err(error) = validator.validate_timestamp(timestamp, now, pairs.iter().copied()) {
            prop_assert!(error.message.contains(&error.id.message_suffix()));
        }
        let (family, help, unit) = labels.first().map_or(("", "", ""), |(name, value)| {
            (name.as_str(), value.as_str(), value.as_str())
        });
        if let Err(error) = validator.validate_metadata(family, help, unit) {
            prop_assert!(error.message.contains(&error.id.message_suffix()));
        }
        prop_assert!(validator.truncate_help(help).len() <= help.len());
    }
}
