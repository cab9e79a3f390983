//! Self-telemetry: the counters, gauges and histograms behind the daemon's own `/metrics`.
//!
//! Each crate defines its metrics once (in its `metrics.rs`) and registers them in a
//! [`Registry`]; the daemon renders the registry in the Prometheus text format 0.0.4.
//! Updates are single atomic operations, so they are cheap enough for hot paths when done
//! per batch rather than per sample.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

/// A monotonically increasing integer counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn new() -> Self {
        Counter(AtomicU64::new(0))
    }
    #[inline]
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A float value that can go up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    pub fn new() -> Self {
        Gauge(AtomicU64::new(0f64.to_bits()))
    }
    #[inline]
    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
    #[inline]
    pub fn add(&self, d: f64) {
        atomic_add_f64(&self.0, d);
    }
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

fn atomic_add_f64(a: &AtomicU64, d: f64) {
    let mut cur = a.load(Ordering::Relaxed);
    loop {
        let new = (f64::from_bits(cur) + d).to_bits();
        match a.compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(x) => cur = x,
        }
    }
}

/// A histogram with fixed upper bounds (cumulative on output, as Prometheus expects).
#[derive(Debug)]
pub struct Histogram {
    bounds: Vec<f64>,
    counts: Vec<AtomicU64>, // one per bound, plus +Inf
    sum: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &[f64]) -> Self {
        Histogram {
            bounds: bounds.to_vec(),
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
            count: AtomicU64::new(0),
        }
    }

    /// Exponential buckets: `start, start*factor, ...` (`n` of them).
    pub fn exponential(start: f64, factor: f64, n: usize) -> Self {
        let b: Vec<f64> = (0..n).map(|i| start * factor.powi(i as i32)).collect();
        Self::new(&b)
    }

    pub fn observe(&self, v: f64) {
        let i = self.bounds.partition_point(|b| *b < v);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        atomic_add_f64(&self.sum, v);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Ordering::Relaxed))
    }
}

/// What a metric family is, for `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

enum Value {
    Counter(Arc<Counter>),
    Gauge(Arc<Gauge>),
    Histogram(Arc<Histogram>),
    GaugeFn(Box<dyn Fn() -> f64 + Send + Sync>),
    CounterFn(Box<dyn Fn() -> f64 + Send + Sync>),
}

struct Family {
    name: String,
    help: String,
    kind: Kind,
    label_names: Vec<String>,
    // label values -> value
    children: RwLock<BTreeMap<Vec<String>, Value>>,
    make: Option<fn(&[f64]) -> Value>,
    bounds: Vec<f64>,
}

