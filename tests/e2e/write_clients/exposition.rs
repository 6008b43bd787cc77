//! The metrics the test scrape targets expose: metric families built as data, rendered in the
//! Prometheus text format for the scraper, and turned into the label sets and values the
//! tests expect to find in Norn — one source for both sides of the comparison.

use std::collections::BTreeMap;

/// A series' labels including `__name__`, ordered by name so sets compare directly.
pub(crate) type LabelSet = BTreeMap<String, String>;

/// The `# TYPE` of a metric family.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One exposed sample: full metric name (`_bucket`, `_sum`, ... for histograms), labels, value.
#[derive(Clone, Debug)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value: f64,
}

impl Sample {
    pub(crate) fn new(name: &str, labels: &[(&str, &str)], value: f64) -> Self {
        Self {
            name: name.to_owned(),
            labels: labels
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            value,
        }
    }

    /// The label set a scraper stores for this sample, with its target labels `extra` added.
    pub(crate) fn label_set(&self, extra: &[(&str, &str)]) -> LabelSet {
        let mut set: LabelSet = self.labels.iter().cloned().collect();
        set.insert("__name__".to_owned(), self.name.clone());
        for (name, value) in extra {
            set.insert((*name).to_owned(), (*value).to_owned());
        }
        set
    }
}

/// A metric family: name, type, help text and its samples.
#[derive(Clone, Debug)]
pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) help: &'static str,
    pub(crate) samples: Vec<Sample>,
}

/// Renders families in the Prometheus text exposition format 0.0.4.
pub(crate) fn render(families: &[Family]) -> String {
    let mut text = String::new();
    for family in families {
        text.push_str(&format!("# HELP {} {}\n", family.name, family.help));
        text.push_str(&format!(
            "# TYPE {} {}\n",
            family.name,
            family.kind.as_str()
        ));
        for sample in &family.samples {
            text.push_str(&sample.name);
            if !sample.labels.is_empty() {
                let labels: Vec<String> = sample
                    .labels
                    .iter()
                    .map(|(name, value)| format!("{name}=\"{}\"", escape_label_value(value)))
                    .collect();
                text.push_str(&format!("{{{}}}", labels.join(",")));
            }
            text.push_str(&format!(" {}\n", format_value(sample.value)));
        }
    }
    text
}

fn escape_label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{value}")
    }
}

/// Whether two sample values are the same (NaN equals NaN here).
pub(crate) fn same_value(left: f64, right: f64) -> bool {
    left == right || (left.is_nan() && right.is_nan())
}

/// Every sample of `families`, flattened.
pub(crate) fn samples(families: &[Family]) -> Vec<Sample> {
    families
        .iter()
        .flat_map(|family| family.samples.iter().cloned())
        .collect()
}

/// A small service's metrics, 30 series: labelled counters, gauges (one NaN, one with a label
/// value that needs escaping), an unlabelled gauge and a classic histogram with two handlers.
/// Counter and histogram values grow with `scrape` so consecutive scrapes differ.
pub(crate) fn service_families(scrape: u64) -> Vec<Family> {
    let n = scrape as f64;
    let mut requests = Vec::new();
    for (index, (method, code)) in [
        ("GET", "200"),
        ("GET", "500"),
        ("POST", "200"),
        ("POST", "500"),
        ("PUT", "200"),
        ("PUT", "500"),
    ]
    .into_iter()
    .enumerate()
    {
        requests.push(Sample::new(
            "e2e_requests_total",
            &[("method", method), ("code", code)],
            (index as f64 + 1.0) * (n + 1.0),
        ));
    }
    let temperatures = ["a", "b", "c", "d", "e"]
        .into_iter()
        .enumerate()
        .map(|(index, room)| {
            Sample::new(
                "e2e_temperature_celsius",
                &[("room", room)],
                20.5 + index as f64 + (scrape % 3) as f64 * 0.25,
            )
        })
        .collect();
    let pools = (0..4)
        .map(|pool| {
            Sample::new(
                "e2e_inflight_requests",
                &[("pool", &format!("p{pool}"))],
                f64::from(pool) * 2.0,
            )
        })
        .collect();
    let mut histogram = Vec::new();
    for (handler, scale) in [("/api", 1.0), ("/health", 3.0)] {
        for (le, share) in [("0.1", 1.0), ("0.5", 2.0), ("1", 3.0), ("+Inf", 4.0)] {
            histogram.push(Sample::new(
                "e2e_request_duration_seconds_bucket",
                &[("handler", handler), ("le", le)],
                share * scale * n,
            ));
        }
        histogram.push(Sample::new(
            "e2e_request_duration_seconds_sum",
            &[("handler", handler)],
            1.5 * scale * n,
        ));
        histogram.push(Sample::new(
            "e2e_request_duration_seconds_count",
            &[("handler", handler)],
            4.0 * scale * n,
        ));
    }
    vec![
        Family {
            name: "e2e_requests_total",
            kind: Kind::Counter,
            help: "Requests served, by method and code.",
            samples: requests,
        },
        Family {
            name: "e2e_temperature_celsius",
            kind: Kind::Gauge,
            help: "Room temperature.",
            samples: temperatures,
        },
        Family {
            name: "e2e_inflight_requests",
            kind: Kind::Gauge,
            help: "Requests in flight, by pool.",
            samples: pools,
        },
        Family {
            name: "e2e_request_duration_seconds",
            kind: Kind::Histogram,
            help: "Request latency.",
            samples: histogram,
        },
        Family {
            name: "e2e_build_info",
            kind: Kind::Gauge,
            help: "Build information, with a label value that needs escaping.",
            samples: vec![Sample::new(
                "e2e_build_info",
                &[("version", "1.2.3"), ("path", "C:\\norn \"e2e\"")],
                1.0,
            )],
        },
        Family {
            name: "e2e_queue_length",
            kind: Kind::Gauge,
            help: "Items queued.",
            samples: vec![Sample::new("e2e_queue_length", &[], 7.0)],
        },
        Family {
            name: "e2e_ratio",
            kind: Kind::Gauge,
            help: "A ratio with no data yet.",
            samples: vec![Sample::new("e2e_ratio", &[], f64::NAN)],
        },
    ]
}
