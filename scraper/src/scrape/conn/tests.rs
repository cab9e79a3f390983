//! The target connection against real HTTP/1.1 servers on 127.0.0.1 (raw sockets, so the
//! tests see every connection and every request byte).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::scrape::FailReason;

/// A server answering each request with `reply(request_head)`; closes a connection after
/// `per_conn` requests. Returns its address, the count of connections accepted, and the
/// request heads seen.
async fn server(
    per_conn: usize,
    reply: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static,
) -> (
    String,
    Arc<AtomicUsize>,
    Arc<parking_lot::Mutex<Vec<String>>>,
) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let conns = Arc::new(AtomicUsize::new(0));
    let heads = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let reply = Arc::new(reply);
    let (c, h) = (conns.clone(), heads.clone());
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            c.fetch_add(1, Ordering::SeqCst);
            let (reply, heads) = (reply.clone(), h.clone());
            tokio::spawn(async move {
                let mut pending = Vec::new();
                for _ in 0..per_conn {
                    let head = loop {
                        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8(pending[..i].to_vec()).unwrap();
                            pending.drain(..i + 4);
                            break head;
                        }
                        let mut b = [0u8; 4096];
                        match s.read(&mut b).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&b[..n]),
                        }
                    };
                    let out = reply(&head);
                    heads.lock().push(head);
                    if s.write_all(&out).await.is_err() {
                        return;
                    }
                }
                // Closing after the last answer, as a server with a request limit does.
            });
        }
    });
    (addr, conns, heads)
}

