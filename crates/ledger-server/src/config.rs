//! `ledger-server serve` configuration: a TOML file, every setting overridable from the
//! environment.
//!
//! An environment variable `LEDGER_<KEY>` overrides the top-level `key`, and
//! `LEDGER_<SECTION>__<KEY>` (two underscores) overrides `[section] key`; the value is read
//! as a TOML value when it parses as one (numbers, booleans, arrays like `["a","b"]`) and as
//! a string otherwise. For example `LEDGER_STORE__DATABASE_URL=postgres://...` or
//! `LEDGER_HTTP__RATE_PER_SEC=100`. Unknown keys are refused, in the file and in the
//! environment, so a typo never silently falls back to a default.
//!
//! ```toml
//! listen = "127.0.0.1:8080"          # address to bind
//! ledger_name = "ledger.example.ca"  # checkpoint origin prefix: <name>/tenant/<tenant>
//! ledger_key = "/etc/ledger/ledger.skey"     # C2SP signed-note private key (0600)
//! master_key_file = "/etc/ledger/master.key" # 64 hex digits (0600); or master_key_env
//! # master_key_env = "LEDGER_MASTER_KEY"
//! keyring_dir = "/var/lib/ledger/keyring"    # the tenants' key-encryption keys (0700), sealed under
//!                                            # the master key; default <sqlite_dir>/keyring;
//!                                            # required with database_url (shared by replicas)
//! erasure_window_seconds = 0                 # 0: an erasure is applied before its request returns
//! retired_ledger_keys = []                   # .vkey files of earlier checkpoint keys (rotate-key)
//! trust_out = "/var/lib/ledger/trust.json"   # written at start: what verifiers need
//!
//! [store]
//! sqlite_dir = "/var/lib/ledger"     # embedded default, single node
//! # database_url = "postgres://ledger@db/ledger"  # several replicas share one database
//! max_connections = 16
//!
//! [sealing]
//! tick_seconds = 10                  # how often tenants are checked for a due seal
//!
//! [anchoring]                        # one worker per rail (a hung TSA never delays Fabric)
//! tick_seconds = 5                   # pause between passes of each rail's worker
//! concurrency = 4                    # tenants each rail's worker anchors at once
//! tsa_deadline_seconds = 10          # one TSA attempt (failover across [[tsa]] included)
//! fabric_deadline_seconds = 120      # one Fabric attempt (endorse, commit, receipt)
//!
//! [[tsa]]                            # one per TSA, tried in order
//! name = "digicert"
//! url = "http://timestamp.digicert.com"
//! jurisdiction = "US"
//! roots = ["/etc/ledger/tsa/digicert-root.pem"]
//!
//! [fabric]                          # optional: the Fabric rail
//! gateway_url = "https://peer0.org1.example.ca:7051"
//! network = "consortium-ca"
//! msp_id = "Org1MSP"
//! cert = "/etc/ledger/fabric/client.pem"
//! key = "/etc/ledger/fabric/client.key"
//! tls_ca = "/etc/ledger/fabric/tls-ca.pem"
//! orderer_msps = ["OrdererMSP"]
//! jurisdiction = "CA"
//! [fabric.msp_roots]
//! Org1MSP = "/etc/ledger/fabric/org1-ca.pem"
//! OrdererMSP = "/etc/ledger/fabric/orderer-ca.pem"
//!
//! [http]
//! body_bytes = 1048576
//! json_depth = 32
//! batch_max = 1000
//! rate_per_sec = 50.0
//! rate_burst = 200.0
//! request_timeout_seconds = 30
//! token_cache_ms = 1000         # a revoked token is refused at most this long after `token revoke`
//! shutdown_grace_seconds = 30
//! header_read_timeout_ms = 10000  # a request head must arrive within this from its first byte
//! idle_timeout_seconds = 60       # a connection with no request and no I/O is closed after this
//! max_connections = 1024          # one more connection is closed at once
//! # tls_cert = "/etc/ledger/tls/cert.pem"   # both set: HTTPS (rustls); neither: plain HTTP
//! # tls_key = "/etc/ledger/tls/key.pem"
//! # tls_min_version = "1.3"       # default: TLS 1.3 only; "1.2" also accepts TLS 1.2 clients
//!
//! [reports]                     # optional: signed PDF findings reports
//! signing_key = "/etc/ledger/report-signer.key"   # PEM, PKCS#8 / SEC1 / PKCS#1, not encrypted (0600)
//! signing_certs = "/etc/ledger/report-signer.pem" # signer certificate, then its chain
//! trust_file_source = "Trust file and report-signing CA: https://ledger.example.ca/trust/"
//! # currency = "CAD"
//! # max_findings = 10000
//!
//! [oidc]                        # optional: people must also present an MFA ID token
//! issuer = "https://login.dealer.example.ca/"
//! audience = "evidence-ledger"  # this ledger's client id at the identity provider
//! jwks_url = "https://login.dealer.example.ca/.well-known/jwks.json"  # or jwks_file
//! # acr_values = ["phr"]        # accepted instead of amr containing "mfa"
//! # roles = ["dealer_principal", "cfo", "dealer_operator", "auditor", "admin"]  # default
//!
//! [uploads]                     # optional: dealer uploads (signed URLs, SFTP drop)
//! # dir = "/var/lib/ledger/uploads"           # encrypted files; default <sqlite_dir>/uploads
//! public_url = "https://ledger.example.ca"    # base of the signed URLs
//! expiry_seconds = 900                        # at most 3600
//! max_bytes = 268435456                       # 256 MiB
//! url_keys = [{ id = "k2", key_file = "/etc/ledger/upload-k2.key" }]  # first signs; default: derived, id m1
//! sftp_stable_ms = 5000                       # a drop file unchanged this long is taken
//! [[uploads.sftp]]
//! tenant = "rooftop-7"
//! root = "/srv/sftp/rooftop-7/drop"           # incoming/ processing/ done/ refused/
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The TOML (after environment overrides) is not a valid configuration.
    #[error("configuration: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to bind.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Ledger name (checkpoint origins are `<name>/tenant/<tenant>`).
    pub ledger_name: String,
    /// Path of the ledger's signed-note private key.
    pub ledger_key: PathBuf,
    /// Verifier keys (`.vkey` files) of earlier checkpoint keys, written into the trust file
    /// beside the current one so that bundles from before a key rotation still verify
    /// (`ledger-server rotate-key` writes the file of the key it retires).
    #[serde(default)]
    pub retired_ledger_keys: Vec<PathBuf>,
    /// Master key file (64 hex digits).
    pub master_key_file: Option<PathBuf>,
    /// Or: the environment variable holding the master key.
    pub master_key_env: Option<String>,
    /// Directory of the tenants' key-encryption keys (see `ledger::crypto::FileKeyring`).
    /// Default `<sqlite_dir>/keyring`; required with `database_url`.
    pub keyring_dir: Option<PathBuf>,
    /// Erasures are applied (old key epochs destroyed) within this many seconds; 0: at once.
    #[serde(default)]
    pub erasure_window_seconds: u64,
    /// Where to write the verifier trust file at start.
    pub trust_out: Option<PathBuf>,
    /// Storage.
    pub store: StoreConfig,
    /// Sealing scheduler.
    #[serde(default)]
    pub sealing: Tick,
    /// Anchoring workers.
    #[serde(default)]
    pub anchoring: AnchoringConfig,
    /// TSAs, in order of preference.
    #[serde(default)]
    pub tsa: Vec<TsaConfig>,
    /// The Fabric Gateway (unset: checkpoints are anchored on the TSA rail only).
    pub fabric: Option<FabricConfig>,
    /// HTTP limits.
    #[serde(default)]
    pub http: HttpConfig,
    /// MFA for people: OIDC ID tokens from the identity provider (unset: bearer tokens alone).
    pub oidc: Option<OidcConfig>,
    /// Signed PDF reports (unset: `…/reports/findings.pdf` answers 503 reports_not_configured).
    pub reports: Option<ReportsConfig>,
    /// Dealer uploads: signed URLs and SFTP drop directories (unset: the upload routes answer
    /// 503 uploads_not_configured). See [`crate::uploads::UploadsConfig`].
    pub uploads: Option<crate::uploads::UploadsConfig>,
}

