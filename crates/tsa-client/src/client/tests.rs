use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};

use super::{ResidencyPolicy, RetryPolicy, check_content_type, retry_after};
use crate::endpoint::{Jurisdiction, TsaEndpoint};
use crate::{ClientConfig, TsaClient};

fn ct(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
    h
}

#[test]
fn content_type_ignores_case_and_parameters() {
    assert!(check_content_type(&ct("application/timestamp-reply")).is_ok());
    assert!(check_content_type(&ct("Application/TimeStamp-Reply; charset=binary")).is_ok());
    assert!(check_content_type(&ct("application/timestamp-response")).is_ok());
    assert_eq!(check_content_type(&ct("text/html; charset=utf-8")), Err("text/html; charset=utf-8".to_owned()));
    assert_eq!(check_content_type(&ct("application/timestamp-replyx")), Err("application/timestamp-replyx".to_owned()));
    assert_eq!(check_content_type(&HeaderMap::new()), Err(String::new()));
}

#[test]
fn retry_after_only_seconds_on_429_and_503() {
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
    assert_eq!(retry_after(StatusCode::TOO_MANY_REQUESTS, &h), Some(Duration::from_secs(7)));
    assert_eq!(retry_after(StatusCode::SERVICE_UNAVAILABLE, &h), Some(Duration::from_secs(7)));
    assert_eq!(retry_after(StatusCode::INTERNAL_SERVER_ERROR, &h), None);
    h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
    assert_eq!(retry_after(StatusCode::TOO_MANY_REQUESTS, &h), None);
}

#[test]
fn backoff_grows_with_jitter_within_bounds() {
    let p = RetryPolicy {
        max_attempts_per_endpoint: 10,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        max_retry_after: Duration::from_secs(1),
    };
    let mut seen_distinct = std::collections::BTreeSet::new();
    for _ in 0..50 {
        let d1 = p.backoff(1);
        assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100), "{d1:?}");
        let d3 = p.backoff(3);
        assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400), "{d3:?}");
        let d9 = p.backoff(9);
        assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_secs(1), "{d9:?}");
        seen_distinct.insert(d1);
    }
    // Jitter: fifty draws are not all the same value.
    assert!(seen_distinct.len() > 1);
    assert!(p.backoff(u32::MAX) <= Duration::from_secs(1));
}

fn ep(name: &str, j: &str) -> TsaEndpoint {
    TsaEndpoint::new(name, "http://127.0.0.1:9/tsa", Jurisdiction::new(j).unwrap()).unwrap()
}

#[test]
fn plan_puts_allowed_first_in_configured_order() {
    let client = TsaClient::new(vec![ep("us1", "US"), ep("ca1", "CA"), ep("eu1", "EU"), ep("ca2", "ca")], ClientConfig::default()).unwrap();
    let ca = Jurisdiction::new("CA").unwrap();
    let names = |p: &ResidencyPolicy| client.plan(p).into_iter().map(|(e, outside)| (e.name().to_owned(), outside)).collect::<Vec<_>>();
    assert_eq!(
        names(&ResidencyPolicy::allow([ca.clone()], true)),
        vec![("ca1".to_owned(), false), ("ca2".to_owned(), false), ("us1".to_owned(), true), ("eu1".to_owned(), true)]
    );
    assert_eq!(names(&ResidencyPolicy::allow([ca], false)), vec![("ca1".to_owned(), false), ("ca2".to_owned(), false)]);
    assert_eq!(names(&ResidencyPolicy::unrestricted()).len(), 4);
}

#[test]
fn client_rejects_bad_configuration() {
    assert!(matches!(TsaClient::new(vec![], ClientConfig::default()), Err(crate::BuildError::NoEndpoints)));
    assert!(matches!(
        TsaClient::new(vec![ep("a", "CA"), ep("a", "US")], ClientConfig::default()),
        Err(crate::BuildError::DuplicateName(n)) if n == "a"
    ));
    let mut cfg = ClientConfig::default();
    cfg.retry.max_attempts_per_endpoint = 0;
    assert!(matches!(TsaClient::new(vec![ep("a", "CA")], cfg), Err(crate::BuildError::ZeroAttempts)));
}

#[test]
fn https_client_builds_with_an_explicit_provider_and_installs_none() {
    // The client's TLS configuration carries its own ring provider (issue 21: library code
    // never installs a process-wide one), so building works with no default installed and
    // leaves none behind for the application to trip over.
    for _ in 0..2 {
        let e = TsaEndpoint::new("https", "https://tsa.example.invalid/tsr", Jurisdiction::new("EU").unwrap()).unwrap();
        TsaClient::new(vec![e], ClientConfig::default()).unwrap();
    }
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
}
