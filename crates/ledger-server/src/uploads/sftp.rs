//! The SFTP drop directory: a watcher over each tenant's `<root>/incoming/`.
//!
//! Dealers upload with any SFTP client into `incoming/`. A file is taken when it is
//! complete: names ending in `.part` (and dot-files) are never taken, so a client that
//! uploads as `name.part` and renames it is taken right after the rename; any other file is
//! taken once its size and modification time have not changed for `sftp_stable_ms`.
//!
//! The file name says what it is: `<profile>_<export>[_anything].csv`, e.g.
//! `cdk_sales_2026-12-01.csv` (profiles `cdk`, `reynolds`, `dealertrack`, `pbs`, `quorum`;
//! exports `sales`, `service`, `inventory`, `gl`).
//!
//! # Steps, each recorded before the next side effect
//!
//! 1. `incoming/N` is renamed to `processing/<id>__N` (`<id>` a fresh upload id): the
//!    rename is atomic, and the name in `processing/` is the record that the file was taken.
//! 2. The upload row is created (`pending`, via `sftp`, source `incoming/N`).
//! 3. The file is streamed into the tenant's encrypted store; the row becomes `received`.
//! 4. Ingestion ([`super::service`]): claims appended, the row `ingested` or `refused`.
//! 5. A refusal writes `refused/N.errors.json` (the errors of `pipeline check --json`, the
//!    upload id and the file's SHA-256); then the file moves to `done/N` or `refused/N` (a
//!    name already there gets the id prefix). A file refused for a customer-PII header is
//!    deleted instead of moved, as is its encrypted copy: only the `.errors.json` remains.
//!
//! At start, and on every pass, each file in `processing/` is resumed from the step its row
//! records, so a crash at any point neither loses a file (it is in `incoming/` or
//! `processing/` until the last step) nor ingests it twice (each step is conditional or
//! idempotent: see [`super::service`]).

use std::collections::HashMap;
use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use evidence_core::{TenantId, UnixMillis};
use ledger::store::Store;
use ledger::store::uploads::{NewUpload, UploadChange, UploadRow, UploadState, UploadStore as _};
use serde_json::json;

use super::files::FileError;
use super::service::{self, UploadError, UploadService, profile_of};

/// One tenant's drop directory.
#[derive(Clone, Debug)]
pub struct DropDir {
    /// The tenant.
    pub tenant: TenantId,
    /// Its root (`incoming/`, `processing/`, `done/`, `refused/` below).
    pub root: PathBuf,
}

impl DropDir {
    /// `root/incoming`.
    pub fn incoming(&self) -> PathBuf {
        self.root.join("incoming")
    }
    /// `root/processing`.
    pub fn processing(&self) -> PathBuf {
        self.root.join("processing")
    }
    /// `root/done`.
    pub fn done(&self) -> PathBuf {
        self.root.join("done")
    }
    /// `root/refused`.
    pub fn refused(&self) -> PathBuf {
        self.root.join("refused")
    }

    /// Creates the four directories when missing.
    ///
    /// # Errors
    /// I/O.
    pub fn ensure(&self) -> std::io::Result<()> {
        for d in [self.incoming(), self.processing(), self.done(), self.refused()] {
            fs::create_dir_all(d)?;
        }
        Ok(())
    }
}

/// `(profile, export)` from a drop file name `<profile>_<export>[_…][.csv]`.
pub fn parse_name(name: &str) -> Option<(String, String)> {
    let stem = name.strip_suffix(".csv").or_else(|| name.strip_suffix(".CSV")).unwrap_or(name);
    let mut parts = stem.splitn(3, '_');
    let p = parts.next()?.to_ascii_lowercase();
    let e = parts.next()?.to_ascii_lowercase();
    profile_of(&p, &e).ok().map(|_| (p, e))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn rename_synced(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::rename(from, to)?;
    if let Some(p) = to.parent() {
        sync_dir(p);
    }
    if let Some(p) = from.parent() {
        sync_dir(p);
    }
    Ok(())
}

/// A free name in `dir` for `name` (`<id>__name` when `name` is taken).
fn free_name(dir: &Path, name: &str, id: &str) -> PathBuf {
    let p = dir.join(name);
    if p.exists() { dir.join(format!("{id}__{name}")) } else { p }
}

/// The watcher of several drop directories.
pub struct Watcher<S: Store> {
    svc: Arc<UploadService<S>>,
    dirs: Vec<DropDir>,
    seen: HashMap<PathBuf, (u64, Option<SystemTime>, Instant)>,
}

impl<S: Store> std::fmt::Debug for Watcher<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").field("dirs", &self.dirs).finish_non_exhaustive()
    }
}

