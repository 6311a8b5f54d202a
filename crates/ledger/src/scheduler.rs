//! Background tasks: the sealing scheduler and the anchoring workers (one per rail).
//!
//! Each task runs until its [`Background`] handle is dropped (or
//! [`Background::shutdown`] is awaited). Errors are logged and retried on the next tick.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::anchor::{Anchorer, FabricRail, OnFabric, OnTsa, TsaRail};
use crate::ledger::{Ledger, LedgerError, TenantLedger, now};
use crate::store::{Rail, Store, StoreError, TenantStore};

/// A running background task; aborted on drop.
#[derive(Debug)]
pub struct Background {
    stop: watch::Sender<bool>,
    handle: Option<JoinHandle<()>>,
}

impl Background {
    fn spawn<Fut>(tick: Duration, mut step: impl FnMut() -> Fut + Send + 'static) -> Self
    where
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (stop, mut rx) = watch::channel(false);
        let handle = tokio::spawn(async move {
            loop {
                step().await;
                tokio::select! {
                    () = tokio::time::sleep(tick) => {}
                    _ = rx.changed() => break,
                }
            }
        });
        Self { stop, handle: Some(handle) }
    }

    /// Asks the task to stop after its current step and waits for it.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

/// Seals `t` if its cadence has passed or enough claims are unsealed. Returns whether it sealed.
///
/// # Errors
/// [`LedgerError`] (a busy seal lock is not an error: it returns `false`).
pub async fn seal_if_due<T: TenantStore>(t: &TenantLedger<T>) -> Result<bool, LedgerError> {
    let cfg = t.config();
    let latest = t.store().latest_checkpoint().await?;
    let size = t.store().size().await?;
    let due = match &latest {
        None => true,
        Some(c) => {
            let age = now().0.saturating_sub(c.sealed_at.0);
            let unsealed = size.saturating_sub(c.root.tree_size.0);
            u64::try_from(age).unwrap_or(0) >= cfg.seal_every_ms || (cfg.seal_after_claims > 0 && unsealed >= cfg.seal_after_claims)
        }
    };
    if !due {
        return Ok(false);
    }
    match t.seal_now().await {
        Ok(_) => Ok(true),
        Err(LedgerError::Store(StoreError::SealBusy)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Starts the sealing scheduler: every `tick`, each tenant is sealed when its cadence
/// (hourly by default) has passed or `seal_after_claims` claims are unsealed, and its
/// pending erasures are applied once the erasure window has passed.
pub fn spawn_sealer<S: Store>(ledger: Ledger<S>, tick: Duration) -> Background {
    Background::spawn(tick, move || {
        let ledger = ledger.clone();
        async move {
            let tenants = match ledger.tenants().await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(error = %e, "sealer: listing tenants failed");
                    return;
                }
            };
            for id in tenants {
                let t = match ledger.tenant(&id).await {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::warn!(tenant = %id, error = %e, "sealer: opening the tenant failed; retrying next tick");
                        continue;
                    }
                };
                if let Err(e) = seal_if_due(&t).await {
                    tracing::warn!(tenant = %id, error = %e, "sealer: sealing failed; retrying next tick");
                }
                // Erasures whose window has passed: re-wrap live keys, destroy the old epoch.
                match t.apply_erasures_if_due().await {
                    Ok(Some(a)) => tracing::info!(tenant = %id, epoch = a.epoch, rewrapped = a.rewrapped, "erasure applied"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(tenant = %id, error = %e, "sealer: applying erasures failed; retrying next tick"),
                }
            }
        }
    })
}

/// How the anchoring workers run.
#[derive(Clone, Debug)]
pub struct AnchorOptions {
    /// Pause between passes of each rail's worker.
    pub tick: Duration,
    /// Tenants worked on at once, per rail (at least 1).
    pub concurrency: usize,
    /// Deadline of one TSA attempt.
    pub tsa_deadline: Duration,
    /// Deadline of one Fabric attempt.
    pub fabric_deadline: Duration,
    /// Rows per tenant per pass at most.
    pub rows_per_pass: u32,
}

impl Default for AnchorOptions {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(5),
            concurrency: 4,
            tsa_deadline: crate::anchor::TSA_DEADLINE,
            fabric_deadline: crate::anchor::FABRIC_DEADLINE,
            rows_per_pass: 100,
        }
    }
}

