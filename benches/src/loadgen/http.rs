//! A minimal blocking HTTP/1.1 client for `POST` requests over keep-alive connections.
//!
//! The load generator needs one thing: send a body, read the status, keep the connection. A
//! blocking client on a thread per connection does that with `std::net` alone, so the tool adds
//! no HTTP stack or async runtime of its own to the measurement (the load generator shares the
//! machine with the server it measures). Only `http://` is supported; responses may use
//! `Content-Length`, chunked transfer encoding or close-delimited bodies.

use std::io::{self, BufRead, BufReader, Write};

use crate::http1::{BodyLimit, ReadError, read_body, read_head};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Bytes of an error body kept for the report.
const BODY_SNIPPET_BYTES: usize = 512;
/// How long a request may wait on the socket before it counts as failed.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// A URL that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// Only plain HTTP is implemented.
    #[error("{0:?} is not an http:// URL (https is not supported)")]
    Scheme(String),
    /// No host, or a port that is not a number.
    #[error("{0:?} has no usable host:port")]
    Authority(String),
}

/// Where requests are sent: host, port and path of an `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port (80 when the URL names none).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// The `Host` header value, as written in the URL.
    pub authority: String,
}

impl Endpoint {
    /// Parses `http://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| UrlError::Scheme(url.to_owned()))?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        let bad = || UrlError::Authority(url.to_owned());
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(port) => port.parse().map_err(|_| bad())?,
                None if after.is_empty() => 80,
                None => return Err(bad()),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, port.parse().map_err(|_| bad())?),
                None => (authority, 80),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            authority: authority.to_owned(),
        })
    }
}

/// The part of a response the load generator looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The start of the body (kept for error reports; empty for 2xx).
    pub body_snippet: String,
}

/// One keep-alive connection to an [`Endpoint`], reopened when the server closes it.
#[derive(Debug)]
pub struct Connection {
    endpoint: Endpoint,
    /// Request head minus `Content-Length`, built once.
    head_prefix: Vec<u8>,
    stream: Option<BufReader<TcpStream>>,
    request: Vec<u8>,
}

impl Connection {
    /// Prepares a connection that sends `extra_headers` with every request; it connects on
    /// the first [`Connection::post`].
    pub fn new(endpoint: Endpoint, extra_headers: &[(&str, &str)]) -> Self {
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: norn-bench/{}\r\n",
            endpoint.path,
            endpoint.authority,
            env!("CARGO_PKG_VERSION")
        );
        for (name, value) in extra_headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        Self {
            endpoint,
            head_prefix: head.into_bytes(),
            stream: None,
            request: Vec::new(),
        }
    }

    /// Sends `body` and reads the response. A request on a reused connection that the server
    /// closed meanwhile (no response byte read) is retried once on a fresh connection.
    pub fn post(&mut self, body: &[u8]) -> io::Result<Response> {
        let reused = self.stream.is_some();
        match self.post_once(body) {
            Ok(response) => Ok(response),
            Err(Failure::BeforeResponse(_)) if reused => {
                self.stream = None;
                self.post_once(body).map_err(Failure::into_io)
            }
            Err(failure) => {
                self.stream = None;
                Err(failure.into_io())
            }
        }
    }

    fn post_once(&mut self, body: &[u8]) -> Result<Response, Failure> {
        if self.stream.is_none() {
            self.stream = Some(self.connect().map_err(Failure::BeforeResponse)?);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Failure::BeforeResponse(io::Error::other("no connection")));
        };
        self.request.clear();
        self.request.extend_from_slice(&self.head_prefix);
        self.request
            .extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        self.request.extend_from_slice(body);
        stream
            .get_mut()
            .write_all(&self.request)
            .map_err(Failure::BeforeResponse)?;
        let (response, keep_alive) = read_response(stream)?;
        if !keep_alive {
            self.stream = None;
        }
        Ok(response)
    }

    fn connect(&self) -> io::Result<BufReader<TcpStream>> {
        let address = (self.endpoint.host.as_str(), self.endpoint.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::other("host resolves to no address"))?;
        let stream = TcpStream::connect_timeout(&address, IO_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(BufReader::with_capacity(16 * 1024, stream))
    }
}

/// An I/O failure, split by whether any response byte had arrived.
#[derive(Debug)]
enum Failure {
    BeforeResponse(io::Error),
    DuringResponse(io::Error),
}

