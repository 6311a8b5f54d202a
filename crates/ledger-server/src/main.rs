//! `ledger-server`: the evidence ledger's HTTP service and its administration commands.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use evidence_core::TenantId;
use ledger::Ledger;
use ledger::crypto::{FileKeyring, MasterKey};
use ledger::rails::HttpTsaRail;
use ledger::store::postgres::PgStore;
use ledger::store::sqlite::{Durability, SqliteStore};
use ledger::store::{Rail, Store, TenantConfig};
use ledger_server::audit;
use ledger_server::auth::{self, Role};
use ledger_server::config::Config;
use ledger_server::dev;
use ledger_server::server::{self, ServiceOptions};

const AFTER_HELP: &str = "\
Quick start (no set-up; development trust material, NOT evidence):
  ledger-server dev
then follow the README walk-through: append a claim with curl, wait for a seal, download the
bundle, and check it with `evidence-verify bundle BUNDLE --trust ./data/trust.json`.

Production:
  ledger-server serve --config /etc/ledger/ledger.toml
  ledger-server tenant create rooftop-17 --config /etc/ledger/ledger.toml
  ledger-server token create --tenant rooftop-17 --role auditor --label \"KPMG audit 2026\" --config ...
  ledger-server report --tenant rooftop-17 --from 2026-10-01 --to 2026-12-31 --out q4.pdf --config ...";

/// The evidence ledger: per-tenant verifiable logs of claims, sealed into signed
/// checkpoints and anchored by RFC 3161 time-stamps (and Hyperledger Fabric).
#[derive(Debug, Parser)]
#[command(name = "ledger-server", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the service from a TOML configuration (every setting also from LEDGER_* variables).
    Serve {
        /// The configuration file (see the ledger-server README for every key).
        #[arg(long, env = "LEDGER_CONFIG")]
        config: PathBuf,
    },
    /// Runs a development server with no set-up: SQLite under --data, an in-process
    /// development TSA (not evidence), sealing every minute, a demo tenant and token, and a
    /// trust.json for the verifier.
    Dev(DevArgs),
    /// Manages bearer tokens (stored only as hashes).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manages tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Rotates the ledger's checkpoint key: seals a hand-over checkpoint in every tenant,
    /// signed by the current key and co-signed by the new one, and writes the current key's
    /// verifier key (.vkey) beside the new key. Then set `ledger_key` to the new key, add the
    /// .vkey file to `retired_ledger_keys` and restart `serve`: the trust file then holds
    /// both keys and every bundle, from before or after, verifies with it.
    RotateKey {
        /// The `serve` configuration (its `ledger_key` is the key being retired).
        #[arg(long, env = "LEDGER_CONFIG")]
        config: PathBuf,
        /// The new signed-note private key (named after `ledger_name`).
        #[arg(long)]
        new_key: PathBuf,
        /// Create --new-key (random, mode 0600) when it does not exist.
        #[arg(long)]
        generate: bool,
    },
    /// Issues a signed, time-stamped PDF report of a tenant's findings in a period, exactly
    /// as `GET /v1/tenants/{tenant}/reports/findings.pdf` does (and records it as a
    /// `report_issued` claim).
    Report(ReportArgs),
}

const REPORT_HELP: &str = "\
The report is cut at the tenant's newest checkpoint anchored by its TSA, lists every
leakage_finding whose business date (as_of) is in the period, with its status (retracted,
superseded), checkpoint, TSA genTime and anchoring state, and attaches each one's evidence
bundle. It is signed (PAdES B-T) with the [reports] identity of --config and time-stamped by
the [[tsa]] list; with --data (a `ledger-server dev` directory) with the development
report-signing CA and TSA of DIR/dev (labelled DEVELOPMENT in the PDF).

Examples:
  ledger-server report --data ./data --tenant demo --from 2026-01-01 --to 2026-12-31 --out report.pdf
  ledger-server report --config /etc/ledger/ledger.toml --tenant rooftop-17 \\
      --from 2026-10-01 --to 2026-12-31 --out rooftop-17-q4.pdf

Check it: pyhanko sign validate --trust SIGNING-CA.pem --trust TSA-ROOT.pem --no-revocation-check report.pdf
          pdfdetach -saveall report.pdf && evidence-verify bundle claim-N.bundle.json --trust trust.json";

