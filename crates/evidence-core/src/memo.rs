//! Bounded memos of pure checks: [`BoundedMemo`], and [`CertSigMemo`] for certificate
//! signatures already verified.
//!
//! Verifying a batch of bundles from one deployment presents the same few certificates (a
//! TSA's certificate under its root, a Fabric peer's and orderer's under their MSP roots)
//! thousands of times; the signature of a certificate by its issuer is a pure function of the
//! two DER encodings, so its result can be remembered. The key is SHA-256 of the child's DER
//! followed by SHA-256 of the issuer's DER, so a hit stands for exactly the check that was done.
//! Names, validity times and key usages are not memoised: callers check them on every use.
//! Only successes are stored, at most [`CertSigMemo::CAP`] per memo, so hostile input cannot
//! grow it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};

/// Results of a pure check by key, at most `cap` of them: once full, later results are
/// simply not remembered, so input cannot grow it without bound.
pub(crate) struct BoundedMemo<K, V> {
    cap: usize,
    done: Mutex<BTreeMap<K, V>>,
}

impl<K, V> std::fmt::Debug for BoundedMemo<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.done.lock().map_or(0, |m| m.len());
        f.debug_struct("BoundedMemo").field("cap", &self.cap).field("len", &len).finish()
    }
}

impl<K: Ord, V: Clone> BoundedMemo<K, V> {
    pub(crate) const fn new(cap: usize) -> Self {
        Self { cap, done: Mutex::new(BTreeMap::new()) }
    }

    /// The remembered result for `key`, or `check()`'s, remembered when it succeeds.
    pub(crate) fn get_or_try<E>(&self, key: K, check: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        if let Some(v) = self.done.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(v);
        }
        let v = check()?;
        if let Ok(mut m) = self.done.lock()
            && m.len() < self.cap
        {
            m.insert(key, v.clone());
        }
        Ok(v)
    }

    /// Forgets every remembered result.
    pub(crate) fn clear(&self) {
        if let Ok(mut m) = self.done.lock() {
            m.clear();
        }
    }

    /// The remembered result for `key`, or `check()`'s, remembered.
    pub(crate) fn get_or_insert_with(&self, key: K, check: impl FnOnce() -> V) -> V {
        match self.get_or_try(key, || Ok::<V, std::convert::Infallible>(check())) {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }
}

/// Successful certificate-signature checks, with what each check yields.
pub(crate) struct CertSigMemo<V>(BoundedMemo<[u8; 64], V>);

impl<V: Clone> CertSigMemo<V> {
    /// Entries kept at most; later successes are simply not remembered.
    pub(crate) const CAP: usize = 4096;

    pub(crate) const fn new() -> Self {
        Self(BoundedMemo::new(Self::CAP))
    }

    /// The remembered result for (`child_der`, `issuer_der`), or `check()`'s, remembered when it
    /// succeeds.
    pub(crate) fn get_or_check<E>(&self, child_der: &[u8], issuer_der: &[u8], check: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&Sha256::digest(child_der));
        key[32..].copy_from_slice(&Sha256::digest(issuer_der));
        self.0.get_or_try(key, check)
    }

    /// Forgets every remembered check (the next verification of a chain is a cold one).
    pub(crate) fn clear(&self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{BoundedMemo, CertSigMemo};

    #[test]
    fn stops_remembering_at_its_cap() {
        let memo = BoundedMemo::<u8, u8>::new(2);
        for k in 0..3 {
            assert_eq!(memo.get_or_insert_with(k, || k * 10), k * 10);
        }
        assert_eq!(memo.get_or_insert_with(1, || 99), 10, "remembered");
        assert_eq!(memo.get_or_insert_with(2, || 99), 99, "past the cap: not remembered");
    }

    #[test]
    fn remembers_successes_only_and_keys_on_both_certificates() {
        let memo = CertSigMemo::<u8>::new();
        let mut calls = 0;
        let mut check = |r: Result<u8, ()>| {
            calls += 1;
            r
        };
        assert_eq!(memo.get_or_check(b"child", b"root", || check(Err(()))), Err(()));
        assert_eq!(memo.get_or_check(b"child", b"root", || check(Ok(7))), Ok(7));
        assert_eq!(memo.get_or_check(b"child", b"root", || check(Ok(9))), Ok(7), "remembered");
        assert_eq!(memo.get_or_check(b"child", b"other root", || check(Ok(9))), Ok(9), "a different issuer is a different check");
        assert_eq!(memo.get_or_check(b"other child", b"root", || check(Err(()))), Err(()));
        memo.clear();
        assert_eq!(memo.get_or_check(b"child", b"root", || check(Ok(9))), Ok(9), "forgotten");
        assert_eq!(calls, 5);
    }
}
