//! A JWKS endpoint on 127.0.0.1 for tests, like Supabase's
//! `/auth/v1/.well-known/jwks.json`.
//!
//! A minimal HTTP/1.1 responder on plain tokio (one request per connection,
//! `Connection: close`): enough for reqwest, and it counts the requests it
//! serves so tests can check caching and refetch limits. The document, status
//! and response delay can be changed while it runs (key rotation, outages,
//! slow endpoint). The server stops when dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::tokens::FIXTURE_JWKS;

/// Path of the JWKS under a Supabase URL.
pub const JWKS_PATH: &str = "/auth/v1/.well-known/jwks.json";

/// Requests are a request line and a few headers; more is not a client of ours.
const MAX_REQUEST_HEAD_BYTES: usize = 16 * 1024;

struct ServerState {
    document: Mutex<String>,
    status: AtomicU16,
    response_delay: Mutex<Duration>,
    requests_served: AtomicUsize,
}

pub struct JwksServer {
    address: SocketAddr,
    state: Arc<ServerState>,
    accept_task: JoinHandle<()>,
}

impl JwksServer {
    /// Serves the fixture JWKS ([`FIXTURE_JWKS`]).
    pub async fn start() -> Self {
        Self::start_with(FIXTURE_JWKS).await
    }

    /// Serves `document` as the JWKS.
    pub async fn start_with(document: impl Into<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1 for the JWKS server");
        let address = listener.local_addr().expect("listener has an address");
        let state = Arc::new(ServerState {
            document: Mutex::new(document.into()),
            status: AtomicU16::new(200),
            response_delay: Mutex::new(Duration::ZERO),
            requests_served: AtomicUsize::new(0),
        });
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        Self { address, state, accept_task }
    }

    /// The full JWKS URL (what `AuthConfig::jwks_url` takes).
    pub fn url(&self) -> String {
        format!("{}{JWKS_PATH}", self.supabase_url())
    }

    /// The base URL, for `AuthConfig::from_supabase`.
    pub fn supabase_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// How many JWKS requests have been received (answered with any status).
    pub fn requests_served(&self) -> usize {
        self.state.requests_served.load(Ordering::SeqCst)
    }

    /// Replaces the served document (key rotation).
    pub fn set_document(&self, document: impl Into<String>) {
        *lock(&self.state.document) = document.into();
    }

    /// Answers JWKS requests with this status (e.g. 500 for an outage).
    pub fn set_status(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    /// Waits this long before answering (a slow or hanging endpoint).
    pub fn set_response_delay(&self, delay: Duration) {
        *lock(&self.state.response_delay) = delay;
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts the
        // connections in flight and closes the listener.
        self.accept_task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<ServerState>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _peer)) = accepted {
                    connections.spawn(serve_connection(stream, Arc::clone(&state)));
                }
            }
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(mut stream: TcpStream, state: Arc<ServerState>) {
    let Some(request_line) = read_request_line(&mut stream).await else {
        return;
    };
    let mut parts = request_line.split_ascii_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));

    let (status, body) = if method == "GET" && path == JWKS_PATH {
        state.requests_served.fetch_add(1, Ordering::SeqCst);
        let delay = *lock(&state.response_delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let status = state.status.load(Ordering::SeqCst);
        let body = if status == 200 { lock(&state.document).clone() } else { r#"{"error":"unavailable"}"#.to_owned() };
        (status, body)
    } else {
        (404, r#"{"error":"not found"}"#.to_owned())
    };

    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{body}",
        reason = reason_phrase(status),
        length = body.len(),
    );
    // The client may have gone away (timeout tests): nothing to do about it.
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads the request head and returns its first line.
async fn read_request_line(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 || head.len() + read > MAX_REQUEST_HEAD_BYTES {
            return None;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let head = String::from_utf8_lossy(&head);
    head.lines().next().map(str::to_owned)
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Locks a mutex, ignoring poisoning: the guarded values stay valid even if a
/// test panicked while holding the lock.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
