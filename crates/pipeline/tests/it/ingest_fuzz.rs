//! Fuzz-style properties: arbitrary bytes never panic, and every report is self-consistent.

use pipeline::ingest::{self, DeclaredEncoding, Dms, Export, Limits, Options, Profile};
use proptest::prelude::*;

fn csvish() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        &b"Stock Number"[..],
        b"Make",
        b"Year",
        b"List Price",
        b"Customer Name",
        b",",
        b"\n",
        b"\r\n",
        b"\r",
        b"\"",
        b"\"\"",
        b"=1+2",
        b"-12.50",
        b"\0",
        b"\xEF\xBB\xBF",
        b"\xff",
        b"2024",
        b"S1",
        b"Honda",
        b"PK\x03\x04",
        b" ",
        b"\t",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

fn check(bytes: &[u8], encoding: DeclaredEncoding) {
    let profile = Profile::get(Dms::Cdk, Export::Inventory).unwrap();
    let opts = Options {
        encoding,
        limits: Limits { max_field_bytes: 40, max_record_bytes: 200, max_errors: 20, ..Limits::default() },
        hash: true,
    };
    let report = ingest::check(&profile, bytes, &opts, |_| {}).expect("in-memory input is readable");
    assert_eq!(report.accepted, report.errors.is_empty());
    assert!(report.errors.len() <= 21);
    assert_eq!(report.stats.bytes_read, bytes.len() as u64);
    assert!(report.sha256.is_some());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        check(&bytes, DeclaredEncoding::Utf8);
        check(&bytes, DeclaredEncoding::Windows1252);
    }

    #[test]
    fn csv_shaped_bytes_never_panic(bytes in csvish()) {
        check(&bytes, DeclaredEncoding::Utf8);
    }
}
