//! The emulator's Rust-only semantics of the `evidence-anchor` chaincode
//! ([`super::ChaincodeMode::Rust`]): the same contract as `chaincode/evidence-anchor` (Node,
//! `fabric-contract-api`), rule for rule and message for message, run in process instead of
//! over the shim protocol.
//!
//! It also follows what the Node contract API's dispatcher does around the contract: an
//! invocation without arguments answers `Default initiator successful.`; a function name may
//! carry a contract name (`EvidenceAnchor:Anchor`); an unknown contract name is refused with
//! `Contract name is not known: <name>`. Not emulated: the contract API's built-in system
//! contract (`org.hyperledger.fabric:GetMetadata`), which this mode refuses.
//!
//! `tests/chaincode_shim.rs` runs the same transactions through this mode and through the real
//! Node chaincode and compares the endorsed results byte for byte.

use evidence_core::fabric::ANCHOR_NAMESPACE;
use evidence_core::internal::fabric_proto::{kvrwset, protos};

use super::simulation::{RwSet, Simulation};

/// The contract's name in the Node chaincode (its default contract).
pub(crate) const CONTRACT_NAME: &str = "EvidenceAnchor";
/// The contract API's system contract, not emulated.
const SYSTEM_CONTRACT: &str = "org.hyperledger.fabric";
/// The event a successful `Anchor` sets.
pub(crate) const EVENT_NAME: &str = "Anchored";

/// A committed-state lookup: value and version of a key, `None` when absent.
pub(crate) type StateLookup<'a> = &'a dyn Fn(&str) -> Option<(Vec<u8>, kvrwset::Version)>;

/// What the contract runs on: the invocation's arguments and its transaction context.
pub(crate) struct Invocation<'a> {
    /// `ChaincodeInput.args` (the first is the function name).
    pub(crate) args: &'a [Vec<u8>],
    /// The transaction id.
    pub(crate) tx_id: &'a str,
    /// The channel header's timestamp (the emulator refuses proposals without one).
    pub(crate) timestamp: &'a prost_types::Timestamp,
}

fn ok(payload: Vec<u8>) -> protos::Response {
    protos::Response { status: 200, message: String::new(), payload }
}

/// Runs the contract against committed state.
pub(crate) fn simulate(inv: &Invocation<'_>, state: StateLookup<'_>) -> Simulation {
    // The Node shim hands the contract its arguments as UTF-8 strings (invalid bytes replaced).
    let args: Vec<String> = inv.args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let Some(first) = args.first() else {
        return Simulation { response: ok(b"Default initiator successful.".to_vec()), rw: RwSet::default(), event: None };
    };
    // The contract API splits "Contract:function" at the first colon.
    let (contract, function) = match first.split_once(':') {
        Some((c, f)) => (c, f),
        None => ("", first.as_str()),
    };
    let contract = if contract.trim().is_empty() { CONTRACT_NAME } else { contract };
    if contract == SYSTEM_CONTRACT {
        return Simulation::error(
            500,
            format!("{SYSTEM_CONTRACT} (the contract API's system contract) is not emulated in the Rust semantics mode"),
        );
    }
    if contract != CONTRACT_NAME {
        return Simulation::error(500, format!("Contract name is not known: {contract}"));
    }
    let params = &args[1..];
    let result = match function {
        "Anchor" => anchor(inv, params, state),
        "Get" => get(params, state),
        _ => Err(format!("unknown function {} (the contract has Anchor and Get)", json_string(first))),
    };
    result.unwrap_or_else(|message| Simulation::error(500, message))
}

