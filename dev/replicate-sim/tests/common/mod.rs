//! Shared pieces of the simulator's tests: a small scriptable HTTP server
//! (image host, webhook receiver), test images, signature checking written
//! independently of the simulator's, and an authenticated client.
#![allow(dead_code)] // each test binary uses its own subset

use std::convert::Infallible;
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use image::{ImageFormat, Rgb, RgbImage};
use replicate_sim::{spawn, SimConfig, SimHandle};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// A request the test server received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub arrived: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// Answers a request: status, content type, body. Gets the request and how
/// many requests came before it.
pub type Handler = Arc<dyn Fn(&Received, usize) -> (u16, &'static str, Bytes) + Send + Sync>;

/// An HTTP server on 127.0.0.1 that records every request. Stops when dropped.
pub struct TestServer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    accept: JoinHandle<()>,
}

impl TestServer {
    pub async fn start(handler: Handler) -> Self {
        Self::start_delayed(handler, Duration::ZERO).await
    }

    /// Like [`start`](Self::start), answering each request only after `delay`
    /// (to see whether requests overlap).
    pub async fn start_delayed(handler: Handler, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let accept = tokio::spawn(async move {
            // Connections die with the accept task.
            let mut connections = JoinSet::new();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (log, handler) = (Arc::clone(&log), Arc::clone(&handler));
                connections.spawn(async move {
                    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                        let (log, handler) = (Arc::clone(&log), Arc::clone(&handler));
                        async move {
                            let (parts, body) = request.into_parts();
                            let received = Received {
                                method: parts.method.to_string(),
                                path: parts.uri.path().to_owned(),
                                headers: parts.headers,
                                body: body.collect().await.unwrap().to_bytes(),
                                arrived: Instant::now(),
                            };
                            let index = {
                                let mut log = log.lock().unwrap();
                                log.push(received.clone());
                                log.len() - 1
                            };
                            let (status, content_type, body) = handler(&received, index);
                            tokio::time::sleep(delay).await;
                            let response = Response::builder()
                                .status(status)
                                .header("content-type", content_type)
                                .body(Full::new(body))
                                .unwrap();
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, received, accept }
    }

    /// Serves `body` with `content_type` at every path.
    pub async fn serving(content_type: &'static str, body: Vec<u8>) -> Self {
        let body = Bytes::from(body);
        Self::start(Arc::new(move |_, _| (200, content_type, body.clone()))).await
    }

    /// Answers every request with `status` and an empty JSON object.
    pub async fn answering(status: u16) -> Self {
        Self::start(Arc::new(move |_, _| (status, "application/json", Bytes::from_static(b"{}")))).await
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests came, then a little longer for
    /// stragglers that should not come.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.received().len() < count {
            assert!(Instant::now() < deadline, "expected {count} requests, got {:?}", self.received().len());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.received()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Left half red, right half blue: a transform that keeps the picture keeps
/// "red on the left, blue on the right", which no gradient has.
pub fn split_image(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| if x < width / 2 { Rgb([220, 20, 20]) } else { Rgb([20, 20, 220]) })
}

pub fn encode(image: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image.write_to(&mut Cursor::new(&mut bytes), format).unwrap();
    bytes
}

/// Standard Webhooks verification, independent of the simulator's signer.
pub fn signature_is_valid(secret: &str, received: &Received) -> bool {
    let key = BASE64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(received.header("webhook-id").as_bytes());
    mac.update(b".");
    mac.update(received.header("webhook-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&received.body);
    let expected = BASE64.encode(mac.finalize().into_bytes());
    received.header("webhook-signature").split(' ').any(|sig| sig.strip_prefix("v1,") == Some(expected.as_str()))
}

/// A simulator with fast retries.
pub async fn sim() -> SimHandle {
    spawn(SimConfig { webhook_backoff: Duration::from_millis(20), ..SimConfig::default() }).await
}

/// A simulator taking `Cancel-After` deadlines below Replicate's 5 s, for
/// tests that reach one.
pub async fn sim_taking_short_deadlines() -> SimHandle {
    spawn(SimConfig {
        webhook_backoff: Duration::from_millis(20),
        min_cancel_after: Duration::ZERO,
        ..SimConfig::default()
    })
    .await
}

/// Client for the simulator's API with its token.
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(sim: &SimHandle) -> Self {
        Self { base: sim.url(), token: sim.api_token().to_owned(), http: reqwest::Client::new() }
    }

    /// POST a create for google/nano-banana with `body`.
    pub async fn create_raw(&self, body: &Value, cancel_after: Option<&str>) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}/v1/models/google/nano-banana/predictions", self.base))
            .bearer_auth(&self.token)
            .json(body);
        if let Some(after) = cancel_after {
            request = request.header("Cancel-After", after);
        }
        request.send().await.unwrap()
    }

    /// Creates and expects 201; returns the prediction.
    pub async fn create(&self, input: Value, webhook: Option<&str>) -> Value {
        let mut body = json!({"input": input, "webhook_events_filter": ["completed"]});
        if let Some(url) = webhook {
            body["webhook"] = json!(url);
        }
        let response = self.create_raw(&body, None).await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    pub async fn get(&self, id: &str) -> Value {
        let response =
            self.http.get(format!("{}/v1/predictions/{id}", self.base)).bearer_auth(&self.token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Polls until the prediction has ended.
    pub async fn wait_done(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let prediction = self.get(id).await;
            if matches!(prediction["status"].as_str(), Some("succeeded" | "failed" | "canceled" | "aborted")) {
                return prediction;
            }
            assert!(Instant::now() < deadline, "still {}", prediction["status"]);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
