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
