//! A bounded memo of certificate signatures already verified.
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

/// Successful certificate-signature checks, with what each check yields.
pub(crate) struct CertSigMemo<V> {
    done: Mutex<BTreeMap<[u8; 64], V>>,
}

impl<V: Clone> CertSigMemo<V> {
    /// Entries kept at most; later successes are simply not remembered.
    pub(crate) const CAP: usize = 4096;

    pub(crate) const fn new() -> Self {
        Self { done: Mutex::new(BTreeMap::new()) }
    }

    /// The remembered result for (`child_der`, `issuer_der`), or `check()`'s, remembered when it
    /// succeeds.
    pub(crate) fn get_or_check<E>(&self, child_der: &[u8], issuer_der: &[u8], check: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&Sha256::digest(child_der));
        key[32..].copy_from_slice(&Sha256::digest(issuer_der));
        if let Some(v) = self.done.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(v);
        }
        let v = check()?;
        if let Ok(mut m) = self.done.lock()
            && m.len() < Self::CAP
        {
            m.insert(key, v.clone());
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::CertSigMemo;

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
        assert_eq!(calls, 4);
    }
}
