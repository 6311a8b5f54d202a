//! The model-request path: redact, build the Bedrock Anthropic Messages body, check the
//! exact bytes with the fail-closed [`guard`] and re-scan them with the detector,
//! record, call, record.
//!
//! # Order of the checks
//!
//! 1. [`invoke_redacted`] redacts the text and builds the body.
//! 2. The **guard** ([`guard::check_body`]) checks the exact body
//!    bytes, independently of the detector. A refusal is **recorded**: a `pii_redaction_event`
//!    whose body says `"guard": "refused"` and lists each finding's pattern class and byte
//!    offset in the body, with the body's SHA-256 (never its bytes); the model is not called,
//!    and the caller gets [`InvokeError::GuardRefused`].
//! 3. The detector's **re-scan** ([`rescan_body`]) of the body and of its decoded strings. A
//!    body it still finds PII in is refused with [`InvokeError::PiiInBody`]; as before, nothing
//!    is written (this re-scan is the detector checking itself, the guard is the independent
//!    check).
//! 4. The paired events below, around the call.
//!
//! [`send_body`] does steps 2 and 4 for a body the caller built: the guard still stands
//! between it and the model.
//!
//! # Why a refusal is a `pii_redaction_event`
//!
//! The refusal is the outcome of the redaction check for this call, so it is recorded as the
//! claim that records that check, with `"guard": "refused"` instead of `"clean"`, and no
//! `ai_invocation_event` follows it (an auditor sees a redaction event no invocation links).
//! `incident` would also fit, but it is a ledger-generated kind that the sink refuses from
//! clients, and a new claim kind would change evidence-core, which is being restructured;
//! the guard's version is recorded in the event (`"guard_version"`), so a later move to
//! another kind can tell the two apart.
//!
//! # The two events and how they refer to each other
//!
//! 1. `pii_redaction_event` is appended **before** the call. Its body:
//!    `{"counts": {"NAME": 2, ...}, "spans": N, "redacted_sha256": H, "request_body_sha256": B,
//!    "detectors": ["pipeline-offline-ner@2", "pipeline-rules@2"], "lang": "en", "model": M,
//!    "rescan": "clean", "guard": "clean", "guard_version": "pipeline-guard@1"}`.
//! 2. `ai_invocation_event` is appended **after** the call. Its body:
//!    `{"model": M, "input_sha256": H, "request_body_sha256": B, "response_sha256": R | null,
//!    "outcome": "ok" | "error", "pii_redaction_event": C}` where `C` is the first event's
//!    content hash, and its leaf entry **links** `C` ([`AppendRequest::links`]).
//!
//! A leaf cannot link forward (the second event does not exist when the first is written),
//! so the first event refers to the second by the shared hashes: its `redacted_sha256` equals
//! the second's `input_sha256` and its `request_body_sha256` equals the second's. Because the
//! second is appended only after the first's receipt is back, its sequence number is higher:
//! an auditor holding both leaves can check that redaction preceded inference, that the
//! inference consumed exactly the redacted text, and that the body re-scan was clean.
//!
//! No source text, redacted text or span content is written into either claim: only counts,
//! types and hashes.

use std::future::Future;
use std::sync::Mutex;

use evidence_core::sink::{AppendReceipt, AppendRequest, ClaimSink};
use evidence_core::{Claim, ClaimKind};
use sha2::{Digest, Sha256};

use super::guard::{self, Finding};
use super::{DetectError, Lang, PiiType, Redaction, Redactor, Span};

/// The `anthropic_version` Bedrock expects for Anthropic Messages bodies.
pub const ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// Builds the request body: `{"anthropic_version": ..., "max_tokens": N, "messages":
/// [{"role": "user", "content": [{"type": "text", "text": TEXT}]}]}`.
///
/// # Errors
/// The `serde_json` error if serialisation fails (it does not for these values; the error is
/// passed on rather than replaced by an empty body that would then pass the re-scan).
pub fn request_body(text: &str, max_tokens: u32) -> Result<Vec<u8>, serde_json::Error> {
    let body = serde_json::json!({
        "anthropic_version": ANTHROPIC_VERSION,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
    });
    serde_json::to_vec(&body)
}

