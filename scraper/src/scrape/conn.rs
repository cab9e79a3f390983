//! A target's own HTTP/1.1 connection, for plain-HTTP scrapes without a proxy.
//!
//! A scrape loop fetches from one target, one scrape at a time, so it keeps one connection
//! open across scrapes and needs no pool. Between scrapes an idle connection is only its
//! socket: the request is written from a small buffer and the response is read straight into
//! the scrape's body buffer (its head parsed there, a chunked body decoded in place), so no
//! read or write buffer, request channel or connection task stays behind per target (a
//! general-purpose client connection kept about 45 KB of those per target). Only `GET` with a
//! `200`, a redirect (handed back) or an error status is needed here, not HTTP in general.
//!
//! HTTPS targets, proxies and redirects go through the job's `reqwest` client instead.

use std::io::Write;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::ScrapeError;
use super::fetch::{bad_status, format_of, http_error, too_large};
use crate::http_client::USER_AGENT;
use crate::textparse::Format;

/// The longest response head read (status line and header lines).
const MAX_HEAD: usize = 64 * 1024;

/// At least this much room is made in the buffer before each read.
const READ_STEP: usize = 16 * 1024;

/// How long opening a connection may take (the scrape's own timeout still bounds it).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a fetch over the connection came to.
pub(super) enum Fetched {
    /// The body is in the buffer.
    Body(Format),
    /// The target redirected and the job follows redirects: fetch through the client.
    Redirect,
}

#[derive(Default)]
pub(super) struct TargetConn {
    /// The open connection and the `host:port` it goes to.
    open: Option<(TcpStream, String)>,
}

/// How the body of a response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    /// At the end of the connection.
    Close,
}

/// What the response head says.
struct Head {
    status: u16,
    framing: Framing,
    gzip: bool,
    format: Format,
    /// The connection can carry the next request once the body is read.
    reusable: bool,
}

/// Why an exchange over a kept connection produced nothing.
enum Failure {
    /// Not a byte of response came back (the target had closed the idle connection): the
    /// request, a `GET`, may go again over a new one.
    Nothing(String),
    Failed(ScrapeError),
}

impl From<ScrapeError> for Failure {
    fn from(e: ScrapeError) -> Self {
        Failure::Failed(e)
    }
}

impl TargetConn {
    /// Whether `req` can go over a target connection: plain HTTP, and no proxy configured.
    pub(super) fn applies(req: &reqwest::Request, proxy: bool) -> bool {
        !proxy && req.url().scheme() == "http" && req.url().host_str().is_some()
    }

    /// Fetches `req` (built by the job's client, so it carries the job's headers) into `buf`.
    /// A body longer than `limit` after gzip decoding fails the scrape. The caller bounds the
    /// whole exchange with the scrape timeout (a fetch cut short drops its connection).
    pub(super) async fn fetch(
        &mut self,
        req: &reqwest::Request,
        follow_redirects: bool,
        limit: u64,
        buf: &mut Vec<u8>,
    ) -> Result<Fetched, ScrapeError> {
        let url = req.url();
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(80);
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        // `host_str` keeps an IPv6 address in brackets.
        let addr = format!("{host}:{port}");
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let request = request_bytes(&target, &authority, req.headers());
        buf.clear();
        let (mut stream, head) = self.send(&addr, &request, buf).await?;
        if head.status != 200 {
            // The body is not read: the connection is not reused.
            let status = StatusCode::from_u16(head.status)
                .map_or_else(|_| head.status.to_string(), |s| s.to_string());
            if follow_redirects && (300..400).contains(&head.status) {
                return Ok(Fetched::Redirect);
            }
            return Err(bad_status(status));
        }
        let raw_limit = if head.gzip { u64::MAX } else { limit };
        read_body(&mut stream, head.framing, raw_limit, buf).await?;
        if head.gzip {
            gunzip(buf, limit)?;
        }
        if head.reusable {
            self.open = Some((stream, addr));
        }
        Ok(Fetched::Body(head.format))
    }

    /// Sends over the open connection, or a new one, and reads the response head; the start
    /// of the body is then in `buf`. A kept connection the target has closed meanwhile gives
    /// back nothing; the request then goes once more over a new connection.
    async fn send(
        &mut self,
        addr: &str,
        request: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(TcpStream, Head), ScrapeError> {
        if let Some((s, to)) = self.open.take()
            && to == addr
        {
            match exchange(s, request, buf).await {
                Ok(r) => return Ok(r),
                Err(Failure::Failed(e)) => return Err(e),
                Err(Failure::Nothing(_)) => buf.clear(),
            }
        }
        let s = connect(addr).await?;
        match exchange(s, request, buf).await {
            Ok(r) => Ok(r),
            Err(Failure::Failed(e)) => Err(e),
            Err(Failure::Nothing(why)) => Err(http_error(format!("{why} ({addr})"))),
        }
    }
}

async fn connect(addr: &str) -> Result<TcpStream, ScrapeError> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| http_error(format!("connecting to {addr}: timed out")))?
        .map_err(|e| http_error(format!("connecting to {addr}: {e}")))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// `GET target HTTP/1.1` with the scrape's headers and then the request's own.
