//! The HTTP service in this process on a loopback port (feature `server`).

use crate::TempDir;

/// The service running in this process on a loopback port, with the development TSA rail
/// (its PKI in a temporary directory) and no Fabric rail: for tests and benches that talk
/// to the real server over HTTP.
#[derive(Debug)]
pub struct LocalServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The development TSA's root, PEM (for a trust file).
    pub tsa_root_pem: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _pki: TempDir,
}

impl LocalServer {
    /// Serves `ledger` with `opts` until [`Self::shutdown`].
    ///
    /// # Panics
    /// When the PKI cannot be made or no loopback port can be bound (a test set-up failure).
    pub async fn start<S: ledger::store::Store + Clone>(ledger: ledger::Ledger<S>, opts: ledger_server::server::ServiceOptions) -> Self {
        let pki_dir = TempDir::new("local-server-pki");
        let pki = ledger_server::dev::load_or_create_pki(pki_dir.path()).expect("development PKI");
        let tsa_root_pem = pki.root_pem.clone();
        let listener = tokio::net::TcpListener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(ledger_server::server::run(
            ledger,
            ledger_server::dev::DevTsaRail::new(pki),
            ledger::anchor::NoFabric,
            listener,
            opts,
            async {
                let _ = stopped.await;
            },
        ));
        Self { base, tsa_root_pem, stop: Some(stop), task, _pki: pki_dir }
    }

    /// Stops the server (in-flight requests drain) and answers how it ended.
    ///
    /// # Errors
    /// The server's own I/O error, if it stopped on one.
    ///
    /// # Panics
    /// When the server task panicked.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await.expect("server task")
    }
}

/// A SQLite ledger in a temporary directory, served on a loopback port, with tenants created
/// and a token for one of them: for tests that drive a client (a binary, the typed client)
/// against a real server and then read back what the ledger stored. Owns its runtime, so a
/// synchronous test can run a child process meanwhile; stops the server on drop.
#[derive(Debug)]
pub struct ServedLedger {
    /// The ledger the server runs (read back through it).
    pub ledger: ledger::Ledger<ledger::store::sqlite::SqliteStore>,
    /// `evl_…` bearer token of the requested role for the first tenant.
    pub bearer: String,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    server: Option<LocalServer>,
    rt: tokio::runtime::Runtime,
    _dir: TempDir,
}

impl ServedLedger {
    /// Serves a new ledger with `tenants` created (the token is for the first, with `role`).
    ///
    /// # Panics
    /// When any of it cannot be set up (a test set-up failure).
    pub fn start(tenants: &[&str], role: ledger_server::auth::Role) -> Self {
        use ledger::store::{Rail, Store as _, TenantConfig};
        let dir = TempDir::new("served-ledger");
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let (ledger, bearer, server) = rt.block_on(async {
            let store = ledger::store::sqlite::SqliteStore::open(dir.path().join("db"), ledger::store::sqlite::Durability::ProcessCrash)
                .await
                .expect("store");
            let ledger = ledger::Ledger::with_rails(store.clone(), crate::fixtures::signer(), crate::fixtures::keys(), vec![Rail::Tsa]);
            for t in tenants {
                ledger.create_tenant(&crate::fixtures::tid(t), &TenantConfig::default()).await.expect("tenant");
            }
            let first = tenants.first().map(|t| crate::fixtures::tid(t));
            let issued = ledger_server::auth::issue([7; 8], [5; 32], first, role, "test client", ledger::now(), 3_600_000).expect("token");
            store.put_token(&issued.record).await.expect("token stored");
            let opts = ledger_server::server::ServiceOptions {
                seal_tick: std::time::Duration::from_hours(1),
                anchor_tick: std::time::Duration::from_hours(1),
                grace: std::time::Duration::from_secs(5),
                ..ledger_server::server::ServiceOptions::default()
            };
            let server = LocalServer::start(ledger.clone(), opts).await;
            (ledger, issued.bearer, server)
        });
        let base = server.base.clone();
        Self { ledger, bearer, base, server: Some(server), rt, _dir: dir }
    }

    /// Runs `f` on the server's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The tenant's ledger handle, to read back what was stored.
    pub fn tenant(&self, tenant: &str) -> ledger::TenantLedger<ledger::store::sqlite::SqliteTenant> {
        self.block_on(self.ledger.tenant(&crate::fixtures::tid(tenant))).expect("the tenant exists")
    }
}

impl Drop for ServedLedger {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = self.rt.block_on(s.shutdown());
        }
    }
}

/// Service options for tests that set states up by hand: no scheduled seal or anchoring pass
/// runs within a test's lifetime (the tick is an hour), drain within 5 s, no MFA.
pub fn quiet_options(limits: ledger_server::http::HttpLimits) -> ledger_server::server::ServiceOptions {
    ledger_server::server::ServiceOptions {
        limits,
        seal_tick: std::time::Duration::from_hours(1),
        anchor_tick: std::time::Duration::from_hours(1),
        grace: std::time::Duration::from_secs(5),
        mfa: None,
        ..ledger_server::server::ServiceOptions::default()
    }
}

/// A bearer token of `role` for `tenant` (None: the ledger), valid for a day, stored in
/// `store`. Ids are unique within the test process; the secret is not (a test token).
///
/// # Panics
/// When the token cannot be issued or stored (a test set-up failure).
pub async fn token<S: ledger::store::Store>(store: &S, tenant: Option<&str>, role: ledger_server::auth::Role) -> String {
    let n = crate::COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut id = [0u8; 8];
    id[..4].copy_from_slice(&std::process::id().to_be_bytes());
    id[4..].copy_from_slice(&u32::try_from(n & 0xffff_ffff).unwrap_or_default().to_be_bytes());
    let tenant = tenant.map(|t| evidence_core::TenantId::new(t).expect("tenant id"));
    let issued = ledger_server::auth::issue(id, [id[7] | 1; 32], tenant, role, "test", ledger::now(), 86_400_000).expect("issue a token");
    store.put_token(&issued.record).await.expect("store the token");
    issued.bearer
}
