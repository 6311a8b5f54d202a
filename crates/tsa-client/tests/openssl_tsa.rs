//! The real client against a real, independent TSA (`openssl ts -reply` behind a local HTTP
//! server), with `openssl ts -verify` as the validation callback.
//!
//! Every test skips with a printed message only when the `openssl` CLI is absent.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[macro_use]
mod common;

use common::{config, endpoint, jur, openssl_validator, reasons, start};
use test_support::tsa::{Fault, OpensslTsa, OpensslVerifyError, TestPki};
use tsa_client::{Credentials, FailureReason, ResidencyPolicy, TimestampError, TsaClient, TsaEndpoint};

#[tokio::test]
async fn success_returns_a_token_openssl_verifies() {
    require_openssl!();
    let (pki, tsa) = start();
    let query = pki.make_query(b"checkpoint 1").unwrap();
    let client = TsaClient::new(vec![endpoint("tsa-ca", &tsa, "CA")], config(2)).unwrap();
    let stamp = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap();
    assert_eq!(stamp.endpoint, "tsa-ca");
    assert_eq!(stamp.jurisdiction, jur("CA"));
    assert_eq!((stamp.attempts_on_endpoint, stamp.attempts_total), (1, 1));
    assert!(!stamp.outside_residency);
    assert!(stamp.failures.is_empty());
    assert!(stamp.validated.contains("Status: Granted"), "{}", stamp.validated);
    assert!(stamp.validated.contains(test_support::tsa::TEST_POLICY_OID));
    // The stored bytes are the reply itself: they verify again on their own.
    pki.verify_reply(&query, &stamp.response).unwrap();
    let seen = tsa.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].content_type.as_deref(), Some("application/timestamp-query"));
    assert_eq!(seen[0].body, query);
    assert_eq!(seen[0].authorization, None);
}

#[tokio::test]
async fn tsa_down_is_a_retried_connect_failure_and_recovers_when_up() {
    require_openssl!();
    let (pki, tsa) = start();
    tsa.set_fault(Fault::Down);
    let query = pki.make_query(b"down").unwrap();
    let client = TsaClient::new(vec![endpoint("down", &tsa, "CA")], config(2)).unwrap();
    let policy = ResidencyPolicy::unrestricted();
    let err = client.timestamp(&query, &policy, openssl_validator(&pki, &query)).await.unwrap_err();
    assert!(matches!(err, TimestampError::AllFailed { .. }), "{err}");
    assert_eq!(err.attempts().len(), 2, "{:?}", reasons(&err));
    for a in err.attempts() {
        assert!(matches!(a.reason, FailureReason::Connect(_)), "{:?}", a.reason);
    }
    assert!(err.all_unavailable());
    assert!(tsa.requests().is_empty());

    // Back up: set_fault returns once the socket listens again on the same port.
    tsa.set_fault(Fault::None);
    let stamp = client.timestamp(&query, &policy, openssl_validator(&pki, &query)).await.unwrap();
    assert_eq!((stamp.endpoint.as_str(), stamp.attempts_total), ("down", 1));

    // And down again, after a connection was used (the pool must not keep it alive).
    tsa.set_fault(Fault::Down);
    let err = client.timestamp(&query, &policy, openssl_validator(&pki, &query)).await.unwrap_err();
    assert!(err.all_unavailable(), "{:?}", reasons(&err));
    assert_eq!(tsa.requests().len(), 1);
}

