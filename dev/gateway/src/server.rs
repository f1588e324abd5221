//! HTTP/1.1 server turning requests into `lambda_http` requests and back.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use shared::app::Services;
use shared::http::Body;
use shared::storage::PUBLIC_BUCKET;
use std::sync::Arc;
use tokio::net::TcpListener;

/// API Gateway refuses payloads over 10 MB; so does this.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
const PUBLIC_OBJECTS: &str = "/storage/v1/object/public/";

/// Serves until the task is dropped.
pub async fn serve(listener: TcpListener, services: Arc<Services>) {
    serve_with_storage(listener, services, None).await
}

/// [`serve`], plus Supabase Storage's S3 path (`/storage/v1/s3/...`) in
/// front of the local S3 server when `storage` is given (`make dev`: the
/// functions, the browser's presigned uploads and Replicate's presigned
/// reads all go through it, as on hosted Supabase).
pub async fn serve_with_storage(listener: TcpListener, services: Arc<Services>, storage: Option<storage_front::Front>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let services = services.clone();
        let storage = storage.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let services = services.clone();
                let storage = storage.clone();
                async move { Ok::<_, std::convert::Infallible>(route(&services, storage.as_ref(), request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn route(
    services: &Services,
    storage: Option<&storage_front::Front>,
    request: hyper::Request<Incoming>,
) -> hyper::Response<BoxBody<Bytes, hyper::Error>> {
    use storage_front::cors as storage_cors;
    let path = request.uri().path().to_owned();
    let preflight = storage_cors::is_preflight(request.method(), request.headers());
    if let Some(front) = storage.filter(|_| path.starts_with(storage_front::S3_PATH)) {
        // Storage's S3 path, CORS included.
        return front.handle(request).await;
    }
    let (is_api, is_storage) = (path.starts_with("/api/"), path.starts_with("/storage/v1/"));
    match (preflight, is_api, is_storage) {
        (true, true, _) => return crate::cors::preflight(),
        (true, _, true) => return storage_cors::preflight(request.headers()),
        _ => {}
    }
    let mut response = handle(services, request).await.map(|body| body.map_err(|never| match never {}).boxed());
    if is_api {
        crate::cors::allow_origin(response.headers_mut());
    } else if is_storage {
        storage_cors::allow_origin(response.headers_mut());
    }
    response
}

async fn handle(services: &Services, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    if let Some(key) = request.uri().path().strip_prefix(PUBLIC_OBJECTS) {
        return public_object(services, key).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain(413, "payload too large"),
    };
    let body = match String::from_utf8(bytes.to_vec()) {
        Ok(text) if text.is_empty() => Body::Empty,
        Ok(text) => Body::Text(text),
        Err(_) => Body::Binary(bytes.to_vec()),
    };
    let request = lambda_http::http::Request::from_parts(parts, body);
    let response = crate::dispatch(services, request).await;
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

async fn public_object(services: &Services, path: &str) -> hyper::Response<Full<Bytes>> {
    let Some(key) = path.strip_prefix(&format!("{PUBLIC_BUCKET}/")) else { return plain(404, "not found") };
    if key.split('/').any(|segment| segment == ".." || segment.is_empty()) {
        return plain(404, "not found");
    }
    // Served with the type it was stored with, as Supabase does (a render is
    // a JPEG, its thumbnail a WebP).
    let (head, object) =
        tokio::join!(services.storage.head(PUBLIC_BUCKET, key), services.storage.get(PUBLIC_BUCKET, key));
    let content_type = head.ok().flatten().and_then(|info| info.content_type);
    match object {
        Ok(Some(bytes)) => hyper::Response::builder()
            .status(200)
            .header("content-type", content_type.as_deref().unwrap_or("application/octet-stream"))
            .header("cache-control", "public, max-age=31536000, immutable")
            .body(Full::new(Bytes::from(bytes)))
            .unwrap_or_else(|_| plain(500, "response")),
        Ok(None) => plain(404, "not found"),
        Err(_) => plain(503, "storage unavailable"),
    }
}

fn plain(status: u16, message: &'static str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(message.as_bytes())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response
}
