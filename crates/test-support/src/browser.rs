//! A real Chromium driven over WebDriver (feature `browser`): starts `chromedriver` on a free
//! loopback port, opens a headless session with the browser and performance logs on, and
//! speaks the W3C WebDriver protocol over HTTP (JSON with `reqwest`; no driver download).
//!
//! [`Browser::start`] answers `Ok(None)` with a printed `SKIPPED` reason when `chromium` or
//! `chromedriver` is missing, and fails instead when `BROWSER_TESTS=require`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Why a WebDriver call failed.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// The driver answered with an error (its `error` and `message`).
    #[error("webdriver {0}: {1}")]
    Driver(String, String),
    /// HTTP to the driver failed.
    #[error("webdriver transport: {0}")]
    Transport(String),
    /// The tools are missing while `BROWSER_TESTS=require`, or would not start.
    #[error("{0}")]
    Setup(String),
}

/// Whether `BROWSER_TESTS=require` is set.
pub fn required() -> bool {
    std::env::var("BROWSER_TESTS").is_ok_and(|v| v == "require")
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).flat_map(|p| names.iter().map(move |n| p.join(n))).find(|p| p.is_file())
}

/// A browser session and the driver process it runs under (killed on drop).
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`.
    session: String,
    driver: Child,
    /// Where downloads land.
    pub downloads: PathBuf,
}

/// A found element.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and a headless Chromium whose downloads go to `downloads`.
    ///
    /// # Errors
    /// [`BrowserError::Setup`] when a tool is missing and `BROWSER_TESTS=require`, or the
    /// driver does not start; `Ok(None)` (after printing `SKIPPED: …`) when a tool is missing
    /// otherwise.
    pub async fn start(downloads: &Path) -> Result<Option<Self>, BrowserError> {
        let chromium = on_path(&["chromium", "chromium-browser", "google-chrome"]);
        let driver = on_path(&["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            let why = "chromium and chromedriver must be on PATH (Debian: apt-get install chromium chromium-driver)";
            if required() {
                return Err(BrowserError::Setup(format!("BROWSER_TESTS=require: {why}")));
            }
            eprintln!("SKIPPED: {why}");
            return Ok(None);
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| BrowserError::Setup(format!("no free port: {e}")))?
            .port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| BrowserError::Setup(format!("{}: {e}", driver.display())))?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http =
            reqwest::Client::builder().timeout(Duration::from_mins(2)).build().map_err(|e| BrowserError::Transport(e.to_string()))?;
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == json!(true))
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut me = Self { http, session: String::new(), driver: child, downloads: downloads.to_owned() };
        if !ready {
            return Err(BrowserError::Setup("chromedriver did not become ready in 10 s".into()));
        }
        let dir = downloads.display().to_string();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--no-first-run", "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--disable-extensions", "--metrics-recording-only", "--password-store=basic"],
                "prefs": {"download.default_directory": dir, "download.prompt_for_download": false, "safebrowsing.enabled": false}
            },
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"}
        }}});
        let v = me.call(reqwest::Method::POST, &format!("{base}/session"), Some(caps)).await?;
        let id = v["sessionId"].as_str().ok_or_else(|| BrowserError::Setup(format!("no session id in {v}")))?;
        me.session = format!("{base}/session/{id}");
        // Downloads without a prompt in headless mode.
        me.post(
            "/chromium/send_command",
            json!({"cmd": "Browser.setDownloadBehavior", "params": {"behavior": "allow", "downloadPath": dir}}),
        )
        .await?;
        Ok(Some(me))
    }

    async fn call(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> Result<Value, BrowserError> {
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| BrowserError::Transport(e.to_string()))?;
        let v: Value = resp.json().await.map_err(|e| BrowserError::Transport(e.to_string()))?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if let Some(err) = value.get("error").and_then(Value::as_str) {
            return Err(BrowserError::Driver(err.to_owned(), value["message"].as_str().unwrap_or("").chars().take(500).collect()));
        }
        Ok(value)
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, BrowserError> {
        self.call(reqwest::Method::POST, &format!("{}{path}", self.session), Some(body)).await
    }

    async fn get(&self, path: &str) -> Result<Value, BrowserError> {
        self.call(reqwest::Method::GET, &format!("{}{path}", self.session), None).await
    }

    /// Opens `url`.
    ///
    /// # Errors
    /// [`BrowserError`].
    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        self.post("/url", json!({ "url": url })).await.map(|_| ())
    }

    /// The current URL.
    ///
    /// # Errors
    /// [`BrowserError`].
    pub async fn url(&self) -> Result<String, BrowserError> {
        Ok(self.get("/url").await?.as_str().unwrap_or_default().to_owned())
    }

    /// The page's HTML.
    ///
    /// # Errors
    /// [`BrowserError`].
    pub async fn source(&self) -> Result<String, BrowserError> {
        Ok(self.get("/source").await?.as_str().unwrap_or_default().to_owned())
    }

    /// The first element matching the CSS selector.
    ///
    /// # Errors
    /// [`BrowserError`] (`no such element` included).
    pub async fn find(&self, css: &str) -> Result<Element, BrowserError> {
        let v = self.post("/element", json!({"using": "css selector", "value": css})).await?;
        v[ELEMENT].as_str().map(|s| Element(s.to_owned())).ok_or_else(|| BrowserError::Driver("no such element".into(), css.to_owned()))
    }

    /// Clicks `e`.
    ///
    /// # Errors
    /// [`BrowserError`].
    pub async fn click(&self, e: &Element) -> Result<(), BrowserError> {
        self.post(&format!("/element/{}/click", e.0), json!({})).await.map(|_| ())
    }

    /// Types `text` into `e`.
    ///
    /// # Errors
    /// [`BrowserError`].
    pub async fn type_into(&self, e: &Element, text: &str) -> Result<(), BrowserError> {
        self.post(&format!("/element/{}/value", e.0), json!({ "text": text })).await.map(|_| ())
    }

    /// Presses and releases one key (a WebDriver key code such as [`TAB`] or [`ENTER`]).
    ///
    /// # Errors
    /// [`BrowserError`].
    pub async fn key(&self, key: &str) -> Result<(), BrowserError> {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]});
        self.post("/actions", actions).await.map(|_| ())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and answers its return value.
    ///
    /// # Errors
    /// [`BrowserError`].
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, BrowserError> {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await
    }

    /// Runs `script` whose last argument is the callback to call with the result.
    ///
    /// # Errors
    /// [`BrowserError`].
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value, BrowserError> {
        self.post("/execute/async", json!({ "script": script, "args": args })).await
    }

    /// A PNG screenshot of the viewport.
    ///
    /// # Errors
    /// [`BrowserError`].
    pub async fn screenshot(&self) -> Result<Vec<u8>, BrowserError> {
        use base64::Engine as _;
        let v = self.get("/screenshot").await?;
        base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or_default()).map_err(|e| BrowserError::Transport(e.to_string()))
    }

    /// The log entries of `kind` (`browser` — the console, CSP violations included — or
    /// `performance` — DevTools network events) since the last call.
    ///
    /// # Errors
    /// [`BrowserError`].
    pub async fn log(&self, kind: &str) -> Result<Vec<Value>, BrowserError> {
        Ok(self.post("/se/log", json!({ "type": kind })).await?.as_array().cloned().unwrap_or_default())
    }

    /// Every URL the page requested since the last call (from the performance log).
    ///
    /// # Errors
    /// [`BrowserError`].
    pub async fn requested_urls(&self) -> Result<Vec<String>, BrowserError> {
        let mut out = Vec::new();
        for e in self.log("performance").await? {
            let Some(m) = e["message"].as_str().and_then(|m| serde_json::from_str::<Value>(m).ok()) else { continue };
            if m["message"]["method"] == json!("Network.requestWillBeSent")
                && let Some(u) = m["message"]["params"]["request"]["url"].as_str()
            {
                out.push(u.to_owned());
            }
        }
        Ok(out)
    }

    /// Ends the session and the driver.
    pub async fn quit(mut self) {
        let _ = self.call(reqwest::Method::DELETE, &self.session.clone(), None).await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The Tab key.
pub const TAB: &str = "\u{E004}";
/// The Enter key.
pub const ENTER: &str = "\u{E007}";