/// `[reports]`: the identity signed findings reports are signed with. The signature
/// time-stamp comes from the `[[tsa]]` list (with the tenant's residency policy) and must
/// chain to their `roots`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsConfig {
    /// The signing key, PEM: PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`, P-256) or PKCS#1
    /// (`RSA PRIVATE KEY`, 2048 bits or more); not encrypted; keep it 0600.
    pub signing_key: PathBuf,
    /// The signer's certificate, PEM, then its chain (intermediates; the root may follow).
    pub signing_certs: PathBuf,
    /// One sentence for the report's "How to verify" page: where the verifier's trust file
    /// and the report-signing CA are published.
    pub trust_file_source: String,
    /// ISO 4217 code the amounts are printed in.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Most findings per report (a longer period is refused with 413).
    #[serde(default = "default_max_findings")]
    pub max_findings: usize,
}

fn default_currency() -> String {
    "CAD".into()
}

fn default_max_findings() -> usize {
    crate::report::DEFAULT_MAX_FINDINGS
}

impl ReportsConfig {
    /// Reads the key and certificates.
    ///
    /// # Errors
    /// [`ConfigError`] when a file is unreadable or not a supported key / certificate.
    pub fn identity(&self) -> Result<reports::SigningIdentity, ConfigError> {
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|source| ConfigError::Io { path: p.to_owned(), source });
        let key = zeroize::Zeroizing::new(read(&self.signing_key)?);
        let certs = read(&self.signing_certs)?;
        reports::SigningIdentity::from_pem(&key, &certs).map_err(|e| ConfigError::Invalid(format!("[reports]: {e}")))
    }
}

