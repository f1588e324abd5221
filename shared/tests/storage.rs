//! Storage through the S3 API of a real S3-compatible server: objects,
//! presigned uploads and downloads, public URLs, and outages reported as
//! retryable.

use shared::storage::{
    endpoint_as_base, render_key, ImageType, InputPath, Storage, StorageConfig, StorageError, PRIVATE_BUCKET,
    PUBLIC_BUCKET,
};
use std::time::Duration;
use testkit::public_objects::PublicObjectServer;
use testkit::s3::S3Server;
use uuid::Uuid;

const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 0xFF, 0xD9];

#[tokio::test]
async fn put_head_get_delete() {
    let storage = S3Server::shared().storage("http://unused");
    let key = render_key(Uuid::new_v4(), 0);
    assert_eq!(storage.head(PUBLIC_BUCKET, &key).await.unwrap(), None);
    storage.put(PUBLIC_BUCKET, &key, JPEG.to_vec(), "image/jpeg").await.unwrap();
    let info = storage.head(PUBLIC_BUCKET, &key).await.unwrap().unwrap();
    assert_eq!(info.size, JPEG.len() as u64);
    assert_eq!(info.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(storage.get(PUBLIC_BUCKET, &key).await.unwrap().unwrap(), JPEG);
    assert_eq!(storage.get_prefix(PUBLIC_BUCKET, &key, 3).await.unwrap().unwrap(), &JPEG[..3]);
    storage.delete(PUBLIC_BUCKET, &key).await.unwrap();
    assert_eq!(storage.get(PUBLIC_BUCKET, &key).await.unwrap(), None);
    storage.delete(PUBLIC_BUCKET, &key).await.unwrap();
}

#[tokio::test]
async fn a_presigned_put_uploads_and_a_presigned_get_reads_back() {
    let storage = S3Server::shared().storage("http://unused");
    let input = InputPath::new(Uuid::new_v4(), ImageType::Jpeg);
    let upload = storage
        .presign_put(PRIVATE_BUCKET, &input.bucket_key(), "image/jpeg", JPEG.len() as u64, Duration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(upload.method, "PUT");
    assert!(upload.url.contains("X-Amz-Signature="));
    let http = reqwest::Client::new();
    let mut request = http.put(&upload.url).body(JPEG.to_vec());
    for (name, value) in &upload.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());

    let url = storage.presign_get(PRIVATE_BUCKET, &input.bucket_key(), Duration::from_secs(900)).await.unwrap();
    let fetched = http.get(&url).send().await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), JPEG);

    // Tampering with the signed URL is refused.
    let forged = url.replace(&input.owner.to_string(), &Uuid::new_v4().to_string());
    assert_eq!(http.get(&forged).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn public_urls_serve_objects_of_the_public_bucket() {
    let server = S3Server::shared();
    let public = PublicObjectServer::start(server.storage("http://unused")).await;
    let storage = server.storage(&public.base_url());
    let key = render_key(Uuid::new_v4(), 1);
    storage.put(PUBLIC_BUCKET, &key, JPEG.to_vec(), "image/jpeg").await.unwrap();
    let url = storage.public_url(&key);
    assert_eq!(url, format!("{}/public/{key}", public.base_url()));
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), JPEG);
}

#[tokio::test]
async fn an_outage_is_reported_as_unavailable_and_ends_when_the_server_returns() {
    let server = S3Server::dedicated();
    let storage = server.storage("http://unused");
    let key = render_key(Uuid::new_v4(), 0);
    server.stop();
    let error = storage.put(PUBLIC_BUCKET, &key, JPEG.to_vec(), "image/jpeg").await.unwrap_err();
    assert!(matches!(error, StorageError::Unavailable(_)), "{error:?}");
    server.start();
    storage.put(PUBLIC_BUCKET, &key, JPEG.to_vec(), "image/jpeg").await.unwrap();
}