fn anchor(inv: &Invocation<'_>, params: &[String], state: StateLookup<'_>) -> Result<Simulation, String> {
    check_arg_count(3, params.len())?;
    let (tenant, seq, hash) = (&params[0], &params[1], &params[2]);
    check_tenant(tenant)?;
    check_seq(seq)?;
    check_hash_hex(hash)?;
    let key = crate::anchor_key(tenant, seq.parse().map_err(|_| "seq: not a u64".to_owned())?);
    let mut rw = RwSet::default();
    let existing = state(&key);
    rw.read(&key, existing.as_ref().map(|(_, v)| *v));
    if existing.is_some_and(|(v, _)| !v.is_empty()) {
        return Err(format!("Anchor: key {key} already exists; anchors are never overwritten"));
    }
    rw.write(&key, hash.as_bytes().to_vec());
    let tx_time = tx_time_rfc3339(inv.timestamp)?;
    let payload = format!(r#"{{"key":"{key}","tenant":"{tenant}","seq":"{seq}","checkpointHash":"{hash}","txTime":"{tx_time}"}}"#);
    let event = protos::ChaincodeEvent {
        chaincode_id: ANCHOR_NAMESPACE.to_owned(),
        tx_id: inv.tx_id.to_owned(),
        event_name: EVENT_NAME.to_owned(),
        payload: payload.into_bytes(),
    };
    Ok(Simulation { response: ok(Vec::new()), rw, event: Some(event) })
}

fn get(params: &[String], state: StateLookup<'_>) -> Result<Simulation, String> {
    check_arg_count(2, params.len())?;
    check_tenant(&params[0])?;
    check_seq(&params[1])?;
    let key = crate::anchor_key(&params[0], params[1].parse().map_err(|_| "seq: not a u64".to_owned())?);
    let mut rw = RwSet::default();
    let existing = state(&key);
    rw.read(&key, existing.as_ref().map(|(_, v)| *v));
    // The Node contract returns the value as a UTF-8 string.
    let payload = existing.map(|(v, _)| String::from_utf8_lossy(&v).into_owned().into_bytes()).unwrap_or_default();
    Ok(Simulation { response: ok(payload), rw, event: None })
}

/// The argument count, checked as the Node contract API's dispatcher checks it before the
/// contract runs (it infers the parameters from the function's signature).
fn check_arg_count(expected: usize, got: usize) -> Result<(), String> {
    if got == expected { Ok(()) } else { Err(format!("Expected {expected} parameters, but {got} have been supplied")) }
}

/// `evidence_core::TenantId`'s rule, with its reasons.
fn check_tenant(tenant: &str) -> Result<(), String> {
    let reason = match evidence_core::TenantId::new(tenant) {
        Ok(_) => return Ok(()),
        Err(evidence_core::ValueError::TenantId { reason, .. }) => reason,
        Err(e) => return Err(format!("tenant id: {e}")),
    };
    Err(format!("tenant id: {reason}"))
}

fn check_seq(seq: &str) -> Result<(), String> {
    let digits = seq.bytes().all(|b| b.is_ascii_digit());
    if seq.is_empty() || !digits || (seq.len() > 1 && seq.starts_with('0')) {
        return Err("seq: must be a decimal number without sign or leading zeros".to_owned());
    }
    if seq.parse::<u64>().is_err() {
        return Err(format!("seq: larger than {}", u64::MAX));
    }
    Ok(())
}

fn check_hash_hex(hex: &str) -> Result<(), String> {
    if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err("checkpointHashHex: must be exactly 64 lowercase hex characters".to_owned())
    }
}

/// `JSON.stringify` of a string, for the messages that quote one.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// The channel-header time as RFC 3339 UTC with nine fractional digits, as the Node contract
/// writes it from `stub.getTxTimestamp()` (whose seconds are an unsigned Long: negative seconds
/// read as 0).
pub(crate) fn tx_time_rfc3339(ts: &prost_types::Timestamp) -> Result<String, String> {
    let (seconds, nanos) = (ts.seconds.max(0), ts.nanos);
    if seconds > 253_402_300_799 || !(0..=999_999_999).contains(&nanos) {
        return Err("transaction timestamp out of range".to_owned());
    }
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    Ok(format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z", secs / 3600, secs % 3600 / 60, secs % 60))
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the usual era-based
/// conversion: 400-year eras of 146 097 days, years starting in March).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests;
