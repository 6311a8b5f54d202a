//! The model-request path: the literal bytes sent, the refusal, and the paired events.

use std::future::Future;

use evidence_core::ClaimKind;
use evidence_core::sink::{DeterministicEnv, MemorySink};
use evidence_core::types::{TenantId, UnixMillis};
use pipeline::redact::llm::{self, ANTHROPIC_VERSION, InvokeError, LlmClient, RecordingClient};
use pipeline::redact::{DetectError, Lang, PiiDetector, PiiType, Redactor, Span};
use sha2::{Digest, Sha256};

fn block_on<F: Future>(f: F) -> F::Output {
    // MemorySink and RecordingClient futures are always ready.
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("future not ready"),
    }
}

fn sink() -> MemorySink<DeterministicEnv> {
    MemorySink::new(TenantId::new("dealer-1").unwrap(), DeterministicEnv::new(UnixMillis(1_700_000_000_000)))
}

const SOURCE: &str = "RO 845221, VIN 2HGFC2F59KH512345, stock U24117, deal D-104522, advisor SA-0142. \
Customer Jean-François Tremblay (SIN 130 692 544, DOB 1979-04-12) lives at 123 rue Saint-Denis, app. 4, H2X 1Y4. \
Call (514) 555-0147 ext. 22 or jf.tremblay@videotron.ca. Licence plate FXT 1234. Quoted $1,234.56 on 2025-03-14.";

const PII: &[&str] = &[
    "Jean-François",
    "Tremblay",
    "130 692 544",
    "1979-04-12",
    "123 rue Saint-Denis",
    "app. 4",
    "H2X 1Y4",
    "555-0147",
    "jf.tremblay",
    "videotron",
    "FXT 1234",
];
const KEEP: &[&str] = &["845221", "2HGFC2F59KH512345", "U24117", "D-104522", "SA-0142", "$1,234.56", "2025-03-14"];

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn literal_bytes_sent_hold_markers_and_identifiers_but_no_pii() {
    let redactor = Redactor::offline();
    let sink = sink();
    let client = RecordingClient::new(br#"{"content":[{"type":"text","text":"ok"}]}"#.to_vec());
    let inv = block_on(llm::invoke_redacted(&redactor, &sink, &client, "anthropic.claude-test", SOURCE, Lang::En, 512)).unwrap();
    let sent = client.sent();
    assert_eq!(sent.len(), 1);
    let (model, body) = &sent[0];
    assert_eq!(model, "anthropic.claude-test");
    assert_eq!(body, &inv.body);
    for p in PII {
        assert!(!contains(body, p.as_bytes()), "PII {p:?} in the bytes sent");
    }
    for k in KEEP {
        assert!(contains(body, k.as_bytes()), "identifier {k:?} missing from the bytes sent");
    }
    for m in ["[NAME]", "[SIN]", "[DOB]", "[ADDRESS]", "[POSTAL_CODE]", "[PHONE]", "[EMAIL]", "[PLATE]"] {
        assert!(contains(body, m.as_bytes()), "marker {m} missing");
    }
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["anthropic_version"], ANTHROPIC_VERSION);
    assert_eq!(v["max_tokens"], 512);
    assert_eq!(v["messages"][0]["role"], "user");
    assert_eq!(v["messages"][0]["content"][0]["text"], inv.redaction.redacted.as_str());
}