/// `[oidc]`: which roles must present an MFA-asserting OIDC ID token besides their bearer
/// token, and how it is validated (see [`crate::http::mfa`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The identity provider's issuer (`iss`), exactly.
    pub issuer: String,
    /// This ledger's client id at the provider (`aud`).
    pub audience: String,
    /// The provider's JWKS URL (https; keys cached, fetched again on an unknown `kid`).
    pub jwks_url: Option<String>,
    /// Or: a JWKS file (re-read on an unknown `kid`).
    pub jwks_file: Option<PathBuf>,
    /// `acr` values accepted as proof of MFA when `amr` lacks `mfa` (empty: `amr` must say `mfa`).
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// Clock leeway for `exp`, `nbf` and `iat`, seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// Roles that must present one. Default: every human role (all but `service`).
    #[serde(default = "default_mfa_roles")]
    pub roles: Vec<String>,
}

fn default_leeway() -> u64 {
    60
}

fn default_mfa_roles() -> Vec<String> {
    crate::auth::Role::ALL.iter().filter(|r| r.is_human()).map(|r| r.name().to_owned()).collect()
}

impl OidcConfig {
    /// The gate the `/v1` guard runs.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an unknown role, `service` in `roles`, or a JWKS URL
    /// that is not https (loopback http is allowed for tests).
    pub fn gate(&self) -> Result<crate::http::mfa::MfaGate, ConfigError> {
        let bad = |m: String| ConfigError::Invalid(format!("[oidc]: {m}"));
        let mut roles = Vec::new();
        for name in &self.roles {
            let role: crate::auth::Role = name.parse().map_err(|_| bad(format!("unknown role {name:?}")))?;
            if !role.is_human() {
                return Err(bad(format!("{name} tokens belong to machines, which have no identity-provider login")));
            }
            roles.push(role);
        }
        let keys = match (&self.jwks_url, &self.jwks_file) {
            (Some(url), None) => crate::oidc::KeySource::url(url).map_err(|e| bad(format!("jwks_url: {e}")))?,
            (None, Some(path)) => crate::oidc::KeySource::file(path.clone()),
            _ => return Err(bad("set exactly one of jwks_url and jwks_file".into())),
        };
        let policy = crate::oidc::IdTokenPolicy {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            acr_values: self.acr_values.clone(),
            leeway_seconds: self.leeway_seconds,
        };
        Ok(crate::http::mfa::MfaGate { policy, keys, roles })
    }
}

