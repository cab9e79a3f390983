//! Which checks depend on native histograms, which Vane's store does not hold yet: input
//! series with `{{…}}` values are left out of the store, so checks that read them (directly,
//! or through rules that read them) are skipped and reported as such rather than failed or
//! passed on wrong data.

use std::collections::BTreeSet;

use alerting::rules::{Group, Rule};
use model::Labels;

/// What the histogram input of a test group reaches.
#[derive(Debug, Default)]
pub struct Histograms {
    /// The label sets of the input series with histogram values.
    series: Vec<Labels>,
    /// Metric names whose samples depend on them: those series' names, and what rules reading
    /// them record (`ALERTS` and `ALERTS_FOR_STATE` for alerting rules).
    names: BTreeSet<String>,
    /// Alert names of alerting rules that read them.
    alerts: BTreeSet<String>,
}

impl Histograms {
    /// From the histogram input series and the rules that will run, following rules that read
    /// what other rules record until nothing new is reached.
    pub fn new(series: Vec<Labels>, groups: &[Group]) -> Histograms {
        let mut h = Histograms {
            names: series.iter().map(|l| l.metric_name().to_string()).collect(),
            series,
            alerts: BTreeSet::new(),
        };
        if h.series.is_empty() {
            return h;
        }
        loop {
            let mut grew = false;
            for rule in groups.iter().flat_map(|g| &g.rules) {
                if !h.reads(rule.expr()) {
                    continue;
                }
                match rule {
                    Rule::Recording(r) => grew |= h.names.insert(r.name.clone()),
                    Rule::Alerting(r) => {
                        grew |= h.alerts.insert(r.name.clone());
                        grew |= h.names.insert("ALERTS".into());
                        grew |= h.names.insert("ALERTS_FOR_STATE".into());
                    }
                }
            }
            if !grew {
                return h;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Whether the alerts of `alertname` may depend on histogram input.
    pub fn reach_alert(&self, alertname: &str) -> bool {
        self.alerts.contains(alertname)
    }

    /// Whether some selector of `expr` may read histogram input: its `__name__` matchers
    /// accept a reached metric name (its other matchers are not looked at: rule output
    /// labels are not known in advance), or, without any, all its matchers accept one of the
    /// histogram series. An expression that does not parse reads nothing.
    pub fn reads(&self, expr: &str) -> bool {
        if self.series.is_empty() {
            return false;
        }
        let Ok(selectors) = promql::query_selectors(expr) else {
            return false;
        };
        selectors.iter().flatten().any(|set| {
            let by_name: Vec<_> = set.iter().filter(|m| m.name == "__name__").collect();
            if by_name.is_empty() {
                self.series
                    .iter()
                    .any(|l| set.iter().all(|m| m.matches(l.get(&m.name))))
            } else {
                self.names
                    .iter()
                    .any(|n| by_name.iter().all(|m| m.matches(n)))
            }
        })
    }
}
