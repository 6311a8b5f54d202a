//! Where the identity provider's keys come from: a JWKS URL (https, or loopback http) or a
//! file, cached, re-read on an unknown key id at most once a minute, reloaded after an hour.

use super::*;

/// Where a key source reads its key set.
enum Origin {
    Url { url: reqwest::Url, client: reqwest::Client },
    File(PathBuf),
}

/// Keys in use and when they were loaded.
#[derive(Clone)]
struct Cached {
    jwks: Arc<Jwks>,
    loaded_at: Instant,
}

/// The last load attempt (guarded by the load lock).
#[derive(Default)]
struct LoadState {
    last_attempt: Option<Instant>,
    last_error: Option<OidcError>,
}

/// What a reload attempt gave.
enum Reload {
    /// Keys newer than those the caller saw.
    New(Arc<Jwks>),
    /// Not attempted: the last attempt is too recent (its error, if it failed).
    RateLimited(Option<OidcError>),
    /// Attempted and failed.
    Failed(OidcError),
}

/// Where the keys come from, with caching.
///
/// Keys are loaded on first use, reloaded when a token names a key that is not in the set
/// (at most once per `refetch_after`), and reloaded on first use after an hour so that
/// withdrawn keys stop being trusted (if that reload fails, the older keys stay in use).
/// A failed load gives [`OidcError::KeysUnavailable`]. Redirects are not followed.
pub struct KeySource {
    origin: Origin,
    refetch_after: Duration,
    keys: tokio::sync::RwLock<Option<Cached>>,
    /// Serialises loads (held across a load; the key lock is not).
    load: tokio::sync::Mutex<LoadState>,
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("KeySource");
        match &self.origin {
            Origin::Url { url, .. } => s.field("url", &url.as_str()),
            Origin::File(path) => s.field("file", path),
        };
        s.field("refetch_after", &self.refetch_after).finish_non_exhaustive()
    }
}

impl KeySource {
    fn new(origin: Origin) -> Self {
        Self {
            origin,
            refetch_after: DEFAULT_REFETCH_AFTER,
            keys: tokio::sync::RwLock::new(None),
            load: tokio::sync::Mutex::new(LoadState::default()),
        }
    }

    /// Keys fetched from an https:// (or, for tests and loopback, http://127.0.0.1 / http://localhost) JWKS URL with reqwest (timeout 10 s, response capped at 1 MiB), cached; re-fetched when a token names a kid not in the cache, at most once per `refetch_after` (default 60 s, settable with `with_refetch_after(Duration)`). Refuse other http:// URLs at construction with BadKeySet.
    ///
    /// Installs the rustls `ring` crypto provider as process default if none is installed.
    ///
    /// # Errors
    /// [`OidcError::BadKeySet`] for an unparsable URL, another scheme, plain http to a host
    /// other than the loopback ones above, or credentials in the URL;
    /// [`OidcError::KeysUnavailable`] when the HTTP client cannot be built.
    pub fn url(url: &str) -> Result<Self, OidcError> {
        let url = reqwest::Url::parse(url).map_err(|e| OidcError::BadKeySet(format!("JWKS URL does not parse: {e}")))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost"));
        match url.scheme() {
            "https" if url.host_str().is_some_and(|h| !h.is_empty()) => {}
            "http" if loopback => {}
            "http" => return Err(OidcError::BadKeySet("JWKS URL must be https:// (plain http only to 127.0.0.1 or localhost)".to_owned())),
            _ => return Err(OidcError::BadKeySet("JWKS URL must be https://".to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OidcError::BadKeySet("JWKS URL must not carry credentials".to_owned()));
        }
        let tls = tsa_client::client_tls(&[]).map_err(|e| OidcError::KeysUnavailable(format!("TLS configuration: {}", error_chain(&e))))?;
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ledger-server/", env!("CARGO_PKG_VERSION")));
        if loopback {
            builder = builder.no_proxy();
        }
        let client =
            builder.build().map_err(|e| OidcError::KeysUnavailable(format!("cannot build the HTTP client: {}", error_chain(&e))))?;
        Ok(Self::new(Origin::Url { url, client }))
    }

    /// Keys read from a JWKS file, re-read when a token names an unknown kid (same rate limit).
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::new(Origin::File(path.into()))
    }

    /// Sets the minimum interval between two loads (default 60 s).
    #[must_use]
    pub fn with_refetch_after(mut self, d: Duration) -> Self {
        self.refetch_after = d;
        self
    }