fn request_bytes(target: &str, authority: &str, headers: &HeaderMap) -> Vec<u8> {
    let mut r = Vec::with_capacity(256);
    let _ = write!(
        r,
        "GET {target} HTTP/1.1\r\nhost: {authority}\r\nuser-agent: {USER_AGENT}\r\naccept-encoding: gzip\r\n"
    );
    for (k, v) in headers {
        r.extend_from_slice(k.as_str().as_bytes());
        r.extend_from_slice(b": ");
        // A header value holds no CR or LF (`HeaderValue` refuses them).
        r.extend_from_slice(v.as_bytes());
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"\r\n");
    r
}

/// Reads from `s` into `buf`'s spare room (made at least [`READ_STEP`] first); 0 at the end
/// of the connection.
async fn read_more(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    if buf.capacity() - buf.len() < READ_STEP {
        buf.reserve(READ_STEP);
    }
    s.read_buf(buf).await
}

/// Writes `request` and reads the response head into `buf`, leaving the bytes after it there.
async fn exchange(
    mut s: TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> Result<(TcpStream, Head), Failure> {
    if let Err(e) = s.write_all(request).await {
        return Err(Failure::Nothing(format!("sending the request: {e}")));
    }
    loop {
        match parse_head(buf)? {
            Some((len, head)) if (100..200).contains(&head.status) => {
                // An interim answer (100 Continue): the final one follows.
                buf.drain(..len);
            }
            Some((len, head)) => {
                buf.drain(..len);
                return Ok((s, head));
            }
            None => {
                if buf.len() > MAX_HEAD {
                    return Err(http_error(format!(
                        "the response head is longer than {MAX_HEAD} bytes"
                    ))
                    .into());
                }
                match read_more(&mut s, buf).await {
                    Ok(0) if buf.is_empty() => {
                        return Err(Failure::Nothing(
                            "the connection closed before any response".into(),
                        ));
                    }
                    Ok(0) => {
                        return Err(http_error(
                            "the connection closed within the response head".into(),
                        )
                        .into());
                    }
                    Ok(_) => {}
                    Err(e) if buf.is_empty() => {
                        return Err(Failure::Nothing(format!("reading the response: {e}")));
                    }
                    Err(e) => {
                        return Err(http_error(format!("reading the response: {e}")).into());
                    }
                }
            }
        }
    }
}

/// The response head at the start of `buf` and its length, or `None` if it is not all there.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Head)>, ScrapeError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(http_error(format!("invalid response: {e}"))),
    };
    let status = resp.code.unwrap_or_default();
    let mut framing = Framing::Close;
    let mut chunked = false;
    let mut gzip = false;
    let mut close = resp.version != Some(1);
    let mut content_type = None;
    for h in resp.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or_default().trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<u64>()
                .map_err(|_| http_error(format!("invalid content-length {value:?}")))?;
            if matches!(framing, Framing::Length(m) if m != n) {
                return Err(http_error("conflicting content-length headers".into()));
            }
            framing = Framing::Length(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"));
        } else if h.name.eq_ignore_ascii_case("content-encoding") {
            gzip = value.eq_ignore_ascii_case("gzip");
        } else if h.name.eq_ignore_ascii_case("connection") {
            close |= value
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("close"));
        } else if h.name.eq_ignore_ascii_case(header::CONTENT_TYPE.as_str()) {
            content_type = Some(value);
        }
    }
    if chunked {
        // Chunked framing wins over a length (RFC 9112, 6.3).
        framing = Framing::Chunked;
    }
    Ok(Some((
        len,
        Head {
            status,
            framing,
            gzip,
            format: format_of(content_type),
            reusable: !close && framing != Framing::Close,
        },
    )))
}

