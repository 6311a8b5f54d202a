//! A local S3 emulator for tests of the S3 upload file store: moto's `moto_server` (PyPI
//! `moto[server]`, an implementation we did not write) on a loopback port, with one bucket
//! made in `ca-central-1`.
//!
//! The binary is `$S3_TEST_MOTO` or `moto_server` on `PATH`. Without it, [`MotoS3::start`]
//! answers `None` after printing why, unless `S3_TESTS=require` (as `.ci/run` sets), where
//! that fails the test.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::TempDir;

/// A running `moto_server`, killed on drop.
#[derive(Debug)]
pub struct MotoS3 {
    child: Child,
    addr: SocketAddr,
    /// The bucket made at start.
    pub bucket: String,
    /// Holds the secret key file of [`MotoS3::config_toml`].
    dir: TempDir,
}

fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("S3_TEST_MOTO") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|path| std::env::split_paths(&path).map(|d| d.join("moto_server")).find(|p| p.is_file()))
}

impl MotoS3 {
    /// Starts one with the bucket `bucket`, or `None` (printing why) when moto is missing.
    pub fn start(bucket: &str) -> Option<Self> {
        let Some(bin) = binary().filter(|p| p.is_file()) else {
            assert!(
                std::env::var("S3_TESTS").as_deref() != Ok("require"),
                "S3_TESTS=require but moto_server is missing (set S3_TEST_MOTO or put it on PATH)"
            );
            eprintln!("skipped: moto_server (pip install 'moto[server]') is not installed; set S3_TEST_MOTO");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        let dir = TempDir::new("moto-s3");
        std::fs::write(dir.path().join("secret"), "moto-test-secret\n").expect("secret file");
        let me = Self { child, addr, bucket: bucket.to_owned(), dir };
        let deadline = Instant::now() + Duration::from_mins(1);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen on {addr} within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        let body = "<CreateBucketConfiguration><LocationConstraint>ca-central-1</LocationConstraint></CreateBucketConfiguration>";
        let (status, text) = me.raw("PUT", &format!("/{bucket}"), body.as_bytes());
        assert_eq!(status, 200, "create bucket: {text}");
        Some(me)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An `[uploads.s3]` section for this server (path style, plain HTTP, a key id and a
    /// secret key file; moto accepts any credentials).
    pub fn config_toml(&self, prefix: &str) -> String {
        format!(
            "bucket = \"{}\"\nendpoint = \"{}\"\nallow_http = true\nprefix = \"{prefix}\"\naccess_key_id = \"moto-test\"\nsecret_access_key_file = \"{}\"\n",
            self.bucket,
            self.endpoint(),
            self.dir.path().join("secret").display()
        )
    }

    /// One unsigned request to the emulator (moto does not check signatures by default):
    /// the status and the body.
    pub fn raw(&self, method: &str, path_and_query: &str, body: &[u8]) -> (u16, String) {
        let mut s = TcpStream::connect(self.addr).expect("connect to moto");
        s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        let head = format!(
            "{method} {path_and_query} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        s.write_all(head.as_bytes()).and_then(|()| s.write_all(body)).expect("send to moto");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        (status, body)
    }

    /// The keys under `prefix` in the bucket (a `ListObjectsV2`).
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let (status, xml) = self.raw("GET", &format!("/{}?list-type=2&prefix={prefix}", self.bucket), b"");
        assert_eq!(status, 200, "list: {xml}");
        xml.split("<Key>").skip(1).filter_map(|s| s.split_once("</Key>")).map(|(k, _)| k.to_owned()).collect()
    }

    /// The multipart uploads begun and neither completed nor aborted.
    pub fn open_multipart_uploads(&self) -> usize {
        let (status, xml) = self.raw("GET", &format!("/{}?uploads", self.bucket), b"");
        assert_eq!(status, 200, "list uploads: {xml}");
        xml.matches("<Upload>").count()
    }
}

impl Drop for MotoS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
