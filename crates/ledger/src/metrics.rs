//! Local metrics in the Prometheus text exposition format (version 0.0.4).
//!
//! [`Counter`], [`Histogram`] and [`Exposition`] are the primitives (the HTTP service builds
//! its own families from them); [`LedgerMetrics`] holds the ledger's.
//!
//! Served by the HTTP service at `/metrics` for self-hosted monitoring only: nothing is ever pushed anywhere.
//! Counters and histograms carry a small, fixed set of label values (rail names, outcome
//! codes), never tenant data or claim content.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the latency histograms' buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// A monotonically increasing counter per label set.
#[derive(Debug, Default)]
pub struct Counter {
    values: Mutex<BTreeMap<Vec<(String, String)>, u64>>,
}

impl Counter {
    /// Adds `n` for the label set.
    pub fn add(&self, labels: &[(&str, &str)], n: u64) {
        let key: Vec<(String, String)> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let mut m = self.values.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *m.entry(key).or_default() += n;
    }

    /// Adds one.
    pub fn inc(&self, labels: &[(&str, &str)]) {
        self.add(labels, 1);
    }

    /// The current value for a label set.
    pub fn get(&self, labels: &[(&str, &str)]) -> u64 {
        let key: Vec<(String, String)> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.values.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).copied().unwrap_or(0)
    }
}

/// A gauge per label set: a value that goes up and down (set, not added to).
#[derive(Debug, Default)]
pub struct Gauge {
    values: Mutex<BTreeMap<Vec<(String, String)>, f64>>,
}

impl Gauge {
    /// Sets the value for the label set.
    pub fn set(&self, labels: &[(&str, &str)], v: f64) {
        let key: Vec<(String, String)> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.values.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, v);
    }

    /// The current value for a label set (None when never set).
    pub fn get(&self, labels: &[(&str, &str)]) -> Option<f64> {
        let key: Vec<(String, String)> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.values.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).copied()
    }
}

/// The outbox backlog of one rail, as its worker last counted it (across tenants).
#[derive(Debug, Default)]
pub struct Backlog {
    /// Per rail: rows not anchored yet, and the enqueue time of the oldest (None: no row).
    rails: Mutex<BTreeMap<String, (u64, Option<i64>)>>,
}

impl Backlog {
    /// Records `pending` rows on `rail`, the oldest enqueued at `oldest` (Unix ms).
    pub fn set(&self, rail: &str, pending: u64, oldest: Option<i64>) {
        self.rails.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(rail.to_owned(), (pending, oldest));
    }

    /// The last count for `rail`: rows and the oldest row's enqueue time.
    pub fn get(&self, rail: &str) -> Option<(u64, Option<i64>)> {
        self.rails.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(rail).copied()
    }
}