/// SECURITY.md 26: the declared size is signed into the presigned PUT, so a
/// bigger (or smaller) body is refused and nothing is stored.
#[tokio::test]
async fn a_presigned_put_refuses_a_body_of_another_size_than_declared() {
    let storage = S3Server::shared().storage("http://unused");
    let input = InputPath::new(Uuid::new_v4(), ImageType::Jpeg);
    let upload = storage
        .presign_put(PRIVATE_BUCKET, &input.bucket_key(), "image/jpeg", JPEG.len() as u64, Duration::from_secs(300))
        .await
        .unwrap();
    assert!(upload.url.to_lowercase().contains("content-length"), "the length is a signed header: {}", upload.url);
    let http = reqwest::Client::new();
    let put = |body: Vec<u8>, content_type: &str| {
        http.put(&upload.url).header("content-type", content_type.to_string()).body(body).send()
    };
    let mut bigger = JPEG.to_vec();
    bigger.extend(std::iter::repeat_n(0u8, 4096));
    for (body, content_type) in
        [(bigger, "image/jpeg"), (JPEG[..8].to_vec(), "image/jpeg"), (JPEG.to_vec(), "text/html")]
    {
        let status = put(body, content_type).await.unwrap().status();
        assert!(status.is_client_error(), "refused with a 4xx, got {status}");
        assert_eq!(storage.head(PRIVATE_BUCKET, &input.bucket_key()).await.unwrap(), None, "nothing stored");
    }
    assert!(put(JPEG.to_vec(), "image/jpeg").await.unwrap().status().is_success());
    assert_eq!(storage.head(PRIVATE_BUCKET, &input.bucket_key()).await.unwrap().unwrap().size, JPEG.len() as u64);
}

/// Supabase shows its S3 endpoint as a path (`.../storage/v1/s3`); the
/// bucket must stay a path segment after it (aws-sdk-rust#1387 joins them
/// without a slash: `/storage/v1/s3private/...`, 404 on Supabase).
#[tokio::test]
async fn a_path_endpoint_keeps_the_bucket_a_path_segment() {
    for endpoint in ["https://abc.supabase.co/storage/v1/s3", "https://abc.supabase.co/storage/v1/s3/"] {
        let lookup = |name: &str| match name {
            "S3_ENDPOINT" => Some(endpoint.to_string()),
            "S3_ACCESS_KEY_ID" => Some("key".to_string()),
            "S3_SECRET_ACCESS_KEY" => Some("secret".to_string()),
            _ => None,
        };
        let storage = Storage::new(&StorageConfig::from_lookup(&lookup, "http://unused").unwrap());
        let url = storage.presign_get(PRIVATE_BUCKET, "u/inputs/a.jpg", Duration::from_secs(60)).await.unwrap();
        assert!(url.starts_with("https://abc.supabase.co/storage/v1/s3/private/u/inputs/a.jpg?"), "{endpoint}: {url}");
    }
    assert_eq!(endpoint_as_base("http://127.0.0.1:9100"), "http://127.0.0.1:9100");
    assert_eq!(endpoint_as_base("http://127.0.0.1:9100/"), "http://127.0.0.1:9100/");
    assert_eq!(endpoint_as_base("https://x.supabase.co/storage/v1/s3"), "https://x.supabase.co/storage/v1/s3/");
}

/// A wrong endpoint or bucket is the operator's mistake: it must never read
/// as "this object does not exist" (which submit turns into "your upload is
/// missing").
#[tokio::test]
async fn a_wrong_endpoint_or_bucket_is_a_configuration_error_not_a_missing_object() {
    let server = S3Server::shared();
    let mut config = server.config("http://unused");
    config.endpoint = server.endpoint().replace("/storage/v1/s3", "/storage/v1/s4");
    let storage = Storage::new(&config);
    let key = InputPath::new(Uuid::new_v4(), ImageType::Jpeg).bucket_key();
    let get = storage.get(PRIVATE_BUCKET, &key).await;
    assert!(matches!(get, Err(StorageError::Misconfigured(_))), "{get:?}");
    let put = storage.put(PRIVATE_BUCKET, &key, JPEG.to_vec(), "image/jpeg").await;
    assert!(matches!(put, Err(StorageError::Misconfigured(_))), "{put:?}");
    let right = server.storage("http://unused");
    assert_eq!(right.get(PRIVATE_BUCKET, &key).await.unwrap(), None, "a missing object is still None");
    let no_bucket = right.get("no-such-bucket", &key).await;
    assert!(matches!(no_bucket, Err(StorageError::Misconfigured(_))), "{no_bucket:?}");
}
