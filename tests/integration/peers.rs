//! Peers for scrape tests: a scrape target served from this process over real TCP on
//! 127.0.0.1, and real peer programs (node exporter, Prometheus) run as child processes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::{free_port, http};

/// A request as the target server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    /// The body, when the request gave a `Content-Length`.
    pub body: Vec<u8>,
}

/// What the target server answers.
pub enum Reply {
    /// Status, content type, body.
    Body(u16, &'static str, Vec<u8>),
    /// Sleeps this long before answering (a target that hangs).
    Hang(Duration),
    /// 200 with this many bytes of valid samples, streamed.
    Huge(u64),
    /// A text body sent gzip-compressed (`Content-Encoding: gzip`).
    Gzip(String),
}

impl Reply {
    pub fn text(body: &str) -> Reply {
        Reply::Body(200, "text/plain; version=0.0.4", body.as_bytes().to_vec())
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// An HTTP/1.1 server on a free port of 127.0.0.1, one thread per connection, counting the
/// requests per path. Stops when dropped.
pub struct TargetServer {
    pub addr: String,
    stop: Arc<AtomicBool>,
    pub hits: Arc<Mutex<HashMap<String, u64>>>,
}

impl TargetServer {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> TargetServer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let (s, h) = (stop.clone(), hits.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((conn, _)) => {
                        let (handler, h, s) = (handler.clone(), h.clone(), s.clone());
                        std::thread::spawn(move || serve(conn, &*handler, &h, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TargetServer { addr, stop, hits }
    }

    pub fn hits(&self, path: &str) -> u64 {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Drop for TargetServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(
    conn: TcpStream,
    handler: &Handler,
    hits: &Mutex<HashMap<String, u64>>,
    stop: &AtomicBool,
) {
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let method = line.split_whitespace().next().unwrap_or("").to_string();
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut body = vec![
        0;
        headers
            .get("content-length")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    ];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let base = path.split('?').next().unwrap_or("/").to_string();
    *hits.lock().unwrap().entry(base).or_default() += 1;
    let req = Request {
        method,
        path,
        headers,
        body,
    };
    let mut w = conn;
    match handler(&req) {
        Reply::Body(status, ct, body) => {
            let _ = write!(
                w,
                "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = w.write_all(&body);
        }
        Reply::Gzip(text) => {
            use flate2::write::GzEncoder;
            let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(text.as_bytes()).unwrap();
            let body = enc.finish().unwrap();
            let _ = write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = w.write_all(&body);
        }
        Reply::Hang(d) => {
            let end = Instant::now() + d;
            while Instant::now() < end && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Reply::Huge(n) => {
            let _ = write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n"
            );
            let line = b"huge_series_with_a_long_name_to_fill_bytes{label=\"value\"} 1\n";
            let mut sent = 0u64;
            while sent < n {
                let k = (n - sent).min(line.len() as u64) as usize;
                if w.write_all(&line[..k]).is_err() {
                    return;
                }
                sent += k as u64;
            }
        }
    }
    let _ = w.flush();
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
}

/// A peer program, killed when dropped.
pub struct Peer {
    pub child: Child,
    pub addr: String,
}

impl Peer {
    /// Spawns `program` with `args` (`{addr}` is replaced by a free 127.0.0.1 address).
    fn spawn(program: &str, args: &[&str], log: &Path) -> Peer {
        let addr = format!("127.0.0.1:{}", free_port());
        let args: Vec<String> = args.iter().map(|a| a.replace("{addr}", &addr)).collect();
        let child = Command::new(program)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {program} (is it installed? .ci/run installs it): {e}")
            });
        Peer { child, addr }
    }

    /// Starts a peer and waits up to 30 s until `ready_path` answers 200.
    pub fn start(program: &str, args: &[&str], ready_path: &str, log: &Path) -> Peer {
        let p = Self::spawn(program, args, log);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http(&p.addr, "GET", ready_path).is_ok_and(|r| r.status == 200) {
                return p;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{program} did not become ready; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    /// Like [`Peer::start`], for peers that do not speak plain HTTP (TLS): ready once the port
    /// accepts connections.
    pub fn start_tcp(program: &str, args: &[&str], log: &Path) -> Peer {
        let p = Self::spawn(program, args, log);
        wait_for(30, "the peer's port", || {
            TcpStream::connect(&p.addr).is_ok()
        });
        p
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One line of `vane tsdb dump`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dumped {
    pub series: String,
    pub value: String,
    pub t: i64,
}

/// Runs `vane tsdb dump` on a stopped store.
pub fn dump(data: &Path, name_regex: &str) -> Vec<Dumped> {
    let out = crate::harness::vane(&[
        "tsdb",
        "dump",
        &format!("--storage.tsdb.path={}", data.display()),
        &format!("--match={name_regex}"),
    ]);
    assert!(
        out.status.success(),
        "dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let close = l.rfind('}').unwrap();
            let mut rest = l[close + 1..].split_whitespace();
            Dumped {
                series: l[..=close].to_string(),
                value: rest.next().unwrap().to_string(),
                t: rest.next().unwrap().parse().unwrap(),
            }
        })
        .collect()
}

/// The values of series named `name` of job `job`, in dump order.
pub fn values_of(samples: &[Dumped], name: &str, job: &str) -> Vec<String> {
    let (head, job) = (format!("{{__name__=\"{name}\""), format!("job=\"{job}\""));
    samples
        .iter()
        .filter(|s| s.series.starts_with(&head) && s.series.contains(&job))
        .map(|s| s.value.clone())
        .collect()
}

/// Polls `f` every 100 ms for up to `secs` seconds; panics with `what` if it never holds.
pub fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {secs} s waiting for {what}");
}

/// Runs `cmd` (a peer's tool such as promtool), which must succeed; its standard output.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} does not run (.ci/run installs it): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// PEM files of a private CA and of a server certificate (EC P-256, valid two days) for
/// `name`, made with `openssl`.
pub struct TestCerts {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Writes [`TestCerts`] for the DNS name `name` into `dir`.
pub fn test_certs(dir: &Path, name: &str) -> TestCerts {
    let p = |n: &str| dir.join(n);
    std::fs::write(p("ext"), format!("subjectAltName=DNS:{name}\n")).unwrap();
    let path = |n: &str| p(n).display().to_string();
    let openssl = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("openssl does not run (.ci/run installs it): {e}"));
        assert!(ok.success(), "openssl {args:?}");
    };
    let new_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let (ca, ca_key) = (path("ca.pem"), path("ca.key"));
    let ca_args = ["req", "-x509", "-days", "2", "-subj", "/CN=vane-test-ca"];
    openssl(&[&ca_args[..], &new_key, &["-keyout", &ca_key, "-out", &ca]].concat());
    let (key, csr, cert) = (path("key.pem"), path("leaf.csr"), path("cert.pem"));
    let subject = format!("/CN={name}");
    openssl(
        &[
            &["req", "-subj", &subject][..],
            &new_key,
            &["-keyout", &key, "-out", &csr],
        ]
        .concat(),
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &path("ext"),
        "-out",
        &cert,
    ]);
    TestCerts {
        ca: p("ca.pem"),
        cert: p("cert.pem"),
        key: p("key.pem"),
    }
}