/// The anchoring workers: one per rail, each running on its own.
#[derive(Debug)]
pub struct RailWorkers {
    /// The RFC 3161 rail's worker.
    pub tsa: Background,
    /// The Fabric rail's worker.
    pub fabric: Background,
}

impl RailWorkers {
    /// Stops both after their current pass.
    pub async fn shutdown(self) {
        tokio::join!(self.tsa.shutdown(), self.fabric.shutdown());
    }
}

/// Starts one anchoring worker per rail (see [`spawn_rail_worker`]): a TSA that hangs delays
/// TSA anchors only, never Fabric ones, and the other way round.
pub fn spawn_rail_workers<S, R, F>(ledger: Ledger<S>, tsa: R, fabric: F, opts: &AnchorOptions) -> RailWorkers
where
    S: Store,
    R: TsaRail + 'static,
    F: FabricRail + 'static,
{
    RailWorkers {
        tsa: spawn_rail_worker(ledger.clone(), OnTsa(tsa), opts.tsa_deadline, opts),
        fabric: spawn_rail_worker(ledger, OnFabric(fabric), opts.fabric_deadline, opts),
    }
}

/// Starts the worker of one rail: every `opts.tick`, one pass over every tenant's due rows
/// on that rail, `opts.concurrency` tenants at once, each attempt cut off at `deadline`
/// ([`TenantLedger::process_rail`]; failures back off per row, so per tenant, rail and
/// checkpoint). After each pass it counts the rail's backlog across tenants for `/metrics`
/// ([`crate::metrics::LedgerMetrics::backlog`]).
pub fn spawn_rail_worker<S, A>(ledger: Ledger<S>, rail: A, deadline: Duration, opts: &AnchorOptions) -> Background
where
    S: Store,
    A: Anchorer + 'static,
{
    let rail = Arc::new(rail);
    let concurrency = opts.concurrency.max(1);
    let rows = opts.rows_per_pass.max(1);
    Background::spawn(opts.tick, move || {
        let ledger = ledger.clone();
        let rail = Arc::clone(&rail);
        async move {
            let which = rail.rail();
            let Ok(tenants) = ledger.tenants().await else { return };
            let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
            let mut tasks = tokio::task::JoinSet::new();
            for id in tenants.clone() {
                let (ledger, rail, permits) = (ledger.clone(), Arc::clone(&rail), Arc::clone(&permits));
                tasks.spawn(async move {
                    let Ok(_permit) = permits.acquire_owned().await else { return };
                    let r = match ledger.tenant(&id).await {
                        Ok(t) => t.process_rail(rail.as_ref(), rows, deadline).await.map(|_| ()),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = r {
                        tracing::warn!(tenant = %id, rail = which.as_str(), error = %e, "anchor worker pass failed; retrying next tick");
                    }
                });
            }
            while tasks.join_next().await.is_some() {}
            count_backlog(&ledger, which, &tenants).await;
        }
    })
}

async fn count_backlog<S: Store>(ledger: &Ledger<S>, rail: Rail, tenants: &[evidence_core::TenantId]) {
    let (mut n, mut oldest) = (0u64, None::<i64>);
    for id in tenants {
        let rows = match ledger.tenant(id).await {
            Ok(t) => t.store().unanchored().await,
            Err(_) => continue,
        };
        let Ok(rows) = rows else { continue };
        for r in rows.iter().filter(|r| r.rail == rail) {
            n += 1;
            oldest = Some(oldest.map_or(r.created_at.0, |o| o.min(r.created_at.0)));
        }
    }
    crate::metrics::global().backlog.set(rail.as_str(), n, oldest);
}

/// Starts an anchoring worker for both rails with the default [`AnchorOptions`] and `tick`
/// (one worker per rail; see [`spawn_rail_workers`]).
pub fn spawn_anchor_worker<S, R, F>(ledger: Ledger<S>, tsa: R, fabric: F, tick: Duration) -> RailWorkers
where
    S: Store,
    R: TsaRail + 'static,
    F: FabricRail + 'static,
{
    spawn_rail_workers(ledger, tsa, fabric, &AnchorOptions { tick, ..AnchorOptions::default() })
}
