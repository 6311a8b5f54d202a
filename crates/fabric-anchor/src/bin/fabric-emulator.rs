//! `fabric-emulator`: serves the Fabric Gateway gRPC API on a local port for tests and demos.
//!
//! It is NOT a Fabric network: see the `fabric_anchor::emulator` docs for what it checks.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use fabric_anchor::emulator::{self, ChaincodeMode, EmulatorConfig, ShimConfig, ShimTls};

/// Serve the Fabric Gateway API (gateway.Gateway) with the `evidence-anchor` chaincode and
/// `qscc`, generating a fresh test PKI (org CA, peer, orderer, client; ECDSA P-256) at start.
///
/// The chaincode runs as Rust semantics in process, or, with --chaincode-address and
/// --chaincode-id, is the real chaincode server the emulator dials over the Fabric chaincode
/// shim protocol (chaincode-as-a-service: start it with `npm run start:server` in
/// chaincode/evidence-anchor).
///
/// The trust material a verifier needs (MSP root PEM per MSP id, orderer MSP id, channels) is
/// printed as JSON on stdout, and written to --out when given.
#[derive(Debug, Parser)]
#[command(name = "fabric-emulator", version)]
struct Args {
    /// Address to listen on (plain HTTP/2, no TLS).
    #[arg(long, default_value = "127.0.0.1:7051")]
    listen: SocketAddr,
    /// A channel to create (repeatable); default `evidence`.
    #[arg(long = "channel")]
    channels: Vec<String>,
    /// Directory to write `msp/<MSPID>.pem` (roots, the layout `evidence-verify --msp-roots`
    /// reads), `trust.json`, and the client identity `client/cert.pem`, `client/key.pem`
    /// (PKCS#8) with `client/mspid`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Serve mutual TLS: a generated TLS CA issues the server certificate (`localhost`,
    /// `127.0.0.1`) and a client certificate; with --out they are written as `tls/ca.pem`,
    /// `tls/client.pem`, `tls/client.key`.
    #[arg(long)]
    tls: bool,
    /// Run the chaincode over the shim protocol: the chaincode server's HOST:PORT.
    #[arg(long, requires = "chaincode_id")]
    chaincode_address: Option<String>,
    /// The id the chaincode server registers with (its package ID).
    #[arg(long, requires = "chaincode_address")]
    chaincode_id: Option<String>,
    /// TLS to the chaincode server: the CA certificate (PEM) that issued its certificate.
    #[arg(long, requires = "chaincode_address")]
    chaincode_tls_root_cert: Option<PathBuf>,
    /// Mutual TLS to the chaincode server: the peer's client certificate (PEM).
    #[arg(long, requires_all = ["chaincode_tls_root_cert", "chaincode_tls_client_key"])]
    chaincode_tls_client_cert: Option<PathBuf>,
    /// Mutual TLS to the chaincode server: the client certificate's PKCS#8 key (PEM).
    #[arg(long, requires = "chaincode_tls_client_cert")]
    chaincode_tls_client_key: Option<PathBuf>,
}

fn read(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The chaincode mode the arguments ask for.
fn chaincode_mode(args: &Args) -> Result<ChaincodeMode, String> {
    let (Some(address), Some(id)) = (&args.chaincode_address, &args.chaincode_id) else { return Ok(ChaincodeMode::Rust) };
    let mut cfg = ShimConfig::plaintext(address.clone(), id.clone());
    if let Some(root) = &args.chaincode_tls_root_cert {
        let client = match (&args.chaincode_tls_client_cert, &args.chaincode_tls_client_key) {
            (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
            _ => None,
        };
        cfg.tls = Some(ShimTls { root_cert_pem: read(root)?, client_cert_and_key_pem: client, domain: None });
    }
    Ok(ChaincodeMode::Shim(cfg))
}

fn write(path: &std::path::Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        // The client key is a (test) secret: owner-only, like every file written here.
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let chaincode = match chaincode_mode(&args) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("fabric-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let channels = if args.channels.is_empty() { vec!["evidence".to_owned()] } else { args.channels.clone() };
    let config = EmulatorConfig { listen: args.listen, channels, tls: args.tls, chaincode, identities: None };
    let emu = match emulator::spawn(config).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("fabric-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let t = emu.trust();
    let trust = serde_json::json!({
        "gateway": emu.url(),
        "msp_roots": t.msp_roots,
        "orderer_msp": t.orderer_msp,
        "channels": t.channels,
        "client_msp_id": emu.client_identity().msp_id(),
    });
    if let Some(dir) = &args.out {
        let mut files: Vec<(PathBuf, String)> =
            t.msp_roots.iter().map(|(id, pem)| (dir.join("msp").join(format!("{id}.pem")), pem.clone())).collect();
        files.push((dir.join("trust.json"), format!("{trust:#}\n")));
        files.push((dir.join("client/cert.pem"), emu.client_identity().cert_pem().to_owned()));
        files.push((dir.join("client/key.pem"), emu.client_key_pem().to_owned()));
        files.push((dir.join("client/mspid"), format!("{}\n", emu.client_identity().msp_id())));
        if let Some(tls) = emu.tls() {
            files.push((dir.join("tls/ca.pem"), tls.ca_pem.clone()));
            files.push((dir.join("tls/client.pem"), tls.client_cert_pem.clone()));
            files.push((dir.join("tls/client.key"), tls.client_key_pem.clone()));
        }
        for (p, text) in files {
            if let Err(e) = write(&p, &text) {
                eprintln!("fabric-emulator: {e}");
                return ExitCode::from(2);
            }
        }
    }
    println!("{trust:#}");
    eprintln!("fabric-emulator: serving gateway.Gateway on {} (Ctrl-C to stop)", emu.url());
    let _ = tokio::signal::ctrl_c().await;
    emu.shutdown().await;
    ExitCode::SUCCESS
}