#[derive(Debug, Args)]
#[command(after_help = REPORT_HELP)]
struct ReportArgs {
    /// A `serve` configuration file (store, ledger key, master key, [reports], [[tsa]]).
    #[arg(long, env = "LEDGER_CONFIG", conflicts_with = "data")]
    config: Option<PathBuf>,
    /// A `ledger-server dev` data directory (development signing material and TSA).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// First day of the period, YYYY-MM-DD.
    #[arg(long)]
    from: String,
    /// Last day of the period, YYYY-MM-DD (inclusive).
    #[arg(long)]
    to: String,
    /// Where to write the signed PDF.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct DevArgs {
    /// Data directory (created if missing; reused across restarts).
    #[arg(long, default_value = "./data")]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The demo tenant to create.
    #[arg(long, default_value = "demo")]
    tenant: String,
    /// Seconds between seals of the demo tenant.
    #[arg(long, default_value_t = 60)]
    seal_every: u64,
    /// How the in-process Fabric emulator runs the evidence-anchor chaincode: `rust` (its
    /// semantics in process) or `node` (the real Node.js chaincode of chaincode/evidence-anchor,
    /// started as a chaincode server and driven over the Fabric chaincode shim protocol, as a
    /// peer would; needs Node.js and `npm ci` in that directory).
    #[arg(long, value_enum, default_value_t = DevChaincode::Rust)]
    chaincode: DevChaincode,
    /// The chaincode's directory for `--chaincode node` (default: the source tree's).
    #[arg(long)]
    chaincode_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DevChaincode {
    /// The contract's semantics in Rust, in process.
    Rust,
    /// The real Node chaincode over the chaincode shim protocol.
    Node,
}

/// Where the administration commands find the store: a serve configuration, or a SQLite
/// directory (what `dev` uses), or a PostgreSQL URL.
#[derive(Debug, Args)]
struct StoreArgs {
    /// A `serve` configuration file.
    #[arg(long, env = "LEDGER_CONFIG", conflicts_with_all = ["data", "database_url"])]
    config: Option<PathBuf>,
    /// A SQLite data directory (e.g. the `dev` server's ./data).
    #[arg(long, conflicts_with = "database_url")]
    data: Option<PathBuf>,
    /// A PostgreSQL URL.
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issues a token and prints it once (only its hash is stored).
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// The tenant it is bound to (not for --role admin).
        #[arg(long)]
        tenant: Option<String>,
        /// dealer_principal, cfo, dealer_operator, auditor, service or admin.
        #[arg(long)]
        role: String,
        /// A label for people ("pipeline on host X").
        #[arg(long, default_value = "")]
        label: String,
        /// Lifetime in days (at most 90).
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// The person a human-role token belongs to: the `sub` or e-mail of their OIDC ID
        /// token. Required for human roles when the server's `[oidc]` section requires MFA.
        #[arg(long)]
        principal: Option<String>,
    },
    /// Lists tokens (ids, tenants, roles, expiry; never secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revokes a token by id; a running server refuses it within its `http.token_cache_ms`
    /// (1 s by default).
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        /// The token id (16 hex digits, as listed).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Creates a tenant (idempotent).
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// Tenant id: a-z, 0-9, '-', '_', '.', at most 58 bytes.
        id: String,
        /// Fabric channel for its anchors.
        #[arg(long, default_value = "evidence")]
        channel: String,
        /// Allowed anchoring jurisdictions, ISO 3166-1 alpha-2 codes (e.g. CA); repeat for
        /// several. Empty: any. An unknown code is refused.
        #[arg(long)]
        residency: Vec<String>,
        /// Seal at least every this many seconds.
        #[arg(long, default_value_t = 3600)]
        seal_every: u64,
    },
    /// Lists tenants.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("LEDGER_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: logs captured to files and journals stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn run(cmd: Command) -> Result<(), Error> {
    match cmd {
        Command::Serve { config } => serve(&config).await,
        Command::Dev(args) => dev_server(args).await,
        Command::Token(t) => token(t).await,
        Command::Tenant(t) => tenant(t).await,
        Command::RotateKey { config, new_key, generate } => rotate_key(&config, &new_key, generate).await,
        Command::Report(r) => report(r).await,
    }
}

enum AnyStore {
    Sqlite(SqliteStore),
    Pg(PgStore),
}

async fn open_store(args: &StoreArgs) -> Result<AnyStore, Error> {
    if let Some(url) = &args.database_url {
        return Ok(AnyStore::Pg(PgStore::connect(url, 4).await?));
    }
    if let Some(dir) = &args.data {
        if !dir.join("catalogue.db").exists() {
            return Err(format!("{}: no ledger data here (expected catalogue.db)", dir.display()).into());
        }
        return Ok(AnyStore::Sqlite(SqliteStore::open(dir, Durability::PowerLoss).await?));
    }
    if let Some(path) = &args.config {
        let cfg = Config::load(path, std::env::vars())?;
        return store_from_config(&cfg).await;
    }
    Err("say where the store is: --config FILE, --data DIR or --database-url URL".into())
}

