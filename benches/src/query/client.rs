//! A blocking HTTP/1.1 `GET` client over one keep-alive connection that keeps whole response
//! bodies, for the query benchmark (the load generator's [`crate::loadgen::http`] client posts
//! bodies and keeps only the start of an answer; this one needs every byte to fingerprint it).
//!
//! Only `http://` and identity encoding (no `Accept-Encoding` is sent); bodies may be sized by
//! `Content-Length`, chunked, or delimited by the connection closing. Every read is bounded:
//! a socket timeout per operation and [`MAX_BODY_BYTES`] per body.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::http1::{BodyLimit, ReadError, read_body, read_head};
use crate::loadgen::http::Endpoint;

/// Largest body accepted (a bigger answer is an error, not an out-of-memory).
pub const MAX_BODY_BYTES: usize = 1 << 30;

/// A whole response: status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullResponse {
    /// HTTP status code.
    pub status: u16,
    /// The body, decoded from chunked transfer encoding if needed.
    pub body: Vec<u8>,
}

/// One keep-alive connection for `GET` requests to the host of an [`Endpoint`]; reconnects
/// when the server closed it.
#[derive(Debug)]
pub struct GetClient {
    endpoint: Endpoint,
    headers: Vec<(String, String)>,
    timeout: Duration,
    stream: Option<BufReader<TcpStream>>,
}

impl GetClient {
    /// A client for `endpoint`'s host that sends `headers` with every request and gives up on
    /// a socket operation after `timeout`. It connects on the first request.
    pub fn new(endpoint: Endpoint, headers: Vec<(String, String)>, timeout: Duration) -> Self {
        Self {
            endpoint,
            headers,
            timeout,
            stream: None,
        }
    }

    /// Sends `GET path_and_query` and reads the whole response. A request on a reused
    /// connection that fails before any response byte arrives is retried once on a new one.
    pub fn get(&mut self, path_and_query: &str) -> io::Result<FullResponse> {
        let reused = self.stream.is_some();
        match self.get_once(path_and_query) {
            Ok(response) => Ok(response),
            Err((error, before_response)) => {
                self.stream = None;
                if reused && before_response {
                    self.get_once(path_and_query).map_err(|(error, _)| {
                        self.stream = None;
                        error
                    })
                } else {
                    Err(error)
                }
            }
        }
    }

    /// One attempt; an error says whether it happened before any response byte was read.
    fn get_once(&mut self, path_and_query: &str) -> Result<FullResponse, (io::Error, bool)> {
        if self.stream.is_none() {
            self.stream = Some(self.connect().map_err(|error| (error, true))?);
        }
        let mut head = format!(
            "GET {path_and_query} HTTP/1.1\r\nHost: {}\r\nUser-Agent: norn-bench/{}\r\nAccept: application/json\r\n",
            self.endpoint.authority,
            env!("CARGO_PKG_VERSION")
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let Some(stream) = self.stream.as_mut() else {
            return Err((io::Error::other("no connection"), true));
        };
        stream
            .get_mut()
            .write_all(head.as_bytes())
            .map_err(|error| (error, true))?;
        let (response, keep_alive) = read_full_response(stream)?;
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
        let stream = TcpStream::connect_timeout(&address, self.timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        Ok(BufReader::with_capacity(64 * 1024, stream))
    }
}

/// Reads one response; returns it and whether the connection may be reused. An error says
/// whether it happened before the status line arrived.
pub(crate) fn read_full_response<R: BufRead>(
    reader: &mut R,
) -> Result<(FullResponse, bool), (io::Error, bool)> {
    let mut head = read_head(reader).map_err(|error| match error {
        ReadError::BeforeResponse(error) => (error, true),
        ReadError::DuringResponse(error) => (error, false),
    })?;
    let body = read_body(reader, &mut head, BodyLimit::Whole(MAX_BODY_BYTES))
        .map_err(|error| (error, false))?;
    Ok((
        FullResponse {
            status: head.status,
            body,
        },
        head.keep_alive,
    ))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::net::TcpListener;
    use std::thread;

    use super::*;

    fn parse(raw: &str) -> Result<(FullResponse, bool), (io::Error, bool)> {
        read_full_response(&mut Cursor::new(raw.as_bytes().to_vec()))
    }

    #[test]
    fn whole_bodies_are_kept_in_every_framing() {
        let (response, keep) =
            parse("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"a\":\"bcd\"}").unwrap();
        assert_eq!(
            (response.status, response.body.as_slice(), keep),
            (200, &b"{\"a\":\"bcd\"}"[..], true)
        );
        let (response, _) = parse(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(response.body, b"{\"a\":1}");
        let (response, keep) = parse("HTTP/1.0 422 Unprocessable\r\n\r\nrest of it").unwrap();
        assert_eq!(
            (response.status, response.body.as_slice(), keep),
            (422, &b"rest of it"[..], false)
        );
    }

    #[test]
    fn broken_responses_are_errors() {
        for raw in [
            "",
            "HTTP/1.1 abc\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
        ] {
            assert!(parse(raw).is_err(), "{raw:?}");
        }
        assert!(parse("").is_err_and(|(_, before)| before));
    }

    #[test]
    fn requests_reuse_the_connection_and_carry_headers() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            let mut heads = Vec::new();
            for answer in ["first", "second"] {
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                heads.push(head);
                write!(
                    writer,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{answer}",
                    answer.len()
                )
                .unwrap();
            }
            heads
        });
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/prometheus")).unwrap();
        let mut client = GetClient::new(
            endpoint,
            vec![("X-Scope-OrgID".to_owned(), "t".to_owned())],
            Duration::from_secs(5),
        );
        assert_eq!(client.get("/a?x=1").unwrap().body, b"first");
        assert_eq!(client.get("/b").unwrap().body, b"second");
        let heads = server.join().unwrap();
        assert!(
            heads[0].starts_with("GET /a?x=1 HTTP/1.1\r\n"),
            "{}",
            heads[0]
        );
        assert!(heads[1].contains("X-Scope-OrgID: t\r\n"), "{}", heads[1]);
    }
}