/// A 200 answer; `extra` header lines replace the default content type.
fn ok(body: &[u8], extra: &str) -> Vec<u8> {
    let ct = if extra.contains("content-type") {
        ""
    } else {
        "content-type: text/plain; version=0.0.4\r\n"
    };
    let mut v = format!(
        "HTTP/1.1 200 OK\r\n{ct}content-length: {}\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    v.extend_from_slice(body);
    v
}

/// A fetch of `url` that must fail: its error.
async fn failing(conn: &mut TargetConn, url: &str, follow: bool, limit: u64) -> ScrapeError {
    let client = reqwest::Client::new();
    conn.fetch(&request(&client, url), follow, limit, &mut Vec::new())
        .await
        .err()
        .expect("the fetch fails")
}

fn request(client: &reqwest::Client, url: &str) -> reqwest::Request {
    client
        .get(url)
        .header("x-test", "1")
        .basic_auth("user", Some("pw"))
        .build()
        .unwrap()
}

#[tokio::test]
async fn one_connection_serves_many_scrapes_and_a_closed_one_is_replaced() {
    let body = vec![b'x'; 100_000];
    let b2 = body.clone();
    // Three requests per connection, then the server closes it.
    let (addr, conns, heads) = server(3, move |_| ok(&b2, "")).await;
    let client = reqwest::Client::new();
    let mut conn = TargetConn::default();
    let url = format!("http://{addr}/metrics?a=1");
    for i in 0..7 {
        let mut buf = Vec::new();
        let got = conn
            .fetch(&request(&client, &url), true, 1 << 20, &mut buf)
            .await
            .unwrap_or_else(|e| panic!("scrape {i}: {e}"));
        assert!(matches!(got, Fetched::Body(Format::Text)));
        assert_eq!(buf, body);
    }
    // Seven scrapes over three connections: the two the server closed were replaced.
    assert_eq!(conns.load(Ordering::SeqCst), 3);
    let head = heads.lock()[0].to_ascii_lowercase();
    assert!(head.starts_with("get /metrics?a=1 http/1.1\r\n"), "{head}");
    for h in [
        format!("host: {addr}"),
        "x-test: 1".into(),
        "authorization: basic dxnlcjpwdw==".into(),
        "accept-encoding: gzip".into(),
        "user-agent: vane/".into(),
    ] {
        assert!(head.contains(&h), "{h:?} missing from {head}");
    }
}

#[tokio::test]
async fn gzip_bodies_are_decoded_and_limits_apply_to_the_decoded_size() {
    let text = "a 1\n".repeat(10_000);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let packed = gz.finish().unwrap();
    let (addr, _, _) = server(100, move |_| {
        ok(
            &packed,
            "content-encoding: gzip\r\ncontent-type: application/openmetrics-text; version=1.0.0\r\n",
        )
    })
    .await;
    let client = reqwest::Client::new();
    let mut conn = TargetConn::default();
    let url = format!("http://{addr}/m");
    let mut buf = Vec::new();
    let got = conn
        .fetch(&request(&client, &url), true, 1 << 20, &mut buf)
        .await
        .unwrap();
    assert!(matches!(got, Fetched::Body(Format::OpenMetrics)));
    assert_eq!(buf, text.as_bytes());
    // The packed body is small; decoded it is over the limit.
    let e = conn
        .fetch(&request(&client, &url), true, 1000, &mut buf)
        .await
        .err()
        .unwrap();
    assert_eq!(e.reason, FailReason::BodyTooLarge);
    // And the connection still works afterwards (a new one).
    conn.fetch(&request(&client, &url), true, 1 << 20, &mut buf)
        .await
        .unwrap();
    assert_eq!(buf, text.as_bytes());
}

#[tokio::test]
async fn statuses_redirects_and_refused_connections() {
    let (addr, _, _) = server(100, |head| {
        if head.starts_with("GET /moved") {
            b"HTTP/1.1 302 Found\r\nlocation: /m\r\ncontent-length: 0\r\n\r\n".to_vec()
        } else {
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\nboom".to_vec()
        }
    })
    .await;
    let client = reqwest::Client::new();
    let mut conn = TargetConn::default();
    let mut buf = Vec::new();
    let moved = format!("http://{addr}/moved");
    let r = conn
        .fetch(&request(&client, &moved), true, 1 << 20, &mut buf)
        .await
        .unwrap();
    assert!(matches!(r, Fetched::Redirect));
    let e = failing(&mut conn, &moved, false, 1 << 20).await;
    assert!(e.msg.contains("HTTP status 302"), "{}", e.msg);
    let e = failing(&mut conn, &format!("http://{addr}/x"), true, 1 << 20).await;
    assert!(e.msg.contains("HTTP status 500"), "{}", e.msg);
    // Nothing listens on a port just freed.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = l.local_addr().unwrap();
    drop(l);
    let e = failing(&mut conn, &format!("http://{dead}/m"), true, 1 << 20).await;
    assert_eq!(e.reason, FailReason::Http);
    assert!(e.msg.contains("connecting to"), "{}", e.msg);
}

/// A server that answers every request on a connection with `reply`, written `piece` bytes at
/// a time with pauses between (so the client sees it across many reads), and then closes the
/// connection if `close`.
async fn trickling_server(reply: Vec<u8>, piece: usize, close: bool) -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let conns = Arc::new(AtomicUsize::new(0));
    let c = conns.clone();
    let reply = Arc::new(reply);
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            c.fetch_add(1, Ordering::SeqCst);
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut pending = Vec::new();
                loop {
                    while !pending.windows(4).any(|w| w == b"\r\n\r\n") {
                        let mut b = [0u8; 4096];
                        match s.read(&mut b).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&b[..n]),
                        }
                    }
                    pending.clear();
                    for (i, p) in reply.chunks(piece).enumerate() {
                        if s.write_all(p).await.is_err() {
                            return;
                        }
                        if i % 64 == 63 {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        } else {
                            tokio::task::yield_now().await;
                        }
                    }
                    if close {
                        return;
                    }
                }
            });
        }
    });
    (addr, conns)
}

async fn fetch_ok(conn: &mut TargetConn, url: &str, limit: u64) -> Vec<u8> {
    let client = reqwest::Client::new();
    let mut buf = Vec::new();
    let got = conn
        .fetch(&request(&client, url), true, limit, &mut buf)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert!(matches!(got, Fetched::Body(Format::Text)));
    buf
}

