use super::*;

fn t(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

use std::fs;
use std::path::{Path, PathBuf};

fn store(dir: &Path) -> FileStore {
    FileStore::local(dir, SecretKey::from_bytes([3; 32]))
}

/// Where the local backend keeps `name` of the handle `f`.
fn path(dir: &Path, f: &TenantFiles, name: &str) -> PathBuf {
    LocalBlobs::new(dir).path(BlobKey { tenant: f.tenant(), name })
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| u8::try_from(i % 251).unwrap()).collect()
}

fn read_all(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).map(|_| v)
}

fn tmp() -> PathBuf {
    let d = std::env::temp_dir().join(format!("uploads-files-{}-{}", std::process::id(), hex::encode(random::<8>().unwrap())));
    fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn round_trip_at_chunk_boundaries() {
    let dir = tmp();
    let files = store(&dir).tenant(&t("a")).unwrap();
    for n in [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES, 3 * CHUNK_BYTES + 17] {
        let body = data(n);
        let s = files.put("up1", &mut body.as_slice(), u64::MAX).unwrap();
        assert_eq!(s.bytes, n as u64);
        assert_eq!(s.sha256, sha256(&[&body]));
        assert_eq!(read_all(&mut files.open("up1").unwrap()).unwrap(), body, "size {n}");
        // Encrypted at rest: the plaintext does not appear in the stored file.
        if n >= 64 {
            let raw = fs::read(path(&dir, &files, "up1")).unwrap();
            assert!(!raw.windows(64).any(|w| w == &body[..64]));
        }
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn limit_stops_reading_and_keeps_nothing() {
    let dir = tmp();
    let files = store(&dir).tenant(&t("a")).unwrap();
    let body = data(2 * CHUNK_BYTES + 5);
    let e = files.put("big", &mut body.as_slice(), 2 * CHUNK_BYTES as u64).unwrap_err();
    assert!(matches!(e, FileError::TooLarge { .. }), "{e}");
    assert!(!files.exists("big").unwrap());
    assert_eq!(fs::read_dir(dir.join("a")).unwrap().count(), 0, "no temporary file left");
    // Exactly at the limit is accepted.
    files.put("fits", &mut &body[..2 * CHUNK_BYTES], 2 * CHUNK_BYTES as u64).unwrap();
    fs::remove_dir_all(dir).unwrap();
}

fn chunk_offsets(raw: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 94;
    while at < raw.len() {
        let len = u32::from_be_bytes(raw[at + 1..at + 5].try_into().unwrap()) as usize;
        out.push((at, 5 + len));
        at += 5 + len;
    }
    out
}

#[test]
fn truncation_reordering_and_tampering_are_detected() {
    let dir = tmp();
    let files = store(&dir).tenant(&t("a")).unwrap();
    let body = data(3 * CHUNK_BYTES + 100);
    files.put("f", &mut body.as_slice(), u64::MAX).unwrap();
    let path = path(&dir, &files, "f");
    let raw = fs::read(&path).unwrap();
    let chunks = chunk_offsets(&raw);
    assert_eq!(chunks.len(), 4);
    let check = |bytes: &[u8], what: &str| {
        fs::write(&path, bytes).unwrap();
        let r = files.open("f").map_err(|e| io::Error::other(e.to_string())).and_then(|mut r| read_all(&mut r));
        assert!(r.is_err(), "{what} was not detected");
    };
    // Dropping the final chunk (truncation at a chunk boundary).
    check(&raw[..chunks[3].0], "truncation at a boundary");
    // Truncation inside a chunk.
    check(&raw[..raw.len() - 3], "truncation inside a chunk");
    // Swapping two chunks.
    let (a, b) = (chunks[0], chunks[1]);
    let mut swapped = raw[..a.0].to_vec();
    swapped.extend_from_slice(&raw[b.0..b.0 + b.1]);
    swapped.extend_from_slice(&raw[a.0..a.0 + a.1]);
    swapped.extend_from_slice(&raw[b.0 + b.1..]);
    check(&swapped, "reordering");
    // Flipping one ciphertext byte; marking a middle chunk final and cutting there.
    let mut flipped = raw.clone();
    flipped[chunks[1].0 + 10] ^= 1;
    check(&flipped, "a flipped byte");
    let mut flag = raw.clone();
    flag[chunks[2].0] = 1;
    check(&flag[..chunks[3].0], "a chunk marked final");
    // Trailing garbage.
    let mut extra = raw.clone();
    extra.push(0);
    check(&extra, "bytes after the final chunk");
    fs::write(&path, &raw).unwrap();
    assert_eq!(read_all(&mut files.open("f").unwrap()).unwrap(), body);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn another_tenants_key_or_name_cannot_open_it() {
    let dir = tmp();
    let s = store(&dir);
    let (a, b) = (s.tenant(&t("a")).unwrap(), s.tenant(&t("b")).unwrap());
    a.put("f", &mut &b"deal_number\nD-1\n"[..], u64::MAX).unwrap();
    // Copied into tenant b's directory under the same name: b's key does not open it.
    fs::create_dir_all(dir.join("b")).unwrap();
    fs::copy(path(&dir, &a, "f"), path(&dir, &b, "f")).unwrap();
    assert!(matches!(b.open("f"), Err(FileError::Corrupt(_))));
    // Renamed inside tenant a: bound to its name.
    fs::copy(path(&dir, &a, "f"), path(&dir, &a, "g")).unwrap();
    assert!(matches!(a.open("g"), Err(FileError::Corrupt(_))));
    // Another master key.
    let other = FileStore::local(&dir, SecretKey::from_bytes([4; 32])).tenant(&t("a")).unwrap();
    assert!(matches!(other.open("f"), Err(FileError::Corrupt(_))));
    // Names cannot leave the tenant's directory.
    let long = "x".repeat(65);
    for bad in ["../b/f", "a/b", "", ".", "f.evuf", long.as_str()] {
        assert!(matches!(a.put(bad, &mut &b"x"[..], 10), Err(FileError::BadName)), "{bad:?}");
        assert!(matches!(a.open(bad), Err(FileError::BadName)), "{bad:?}");
    }
    assert!(matches!(a.open("missing"), Err(FileError::NotFound)));
    a.delete("f").unwrap();
    a.delete("f").unwrap();
    assert!(!a.exists("f").unwrap());
    fs::remove_dir_all(dir).unwrap();
}
