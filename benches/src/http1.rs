//! Reading HTTP/1.1 responses off a blocking stream, shared by the load generator's POST client
//! ([`crate::loadgen::http`]) and the query benchmark's GET client ([`crate::query::client`]).
//!
//! A response is read in two steps: [`read_head`] takes the status line and the headers that
//! decide how the body is framed, then [`read_body`] reads a `Content-Length`, chunked or
//! close-delimited body under a [`BodyLimit`]. Every read is bounded (line length, header
//! count, body size), so a misbehaving server gives an error, never a hang on memory.

use std::io::{self, BufRead, Read};

/// Longest status line or header line accepted.
const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most header (or trailer) lines accepted in one response.
const MAX_HEADER_LINES: usize = 256;

/// The status and the framing of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ResponseHead {
    /// The status code.
    pub(crate) status: u16,
    /// `Content-Length`, when sent.
    pub(crate) content_length: Option<usize>,
    /// Whether the body uses chunked transfer encoding.
    pub(crate) chunked: bool,
    /// Whether the connection may carry another request afterwards.
    pub(crate) keep_alive: bool,
}

/// How much of a body to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyLimit {
    /// Keep the first `n` bytes and read past the rest (for error snippets).
    Snippet(usize),
    /// Keep every byte; a body over `n` bytes is an error.
    Whole(usize),
}

/// Why a response could not be read, split by whether any of it had arrived (a request on a
/// reused connection that failed before its response may be retried).
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Nothing of the response had arrived.
    BeforeResponse(io::Error),
    /// The response started and then failed.
    DuringResponse(io::Error),
}

/// Reads the status line and headers of one response.
pub(crate) fn read_head<R: BufRead>(reader: &mut R) -> Result<ResponseHead, ReadError> {
    let mut line = Vec::new();
    let status_line = read_line(reader, &mut line).map_err(ReadError::BeforeResponse)?;
    if status_line.is_empty() {
        return Err(ReadError::BeforeResponse(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before the response",
        )));
    }
    let during = ReadError::DuringResponse;
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or_default().to_owned();
    let status: u16 = parts
        .next()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| during(invalid_data(format!("bad status line {status_line:?}"))))?;
    let mut head = ResponseHead {
        status,
        content_length: None,
        chunked: false,
        keep_alive: version != "HTTP/1.0",
    };
    for _ in 0..MAX_HEADER_LINES {
        let header = read_line(reader, &mut line).map_err(during)?;
        if header.is_empty() {
            return Ok(head);
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            head.content_length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| during(invalid_data(format!("bad Content-Length {value:?}"))))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let value = value.to_ascii_lowercase();
            if value.contains("close") {
                head.keep_alive = false;
            } else if value.contains("keep-alive") {
                head.keep_alive = true;
            }
        }
    }
    Err(during(invalid_data("too many response headers".to_owned())))
}

/// Reads the body `head` announces. A close-delimited body clears `head.keep_alive`.
pub(crate) fn read_body<R: BufRead>(
    reader: &mut R,
    head: &mut ResponseHead,
    limit: BodyLimit,
) -> io::Result<Vec<u8>> {
    let mut body = Body::new(limit);
    if head.chunked {
        let mut line = Vec::new();
        loop {
            let size_line = read_line(reader, &mut line)?;
            let size_text = size_line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| invalid_data(format!("bad chunk size {size_line:?}")))?;
            if size == 0 {
                // Trailers end with an empty line; a bounded number of them is tolerated.
                for _ in 0..MAX_HEADER_LINES {
                    if read_line(reader, &mut line)?.is_empty() {
                        return Ok(body.kept);
                    }
                }
                return Err(invalid_data("too many trailers".to_owned()));
            }
            body.read_exact(reader, size)?;
            if !read_line(reader, &mut line)?.is_empty() {
                return Err(invalid_data("chunk not followed by CRLF".to_owned()));
            }
        }
    }
    if let Some(length) = head.content_length {
        body.read_exact(reader, length)?;
        return Ok(body.kept);
    }
    if head.status == 204 || head.status == 304 || (100..200).contains(&head.status) {
        return Ok(body.kept);
    }
    head.keep_alive = false;
    let mut chunk = [0u8; 8192];
    loop {
        let read = reader.read(&mut chunk)?;
        if read == 0 {
            return Ok(body.kept);
        }
        body.keep(&chunk[..read])?;
    }
}