#[tokio::test]
async fn http_500_is_retried_then_reported_with_its_status() {
    require_openssl!();
    let (pki, tsa) = start();
    tsa.set_fault(Fault::HttpStatus(500));
    let query = pki.make_query(b"500").unwrap();
    let client = TsaClient::new(vec![endpoint("five", &tsa, "CA")], config(3)).unwrap();
    let err = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap_err();
    let attempts = err.attempts();
    assert_eq!(attempts.len(), 3);
    assert!(attempts.iter().all(|a| matches!(a.reason, FailureReason::HttpStatus(500))));
    assert_eq!(attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(err.all_unavailable());
    assert_eq!(tsa.requests().len(), 3);
}

#[tokio::test]
async fn transient_failures_then_success_counts_attempts() {
    require_openssl!();
    let (pki, tsa) = start();
    tsa.push_one_shot([Fault::HttpStatus(503), Fault::HttpStatus(408)]);
    let query = pki.make_query(b"flaky").unwrap();
    let client = TsaClient::new(vec![endpoint("flaky", &tsa, "CA")], config(3)).unwrap();
    let stamp = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap();
    assert_eq!((stamp.attempts_on_endpoint, stamp.attempts_total), (3, 3));
    assert_eq!(stamp.failures.len(), 2);
    assert!(matches!(stamp.failures[0].reason, FailureReason::HttpStatus(503)));
    assert!(matches!(stamp.failures[1].reason, FailureReason::HttpStatus(408)));
}

#[tokio::test]
async fn permanent_http_status_is_not_retried() {
    require_openssl!();
    let (pki, tsa) = start();
    tsa.set_fault(Fault::HttpStatus(404));
    let query = pki.make_query(b"404").unwrap();
    let client = TsaClient::new(vec![endpoint("nf", &tsa, "CA")], config(3)).unwrap();
    let err = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap_err();
    assert_eq!(err.attempts().len(), 1);
    assert!(matches!(err.attempts()[0].reason, FailureReason::HttpStatus(404)));
    assert!(!err.all_unavailable());
    assert_eq!(tsa.requests().len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_cap_and_beyond_it_fails_over() {
    require_openssl!();
    let (pki, tsa) = start();
    let query = pki.make_query(b"429").unwrap();
    let client = TsaClient::new(vec![endpoint("busy", &tsa, "CA")], config(3)).unwrap();
    let policy = ResidencyPolicy::unrestricted();

    tsa.push_one_shot([Fault::TooManyRequests { retry_after_secs: 1 }]);
    let started = Instant::now();
    let stamp = client.timestamp(&query, &policy, openssl_validator(&pki, &query)).await.unwrap();
    // The retry waited for the announced second, not the 10-40 ms backoff.
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(stamp.attempts_on_endpoint, 2);
    assert!(matches!(stamp.failures[0].reason, FailureReason::HttpStatus(429)));

    // Beyond the 2 s cap: no waiting, no retry against this TSA.
    tsa.push_one_shot([Fault::TooManyRequests { retry_after_secs: 3600 }]);
    let err = client.timestamp(&query, &policy, openssl_validator(&pki, &query)).await.unwrap_err();
    assert_eq!(err.attempts().len(), 1, "{:?}", reasons(&err));
    assert!(matches!(err.attempts()[0].reason, FailureReason::HttpStatus(429)));
}

/// Asserts a single, non-retried validation rejection and returns openssl's complaint.
fn assert_rejected_once(err: &TimestampError) -> String {
    assert_eq!(err.attempts().len(), 1, "{:?}", reasons(err));
    let FailureReason::Rejected(source) = &err.attempts()[0].reason else {
        panic!("expected a validation rejection, got {:?}", err.attempts()[0].reason);
    };
    assert!(!err.all_unavailable(), "an answer was refused: not 'TSA down'");
    source.downcast_ref::<OpensslVerifyError>().expect("the source is the validator's error").output.clone()
}

#[tokio::test]
async fn garbage_body_is_a_validation_failure_not_unavailability() {
    require_openssl!();
    let (pki, tsa) = start();
    tsa.set_fault(Fault::Garbage);
    let query = pki.make_query(b"garbage").unwrap();
    let client = TsaClient::new(vec![endpoint("junk", &tsa, "CA")], config(3)).unwrap();
    let err = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap_err();
    let output = assert_rejected_once(&err);
    assert!(!output.is_empty());
    assert_eq!(tsa.requests().len(), 1);
}

#[tokio::test]
async fn wrong_content_type_is_refused_before_validation() {
    require_openssl!();
    let (pki, tsa) = start();
    tsa.set_fault(Fault::WrongContentType);
    let query = pki.make_query(b"ct").unwrap();
    let client = TsaClient::new(vec![endpoint("html", &tsa, "CA")], config(3)).unwrap();
    let mut validator_calls = 0;
    let err = client
        .timestamp(&query, &ResidencyPolicy::unrestricted(), |_: &TsaEndpoint, _: &[u8]| {
            validator_calls += 1;
            Ok::<(), OpensslVerifyError>(())
        })
        .await
        .unwrap_err();
    assert_eq!(validator_calls, 0);
    assert_eq!(err.attempts().len(), 1);
    assert!(
        matches!(&err.attempts()[0].reason, FailureReason::WrongContentType(ct) if ct == "text/html; charset=utf-8"),
        "{:?}",
        reasons(&err)
    );
}

#[tokio::test]
async fn slow_reply_times_out() {
    require_openssl!();
    let (pki, tsa) = start();
    tsa.set_fault(Fault::Slow(Duration::from_secs(5)));
    let query = pki.make_query(b"slow").unwrap();
    let ep = endpoint("slow", &tsa, "CA").with_timeout(Duration::from_millis(300));
    let client = TsaClient::new(vec![ep], config(1)).unwrap();
    let err = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap_err();
    assert_eq!(err.attempts().len(), 1);
    assert!(matches!(err.attempts()[0].reason, FailureReason::Timeout(d) if d == Duration::from_millis(300)), "{:?}", reasons(&err));
    assert!(err.all_unavailable());
}

#[tokio::test]
async fn reply_for_another_nonce_is_rejected_by_validation() {
    require_openssl!();
    let (pki, tsa) = start();
    tsa.set_fault(Fault::OtherNonce);
    let query = pki.make_query(b"mine").unwrap();
    let client = TsaClient::new(vec![endpoint("mixup", &tsa, "CA")], config(3)).unwrap();
    let mut replies = Vec::new();
    let mut validate = openssl_validator(&pki, &query);
    let err = client
        .timestamp(&query, &ResidencyPolicy::unrestricted(), |e: &TsaEndpoint, r: &[u8]| {
            replies.push(r.to_vec());
            validate(e, r)
        })
        .await
        .unwrap_err();
    assert_rejected_once(&err);
    // It is a genuine, granted, trusted reply: only the binding to our query is wrong.
    let text = pki.reply_text(&replies[0]).unwrap();
    assert!(text.contains("Status: Granted"), "{text}");
    assert!(text.contains("Nonce: 0x"), "{text}");
}

#[tokio::test]
async fn rejection_status_is_rejected_by_validation() {
    require_openssl!();
    let (pki, tsa) = start();
    tsa.set_fault(Fault::Rejection);
    let query = pki.make_query(b"reject me").unwrap();
    let client = TsaClient::new(vec![endpoint("strict", &tsa, "CA")], config(3)).unwrap();
    let mut replies = Vec::new();
    let mut validate = openssl_validator(&pki, &query);
    let err = client
        .timestamp(&query, &ResidencyPolicy::unrestricted(), |e: &TsaEndpoint, r: &[u8]| {
            replies.push(r.to_vec());
            validate(e, r)
        })
        .await
        .unwrap_err();
    assert_rejected_once(&err);
    let text = pki.reply_text(&replies[0]).unwrap();
    assert!(text.contains("Status: Rejected."), "{text}");
    assert!(text.contains("TST info:\nNot included."), "no token in a rejection: {text}");
}

#[tokio::test]
async fn token_from_untrusted_tsa_is_rejected_by_validation() {
    require_openssl!();
    let (pki, tsa) = start();
    tsa.set_fault(Fault::UntrustedSigner);
    let query = pki.make_query(b"who signed").unwrap();
    let client = TsaClient::new(vec![endpoint("impostor", &tsa, "CA")], config(3)).unwrap();
    let mut replies = Vec::new();
    let mut validate = openssl_validator(&pki, &query);
    let err = client
        .timestamp(&query, &ResidencyPolicy::unrestricted(), |e: &TsaEndpoint, r: &[u8]| {
            replies.push(r.to_vec());
            validate(e, r)
        })
        .await
        .unwrap_err();
    let output = assert_rejected_once(&err);
    assert!(output.to_lowercase().contains("certificate"), "{output}");
    let text = pki.reply_text(&replies[0]).unwrap();
    assert!(text.contains("Status: Granted"), "{text}");
    assert!(text.contains("Untrusted TSA"), "{text}");
}

#[tokio::test]
async fn failover_to_the_second_tsa_when_the_first_is_down() {
    require_openssl!();
    let (pki, first) = start();
    let second = OpensslTsa::start_with_pki(Arc::clone(&pki)).unwrap();
    first.set_fault(Fault::HttpStatus(502));
    let query = pki.make_query(b"failover").unwrap();
    let client = TsaClient::new(vec![endpoint("first", &first, "CA"), endpoint("second", &second, "CA")], config(2)).unwrap();
    let stamp = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap();
    assert_eq!(stamp.endpoint, "second");
    assert_eq!((stamp.attempts_on_endpoint, stamp.attempts_total), (1, 3));
    assert_eq!(stamp.failures.len(), 2);
    assert!(stamp.failures.iter().all(|f| f.endpoint == "first"));
    assert_eq!(first.requests().len(), 2);
    assert_eq!(second.requests().len(), 1);
}

#[tokio::test]
async fn failover_after_a_bad_answer_does_not_ask_the_same_tsa_again() {
    require_openssl!();
    let (pki, first) = start();
    let second = OpensslTsa::start_with_pki(Arc::clone(&pki)).unwrap();
    first.set_fault(Fault::Garbage);
    let query = pki.make_query(b"failover garbage").unwrap();
    let client = TsaClient::new(vec![endpoint("first", &first, "CA"), endpoint("second", &second, "CA")], config(3)).unwrap();
    let stamp = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap();
    assert_eq!(stamp.endpoint, "second");
    assert_eq!(first.requests().len(), 1);
    assert!(matches!(stamp.failures[0].reason, FailureReason::Rejected(_)));
}

#[tokio::test]
async fn residency_tries_allowed_first_and_flags_outside_fallback() {
    require_openssl!();
    let (pki, us) = start();
    let ca = OpensslTsa::start_with_pki(Arc::clone(&pki)).unwrap();
    let query = pki.make_query(b"residency").unwrap();
    // Configured order puts the US TSA first; the tenant only allows Canada.
    let client = TsaClient::new(vec![endpoint("us", &us, "US"), endpoint("ca", &ca, "ca")], config(1)).unwrap();
    let with_fallback = ResidencyPolicy::allow([jur("CA")], true);
    let strict = ResidencyPolicy::allow([jur("CA")], false);

    let stamp = client.timestamp(&query, &with_fallback, openssl_validator(&pki, &query)).await.unwrap();
    assert_eq!(stamp.endpoint, "ca");
    assert!(!stamp.outside_residency);
    assert!(us.requests().is_empty(), "the allowed TSA is tried first");

    ca.set_fault(Fault::HttpStatus(503));
    let stamp = client.timestamp(&query, &with_fallback, openssl_validator(&pki, &query)).await.unwrap();
    assert_eq!(stamp.endpoint, "us");
    assert_eq!(stamp.jurisdiction, jur("US"));
    assert!(stamp.outside_residency, "kept but flagged for re-anchoring");
    assert_eq!(stamp.failures.len(), 1);
    assert!(!stamp.failures[0].outside_residency);
    pki.verify_reply(&query, &stamp.response).unwrap();

    let us_before = us.requests().len();
    let err = client.timestamp(&query, &strict, openssl_validator(&pki, &query)).await.unwrap_err();
    assert!(err.attempts().iter().all(|a| a.endpoint == "ca"));
    assert_eq!(us.requests().len(), us_before, "no fallback without the flag");

    let err = client.timestamp(&query, &ResidencyPolicy::allow([jur("EU")], false), openssl_validator(&pki, &query)).await.unwrap_err();
    assert!(matches!(&err, TimestampError::NoEligibleEndpoint { allowed } if allowed == &vec![jur("EU")]), "{err}");
}

#[tokio::test]
async fn oversize_streamed_body_is_refused_at_the_limit() {
    require_openssl!();
    let (pki, tsa) = start();
    tsa.set_fault(Fault::Oversize);
    let query = pki.make_query(b"big").unwrap();
    let ep = endpoint("big", &tsa, "CA").with_max_response_bytes(64 * 1024);
    let client = TsaClient::new(vec![ep], config(3)).unwrap();
    let err = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap_err();
    assert_eq!(err.attempts().len(), 1, "too large is permanent");
    assert!(matches!(err.attempts()[0].reason, FailureReason::TooLarge { limit: 65_536 }), "{:?}", reasons(&err));
}

#[tokio::test]
async fn reply_above_a_small_limit_is_refused_by_content_length() {
    require_openssl!();
    let (pki, tsa) = start();
    let query = pki.make_query(b"small limit").unwrap();
    let ep = endpoint("tight", &tsa, "CA").with_max_response_bytes(100);
    let client = TsaClient::new(vec![ep], config(1)).unwrap();
    let err = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap_err();
    assert!(matches!(err.attempts()[0].reason, FailureReason::TooLarge { limit: 100 }), "{:?}", reasons(&err));
}

#[tokio::test]
async fn quorum_gets_tokens_from_two_distinct_tsas() {
    require_openssl!();
    let (pki, a) = start();
    let b = OpensslTsa::start_with_pki(Arc::clone(&pki)).unwrap();
    let c = OpensslTsa::start_with_pki(Arc::clone(&pki)).unwrap();
    a.set_fault(Fault::Garbage);
    let query = pki.make_query(b"twice").unwrap();
    let client = TsaClient::new(vec![endpoint("a", &a, "CA"), endpoint("b", &b, "CA"), endpoint("c", &c, "CA")], config(1)).unwrap();
    let two = NonZeroUsize::new(2).unwrap();
    let policy = ResidencyPolicy::unrestricted();
    let q = client.timestamp_quorum(&query, &policy, two, openssl_validator(&pki, &query)).await.unwrap();
    assert!(q.is_complete());
    let names: Vec<_> = q.stamps.iter().map(|s| s.endpoint.as_str()).collect();
    assert_eq!(names, ["b", "c"]);
    for s in &q.stamps {
        pki.verify_reply(&query, &s.response).unwrap();
    }

    c.set_fault(Fault::HttpStatus(500));
    let q = client.timestamp_quorum(&query, &policy, two, openssl_validator(&pki, &query)).await.unwrap();
    assert!(!q.is_complete(), "one token kept even without its twin");
    assert_eq!(q.stamps.len(), 1);
    assert_eq!(q.trailing_failures.len(), 1);

    let err = client.timestamp_quorum(&query, &policy, NonZeroUsize::new(4).unwrap(), openssl_validator(&pki, &query)).await.unwrap_err();
    assert!(matches!(err, TimestampError::QuorumImpossible { wanted: 4, eligible: 3 }));
}

/// A TLS-terminating front for the plain-HTTP test TSA, so the client's https path (rustls with
/// the ring provider, certificate checking, extra roots) is exercised end to end. rustls (ring)
/// server with a certificate for `IP:127.0.0.1` issued by a fresh TLS test CA; each connection
/// carries one request, forwarded to the test TSA, whose reply is relayed back.
fn start_tls_front(pki: &TestPki, backend: SocketAddr) -> (SocketAddr, Vec<u8>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let dir = pki.dir();
    std::fs::write(
        dir.join("tls.cnf"),
        "[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\nCN = x\n\
         [ v3_ca ]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign\n\
         [ v3_srv ]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1\n",
    )
    .expect("write tls.cnf");
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl").current_dir(dir).args(args).output().expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run(&[
        &["req", "-x509", "-config", "tls.cnf", "-extensions", "v3_ca"][..],
        &ec,
        &["-keyout", "tls-ca.key", "-out", "tls-ca.pem", "-days", "2", "-subj", "/CN=TLS test CA"],
    ]
    .concat());
    run(&[&["req", "-new", "-config", "tls.cnf"][..], &ec, &["-keyout", "tls-srv.key", "-out", "tls-srv.csr", "-subj", "/CN=127.0.0.1"]]
        .concat());
    run(&[
        "x509",
        "-req",
        "-in",
        "tls-srv.csr",
        "-CA",
        "tls-ca.pem",
        "-CAkey",
        "tls-ca.key",
        "-set_serial",
        "7",
        "-days",
        "2",
        "-sha256",
        "-extfile",
        "tls.cnf",
        "-extensions",
        "v3_srv",
        "-out",
        "tls-srv.pem",
    ]);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("tls-srv.pem"))
        .expect("read tls-srv.pem")
        .collect::<Result<_, _>>()
        .expect("parse tls-srv.pem");
    let key = PrivateKeyDer::from_pem_file(dir.join("tls-srv.key")).expect("parse tls-srv.key");
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server certificate"),
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind TLS front");
    let addr = listener.local_addr().expect("local_addr");
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                // A failed handshake (the untrusting client) just ends this connection.
                let _ = relay_one(&config, tcp, backend);
            });
        }
    });
    (addr, std::fs::read(dir.join("tls-ca.pem")).expect("read tls-ca.pem"))
}

