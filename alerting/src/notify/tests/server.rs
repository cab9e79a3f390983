//! A small HTTP/1.1 server for the tests: records every request and answers as told.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How to answer a request.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// Read the request, never answer, keep the connection open.
    Hang,
}

#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

pub struct Server {
    pub addr: SocketAddr,
    rx: mpsc::UnboundedReceiver<Request>,
    count: Arc<AtomicUsize>,
}

type ReplyFn = dyn Fn(usize) -> Reply + Send + Sync;

impl Server {
    /// Serves on a free port; `reply` gets the index of each request (from 0, over all
    /// connections).
    pub async fn start(reply: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let count = Arc::new(AtomicUsize::new(0));
        let reply: Arc<ReplyFn> = Arc::new(reply);
        let c = count.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(connection(s, tx.clone(), c.clone(), reply.clone()));
            }
        });
        Server { addr, rx, count }
    }

    /// A server that accepts everything.
    pub async fn ok() -> Server {
        Server::start(|_| Reply::Status(200)).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next request, failing the test if none comes within `within`.
    pub async fn next(&mut self, within: Duration) -> Request {
        match self.try_next(within).await {
            Some(r) => r,
            None => panic!("no request to {} within {within:?}", self.addr),
        }
    }

    pub async fn try_next(&mut self, within: Duration) -> Option<Request> {
        tokio::time::timeout(within, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// Requests received so far, answered or not.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

/// An address where nothing listens (connections are refused).
pub async fn refused_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

async fn connection(
    mut s: TcpStream,
    tx: mpsc::UnboundedSender<Request>,
    count: Arc<AtomicUsize>,
    reply: Arc<ReplyFn>,
) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if !read_more(&mut s, &mut buf).await {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or("").split(' ');
        let method = first.next().unwrap_or("").to_string();
        let path = first.next().unwrap_or("").to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            if !read_more(&mut s, &mut buf).await {
                return;
            }
        }
        let body = buf[head_end..head_end + len].to_vec();
        buf.drain(..head_end + len);
        let index = count.fetch_add(1, Ordering::SeqCst);
        let answer = reply(index);
        let _ = tx.send(Request {
            method,
            path,
            headers,
            body,
        });
        match answer {
            Reply::Status(code) => {
                let resp = format!("HTTP/1.1 {code} Status\r\ncontent-length: 0\r\n\r\n");
                if s.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
            }
            Reply::Hang => {
                std::future::pending::<()>().await;
            }
        }
    }
}

async fn read_more(s: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut tmp = [0u8; 8192];
    match s.read(&mut tmp).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&tmp[..n]);
            true
        }
    }
}
