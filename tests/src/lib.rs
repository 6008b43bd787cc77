//! Norn's end-to-end test harness: helpers to start Norn (as a child process or in-process)
//! on 127.0.0.1 and talk HTTP to it, used by the `e2e` test binary in this crate and by the
//! `norn` binary's CLI tests.
//!
//! Everything here stays on the loopback interface and every wait is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod remote;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An HTTP response: status code, headers (lower-cased names) and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8).
    pub body: String,
    /// The body as bytes (for binary answers such as remote read).
    pub bytes: Vec<u8>,
}

impl Response {
    /// Returns the value of header `name` (lower case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Sends one HTTP/1.1 request and reads the whole response (`Connection: close`).
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    Ok(parse_response(&raw))
}

/// Parses a raw HTTP/1.1 response: status line, headers, and a body that may be chunked.
fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw.get(split + 4..).unwrap_or_default();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    let bytes = if chunked {
        dechunk(body)
    } else {
        body.to_vec()
    };
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = body.windows(2).position(|window| window == b"\r\n") {
        let size = std::str::from_utf8(&body[..line_end])
            .ok()
            .and_then(|size| usize::from_str_radix(size.trim(), 16).ok());
        let rest = &body[line_end + 2..];
        let Some(size) = size else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        body = rest[size..].strip_prefix(b"\r\n").unwrap_or(&rest[size..]);
    }
    out
}

/// Sends a GET request.
pub fn get(address: SocketAddr, path: &str) -> std::io::Result<Response> {
    request(address, "GET", path, &[], b"")
}

/// Returns a port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Calls `probe` every 20ms until it returns `Some`, for at most `limit`.
pub fn wait_for<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `norn` child process; killed on drop if still running.
#[derive(Debug)]
pub struct NornProcess {
    /// The child.
    pub child: Child,
    /// The HTTP address it was told to listen on.
    pub address: SocketAddr,
    /// Its working directory (removed on drop).
    pub workdir: tempfile::TempDir,
}

impl NornProcess {
    /// Starts `binary` in a fresh working directory on a free loopback port with extra `args`.
    /// `prepare` may write files into the working directory first.
    pub fn start(binary: &str, args: &[&str], prepare: impl FnOnce(&std::path::Path)) -> Self {
        let workdir = tempfile::tempdir().unwrap();
        prepare(workdir.path());
        let port = free_port();
        let child = Command::new(binary)
            .current_dir(workdir.path())
            .arg("-server.http-listen-address=127.0.0.1")
            .arg(format!("-server.http-listen-port={port}"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Self {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            workdir,
        }
    }

    /// Waits (up to 30s) until `/ready` answers 200.
    pub fn wait_ready(&mut self) -> bool {
        let address = self.address;
        wait_for(Duration::from_secs(30), || {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(false);
            }
            match get(address, "/ready") {
                Ok(response) if response.status == 200 => Some(true),
                _ => None,
            }
        })
        .unwrap_or(false)
    }

    /// Sends `signal` (e.g. "TERM") with the `kill` command.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (up to `limit`) for the process to exit; returns its exit code and stderr.
    pub fn wait_exit(mut self, limit: Duration) -> (Option<i32>, String) {
        let status = wait_for(limit, || self.child.try_wait().ok().flatten());
        let Some(status) = status else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!("norn did not exit within {limit:?}");
        };
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        (status.code(), stderr)
    }
}