async fn store_from_config(cfg: &Config) -> Result<AnyStore, Error> {
    match (&cfg.store.sqlite_dir, &cfg.store.database_url) {
        (Some(dir), None) => Ok(AnyStore::Sqlite(SqliteStore::open(dir, Durability::PowerLoss).await?)),
        (None, Some(url)) => Ok(AnyStore::Pg(PgStore::connect(url, cfg.store.max_connections).await?)),
        _ => Err("[store]: set exactly one of sqlite_dir and database_url".into()),
    }
}

async fn token(cmd: TokenCommand) -> Result<(), Error> {
    match cmd {
        TokenCommand::Create { store, tenant, role, label, days, principal } => {
            let role: Role = role.parse().map_err(|_| format!("unknown role {role:?}; one of {}", role_names()))?;
            let tenant = tenant.map(TenantId::new).transpose()?;
            let t = NewToken { tenant, role, label: &label, days, principal: principal.as_deref() };
            match open_store(&store).await? {
                AnyStore::Sqlite(s) => create_token(&s, t).await,
                AnyStore::Pg(s) => create_token(&s, t).await,
            }
        }
        TokenCommand::List { store } => {
            let all = match open_store(&store).await? {
                AnyStore::Sqlite(s) => s.tokens().await?,
                AnyStore::Pg(s) => s.tokens().await?,
            };
            let now = ledger::now();
            println!(
                "{:<16}  {:<24}  {:<16}  {:<10}  {:<24}  {:<24}  label",
                "id", "tenant", "role", "state", "expires (UTC)", "principal"
            );
            for t in all {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.expires_at <= now {
                    "expired"
                } else {
                    "active"
                };
                let tenant = t.tenant.as_ref().map_or("-", TenantId::as_str);
                let principal = t.principal.as_deref().unwrap_or("-");
                println!(
                    "{:<16}  {:<24}  {:<16}  {:<10}  {:<24}  {principal:<24}  {}",
                    t.id,
                    tenant,
                    t.role.name(),
                    state,
                    t.expires_at.to_rfc3339(),
                    t.label
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { store, id } => {
            let done = match open_store(&store).await? {
                AnyStore::Sqlite(s) => s.revoke_token(&id, ledger::now()).await?,
                AnyStore::Pg(s) => s.revoke_token(&id, ledger::now()).await?,
            };
            if done {
                eprintln!("revoked {id}");
                Ok(())
            } else {
                Err(format!("no active token {id}").into())
            }
        }
    }
}

fn role_names() -> String {
    Role::ALL.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")
}

/// What `token create` (and `dev`) issue.
struct NewToken<'a> {
    tenant: Option<TenantId>,
    role: Role,
    label: &'a str,
    days: u32,
    principal: Option<&'a str>,
}

async fn create_token<S: Store>(store: &S, t: NewToken<'_>) -> Result<(), Error> {
    let bearer = issue_token(store, t).await?;
    println!("{bearer}");
    eprintln!("(shown once: only its hash is stored)");
    Ok(())
}

async fn issue_token<S: Store>(store: &S, t: NewToken<'_>) -> Result<String, Error> {
    if let Some(tenant) = &t.tenant {
        if let Some(why) = audit::reserved(tenant) {
            return Err(format!("no token for {tenant}: {why}").into());
        }
        store.open_tenant(tenant).await.map_err(|e| format!("{e}: create the tenant first"))?;
    }
    if let Some(p) = t.principal
        && (!t.role.is_human() || p.trim().is_empty() || p.len() > 256)
    {
        return Err("--principal is the person a human-role token belongs to (a non-empty OIDC `sub` or e-mail, at most 256 bytes); service tokens have none".into());
    }
    let mut id = [0u8; 8];
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut id)?;
    getrandom::fill(secret.as_mut())?;
    let lifetime = i64::from(t.days).saturating_mul(86_400_000);
    let mut issued = auth::issue(id, *secret, t.tenant, t.role, t.label, ledger::now(), lifetime)?;
    issued.record.principal = t.principal.map(str::to_owned);
    store.put_token(&issued.record).await?;
    eprintln!(
        "token {} for {} as {}{} until {}",
        issued.record.id,
        issued.record.tenant.as_ref().map_or("the ledger", TenantId::as_str),
        t.role,
        t.principal.map(|p| format!(" ({p})")).unwrap_or_default(),
        issued.record.expires_at.to_rfc3339()
    );
    Ok(issued.bearer)
}

async fn tenant(cmd: TenantCommand) -> Result<(), Error> {
    match cmd {
        TenantCommand::Create { store, id, channel, residency, seal_every } => {
            let id = TenantId::new(id)?;
            if let Some(why) = audit::reserved(&id) {
                return Err(why.into());
            }
            let residency = residency
                .iter()
                .map(|c| ledger::residency::country_code(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("--residency: {e}"))?;
            let config = TenantConfig {
                residency,
                fabric_channel: channel,
                seal_every_ms: seal_every.saturating_mul(1000),
                ..TenantConfig::default()
            };
            let created = match open_store(&store).await? {
                AnyStore::Sqlite(s) => s.create_tenant_if_absent(&id, &config).await?.1,
                AnyStore::Pg(s) => s.create_tenant_if_absent(&id, &config).await?.1,
            };
            if created {
                eprintln!("tenant {id} created");
            } else {
                eprintln!("tenant {id} already exists (its stored policy is unchanged)");
            }
            Ok(())
        }
        TenantCommand::List { store } => {
            let all = match open_store(&store).await? {
                AnyStore::Sqlite(s) => s.tenants().await?,
                AnyStore::Pg(s) => s.tenants().await?,
            };
            for t in all.iter().filter(|t| !t.as_str().ends_with(audit::AUDIT_SUFFIX)) {
                println!("{t}");
            }
            Ok(())
        }
    }
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text + "\n").map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}

fn load_signer(path: &Path, ledger_name: &str) -> Result<evidence_core::note::NoteSigner, Error> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?);
    let signer = evidence_core::note::NoteSigner::parse(text.trim()).map_err(|e| format!("{}: {e}", path.display()))?;
    if signer.name() != ledger_name {
        return Err(format!("{} is named {:?} but ledger_name is {:?}", path.display(), signer.name(), ledger_name).into());
    }
    Ok(signer)
}