/// A set of metric families rendered together.
#[derive(Default)]
pub struct Registry {
    families: Mutex<Vec<Arc<Family>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&self, fam: Family) -> Arc<Family> {
        let mut fams = self.families.lock().unwrap();
        if let Some(existing) = fams.iter().find(|f| f.name == fam.name) {
            return existing.clone();
        }
        let fam = Arc::new(fam);
        fams.push(fam.clone());
        fam
    }

    /// Registers an unlabelled metric. If the family exists, its value is returned instead
    /// (so two components registering the same metric share it); functions are replaced.
    fn single(&self, name: &str, help: &str, kind: Kind, v: Value) -> Option<Value> {
        let fam = self.add(Family {
            name: name.to_string(),
            help: help.to_string(),
            kind,
            label_names: vec![],
            children: RwLock::new(BTreeMap::new()),
            make: None,
            bounds: vec![],
        });
        let mut children = fam.children.write().unwrap();
        if let Some(existing) = children.get(&Vec::new()) {
            match (existing, &v) {
                (Value::Counter(c), Value::Counter(_)) => return Some(Value::Counter(c.clone())),
                (Value::Gauge(g), Value::Gauge(_)) => return Some(Value::Gauge(g.clone())),
                (Value::Histogram(h), Value::Histogram(_)) => {
                    return Some(Value::Histogram(h.clone()));
                }
                _ => {}
            }
        }
        children.insert(vec![], v);
        None
    }

    /// Registers an unlabelled counter and returns it.
    pub fn counter(&self, name: &str, help: &str) -> Arc<Counter> {
        let c = Arc::new(Counter::new());
        match self.single(name, help, Kind::Counter, Value::Counter(c.clone())) {
            Some(Value::Counter(existing)) => existing,
            _ => c,
        }
    }

    /// Registers an unlabelled gauge and returns it.
    pub fn gauge(&self, name: &str, help: &str) -> Arc<Gauge> {
        let g = Arc::new(Gauge::new());
        match self.single(name, help, Kind::Gauge, Value::Gauge(g.clone())) {
            Some(Value::Gauge(existing)) => existing,
            _ => g,
        }
    }

    /// Registers an unlabelled histogram with the given upper bounds.
    pub fn histogram(&self, name: &str, help: &str, bounds: &[f64]) -> Arc<Histogram> {
        let h = Arc::new(Histogram::new(bounds));
        match self.single(name, help, Kind::Histogram, Value::Histogram(h.clone())) {
            Some(Value::Histogram(existing)) => existing,
            _ => h,
        }
    }

    /// A gauge whose value is computed when `/metrics` is rendered.
    pub fn gauge_fn(&self, name: &str, help: &str, f: impl Fn() -> f64 + Send + Sync + 'static) {
        self.single(name, help, Kind::Gauge, Value::GaugeFn(Box::new(f)));
    }

    /// A counter whose value is read from elsewhere when `/metrics` is rendered.
    pub fn counter_fn(&self, name: &str, help: &str, f: impl Fn() -> f64 + Send + Sync + 'static) {
        self.single(name, help, Kind::Counter, Value::CounterFn(Box::new(f)));
    }

    /// A counter family with labels; children are created on first use.
    pub fn counter_vec(&self, name: &str, help: &str, label_names: &[&str]) -> CounterVec {
        CounterVec(self.vec_family(name, help, Kind::Counter, label_names, &[]))
    }

    /// A gauge family with labels.
    pub fn gauge_vec(&self, name: &str, help: &str, label_names: &[&str]) -> GaugeVec {
        GaugeVec(self.vec_family(name, help, Kind::Gauge, label_names, &[]))
    }

    /// A histogram family with labels.
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        label_names: &[&str],
        bounds: &[f64],
    ) -> HistogramVec {
        HistogramVec(self.vec_family(name, help, Kind::Histogram, label_names, bounds))
    }

    fn vec_family(
        &self,
        name: &str,
        help: &str,
        kind: Kind,
        label_names: &[&str],
        bounds: &[f64],
    ) -> Arc<Family> {
        let make: fn(&[f64]) -> Value = match kind {
            Kind::Counter => |_| Value::Counter(Arc::new(Counter::new())),
            Kind::Gauge => |_| Value::Gauge(Arc::new(Gauge::new())),
            Kind::Histogram => |b| Value::Histogram(Arc::new(Histogram::new(b))),
        };
        self.add(Family {
            name: name.to_string(),
            help: help.to_string(),
            kind,
            label_names: label_names.iter().map(|s| s.to_string()).collect(),
            children: RwLock::new(BTreeMap::new()),
            make: Some(make),
            bounds: bounds.to_vec(),
        })
    }

    /// Renders every family in the Prometheus text format 0.0.4.
    pub fn render(&self) -> String {
        let fams: Vec<Arc<Family>> = self.families.lock().unwrap().clone();
        let mut out = String::with_capacity(fams.len() * 128);
        for f in fams {
            let children = f.children.read().unwrap();
            if children.is_empty() && !f.label_names.is_empty() {
                continue;
            }
            let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(&f.help));
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.as_str());
            for (lvs, v) in children.iter() {
                let pairs: Vec<(&str, &str)> = f
                    .label_names
                    .iter()
                    .map(|s| s.as_str())
                    .zip(lvs.iter().map(|s| s.as_str()))
                    .collect();
                match v {
                    Value::Counter(c) => {
                        write_sample(&mut out, &f.name, &pairs, None, c.get() as f64)
                    }
                    Value::Gauge(g) => write_sample(&mut out, &f.name, &pairs, None, g.get()),
                    Value::GaugeFn(g) | Value::CounterFn(g) => {
                        write_sample(&mut out, &f.name, &pairs, None, g())
                    }
                    Value::Histogram(h) => {
                        let bucket = format!("{}_bucket", f.name);
                        let mut cum = 0u64;
                        for (i, b) in h.bounds.iter().enumerate() {
                            cum += h.counts[i].load(Ordering::Relaxed);
                            write_sample(
                                &mut out,
                                &bucket,
                                &pairs,
                                Some(&format_value(*b)),
                                cum as f64,
                            );
                        }
                        cum += h.counts[h.bounds.len()].load(Ordering::Relaxed);
                        write_sample(&mut out, &bucket, &pairs, Some("+Inf"), cum as f64);
                        write_sample(&mut out, &format!("{}_sum", f.name), &pairs, None, h.sum());
                        write_sample(
                            &mut out,
                            &format!("{}_count", f.name),
                            &pairs,
                            None,
                            cum as f64,
                        );
                    }
                }
            }
        }
        out
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('"', "\\\"")
}