impl Drop for NornProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `binary` with `args` in `dir` to completion; returns exit code, stdout and stderr.
pub fn run_to_exit(
    binary: &str,
    dir: &std::path::Path,
    args: &[&str],
) -> (Option<i32>, String, String) {
    let output = Command::new(binary)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Returns an `Authorization` header value for HTTP basic auth (`Basic <base64 of user:pass>`).
pub fn basic_auth(username: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{username}:{password}");
    let mut encoded = String::from("Basic ");
    for chunk in input.as_bytes().chunks(3) {
        let bytes = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let group = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
        for index in 0..4 {
            if index <= chunk.len() {
                encoded.push(char::from(
                    ALPHABET[(group >> (18 - 6 * index) & 63) as usize],
                ));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

/// Returns the value of the sample `name{labels}` in a Prometheus/OpenMetrics text exposition.
/// The label set must match exactly (in any order); `None` when no such sample is exposed.
pub fn metric_value(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut wanted: Vec<(String, String)> = labels
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    wanted.sort();
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(parse_exposition_line)
        .find(|(sample_name, sample_labels, _)| sample_name == name && *sample_labels == wanted)
        .map(|(_, _, value)| value)
}

/// One exposition sample: metric name, labels sorted by name, value.
type ExpositionSample = (String, Vec<(String, String)>, f64);

/// Splits one exposition line into name, sorted labels and value.
fn parse_exposition_line(line: &str) -> Option<ExpositionSample> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_owned();
    let mut labels = Vec::new();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let mut key = String::new();
        let mut end = None;
        while let Some((index, character)) = chars.next() {
            match character {
                '}' => {
                    end = Some(index + 1);
                    break;
                }
                ',' | ' ' => {}
                '=' => {
                    chars.next_if(|(_, next)| *next == '"')?;
                    let mut value = String::new();
                    while let Some((_, character)) = chars.next() {
                        match character {
                            '\\' => match chars.next()?.1 {
                                'n' => value.push('\n'),
                                other => value.push(other),
                            },
                            '"' => break,
                            other => value.push(other),
                        }
                    }
                    labels.push((std::mem::take(&mut key), value));
                }
                other => key.push(other),
            }
        }
        rest = &inner[end?..];
    }
    labels.sort();
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some((name, labels, value))
}

/// Like [`request`], but writes the body from another thread while the response is read, and
/// ignores write errors: for bodies a server may refuse before reading them whole (a 413),
/// where a blocking write would otherwise fail or stall the exchange.
pub fn request_streaming(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let mut writer = stream.try_clone()?;
    let sending = std::thread::spawn(move || {
        let _ = writer.write_all(&body);
    });
    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => raw.extend_from_slice(&buffer[..read]),
            // A reset after the response arrived (the server closed with unread body bytes).
            Err(_) if !raw.is_empty() => break,
            Err(error) => return Err(error),
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = sending.join();
    Ok(parse_response(&raw))
}

/// Returns the `norn` binary the end-to-end tests start: `$NORN_BINARY` when set, otherwise
/// `norn` next to this test executable's `deps/` directory (`target/<profile>/norn`, where
/// `cargo build -p norn` puts it). Panics with the command to run when it is missing.
pub fn norn_binary() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("NORN_BINARY") {
        return path.into();
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executable lives in target/<profile>/deps");
    let binary = profile_dir.join(format!("norn{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: run `cargo build -p norn` first (or set NORN_BINARY)",
        binary.display()
    );
    binary
}

/// Returns the path of executable `name` found on `$PATH` (or `/usr/bin`, `/usr/local/bin`).
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/bin".into(), "/usr/bin".into()])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Like [`wait_for`], but probes every `interval` (for probes that cost a request or more).
pub fn wait_for_every<T>(
    limit: Duration,
    interval: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(interval);
    }
}

/// What a child process wrote to stdout and stderr, collected by background threads so the
/// process never blocks on a full pipe. Keeps the last [`CapturedOutput::LIMIT`] bytes.
#[derive(Clone, Debug, Default)]
pub struct CapturedOutput {
    bytes: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl CapturedOutput {
    /// How many bytes (the most recent) are kept.
    pub const LIMIT: usize = 256 * 1024;

    /// Starts a thread that appends everything `pipe` yields until it closes.
    pub fn collect(&self, mut pipe: impl Read + Send + 'static) {
        let bytes = std::sync::Arc::clone(&self.bytes);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(read) = pipe.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                let mut kept = bytes.lock().unwrap_or_else(|poison| poison.into_inner());
                kept.extend_from_slice(&buffer[..read]);
                if kept.len() > Self::LIMIT {
                    let excess = kept.len() - Self::LIMIT;
                    kept.drain(..excess);
                }
            }
        });
    }

    /// Everything collected so far, as lossy UTF-8.
    pub fn text(&self) -> String {
        let kept = self
            .bytes
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        String::from_utf8_lossy(&kept).into_owned()
    }
}

impl NornProcess {
    /// Takes the child's stdout and stderr pipes and drains them in the background, so a long
    /// test never blocks Norn on a full pipe. [`NornProcess::wait_exit`] then returns an empty
    /// stderr; read the output from the returned [`CapturedOutput`] instead.
    pub fn capture_output(&mut self) -> CapturedOutput {
        let output = CapturedOutput::default();
        if let Some(stdout) = self.child.stdout.take() {
            output.collect(stdout);
        }
        if let Some(stderr) = self.child.stderr.take() {
            output.collect(stderr);
        }
        output
    }
}

/// Any other child process a test runs (Prometheus, vmagent): its output is captured, and it
/// is killed (SIGKILL, by PID) and reaped on drop, also when the test panics.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    child: Child,
    output: CapturedOutput,
}