    /// Validates `token`, loading keys on first use and once more on an unknown kid.
    ///
    /// # Errors
    /// As [`validate`], and [`OidcError::KeysUnavailable`] when keys are needed and cannot
    /// be loaded.
    pub async fn validate(&self, token: &str, policy: &IdTokenPolicy, now: i64) -> Result<IdClaims, OidcError> {
        let current = self.keys.read().await.clone();
        match current {
            None => match self.reload(None).await {
                Reload::New(jwks) => validate(token, &jwks, policy, now),
                Reload::RateLimited(last) => Err(last.unwrap_or_else(|| OidcError::KeysUnavailable("no key set loaded yet".to_owned()))),
                Reload::Failed(e) => Err(e),
            },
            Some(cached) if cached.loaded_at.elapsed() >= MAX_KEY_AGE => {
                // Refresh old keys, but do not wait for a load another request is running, and
                // keep the older keys rather than refuse everyone while the provider is down.
                let reloaded = match self.load.try_lock() {
                    Ok(mut state) => self.reload_locked(&mut state, Some(&cached.jwks)).await,
                    Err(_) => Reload::RateLimited(None),
                };
                match reloaded {
                    Reload::New(jwks) => validate(token, &jwks, policy, now),
                    Reload::RateLimited(_) | Reload::Failed(_) => validate(token, &cached.jwks, policy, now),
                }
            }
            Some(cached) => match validate(token, &cached.jwks, policy, now) {
                Err(unknown @ OidcError::UnknownKey(_)) => match self.reload(Some(&cached.jwks)).await {
                    Reload::New(jwks) => validate(token, &jwks, policy, now),
                    Reload::RateLimited(_) => Err(unknown),
                    Reload::Failed(e) => Err(e),
                },
                other => other,
            },
        }
    }

    /// Loads the key set unless another task already replaced `seen` or the last attempt is
    /// too recent.
    async fn reload(&self, seen: Option<&Arc<Jwks>>) -> Reload {
        let mut state = self.load.lock().await;
        self.reload_locked(&mut state, seen).await
    }

    /// [`Self::reload`] with the load lock held.
    async fn reload_locked(&self, state: &mut LoadState, seen: Option<&Arc<Jwks>>) -> Reload {
        let current = self.keys.read().await.clone();
        if let Some(cached) = &current {
            let replaced = seen.is_none_or(|seen| !Arc::ptr_eq(seen, &cached.jwks));
            if replaced && cached.loaded_at.elapsed() < MAX_KEY_AGE {
                return Reload::New(Arc::clone(&cached.jwks));
            }
        }
        let interval = if current.is_some() { self.refetch_after } else { self.refetch_after.min(RETRY_WITHOUT_KEYS) };
        if state.last_attempt.is_some_and(|t| t.elapsed() < interval) {
            return Reload::RateLimited(state.last_error.clone());
        }
        state.last_attempt = Some(Instant::now());
        match self.fetch().await {
            Ok(jwks) => {
                let jwks = Arc::new(jwks);
                *self.keys.write().await = Some(Cached { jwks: Arc::clone(&jwks), loaded_at: Instant::now() });
                state.last_error = None;
                tracing::debug!(keys = jwks.len(), "loaded the OIDC signing keys");
                Reload::New(jwks)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot load the OIDC signing keys");
                state.last_error = Some(e.clone());
                Reload::Failed(e)
            }
        }
    }

    async fn fetch(&self) -> Result<Jwks, OidcError> {
        let bytes = match &self.origin {
            Origin::Url { url, client } => fetch_url(client, url).await?,
            Origin::File(path) => read_file(path).await?,
        };
        Jwks::parse(&bytes).map_err(|e| OidcError::KeysUnavailable(e.to_string()))
    }
}

async fn fetch_url(client: &reqwest::Client, url: &reqwest::Url) -> Result<Vec<u8>, OidcError> {
    let unavailable = |e: &reqwest::Error| OidcError::KeysUnavailable(format!("fetching the JWKS: {}", error_chain(e)));
    let mut response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/jwk-set+json, application/json")
        .send()
        .await
        .map_err(|e| unavailable(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(OidcError::KeysUnavailable(format!("the JWKS URL answered HTTP {} (redirects are not followed)", status.as_u16())));
    }
    let too_large = || OidcError::KeysUnavailable(format!("the JWKS is larger than {MAX_JWKS_BYTES} bytes"));
    if response.content_length().is_some_and(|n| n > MAX_JWKS_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(&e))? {
        if body.len().saturating_add(chunk.len()) > MAX_JWKS_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn read_file(path: &std::path::Path) -> Result<Vec<u8>, OidcError> {
    use tokio::io::AsyncReadExt as _;
    let unavailable = |e: &std::io::Error| OidcError::KeysUnavailable(format!("reading the JWKS file {}: {e}", path.display()));
    let file = tokio::fs::File::open(path).await.map_err(|e| unavailable(&e))?;
    let mut body = Vec::new();
    file.take(MAX_JWKS_BYTES as u64 + 1).read_to_end(&mut body).await.map_err(|e| unavailable(&e))?;
    if body.len() > MAX_JWKS_BYTES {
        return Err(OidcError::KeysUnavailable(format!("the JWKS file is larger than {MAX_JWKS_BYTES} bytes")));
    }
    Ok(body)
}
