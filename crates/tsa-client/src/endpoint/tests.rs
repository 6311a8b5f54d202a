use super::{Credentials, EndpointError, Jurisdiction, TsaEndpoint};

#[test]
fn jurisdiction_normalises_and_validates() {
    assert_eq!(Jurisdiction::new("ca").unwrap(), Jurisdiction::new("CA").unwrap());
    assert_eq!(Jurisdiction::new("eu").unwrap().as_str(), "EU");
    assert_eq!("us".parse::<Jurisdiction>().unwrap().to_string(), "US");
    for bad in ["", "C", "TOOLONGCODE", "C A", "ÇA"] {
        assert!(matches!(Jurisdiction::new(bad), Err(EndpointError::InvalidJurisdiction { .. })), "{bad:?}");
    }
}

#[test]
fn urls_with_user_info_or_odd_schemes_are_refused() {
    let j = || Jurisdiction::new("CA").unwrap();
    assert!(TsaEndpoint::new("a", "https://u:p@tsa.example/", j()).is_err());
    assert!(TsaEndpoint::new("a", "ftp://tsa.example/", j()).is_err());
    assert!(TsaEndpoint::new("a", "not a url", j()).is_err());
    let e = TsaEndpoint::new("a", "https://tsa.example:8443/ts?key=secret#x", j()).unwrap();
    assert_eq!(e.log_url(), "https://tsa.example:8443/ts");
}

#[test]
fn credentials_need_tls_unless_loopback() {
    let j = || Jurisdiction::new("US").unwrap();
    let plain = TsaEndpoint::new("p", "http://tsa.example/", j()).unwrap();
    assert!(matches!(plain.with_credentials(Credentials::bearer("t")), Err(EndpointError::CredentialsOverPlainHttp { .. })));
    for url in ["http://127.0.0.1:1/", "http://[::1]:1/", "http://localhost/", "https://tsa.example/"] {
        let e = TsaEndpoint::new("l", url, j()).unwrap();
        assert!(e.with_credentials(Credentials::bearer("t")).is_ok(), "{url}");
    }
}

#[test]
fn debug_redacts_secrets() {
    let e = TsaEndpoint::new("x", "https://tsa.example/", Jurisdiction::new("US").unwrap())
        .unwrap()
        .with_credentials(Credentials::basic("alice", "hunter2-secret"))
        .unwrap();
    let shown = format!("{e:?} {e:#?}");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    assert!(shown.contains("alice") && shown.contains("<redacted>"), "{shown}");
    let b = Credentials::bearer("tok-very-secret");
    assert!(!format!("{b:?}").contains("tok-very-secret"));
}