/// Scans the exact bytes of a request body with both stages, and also every string value
/// inside it as the model will read it (JSON escapes such as `\n` would otherwise split
/// tokens). Returns the spans found in the raw body
/// strings, and the sorted, de-duplicated types found anywhere.
///
/// # Errors
/// [`DetectError`] from the redactor.
pub fn rescan_body(redactor: &Redactor, body: &[u8], lang: Lang) -> Result<(Vec<Span>, Vec<PiiType>), DetectError> {
    let mut types = Vec::new();
    let raw = String::from_utf8_lossy(body);
    let spans = redactor.scan(&raw, lang)?;
    types.extend(spans.iter().map(|s| s.kind));
    let mut strings = Vec::new();
    // A body that is not JSON gets the raw scan only (bodies built here are always JSON).
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        collect_strings(&v, &mut strings);
    }
    for s in strings {
        types.extend(redactor.scan(&s, lang)?.iter().map(|s| s.kind));
    }
    types.sort();
    types.dedup();
    Ok((spans, types))
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// A model endpoint that takes a request body and returns a response body.
pub trait LlmClient: Sync {
    /// The client's error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Sends `body` (the exact bytes) to `model_id`.
    fn invoke(&self, model_id: &str, body: &[u8]) -> impl Future<Output = Result<Vec<u8>, Self::Error>> + Send;
}

/// A test double: records the literal bytes of every call and answers with a fixed body.
#[derive(Debug, Default)]
pub struct RecordingClient {
    response: Vec<u8>,
    fail: bool,
    sent: Mutex<Vec<(String, Vec<u8>)>>,
}

/// The error a failing [`RecordingClient`] returns.
#[derive(Debug, thiserror::Error)]
#[error("recording client told to fail")]
pub struct RecordingClientError;

impl RecordingClient {
    /// Answers every call with `response`.
    pub fn new(response: impl Into<Vec<u8>>) -> Self {
        Self { response: response.into(), fail: false, sent: Mutex::new(Vec::new()) }
    }

    /// Records, then fails every call.
    pub fn failing() -> Self {
        Self { response: Vec::new(), fail: true, sent: Mutex::new(Vec::new()) }
    }