fn open_keys(cfg: &Config) -> Result<FileKeyring, Error> {
    let master = match (&cfg.master_key_file, &cfg.master_key_env) {
        (Some(p), _) => MasterKey::from_file(p)?,
        (None, Some(var)) => MasterKey::from_env(var)?,
        (None, None) => return Err("set master_key_file or master_key_env".into()),
    };
    let keyring = cfg.keyring_path().ok_or("keyring_dir is required with [store] database_url")?;
    Ok(FileKeyring::open(master, keyring)?)
}

/// The `[uploads]` settings: tenant file keys and the default URL key derive from the master key.
fn upload_settings(cfg: &Config) -> Result<Option<ledger_server::uploads::UploadSettings>, Error> {
    let Some(u) = &cfg.uploads else { return Ok(None) };
    let text = zeroize::Zeroizing::new(match (&cfg.master_key_file, &cfg.master_key_env) {
        (Some(p), _) => std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
        (None, Some(var)) => std::env::var(var).map_err(|_| format!("{var} is not set"))?,
        (None, None) => return Err("set master_key_file or master_key_env".into()),
    });
    let master = ledger::crypto::SecretKey::from_hex(text.trim())?;
    let default_dir = cfg.store.sqlite_dir.as_ref().map(|d| d.join("uploads"));
    Ok(Some(u.resolve(&master, default_dir, cfg.listen)?))
}

/// The trust file's ledger keys: the current one and the retired ones from the configuration.
fn retired_keys(cfg: &Config) -> Result<Vec<evidence_core::trust::LedgerKey>, Error> {
    let mut out = Vec::new();
    for path in &cfg.retired_ledger_keys {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v = evidence_core::NoteVerifier::parse(text.trim()).map_err(|e| format!("{}: not a verifier key: {e}", path.display()))?;
        if v.name() != cfg.ledger_name {
            return Err(format!("{} is named {:?} but ledger_name is {:?}", path.display(), v.name(), cfg.ledger_name).into());
        }
        out.push(evidence_core::trust::LedgerKey {
            name: v.name().to_owned(),
            ed25519_public_key: evidence_core::bundle::Base64(v.key().as_bytes().to_vec()),
        });
    }
    Ok(out)
}

