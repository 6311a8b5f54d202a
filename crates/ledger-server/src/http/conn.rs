//! The connection loop: accepting, TLS, and the limits that keep slow or idle clients from
//! holding the server.
//!
//! Each accepted connection takes one of `max_connections` slots (a connection beyond it is
//! closed at once, before any byte is read, so the slots already taken keep being served)
//! and is watched by a per-connection timer over its I/O:
//!
//! - **header read timeout**: once the first byte of a request arrives, its whole head
//!   (request line and headers) must arrive within `header_read_timeout`, however slowly
//!   the bytes trickle in (a byte a second does not keep it open);
//! - **idle timeout**: a connection with no request in progress and nothing read or written
//!   for `idle_timeout` is closed (keep-alive connections between requests, and sockets
//!   that never send anything);
//! - a request in progress is bounded by the request timeout of the `/v1` guard (which
//!   covers reading its body: a slow body gets `503 timeout`, and the connection is then
//!   closed by the header timeout if the client keeps trickling).
//!
//! The TLS handshake runs inside the connection's slot, under
//! [`crate::tls::HANDSHAKE_TIMEOUT`] (capped by the header read timeout). On shutdown the
//! loop stops accepting and asks every connection to finish its current request and close.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

/// Connection limits (part of [`super::HttpLimits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnLimits {
    /// Longest a request head may take to arrive, from its first byte.
    pub header_read_timeout: Duration,
    /// Longest a connection may sit with no request in progress and no I/O.
    pub idle_timeout: Duration,
    /// Most connections served at once (TLS handshakes included).
    pub max_connections: usize,
}

/// What a connection did last, in milliseconds since it was accepted (`u64::MAX`: never).
struct Activity {
    start: Instant,
    /// Requests whose response has not been returned yet.
    inflight: AtomicUsize,
    /// When the connection last became free of requests (accept, or a response returned).
    idle_since: AtomicU64,
    /// When the last byte was written.
    last_write: AtomicU64,
    /// When the first byte of the next request head was read, while no request is in
    /// progress (`u64::MAX`: none yet).
    head_started: AtomicU64,
}

const NEVER: u64 = u64::MAX;

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            inflight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            head_started: AtomicU64::new(NEVER),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(NEVER - 1)
    }

    fn read(&self) {
        if self.inflight.load(Ordering::SeqCst) == 0 {
            let now = self.now();
            let _ = self.head_started.compare_exchange(NEVER, now, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    fn wrote(&self) {
        self.last_write.store(self.now(), Ordering::SeqCst);
    }

    fn begin(self: &Arc<Self>) -> Inflight {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        self.head_started.store(NEVER, Ordering::SeqCst);
        Inflight(Arc::clone(self))
    }

    /// When the connection must be closed, if nothing happens before (None: a request is
    /// in progress).
    fn deadline(&self, limits: &ConnLimits) -> Option<u64> {
        if self.inflight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(NEVER / 2);
        let head = self.head_started.load(Ordering::SeqCst);
        if head != NEVER {
            return Some(head.saturating_add(ms(limits.header_read_timeout)));
        }
        let quiet_since = self.idle_since.load(Ordering::SeqCst).max(self.last_write.load(Ordering::SeqCst));
        Some(quiet_since.saturating_add(ms(limits.idle_timeout)))
    }
}

/// One request in progress; returning its response frees the connection again.
struct Inflight(Arc<Activity>);

impl Drop for Inflight {
    fn drop(&mut self) {
        let now = self.0.now();
        self.0.idle_since.store(now, Ordering::SeqCst);
        self.0.head_started.store(NEVER, Ordering::SeqCst);
        self.0.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An I/O stream that reports its reads and writes to the connection's [`Activity`].
struct Tracked<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        r
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The router as a hyper service that counts requests in progress.
#[derive(Clone)]
struct Service {
    router: Router,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Service {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let inflight = self.activity.begin();
        let router = self.router.clone();
        Box::pin(async move {
            let resp = tower::ServiceExt::oneshot(router, req).await;
            drop(inflight);
            resp
        })
    }
}

/// Resolves when the connection has outlived its deadline.
async fn watchdog(activity: Arc<Activity>, limits: ConnLimits) {
    let tick = (limits.header_read_timeout.min(limits.idle_timeout) / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
    loop {
        let now = activity.now();
        match activity.deadline(&limits) {
            Some(d) if d <= now => return,
            Some(d) => tokio::time::sleep(Duration::from_millis(d - now).min(tick)).await,
            None => tokio::time::sleep(tick).await,
        }
    }
}

async fn drive<I>(io: I, router: Router, limits: ConnLimits, activity: Arc<Activity>, mut stop: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = Service { router, activity: Arc::clone(&activity) };
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(Tracked { inner: io, activity: Arc::clone(&activity) }), svc);
    tokio::pin!(conn);
    let dog = watchdog(activity, limits);
    tokio::pin!(dog);
    let mut stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = &mut dog => {
                tracing::debug!("connection closed: header read or idle timeout");
                crate::metrics::global().connections_closed.inc(&[("reason", "timeout")]);
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_err() || *stop.borrow() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Serves `router` on `tcp` (with TLS when `tls` is set) under `limits` until `shutdown`
/// resolves; then stops accepting, lets every connection finish its request in progress,
/// and returns when all have closed.
///
/// # Errors
/// None today (accept errors are logged and retried); the signature leaves room.
pub async fn serve(
    tcp: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let slots = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            r = tcp.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    // Per-connection failures (reset before accept) are normal; others
                    // (out of file descriptors) get a pause instead of a busy loop.
                    if !matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset) {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(%peer, max, "connection limit reached: connection closed");
            crate::metrics::global().connections_closed.inc(&[("reason", "limit")]);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (router, stop, tls) = (router.clone(), stop_rx.clone(), tls.clone());
        tokio::spawn(async move {
            let activity = Arc::new(Activity::new());
            match tls {
                None => drive(stream, router, limits, activity, stop).await,
                Some(acceptor) => {
                    let wait = crate::tls::HANDSHAKE_TIMEOUT.min(limits.header_read_timeout);
                    match tokio::time::timeout(wait, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => drive(tls, router, limits, activity, stop).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            drop(slot);
        });
    }
    drop(tcp);
    let _ = stop_tx.send(true);
    // Every slot back: every connection has closed.
    let _ = slots.acquire_many(u32::try_from(max).unwrap_or(u32::MAX)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ConnLimits =
        ConnLimits { header_read_timeout: Duration::from_secs(2), idle_timeout: Duration::from_secs(10), max_connections: 4 };

    #[test]
    fn deadlines_follow_the_connection_state() {
        let a = Arc::new(Activity::new());
        // Fresh: idle deadline from accept.
        assert_eq!(a.deadline(&LIMITS), Some(10_000));
        // A first byte starts the header clock, which later bytes do not reset.
        a.head_started.store(500, Ordering::SeqCst);
        a.read();
        assert_eq!(a.deadline(&LIMITS), Some(2_500));
        // A request in progress has no connection deadline.
        let r = a.begin();
        assert_eq!(a.deadline(&LIMITS), None);
        a.read();
        assert_eq!(a.head_started.load(Ordering::SeqCst), NEVER, "body bytes are not a request head");
        drop(r);
        // Response returned: idle again, from then (or from the last write).
        a.last_write.store(60_000, Ordering::SeqCst);
        assert_eq!(a.deadline(&LIMITS), Some(70_000));
    }
}
