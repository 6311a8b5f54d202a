//! TSA endpoints: where to send a request, under which jurisdiction, with which credentials.

use std::fmt;
use std::time::Duration;

use reqwest::Url;

/// Default total time for one HTTP attempt (connect, send, read the whole reply).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default cap on a reply body. Real `TimeStampResp`s are a few KiB (a token with a
/// three-certificate chain is under 8 KiB); 256 KiB leaves room for large chains.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// A legal jurisdiction a TSA operates under, as used by residency policies: an upper-case
/// ASCII code such as an ISO 3166-1 alpha-2 country (`"CA"`, `"US"`) or a union (`"EU"`).
///
/// The code is 2 to 8 characters of `A-Z`, `0-9` or `-`; input is upper-cased, so `"ca"` and
/// `"CA"` are the same jurisdiction. The crate does not check codes against a registry.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Jurisdiction(String);

impl Jurisdiction {
    /// Parses a jurisdiction code.
    ///
    /// # Errors
    /// [`EndpointError::InvalidJurisdiction`] when the code is empty, longer than 8 characters or
    /// holds anything but ASCII letters, digits and `-`.
    pub fn new(code: &str) -> Result<Self, EndpointError> {
        let valid = (2..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if valid {
            Ok(Self(code.to_ascii_uppercase()))
        } else {
            Err(EndpointError::InvalidJurisdiction { code: code.chars().take(16).collect() })
        }
    }

    /// The upper-case code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Jurisdiction {
    type Err = EndpointError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::new(code)
    }
}

impl fmt::Debug for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Jurisdiction({})", self.0)
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A secret string: its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// HTTP credentials for a commercial TSA. `Debug` redacts the secret parts; the client never
/// logs them and sends them as "sensitive" headers (excluded from reqwest's own debug output).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// HTTP Basic authentication (RFC 7617).
    Basic {
        /// The user name (shown by `Debug`: user names are not secrets).
        user: String,
        /// The password (never shown).
        password: SecretString,
    },
    /// A bearer token (RFC 6750), sent as `Authorization: Bearer ...`.
    Bearer(SecretString),
}

/// A password or token: `Debug` prints `<redacted>`; [`SecretString::expose`] is the only way
/// to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Secret);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Secret(value.into()))
    }

    /// The secret value. Only the HTTP layer should call this.
    pub fn expose(&self) -> &str {
        &self.0.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Credentials {
    /// HTTP Basic credentials.
    pub fn basic(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Basic { user: user.into(), password: SecretString::new(password) }
    }

    /// A bearer token.
    pub fn bearer(token: impl Into<String>) -> Self {
        Self::Bearer(SecretString::new(token))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { user, .. } => f.debug_struct("Basic").field("user", user).field("password", &Secret(String::new())).finish(),
            Self::Bearer(_) => f.debug_tuple("Bearer").field(&Secret(String::new())).finish(),
        }
    }
}

/// One time-stamping authority: a name for logs and results, the URL to POST to, its
/// jurisdiction for residency policies, optional credentials and per-endpoint limits.
///
/// Build it with [`TsaEndpoint::new`] (which checks the URL) and adjust with the `with_*`
/// methods. `Debug` redacts credentials.
#[derive(Clone, Debug)]
pub struct TsaEndpoint {
    name: String,
    url: Url,
    jurisdiction: Jurisdiction,
    credentials: Option<Credentials>,
    timeout: Duration,
    max_response_bytes: usize,
}

impl TsaEndpoint {
    /// A TSA endpoint with no credentials, [`DEFAULT_TIMEOUT`] and
    /// [`DEFAULT_MAX_RESPONSE_BYTES`].
    ///
    /// # Errors
    /// [`EndpointError::InvalidUrl`] when `url` does not parse, is not `http`/`https`, or carries
    /// a user name or password (credentials go in [`Credentials`], never in the URL, so that URLs
    /// can be logged).
    pub fn new(name: impl Into<String>, url: &str, jurisdiction: Jurisdiction) -> Result<Self, EndpointError> {
        let parsed = Url::parse(url).map_err(|e| EndpointError::InvalidUrl { reason: e.to_string() })?;
        if parsed.scheme() != "http" && parsed.scheme() != "https" {
            return Err(EndpointError::InvalidUrl { reason: format!("scheme {:?} is not http or https", parsed.scheme()) });
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(EndpointError::InvalidUrl { reason: "the URL carries user info; pass credentials separately".to_owned() });
        }
        if parsed.host_str().is_none() {
            return Err(EndpointError::InvalidUrl { reason: "the URL has no host".to_owned() });
        }
        Ok(Self {
            name: name.into(),
            url: parsed,
            jurisdiction,
            credentials: None,
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        })
    }

    /// Adds credentials.
    ///
    /// # Errors
    /// [`EndpointError::CredentialsOverPlainHttp`] when the URL is `http` and its host is not a
    /// loopback address: credentials are only sent over TLS (loopback is allowed for tests).
    pub fn with_credentials(mut self, credentials: Credentials) -> Result<Self, EndpointError> {
        if self.url.scheme() != "https" && !is_loopback(&self.url) {
            return Err(EndpointError::CredentialsOverPlainHttp { endpoint: self.name.clone() });
        }
        self.credentials = Some(credentials);
        Ok(self)
    }

    /// Sets the total time allowed for one HTTP attempt (connect, send, whole reply).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the largest reply body accepted; larger bodies are refused while streaming.
    #[must_use]
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The name used in logs, results and errors.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL the request is POSTed to.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The jurisdiction the TSA operates under.
    pub fn jurisdiction(&self) -> &Jurisdiction {
        &self.jurisdiction
    }

    /// The credentials, if any.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Total time allowed for one HTTP attempt.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Largest reply body accepted, in bytes.
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// The URL as logged: scheme, host, port and path only (no query, no fragment), so that a
    /// misconfigured URL carrying a key in its query string does not reach the logs.
    pub fn log_url(&self) -> String {
        let mut shown = format!("{}://", self.url.scheme());
        shown.push_str(self.url.host_str().unwrap_or(""));
        if let Some(port) = self.url.port() {
            shown.push(':');
            shown.push_str(&port.to_string());
        }
        shown.push_str(self.url.path());
        shown
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Why an endpoint or jurisdiction could not be built.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointError {
    /// The URL does not parse or is not acceptable.
    #[error("invalid TSA URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// The jurisdiction code is malformed.
    #[error("invalid jurisdiction code {code:?}: expected 2-8 characters of A-Z, 0-9, '-'")]
    InvalidJurisdiction {
        /// The code as given (truncated to 16 characters).
        code: String,
    },
    /// Credentials were given for a plain-HTTP URL that is not loopback.
    #[error("TSA {endpoint:?}: credentials are only sent over https (or to a loopback address)")]
    CredentialsOverPlainHttp {
        /// The endpoint's name.
        endpoint: String,
    },
}

#[cfg(test)]
mod tests;