/// The Fabric rail: a Gateway peer and the identity that submits anchor transactions.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricConfig {
    /// The Gateway peer's URL (`https://peer0.org1.example.com:7051`).
    pub gateway_url: String,
    /// A name for the network in anchors and logs.
    pub network: String,
    /// The submitting identity's MSP id.
    pub msp_id: String,
    /// Its X.509 certificate (PEM).
    pub cert: PathBuf,
    /// Its ECDSA P-256 private key (PKCS#8 PEM), mode 0600.
    pub key: PathBuf,
    /// The CA certificate (PEM) that signed the peer's TLS certificate (required for https).
    pub tls_ca: Option<PathBuf>,
    /// A client certificate and key for mutual TLS, if the peer requires it.
    pub tls_client_cert: Option<PathBuf>,
    /// The key for `tls_client_cert`.
    pub tls_client_key: Option<PathBuf>,
    /// Trusted MSP roots, `MSPID = "path.pem"`: receipts are verified against them before
    /// they are stored, and they go into the trust file.
    pub msp_roots: std::collections::BTreeMap<String, PathBuf>,
    /// The MSP ids of orderer organisations (only they may sign blocks).
    pub orderer_msps: Vec<String>,
    /// The jurisdiction of the endorsing organisations (residency policies).
    pub jurisdiction: Option<String>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// Storage settings: exactly one of `sqlite_dir` and `database_url`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// SQLite data directory.
    pub sqlite_dir: Option<PathBuf>,
    /// PostgreSQL URL.
    pub database_url: Option<String>,
    /// PostgreSQL pool size.
    #[serde(default = "default_connections")]
    pub max_connections: u32,
}

fn default_connections() -> u32 {
    16
}

/// A background task's cadence.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tick {
    /// Seconds between passes.
    pub tick_seconds: u64,
}

impl Default for Tick {
    fn default() -> Self {
        Self { tick_seconds: 10 }
    }
}

/// `[anchoring]`: the anchoring workers, one per rail.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnchoringConfig {
    /// Seconds between passes of each rail's worker.
    pub tick_seconds: u64,
    /// Tenants each rail's worker anchors at once (at least 1).
    pub concurrency: usize,
    /// Deadline of one TSA attempt, seconds (the client's failover across TSAs included); an
    /// attempt cut off is a failure, retried with backoff.
    pub tsa_deadline_seconds: u64,
    /// Deadline of one Fabric attempt, seconds (endorse, submit, commit wait, block fetch).
    pub fabric_deadline_seconds: u64,
}

impl Default for AnchoringConfig {
    fn default() -> Self {
        Self {
            tick_seconds: 5,
            concurrency: 4,
            tsa_deadline_seconds: ledger::anchor::TSA_DEADLINE.as_secs(),
            fabric_deadline_seconds: ledger::anchor::FABRIC_DEADLINE.as_secs(),
        }
    }
}

/// One TSA.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsaConfig {
    /// A name for logs and anchors.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// ISO country code of its jurisdiction (for residency policies).
    pub jurisdiction: String,
    /// PEM files of the roots its tokens must chain to.
    pub roots: Vec<PathBuf>,
}

