//! The default backend: one directory per tenant on the local filesystem (or on storage every
//! replica mounts).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write as _};
use std::path::{Path, PathBuf};

use super::{BlobKey, Blobs, CHUNK_BYTES, FileError, Fill, Stored};

/// Blobs at `<root>/<tenant>/<name>.evuf`.
#[derive(Clone, Debug)]
pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    /// Blobs under `root` (created as needed).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory of `tenant`'s blobs. Tenant ids are `a-z 0-9 . _ -` and start with a
    /// letter or digit: a safe directory name.
    pub fn dir(&self, tenant: &evidence_core::TenantId) -> PathBuf {
        self.root.join(tenant.as_str())
    }

    /// The file holding `key`.
    pub fn path(&self, key: BlobKey<'_>) -> PathBuf {
        self.dir(key.tenant).join(format!("{}.evuf", key.name))
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl Blobs for LocalBlobs {
    fn put(&self, key: BlobKey<'_>, fill: Fill<'_>) -> Result<Stored, FileError> {
        let dir = self.dir(key.tenant);
        fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{}.tmp", key.name));
        let file = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        let mut w = BufWriter::with_capacity(CHUNK_BYTES + 64, file);
        let result = fill(&mut w).and_then(|s| {
            w.flush()?;
            let f = w.into_inner().map_err(|e| FileError::Io(e.into_error()))?;
            f.sync_all()?;
            Ok(s)
        });
        match result {
            Ok(s) => {
                fs::rename(&tmp, self.path(key))?;
                sync_dir(&dir);
                Ok(s)
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    fn get(&self, key: BlobKey<'_>) -> Result<Box<dyn Read + Send>, FileError> {
        match File::open(self.path(key)) {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(FileError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    fn delete(&self, key: BlobKey<'_>) -> Result<(), FileError> {
        match fs::remove_file(self.path(key)) {
            Ok(()) => {
                sync_dir(&self.dir(key.tenant));
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn exists(&self, key: BlobKey<'_>) -> Result<bool, FileError> {
        Ok(self.path(key).try_exists()?)
    }

    /// The root exists (or can be made) and is a directory.
    fn check(&self) -> Result<(), FileError> {
        fs::create_dir_all(&self.root)?;
        Ok(())
    }
}
