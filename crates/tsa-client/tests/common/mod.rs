//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use test_support::tsa::{OpensslTsa, OpensslVerifyError, TestPki};
use tsa_client::{ClientConfig, Jurisdiction, RetryPolicy, TimestampError, TsaEndpoint};

/// Returns early (skipping the test, loudly) when the `openssl` CLI is absent. The message goes
/// straight to the process's stderr, past libtest's output capture, so it shows in a normal run.
/// With `TSA_CLIENT_REQUIRE_OPENSSL=1` (for CI) a missing CLI fails the test instead.
macro_rules! require_openssl {
    () => {
        if test_support::tsa::openssl_version().is_none() {
            assert!(
                std::env::var_os("TSA_CLIENT_REQUIRE_OPENSSL").is_none(),
                "TSA_CLIENT_REQUIRE_OPENSSL is set but the openssl CLI (OpenSSL 3) is not on the PATH"
            );
            let message = format!(
                "SKIPPED (tsa-client {}:{}): the openssl CLI (OpenSSL 3) is not on the PATH; \
                 install it to run the test-TSA integration tests\n",
                file!(),
                line!()
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
            return;
        }
    };
}

pub fn jur(code: &str) -> Jurisdiction {
    Jurisdiction::new(code).expect("valid test jurisdiction")
}

pub fn endpoint(name: &str, tsa: &OpensslTsa, code: &str) -> TsaEndpoint {
    TsaEndpoint::new(name, &tsa.url(), jur(code)).expect("the harness URL is valid").with_timeout(Duration::from_secs(10))
}

/// Short backoffs so that retry tests stay quick.
pub fn config(attempts: u32) -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts_per_endpoint: attempts,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            max_retry_after: Duration::from_secs(2),
        },
        ..ClientConfig::default()
    }
}

/// The real validator: `openssl ts -verify` against the query (nonce, imprint, status,
/// signature, chain to the trusted root).
pub fn openssl_validator(pki: &Arc<TestPki>, query: &[u8]) -> impl FnMut(&TsaEndpoint, &[u8]) -> Result<String, OpensslVerifyError> {
    let pki = Arc::clone(pki);
    let query = query.to_vec();
    move |_endpoint, reply| {
        pki.verify_reply(&query, reply)?;
        Ok(pki.reply_text(reply).unwrap_or_default())
    }
}

pub fn reasons(err: &TimestampError) -> Vec<(String, u32, String)> {
    err.attempts().iter().map(|a| (a.endpoint.clone(), a.attempt, format!("{:?}", a.reason))).collect()
}

pub fn start() -> (Arc<TestPki>, OpensslTsa) {
    let tsa = OpensslTsa::start().expect("openssl is present, so the test TSA must start");
    (Arc::clone(tsa.pki()), tsa)
}
