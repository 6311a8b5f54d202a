//! Background tasks: the sealing scheduler and the anchoring workers.
//!
//! Each task runs until its [`Background`] handle is dropped (or
//! [`Background::shutdown`] is awaited). Errors are logged and retried on the next tick.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::anchor::{FabricRail, TsaRail};
use crate::ledger::{Ledger, LedgerError, TenantLedger, now};
use crate::store::{Store, StoreError, TenantStore};

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

/// Starts an anchoring worker: every `tick`, one pass over every tenant's due rows.
pub fn spawn_anchor_worker<S, R, F>(ledger: Ledger<S>, tsa: R, fabric: F, tick: Duration) -> Background
where
    S: Store,
    R: TsaRail + 'static,
    F: FabricRail + 'static,
{
    let rails = Arc::new((tsa, fabric));
    Background::spawn(tick, move || {
        let ledger = ledger.clone();
        let rails = Arc::clone(&rails);
        async move {
            let Ok(tenants) = ledger.tenants().await else { return };
            for id in tenants {
                let r = match ledger.tenant(&id).await {
                    Ok(t) => t.process_anchors(&rails.0, &rails.1, 100).await.map(|_| ()),
                    Err(e) => Err(e),
                };
                if let Err(e) = r {
                    tracing::warn!(tenant = %id, error = %e, "anchor worker pass failed; retrying next tick");
                }
            }
        }
    })
}