/// HTTP limits (see [`crate::http::HttpLimits`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest body (bytes).
    pub body_bytes: usize,
    /// Deepest JSON nesting.
    pub json_depth: usize,
    /// Most claims per batch.
    pub batch_max: usize,
    /// Requests per second per token.
    pub rate_per_sec: f64,
    /// Burst per token.
    pub rate_burst: f64,
    /// Request timeout (seconds).
    pub request_timeout_seconds: u64,
    /// How long a token record read from the store is reused (milliseconds; 0: never). A
    /// revocation takes effect within this time.
    pub token_cache_ms: u64,
    /// How long shutdown waits for in-flight requests (seconds).
    pub shutdown_grace_seconds: u64,
    /// Longest a request head may take to arrive from its first byte (milliseconds).
    pub header_read_timeout_ms: u64,
    /// Longest a connection may stay open with no request in progress and no I/O (seconds).
    pub idle_timeout_seconds: u64,
    /// Most connections open at once.
    pub max_connections: usize,
    /// PEM certificate chain: serve HTTPS (with `tls_key`). Unset: plain HTTP.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// The lowest TLS version accepted when serving HTTPS: `"1.3"` (default) or `"1.2"`
    /// (from the environment, `LEDGER_HTTP__TLS_MIN_VERSION=1.2` reads as a number: taken too).
    #[serde(deserialize_with = "version_text")]
    pub tls_min_version: String,
}

fn version_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        Text(String),
        Number(f64),
    }
    Ok(match V::deserialize(d)? {
        V::Text(t) => t,
        V::Number(n) => format!("{n:?}"),
    })
}

impl Default for HttpConfig {
    fn default() -> Self {
        let d = crate::http::HttpLimits::default();
        Self {
            body_bytes: d.body_bytes,
            json_depth: d.json_depth,
            batch_max: d.batch_max,
            rate_per_sec: d.rate_per_sec,
            rate_burst: d.rate_burst,
            request_timeout_seconds: d.request_timeout.as_secs(),
            token_cache_ms: u64::try_from(d.token_cache.as_millis()).unwrap_or(u64::MAX),
            shutdown_grace_seconds: 30,
            header_read_timeout_ms: u64::try_from(d.header_read_timeout.as_millis()).unwrap_or(u64::MAX),
            idle_timeout_seconds: d.idle_timeout.as_secs(),
            max_connections: d.max_connections,
            tls_cert: None,
            tls_key: None,
            tls_min_version: "1.3".into(),
        }
    }
}

impl HttpConfig {
    /// The limits.
    pub fn limits(&self) -> crate::http::HttpLimits {
        crate::http::HttpLimits {
            body_bytes: self.body_bytes,
            json_depth: self.json_depth,
            batch_max: self.batch_max,
            rate_per_sec: self.rate_per_sec,
            rate_burst: self.rate_burst,
            request_timeout: std::time::Duration::from_secs(self.request_timeout_seconds),
            token_cache: std::time::Duration::from_millis(self.token_cache_ms),
            header_read_timeout: std::time::Duration::from_millis(self.header_read_timeout_ms),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_seconds),
            max_connections: self.max_connections,
        }
    }

    /// The TLS versions to offer.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a `tls_min_version` other than `"1.3"` or `"1.2"`.
    pub fn tls_versions(&self) -> Result<crate::tls::TlsVersions, ConfigError> {
        crate::tls::TlsVersions::from_min_version(&self.tls_min_version).map_err(|m| ConfigError::Invalid(format!("[http]: {m}")))
    }
}

impl Config {
    /// Where the key-encryption keys live: `keyring_dir`, else `<sqlite_dir>/keyring`.
    pub fn keyring_path(&self) -> Option<PathBuf> {
        self.keyring_dir.clone().or_else(|| self.store.sqlite_dir.as_ref().map(|d| d.join("keyring")))
    }

