//! Tests of the remote write decoder. The reference is prost (the generated `norn-proto`
//! types): [`Expected`] is what a prost-decoded request means, built independently of the
//! decoder, and [`observed`] reads the same shape back out of a [`DecodedWrite`].

mod cases;
mod differential;
mod malformed;

use norn_proto::prometheus::{WriteRequest, metric_metadata};
use norn_proto::write_v2::{self, metadata};

use super::{DecodedWrite, MetricType, WireVersion};

/// Metadata as the tests compare it.
#[derive(Clone, Debug, PartialEq)]
struct ExpectedMetadata {
    family: String,
    metric_type: MetricType,
    help: String,
    unit: String,
}

/// One series as the tests compare it (sample values as bits, so NaNs compare).
#[derive(Clone, Debug, PartialEq)]
struct ExpectedSeries {
    labels: Vec<(String, String)>,
    metric_name: Option<String>,
    samples: Vec<(i64, u64)>,
    histograms: usize,
    exemplars: usize,
    metadata: Option<ExpectedMetadata>,
}

/// A whole request as the tests compare it.
#[derive(Clone, Debug, PartialEq)]
struct Expected {
    series: Vec<ExpectedSeries>,
    metadata: Vec<ExpectedMetadata>,
    samples: usize,
    histograms: usize,
    exemplars: usize,
}

fn v1_type(value: i32) -> MetricType {
    match metric_metadata::MetricType::try_from(value) {
        Ok(metric_metadata::MetricType::Counter) => MetricType::Counter,
        Ok(metric_metadata::MetricType::Gauge) => MetricType::Gauge,
        Ok(metric_metadata::MetricType::Histogram) => MetricType::Histogram,
        Ok(metric_metadata::MetricType::Gaugehistogram) => MetricType::GaugeHistogram,
        Ok(metric_metadata::MetricType::Summary) => MetricType::Summary,
        Ok(metric_metadata::MetricType::Info) => MetricType::Info,
        Ok(metric_metadata::MetricType::Stateset) => MetricType::StateSet,
        Ok(metric_metadata::MetricType::Unknown) | Err(_) => MetricType::Unknown,
    }
}

fn v2_type(value: i32) -> MetricType {
    match metadata::MetricType::try_from(value) {
        Ok(metadata::MetricType::Counter) => MetricType::Counter,
        Ok(metadata::MetricType::Gauge) => MetricType::Gauge,
        Ok(metadata::MetricType::Histogram) => MetricType::Histogram,
        Ok(metadata::MetricType::Gaugehistogram) => MetricType::GaugeHistogram,
        Ok(metadata::MetricType::Summary) => MetricType::Summary,
        Ok(metadata::MetricType::Info) => MetricType::Info,
        Ok(metadata::MetricType::Stateset) => MetricType::StateSet,
        Ok(metadata::MetricType::Unspecified) | Err(_) => MetricType::Unknown,
    }
}

fn first_name(labels: &[(String, String)]) -> Option<String> {
    labels
        .iter()
        .find(|(name, _)| name == "__name__")
        .map(|(_, value)| value.clone())
}

