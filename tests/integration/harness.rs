//! Boots the real `vane` binary on a free port of 127.0.0.1 with its own data directory,
//! speaks plain HTTP/1.1 to it, and kills it when dropped. Every wait is bounded.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const VANE: &str = env!("CARGO_BIN_EXE_vane");

/// A free TCP port on 127.0.0.1 (the OS picks it; the listener is closed again).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `vane` with `args` to completion (bounded to 60 s). Output is drained while it runs,
/// so a command that prints a lot cannot block on a full pipe.
pub fn vane(args: &[&str]) -> Output {
    let child = Command::new(VANE)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vane starts");
    output_within(child, 60, &format!("vane {args:?}"))
}

/// Waits for `child` (spawned with piped output) and its output, draining the pipes while it
/// runs; kills it and panics naming `what` after `secs` seconds.
pub fn output_within(child: Child, secs: u64, what: &str) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{what} did not finish within {secs} s");
        }
    }
}

/// A response: status code, headers (lower-cased names), body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request with `Connection: close`.
pub fn http(addr: &str, method: &str, path: &str) -> std::io::Result<Response> {
    request(addr, method, path, None)
}

/// A POST of an `application/x-www-form-urlencoded` body.
pub fn post_form(addr: &str, path: &str, form: &str) -> std::io::Result<Response> {
    request(
        addr,
        "POST",
        path,
        Some(("application/x-www-form-urlencoded", form)),
    )
}

/// One HTTP/1.1 request with an optional `(content type, body)`.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<(&str, &str)>,
) -> std::io::Result<Response> {
    let mut s = TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    match body {
        None => write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )?,
        Some((ct, b)) => write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )?,
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect::<Vec<_>>();
    let body = if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v == "chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A running daemon.
pub struct Vane {
    pub child: Child,
    pub addr: String,
    pub data: PathBuf,
    pub log: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Vane {
    /// Starts `vane run` on a fresh data directory and waits until it is ready.
    pub fn start(extra: &[&str]) -> Vane {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let mut v = Self::start_in(&data, extra);
        v._tmp = Some(tmp);
        v
    }

    /// Starts `vane run` on `data` (kept by the caller).
    pub fn start_in(data: &Path, extra: &[&str]) -> Vane {
        let v = Self::spawn(data, extra);
        v.wait_ready();
        v
    }

    /// Spawns without waiting.
    pub fn spawn(data: &Path, extra: &[&str]) -> Vane {
        let addr = format!("127.0.0.1:{}", free_port());
        let log = data.with_extension(format!("{}.log", addr.replace(':', "_")));
        std::fs::create_dir_all(data.parent().unwrap()).unwrap();
        let stderr = std::fs::File::create(&log).unwrap();
        let mut args = vec![
            "run".to_string(),
            format!("--web.listen-address={addr}"),
            format!("--storage.tsdb.path={}", data.display()),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new(VANE)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        Vane {
            child,
            addr,
            data: data.to_path_buf(),
            log,
            _tmp: None,
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `/-/ready` for up to 30 s.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = http(&self.addr, "GET", "/-/ready")
                && r.status == 200
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "vane did not become ready within 30 s; log:\n{}",
            self.logs()
        );
    }

    pub fn get(&self, path: &str) -> Response {
        http(&self.addr, "GET", path).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// The value of an unlabelled sample on `/metrics`.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let body = self.get("/metrics").body;
        body.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
    }

    /// Sends a signal (by name, e.g. "TERM", "KILL") and waits up to 20 s for the exit.
    pub fn signal_and_wait(&mut self, sig: &str) -> ExitStatus {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{sig} failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "vane did not exit within 20 s after SIG{sig}; log:\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Vane {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