    /// Reads `path` and applies `LEDGER_*` overrides from `env`.
    ///
    /// # Errors
    /// [`ConfigError`].
    pub fn load(path: &Path, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.to_owned(), source })?;
        Self::parse(&text, env)
    }

    /// Parses TOML text and applies `LEDGER_*` overrides.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`].
    pub fn parse(text: &str, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let mut doc: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        for (k, v) in env {
            let Some(rest) = k.strip_prefix("LEDGER_") else { continue };
            // Variables the server reads for other purposes are not settings.
            if rest == "MASTER_KEY" || rest.starts_with("TEST_") || rest == "LOG" {
                continue;
            }
            let value =
                toml::from_str::<toml::Table>(&format!("v = {v}")).ok().and_then(|mut t| t.remove("v")).unwrap_or(toml::Value::String(v));
            let lower = rest.to_ascii_lowercase();
            match lower.split_once("__") {
                None => {
                    doc.insert(lower, value);
                }
                Some((section, key)) => {
                    let entry = doc.entry(section.to_owned()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    let toml::Value::Table(t) = entry else {
                        return Err(ConfigError::Invalid(format!("{k}: [{section}] is not a table")));
                    };
                    t.insert(key.to_owned(), value);
                }
            }
        }
        let cfg: Config = doc.try_into().map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        if cfg.store.sqlite_dir.is_some() == cfg.store.database_url.is_some() {
            return Err(ConfigError::Invalid("[store]: set exactly one of sqlite_dir and database_url".into()));
        }
        if cfg.master_key_file.is_some() == cfg.master_key_env.is_some() {
            return Err(ConfigError::Invalid("set exactly one of master_key_file and master_key_env".into()));
        }
        if cfg.keyring_dir.is_none() && cfg.store.sqlite_dir.is_none() {
            return Err(ConfigError::Invalid(
                "keyring_dir: required with [store] database_url (a directory every replica shares, outside the database)".into(),
            ));
        }
        if cfg.http.tls_cert.is_some() != cfg.http.tls_key.is_some() {
            return Err(ConfigError::Invalid("[http]: set both tls_cert and tls_key, or neither".into()));
        }
        cfg.http.tls_versions()?;
        if cfg.http.header_read_timeout_ms == 0 || cfg.http.idle_timeout_seconds == 0 || cfg.http.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "[http]: header_read_timeout_ms, idle_timeout_seconds and max_connections must be at least 1".into(),
            ));
        }
        if cfg.sealing.tick_seconds == 0 || cfg.anchoring.tick_seconds == 0 {
            return Err(ConfigError::Invalid("tick_seconds must be at least 1".into()));
        }
        let a = &cfg.anchoring;
        if a.concurrency == 0 || a.tsa_deadline_seconds == 0 || a.fabric_deadline_seconds == 0 {
            return Err(ConfigError::Invalid("[anchoring]: concurrency and the deadlines must be at least 1".into()));
        }
        if let Some(o) = &cfg.oidc {
            o.gate()?;
        }
        // Jurisdictions are compared with residency policies: an unknown code would put the
        // authority outside every policy.
        for t in &cfg.tsa {
            ledger::residency::country_code(&t.jurisdiction)
                .map_err(|e| ConfigError::Invalid(format!("[[tsa]] {}: jurisdiction: {e}", t.name)))?;
        }
        if let Some(j) = cfg.fabric.as_ref().and_then(|f| f.jurisdiction.as_deref()) {
            ledger::residency::country_code(j).map_err(|e| ConfigError::Invalid(format!("[fabric] jurisdiction: {e}")))?;
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        ledger_name = "ledger.test"
        ledger_key = "/k/ledger.skey"
        master_key_file = "/k/master.key"
        [store]
        sqlite_dir = "/data"
    "#;

    #[test]
    fn file_then_env_overrides() {
        let env = vec![
            ("LEDGER_LISTEN".to_owned(), "0.0.0.0:9000".to_owned()),
            ("LEDGER_HTTP__RATE_PER_SEC".to_owned(), "7.5".to_owned()),
            ("LEDGER_SEALING__TICK_SECONDS".to_owned(), "3".to_owned()),
            ("PATH".to_owned(), "/bin".to_owned()),
        ];
        let c = Config::parse(BASE, env).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert!((c.http.rate_per_sec - 7.5).abs() < f64::EPSILON);
        assert_eq!(c.sealing.tick_seconds, 3);
        assert_eq!(c.http.batch_max, 1000);
        let a = &c.anchoring;
        assert_eq!((a.tick_seconds, a.concurrency, a.tsa_deadline_seconds, a.fabric_deadline_seconds), (5, 4, 10, 120));
        let env = vec![("LEDGER_ANCHORING__TSA_DEADLINE_SECONDS".to_owned(), "3".to_owned())];
        assert_eq!(Config::parse(BASE, env).unwrap().anchoring.tsa_deadline_seconds, 3);
        assert!(Config::parse(&format!("{BASE}\n[anchoring]\nconcurrency = 0"), vec![]).is_err());
    }

    #[test]
    fn oidc_section_builds_a_gate_and_refuses_what_cannot_work() {
        let oidc = |extra: &str| format!("{BASE}\n[oidc]\nissuer = \"https://idp.example/\"\naudience = \"ledger\"\n{extra}");
        let cfg = Config::parse(&oidc("jwks_url = \"https://idp.example/jwks\""), vec![]).unwrap();
        let gate = cfg.oidc.unwrap().gate().unwrap();
        assert_eq!(gate.roles.len(), 5, "every human role by default");
        assert!(!gate.roles.contains(&crate::auth::Role::Service));
        assert_eq!(gate.policy.leeway_seconds, 60);
        let cfg = Config::parse(&oidc("jwks_file = \"/k/jwks.json\"\nroles = [\"cfo\"]\nacr_values = [\"phr\"]"), vec![]).unwrap();
        let gate = cfg.oidc.unwrap().gate().unwrap();
        assert_eq!((gate.roles, gate.policy.acr_values), (vec![crate::auth::Role::Cfo], vec!["phr".to_owned()]));
        for bad in [
            "",                                                                   // no key source
            "jwks_url = \"https://idp.example/jwks\"\njwks_file = \"/k/j.json\"", // both
            "jwks_url = \"http://idp.example/jwks\"",                             // plain http, not loopback
            "jwks_file = \"/k/j.json\"\nroles = [\"service\"]",                   // machines have no IdP login
            "jwks_file = \"/k/j.json\"\nroles = [\"ceo\"]",                       // no such role
            "jwks_file = \"/k/j.json\"\nnonce = true",                            // unknown key
        ] {
            assert!(Config::parse(&oidc(bad), vec![]).is_err(), "{bad}");
        }
    }

    #[test]
    fn connection_limits_and_tls_versions() {
        let c = Config::parse(BASE, vec![]).unwrap();
        let l = c.http.limits();
        assert_eq!((l.header_read_timeout.as_secs(), l.idle_timeout.as_secs(), l.max_connections), (10, 60, 1024));
        assert_eq!(c.http.tls_versions().unwrap(), crate::tls::TlsVersions::Tls13Only, "TLS 1.3 only unless configured");
        let env = vec![
            ("LEDGER_HTTP__TLS_MIN_VERSION".to_owned(), "1.2".to_owned()),
            ("LEDGER_HTTP__MAX_CONNECTIONS".to_owned(), "8".to_owned()),
            ("LEDGER_HTTP__HEADER_READ_TIMEOUT_MS".to_owned(), "500".to_owned()),
        ];
        let c = Config::parse(BASE, env).unwrap();
        assert_eq!(c.http.tls_versions().unwrap(), crate::tls::TlsVersions::AllowTls12);
        assert_eq!((c.http.limits().max_connections, c.http.limits().header_read_timeout.as_millis()), (8, 500));
        for bad in ["tls_min_version = \"1.1\"", "tls_min_version = \"1.0\"", "max_connections = 0", "idle_timeout_seconds = 0"] {
            assert!(Config::parse(&format!("{BASE}\n[http]\n{bad}"), vec![]).is_err(), "{bad}");
        }
    }

    #[test]
    fn typos_and_conflicts_are_refused() {
        assert!(Config::parse(&format!("{BASE}\nlisen = \"x\""), vec![]).is_err());
        assert!(Config::parse(BASE, vec![("LEDGER_HTTP__RATE".to_owned(), "1".to_owned())]).is_err());
        let both = BASE.replace("sqlite_dir = \"/data\"", "sqlite_dir = \"/d\"\ndatabase_url = \"postgres://x\"");
        assert!(Config::parse(&both, vec![]).is_err());
        assert!(Config::parse(BASE, vec![("LEDGER_STORE__DATABASE_URL".to_owned(), "postgres://x".to_owned())]).is_err());
    }
}