/// Formats a float as the text format does: `+Inf`, `-Inf`, `NaN`, else shortest round-trip.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

fn write_sample(out: &mut String, name: &str, pairs: &[(&str, &str)], le: Option<&str>, v: f64) {
    out.push_str(name);
    if !pairs.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        for (n, val) in pairs.iter().copied().chain(le.map(|l| ("le", l))) {
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(out, "{n}=\"{}\"", escape_value(val));
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&format_value(v));
    out.push('\n');
}

fn child<T>(fam: &Family, values: &[&str], pick: impl Fn(&Value) -> Option<Arc<T>>) -> Arc<T> {
    assert_eq!(
        values.len(),
        fam.label_names.len(),
        "label count of {}",
        fam.name
    );
    let key: Vec<String> = values.iter().map(|s| s.to_string()).collect();
    if let Some(v) = fam.children.read().unwrap().get(&key) {
        return pick(v).expect("metric kind");
    }
    let mut w = fam.children.write().unwrap();
    let make = fam.make.expect("labelled family");
    let v = w.entry(key).or_insert_with(|| make(&fam.bounds));
    pick(v).expect("metric kind")
}

/// A labelled counter family.
#[derive(Clone)]
pub struct CounterVec(Arc<Family>);

impl CounterVec {
    /// The child for these label values (created at zero on first use). Cache the result on
    /// hot paths.
    pub fn with(&self, values: &[&str]) -> Arc<Counter> {
        child(&self.0, values, |v| match v {
            Value::Counter(c) => Some(c.clone()),
            _ => None,
        })
    }
}

/// A labelled gauge family.
#[derive(Clone)]
pub struct GaugeVec(Arc<Family>);

impl GaugeVec {
    pub fn with(&self, values: &[&str]) -> Arc<Gauge> {
        child(&self.0, values, |v| match v {
            Value::Gauge(g) => Some(g.clone()),
            _ => None,
        })
    }
    /// Removes a child (a target that went away).
    pub fn remove(&self, values: &[&str]) {
        let key: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        self.0.children.write().unwrap().remove(&key);
    }
}

/// A labelled histogram family.
#[derive(Clone)]
pub struct HistogramVec(Arc<Family>);

impl HistogramVec {
    pub fn with(&self, values: &[&str]) -> Arc<Histogram> {
        child(&self.0, values, |v| match v {
            Value::Histogram(h) => Some(h.clone()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_text_format() {
        let r = Registry::new();
        let c = r.counter("vane_test_total", "A test counter.");
        c.add(3);
        let g = r.gauge("vane_test_gauge", "A gauge.\nTwo lines.");
        g.set(1.5);
        let v = r.counter_vec("vane_test_reasons_total", "By reason.", &["reason"]);
        v.with(&["out_of_order"]).inc();
        let h = r.histogram("vane_test_seconds", "Latency.", &[0.1, 1.0]);
        h.observe(0.05);
        h.observe(0.5);
        h.observe(5.0);
        let text = r.render();
        assert!(
            text.contains("# TYPE vane_test_total counter\nvane_test_total 3\n"),
            "{text}"
        );
        assert!(text.contains("# HELP vane_test_gauge A gauge.\\nTwo lines.\n"));
        assert!(text.contains("vane_test_gauge 1.5\n"));
        assert!(text.contains("vane_test_reasons_total{reason=\"out_of_order\"} 1\n"));
        assert!(text.contains("vane_test_seconds_bucket{le=\"0.1\"} 1\n"));
        assert!(text.contains("vane_test_seconds_bucket{le=\"1\"} 2\n"));
        assert!(text.contains("vane_test_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("vane_test_seconds_count 3\n"));
        assert!(text.contains("vane_test_seconds_sum 5.55\n"));
    }

    #[test]
    fn registering_an_unlabelled_metric_twice_shares_it() {
        let r = Registry::new();
        r.counter("y_total", "y").inc();
        r.counter("y_total", "y").inc();
        assert!(r.render().contains("y_total 2\n"));
    }

    #[test]
    fn registering_twice_shares_the_family() {
        let r = Registry::new();
        let a = r.counter_vec("x_total", "x", &["l"]);
        let b = r.counter_vec("x_total", "x", &["l"]);
        a.with(&["1"]).inc();
        b.with(&["1"]).inc();
        assert_eq!(a.with(&["1"]).get(), 2);
    }
}
