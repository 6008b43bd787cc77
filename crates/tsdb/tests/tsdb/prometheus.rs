//! A real Prometheus server reading a block Norn wrote.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{SampleSet, now_ms, prometheus_binary, write_test_block};

/// A Prometheus child process, killed (by PID) and reaped when dropped, even when the test
/// fails.
struct PrometheusProcess {
    child: Child,
    address: SocketAddr,
    log: std::path::PathBuf,
}

impl Drop for PrometheusProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PrometheusProcess {
    fn start(data_dir: &Path, work_dir: &Path) -> Self {
        let config = work_dir.join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1h\n").unwrap();
        // A free port: bind to port 0, note it, release it for Prometheus.
        let address = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let log = work_dir.join("prometheus.log");
        let child = Command::new(prometheus_binary("prometheus"))
            .arg(format!("--storage.tsdb.path={}", data_dir.display()))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address={address}"))
            .arg("--storage.tsdb.retention.time=100y")
            .stdin(Stdio::null())
            .stdout(File::create(work_dir.join("prometheus.stdout")).unwrap())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self {
            child,
            address,
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (at most `timeout`) for `/-/ready` to answer 200.
    fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("prometheus exited with {status}:\n{}", self.log());
            }
            if let Ok((200, _)) = http_get(self.address, "/-/ready") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready after {timeout:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A bounded HTTP/1.0 GET; returns status and body.
fn http_get(address: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    Ok((status, body.to_string()))
}

#[test]
fn prometheus_serves_the_samples_of_a_norn_block() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let start = (now_ms() - 6 * 3_600_000) / 7_200_000 * 7_200_000;
    let block = write_test_block(&data, 300, 400, start);

    let mut prometheus = PrometheusProcess::start(&data, work.path());
    prometheus.wait_ready(Duration::from_secs(60));

    // `metric[2h]` at the last sample's time covers every sample (they span < 2h).
    let last = block
        .samples
        .values()
        .filter_map(|samples| samples.last().map(|(t, _)| *t))
        .max()
        .unwrap();
    let path = format!(
        "/api/v1/query?query={}%5B2h%5D&time={}.{:03}",
        block.metric,
        last / 1000,
        last % 1000
    );
    let (status, body) = http_get(prometheus.address, &path).unwrap();
    assert_eq!(status, 200, "{body}\n{}", prometheus.log());
    let response: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(response["status"], "success", "{body}");
    assert_eq!(response["data"]["resultType"], "matrix");
    let mut served = SampleSet::new();
    for series in response["data"]["result"].as_array().unwrap() {
        let labels: BTreeMap<String, String> = series["metric"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_string()))
            .collect();
        let samples = series["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                let seconds = pair[0].as_f64().unwrap();
                let value: f64 = pair[1].as_str().unwrap().parse().unwrap();
                ((seconds * 1000.0).round() as i64, value.to_bits())
            })
            .collect();
        served.insert(labels, samples);
    }
    assert_eq!(served.len(), 300);
    assert_eq!(served, block.samples);

    // Label lookups go through the index's postings offset table.
    let (status, body) = http_get(prometheus.address, "/api/v1/label/shard/values").unwrap();
    assert_eq!(status, 200, "{body}");
    let values: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(values["data"], serde_json::json!(["0", "1", "2", "3", "4"]));
}
