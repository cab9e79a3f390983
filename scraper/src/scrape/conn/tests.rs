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