async fn rotate_key(path: &Path, new_key: &Path, generate: bool) -> Result<(), Error> {
    let cfg = Config::load(path, std::env::vars())?;
    let old = load_signer(&cfg.ledger_key, &cfg.ledger_name)?;
    if !new_key.exists() && !generate {
        return Err(format!("{} does not exist (pass --generate to create it)", new_key.display()).into());
    }
    let new = dev::load_or_create_signer(new_key, &cfg.ledger_name)?;
    if new.name() != cfg.ledger_name {
        return Err(format!("{} is named {:?} but ledger_name is {:?}", new_key.display(), new.name(), cfg.ledger_name).into());
    }
    if new.verifier().id() == old.verifier().id() {
        return Err("the new key is the current key".into());
    }
    let vkey_path = new_key.with_file_name(format!("{}-{:08x}.vkey", cfg.ledger_name, old.verifier().id()));
    std::fs::write(&vkey_path, format!("{}\n", old.verifier().to_vkey())).map_err(|e| format!("{}: {e}", vkey_path.display()))?;
    let keys = open_keys(&cfg)?;
    let rails = if cfg.fabric.is_some() { Rail::ALL.to_vec() } else { vec![Rail::Tsa] };
    macro_rules! go {
        ($store:expr) => {{
            let ledger = Ledger::with_rails($store, old, keys, rails);
            let tenants = ledger.tenants().await?;
            for id in &tenants {
                let t = ledger.tenant(id).await?;
                let cp = t.seal_handover(&new).await?;
                println!("{id}: hand-over checkpoint {} at tree size {}", cp.seq.0, cp.root.tree_size.0);
            }
            tenants.len()
        }};
    }
    let n = match store_from_config(&cfg).await? {
        AnyStore::Sqlite(s) => go!(s),
        AnyStore::Pg(s) => go!(s),
    };
    eprintln!(
        "{n} tenant{} handed over to key {:08x}. Next: set ledger_key = {:?}, add {:?} to retired_ledger_keys, restart serve \
         (checkpoints sealed before the restart are signed by the old key alone, which the trust file keeps).",
        if n == 1 { "" } else { "s" },
        new.verifier().id(),
        new_key.display().to_string(),
        vkey_path.display().to_string()
    );
    Ok(())
}

async fn serve(path: &Path) -> Result<(), Error> {
    let cfg = Config::load(path, std::env::vars())?;
    let signer = load_signer(&cfg.ledger_key, &cfg.ledger_name)?;
    let retired = retired_keys(&cfg)?;
    let mut roots = Vec::new();
    let mut roots_pem = Vec::new();
    let mut endpoints = Vec::new();
    for t in &cfg.tsa {
        for r in &t.roots {
            let pem = std::fs::read(r).map_err(|e| format!("{}: {e}", r.display()))?;
            roots.extend(evidence_core::rfc3161::certificates_from_pem_or_der(&pem).map_err(|e| format!("{}: {e}", r.display()))?);
            roots_pem.push(String::from_utf8_lossy(&pem).into_owned());
        }
        let j = tsa_client::Jurisdiction::new(&t.jurisdiction)?;
        endpoints.push(tsa_client::TsaEndpoint::new(t.name.clone(), &t.url, j)?);
    }
    let (fabric, fabric_msps) = match &cfg.fabric {
        None => (None, Vec::new()),
        Some(f) => {
            let (rail, msps) = fabric_rail(f)?;
            (Some(rail), msps)
        }
    };
    if let Some(out) = &cfg.trust_out {
        let mut trust = dev::trust_file(&signer, roots_pem, fabric_msps, false);
        trust.ledgers.extend(retired);
        write_json(out, &trust)?;
    }
    let opts = ServiceOptions {
        limits: cfg.http.limits(),
        seal_tick: Duration::from_secs(cfg.sealing.tick_seconds),
        anchor_tick: Duration::from_secs(cfg.anchoring.tick_seconds),
        anchor_concurrency: cfg.anchoring.concurrency,
        tsa_deadline: Duration::from_secs(cfg.anchoring.tsa_deadline_seconds),
        fabric_deadline: Duration::from_secs(cfg.anchoring.fabric_deadline_seconds),
        grace: Duration::from_secs(cfg.http.shutdown_grace_seconds),
        mfa: cfg.oidc.as_ref().map(ledger_server::config::OidcConfig::gate).transpose()?.map(std::sync::Arc::new),
        reports: report_service(&cfg, &endpoints, &roots)?.map(std::sync::Arc::new),
        uploads: upload_settings(&cfg)?,
        ui: ledger_server::ui::UiOptions::default(),
    };
    let tcp = tokio::net::TcpListener::bind(cfg.listen).await.map_err(|e| format!("bind {}: {e}", cfg.listen))?;
    let listener = match (&cfg.http.tls_cert, &cfg.http.tls_key) {
        (Some(cert), Some(key)) => {
            let tls = ledger_server::tls::server_config_with(cert, key, cfg.http.tls_versions()?)?;
            ledger_server::http::Bind::Tls(ledger_server::tls::TlsListener::new(tcp, tls)?)
        }
        _ => ledger_server::http::Bind::Plain(tcp),
    };
    tracing::info!(listen = %cfg.listen, tls = cfg.http.tls_cert.is_some(), ledger = %cfg.ledger_name, tsas = endpoints.len(), "serving");
    let rails = if cfg.fabric.is_some() { Rail::ALL.to_vec() } else { vec![Rail::Tsa] };
    let keys = open_keys(&cfg)?;
    let erasure_window = Duration::from_secs(cfg.erasure_window_seconds);
    macro_rules! go {
        ($store:expr) => {{
            let ledger = Ledger::with_rails($store, signer, keys, rails).with_erasure_window(erasure_window);
            let tsa = if endpoints.is_empty() {
                tracing::warn!("no [[tsa]] configured: checkpoints stay pending on the TSA rail");
                None
            } else {
                let client = tsa_client::TsaClient::new(endpoints, tsa_client::ClientConfig::default())?;
                Some(HttpTsaRail::new(client, roots, Vec::new()))
            };
            server::run(ledger, tsa, fabric, listener, opts, server::shutdown_signal()).await?;
        }};
    }
    match store_from_config(&cfg).await? {
        AnyStore::Sqlite(s) => go!(s),
        AnyStore::Pg(s) => go!(s),
    }
    Ok(())
}

