//! Runs the query suite: one keep-alive connection, queries one after the other (so a
//! target's latency is not mixed with queueing), warm-up runs first, then timed runs.

use std::io::{self, Write as _};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::loadgen::report::LatencySummary;
use crate::query::client::GetClient;
use crate::query::config::QueryConfig;
use crate::query::fingerprint::fingerprint;
use crate::query::report::{QueryReport, QueryResult};
use crate::query::suite::{BenchQuery, suite};

/// A run that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum QueryRunError {
    /// `--only` names a query the suite does not have.
    #[error("unknown query {0:?} in --only (see --list)")]
    UnknownQuery(String),
}

/// The queries `config` selects, in suite order.
pub fn selected(config: &QueryConfig) -> Result<Vec<BenchQuery>, QueryRunError> {
    let all = suite();
    if let Some(unknown) = config
        .only
        .iter()
        .find(|name| !all.iter().any(|query| query.name == name.as_str()))
    {
        return Err(QueryRunError::UnknownQuery(unknown.clone()));
    }
    Ok(all
        .into_iter()
        .filter(|query| config.only.is_empty() || config.only.iter().any(|name| name == query.name))
        .collect())
}

/// Runs the selected queries against `config.endpoint` and reports on them.
pub fn run_queries(config: &QueryConfig) -> Result<QueryReport, QueryRunError> {
    let queries = selected(config)?;
    let time = config.time.unwrap_or_else(unix_now);
    let mut client = GetClient::new(
        config.endpoint.clone(),
        config.headers.clone(),
        config.timeout,
    );
    let started = Instant::now();
    let mut results = Vec::with_capacity(queries.len());
    for query in &queries {
        let result = run_one(&mut client, config, query, time);
        if !config.quiet {
            let _ = writeln!(
                io::stderr(),
                "norn-bench: {:<24} median {:>9.2} ms{}",
                result.name,
                result.latency.p50_ms,
                result
                    .error
                    .as_deref()
                    .map(|error| format!("  ({error})"))
                    .unwrap_or_default()
            );
        }
        results.push(result);
    }
    Ok(QueryReport {
        url: format!(
            "http://{}{}",
            config.endpoint.authority, config.endpoint.path
        ),
        time,
        repeat: config.repeat,
        warmup: config.warmup,
        queries: results,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    })
}

fn run_one(
    client: &mut GetClient,
    config: &QueryConfig,
    query: &BenchQuery,
    time: i64,
) -> QueryResult {
    let path = query.path(&config.endpoint.path, time);
    let mut result = QueryResult {
        name: query.name.to_owned(),
        kind: query.kind().to_owned(),
        query: query.text(),
        path: path.clone(),
        status: None,
        fingerprint: None,
        stable: true,
        runs: 0,
        latency: LatencySummary::default(),
        min_ms: 0.0,
        response_bytes: 0,
        error: None,
    };
    for _ in 0..config.warmup {
        if let Err(error) = client.get(&path) {
            result.error = Some(format!("warm-up failed: {error}"));
            return result;
        }
    }
    let mut latencies = Vec::with_capacity(config.repeat);
    for _ in 0..config.repeat {
        let sent = Instant::now();
        let answer = client.get(&path);
        let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        let response = match answer {
            Ok(response) => response,
            Err(error) => {
                result.error = Some(format!("request failed: {error}"));
                break;
            }
        };
        latencies.push(micros);
        let print = fingerprint(&response.body);
        if result
            .fingerprint
            .as_ref()
            .is_some_and(|previous| previous.hash != print.hash)
        {
            result.stable = false;
        }
        result.status = Some(response.status);
        result.response_bytes = response.body.len();
        if response.status != 200 {
            let snippet: String = String::from_utf8_lossy(&response.body)
                .chars()
                .take(200)
                .collect();
            result.error = Some(format!("HTTP {}: {}", response.status, snippet.trim()));
        }
        result.fingerprint = Some(print);
    }
    result.runs = latencies.len();
    result.min_ms = latencies
        .iter()
        .min()
        .map_or(0.0, |micros| f64::from(*micros) / 1000.0);
    result.latency = LatencySummary::from_micros(&mut latencies);
    result
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::thread;
    use std::time::Duration;

    use super::*;
    use crate::loadgen::http::Endpoint;

    #[test]
    fn every_selected_query_is_timed_and_fingerprinted() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Answers every request on one connection; `http_p99` gets an error.
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            let mut paths = Vec::new();
            loop {
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                    return paths;
                }
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line == "\r\n" {
                        break;
                    }
                }
                let path = request_line.split_whitespace().nth(1).unwrap().to_owned();
                let (status, body) = if path.contains("histogram_quantile") {
                    (
                        "422 Unprocessable Entity",
                        r#"{"status":"error","errorType":"execution","error":"x"}"#,
                    )
                } else {
                    (
                        "200 OK",
                        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}"#,
                    )
                };
                write!(
                    writer,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
                paths.push(path);
            }
        });
        let config = QueryConfig {
            endpoint: Endpoint::parse(&format!("http://127.0.0.1:{port}/prometheus")).unwrap(),
            time: Some(1_700_000_000),
            repeat: 3,
            warmup: 1,
            headers: Vec::new(),
            only: vec!["cpu_rate_one_host".to_owned(), "http_p99".to_owned()],
            timeout: Duration::from_secs(5),
            json: None,
            list: false,
            quiet: true,
        };
        let report = run_queries(&config).unwrap();
        assert_eq!(report.queries.len(), 2);
        let ok = &report.queries[0];
        assert_eq!((ok.runs, ok.status, ok.stable), (3, Some(200), true));
        assert_eq!(ok.fingerprint.as_ref().unwrap().series, 1);
        assert!(ok.error.is_none());
        let failed = &report.queries[1];
        assert_eq!(
            failed.fingerprint.as_ref().unwrap().outcome,
            "error:execution"
        );
        assert!(failed.failed());
        assert_eq!(report.failures(), 1);
        // The run closed its connection, which ends the server loop. 2 queries × (1 warm-up +
        // 3 timed), all under the base path at the given time.
        let paths = server.join().unwrap();
        assert_eq!(paths.len(), 8);
        assert!(
            paths
                .iter()
                .all(|path| path.starts_with("/prometheus/api/v1/query?")
                    && path.ends_with("&time=1700000000"))
        );
    }

    #[test]
    fn unknown_names_in_only_are_refused() {
        let config = QueryConfig {
            endpoint: Endpoint::parse("http://127.0.0.1:1").unwrap(),
            time: None,
            repeat: 1,
            warmup: 0,
            headers: Vec::new(),
            only: vec!["nope".to_owned()],
            timeout: Duration::from_secs(1),
            json: None,
            list: false,
            quiet: true,
        };
        assert!(matches!(
            run_queries(&config),
            Err(QueryRunError::UnknownQuery(_))
        ));
    }
}