impl<S: Store + Clone> Watcher<S> {
    /// A watcher of `dirs` feeding `svc`.
    pub fn new(svc: Arc<UploadService<S>>, dirs: Vec<DropDir>) -> Self {
        Self { svc, dirs, seen: HashMap::new() }
    }

    /// Runs passes every `sftp_poll` until the task is dropped.
    pub async fn run(mut self) {
        for d in &self.dirs {
            if let Err(e) = d.ensure() {
                tracing::error!(tenant = %d.tenant, root = %d.root.display(), error = %e, "drop directory cannot be prepared");
            }
        }
        let poll = self.svc.settings().sftp_poll;
        loop {
            self.pass().await;
            tokio::time::sleep(poll).await;
        }
    }

    /// One pass over every directory: resumes `processing/`, takes complete files from
    /// `incoming/`. Answers how many files were finished.
    pub async fn pass(&mut self) -> usize {
        let mut n = 0;
        for i in 0..self.dirs.len() {
            let d = self.dirs[i].clone();
            match self.pass_dir(&d).await {
                Ok(k) => n += k,
                Err(e) => tracing::warn!(tenant = %d.tenant, error = %e, "drop directory pass failed; retried next pass"),
            }
        }
        n
    }

    async fn pass_dir(&mut self, d: &DropDir) -> Result<usize, UploadError> {
        let mut n = 0;
        for (id, name) in list_processing(&d.processing())? {
            self.process(d, &id, &name).await?;
            n += 1;
        }
        let stable = self.svc.settings().sftp_stable;
        let now = Instant::now();
        let mut present = Vec::new();
        for entry in fs::read_dir(d.incoming()).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() || name.starts_with('.') || name.to_ascii_lowercase().ends_with(".part") {
                continue;
            }
            let path = entry.path();
            present.push(path.clone());
            let sig = (meta.len(), meta.modified().ok());
            let ready = match self.seen.get(&path) {
                Some((len, m, since)) if (*len, *m) == sig => now.duration_since(*since) >= stable,
                _ => {
                    self.seen.insert(path.clone(), (sig.0, sig.1, now));
                    stable.is_zero()
                }
            };
            if !ready {
                continue;
            }
            self.seen.remove(&path);
            let id = format!("s{}", &new_hex()?);
            rename_synced(&path, &d.processing().join(format!("{id}__{name}"))).map_err(io)?;
            self.process(d, &id, &name).await?;
            n += 1;
        }
        self.seen.retain(|p, _| !p.starts_with(d.incoming()) || present.contains(p));
        Ok(n)
    }

    /// Takes `processing/<id>__<name>` from wherever its row says it is to `done/` or
    /// `refused/`.
    async fn process(&self, d: &DropDir, id: &str, name: &str) -> Result<(), UploadError> {
        let file = d.processing().join(format!("{id}__{name}"));
        let Some((profile, export)) = parse_name(name) else {
            return self.refuse_name(d, id, name, &file).await;
        };
        let t = self.svc.ledger.tenant(&d.tenant).await?;
        let mut row = if let Some(r) = t.store().upload(id).await? {
            r
        } else {
            {
                let now = ledger::now();
                t.store()
                    .create_upload(&NewUpload {
                        id: id.to_owned(),
                        via: "sftp".into(),
                        source: format!("incoming/{name}"),
                        profile,
                        export,
                        max_bytes: self.svc.settings().max_bytes,
                        // No URL: a drop upload can never be claimed by a PUT.
                        expires_at: UnixMillis(0),
                        created_at: now,
                        state: UploadState::Pending,
                        bytes: None,
                        sha256: None,
                    })
                    .await?;
                t.store().upload(id).await?.ok_or(UploadError::NotFound)?
            }
        };
        if row.state == UploadState::Pending {
            let files = self.svc.files().tenant(&d.tenant)?;
            let (src, owned_id, limit) = (file.clone(), id.to_owned(), row.upload.max_bytes);
            let put = tokio::task::spawn_blocking(move || {
                let mut f = BufReader::with_capacity(64 * 1024, fs::File::open(&src)?);
                files.put(&owned_id, &mut f, limit)
            })
            .await
            .map_err(|e| UploadError::Body(e.to_string()))?;
            let now = ledger::now();
            match put {
                Ok(s) => {
                    let c = UploadChange { bytes: Some(s.bytes), sha256: Some(hex::encode(s.sha256)), ..UploadChange::default() };
                    t.store().change_upload(id, UploadState::Pending, UploadState::Received, &c, now).await?;
                    let _ = service::audit(
                        &self.svc.ledger,
                        &d.tenant,
                        "received",
                        &json!({"upload_id": id, "via": "sftp", "path": row.upload.source, "bytes": s.bytes, "file_sha256": hex::encode(s.sha256)}),
                    )
                    .await;
                }
                Err(FileError::TooLarge { limit }) => {
                    let errors = json!([{"kind": "too_large", "column": null, "row": null, "message": format!("the file is over the {limit}-byte upload limit")}]);
                    let c = UploadChange { errors: Some(errors.to_string()), claims: Some("[]".into()), ..UploadChange::default() };
                    t.store().change_upload(id, UploadState::Pending, UploadState::Refused, &c, now).await?;
                    super::metrics().uploads.inc(&[("via", "sftp"), ("outcome", "too_large")]);
                    let _ = service::audit(
                        &self.svc.ledger,
                        &d.tenant,
                        "too_large",
                        &json!({"upload_id": id, "via": "sftp", "path": row.upload.source}),
                    )
                    .await;
                }
                Err(e) => return Err(e.into()),
            }
            row = t.store().upload(id).await?.ok_or(UploadError::NotFound)?;
        }
        if row.state == UploadState::Received {
            row = self.svc.ingest(&t, id).await?.row;
        }
        Self::finish(d, &row, name, &file)
    }

    fn finish(d: &DropDir, row: &UploadRow, name: &str, file: &Path) -> Result<(), UploadError> {
        let id = &row.upload.id;
        match row.state {
            UploadState::Ingested => {
                rename_synced(file, &free_name(&d.done(), name, id)).map_err(io)?;
            }
            UploadState::Refused => {
                let st = service::status(row);
                let pii = st.errors.iter().any(|e| e["kind"] == "pii_column");
                let report = json!({
                    "upload_id": id,
                    "accepted": false,
                    "file_sha256": st.sha256,
                    "deleted": pii,
                    "errors": st.errors,
                    "claims": st.claims,
                });
                write_synced(&d.refused().join(format!("{name}.errors.json")), &format!("{report:#}\n")).map_err(io)?;
                if pii {
                    match fs::remove_file(file) {
                        Ok(()) => sync_dir(&d.processing()),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io(e)),
                    }
                } else {
                    rename_synced(file, &free_name(&d.refused(), name, id)).map_err(io)?;
                }
            }
            s => return Err(UploadError::State(s.as_str())),
        }
        Ok(())
    }

    async fn refuse_name(&self, d: &DropDir, id: &str, name: &str, file: &Path) -> Result<(), UploadError> {
        let report = json!({
            "upload_id": null,
            "accepted": false,
            "errors": [{"kind": "unknown_profile", "column": null, "row": null,
                        "message": "the file name must be <profile>_<export>[_anything].csv, e.g. cdk_sales_2026-12-01.csv"}],
        });
        write_synced(&d.refused().join(format!("{name}.errors.json")), &format!("{report:#}\n")).map_err(io)?;
        rename_synced(file, &free_name(&d.refused(), name, id)).map_err(io)?;
        super::metrics().uploads.inc(&[("via", "sftp"), ("outcome", "refused")]);
        let _ = service::audit(
            &self.svc.ledger,
            &d.tenant,
            "refused_name",
            &json!({"upload_id": id, "via": "sftp", "path": format!("incoming/{name}")}),
        )
        .await;
        Ok(())
    }
}

