//! Credentials reach the TSA but never the logs or `Debug` output. Its own test binary: it
//! installs a process-wide `tracing` subscriber capturing everything at TRACE, which would be
//! racy as a thread-scoped subscriber next to the other tests.

#[macro_use]
mod common;

use std::io::Write;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use common::{config, endpoint, openssl_validator, start};
use test_support::tsa::{Fault, OpensslTsa};
use tsa_client::{Credentials, ResidencyPolicy, TsaClient};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn credentials_are_sent_but_never_logged_or_printed() {
    const PASSWORD: &str = "correct-horse-battery";
    const BASIC: &str = "Basic YWxpY2U6Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5";
    const TOKEN: &str = "bearer-token-do-not-log";
    require_openssl!();
    let (pki, tsa) = start();
    let bearer_tsa = OpensslTsa::start_with_pki(Arc::clone(&pki)).unwrap();
    tsa.push_one_shot([Fault::HttpStatus(500)]);
    let query = pki.make_query(b"credentials").unwrap();
    let basic_ep = endpoint("commercial", &tsa, "US").with_credentials(Credentials::basic("alice", PASSWORD)).unwrap();
    let bearer_ep = endpoint("bearer", &bearer_tsa, "US").with_credentials(Credentials::bearer(TOKEN)).unwrap();
    let client = TsaClient::new(vec![basic_ep, bearer_ep], config(2)).unwrap();

    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_ansi(false).with_writer(move || writer.clone()).finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber here");
    let stamp = client.timestamp(&query, &ResidencyPolicy::unrestricted(), openssl_validator(&pki, &query)).await.unwrap();
    let q = client
        .timestamp_quorum(&query, &ResidencyPolicy::unrestricted(), NonZeroUsize::new(2).unwrap(), openssl_validator(&pki, &query))
        .await
        .unwrap();
    assert_eq!(stamp.endpoint, "commercial");
    assert!(q.is_complete());

    let seen = tsa.requests();
    assert!(seen.len() >= 2);
    assert!(seen.iter().all(|r| r.authorization.as_deref() == Some(BASIC)));
    assert_eq!(bearer_tsa.requests()[0].authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("commercial") && logged.contains("accepted"), "{logged}");
    assert!(logged.contains("HTTP status 500"), "failures are logged: {logged}");
    for secret in [PASSWORD, "YWxpY2U6Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5", TOKEN] {
        assert!(!logged.contains(secret), "secret in logs: {logged}");
        for shown in [format!("{client:?}"), format!("{:#?}", client.endpoints()), format!("{stamp:?}")] {
            assert!(!shown.contains(secret), "secret in Debug: {shown}");
        }
    }
}
