//! The Rust semantics on their own. That they match the Node chaincode is tested against the
//! real chaincode in `tests/chaincode_shim.rs`; these pin the rules and messages (the same
//! cases as `chaincode/evidence-anchor/test/contract.test.js`).

use evidence_core::internal::fabric_proto::kvrwset;

use super::{Invocation, simulate, tx_time_rfc3339};

const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn ts(seconds: i64, nanos: i32) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos }
}

fn run(args: &[&str], state: &[(&str, &str, u64)]) -> super::Simulation {
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let t = ts(1_700_000_000, 5);
    let inv = Invocation { args: &args, tx_id: "tx1", timestamp: &t };
    let lookup = |k: &str| {
        state.iter().find(|(key, _, _)| *key == k).map(|(_, v, b)| (v.as_bytes().to_vec(), kvrwset::Version { block_num: *b, tx_num: 0 }))
    };
    simulate(&inv, &lookup)
}

#[test]
fn anchor_reads_writes_and_emits() {
    let s = run(&["Anchor", "acme-motors.on", "42", HASH], &[]);
    assert_eq!(s.response.status, 200);
    assert!(s.response.payload.is_empty());
    assert_eq!(s.rw.reads(), vec![kvrwset::KvRead { key: "ckpt/acme-motors.on/42".into(), version: None }]);
    assert_eq!(
        s.rw.writes(),
        vec![kvrwset::KvWrite { key: "ckpt/acme-motors.on/42".into(), is_delete: false, value: HASH.as_bytes().to_vec() }]
    );
    let e = s.event.expect("event");
    assert_eq!((e.event_name.as_str(), e.chaincode_id.as_str(), e.tx_id.as_str()), ("Anchored", "evidence-anchor", "tx1"));
    assert_eq!(
        String::from_utf8(e.payload).expect("utf8"),
        format!(
            r#"{{"key":"ckpt/acme-motors.on/42","tenant":"acme-motors.on","seq":"42","checkpointHash":"{HASH}","txTime":"2023-11-14T22:13:20.000000005Z"}}"#
        )
    );
}

#[test]
fn refusals_match_the_node_contract() {
    let long = "a".repeat(65);
    let upper = HASH.to_uppercase();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["Anchor", "t", "1"], "Expected 3 parameters, but 2 have been supplied"),
        (vec!["Anchor", "", "1", HASH], "tenant id: empty"),
        (vec!["Anchor", &long, "1", HASH], "tenant id: longer than 64 bytes"),
        (vec!["Anchor", "-t", "1", HASH], "tenant id: must start with a-z or 0-9"),
        (vec!["Anchor", "Acme", "1", HASH], "tenant id: only a-z, 0-9, '-', '_' and '.' are allowed"),
        (vec!["Anchor", "é", "1", HASH], "tenant id: must start with a-z or 0-9"),
        (vec!["Anchor", "t", "01", HASH], "seq: must be a decimal number without sign or leading zeros"),
        (vec!["Anchor", "t", "+1", HASH], "seq: must be a decimal number without sign or leading zeros"),
        (vec!["Anchor", "t", "18446744073709551616", HASH], "seq: larger than 18446744073709551615"),
        (vec!["Anchor", "t", "1", &upper], "checkpointHashHex: must be exactly 64 lowercase hex characters"),
        (vec!["Get", "t"], "Expected 2 parameters, but 1 have been supplied"),
        (vec!["Put", "t"], r#"unknown function "Put" (the contract has Anchor and Get)"#),
        (vec!["Other:Anchor", "t", "1", HASH], "Contract name is not known: Other"),
    ];
    for (args, message) in cases {
        let s = run(&args, &[]);
        assert_eq!((s.response.status, s.response.message.as_str()), (500, message), "{args:?}");
        assert!(s.rw.reads().is_empty() && s.rw.writes().is_empty() && s.event.is_none(), "{args:?}");
    }
}

#[test]
fn existing_key_is_refused_after_the_read() {
    let s = run(&["Anchor", "t", "5", HASH], &[("ckpt/t/5", HASH, 3)]);
    assert_eq!(s.response.status, 500);
    assert_eq!(s.response.message, "Anchor: key ckpt/t/5 already exists; anchors are never overwritten");
}

#[test]
fn get_and_dispatch_edges() {
    let s = run(&["EvidenceAnchor:Get", "t", "5"], &[("ckpt/t/5", HASH, 3)]);
    assert_eq!((s.response.status, s.response.payload.as_slice()), (200, HASH.as_bytes()));
    assert_eq!(s.rw.reads(), vec![kvrwset::KvRead { key: "ckpt/t/5".into(), version: Some(kvrwset::Version { block_num: 3, tx_num: 0 }) }]);
    let s = run(&["Get", "t", "6"], &[]);
    assert_eq!((s.response.status, s.response.payload.len()), (200, 0));
    let s = run(&[], &[]);
    assert_eq!((s.response.status, s.response.payload.as_slice()), (200, &b"Default initiator successful."[..]));
}

#[test]
fn tx_time_formats_like_the_node_contract() {
    assert_eq!(tx_time_rfc3339(&ts(0, 0)).as_deref(), Ok("1970-01-01T00:00:00.000000000Z"));
    assert_eq!(tx_time_rfc3339(&ts(951_782_400, 999_999_999)).as_deref(), Ok("2000-02-29T00:00:00.999999999Z"));
    assert_eq!(tx_time_rfc3339(&ts(253_402_300_799, 1)).as_deref(), Ok("9999-12-31T23:59:59.000000001Z"));
    // The Node shim reads seconds as an unsigned Long: negative seconds become 0.
    assert_eq!(tx_time_rfc3339(&ts(-5, 0)).as_deref(), Ok("1970-01-01T00:00:00.000000000Z"));
    for t in [ts(253_402_300_800, 0), ts(1, -1), ts(1, 1_000_000_000)] {
        assert!(tx_time_rfc3339(&t).is_err());
    }
}