impl Failure {
    fn into_io(self) -> io::Error {
        match self {
            Self::BeforeResponse(error) | Self::DuringResponse(error) => error,
        }
    }
}

/// Reads one response; returns it and whether the connection may be reused.
fn read_response<R: BufRead>(reader: &mut R) -> Result<(Response, bool), Failure> {
    let mut head = read_head(reader).map_err(|error| match error {
        ReadError::BeforeResponse(error) => Failure::BeforeResponse(error),
        ReadError::DuringResponse(error) => Failure::DuringResponse(error),
    })?;
    let body = read_body(reader, &mut head, BodyLimit::Snippet(BODY_SNIPPET_BYTES))
        .map_err(Failure::DuringResponse)?;
    let body_snippet = if (200..300).contains(&head.status) {
        String::new()
    } else {
        String::from_utf8_lossy(&body).trim().to_owned()
    };
    Ok((
        Response {
            status: head.status,
            body_snippet,
        },
        head.keep_alive,
    ))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::net::TcpListener;
    use std::thread;

    use std::io::Read;

    use super::*;
    use crate::http1::read_line;

    fn parse_response(raw: &str) -> (Response, bool) {
        read_response(&mut Cursor::new(raw.as_bytes().to_vec())).unwrap()
    }

    #[test]
    fn urls_split_into_host_port_and_path() {
        let endpoint = Endpoint::parse("http://127.0.0.1:8428/api/v1/write").unwrap();
        assert_eq!(endpoint.host, "127.0.0.1");
        assert_eq!(endpoint.port, 8428);
        assert_eq!(endpoint.path, "/api/v1/write");
        let endpoint = Endpoint::parse("http://[::1]:9090").unwrap();
        assert_eq!((endpoint.host.as_str(), endpoint.port), ("::1", 9090));
        assert_eq!(endpoint.path, "/");
        assert_eq!(Endpoint::parse("http://example").unwrap().port, 80);
        assert!(Endpoint::parse("https://example/").is_err());
        assert!(Endpoint::parse("http://:80/").is_err());
        assert!(Endpoint::parse("http://h:port/").is_err());
    }

    #[test]
    fn responses_with_length_chunks_or_close_parse() {
        let (response, keep) = parse_response("HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n");
        assert_eq!(response.status, 204);
        assert!(keep);
        let (response, keep) =
            parse_response("HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nerr!\n");
        assert_eq!(
            (response.status, response.body_snippet.as_str()),
            (400, "err!")
        );
        assert!(keep);
        let (response, _) = parse_response(
            "HTTP/1.1 429 Too Many\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        );
        assert_eq!(response.body_snippet, "abcde");
        let (response, keep) = parse_response("HTTP/1.0 500 Oops\r\n\r\nboom");
        assert_eq!(
            (response.status, response.body_snippet.as_str()),
            (500, "boom")
        );
        assert!(!keep);
        let (_, keep) =
            parse_response("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        assert!(!keep);
    }

    #[test]
    fn truncated_responses_are_errors_not_panics() {
        for raw in [
            "",
            "HTTP/1.1",
            "HTTP/1.1 abc OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
        ] {
            assert!(
                read_response(&mut Cursor::new(raw.as_bytes().to_vec())).is_err(),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn a_connection_is_kept_alive_and_reopened_after_close() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // The server answers two requests on its first connection, then closes it; the
        // third request must arrive on a second connection.
        let server = thread::spawn(move || {
            let mut connections = 0;
            let mut bodies = Vec::new();
            for stream in listener.incoming().take(2) {
                connections += 1;
                let stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                let answers = if connections == 1 { 2 } else { 1 };
                for _ in 0..answers {
                    let mut length = 0;
                    let mut line = Vec::new();
                    loop {
                        let header = read_line(&mut reader, &mut line).unwrap();
                        if header.is_empty() {
                            break;
                        }
                        if let Some(value) = header.strip_prefix("Content-Length: ") {
                            length = value.parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    bodies.push(body);
                    writer
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                }
            }
            (connections, bodies)
        });
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/push")).unwrap();
        let mut connection = Connection::new(endpoint, &[("X-Scope-OrgID", "t")]);
        for body in [&b"one"[..], b"two", b"three"] {
            assert_eq!(connection.post(body).unwrap().status, 200);
        }
        let (connections, bodies) = server.join().unwrap();
        assert_eq!(connections, 2);
        assert_eq!(
            bodies,
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
    }
}