#[tokio::test]
async fn chunked_bodies_are_decoded_across_reads_and_the_connection_kept() {
    // Chunks of several sizes, a chunk extension, a trailer, after an interim answer.
    let body: Vec<u8> = (0..50_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut reply =
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    let mut rest = &body[..];
    for (i, size) in [1usize, 7, 4096, 20_000, 100_000].into_iter().enumerate() {
        let n = size.min(rest.len());
        let ext = if i == 2 { ";name=value" } else { "" };
        reply.extend_from_slice(format!("{n:x}{ext}\r\n").as_bytes());
        reply.extend_from_slice(&rest[..n]);
        reply.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    reply.extend_from_slice(b"0\r\nx-trailer: 1\r\n\r\n");
    for piece in [3, 1000, reply.len()] {
        let (addr, conns) = trickling_server(reply.clone(), piece, false).await;
        let mut conn = TargetConn::default();
        let url = format!("http://{addr}/m");
        for _ in 0..3 {
            assert_eq!(
                fetch_ok(&mut conn, &url, 1 << 20).await,
                body,
                "pieces of {piece}"
            );
        }
        assert_eq!(conns.load(Ordering::SeqCst), 1, "pieces of {piece}");
        // The limit applies to the decoded body.
        let e = failing(&mut conn, &url, true, 40_000).await;
        assert_eq!(e.reason, FailReason::BodyTooLarge);
    }
}

#[tokio::test]
async fn a_body_that_ends_with_the_connection_and_a_connection_closed_by_the_target() {
    let body = b"a 1\nb 2\n".repeat(1000);
    // No length: the body ends when the target closes (HTTP/1.0 style).
    let mut reply = b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\n".to_vec();
    reply.extend_from_slice(&body);
    let (addr, conns) = trickling_server(reply, 1500, true).await;
    let mut conn = TargetConn::default();
    let url = format!("http://{addr}/m");
    assert_eq!(fetch_ok(&mut conn, &url, 1 << 20).await, body);
    assert_eq!(fetch_ok(&mut conn, &url, 1 << 20).await, body);
    assert_eq!(conns.load(Ordering::SeqCst), 2, "not reused");
    let e = failing(&mut conn, &url, true, 100).await;
    assert_eq!(e.reason, FailReason::BodyTooLarge);

    // `connection: close` with a length: read by its length, not reused.
    let (addr, conns, _) = server(100, move |_| ok(b"a 1\n", "connection: close\r\n")).await;
    let url = format!("http://{addr}/m");
    for _ in 0..2 {
        assert_eq!(fetch_ok(&mut conn, &url, 1 << 20).await, b"a 1\n");
    }
    assert_eq!(conns.load(Ordering::SeqCst), 2);
}

/// A fetch of `/m` from `addr` over a new connection that must fail: its error.
async fn failing_fresh(addr: &str) -> ScrapeError {
    let url = format!("http://{addr}/m");
    failing(&mut TargetConn::default(), &url, true, 1 << 20).await
}

#[tokio::test]
async fn broken_responses_fail_the_scrape_with_a_reason() {
    let cases: [(&[u8], &str); 6] = [
        (b"SMTP ready\r\n\r\n", "invalid response"),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc",
            "closed before the body ended",
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n",
            "invalid content-length",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            "invalid chunked body",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcXY",
            "no CRLF",
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-len",
            "closed within the response head",
        ),
    ];
    for (reply, want) in cases {
        let (addr, _) = trickling_server(reply.to_vec(), 5, true).await;
        let e = failing_fresh(&addr).await;
        assert_eq!(e.reason, FailReason::Http, "{want}");
        assert!(e.msg.contains(want), "{want:?} not in {:?}", e.msg);
    }
    // A target that accepts and closes at once.
    let (addr, _) = trickling_server(Vec::new(), 5, true).await;
    let e = failing_fresh(&addr).await;
    assert!(e.msg.contains("closed before any response"), "{}", e.msg);
    // More than the length says, in one write.
    let (addr, _, _) = server(100, |_| {
        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabcdef".to_vec()
    })
    .await;
    let e = failing_fresh(&addr).await;
    assert!(
        e.msg.contains("longer than its content-length"),
        "{}",
        e.msg
    );
    // A length over the limit fails before the body is read.
    let (addr, _, _) = server(100, |_| {
        b"HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n".to_vec()
    })
    .await;
    let e = failing_fresh(&addr).await;
    assert_eq!(e.reason, FailReason::BodyTooLarge);
}