/// Reads the rest of the body into `buf` (which holds its start), leaving only the body's
/// bytes there (a chunked body decoded in place).
async fn read_body(
    s: &mut TcpStream,
    framing: Framing,
    limit: u64,
    buf: &mut Vec<u8>,
) -> Result<(), ScrapeError> {
    let closed = || http_error("the connection closed before the body ended".into());
    let read_err = |e: std::io::Error| http_error(format!("reading the body: {e}"));
    // More than the response says: not a connection to trust with another request.
    let longer = || http_error("the response is longer than its content-length".into());
    match framing {
        Framing::Length(n) => {
            if n > limit {
                return Err(too_large(limit));
            }
            let n = n as usize;
            if buf.len() > n {
                return Err(longer());
            }
            buf.reserve_exact(n - buf.len());
            while buf.len() < n {
                if s.read_buf(buf).await.map_err(read_err)? == 0 {
                    return Err(closed());
                }
            }
            if buf.len() > n {
                return Err(longer());
            }
            Ok(())
        }
        Framing::Close => loop {
            let end = read_more(s, buf).await.map_err(read_err)? == 0;
            if buf.len() as u64 > limit {
                return Err(too_large(limit));
            }
            if end {
                return Ok(());
            }
        },
        Framing::Chunked => {
            let mut dec = Dechunk::default();
            loop {
                if dec.step(buf)? {
                    return if buf.len() as u64 > limit {
                        Err(too_large(limit))
                    } else {
                        Ok(())
                    };
                }
                if dec.out as u64 > limit {
                    return Err(too_large(limit));
                }
                if read_more(s, buf).await.map_err(read_err)? == 0 {
                    return Err(closed());
                }
            }
        }
    }
}

/// Decodes a chunked body in place: the data of the chunks moves to the front of the buffer,
/// over the framing already read.
#[derive(Default)]
struct Dechunk {
    /// Decoded bytes at the front of the buffer.
    out: usize,
    /// The next byte of framing or data not yet looked at.
    at: usize,
    state: ChunkState,
}

#[derive(Default, Clone, Copy)]
enum ChunkState {
    /// A size line is next.
    #[default]
    Size,
    /// This many bytes of data are still to come.
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// Trailer lines, up to an empty one.
    Trailers,
}

impl Dechunk {
    /// Decodes what `buf` holds; true (with `buf` cut to the decoded body) at the end of the
    /// body, false if more bytes are needed.
    fn step(&mut self, buf: &mut Vec<u8>) -> Result<bool, ScrapeError> {
        let bad = |what: &str| http_error(format!("invalid chunked body: {what}"));
        loop {
            match self.state {
                ChunkState::Size => {
                    let Some(eol) = find_crlf(&buf[self.at..]) else {
                        if buf.len() - self.at > 1024 {
                            return Err(bad("a size line longer than 1 KiB"));
                        }
                        return Ok(false);
                    };
                    let line = &buf[self.at..self.at + eol];
                    let digits = line.split(|&b| b == b';').next().unwrap_or_default();
                    let digits = std::str::from_utf8(digits).map_err(|_| bad("size"))?.trim();
                    let n = u64::from_str_radix(digits, 16).map_err(|_| bad("size"))?;
                    self.at += eol + 2;
                    self.state = if n == 0 {
                        ChunkState::Trailers
                    } else {
                        ChunkState::Data(n)
                    };
                }
                ChunkState::Data(n) => {
                    let have = (buf.len() - self.at) as u64;
                    let take = n.min(have) as usize;
                    buf.copy_within(self.at..self.at + take, self.out);
                    self.out += take;
                    self.at += take;
                    let left = n - take as u64;
                    if left > 0 {
                        self.state = ChunkState::Data(left);
                        // Room for reading: everything up to `at` is consumed framing or data
                        // already moved, so drop it instead of growing the buffer.
                        buf.drain(self.out..self.at);
                        self.at = self.out;
                        return Ok(false);
                    }
                    self.state = ChunkState::DataEnd;
                }
                ChunkState::DataEnd => {
                    if buf.len() - self.at < 2 {
                        return Ok(false);
                    }
                    if &buf[self.at..self.at + 2] != b"\r\n" {
                        return Err(bad("no CRLF after a chunk"));
                    }
                    self.at += 2;
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailers => {
                    let Some(eol) = find_crlf(&buf[self.at..]) else {
                        if buf.len() - self.at > MAX_HEAD {
                            return Err(bad("trailers longer than the longest head"));
                        }
                        return Ok(false);
                    };
                    self.at += eol + 2;
                    if eol == 0 {
                        if self.at != buf.len() {
                            return Err(bad("bytes after the last chunk"));
                        }
                        buf.truncate(self.out);
                        return Ok(true);
                    }
                }
            }
        }
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

/// Replaces the gzip data in `buf` with what it decodes to, failing past `limit` bytes.
fn gunzip(buf: &mut Vec<u8>, limit: u64) -> Result<(), ScrapeError> {
    let mut d = flate2::write::GzDecoder::new(Vec::with_capacity(buf.len() * 4));
    for part in buf.chunks(64 * 1024) {
        d.write_all(part)
            .map_err(|e| http_error(format!("gzip: {e}")))?;
        if d.get_ref().len() as u64 > limit {
            return Err(too_large(limit));
        }
    }
    *buf = d.finish().map_err(|e| http_error(format!("gzip: {e}")))?;
    if buf.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
