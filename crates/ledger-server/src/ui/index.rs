//! What the pages filter and count, kept per tenant in memory and brought up to date
//! incrementally: each request reads only the leaves appended since the previous one.
//!
//! A tenant's first page view reads its whole log once (leaf rows in chunks of
//! [`CHUNK`]; only findings, corrections and incidents are decrypted); after that, a page
//! costs one size query plus the new leaves. The index holds the findings' filterable
//! fields (analyzer, rule, operational identifier, personnel code, business date), the
//! corrections (retracted, superseded, erased), incidents, claims per hour, links between
//! claims and the checkpoints' tree sizes. It is keyed by tenant and only ever handed to a
//! request the guard has authorised for that tenant. Erased findings leave it when their
//! erasure claim is read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use evidence_core::claim::ClaimKind;
use evidence_core::types::{ContentHash, UnixMillis};
use evidence_core::{LeafEntry, TenantId};
use ledger::TenantLedger;
use ledger::store::TenantStore;
use serde_json::Value;

/// Leaves read per query.
pub(crate) const CHUNK: u64 = 1000;

/// One finding's filterable fields.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub(crate) seq: u64,
    /// Business date (`as_of`, else the append day), `YYYY-MM-DD`.
    pub(crate) date: String,
    pub(crate) analyzer: String,
    pub(crate) rule: String,
    /// The operational identifier (deal, repair order).
    pub(crate) subject: String,
    /// The personnel code; empty when the body's `staff_code` is not a code (never shown).
    pub(crate) staff: String,
}

/// A correction of a claim (the first one counts).
#[derive(Clone, Debug)]
pub(crate) enum Correction {
    Retracted { by: u64, reason: String },
    Superseded { by: u64 },
}

/// An incident claim.
#[derive(Clone, Debug)]
pub(crate) struct Incident {
    pub(crate) seq: u64,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) reason: String,
}

/// The index of one tenant.
#[derive(Debug, Default)]
pub(crate) struct TenantIndex {
    /// Leaves read so far (the next to read).
    pub(crate) scanned: u64,
    /// Findings in log order.
    pub(crate) findings: Vec<Finding>,
    /// The analyzers and rules the findings name (the filter's choices).
    pub(crate) analyzers: BTreeSet<String>,
    pub(crate) rules: BTreeSet<String>,
    pub(crate) corrections: HashMap<u64, Correction>,
    pub(crate) incidents: Vec<Incident>,
    /// Claims appended per hour (hour = appended_at / 3 600 000).
    pub(crate) per_hour: BTreeMap<i64, u64>,
    /// Claims per kind name.
    pub(crate) per_kind: BTreeMap<&'static str, u64>,
    /// Content hash → seq.
    pub(crate) by_hash: HashMap<ContentHash, u64>,
    /// seq → the seqs of claims that link it.
    pub(crate) linked_from: HashMap<u64, Vec<u64>>,
    /// Checkpoints read so far: (checkpoint seq, tree size, sealed at).
    pub(crate) checkpoints: Vec<(u64, u64, UnixMillis)>,
    /// Rows refused at ingest, by rejection kind (from `ingest_record` claims).
    pub(crate) refusals: BTreeMap<String, u64>,
    /// Files refused at ingest (an `ingest_record` with `accepted: false`).
    pub(crate) files_refused: u64,
}

impl TenantIndex {
    /// The first checkpoint whose tree holds `seq`.
    pub(crate) fn sealing_checkpoint(&self, seq: u64) -> Option<u64> {
        let i = self.checkpoints.partition_point(|c| c.1 <= seq);
        self.checkpoints.get(i).map(|c| c.0)
    }
}

/// Every tenant's index.
#[derive(Debug, Default)]
pub(crate) struct Indexes {
    map: Mutex<HashMap<TenantId, Arc<tokio::sync::Mutex<TenantIndex>>>>,
}

fn text(body: &Value, k: &str, max: usize) -> String {
    body.get(k).and_then(Value::as_str).unwrap_or("").chars().filter(|c| !c.is_control()).take(max).collect()
}