fn io(e: std::io::Error) -> UploadError {
    UploadError::Files(FileError::Io(e))
}

fn new_hex() -> Result<String, UploadError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| UploadError::Files(FileError::Random(e.to_string())))?;
    Ok(hex::encode(b))
}

fn write_synced(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        f.sync_all()?;
    }
    rename_synced(&tmp, path)
}

/// The `(id, name)` of each `processing/<id>__<name>`, oldest name first.
fn list_processing(dir: &Path) -> Result<Vec<(String, String)>, UploadError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let name = entry.map_err(io)?.file_name().to_string_lossy().into_owned();
        if let Some((id, rest)) = name.split_once("__")
            && id.starts_with('s')
            && id.len() == 33
            && id[1..].bytes().all(|b| b.is_ascii_hexdigit())
        {
            out.push((id.to_owned(), rest.to_owned()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_profile_and_export() {
        assert_eq!(parse_name("cdk_sales_2026-12-01.csv"), Some(("cdk".into(), "sales".into())));
        assert_eq!(parse_name("PBS_Service.csv"), Some(("pbs".into(), "service".into())));
        assert_eq!(parse_name("sales.csv"), None);
        assert_eq!(parse_name("cdk_nothing_x.csv"), None);
        assert_eq!(parse_name("unknown_sales.csv"), None);
    }
}
