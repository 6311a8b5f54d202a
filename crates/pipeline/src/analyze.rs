//! Leakage analyzers over the canonical ingest tables. **Partly built.**
//!
//! Built: the name-leak sweep ([`roster`]): every string in a claim body (keys and values, at
//! any depth) is checked against the tenant's staff roster, names, nicknames, accents and case
//! folded; a claim that names a staff member is refused before it is written. Built: the
//! contracts-in-transit analyzer ([`cit`]), whose findings name staff by personnel code only
//! and pass the sweep before they become `leakage_finding` append requests.
//!
//! Not built yet (issue 9): the F&I, financial-structure and service/warranty analyzers, the
//! three consumers (manager scorecard, hierarchical score, affinity), the `gate_decision`,
//! `sop_attestation` and `ria_submission_row` claims, the retraction of a leaked claim already
//! written, and the `pipeline analyze` CLI.

pub mod cit;
pub mod roster;
