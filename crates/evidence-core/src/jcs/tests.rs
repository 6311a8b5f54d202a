use super::*;

fn num(bits: u64) -> String {
    let mut s = String::new();
    write_f64(f64::from_bits(bits), &mut s).unwrap();
    s
}

/// RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text.
#[test]
fn rfc8785_appendix_b_numbers() {
    let table: &[(u64, &str)] = &[
        (0x0000_0000_0000_0000, "0"),
        (0x8000_0000_0000_0000, "0"),
        (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0001, "-5e-324"),
        (0x7fef_ffff_ffff_ffff, "1.7976931348623157e+308"),
        (0xffef_ffff_ffff_ffff, "-1.7976931348623157e+308"),
        (0x4340_0000_0000_0000, "9007199254740992"),
        (0xc340_0000_0000_0000, "-9007199254740992"),
        (0x4430_0000_0000_0000, "295147905179352830000"),
        (0x44b5_2d02_c7e1_4af5, "9.999999999999997e+22"),
        (0x44b5_2d02_c7e1_4af6, "1e+23"),
        (0x44b5_2d02_c7e1_4af7, "1.0000000000000001e+23"),
        (0x444b_1ae4_d6e2_ef4e, "999999999999999700000"),
        (0x444b_1ae4_d6e2_ef4f, "999999999999999900000"),
        (0x444b_1ae4_d6e2_ef50, "1e+21"),
        (0x3eb0_c6f7_a0b5_ed8c, "9.999999999999997e-7"),
        (0x3eb0_c6f7_a0b5_ed8d, "0.000001"),
        (0x41b3_de43_5555_5553, "333333333.3333332"),
        (0x41b3_de43_5555_5554, "333333333.33333325"),
        (0x41b3_de43_5555_5555, "333333333.3333333"),
        (0x41b3_de43_5555_5556, "333333333.3333334"),
        (0x41b3_de43_5555_5557, "333333333.33333343"),
        (0xbecb_f647_612f_3696, "-0.0000033333333333333333"),
        (0x4314_3ff3_c1cb_0959, "1424953923781206.2"),
    ];
    for (bits, want) in table {
        assert_eq!(num(*bits), *want, "bits {bits:016x}");
    }
    let mut s = String::new();
    assert_eq!(write_f64(f64::NAN, &mut s), Err(JcsError::NonFinite));
    assert_eq!(write_f64(f64::INFINITY, &mut s), Err(JcsError::NonFinite));
}

/// RFC 8785 §3.2.2: the specification's own input and output.
#[test]
fn rfc8785_section_3_2_2_example() {
    let input = br#"{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
    let want = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
    assert_eq!(String::from_utf8(canonicalize_text(input).unwrap()).unwrap(), want);
}

/// RFC 8785 §3.2.3: sorting by UTF-16 code units, not by code points or UTF-8.
#[test]
fn rfc8785_section_3_2_3_sorting() {
    let input = r#"{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"#;
    let out = String::from_utf8(canonicalize_text(input.as_bytes()).unwrap()).unwrap();
    let order: Vec<&str> = ["Carriage Return", "One", "Control", "Latin Small", "Euro Sign", "Emoji", "Hebrew"].to_vec();
    let mut last = 0;
    for name in order {
        let at = out.find(name).unwrap();
        assert!(at > last, "{name} out of order in {out}");
        last = at;
    }
}

#[test]
fn refuses_what_has_no_canonical_form() {
    assert!(matches!(canonicalize_text(br#"{"a":1,"a":2}"#), Err(JcsError::DuplicateKey(k)) if k == "a"));
    assert!(matches!(canonicalize_text(b"9007199254740993"), Err(JcsError::UnsafeInteger(_))));
    assert!(matches!(canonicalize_text(b"-9007199254740993"), Err(JcsError::UnsafeInteger(_))));
    assert_eq!(canonicalize_text(b"9007199254740992").unwrap(), b"9007199254740992");
    let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    assert_eq!(canonicalize_text(deep.as_bytes()), Err(JcsError::TooDeep));
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(canonicalize_text(ok.as_bytes()).is_ok());
    assert!(matches!(canonicalize_text(b"{\"a\":1} x"), Err(JcsError::Syntax(_))));
    assert!(matches!(canonicalize_text(b""), Err(JcsError::Syntax(_))));
}

proptest::proptest! {
    /// Canonical text parses back to a value whose canonical text is the same (idempotence),
    /// and every finite double survives the round trip exactly.
    #[test]
    fn canonical_is_idempotent(bits in proptest::num::u64::ANY, s in ".*", k in "[a-z]{0,4}") {
        let f = f64::from_bits(bits);
        proptest::prop_assume!(f.is_finite());
        let v = serde_json::json!({ k.clone(): [f, s], "z": {"y": null} });
        let once = canonicalize(&v).unwrap();
        let twice = canonicalize_text(&once).unwrap();
        proptest::prop_assert_eq!(&once, &twice);
        let mut txt = String::new();
        write_f64(f, &mut txt).unwrap();
        let back: f64 = txt.parse().unwrap();
        proptest::prop_assert!(back.to_bits() == f.to_bits() || (back.to_bits() == 0 && f.to_bits() == 1 << 63));
    }
}

/// Integers wider than 64 bits reach serde as rounded doubles: the text scan refuses them
/// unless the text is already the canonical form of that double.
#[test]
fn wide_integers_are_refused_unless_canonical() {
    for bad in [
        "1234567890123456789012345678901234567890",
        "-1234567890123456789012345678901234567890",
        "18446744073709551617",
        "[1,{\"a\":99999999999999999999}]",
    ] {
        assert!(matches!(canonicalize_text(bad.as_bytes()), Err(JcsError::UnsafeInteger(_))), "{bad}");
    }
    assert_eq!(canonicalize_text(b"295147905179352830000").unwrap(), b"295147905179352830000");
    assert_eq!(canonicalize_text(b"[18446744073709551615]").unwrap_err(), JcsError::UnsafeInteger("18446744073709551615".into()));
    assert_eq!(canonicalize_text(b"1e40").unwrap(), b"1e+40");
    assert!(canonicalize_text(br#"{"s":"99999999999999999999999","t":"\"123456789012345678901234567890"}"#).is_ok());
}
