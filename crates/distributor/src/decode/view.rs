//! Read-only views of a [`DecodedWrite`](super::DecodedWrite): series (labels, samples,
//! counts, v2 metadata), label iterators and metadata, plus the small value types they hand
//! out ([`Sample`], [`MetricType`]). Views are `Copy` handles into the decoded tables; strings
//! come out of the validated text arena with a bounds/char-boundary check only.

use std::fmt;

use super::request::{LabelSpans, MetadataSpans, SeriesEntry, Tables};

/// The reserved label holding the metric name.
const METRIC_NAME_LABEL: &str = "__name__";

/// One float sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The value; stale markers (NaN `0x7ff0000000000002`) are kept bit for bit.
    pub value: f64,
}

/// A metric family's type, as remote write metadata carries it. Remote write 1.0
/// (`MetricMetadata.MetricType`) and 2.0 (`Metadata.MetricType`) number the types identically
/// (0 unknown/unspecified … 7 stateset); values outside 0–7 decode as [`MetricType::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    /// 0: unknown (1.0) / unspecified (2.0).
    #[default]
    Unknown,
    /// 1: counter.
    Counter,
    /// 2: gauge.
    Gauge,
    /// 3: (classic or native) histogram.
    Histogram,
    /// 4: gauge histogram.
    GaugeHistogram,
    /// 5: summary.
    Summary,
    /// 6: info.
    Info,
    /// 7: state set.
    StateSet,
}

impl MetricType {
    /// Maps the wire enum value (the same in 1.0 and 2.0) to a type.
    pub(crate) fn from_wire(value: i32) -> Self {
        match value {
            1 => Self::Counter,
            2 => Self::Gauge,
            3 => Self::Histogram,
            4 => Self::GaugeHistogram,
            5 => Self::Summary,
            6 => Self::Info,
            7 => Self::StateSet,
            _ => Self::Unknown,
        }
    }

    /// Prometheus' lowercase name of the type (`model.MetricType`), as the metadata API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::GaugeHistogram => "gaugehistogram",
            Self::Summary => "summary",
            Self::Info => "info",
            Self::StateSet => "stateset",
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Metadata of one metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetadataView<'a> {
    /// The family name (v1: `metric_family_name`; v2: the series' `__name__`).
    pub metric_family: &'a str,
    /// The family's type.
    pub metric_type: MetricType,
    /// HELP text (may be empty).
    pub help: &'a str,
    /// Unit (may be empty).
    pub unit: &'a str,
}

impl<'a> MetadataView<'a> {
    /// Builds the view of decoded metadata with the given family name.
    pub(crate) fn new(
        tables: &'a Tables,
        metadata: &MetadataSpans,
        metric_family: &'a str,
    ) -> Self {
        Self {
            metric_family,
            metric_type: metadata.metric_type,
            help: tables.str(metadata.help),
            unit: tables.str(metadata.unit),
        }
    }
}

/// A label of a series that was not valid UTF-8 on the wire, as
/// [`SeriesView::invalid_utf8_label`] reports it. Both strings are shown lossily (invalid
/// sequences as U+FFFD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8Label<'a> {
    /// The label's name.
    pub name: &'a str,
    /// The label's value.
    pub value: &'a str,
    /// `true` when the value is invalid (Mimir's `label-value-invalid`), `false` when the
    /// name is (`label-invalid`; a label with both invalid reports its name).
    pub is_value: bool,
}

/// One decoded series.
#[derive(Clone, Copy)]
pub struct SeriesView<'a> {
    tables: &'a Tables,
    entry: &'a SeriesEntry,
}

impl fmt::Debug for SeriesView<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SeriesView")
            .field("labels", &self.labels())
            .field("samples", &self.samples())
            .field("histograms", &self.histogram_count())
            .field("exemplars", &self.exemplar_count())
            .field("metadata", &self.metadata())
            .field("invalid_utf8_label", &self.invalid_utf8_label())
            .finish()
    }
}

impl<'a> SeriesView<'a> {
    pub(crate) fn new(tables: &'a Tables, entry: &'a SeriesEntry) -> Self {
        Self { tables, entry }
    }

    /// The labels as sent, in wire order: not sorted, not deduplicated, empty names and values
    /// kept (validation judges them).
    pub fn labels(&self) -> LabelIter<'a> {
        let spans = self
            .tables
            .labels
            .get(self.entry.labels_start..self.entry.labels_end)
            .unwrap_or_default();
        LabelIter {
            tables: self.tables,
            spans: spans.iter(),
        }
    }

    /// The first label (wire order) whose name or value was not valid UTF-8, if any. Such a
    /// series decodes, with the string stored lossily in [`labels`](Self::labels), so that
    /// only it is refused (as Mimir does), not the whole request.
    pub fn invalid_utf8_label(&self) -> Option<InvalidUtf8Label<'a>> {
        let invalid = self.entry.invalid_label?;
        let (name, value) = self.labels().nth(invalid.index)?;
        Some(InvalidUtf8Label {
            name,
            value,
            is_value: invalid.is_value,
        })
    }

    /// Number of labels as sent.
    pub fn label_count(&self) -> usize {
        self.entry.labels_end - self.entry.labels_start
    }

    /// The value of the first `__name__` label, if any.
    pub fn metric_name(&self) -> Option<&'a str> {
        self.labels()
            .find(|(name, _)| *name == METRIC_NAME_LABEL)
            .map(|(_, value)| value)
    }

    /// The float samples, in wire order.
    pub fn samples(&self) -> &'a [Sample] {
        self.tables
            .samples
            .get(self.entry.samples_start..self.entry.samples_end)
            .unwrap_or_default()
    }

    /// Number of native histogram samples (counted, not decoded).
    pub fn histogram_count(&self) -> usize {
        self.entry.histograms
    }

    /// Number of exemplars (counted, not decoded).
    pub fn exemplar_count(&self) -> usize {
        self.entry.exemplars
    }

    /// v2 only: the series' metadata when it says something (type not unknown, or help/unit
    /// non-empty), with `metric_family` set to [`metric_name`](Self::metric_name) (empty when
    /// the series has no `__name__`). Always `None` for v1, whose metadata is request-level.
    pub fn metadata(&self) -> Option<MetadataView<'a>> {
        let metadata = self.entry.metadata.as_ref()?;
        if !metadata.is_informative() {
            return None;
        }
        let family = self.metric_name().unwrap_or_default();
        Some(MetadataView::new(self.tables, metadata, family))
    }
}

/// Iterator over a series' `(name, value)` labels in wire order.
#[derive(Clone)]
pub struct LabelIter<'a> {
    tables: &'a Tables,
    spans: std::slice::Iter<'a, LabelSpans>,
}

impl<'a> LabelIter<'a> {
    #[inline]
    fn resolve(&self, label: &LabelSpans) -> (&'a str, &'a str) {
        let tables: &'a Tables = self.tables;
        (tables.str(label.name), tables.str(label.value))
    }
}

impl fmt::Debug for LabelIter<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_list().entries(self.clone()).finish()
    }
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = (&'a str, &'a str);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let label = self.spans.next()?;
        Some(self.resolve(label))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl DoubleEndedIterator for LabelIter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        let label = self.spans.next_back()?;
        Some(self.resolve(label))
    }
}

impl ExactSizeIterator for LabelIter<'_> {}

impl std::iter::FusedIterator for LabelIter<'_> {}
