//! Running the service: the HTTP listener plus the sealing scheduler and the anchoring
//! workers (one per rail, each with bounded concurrency across tenants and a deadline per
//! attempt), with graceful shutdown.
//!
//! On shutdown the server stops accepting connections, `/readyz` turns 503, in-flight
//! requests (appends included) run to completion up to the grace period, and then the
//! background tasks finish their current pass. An append is acknowledged only after its
//! commit, so a request cut off by the grace period was never acknowledged.

use std::future::Future;
use std::time::Duration;

use crate::http::{self, AppState, HttpLimits};
use ledger::Ledger;
use ledger::anchor::{FabricRail, TsaRail};
use ledger::scheduler::{AnchorOptions, spawn_rail_workers, spawn_sealer};
use ledger::store::Store;

/// What the service runs with.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// HTTP limits.
    pub limits: HttpLimits,
    /// Sealing scheduler tick.
    pub seal_tick: Duration,
    /// Pause between passes of each rail's anchoring worker.
    pub anchor_tick: Duration,
    /// Tenants each rail's worker anchors at once.
    pub anchor_concurrency: usize,
    /// Deadline of one TSA attempt (the TSA client's failover included).
    pub tsa_deadline: Duration,
    /// Deadline of one Fabric attempt.
    pub fabric_deadline: Duration,
    /// How long shutdown waits for in-flight requests.
    pub grace: Duration,
    /// MFA-asserting ID tokens required of people (None: bearer tokens alone).
    pub mfa: Option<std::sync::Arc<crate::http::mfa::MfaGate>>,
    /// The signed-report generator (None: the report route answers 503).
    pub reports: Option<std::sync::Arc<crate::report::ReportService>>,
    /// Dealer uploads (None: the upload routes answer 503).
    pub uploads: Option<crate::uploads::UploadSettings>,
    /// The dashboard's sessions and one-time sign-in links (`/ui/`).
    pub ui: crate::ui::UiOptions,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        Self {
            limits: HttpLimits::default(),
            seal_tick: Duration::from_secs(10),
            anchor_tick: Duration::from_secs(5),
            anchor_concurrency: 4,
            tsa_deadline: ledger::anchor::TSA_DEADLINE,
            fabric_deadline: ledger::anchor::FABRIC_DEADLINE,
            grace: Duration::from_secs(30),
            mfa: None,
            reports: None,
            uploads: None,
            ui: crate::ui::UiOptions::default(),
        }
    }
}

/// Serves `ledger` on `listener` with the background tasks until `shutdown` resolves.
///
/// # Errors
/// I/O errors of the listener.
pub async fn run<S, R, F>(
    ledger: Ledger<S>,
    tsa: R,
    fabric: F,
    listener: impl Into<http::Bind>,
    opts: ServiceOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: Store + Clone,
    R: TsaRail + 'static,
    F: FabricRail + 'static,
{
    let sealer = spawn_sealer(ledger.clone(), opts.seal_tick);
    let anchoring = AnchorOptions {
        tick: opts.anchor_tick,
        concurrency: opts.anchor_concurrency,
        tsa_deadline: opts.tsa_deadline,
        fabric_deadline: opts.fabric_deadline,
        ..AnchorOptions::default()
    };
    // One worker per rail: a TSA that hangs never holds up Fabric anchors.
    let anchorer = spawn_rail_workers(ledger.clone(), tsa, fabric, &anchoring);
    let (uploads, upload_tasks) = crate::uploads::service::start(&ledger, opts.uploads.clone());
    let state =
        AppState::new(ledger, opts.limits.clone()).with_mfa(opts.mfa.clone()).with_reports(opts.reports.clone()).with_uploads(uploads);
    let listener = listener.into();
    let router = http::router(state.clone()).merge(crate::ui::router(state.clone(), &opts.ui, matches!(listener, http::Bind::Tls(_))));
    let (drained_tx, drained_rx) = tokio::sync::oneshot::channel::<()>();
    let draining = state.clone();
    let signal = async move {
        shutdown.await;
        draining.set_draining();
        tracing::info!("shutting down: draining in-flight requests");
        let _ = drained_tx.send(());
    };
    let serve = http::serve(listener, router, opts.limits.conn(), signal);
    tokio::pin!(serve);
    let result = tokio::select! {
        r = &mut serve => r,
        () = async {
            let _ = drained_rx.await;
            tokio::time::sleep(opts.grace).await;
        } => {
            tracing::warn!("grace period over: closing remaining connections");
            Ok(())
        }
    };
    if let Some(t) = upload_tasks {
        t.abort();
    }
    sealer.shutdown().await;
    anchorer.shutdown().await;
    result
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