fn relay_one(config: &Arc<rustls::ServerConfig>, tcp: TcpStream, backend: SocketAddr) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let conn = rustls::ServerConnection::new(Arc::clone(config)).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut request = Vec::new();
    let mut chunk = [0_u8; 4096];
    let body = loop {
        let n = tls.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..n]);
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
            let length: usize =
                head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
            if request.len() >= end + 4 + length {
                break request[end + 4..end + 4 + length].to_vec();
            }
        }
    };
    let mut back = TcpStream::connect(backend)?;
    write!(
        back,
        "POST /tsa HTTP/1.1\r\nHost: {backend}\r\nContent-Type: application/timestamp-query\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    back.write_all(&body)?;
    let mut reply = Vec::new();
    back.read_to_end(&mut reply)?;
    tls.write_all(&reply)?;
    tls.conn.send_close_notify();
    tls.flush()
}

#[tokio::test]
async fn https_endpoint_uses_rustls_with_ring_and_checks_the_server_certificate() {
    require_openssl!();
    let (pki, tsa) = start();
    let (front, tls_ca_pem) = start_tls_front(&pki, tsa.addr());
    let url = format!("https://127.0.0.1:{}/tsa", front.port());
    let query = pki.make_query(b"over tls").unwrap();
    let ep = TsaEndpoint::new("tls", &url, jur("CA")).unwrap().with_credentials(Credentials::bearer("tls-token")).unwrap();

    let mut trusting = config(1);
    trusting.extra_root_certificates_pem = vec![tls_ca_pem];
    let client = TsaClient::new(vec![ep.clone()], trusting).unwrap();
    let stamp = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap();
    assert_eq!(stamp.endpoint, "tls");
    pki.verify_reply(&query, &stamp.response).unwrap();
    assert_eq!(tsa.requests().len(), 1);

    // Without the TLS test CA the handshake fails: the server certificate is checked.
    let client = TsaClient::new(vec![ep], config(1)).unwrap();
    let err = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap_err();
    assert_eq!(err.attempts().len(), 1);
    let reason = &err.attempts()[0].reason;
    assert!(matches!(reason, FailureReason::Connect(_)), "{reason:?}");
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(reason);
    while let Some(e) = source {
        chain.push_str(&e.to_string().to_lowercase());
        source = e.source();
    }
    assert!(chain.contains("certificate"), "{chain}");
    assert_eq!(tsa.requests().len(), 1, "nothing reached the TSA");
}
