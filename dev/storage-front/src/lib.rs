//! The stand-in for hosted Supabase Storage's S3 endpoint, which is a path:
//! `https://<ref>.supabase.co/storage/v1/s3`, buckets below it. The local
//! S3 server (`s3s-fs`) serves buckets at its root, so on its own it cannot
//! catch an S3 client that mangles an endpoint path (aws-sdk-s3 joins it to
//! the bucket without a slash: `/storage/v1/s3public/...`). This front:
//!
//! - serves only `/storage/v1/s3/<bucket>/<key>`; any other path is a 404
//!   with a JSON body, not an S3 error, as Supabase answers a route it does
//!   not have; an unknown bucket is S3's `NoSuchBucket`;
//! - enforces each bucket's `file_size_limit` and `allowed_mime_types`
//!   (migration 033) on uploads, as Supabase Storage does on every path;
//! - forwards everything else unchanged, path, query, `Host` and body
//!   streaming, so the server checks the client's SigV4 signature (header
//!   or presigned) over exactly what the client signed. The server keeps
//!   the objects of bucket `<b>` under its bucket `storage`, at
//!   `v1/s3/<b>/<key>`;
//! - answers CORS as Supabase Storage does ([`cors`]), so a browser's
//!   presigned upload from another origin works here as there.

pub mod cors;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Where the S3 API lives, as on hosted Supabase.
pub const S3_PATH: &str = "/storage/v1/s3";

/// A bucket and the limits Supabase Storage enforces on its uploads.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    pub name: &'static str,
    pub file_size_limit: u64,
    pub allowed_mime_types: &'static [&'static str],
}

/// The project's buckets as migrations 004 and 033 make them.
pub const BUCKETS: [Bucket; 2] = [
    Bucket { name: "public", file_size_limit: 25 * 1024 * 1024, allowed_mime_types: &["image/jpeg", "image/webp"] },
    Bucket {
        name: "private",
        file_size_limit: 15 * 1024 * 1024,
        allowed_mime_types: &["image/jpeg", "image/png", "image/webp"],
    },
];

type Answer = Response<BoxBody<Bytes, hyper::Error>>;

/// How much of a refused upload is read before the answer.
const MAX_DRAINED_BYTES: usize = 64 * 1024 * 1024;

type Body = BoxBody<Bytes, hyper::Error>;

/// Forwards to the S3 server at `upstream` (`127.0.0.1:<port>`).
#[derive(Clone)]
pub struct Front {
    upstream: SocketAddr,
    client: Client<HttpConnector, Body>,
}

impl Front {
    pub fn new(upstream: SocketAddr) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Front { upstream, client: Client::builder(TokioExecutor::new()).build(connector) }
    }

    /// Answers one request for a path under [`S3_PATH`] (or any other path,
    /// with Supabase's 404), with Storage's CORS.
    pub async fn handle(&self, request: Request<Incoming>) -> Answer {
        if cors::is_preflight(request.method(), request.headers()) {
            return cors::preflight(request.headers());
        }
        let mut answer = self.answer(request).await;
        cors::allow_origin(answer.headers_mut());
        answer
    }

    async fn answer(&self, request: Request<Incoming>) -> Answer {
        let path = request.uri().path().to_owned();
        let Some(rest) = path.strip_prefix(S3_PATH).and_then(|rest| rest.strip_prefix('/')) else {
            return route_not_found(request.method().as_str(), &path);
        };
        let bucket_name = rest.split('/').next().unwrap_or_default();
        let Some(bucket) = BUCKETS.iter().find(|bucket| bucket.name == bucket_name) else {
            return s3_error(StatusCode::NOT_FOUND, "NoSuchBucket", "The specified bucket does not exist");
        };
        if request.method() != hyper::Method::PUT {
            return self.forward(request.map(|body| body.boxed())).await;
        }
        if let Some(refusal) = upload_refusal(bucket, &request) {
            // Read what the client sends before answering, so it gets the
            // answer rather than a connection closed under its upload.
            let _ = http_body_util::Limited::new(request.into_body(), MAX_DRAINED_BYTES).collect().await;
            return refusal;
        }
        // The whole upload, within the bucket's limit, before the server
        // sees it (as Supabase's storage server takes it): a body longer
        // than its signed length then meets the signature check instead of
        // a connection cut short.
        let (parts, body) = request.into_parts();
        let limit = usize::try_from(bucket.file_size_limit).unwrap_or(usize::MAX);
        let body = match http_body_util::Limited::new(body, limit).collect().await {
            Ok(collected) => Full::new(collected.to_bytes()).map_err(|never| match never {}).boxed(),
            Err(_) => return too_large(),
        };
        self.forward(Request::from_parts(parts, body)).await
    }

    async fn forward(&self, request: Request<Body>) -> Answer {
        let (mut parts, body) = request.into_parts();
        let path_and_query = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
        let Ok(uri) = format!("http://{}{path_and_query}", self.upstream).parse() else {
            return s3_error(StatusCode::BAD_REQUEST, "InvalidURI", "Couldn't parse the specified URI.");
        };
        parts.uri = uri;
        match self.client.request(Request::from_parts(parts, body)).await {
            Ok(response) => response.map(|body| body.boxed()),
            // The storage server is down: Supabase answers 5xx then too.
            Err(_) => {
                s3_error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "Please reduce your request rate.")
            }
        }
    }
}

/// Size and type checks of an upload against its bucket's limits.
fn upload_refusal(bucket: &Bucket, request: &Request<Incoming>) -> Option<Answer> {
    let header = |name: &str| request.headers().get(name).and_then(|value| value.to_str().ok());
    let length = header("content-length").and_then(|value| value.parse::<u64>().ok());
    if length.is_none_or(|length| length > bucket.file_size_limit) {
        return Some(too_large());
    }
    let mime = header("content-type").unwrap_or_default().split(';').next().unwrap_or_default().trim().to_lowercase();
    if !bucket.allowed_mime_types.contains(&mime.as_str()) {
        return Some(s3_error(StatusCode::BAD_REQUEST, "InvalidMimeType", "mime type not supported"));
    }
    None
}

fn too_large() -> Answer {
    s3_error(StatusCode::PAYLOAD_TOO_LARGE, "EntityTooLarge", "The object exceeded the maximum allowed size")
}

fn full(status: StatusCode, content_type: &'static str, body: String) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static(content_type));
    response
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Answer {
    full(
        status,
        "application/xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ),
    )
}

/// Supabase's answer to a path it has no route for (JSON, no S3 code).
fn route_not_found(method: &str, path: &str) -> Answer {
    let path = path.replace('"', "");
    full(
        StatusCode::NOT_FOUND,
        "application/json",
        format!("{{\"statusCode\":\"404\",\"error\":\"Not Found\",\"message\":\"Route {method}:{path} not found\"}}"),
    )
}

/// Serves the front on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, front: Front) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let front = front.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let front = front.clone();
                async move { Ok::<_, std::convert::Infallible>(front.handle(request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
