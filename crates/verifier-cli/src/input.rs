//! Reading input files with a size limit, so a hostile file cannot exhaust memory.

use std::io::Read as _;
use std::path::Path;

/// Reads at most `limit` bytes of `path`; a larger file is an error, as is an unreadable one.
///
/// # Errors
/// A message naming the file and the problem.
pub fn read_limited(path: &Path, limit: usize) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut buf = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap).read_to_end(&mut buf).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if buf.len() > limit {
        return Err(format!("{} is larger than the {limit}-byte limit", path.display()));
    }
    Ok(buf)
}