async fn dev_server(args: DevArgs) -> Result<(), Error> {
    let data = args.data;
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let signer = dev::load_or_create_signer(&data.join("ledger.skey"), "dev-ledger.localhost")?;
    let keys = FileKeyring::open(MasterKey::open_or_create(&data.join("master.key"))?, data.join("keyring"))?;
    let pki = dev::load_or_create_pki(&data)?;
    // The Fabric emulator, in process: a fresh PKI at every start. Its roots are added to
    // the trust file's (earlier runs' roots are kept, so earlier bundles still verify).
    // With --chaincode node the chaincode server lives as long as the dev server (dropped last).
    let (chaincode, chaincode_mode) = match args.chaincode {
        DevChaincode::Rust => (None, fabric_anchor::emulator::ChaincodeMode::Rust),
        DevChaincode::Node => {
            let mut opts = fabric_anchor::emulator::NodeChaincodeOptions::new(DEV_CHAINCODE_ID);
            if let Some(dir) = &args.chaincode_dir {
                opts.dir.clone_from(dir);
            }
            let cc = fabric_anchor::emulator::NodeChaincodeServer::spawn(opts).await?;
            let mode = fabric_anchor::emulator::ChaincodeMode::Shim(cc.shim_config());
            (Some(cc), mode)
        }
    };
    let emulator = fabric_anchor::emulator::spawn(fabric_anchor::EmulatorConfig {
        channels: vec![TenantConfig::default().fabric_channel],
        chaincode: chaincode_mode,
        ..fabric_anchor::EmulatorConfig::default()
    })
    .await?;
    let chaincode_line = match &chaincode {
        None => "the contract's semantics in Rust (--chaincode node runs the real Node chaincode)".to_owned(),
        Some(cc) => format!("the Node chaincode at {} over the chaincode shim protocol", cc.address()),
    };
    let trust_path = data.join("trust.json");
    let previous: Vec<evidence_core::trust::MspCertificates> = std::fs::read(&trust_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<evidence_core::trust::TrustFile>(&b).ok())
        .map(|t| t.fabric_msps)
        .unwrap_or_default();
    let fabric_msps = dev::merge_msp_roots(previous, emulator.trust());
    write_json(&trust_path, &dev::trust_file(&signer, vec![pki.root_pem.clone()], fabric_msps, true))?;
    let gateway =
        fabric_anchor::GatewayClient::connect(fabric_anchor::GatewayConfig::plaintext(emulator.url()), emulator.client_identity().clone())?;
    let fabric = ledger::rails::GatewayFabricRail::new(
        fabric_anchor::AnchorClient::new(gateway),
        emulator.trust().msp_roots()?,
        "fabric-emulator (development, not evidence)",
        None,
    );
    let store = SqliteStore::open(&data, Durability::PowerLoss).await?;
    let tenant = TenantId::new(args.tenant)?;
    if let Some(why) = audit::reserved(&tenant) {
        return Err(why.into());
    }
    let config = TenantConfig { seal_every_ms: args.seal_every.max(1).saturating_mul(1000), ..TenantConfig::default() };
    let ledger = Ledger::with_rails(store.clone(), signer, keys, Rail::ALL.to_vec());
    ledger.create_tenant(&tenant, &config).await?;
    let t = NewToken { tenant: Some(tenant.clone()), role: Role::DealerPrincipal, label: "ledger-server dev", days: 7, principal: None };
    let bearer = issue_token(&store, t).await?;
    let token_path = data.join("dev").join("token");
    let _ = std::fs::remove_file(&token_path);
    dev::write_private(&token_path, bearer.as_bytes())?;
    let listener = tokio::net::TcpListener::bind(args.listen).await.map_err(|e| format!("bind {}: {e}", args.listen))?;
    let addr = listener.local_addr()?;
    let ui = ledger_server::ui::UiOptions::default();
    let link = ui.links.issue(&bearer, Duration::from_hours(1)).map_err(|e| format!("sign-in link: {e}"))?;
    eprintln!(
        "\nDEVELOPMENT SERVER: its TSA and keys are generated locally and are NOT evidence.\n\
         listening on  http://{addr}\n\
         dashboard     http://{addr}/ui/ (one-time sign-in link, valid 1 h: http://{addr}/ui/link/{link})\n\
         tenant        {tenant} (sealed every {}s)\n\
         token         {} (dealer_principal, 7 days; also in {})\n\
         trust file    {}\n\
         Fabric        emulator at {} (channel evidence), in process\n\
         chaincode     {chaincode_line}\n\
         reports       signed with {} (TSA root {})\n",
        args.seal_every,
        bearer,
        token_path.display(),
        trust_path.display(),
        emulator.url(),
        data.join("dev").join("report-signing-ca.pem").display(),
        data.join("dev").join("tsa-root.pem").display()
    );
    let reports = dev::report_service(&data)?;
    let opts = ServiceOptions {
        seal_tick: Duration::from_secs(1),
        anchor_tick: Duration::from_secs(1),
        grace: Duration::from_secs(10),
        reports: Some(std::sync::Arc::new(reports)),
        ui,
        ..ServiceOptions::default()
    };
    server::run(ledger, dev::DevTsaRail::new(pki), fabric, listener, opts, server::shutdown_signal()).await?;
    emulator.shutdown().await;
    drop(chaincode);
    Ok(())
}