/// What a prost-decoded 1.0 request means.
fn expected_v1(request: &WriteRequest) -> Expected {
    let series: Vec<ExpectedSeries> = request
        .timeseries
        .iter()
        .map(|series| {
            let labels: Vec<(String, String)> = series
                .labels
                .iter()
                .map(|label| (label.name.clone(), label.value.clone()))
                .collect();
            ExpectedSeries {
                metric_name: first_name(&labels),
                labels,
                samples: series
                    .samples
                    .iter()
                    .map(|sample| (sample.timestamp, sample.value.to_bits()))
                    .collect(),
                histograms: series.histograms.len(),
                exemplars: series.exemplars.len(),
                metadata: None,
            }
        })
        .collect();
    Expected {
        samples: series.iter().map(|series| series.samples.len()).sum(),
        histograms: series.iter().map(|series| series.histograms).sum(),
        exemplars: series.iter().map(|series| series.exemplars).sum(),
        series,
        metadata: request
            .metadata
            .iter()
            .map(|metadata| ExpectedMetadata {
                family: metadata.metric_family_name.clone(),
                metric_type: v1_type(metadata.r#type),
                help: metadata.help.clone(),
                unit: metadata.unit.clone(),
            })
            .collect(),
    }
}

/// What a prost-decoded 2.0 request means (its references must be in range).
fn expected_v2(request: &write_v2::Request) -> Expected {
    let symbol = |reference: u32| request.symbols[reference as usize].clone();
    let series: Vec<ExpectedSeries> = request
        .timeseries
        .iter()
        .map(|series| {
            let labels: Vec<(String, String)> = series
                .labels_refs
                .chunks(2)
                .map(|pair| (symbol(pair[0]), symbol(pair[1])))
                .collect();
            let metric_name = first_name(&labels);
            let metadata = series
                .metadata
                .as_ref()
                .map(|metadata| ExpectedMetadata {
                    family: metric_name.clone().unwrap_or_default(),
                    metric_type: v2_type(metadata.r#type),
                    help: symbol(metadata.help_ref),
                    unit: symbol(metadata.unit_ref),
                })
                .filter(|metadata| {
                    metadata.metric_type != MetricType::Unknown
                        || !metadata.help.is_empty()
                        || !metadata.unit.is_empty()
                });
            ExpectedSeries {
                labels,
                metric_name,
                samples: series
                    .samples
                    .iter()
                    .map(|sample| (sample.timestamp, sample.value.to_bits()))
                    .collect(),
                histograms: series.histograms.len(),
                exemplars: series.exemplars.len(),
                metadata,
            }
        })
        .collect();
    Expected {
        samples: series.iter().map(|series| series.samples.len()).sum(),
        histograms: series.iter().map(|series| series.histograms).sum(),
        exemplars: series.iter().map(|series| series.exemplars).sum(),
        metadata: series
            .iter()
            .filter_map(|series| series.metadata.clone())
            .filter(|metadata| !metadata.family.is_empty())
            .collect(),
        series,
    }
}

/// Reads a decoded request back into the comparable shape, exercising every accessor.
fn observed(decoded: &DecodedWrite) -> Expected {
    let to_expected = |metadata: super::MetadataView<'_>| ExpectedMetadata {
        family: metadata.metric_family.to_owned(),
        metric_type: metadata.metric_type,
        help: metadata.help.to_owned(),
        unit: metadata.unit.to_owned(),
    };
    let series: Vec<ExpectedSeries> = decoded
        .series_iter()
        .enumerate()
        .map(|(index, view)| {
            let indexed = decoded.series(index);
            assert_eq!(indexed.label_count(), view.label_count());
            assert_eq!(view.labels().len(), view.label_count());
            ExpectedSeries {
                labels: view
                    .labels()
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .collect(),
                metric_name: view.metric_name().map(str::to_owned),
                samples: view
                    .samples()
                    .iter()
                    .map(|sample| (sample.timestamp_ms, sample.value.to_bits()))
                    .collect(),
                histograms: view.histogram_count(),
                exemplars: view.exemplar_count(),
                metadata: view.metadata().map(to_expected),
            }
        })
        .collect();
    assert_eq!(decoded.series_count(), series.len());
    Expected {
        series,
        metadata: decoded.metadata().map(to_expected).collect(),
        samples: decoded.sample_count(),
        histograms: decoded.histogram_count(),
        exemplars: decoded.exemplar_count(),
    }
}

/// Whether no series reports an invalid UTF-8 label (always so when prost, which validates
/// every string, accepted the same body).
fn no_series_marked(decoded: &DecodedWrite) -> bool {
    decoded
        .series_iter()
        .all(|series| series.invalid_utf8_label().is_none())
}

/// Decodes `body` with a fresh decoder.
fn decode(version: WireVersion, body: &[u8]) -> Result<DecodedWrite, super::DecodeError> {
    let mut decoded = DecodedWrite::new();
    decoded.decode(version, body.to_vec())?;
    Ok(decoded)
}