#[test]
fn paired_events_are_ordered_linked_and_share_the_hash() {
    let redactor = Redactor::offline();
    let sink = sink();
    let client = RecordingClient::new(b"response".to_vec());
    let inv = block_on(llm::invoke_redacted(&redactor, &sink, &client, "m", SOURCE, Lang::En, 100)).unwrap();
    let stored = sink.stored();
    assert_eq!(stored.len(), 2);
    let (first, second) = (&stored[0], &stored[1]);
    assert_eq!(first.request.claim.kind, ClaimKind::PiiRedactionEvent);
    assert_eq!(second.request.claim.kind, ClaimKind::AiInvocationEvent);
    assert!(first.receipt.seq < second.receipt.seq);
    assert_eq!(first.receipt, inv.redaction_receipt);
    assert_eq!(second.receipt, inv.invocation_receipt);
    // The second links the first's leaf.
    assert_eq!(second.entry.links, vec![first.receipt.content_hash]);
    let (a, b) = (&first.request.claim.body, &second.request.claim.body);
    let redacted_hash = hex::encode(Sha256::digest(inv.redaction.redacted.as_bytes()));
    assert_eq!(a["redacted_sha256"], redacted_hash.as_str());
    assert_eq!(b["input_sha256"], a["redacted_sha256"]);
    assert_eq!(b["request_body_sha256"], hex::encode(Sha256::digest(&inv.body)).as_str());
    assert_eq!(b["request_body_sha256"], a["request_body_sha256"]);
    assert_eq!(b["response_sha256"], hex::encode(Sha256::digest(b"response")).as_str());
    assert_eq!(b["pii_redaction_event"], first.receipt.content_hash.to_hex().as_str());
    assert_eq!(b["outcome"], "ok");
    assert_eq!(a["counts"]["SIN"], 1);
    assert_eq!(a["counts"]["EMAIL"], 1);
    // The stage-1 detector's version as recorded; bumped to 2 when issue 22 changed its rules
    // (the event must name the detector that produced the redaction).
    assert_eq!(a["detectors"][0], "pipeline-offline-ner@2");
    // No PII in either claim.
    for s in &stored {
        let bytes = serde_json::to_vec(&s.request.claim.body).unwrap();
        for p in PII {
            assert!(!contains(&bytes, p.as_bytes()), "PII {p:?} in a claim");
        }
    }
}

#[test]
fn a_failed_call_is_still_recorded() {
    let redactor = Redactor::offline();
    let sink = sink();
    let client = RecordingClient::failing();
    let r = block_on(llm::invoke_redacted(&redactor, &sink, &client, "m", SOURCE, Lang::En, 100));
    assert!(matches!(r, Err(InvokeError::Client(_))));
    let stored = sink.stored();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].request.claim.body["outcome"], "error");
    assert!(stored[1].request.claim.body["response_sha256"].is_null());
}

/// A stage-1 detector that misses on purpose, to show the re-scan is what stops the send:
/// it finds nothing in the source, but knows the name when it sees it again.
struct Flaky;
impl PiiDetector for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn version(&self) -> &'static str {
        "0"
    }
    fn detect(&self, text: &str, _lang: Lang) -> Result<Vec<Span>, DetectError> {
        // Only reports "Zorblax" when it appears inside a JSON body.
        Ok(text
            .find("Zorblax")
            .filter(|_| text.contains("anthropic_version"))
            .map(|i| Span { byte_start: i, byte_end: i + 7, kind: PiiType::Name })
            .into_iter()
            .collect())
    }
}

#[test]
fn rescan_refuses_to_send_and_writes_nothing() {
    let redactor = Redactor::with_detector(Box::new(Flaky));
    let sink = sink();
    let client = RecordingClient::new(b"x".to_vec());
    let r = block_on(llm::invoke_redacted(&redactor, &sink, &client, "m", "Customer Zorblax called", Lang::En, 100));
    match r {
        Err(InvokeError::PiiInBody { types }) => assert_eq!(types, vec![PiiType::Name]),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(client.sent().is_empty());
    assert!(sink.stored().is_empty());
}

#[test]
fn rescan_scans_decoded_strings_too() {
    // A phone split by a newline: JSON escapes it as "\n", so only the decoded scan sees a
    // phone-shaped string; the raw scan must not be the only line of defence.
    let redactor = Redactor::offline();
    let body = llm::request_body("tel\n514-555-0147", 10).unwrap();
    let (_, types) = llm::rescan_body(&redactor, &body, Lang::En).unwrap();
    assert!(types.contains(&PiiType::Phone));
}

#[test]
fn recording_client_is_an_llm_client() {
    fn takes<C: LlmClient>(_: &C) {}
    takes(&RecordingClient::default());
}