/// A body being read under its limit.
struct Body {
    kept: Vec<u8>,
    limit: BodyLimit,
}

impl Body {
    fn new(limit: BodyLimit) -> Self {
        Self {
            kept: Vec::new(),
            limit,
        }
    }

    /// Keeps what the limit allows of `bytes`.
    fn keep(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.limit {
            BodyLimit::Snippet(max) => {
                let room = max.saturating_sub(self.kept.len());
                self.kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
            BodyLimit::Whole(max) => {
                if self.kept.len().saturating_add(bytes.len()) > max {
                    return Err(invalid_data(format!("body larger than {max} bytes")));
                }
                self.kept.extend_from_slice(bytes);
            }
        }
        Ok(())
    }

    /// Reads exactly `length` bytes, keeping what the limit allows.
    fn read_exact<R: Read>(&mut self, reader: &mut R, length: usize) -> io::Result<()> {
        if let BodyLimit::Whole(max) = self.limit
            && self.kept.len().saturating_add(length) > max
        {
            return Err(invalid_data(format!("body of {length} bytes is too large")));
        }
        let mut remaining = length;
        let mut chunk = [0u8; 8192];
        while remaining > 0 {
            let want = remaining.min(chunk.len());
            reader.read_exact(&mut chunk[..want])?;
            self.keep(&chunk[..want])?;
            remaining -= want;
        }
        Ok(())
    }
}

/// An `InvalidData` error with `message`.
pub(crate) fn invalid_data(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Reads one CRLF- (or LF-) terminated line without its terminator; empty at end of stream.
pub(crate) fn read_line<R: BufRead>(reader: &mut R, buffer: &mut Vec<u8>) -> io::Result<String> {
    buffer.clear();
    let read = reader
        .by_ref()
        .take(MAX_LINE_BYTES as u64)
        .read_until(b'\n', buffer)?;
    if read > 0 && buffer.last() != Some(&b'\n') {
        return Err(invalid_data("response line too long or cut".to_owned()));
    }
    while matches!(buffer.last(), Some(b'\n' | b'\r')) {
        buffer.pop();
    }
    Ok(String::from_utf8_lossy(buffer).into_owned())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn read(raw: &str, limit: BodyLimit) -> (ResponseHead, Vec<u8>) {
        let mut reader = Cursor::new(raw.as_bytes().to_vec());
        let mut head = read_head(&mut reader).unwrap();
        let body = read_body(&mut reader, &mut head, limit).unwrap();
        (head, body)
    }

    #[test]
    fn sized_chunked_and_close_delimited_bodies() {
        let (head, body) = read(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            BodyLimit::Whole(100),
        );
        assert_eq!(
            (head.status, head.keep_alive, body),
            (200, true, b"hello".to_vec())
        );
        let (_, body) = read(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            BodyLimit::Whole(100),
        );
        assert_eq!(body, b"abcde");
        let (head, body) = read("HTTP/1.1 500 Oops\r\n\r\nbroken", BodyLimit::Snippet(3));
        assert_eq!(
            (head.status, head.keep_alive, body),
            (500, false, b"bro".to_vec())
        );
    }

    #[test]
    fn limits_and_bad_framing_are_errors() {
        let mut reader = Cursor::new(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n".to_vec());
        let mut head = read_head(&mut reader).unwrap();
        assert!(read_body(&mut reader, &mut head, BodyLimit::Whole(10)).is_err());
        let mut reader = Cursor::new(b"".to_vec());
        assert!(matches!(
            read_head(&mut reader),
            Err(ReadError::BeforeResponse(_))
        ));
        let mut reader = Cursor::new(b"HTTP/1.1 abc\r\n\r\n".to_vec());
        assert!(matches!(
            read_head(&mut reader),
            Err(ReadError::DuringResponse(_))
        ));
    }
}