impl ChildProcess {
    /// Spawns `command` (stdin closed, stdout and stderr captured); `name` labels diagnostics.
    pub fn spawn(name: &str, command: &mut Command) -> std::io::Result<Self> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let output = CapturedOutput::default();
        if let Some(stdout) = child.stdout.take() {
            output.collect(stdout);
        }
        if let Some(stderr) = child.stderr.take() {
            output.collect(stderr);
        }
        Ok(Self {
            name: name.to_owned(),
            child,
            output,
        })
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process with SIGKILL (by its PID) and reaps it; does nothing if it exited.
    pub fn kill(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    /// What the process wrote so far, prefixed with its name (for assertion messages).
    pub fn output(&self) -> String {
        format!(
            "--- {} (pid {}) output ---\n{}",
            self.name,
            self.pid(),
            self.output.text()
        )
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A scrape target served from a thread on 127.0.0.1: every `GET /metrics` answers
/// `render(n)` in the Prometheus text format, `n` counting scrapes from 0. Stopped on drop.
#[derive(Debug)]
pub struct ScrapeTarget {
    address: SocketAddr,
    scrapes: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ScrapeTarget {
    /// Binds a free loopback port and starts serving.
    pub fn serve(render: impl Fn(u64) -> String + Send + 'static) -> Self {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let scrapes = std::sync::Arc::new(AtomicU64::new(0));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let thread = {
            let scrapes = std::sync::Arc::clone(&scrapes);
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut stream) = stream else {
                        continue;
                    };
                    let Some(path) = read_request_path(&mut stream) else {
                        continue;
                    };
                    let (status, body) = if path.starts_with("/metrics") {
                        ("200 OK", render(scrapes.fetch_add(1, Ordering::SeqCst)))
                    } else {
                        ("404 Not Found", "not found\n".to_owned())
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body.as_bytes());
                    let _ = stream.flush();
                }
            })
        };
        Self {
            address,
            scrapes,
            stop,
            thread: Some(thread),
        }
    }

    /// Where the target listens (`host:port` for a scrape config).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// How many times `/metrics` was served.
    pub fn scrapes(&self) -> u64 {
        self.scrapes.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for ScrapeTarget {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads an HTTP request head (up to 5s, 64 KiB) and returns its path.
fn read_request_path(stream: &mut TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < 65536 {
        let read = stream.read(&mut buffer).ok()?;
        if read == 0 {
            return None;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let head = String::from_utf8_lossy(&head);
    head.lines()
        .next()?
        .split_whitespace()
        .nth(1)
        .map(str::to_owned)
}
