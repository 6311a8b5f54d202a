//! The fail-closed guard on the exact request body (issue 22): with redaction bypassed, a
//! body holding PII of each class the guard covers is refused, the refusal is written as a
//! `pii_redaction_event` (classes, offsets and the body's hash, never the bytes), and the
//! model client is never called. Bodies are the exact bytes `send_body` would send.

use std::future::Future;

use evidence_core::ClaimKind;
use evidence_core::sink::{AppendReceipt, AppendRequest, ClaimSink, DeterministicEnv, MemorySink};
use evidence_core::types::{TenantId, UnixMillis};
use pipeline::redact::guard::{self, PatternClass};
use pipeline::redact::llm::{self, InvokeError, RecordingClient, RedactionRecord};
use pipeline::redact::{Lang, Redaction, Redactor};
use sha2::{Digest, Sha256};

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("future not ready"),
    }
}

fn sink() -> MemorySink<DeterministicEnv> {
    MemorySink::new(TenantId::new("dealer-1").unwrap(), DeterministicEnv::new(UnixMillis(1_700_000_000_000)))
}

/// A redaction record for text that was never redacted (the detector bypassed).
fn bypassed(text: &str) -> RedactionRecord {
    let r = Redaction { redacted: text.to_owned(), spans: Vec::new() };
    RedactionRecord::of(&Redactor::offline(), &r, Lang::En)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Sends `body` with the detector bypassed and checks the refusal, the claim and the client.
fn assert_refused(body: &[u8], pii: &str, class: PatternClass) {
    let sink = sink();
    let client = RecordingClient::new(b"never".to_vec());
    let r = block_on(llm::send_body(&sink, &client, "m", body, &bypassed(pii)));
    let Err(InvokeError::GuardRefused { refusal, receipt, record_error }) = r else {
        panic!("{pii:?}: expected a guard refusal, got {r:?}");
    };
    assert!(record_error.is_none());
    assert!(client.sent().is_empty(), "{pii:?}: the model was called");
    assert!(refusal.classes().contains(&class), "{pii:?}: {:?}", refusal.findings);
    let body_sha = hex::encode(Sha256::digest(body));
    assert_eq!(refusal.body_sha256, body_sha);
    // The finding points into the PII as written in the exact bytes (JSON-escaped).
    let f = refusal.findings.iter().find(|f| f.class == class).unwrap();
    // `pii` is either the text that went into the body or, with a `\u` escape, the raw bytes.
    let json = serde_json::to_string(pii).unwrap();
    let escaped = if pii.contains("\\u") { pii.as_bytes() } else { &json.as_bytes()[1..json.len() - 1] };
    let pos =
        body.windows(escaped.len()).position(|w| w == escaped).unwrap_or_else(|| body.windows(2).position(|w| w == &escaped[..2]).unwrap());
    assert!(
        f.byte_offset >= pos && f.byte_offset + f.byte_len <= pos + escaped.len(),
        "{pii:?}: finding at {:?}",
        String::from_utf8_lossy(&body[f.byte_offset..f.byte_offset + f.byte_len])
    );
    // Exactly one claim: the refusal, with classes, offsets and the hash, never the bytes.
    let stored = sink.stored();
    assert_eq!(stored.len(), 1, "{pii:?}");
    assert_eq!(Some(stored[0].receipt.clone()), receipt);
    let claim = &stored[0].request.claim;
    assert_eq!(claim.kind, ClaimKind::PiiRedactionEvent);
    assert_eq!(claim.body["guard"], "refused");
    assert_eq!(claim.body["guard_version"], format!("{}@{}", guard::GUARD_NAME, guard::GUARD_VERSION));
    assert_eq!(claim.body["request_body_sha256"], body_sha.as_str());
    assert_eq!(claim.body["request_body_len"], body.len());
    let fs = claim.body["findings"].as_array().unwrap();
    assert!(fs.iter().any(|x| x["class"] == class.as_str() && x["byte_offset"] == f.byte_offset && x["byte_len"] == f.byte_len));
    let bytes = serde_json::to_vec(&claim.body).unwrap();
    let digits: String = pii.chars().filter(char::is_ascii_digit).collect();
    assert!(!contains(&bytes, pii.as_bytes()), "{pii:?} in the claim");
    if digits.len() >= 4 {
        assert!(!contains(&bytes, digits.as_bytes()), "{pii:?} digits in the claim");
    }
}

const NINE_OR_MORE_DIGITS: &[&str] = &[
    // SINs in every separator style, broken across a line, in full-width digits.
    "130 692 544",
    "130-692-544",
    "130 - 692 - 544",
    "130.692.544",
    "130/692/544",
    "130692544",
    "130  692  544",
    "130 692\n544",
    "130-692-\r\n544",
    "\u{ff11}\u{ff13}\u{ff10}\u{ff16}\u{ff19}\u{ff12}\u{ff15}\u{ff14}\u{ff14}",
    // Phones.
    "(514) 872-3344",
    "514.872.3344",
    "514 - 872 - 3344",
    "5148723344",
    "+1 514 872 3344",
    "1-514-872-3344",
    "514-872\n3344",
    "514/872-3344",
    "(514)\n872-3344",
    // A phone right after an operational identifier (the label keeps only its own number).
    "RO 89962 7803088822",
    // Ontario and Quebec licence numbers are long digit runs too.
    "T1234-56789-01234",
    "T1234 567890 12",
];

#[test]
fn digit_runs_are_refused_in_every_form() {
    for pii in NINE_OR_MORE_DIGITS {
        let text = format!("Customer called back, reach at {pii} after 5.");
        let body = llm::request_body(&text, 256).unwrap();
        assert_refused(&body, pii, PatternClass::DigitRun);
    }
}

#[test]
fn emails_are_refused_in_every_form() {
    for pii in ["jf.tremblay@videotron.ca", "JF.TREMBLAY@VIDEOTRON.CA", "jf.tremblay @ videotron.ca", "jf\u{ff20}videotron.ca"] {
        let body = llm::request_body(&format!("Send the quote to {pii} today."), 256).unwrap();
        assert_refused(&body, pii, PatternClass::Email);
    }
    // An '@' written as a JSON escape in the exact bytes is still an '@' to the model.
    let body = br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[{"role":"user","content":[{"type":"text","text":"mail jf\u0040videotron.ca"}]}]}"#;
    assert_refused(body, r"jf\u0040videotron.ca", PatternClass::Email);
}

