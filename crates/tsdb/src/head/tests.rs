use std::sync::Arc;

use norn_model::matcher::MatchType;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).unwrap()
}

fn matcher(kind: MatchType, name: &str, value: &str) -> Matcher {
    Matcher::new(kind, name, value).unwrap()
}

fn samples(head: &Head, matchers: &[Matcher]) -> Vec<(String, Vec<(i64, f64)>)> {
    head.select(matchers, i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|series| {
            let samples = series.collect_samples(i64::MIN, i64::MAX).unwrap();
            (series.labels.to_string(), samples)
        })
        .collect()
}

#[test]
fn committed_samples_are_visible_and_rolled_back_ones_are_not() {
    let head = Head::new(HeadOptions::default());
    let up = labels(&[("__name__", "up"), ("job", "a")]);
    let mut appender = head.appender();
    let series_ref = appender.append(&up, 1000, 1.0).unwrap();
    appender.append_ref(series_ref, 2000, 2.0).unwrap();
    assert!(
        samples(&head, &[]).is_empty(),
        "nothing visible before commit"
    );
    let summary = appender.commit().unwrap();
    assert_eq!(summary.appended, 2);
    assert_eq!(samples(&head, &[])[0].1, vec![(1000, 1.0), (2000, 2.0)]);

    let mut appender = head.appender();
    appender.append(&up, 3000, 3.0).unwrap();
    appender.rollback().unwrap();
    let mut appender = head.appender();
    appender.append(&up, 4000, 4.0).unwrap();
    drop(appender);
    assert_eq!(samples(&head, &[])[0].1, vec![(1000, 1.0), (2000, 2.0)]);
    assert_eq!((head.min_time(), head.max_time()), (1000, 2000));
}

#[test]
fn rejections_are_distinct_and_do_not_spoil_the_batch() {
    let head = Head::new(HeadOptions::default());
    let a = labels(&[("__name__", "a")]);
    let b = labels(&[("__name__", "b")]);
    let mut appender = head.appender();
    appender.append(&a, 10_000, 1.0).unwrap();
    appender.commit().unwrap();

    let mut appender = head.appender();
    assert_eq!(
        appender.append(&a, 9_000, 1.0),
        Err(AppendError::OutOfOrder {
            timestamp: 9_000,
            last: 10_000
        })
    );
    assert_eq!(
        appender.append(&a, 10_000, 5.0),
        Err(AppendError::DuplicateTimestamp { timestamp: 10_000 })
    );
    // Identical resend is accepted and stored once.
    appender.append(&a, 10_000, 1.0).unwrap();
    appender.append(&b, 500, 1.0).unwrap();
    appender.append(&b, 600, 2.0).unwrap();
    assert!(matches!(
        appender.append(&b, 550, 2.0),
        Err(AppendError::OutOfOrder { last: 600, .. })
    ));
    assert_eq!(
        appender.append_ref(999, 1, 1.0),
        Err(AppendError::UnknownSeries(999))
    );
    appender.commit().unwrap();
    assert_eq!(
        samples(&head, &[]),
        vec![
            ("{__name__=\"a\"}".to_string(), vec![(10_000, 1.0)]),
            ("{__name__=\"b\"}".to_string(), vec![(500, 1.0), (600, 2.0)]),
        ]
    );
    let counters = head.counters();
    assert_eq!(counters.out_of_order_samples.load(Ordering::Relaxed), 2);
    assert_eq!(counters.duplicate_samples.load(Ordering::Relaxed), 1);

    // More than half a chunk range behind the newest sample is out of bounds.
    let mut appender = head.appender();
    let too_old = 10_000 - DEFAULT_CHUNK_RANGE / 2 - 1;
    assert!(matches!(
        appender.append(&b, too_old, 1.0),
        Err(AppendError::OutOfBounds { .. })
    ));
    head.set_min_valid_time(20_000);
    let mut appender = head.appender();
    assert_eq!(
        appender.append(&a, 19_999, 1.0),
        Err(AppendError::OutOfBounds {
            timestamp: 19_999,
            min_valid: 20_000
        })
    );
}

