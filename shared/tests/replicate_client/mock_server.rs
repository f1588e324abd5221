//! A scripted HTTP/1.1 server on 127.0.0.1 for the Replicate client tests.
//!
//! It answers each request with the next canned response (one request per
//! connection, `Connection: close`) and records what it received, so a test
//! can check the exact request the client sent. Stops when dropped.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const MAX_REQUEST_BYTES: usize = 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Without a Content-Length the body runs until the connection closes,
    /// so the client only learns its size by reading it.
    pub send_content_length: bool,
}

impl Canned {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self { status, headers: Vec::new(), body: body.into(), send_content_length: true }
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::new(status, body.to_string()).header("content-type", "application/json")
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn without_content_length(mut self) -> Self {
        self.send_content_length = false;
        self
    }
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lowercase names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

#[derive(Default)]
struct Script {
    responses: Mutex<VecDeque<Canned>>,
    requests: Mutex<Vec<Recorded>>,
}

pub struct MockServer {
    address: SocketAddr,
    script: Arc<Script>,
    accept_task: JoinHandle<()>,
}

impl MockServer {
    /// Serves `responses` in order; past the end it answers 599.
    pub async fn start(responses: impl IntoIterator<Item = Canned>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let address = listener.local_addr().expect("listener has an address");
        let script = Arc::new(Script { responses: Mutex::new(responses.into_iter().collect()), ..Script::default() });
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&script)));
        Self { address, script, accept_task }
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `127.0.0.1:<port>`, as an output allowlist entry.
    pub fn host_and_port(&self) -> String {
        self.address.to_string()
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.script.requests).clone()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn accept_loop(listener: TcpListener, script: Arc<Script>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(serve(stream, Arc::clone(&script)));
    }
}

async fn serve(mut stream: TcpStream, script: Arc<Script>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    lock(&script.requests).push(request);
    let canned = lock(&script.responses).pop_front().unwrap_or_else(|| Canned::new(599, "no canned response left"));

    let mut head = format!("HTTP/1.1 {} Canned\r\nconnection: close\r\n", canned.status);
    for (name, value) in &canned.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if canned.send_content_length {
        head.push_str(&format!("content-length: {}\r\n", canned.body.len()));
    }
    head.push_str("\r\n");
    // The client may hang up early (a refused download): write errors are expected.
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    for chunk in canned.body.chunks(8 * 1024) {
        if stream.write_all(chunk).await.is_err() {
            return;
        }
    }
    let _ = stream.shutdown().await;
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8 * 1024];
    let head_end = loop {
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 || buffer.len() > MAX_REQUEST_BYTES {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, path) = (request_line.next()?.to_string(), request_line.next()?.to_string());
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();

    let content_length: usize = headers.get("content-length").and_then(|value| value.parse().ok()).unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < content_length.min(MAX_REQUEST_BYTES) {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Some(Recorded { method, path, headers, body })
}
