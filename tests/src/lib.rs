//! Norn's end-to-end test harness: helpers to start Norn (as a child process or in-process)
//! on 127.0.0.1 and talk HTTP to it, used by the `e2e` test binary in this crate and by the
//! `norn` binary's CLI tests.
//!
//! Everything here stays on the loopback interface and every wait is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
    /// The body as text.
    pub body: String,
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
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
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
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
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
