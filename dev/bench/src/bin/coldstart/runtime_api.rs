//! A stand-in for the Lambda Runtime API (the HTTP interface a custom runtime
//! polls for events), served on 127.0.0.1 for one function process. It
//! records when the process first asks for an event (the end of its init),
//! hands out the events the benchmark queues, and times each invocation from
//! the moment the event leaves until the function posts its answer.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION_PREFIX: &str = "/2018-06-01/runtime/invocation/";
const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";
/// Longest the benchmark waits for one answer (the slowest route answers in
/// well under a second; a hung function must not hang the run).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// What the function posted back for one event.
pub struct Answer {
    /// From the event leaving the Runtime API to the answer arriving.
    pub duration: Duration,
    /// Posted to `/error` instead of `/response`.
    pub is_error: bool,
    pub body: Bytes,
}

struct QueuedEvent {
    request_id: String,
    payload: Bytes,
}

struct Posted {
    request_id: String,
    answer: Answer,
}

struct Shared {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<QueuedEvent>>,
    first_poll: Mutex<Option<oneshot::Sender<Instant>>>,
    sent_at: Mutex<HashMap<String, Instant>>,
    posted: mpsc::UnboundedSender<Posted>,
}

pub struct RuntimeApi {
    pub address: SocketAddr,
    queue: mpsc::UnboundedSender<QueuedEvent>,
    posted: mpsc::UnboundedReceiver<Posted>,
    first_poll: Option<oneshot::Receiver<Instant>>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind runtime api");
        let address = listener.local_addr().expect("runtime api address");
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let (posted_tx, posted_rx) = mpsc::unbounded_channel();
        let (first_poll_tx, first_poll_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(queue_rx),
            first_poll: Mutex::new(Some(first_poll_tx)),
            sent_at: Mutex::new(HashMap::new()),
            posted: posted_tx,
        });
        let server = tokio::spawn(serve(listener, shared));
        RuntimeApi { address, queue: queue_tx, posted: posted_rx, first_poll: Some(first_poll_rx), server }
    }

    /// When the process first asked for an event; `None` if it never did
    /// within the timeout (it failed to start or reported an init error).
    pub async fn first_poll(&mut self, timeout: Duration) -> Option<Instant> {
        let receiver = self.first_poll.take().expect("first_poll is awaited once");
        tokio::time::timeout(timeout, receiver).await.ok()?.ok()
    }

    /// Hands `payload` to the function and waits for its answer.
    pub async fn invoke(&mut self, payload: &serde_json::Value) -> Answer {
        let request_id = uuid::Uuid::new_v4().to_string();
        let payload = Bytes::from(serde_json::to_vec(payload).expect("event json"));
        self.queue.send(QueuedEvent { request_id: request_id.clone(), payload }).expect("runtime api is running");
        let posted = tokio::time::timeout(ANSWER_TIMEOUT, self.posted.recv())
            .await
            .expect("the function answered in time")
            .expect("runtime api is running");
        assert_eq!(posted.request_id, request_id, "answers come back in order");
        posted.answer
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Also drops the connection tasks, which the server task owns.
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| route(shared.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
        // Reap finished connections so the set does not grow over a long run.
        while connections.try_join_next().is_some() {}
    }
}

async fn route(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = request.uri().path().to_string();
    if request.method() == Method::GET && path == NEXT_PATH {
        return Ok(next_event(&shared).await);
    }
    if request.method() != Method::POST {
        return Ok(status(StatusCode::NOT_FOUND));
    }
    let body = request.into_body().collect().await?.to_bytes();
    let arrived = Instant::now();
    if path == INIT_ERROR_PATH {
        eprintln!("  init error: {}", String::from_utf8_lossy(&body));
        return Ok(status(StatusCode::ACCEPTED));
    }
    let Some((request_id, kind)) = path.strip_prefix(INVOCATION_PREFIX).and_then(|rest| rest.split_once('/')) else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    let sent = shared.sent_at.lock().expect("sent_at lock").remove(request_id);
    let Some(sent) = sent else { return Ok(status(StatusCode::BAD_REQUEST)) };
    let answer = Answer { duration: arrived - sent, is_error: kind == "error", body };
    let _ = shared.posted.send(Posted { request_id: request_id.to_string(), answer });
    Ok(status(StatusCode::ACCEPTED))
}

/// Long poll: answers when the benchmark queues the next event.
async fn next_event(shared: &Shared) -> Response<Full<Bytes>> {
    if let Some(first) = shared.first_poll.lock().expect("first_poll lock").take() {
        let _ = first.send(Instant::now());
    }
    let Some(event) = shared.queue.lock().await.recv().await else {
        return status(StatusCode::GONE);
    };
    let deadline_ms = chrono::Utc::now().timestamp_millis() + 15_000;
    shared.sent_at.lock().expect("sent_at lock").insert(event.request_id.clone(), Instant::now());
    Response::builder()
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &event.request_id)
        .header("lambda-runtime-deadline-ms", deadline_ms.to_string())
        .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:000000000000:function:coldstart")
        .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0")
        .body(Full::new(event.payload))
        .expect("next response")
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    Response::builder().status(code).body(Full::new(Bytes::new())).expect("status response")
}
