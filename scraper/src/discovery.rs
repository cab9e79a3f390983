//! Service discovery: the target groups of one job from `static_configs`, `file_sd_configs`
//! and `http_sd_configs`.
//!
//! One task per job watches its providers and publishes the job's whole list of groups on a
//! `watch` channel whenever it changes. Files are checked every second and re-read when their
//! modification time or size changes (and every `refresh_interval` regardless); HTTP endpoints
//! are fetched every `refresh_interval`. A provider that fails keeps its last good groups, as
//! in Prometheus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::{FileSdConfig, HttpSdConfig, ScrapeConfig, TargetGroup};
use crate::http_client;

/// Label set on file-discovered groups: the file they came from.
pub const META_FILEPATH: &str = "__meta_filepath";
/// Label set on HTTP-discovered groups: the URL they came from.
pub const META_URL: &str = "__meta_url";

/// How often files are checked for changes.
const FILE_CHECK: Duration = Duration::from_secs(1);

/// Parses a file-SD or HTTP-SD document (a list of groups). JSON is a subset of YAML, but the
/// JSON parser gives better errors for JSON documents.
pub fn parse_groups(text: &str, json: bool) -> Result<Vec<TargetGroup>, String> {
    let groups: Vec<TargetGroup> = if json {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else {
        yaml_serde::from_str::<Option<Vec<TargetGroup>>>(text)
            .map_err(|e| e.to_string())?
            .unwrap_or_default()
    };
    for g in &groups {
        for t in &g.targets {
            if t.is_empty() || t.contains('/') || t.contains(char::is_whitespace) {
                return Err(format!("{t:?} is not a valid target address"));
            }
        }
    }
    Ok(groups)
}

/// The files a pattern names now: a `*` or `?` glob is allowed in the last path element.
fn expand(pattern: &str) -> Vec<PathBuf> {
    let p = Path::new(pattern);
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !name.contains(['*', '?']) {
        return vec![p.to_path_buf()];
    }
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| glob_match(name, n)))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

fn glob_match(pat: &str, s: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(pat.as_bytes(), s.as_bytes())
}

#[derive(Default)]
struct FileState {
    stamp: Option<(SystemTime, u64)>,
    groups: Vec<TargetGroup>,
}

struct FileProvider {
    cfg: FileSdConfig,
    files: BTreeMap<PathBuf, FileState>,
    last_full: Instant,
}

impl FileProvider {
    /// Re-reads changed files; returns true if anything changed.
    fn refresh(&mut self, force: bool) -> bool {
        let mut changed = false;
        let mut present = Vec::new();
        for pat in &self.cfg.files {
            present.extend(expand(pat));
        }
        let before = self.files.len();
        self.files.retain(|p, _| present.contains(p));
        changed |= self.files.len() != before;
        for path in present {
            let stamp = std::fs::metadata(&path)
                .ok()
                .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
            let st = self.files.entry(path.clone()).or_default();
            if stamp.is_none() {
                changed |= !st.groups.is_empty();
                *st = FileState::default();
                continue;
            }
            if !force && st.stamp == stamp {
                continue;
            }
            st.stamp = stamp;
            let json = path.extension().is_some_and(|e| e == "json");
            let read = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| parse_groups(&t, json));
            match read {
                Ok(mut groups) => {
                    for (i, g) in groups.iter_mut().enumerate() {
                        g.source = format!("{}:{i}", path.display());
                        g.labels
                            .insert(META_FILEPATH.into(), path.display().to_string());
                    }
                    if groups != st.groups {
                        st.groups = groups;
                        changed = true;
                    }
                }
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "file discovery: cannot read targets; keeping the last good ones")
                }
            }
        }
        changed
    }
}

struct HttpProvider {
    cfg: HttpSdConfig,
    client: Option<reqwest::Client>,
    next: Instant,
    groups: Vec<TargetGroup>,
}

impl HttpProvider {
    async fn refresh(&mut self) -> bool {
        self.next = Instant::now() + self.cfg.refresh_interval.0;
        match self.fetch().await {
            Ok(groups) if groups != self.groups => {
                self.groups = groups;
                true
            }
            Ok(_) => false,
            Err(e) => {
                tracing::error!(url = %self.cfg.url, error = %e, "HTTP discovery failed; keeping the last good targets");
                false
            }
        }
    }

    async fn fetch(&mut self) -> Result<Vec<TargetGroup>, String> {
        let http = self.cfg.http_client();
        if self.client.is_none() {
            self.client = Some(http_client::build(&http)?);
        }
        let client = self.client.as_ref().expect("set above");
        let req = http_client::authorize(client.get(&self.cfg.url), &http)?
            .header(
                "X-Prometheus-Refresh-Interval-Seconds",
                self.cfg.refresh_interval.0.as_secs().to_string(),
            )
            .timeout(Duration::from_secs(30));
        let resp = req.send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("server returned HTTP status {}", resp.status()));
        }
        let ct = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if !ct.starts_with("application/json") {
            return Err(format!(
                "unsupported content type {ct:?}, expected application/json"
            ));
        }
        let text = resp.text().await.map_err(|e| e.to_string())?;
        let mut groups = parse_groups(&text, true)?;
        for (i, g) in groups.iter_mut().enumerate() {
            g.source = format!("{}:{i}", self.cfg.url);
            g.labels.insert(META_URL.into(), self.cfg.url.clone());
        }
        Ok(groups)
    }
}