#[test]
fn selectors_and_label_lookups() {
    let head = Head::new(HeadOptions::default());
    let mut appender = head.appender();
    for (job, instance, t) in [("api", "1", 1000), ("api", "2", 1000), ("db", "1", 5000)] {
        appender
            .append(
                &labels(&[("__name__", "up"), ("job", job), ("instance", instance)]),
                t,
                1.0,
            )
            .unwrap();
    }
    appender
        .append(&labels(&[("__name__", "other")]), 1000, 1.0)
        .unwrap();
    appender.commit().unwrap();

    let api = [matcher(MatchType::Equal, "job", "api")];
    assert_eq!(samples(&head, &api).len(), 2);
    let not_api = [
        matcher(MatchType::Equal, "__name__", "up"),
        matcher(MatchType::NotEqual, "job", "api"),
    ];
    assert_eq!(samples(&head, &not_api).len(), 1);
    let no_job = [matcher(MatchType::Equal, "job", "")];
    assert_eq!(samples(&head, &no_job)[0].0, "{__name__=\"other\"}");
    assert_eq!(
        head.select(&api, 2000, 9000).unwrap().len(),
        0,
        "time range applies"
    );

    assert_eq!(
        head.label_names(&[], i64::MIN, i64::MAX).unwrap(),
        vec!["__name__", "instance", "job"]
    );
    assert_eq!(
        head.label_names(&no_job, i64::MIN, i64::MAX).unwrap(),
        vec!["__name__"]
    );
    assert_eq!(
        head.label_values("job", &[], i64::MIN, i64::MAX).unwrap(),
        vec!["api", "db"]
    );
    // As in Prometheus's head, the range is checked against the head as a whole.
    assert_eq!(
        head.label_values("job", &[], 2000, 9000).unwrap(),
        vec!["api", "db"]
    );
    assert!(
        head.label_values("job", &[], 6000, 9000)
            .unwrap()
            .is_empty()
    );
    assert!(head.label_names(&api, 0, 999).unwrap().is_empty());
    assert_eq!(
        head.label_names(&api, 0, 1000).unwrap(),
        vec!["__name__", "instance", "job"]
    );
    assert!(
        head.label_values("missing", &api, i64::MIN, i64::MAX)
            .unwrap()
            .is_empty()
    );
    let one = [matcher(MatchType::Regex, "instance", "1")];
    assert_eq!(
        head.label_values("job", &one, i64::MIN, i64::MAX).unwrap(),
        vec!["api", "db"]
    );
}

#[test]
fn truncation_drops_old_chunks_and_collects_empty_series() {
    let head = Head::new(HeadOptions::default());
    let old = labels(&[("__name__", "old")]);
    let live = labels(&[("__name__", "live")]);
    let mut appender = head.appender();
    appender.append(&old, 1000, 1.0).unwrap();
    appender.append(&live, 1000, 1.0).unwrap();
    appender.commit().unwrap();
    let mut appender = head.appender();
    appender
        .append(&live, DEFAULT_CHUNK_RANGE + 1000, 2.0)
        .unwrap();
    appender.commit().unwrap();

    assert_eq!(head.symbols.len(), 3, "__name__, old, live");
    let removed = head.truncate(DEFAULT_CHUNK_RANGE);
    assert_eq!(removed.len(), 1);
    assert_eq!(
        head.symbols.len(),
        2,
        "the collected series' symbols are freed"
    );
    assert_eq!(head.num_series(), 1);
    assert_eq!(
        samples(&head, &[])[0].1,
        vec![(DEFAULT_CHUNK_RANGE + 1000, 2.0)]
    );
    assert_eq!(head.min_time(), DEFAULT_CHUNK_RANGE + 1000);
    assert_eq!(
        head.label_values("__name__", &[], i64::MIN, i64::MAX)
            .unwrap(),
        vec!["live"]
    );
    // The collected series comes back under a new ref.
    let mut appender = head.appender();
    let new_ref = appender
        .append(&old, DEFAULT_CHUNK_RANGE + 5000, 1.0)
        .unwrap();
    assert!(!removed.contains(&new_ref));
    appender.commit().unwrap();
}

#[test]
fn series_with_pending_appends_survive_truncation() {
    let head = Head::new(HeadOptions::default());
    let series = labels(&[("__name__", "x")]);
    let mut appender = head.appender();
    appender.append(&series, 5000, 1.0).unwrap();
    head.truncate(10_000);
    assert_eq!(head.num_series(), 1, "pending append protects the series");
    drop(appender);
    head.truncate(10_000);
    assert_eq!(head.num_series(), 0);
}