#[test]
fn postal_codes_are_refused_in_every_form() {
    for pii in ["H2X 1Y4", "H2X1Y4", "h2x 1y4", "H2X-1Y4", "H2X\n1Y4"] {
        let body = llm::request_body(&format!("Montréal (QC) {pii}, merci"), 256).unwrap();
        assert_refused(&body, pii, PatternClass::PostalCode);
    }
}

#[test]
fn redacted_bodies_and_kept_identifiers_pass_and_the_pair_is_written() {
    let text = "RO 845221, VIN 2HGFC2F59KH512345, stock U24117, deal D-104522, advisor SA-0142, BN 123456782RT0001, \
NEQ 1172345678, lender ref 130692545, quoted $1,234.56 on 2025-03-14 10:30, total 130 692 544,00 $. \
Customer [NAME] at [ADDRESS][POSTAL_CODE], [PHONE], [EMAIL], SIN [SIN].";
    let body = llm::request_body(text, 256).unwrap();
    assert_eq!(guard::scan(&body), vec![]);
    let sink = sink();
    let client = RecordingClient::new(b"ok".to_vec());
    let sent = block_on(llm::send_body(&sink, &client, "m", &body, &bypassed(text))).unwrap();
    assert_eq!(client.sent(), vec![("m".to_owned(), body.clone())]);
    let stored = sink.stored();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].request.claim.body["guard"], "clean");
    assert_eq!(stored[1].request.claim.kind, ClaimKind::AiInvocationEvent);
    assert_eq!(stored[1].entry.links, vec![sent.redaction_receipt.content_hash]);
}

#[test]
fn invoke_redacted_refuses_what_the_detector_missed() {
    // A detector that misses everything and rules that cannot see a phone written with
    // letters in between: the guard still sees the ten digits in the body.
    struct Blind;
    impl pipeline::redact::PiiDetector for Blind {
        fn name(&self) -> &'static str {
            "blind"
        }
        fn version(&self) -> &'static str {
            "0"
        }
        fn detect(&self, _: &str, _: Lang) -> Result<Vec<pipeline::redact::Span>, pipeline::redact::DetectError> {
            Ok(Vec::new())
        }
    }
    let redactor = Redactor::with_detector(Box::new(Blind));
    let sink = sink();
    let client = RecordingClient::new(b"x".to_vec());
    // Five digits, a tab, five digits: no stage-2 rule takes it, the guard joins the groups.
    let r = block_on(llm::invoke_redacted(&redactor, &sink, &client, "m", "call me 51487\t23344 or H2X 1Y4", Lang::En, 16));
    match r {
        Err(InvokeError::GuardRefused { refusal, receipt: Some(_), .. }) => {
            assert_eq!(refusal.classes(), vec![PatternClass::DigitRun, PatternClass::PostalCode]);
        }
        other => panic!("expected a recorded guard refusal, got {other:?}"),
    }
    assert!(client.sent().is_empty());
    assert_eq!(sink.stored().len(), 1);
}

/// A sink that refuses every claim.
struct FailingSink(TenantId);

#[derive(Debug, thiserror::Error)]
#[error("sink down")]
struct SinkDown;

impl ClaimSink for FailingSink {
    type Error = SinkDown;
    fn tenant(&self) -> &TenantId {
        &self.0
    }
    fn append(&self, _: AppendRequest) -> impl Future<Output = Result<AppendReceipt, SinkDown>> + Send {
        std::future::ready(Err(SinkDown))
    }
}

#[test]
fn a_refusal_that_cannot_be_recorded_still_refuses() {
    let sink = FailingSink(TenantId::new("dealer-1").unwrap());
    let client = RecordingClient::new(b"x".to_vec());
    let body = llm::request_body("SIN 130 692 544", 16).unwrap();
    let r = block_on(llm::send_body(&sink, &client, "m", &body, &bypassed("SIN 130 692 544")));
    match r {
        Err(e @ InvokeError::GuardRefused { receipt: None, record_error: Some(_), .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("recording the refusal failed") && !msg.contains("692"), "{msg}");
        }
        other => panic!("expected an unrecorded refusal, got {other:?}"),
    }
    assert!(client.sent().is_empty());
}