/// A latency histogram (no labels) with [`LATENCY_BUCKETS`].
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    /// Sum in microseconds, to keep it an integer.
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation in seconds.
    pub fn observe(&self, seconds: f64) {
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *le {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.sum_micros.fetch_add((seconds.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }
}

/// One metric family with its help text.
#[derive(Debug)]
enum Family<'a> {
    Counter(&'a Counter),
    Gauge(&'a Gauge),
    Histogram(&'a Histogram),
}

/// Renders families as Prometheus text.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Exposition {
    /// Adds a counter family.
    pub fn counter(&mut self, name: &str, help: &str, c: &Counter) -> &mut Self {
        self.family(name, help, &Family::Counter(c))
    }

    /// Adds a gauge family.
    pub fn gauge(&mut self, name: &str, help: &str, g: &Gauge) -> &mut Self {
        self.family(name, help, &Family::Gauge(g))
    }

    /// Adds a histogram family.
    pub fn histogram(&mut self, name: &str, help: &str, h: &Histogram) -> &mut Self {
        self.family(name, help, &Family::Histogram(h))
    }

    fn family(&mut self, name: &str, help: &str, f: &Family<'_>) -> &mut Self {
        let o = &mut self.out;
        match f {
            Family::Counter(c) => {
                let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter");
                let values = c.values.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if values.is_empty() {
                    let _ = writeln!(o, "{name} 0");
                }
                for (labels, v) in values.iter() {
                    if labels.is_empty() {
                        let _ = writeln!(o, "{name} {v}");
                    } else {
                        let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
                        let _ = writeln!(o, "{name}{{{}}} {v}", l.join(","));
                    }
                }
            }
            Family::Gauge(g) => {
                let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge");
                let values = g.values.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                for (labels, v) in values.iter() {
                    let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
                    if l.is_empty() {
                        let _ = writeln!(o, "{name} {v}");
                    } else {
                        let _ = writeln!(o, "{name}{{{}}} {v}", l.join(","));
                    }
                }
            }
            Family::Histogram(h) => {
                let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} histogram");
                for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
                    let _ = writeln!(o, "{name}_bucket{{le=\"{le}\"}} {}", h.buckets[i].load(Ordering::Relaxed));
                }
                let count = h.count.load(Ordering::Relaxed);
                let _ = writeln!(o, "{name}_bucket{{le=\"+Inf\"}} {count}");
                #[allow(clippy::cast_precision_loss)]
                let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
                let _ = writeln!(o, "{name}_sum {sum}\n{name}_count {count}");
            }
        }
        self
    }

    /// The text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// The ledger's metrics: appends, seals, anchoring per rail. One set per process, as a
/// Prometheus client library would keep it; rendered by [`LedgerMetrics::render`] (the HTTP
/// service adds its own families beside these).
#[derive(Debug, Default)]
pub struct LedgerMetrics {
    /// Claims appended (label `outcome`: `ok` or `error`).
    pub appends: Counter,
    /// Append latency per call (a batch is one call).
    pub append_seconds: Histogram,
    /// Seals (label `outcome`).
    pub seals: Counter,
    /// Seal latency.
    pub seal_seconds: Histogram,
    /// Anchoring attempts (labels `rail`, `outcome`: `anchored`, `reanchor`, `failed`).
    pub anchors: Counter,
    /// Anchoring attempts cut off at their deadline (label `rail`; also counted as `failed`).
    pub anchor_deadlines: Counter,
    /// Fabric anchors whose key on the channel already holds another value (label `rail`).
    pub anchor_conflicts: Counter,
    /// Fabric anchors whose lost receipt was recovered from the channel (label `rail`).
    pub anchor_recovered: Counter,
    /// The outbox backlog per rail, as each rail's worker last counted it.
    pub backlog: Backlog,
    /// Time to apply an erasure (re-wrap and destroy the old key epochs).
    pub erasure_seconds: Histogram,
    /// Records re-wrapped under a new key epoch.
    pub rewrapped: Counter,
    /// Attempts to apply an erasure that failed (retried by the scheduler).
    pub erasure_failures: Counter,
}

static GLOBAL: std::sync::LazyLock<LedgerMetrics> = std::sync::LazyLock::new(LedgerMetrics::default);

/// The process-wide ledger metrics.
pub fn global() -> &'static LedgerMetrics {
    &GLOBAL
}

impl LedgerMetrics {
    /// Adds every family to `e`.
    pub fn render_into(&self, e: &mut Exposition) {
        e.counter("ledger_appends_total", "Claims appended, by outcome.", &self.appends)
            .histogram("ledger_append_seconds", "Append call latency (a batch is one call).", &self.append_seconds)
            .counter("ledger_seals_total", "Checkpoint seals, by outcome.", &self.seals)
            .histogram("ledger_seal_seconds", "Seal latency.", &self.seal_seconds)
            .counter("ledger_anchor_attempts_total", "Anchoring attempts, by rail and outcome.", &self.anchors)
            .counter(
                "ledger_anchor_deadline_exceeded_total",
                "Anchoring attempts cut off at their deadline, by rail.",
                &self.anchor_deadlines,
            )
            .counter(
                "ledger_anchor_conflicts_total",
                "Anchors refused because the channel already holds another value for the checkpoint's key, by rail.",
                &self.anchor_conflicts,
            )
            .counter(
                "ledger_anchor_receipts_recovered_total",
                "Anchors whose committed transaction was found on the channel after its receipt was lost, by rail.",
                &self.anchor_recovered,
            )
            .histogram("ledger_erasure_apply_seconds", "Time to apply an erasure (re-wrap, destroy old key epochs).", &self.erasure_seconds)
            .counter("ledger_records_rewrapped_total", "Records re-wrapped under a new key epoch.", &self.rewrapped)
            .counter("ledger_erasure_apply_failures_total", "Failed attempts to apply an erasure (retried).", &self.erasure_failures);
    }

    /// Adds the outbox backlog gauges, ages computed at `now_ms` (scrape time).
    pub fn render_backlog_into(&self, e: &mut Exposition, now_ms: i64) {
        let pending = Gauge::default();
        let age = Gauge::default();
        let rails = self.backlog.rails.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        for (rail, (n, oldest)) in &rails {
            #[allow(clippy::cast_precision_loss)]
            pending.set(&[("rail", rail)], *n as f64);
            #[allow(clippy::cast_precision_loss)]
            age.set(&[("rail", rail)], oldest.map_or(0.0, |t| now_ms.saturating_sub(t).max(0) as f64 / 1000.0));
        }
        e.gauge(
            "ledger_anchor_backlog",
            "Outbox rows not anchored yet, by rail (all tenants; as the rail's worker last counted).",
            &pending,
        )
        .gauge(
            "ledger_anchor_backlog_oldest_age_seconds",
            "Age of the oldest outbox row not anchored yet, by rail (0 when none).",
            &age,
        );
    }

    /// The Prometheus text of the ledger's families.
    pub fn render(&self) -> String {
        let mut e = Exposition::default();
        self.render_into(&mut e);
        self.render_backlog_into(&mut e, crate::now().0);
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format() {
        let c = Counter::default();
        c.inc(&[("rail", "tsa"), ("outcome", "anchored")]);
        c.add(&[("rail", "tsa"), ("outcome", "anchored")], 2);
        c.inc(&[("rail", "fabric"), ("outcome", "fail\"ed")]);
        let h = Histogram::default();
        h.observe(0.003);
        h.observe(2.0);
        let mut e = Exposition::default();
        e.counter("ledger_anchors_total", "Anchoring attempts by rail and outcome.", &c).histogram(
            "ledger_append_seconds",
            "Append latency.",
            &h,
        );
        let text = e.finish();
        assert!(text.contains("# TYPE ledger_anchors_total counter\n"));
        assert!(text.contains("ledger_anchors_total{rail=\"tsa\",outcome=\"anchored\"} 3\n"));
        assert!(text.contains("outcome=\"fail\\\"ed\""));
        assert!(text.contains("ledger_append_seconds_bucket{le=\"0.0025\"} 0\n"));
        assert!(text.contains("ledger_append_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("ledger_append_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("ledger_append_seconds_count 2\n"));
        assert_eq!(c.get(&[("rail", "tsa"), ("outcome", "anchored")]), 3);
    }
}