/// The id the dev server's Node chaincode registers with (a package ID's shape, label:hash).
const DEV_CHAINCODE_ID: &str = "evidence-anchor_dev:0000000000000000000000000000000000000000000000000000000000000000";

/// The Fabric rail from `[fabric]`: the submitting identity, the Gateway connection (TLS
/// when `tls_ca` is set) and the MSP roots receipts are checked against.
fn fabric_rail(
    f: &ledger_server::config::FabricConfig,
) -> Result<(ledger::rails::GatewayFabricRail, Vec<evidence_core::trust::MspCertificates>), Error> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let identity = fabric_anchor::Identity::from_pem(&f.msp_id, &read(&f.cert)?, &read(&f.key)?)?;
    let mut gw = fabric_anchor::GatewayConfig::plaintext(f.gateway_url.clone());
    if let Some(ca) = &f.tls_ca {
        let client_cert_and_key_pem = match (&f.tls_client_cert, &f.tls_client_key) {
            (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
            (None, None) => None,
            _ => return Err("[fabric]: set both tls_client_cert and tls_client_key, or neither".into()),
        };
        gw.tls = Some(fabric_anchor::TlsConfig { ca_pem: read(ca)?, domain: None, client_cert_and_key_pem });
    } else if f.gateway_url.starts_with("https") {
        return Err("[fabric]: an https gateway_url needs tls_ca".into());
    }
    let client = fabric_anchor::GatewayClient::connect(gw, identity)?;
    let mut roots = evidence_core::fabric::MspRoots::new();
    let mut msps = Vec::new();
    for (id, path) in &f.msp_roots {
        let pem = read(path)?;
        roots.add_pem(id, pem.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
        let orderer = f.orderer_msps.contains(id);
        if orderer {
            roots.add_orderer_msp(id);
        }
        msps.push(evidence_core::trust::MspCertificates { msp_id: id.clone(), roots_pem: vec![pem], orderer });
    }
    let rail = ledger::rails::GatewayFabricRail::new(fabric_anchor::AnchorClient::new(client), roots, &f.network, f.jurisdiction.clone());
    Ok((rail, msps))
}

/// The `[reports]` generator of a `serve` configuration (None without `[reports]`).
fn report_service(
    cfg: &Config,
    endpoints: &[tsa_client::TsaEndpoint],
    roots: &[evidence_core::rfc3161::Certificate],
) -> Result<Option<ledger_server::report::ReportService>, Error> {
    let Some(r) = &cfg.reports else { return Ok(None) };
    if endpoints.is_empty() {
        return Err("[reports] needs a [[tsa]]: the report signature is time-stamped by the tenant's TSA".into());
    }
    let client = tsa_client::TsaClient::new(endpoints.to_vec(), tsa_client::ClientConfig::default())?;
    let svc = ledger_server::report::ReportService::new(
        r.identity()?,
        ledger_server::report::Stamper::Http(client),
        roots.to_vec(),
        false,
        &r.trust_file_source,
    )
    .with_currency(&r.currency)
    .with_max_findings(r.max_findings);
    tracing::info!(?svc, "signed reports enabled");
    Ok(Some(svc))
}

async fn report(args: ReportArgs) -> Result<(), Error> {
    let tenant = TenantId::new(&args.tenant)?;
    macro_rules! issue {
        ($store:expr, $signer:expr, $keys:expr, $svc:expr) => {{
            let ledger = Ledger::new($store, $signer, $keys);
            let t = ledger.tenant(&tenant).await?;
            let svc = std::sync::Arc::new($svc);
            svc.issue(ledger.name(), &t, &args.from, &args.to).await?
        }};
    }
    let issued = if let Some(data) = &args.data {
        if !data.join("catalogue.db").exists() {
            return Err(format!("{}: no ledger data here (expected catalogue.db)", data.display()).into());
        }
        let signer = dev::load_or_create_signer(&data.join("ledger.skey"), "dev-ledger.localhost")?;
        let keys = FileKeyring::open(MasterKey::open_or_create(&data.join("master.key"))?, data.join("keyring"))?;
        let svc = dev::report_service(data)?;
        let store = SqliteStore::open(data, Durability::PowerLoss).await?;
        issue!(store, signer, keys, svc)
    } else if let Some(path) = &args.config {
        let cfg = Config::load(path, std::env::vars())?;
        let signer = evidence_core::note::NoteSigner::parse(
            std::fs::read_to_string(&cfg.ledger_key).map_err(|e| format!("{}: {e}", cfg.ledger_key.display()))?.trim(),
        )
        .map_err(|e| format!("{}: {e}", cfg.ledger_key.display()))?;
        let mut roots = Vec::new();
        let mut endpoints = Vec::new();
        for t in &cfg.tsa {
            for r in &t.roots {
                let pem = std::fs::read(r).map_err(|e| format!("{}: {e}", r.display()))?;
                roots.extend(evidence_core::rfc3161::certificates_from_pem_or_der(&pem).map_err(|e| format!("{}: {e}", r.display()))?);
            }
            endpoints.push(tsa_client::TsaEndpoint::new(t.name.clone(), &t.url, tsa_client::Jurisdiction::new(&t.jurisdiction)?)?);
        }
        let svc = report_service(&cfg, &endpoints, &roots)?.ok_or("the configuration has no [reports] section")?;
        let master = match (&cfg.master_key_file, &cfg.master_key_env) {
            (Some(p), _) => MasterKey::from_file(p)?,
            (None, Some(var)) => MasterKey::from_env(var)?,
            (None, None) => return Err("set master_key_file or master_key_env".into()),
        };
        let keys = FileKeyring::open(master, cfg.keyring_path().ok_or("keyring_dir is required with [store] database_url")?)?;
        match store_from_config(&cfg).await? {
            AnyStore::Sqlite(s) => issue!(s, signer, keys, svc),
            AnyStore::Pg(s) => issue!(s, signer, keys, svc),
        }
    } else {
        return Err("say where the ledger is: --config FILE (a serve configuration) or --data DIR (a dev directory)".into());
    };
    let tmp = args.out.with_extension("pdf.tmp");
    std::fs::write(&tmp, &issued.pdf).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    eprintln!(
        "report of {} findings cut at checkpoint {} written to {} ({} bytes, SHA-256 {}), signature time-stamped at {}; recorded as claim {} (report_issued)",
        issued.findings,
        issued.checkpoint,
        args.out.display(),
        issued.pdf.len(),
        hex::encode(issued.signed_sha256),
        issued.timestamp_gen_time.to_rfc3339(),
        issued.receipt.seq.0
    );
    Ok(())
}
