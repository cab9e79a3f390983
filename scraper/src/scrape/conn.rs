//! A target's own HTTP/1.1 connection, for plain-HTTP scrapes without a proxy.
//!
//! A scrape loop fetches from one target, one scrape at a time, so it keeps one connection
//! open across scrapes and needs no pool. The connection reads through a buffer of at most
//! [`READ_BUF_MAX`] bytes: a pooled client connection keeps the read buffer its largest
//! response grew (up to about 400 KB, which with bodies of 100 KB and more is over a hundred
//! bytes per scraped series, for as long as the connection is idle), while reading a body in
//! 16 KB steps costs a few more system calls per scrape.
//!
//! HTTPS targets, proxies and redirects go through the job's `reqwest` client instead.

use std::io::Write;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::{Builder, SendRequest};
use hyper::header;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::ScrapeError;
use super::fetch::{bad_status, chain, format_of, http_error, too_large};
use crate::http_client::USER_AGENT;
use crate::textparse::Format;

/// The most a connection's read buffer grows to (hyper's smallest allowed maximum is 8 KiB).
pub(super) const READ_BUF_MAX: usize = 16 * 1024;

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
    open: Option<(SendRequest<Empty<Bytes>>, String)>,
}

impl TargetConn {
    /// Whether `req` can go over a target connection: plain HTTP, and no proxy configured.
    pub(super) fn applies(req: &reqwest::Request, proxy: bool) -> bool {
        !proxy && req.url().scheme() == "http" && req.url().host_str().is_some()
    }

    /// Fetches `req` (built by the job's client, so it carries the job's headers) into `buf`.
    /// A body longer than `limit` after gzip decoding fails the scrape. The caller bounds the
    /// whole exchange with the scrape timeout.
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
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let make = || -> Result<Request<Empty<Bytes>>, ScrapeError> {
            let mut b = Request::get(path.as_str())
                .header(header::HOST, authority.as_str())
                .header(header::USER_AGENT, USER_AGENT)
                .header(header::ACCEPT_ENCODING, "gzip");
            for (k, v) in req.headers() {
                b = b.header(k, v);
            }
            b.body(Empty::new())
                .map_err(|e| http_error(format!("invalid request: {e}")))
        };
        let resp = self.send(&addr, make).await?;
        let status = resp.status();
        if status != StatusCode::OK {
            // The body is not read: the connection is not reused.
            self.open = None;
            if follow_redirects && status.is_redirection() {
                return Ok(Fetched::Redirect);
            }
            return Err(bad_status(status));
        }
        let format = format_of(
            resp.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
        let gzip = resp
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let mut body = resp.into_body();
        let mut gz = gzip.then(|| flate2::write::GzDecoder::new(std::mem::take(buf)));
        let read = async {
            while let Some(frame) = body.frame().await {
                let frame =
                    frame.map_err(|e| http_error(format!("reading the body: {}", chain(&e))))?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let len = match &mut gz {
                    Some(d) => {
                        d.write_all(&data)
                            .map_err(|e| http_error(format!("gzip: {e}")))?;
                        d.get_ref().len()
                    }
                    None => {
                        buf.extend_from_slice(&data);
                        buf.len()
                    }
                };
                if len as u64 > limit {
                    return Err(too_large(limit));
                }
            }
            if let Some(d) = gz.take() {
                *buf = d.finish().map_err(|e| http_error(format!("gzip: {e}")))?;
                if buf.len() as u64 > limit {
                    return Err(too_large(limit));
                }
            }
            Ok(())
        };
        let r = read.await;
        if r.is_err() {
            // A body not read to its end leaves the connection unusable.
            self.open = None;
        }
        r.map(|()| Fetched::Body(format))
    }

    /// Sends over the open connection, or a new one. A kept connection the target has closed
    /// meanwhile fails before any response; the request (a GET, safe to repeat) then goes
    /// once more over a new connection.
    async fn send(
        &mut self,
        addr: &str,
        make: impl Fn() -> Result<Request<Empty<Bytes>>, ScrapeError>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, ScrapeError> {
        if let Some((mut s, to)) = self.open.take()
            && to == addr
            && s.ready().await.is_ok()
            && let Ok(resp) = s.send_request(make()?).await
        {
            self.open = Some((s, to));
            return Ok(resp);
        }
        let mut s = self.connect(addr).await?;
        let resp = s
            .send_request(make()?)
            .await
            .map_err(|e| http_error(format!("sending the request to {addr}: {}", chain(&e))))?;
        self.open = Some((s, addr.to_string()));
        Ok(resp)
    }

    async fn connect(&mut self, addr: &str) -> Result<SendRequest<Empty<Bytes>>, ScrapeError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| http_error(format!("connecting to {addr}: timed out")))?
            .map_err(|e| http_error(format!("connecting to {addr}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let (s, conn) = Builder::new()
            .max_buf_size(READ_BUF_MAX)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| http_error(format!("connecting to {addr}: {}", chain(&e))))?;
        tokio::spawn(async move {
            // Ends when the target closes the connection or the sender is dropped.
            let _ = conn.await;
        });
        Ok(s)
    }
}

#[cfg(test)]
mod tests;
