//! Design notes: the threat model, and what each piece of evidence does and does not show.
//!
//! # Who we defend against
//!
//! - **The ledger operator rewriting history.** Every checkpoint is signed and names its
//!   predecessor's hash; consistency proofs show each tree extends the last. A rewrite needs
//!   a fork: two signed checkpoints that no consistency proof can join. Anyone holding two
//!   checkpoints can detect it ([`crate::checkpoint::verify_chain`]). The two anchors put the
//!   checkpoint hash outside the operator's control: an RFC 3161 token signed by a TSA, and a
//!   Fabric block endorsed by the channel's peers and signed by its orderer.
//! - **The ledger operator back-dating a claim.** A claim's time is bounded above by the
//!   anchors of the first checkpoint that includes it, not by the `appended_at` the ledger
//!   wrote. The verifier reports the TSA's genTime and the block, never `appended_at`, as
//!   independent time.
//! - **A third party guessing a claim's content from public hashes.** Leaves hold salted
//!   commitments, not content hashes: without the 32-byte salt a low-entropy claim ("pass")
//!   cannot be confirmed by hashing guesses.
//! - **A forged bundle.** Nothing in a bundle is trusted. The verifier needs a trust file
//!   obtained independently: the ledger's public key, the TSA roots (from the TSA), the
//!   Fabric MSP roots (from the consortium).
//!
//! # What we do not defend against
//!
//! - **A false claim.** The ledger proves that bytes existed, not that they are true.
//! - **Omission.** A claim never appended is not in any proof. Consistency proofs show
//!   nothing was removed *after* sealing; they cannot show what was never written.
//! - **A compromised ledger key before anchoring.** A key thief can sign a fork, but cannot
//!   anchor it in the past: the anchors of the genuine checkpoints stay the reference.
//! - **A compromised TSA or Fabric channel alone.** That is why there are two rails.
//!
//! # Erasure
//!
//! Erasing a record destroys its ciphertext, data key and salt. The leaf stays: inclusion
//! and consistency proofs keep verifying, and the bundle says the content is not disclosed.
//! Because the salt is gone, even someone who still holds a copy of the record cannot prove
//! from the ledger that it was the record behind the leaf. An `erasure` claim records that
//! the erasure happened.
//!
//! # Hashing and encodings
//!
//! | value | definition |
//! |---|---|
//! | content hash | `SHA-256(JCS({"body", "kind", "v": 1}))` ([`crate::claim`]) |
//! | commitment | `SHA-256("evidence/v1/commitment\0" ‖ salt ‖ content hash)` |
//! | leaf hash | `SHA-256(0x00 ‖ leaf entry)` ([`crate::leaf`]) |
//! | node hash | `SHA-256(0x01 ‖ left ‖ right)` (RFC 9162 §2.1.1) |
//! | checkpoint hash | `SHA-256(checkpoint note body)` ([`crate::checkpoint`]); the anchored value |
//!
//! Each encoding has exactly one form: decoders re-encode to the same bytes, which the fuzz
//! targets assert.