    /// `(model_id, body)` of every call, in order.
    pub fn sent(&self) -> Vec<(String, Vec<u8>)> {
        self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl LlmClient for RecordingClient {
    type Error = RecordingClientError;

    fn invoke(&self, model_id: &str, body: &[u8]) -> impl Future<Output = Result<Vec<u8>, Self::Error>> + Send {
        self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((model_id.to_owned(), body.to_vec()));
        std::future::ready(if self.fail { Err(RecordingClientError) } else { Ok(self.response.clone()) })
    }
}

/// Why [`invoke_redacted`] did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvokeError {
    /// A detector failed; nothing was written or sent.
    #[error(transparent)]
    Detect(#[from] DetectError),
    /// The re-scan of the request body still found PII; nothing was written or sent.
    /// Only the types are reported, never the content.
    #[error("request body still holds PII of types {types:?}; not sent")]
    PiiInBody {
        /// What the re-scan found.
        types: Vec<PiiType>,
    },
    /// The fail-closed guard refused the exact request body; the model was not called. The
    /// refusal was recorded as a `pii_redaction_event` (`receipt`), unless the sink failed
    /// (`record_error`). Holds classes, offsets and the body's hash, never its bytes.
    #[error("{refusal}; not sent; {}", match (receipt, record_error) {
        (Some(r), _) => format!("refusal recorded as claim {}", r.seq),
        (None, Some(e)) => format!("recording the refusal failed: {e}"),
        (None, None) => "refusal not recorded".to_owned(),
    })]
    GuardRefused {
        /// What the guard found.
        refusal: guard::Refusal,
        /// The receipt of the `pii_redaction_event` recording the refusal.
        receipt: Option<AppendReceipt>,
        /// Why the refusal could not be recorded, when it could not.
        record_error: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The request body could not be serialised; nothing was written or sent.
    #[error("request body: {0}")]
    Body(#[from] serde_json::Error),
    /// The claim could not be built.
    #[error(transparent)]
    Claim(#[from] evidence_core::ClaimError),
    /// The sink refused or failed. `sent` says whether the model was already called.
    #[error("claim sink failed ({}): {source}", if *.sent { "after the model call" } else { "before the model call; nothing sent" })]
    Sink {
        /// Whether the model call happened.
        sent: bool,
        /// The sink's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The model call failed; the `ai_invocation_event` records `"outcome": "error"`.
    #[error("model call failed: {0}")]
    Client(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What a completed call returns.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The redaction of the input.
    pub redaction: Redaction,
    /// The exact bytes sent.
    pub body: Vec<u8>,
    /// The response bytes.
    pub response: Vec<u8>,
    /// Receipt of the `pii_redaction_event`.
    pub redaction_receipt: AppendReceipt,
    /// Receipt of the `ai_invocation_event`.
    pub invocation_receipt: AppendReceipt,
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// What the `pii_redaction_event` of a call says about the redaction that produced the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedactionRecord {
    /// Spans per type.
    pub counts: Vec<(PiiType, usize)>,
    /// How many spans.
    pub spans: usize,
    /// Hex SHA-256 of the redacted text (the model's input).
    pub redacted_sha256: String,
    /// `name@version` of the detectors.
    pub detectors: Vec<String>,
    /// The text's language.
    pub lang: Lang,
}

impl RedactionRecord {
    /// The record of `redaction`, made by `redactor`.
    pub fn of(redactor: &Redactor, redaction: &Redaction, lang: Lang) -> Self {
        Self {
            counts: redaction.counts(),
            spans: redaction.spans.len(),
            redacted_sha256: sha256_hex(redaction.redacted.as_bytes()),
            detectors: redactor.detector_versions(),
            lang,
        }
    }

    fn event(&self, model_id: &str, body_sha256: &str, guard_outcome: &str) -> serde_json::Value {
        let counts: serde_json::Map<String, serde_json::Value> =
            self.counts.iter().map(|(t, n)| (t.as_str().to_owned(), serde_json::Value::from(*n))).collect();
        serde_json::json!({
            "counts": counts,
            "spans": self.spans,
            "redacted_sha256": self.redacted_sha256,
            "request_body_sha256": body_sha256,
            "detectors": self.detectors,
            "lang": self.lang,
            "model": model_id,
            "guard": guard_outcome,
            "guard_version": format!("{}@{}", guard::GUARD_NAME, guard::GUARD_VERSION),
        })
    }
}

/// What [`send_body`] returns.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The response bytes.
    pub response: Vec<u8>,
    /// Receipt of the `pii_redaction_event`.
    pub redaction_receipt: AppendReceipt,
    /// Receipt of the `ai_invocation_event`.
    pub invocation_receipt: AppendReceipt,
}

/// Runs the guard on `body`; on a refusal, records it and returns the error.
async fn guard_or_refuse<S: ClaimSink>(sink: &S, model_id: &str, body: &[u8], record: &RedactionRecord) -> Result<String, InvokeError> {
    let body_sha256 = sha256_hex(body);
    let Err(refusal) = guard::check_body(body) else { return Ok(body_sha256) };
    let findings: Vec<serde_json::Value> = refusal
        .findings
        .iter()
        .map(|f: &Finding| serde_json::json!({"class": f.class.as_str(), "byte_offset": f.byte_offset, "byte_len": f.byte_len}))
        .collect();
    let mut event = record.event(model_id, &body_sha256, "refused");
    if let Some(o) = event.as_object_mut() {
        o.insert("findings".into(), serde_json::Value::from(findings));
        o.insert("total_findings".into(), serde_json::Value::from(refusal.total_findings));
        o.insert("request_body_len".into(), serde_json::Value::from(body.len()));
    }
    let claim = Claim::new(ClaimKind::PiiRedactionEvent, event)?;
    match sink.append(AppendRequest::new(claim)).await {
        Ok(r) => Err(InvokeError::GuardRefused { refusal, receipt: Some(r), record_error: None }),
        Err(e) => Err(InvokeError::GuardRefused { refusal, receipt: None, record_error: Some(Box::new(e)) }),
    }
}

/// Writes the `pii_redaction_event`, calls the model, writes the `ai_invocation_event`.
async fn record_and_call<S: ClaimSink, C: LlmClient>(
    sink: &S,
    client: &C,
    model_id: &str,
    body: &[u8],
    body_sha256: &str,
    record: &RedactionRecord,
) -> Result<Sent, InvokeError> {
    let mut event = record.event(model_id, body_sha256, "clean");
    if let Some(o) = event.as_object_mut() {
        o.insert("rescan".into(), serde_json::Value::from("clean"));
    }
    let first = Claim::new(ClaimKind::PiiRedactionEvent, event)?;
    let redaction_receipt =
        sink.append(AppendRequest::new(first)).await.map_err(|e| InvokeError::Sink { sent: false, source: Box::new(e) })?;
    let result = client.invoke(model_id, body).await;
    let (response_sha256, outcome) = match &result {
        Ok(r) => (serde_json::Value::from(sha256_hex(r)), "ok"),
        Err(_) => (serde_json::Value::Null, "error"),
    };
    let second = Claim::new(
        ClaimKind::AiInvocationEvent,
        serde_json::json!({
            "model": model_id,
            "input_sha256": record.redacted_sha256,
            "request_body_sha256": body_sha256,
            "response_sha256": response_sha256,
            "outcome": outcome,
            "pii_redaction_event": redaction_receipt.content_hash.to_hex(),
        }),
    )?;
    let invocation_receipt = sink
        .append(AppendRequest::new(second).with_links(vec![redaction_receipt.content_hash]))
        .await
        .map_err(|e| InvokeError::Sink { sent: true, source: Box::new(e) })?;
    let response = result.map_err(|e| InvokeError::Client(Box::new(e)))?;
    Ok(Sent { response, redaction_receipt, invocation_receipt })
}

/// Sends a request body the caller built: the guard checks the exact bytes (a refusal is
/// recorded and returned), then the paired events are written around the call. `record`
/// describes the redaction that produced the body (what the `pii_redaction_event` says).
/// The detector's re-scan is not run here: [`invoke_redacted`] runs it.
///
/// # Errors
/// [`InvokeError::GuardRefused`] when the guard refuses (the model is not called); otherwise
/// as [`invoke_redacted`].
pub async fn send_body<S: ClaimSink, C: LlmClient>(
    sink: &S,
    client: &C,
    model_id: &str,
    body: &[u8],
    record: &RedactionRecord,
) -> Result<Sent, InvokeError> {
    let body_sha256 = guard_or_refuse(sink, model_id, body, record).await?;
    record_and_call(sink, client, model_id, body, &body_sha256, record).await
}

/// Redacts `text`, builds the request body, checks it with the guard (a refusal is recorded
/// and returned) and with the detector's re-scan, writes the `pii_redaction_event`, calls the
/// model, writes the `ai_invocation_event`.
///
/// # Errors
/// [`InvokeError`]: a detector failure or a non-clean re-scan stops before anything is
/// written or sent; a guard refusal is recorded and nothing is sent; a sink failure before
/// the call stops before sending; a client failure is recorded in the second event and then
/// returned.
pub async fn invoke_redacted<S: ClaimSink, C: LlmClient>(
    redactor: &Redactor,
    sink: &S,
    client: &C,
    model_id: &str,
    text: &str,
    lang: Lang,
    max_tokens: u32,
) -> Result<Invocation, InvokeError> {
    let redaction = redactor.redact(text, lang)?;
    let body = request_body(&redaction.redacted, max_tokens)?;
    let record = RedactionRecord::of(redactor, &redaction, lang);
    let body_sha256 = guard_or_refuse(sink, model_id, &body, &record).await?;
    let (_, found) = rescan_body(redactor, &body, lang)?;
    if !found.is_empty() {
        return Err(InvokeError::PiiInBody { types: found });
    }
    let sent = record_and_call(sink, client, model_id, &body, &body_sha256, &record).await?;
    Ok(Invocation {
        redaction,
        body,
        response: sent.response,
        redaction_receipt: sent.redaction_receipt,
        invocation_receipt: sent.invocation_receipt,
    })
}