#[test]
fn hash_conflicts_keep_series_apart() {
    let mut stripe = HashStripe::default();
    let symbols = SymbolTable::default();
    let (labels_a, labels_b) = (labels(&[("a", "1")]), labels(&[("b", "2")]));
    let a = Arc::new(MemSeries::new(1, symbols.intern(&labels_a), false));
    let b = Arc::new(MemSeries::new(2, symbols.intern(&labels_b), false));
    stripe.insert(42, Arc::clone(&a));
    stripe.insert(42, Arc::clone(&b));
    assert_eq!(stripe.get(42, &labels_a, &symbols).unwrap().series_ref, 1);
    assert_eq!(stripe.get(42, &labels_b, &symbols).unwrap().series_ref, 2);
    stripe.remove(42, 1);
    assert!(stripe.get(42, &labels_a, &symbols).is_none());
    assert_eq!(stripe.get(42, &labels_b, &symbols).unwrap().series_ref, 2);
    stripe.remove(42, 2);
    assert!(stripe.unique.is_empty() && stripe.conflicts.is_empty());
}

#[test]
fn concurrent_appenders_lose_nothing() {
    let head = Arc::new(Head::new(HeadOptions {
        stripes: 4,
        ..HeadOptions::default()
    }));
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let head = Arc::clone(&head);
            std::thread::spawn(move || {
                for batch in 0..50i64 {
                    let mut appender = head.appender();
                    for series in 0..20 {
                        let labels = labels(&[
                            ("__name__", "m"),
                            ("s", &series.to_string()),
                            ("t", &thread.to_string()),
                        ]);
                        appender
                            .append(&labels, batch * 1000, batch as f64)
                            .unwrap();
                    }
                    appender.commit().unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let all = samples(&head, &[]);
    assert_eq!(all.len(), 80);
    assert!(all.iter().all(|(_, samples)| samples.len() == 50));
    assert_eq!(
        head.counters().samples_appended.load(Ordering::Relaxed),
        4000
    );
}

/// Allows at most `limit` series and records every creation and deletion.
#[derive(Debug, Default)]
struct CountingLifecycle {
    limit: usize,
    live: std::sync::Mutex<Vec<String>>,
}

impl SeriesLifecycle for CountingLifecycle {
    fn pre_creation(&self, labels: &Labels) -> std::result::Result<(), SeriesRejection> {
        if self.live.lock().unwrap().len() >= self.limit {
            return Err(SeriesRejection {
                reason: "max-series-per-user",
                message: format!("limit reached for {labels}"),
            });
        }
        Ok(())
    }
    fn post_creation(&self, labels: &Labels) {
        self.live.lock().unwrap().push(labels.to_string());
    }
    fn post_deletion(&self, labels: &Labels) {
        self.live
            .lock()
            .unwrap()
            .retain(|l| *l != labels.to_string());
    }
}

#[test]
fn lifecycle_hook_refuses_new_series_and_sees_deletions() {
    let lifecycle = Arc::new(CountingLifecycle {
        limit: 2,
        ..Default::default()
    });
    let head = Head::new(HeadOptions {
        lifecycle: Some(Arc::clone(&lifecycle) as Arc<dyn SeriesLifecycle>),
        ..HeadOptions::default()
    });
    let mut appender = head.appender();
    appender
        .append(&labels(&[("__name__", "a")]), 10, 1.0)
        .unwrap();
    appender
        .append(&labels(&[("__name__", "b")]), 10, 1.0)
        .unwrap();
    let refused = appender
        .append(&labels(&[("__name__", "c")]), 10, 1.0)
        .unwrap_err();
    match refused {
        AppendError::SeriesRejected(rejection) => {
            assert_eq!(rejection.reason, "max-series-per-user");
            assert!(rejection.message.contains("c"), "{}", rejection.message);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    // Existing series still take samples once the limit is reached.
    appender
        .append(&labels(&[("__name__", "a")]), 20, 2.0)
        .unwrap();
    assert_eq!(appender.commit().unwrap().appended, 3);
    assert_eq!(head.num_series(), 2);
    assert_eq!(lifecycle.live.lock().unwrap().len(), 2);
    // Truncating past every sample collects both series and tells the hook.
    head.truncate(1_000);
    assert!(lifecycle.live.lock().unwrap().is_empty());
}