impl Indexes {
    /// `t`'s index, brought up to date. The lock is held while it is read.
    pub(crate) async fn current<T: TenantStore>(
        &self,
        t: &TenantLedger<T>,
    ) -> Result<tokio::sync::OwnedMutexGuard<TenantIndex>, ledger::LedgerError> {
        let slot = {
            let mut m = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(m.entry(t.store().tenant().clone()).or_default())
        };
        let mut ix = slot.lock_owned().await;
        update(&mut ix, t).await?;
        Ok(ix)
    }
}

async fn update<T: TenantStore>(ix: &mut TenantIndex, t: &TenantLedger<T>) -> Result<(), ledger::LedgerError> {
    let size = t.store().size().await?;
    let finding = ClaimKind::LeakageFinding.code();
    let (retraction, supersession, erasure, incident, ingest) = (
        ClaimKind::Retraction.code(),
        ClaimKind::Supersession.code(),
        ClaimKind::Erasure.code(),
        ClaimKind::Incident.code(),
        ClaimKind::IngestRecord.code(),
    );
    while ix.scanned < size {
        let end = (ix.scanned + CHUNK).min(size);
        for leaf in t.store().leaves(ix.scanned, end).await? {
            let seq = leaf.seq.0;
            *ix.per_hour.entry(leaf.appended_at.0.div_euclid(3_600_000)).or_default() += 1;
            *ix.per_kind.entry(ClaimKind::from_code(leaf.kind_code).map_or("unknown", ClaimKind::name)).or_default() += 1;
            ix.by_hash.insert(leaf.content_hash, seq);
            if let Ok(e) = LeafEntry::decode(&leaf.entry) {
                for l in &e.links {
                    if let Some(&target) = ix.by_hash.get(l) {
                        ix.linked_from.entry(target).or_default().push(seq);
                    }
                }
            }
            let k = leaf.kind_code;
            if ![finding, retraction, supersession, erasure, incident, ingest].contains(&k) {
                continue;
            }
            let parts = t.claim_parts(leaf.seq).await?;
            let Some((_, claim)) = parts.record else { continue };
            let body = claim.body;
            if k == finding {
                let date = match body.get("as_of").and_then(Value::as_str).and_then(|s| reports::Date::parse(s).ok()) {
                    Some(d) => d.to_string(),
                    None => reports::Date::of(leaf.appended_at).to_string(),
                };
                let staff_raw = text(&body, "staff_code", 64);
                let staff = reports::PersonnelCode::new(&staff_raw).map(|c| c.as_str().to_owned()).unwrap_or_default();
                let (analyzer, rule) = (text(&body, "analyzer", 64), text(&body, "rule", 128));
                if !ix.analyzers.contains(&analyzer) {
                    ix.analyzers.insert(analyzer.clone());
                }
                if !ix.rules.contains(&rule) {
                    ix.rules.insert(rule.clone());
                }
                ix.findings.push(Finding { seq, date, analyzer, rule, subject: text(&body, "subject", 64), staff });
            } else if k == ingest {
                if body.get("accepted").and_then(Value::as_bool) == Some(false) {
                    ix.files_refused += 1;
                }
                for r in body.get("rejections").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
                    let kind = text(r, "kind", 40);
                    *ix.refusals.entry(if kind.is_empty() { "unknown".to_owned() } else { kind }).or_default() += 1;
                }
            } else if k == incident {
                ix.incidents.push(Incident {
                    seq,
                    from: text(&body, "from", 40),
                    to: text(&body, "to", 40),
                    reason: text(&body, "reason", 500),
                });
            } else if let Some(target) = body.get("seq").and_then(Value::as_u64) {
                if k == erasure {
                    if let Ok(i) = ix.findings.binary_search_by_key(&target, |f| f.seq) {
                        ix.findings.remove(i);
                    }
                    continue;
                }
                let c = if k == retraction {
                    Correction::Retracted { by: seq, reason: text(&body, "reason", 500) }
                } else {
                    Correction::Superseded { by: seq }
                };
                ix.corrections.entry(target).or_insert(c);
            }
        }
        ix.scanned = end;
    }
    loop {
        let from = ix.checkpoints.last().map_or(0, |c| c.0 + 1);
        let rows = t.checkpoints(from, 1000).await?;
        let n = rows.len();
        ix.checkpoints.extend(rows.iter().map(|c| (c.seq.0, c.root.tree_size.0, c.sealed_at)));
        if n < 1000 {
            break;
        }
    }
    Ok(())
}