/// The discovery of one job.
pub struct JobDiscovery {
    statics: Vec<TargetGroup>,
    files: Vec<FileProvider>,
    https: Vec<HttpProvider>,
}

impl JobDiscovery {
    pub fn new(cfg: &ScrapeConfig) -> Self {
        let statics = cfg
            .static_configs
            .iter()
            .enumerate()
            .map(|(i, g)| TargetGroup {
                source: format!("static_configs[{i}]"),
                ..g.clone()
            })
            .collect();
        let now = Instant::now();
        JobDiscovery {
            statics,
            files: cfg
                .file_sd_configs
                .iter()
                .map(|c| FileProvider {
                    cfg: c.clone(),
                    files: BTreeMap::new(),
                    last_full: now,
                })
                .collect(),
            https: cfg
                .http_sd_configs
                .iter()
                .map(|c| HttpProvider {
                    cfg: c.clone(),
                    client: None,
                    next: now,
                    groups: Vec::new(),
                })
                .collect(),
        }
    }

    /// Every group the providers hold now.
    pub fn groups(&self) -> Vec<TargetGroup> {
        let mut out = self.statics.clone();
        for f in &self.files {
            for st in f.files.values() {
                out.extend(st.groups.iter().cloned());
            }
        }
        for h in &self.https {
            out.extend(h.groups.iter().cloned());
        }
        out
    }

    /// Checks every provider once (files for changes, HTTP endpoints when due, or all when
    /// `force`); true if the groups changed.
    pub async fn refresh(&mut self, force: bool) -> bool {
        let mut changed = false;
        for f in &mut self.files {
            let full = force || f.last_full.elapsed() >= f.cfg.refresh_interval.0;
            if full {
                f.last_full = Instant::now();
            }
            changed |= f.refresh(full);
        }
        for h in &mut self.https {
            if force || Instant::now() >= h.next {
                changed |= h.refresh().await;
            }
        }
        changed
    }

    /// True if only static groups exist (nothing to watch).
    pub fn is_static(&self) -> bool {
        self.files.is_empty() && self.https.is_empty()
    }

    /// Publishes the groups on `tx` once the first refresh is done and whenever they change,
    /// until `stop`; nothing is published after `stop`, even by a refresh already under way.
    pub async fn run(
        mut self,
        tx: watch::Sender<Option<Vec<TargetGroup>>>,
        stop: CancellationToken,
    ) {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = self.refresh(true) => {}
        }
        tx.send_replace(Some(self.groups()));
        if self.is_static() {
            // Keep the channel open (a closed one reads as "discovery gone") until stopped.
            stop.cancelled().await;
            return;
        }
        let mut tick = tokio::time::interval(FILE_CHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let changed = tokio::select! {
                _ = stop.cancelled() => return,
                c = self.refresh(false) => c,
            };
            if changed {
                tx.send_replace(Some(self.groups()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_and_yaml_documents() {
        let j = r#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": ["c:3"]}]"#;
        let g = parse_groups(j, true).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].labels["env"], "prod");
        let y = "- targets: [a:1]\n  labels: {team: x}\n";
        assert_eq!(parse_groups(y, false).unwrap()[0].targets, ["a:1"]);
        assert!(parse_groups("", false).unwrap().is_empty());
        assert!(parse_groups(r#"[{"targets": ["http://a/x"]}]"#, true).is_err());
        assert!(
            parse_groups(
                r#"[{"targets": ["a:1"], "labels": {"bad-name": "x"}}]"#,
                true
            )
            .is_err()
        );
        assert!(parse_groups(r#"[{"targetz": []}]"#, true).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.json", "a.json"));
        assert!(!glob_match("*.json", "a.yml"));
        assert!(glob_match("t?.yml", "t1.yml"));
    }

    #[tokio::test]
    async fn file_changes_are_seen_and_bad_files_keep_the_last_good_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(&path, r#"[{"targets": ["a:1"]}]"#).unwrap();
        let cfg: ScrapeConfig = yaml_serde::from_str(&format!(
            "job_name: j\nfile_sd_configs: [{{files: ['{}/*.json']}}]\nstatic_configs: [{{targets: ['s:1']}}]",
            dir.path().display()
        ))
        .unwrap();
        let mut d = JobDiscovery::new(&cfg);
        assert!(d.refresh(true).await);
        let g = d.groups();
        assert_eq!(g.len(), 2);
        assert_eq!(g[1].targets, ["a:1"]);
        assert_eq!(g[1].labels[META_FILEPATH], path.display().to_string());
        // A broken rewrite keeps the last good groups.
        std::fs::write(&path, "[{not json").unwrap();
        assert!(!d.refresh(false).await);
        assert_eq!(d.groups()[1].targets, ["a:1"]);
        // A good rewrite is picked up.
        std::fs::write(&path, r#"[{"targets": ["b:1", "c:1"]}]"#).unwrap();
        assert!(d.refresh(false).await);
        assert_eq!(d.groups()[1].targets, ["b:1", "c:1"]);
        // Removing the file removes its targets.
        std::fs::remove_file(&path).unwrap();
        assert!(d.refresh(false).await);
        assert_eq!(d.groups().len(), 1);
    }
}
