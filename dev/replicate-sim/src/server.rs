//! The HTTP/1.1 server (hyper, keep-alive as Replicate's API has) and the
//! request/response plumbing shared by the routes. Requests are read whole
//! first so handlers are plain functions of a [`Req`].

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::routes;
use crate::state::Sim;

/// Create bodies are a prompt and a few URLs.
const MAX_BODY_BYTES: usize = 1024 * 1024;

pub(crate) type Resp = Response<Full<Bytes>>;

/// A request read whole.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Value of `name` in the query string (no percent-decoding: only simple
    /// flags are read from queries).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }
}

pub(crate) async fn serve(listener: TcpListener, sim: Arc<Sim>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: keep serving the others.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection_sim = Arc::clone(&sim);
        sim.spawn_connection(async move {
            let service = service_fn(move |request| {
                let sim = Arc::clone(&connection_sim);
                async move { Ok::<_, Infallible>(handle(sim, request).await) }
            });
            // A client hanging up mid-request is its business.
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn handle(sim: Arc<Sim>, request: Request<Incoming>) -> Resp {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let response = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(body) => {
            let req = Req {
                method: parts.method,
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().unwrap_or_default().to_owned(),
                headers: parts.headers,
                body: body.to_bytes(),
            };
            routes::route(&sim, req).await
        }
        Err(_) => error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large."),
    };
    if sim.settings.log_requests {
        eprintln!(
            "replicate-sim: {method} {path} -> {} ({} ms)",
            response.status().as_u16(),
            started.elapsed().as_millis()
        );
    }
    response
}

pub(crate) fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Resp {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Resp {
    let body = serde_json::to_vec(value).expect("JSON serialises");
    respond(status, "application/json", Bytes::from(body))
}

/// Replicate's error shape, a problem document (RFC 7807) as
/// `application/problem+json`: `{"title": ..., "detail": ..., "status": ...}`.
pub(crate) fn error(status: StatusCode, detail: &str) -> Resp {
    let title = status.canonical_reason().unwrap_or("Error");
    problem(status, &json!({"title": title, "detail": detail, "status": status.as_u16()}))
}

/// Replicate's 422 for a create body that does not fit the model's schema.
pub(crate) fn invalid_input(detail: &str) -> Resp {
    problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({"title": "Input validation failed", "detail": detail, "status": 422}),
    )
}

fn problem(status: StatusCode, value: &Value) -> Resp {
    let body = serde_json::to_vec(value).expect("JSON serialises");
    respond(status, "application/problem+json", Bytes::from(body))
}

pub(crate) fn not_found() -> Resp {
    error(StatusCode::NOT_FOUND, "Not found.")
}
