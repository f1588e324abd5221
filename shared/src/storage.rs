//! Supabase Storage through its S3-compatible API.
//!
//! Inputs live in bucket `private` at `<userId>/inputs/<uuid>.<ext>` (the
//! database keeps `private/<userId>/inputs/<uuid>.<ext>`); outputs live in
//! bucket `public` at `renders/<renderId>/<variantIndex>.jpg`, with a WebP
//! thumbnail beside each (`<variantIndex>_thumb.webp`), served to browsers
//! through public URLs. Images never pass through a function on the
//! way in: clients upload with a presigned PUT.

mod keys;

pub use keys::{render_key, thumb_key, ImageType, InputPath, InputPathError};

use aws_sdk_s3::config::{Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub const PUBLIC_BUCKET: &str = "public";
pub const PRIVATE_BUCKET: &str = "private";

/// Largest input photo (API.md): what `POST /uploads` presigns and submit
/// accepts; the private bucket's `file_size_limit` (migration 033) agrees.
pub const MAX_INPUT_BYTES: u64 = 15 * 1024 * 1024;

#[derive(Clone)]
pub struct StorageConfig {
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Base of public object URLs, e.g. `<SUPABASE_URL>/storage/v1/object/public`.
    pub public_base_url: String,
}

impl StorageConfig {
    /// From `S3_ENDPOINT`, `S3_REGION`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`;
    /// `public_base_url` comes from the environment's `PUBLIC_STORAGE_URL`.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>, public_base_url: &str) -> Result<Self, String> {
        let required = |name: &str| lookup(name).ok_or_else(|| format!("environment variable {name} is not set"));
        Ok(StorageConfig {
            endpoint: required("S3_ENDPOINT")?,
            region: lookup("S3_REGION").unwrap_or_else(|| "us-east-1".to_string()),
            access_key_id: required("S3_ACCESS_KEY_ID")?,
            secret_access_key: required("S3_SECRET_ACCESS_KEY")?,
            public_base_url: public_base_url.trim_end_matches('/').to_string(),
        })
    }
}

/// Supabase shows its S3 endpoint as a path, `https://<ref>.supabase.co/storage/v1/s3`.
/// aws-sdk-s3 appends the bucket to an endpoint path without a slash
/// (`/storage/v1/s3public/...`, awslabs/aws-sdk-rust#1387), so a path
/// endpoint is kept ending in `/`; a bare host is left as it is.
pub fn endpoint_as_base(endpoint: &str) -> String {
    let endpoint = endpoint.trim();
    let after_scheme = endpoint.find("://").map_or(0, |i| i + 3);
    match endpoint[after_scheme..].find('/') {
        Some(slash) if after_scheme + slash + 1 < endpoint.len() && !endpoint.ends_with('/') => format!("{endpoint}/"),
        _ => endpoint.to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The endpoint or a bucket is wrong (404 without S3's "no such key"):
    /// an operator's mistake, never reported to a user as a missing upload.
    #[error("storage misconfigured (check S3_ENDPOINT, S3_REGION and the buckets): {0}")]
    Misconfigured(String),
    /// The storage service could not be reached or failed: worth retrying.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The storage service refused the request (bad key, bad signature).
    #[error("storage refused the request: {0}")]
    Rejected(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
}

/// A presigned request the client performs itself.
#[derive(Debug, Clone)]
pub struct PresignedRequest {
    pub url: String,
    pub method: String,
    /// Headers the client must send exactly as given (they are signed).
    pub headers: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct Storage {
    /// Built on first use: building it loads and parses the system's CA
    /// certificates (a few milliseconds), which functions that never touch
    /// storage (presets, usage, collections, cancel) should not pay at cold start.
    client: Arc<OnceLock<aws_sdk_s3::Client>>,
    s3_config: aws_sdk_s3::Config,
    public_base_url: String,
}

impl Storage {
    pub fn new(config: &StorageConfig) -> Self {
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let s3_config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(endpoint_as_base(&config.endpoint))
            .region(Region::new(config.region.clone()))
            .credentials_provider(Credentials::new(
                &config.access_key_id,
                &config.secret_access_key,
                None,
                None,
                "static",
            ))
            // Supabase's S3 endpoint (and the local server) use path-style URLs.
            .force_path_style(true)
            // Checksums only where S3 requires them: S3-compatible servers
            // differ in which checksum headers they accept.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .http_client(http_client)
            .timeout_config(
                aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .build(),
            )
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::standard().with_max_attempts(2))
            .build();
        Storage { client: Arc::default(), s3_config, public_base_url: config.public_base_url.clone() }
    }

    fn client(&self) -> &aws_sdk_s3::Client {
        self.client.get_or_init(|| aws_sdk_s3::Client::from_conf(self.s3_config.clone()))
    }

    /// The public URL of an object in the public bucket.
    pub fn public_url(&self, key: &str) -> String {
        // Built in one allocation: a gallery page makes 24 of these.
        let mut url = String::with_capacity(self.public_base_url.len() + PUBLIC_BUCKET.len() + key.len() + 2);
        url.push_str(&self.public_base_url);
        url.push('/');
        url.push_str(PUBLIC_BUCKET);
        url.push('/');
        url.push_str(key);
        url
    }

    pub async fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StorageError> {
        self.client()
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// Size and type of an object, `None` when it does not exist.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, StorageError> {
        match self.client().head_object().bucket(bucket).key(key).send().await {
            Ok(head) => Ok(Some(ObjectInfo {
                size: head.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                content_type: head.content_type().map(str::to_owned),
            })),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(classify(error)),
        }
    }

    /// The object's bytes, `None` when it does not exist.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.get_range(bucket, key, None).await
    }

    /// The first `len` bytes (to check what a file really is without reading it all).
    pub async fn get_prefix(&self, bucket: &str, key: &str, len: u64) -> Result<Option<Vec<u8>>, StorageError> {
        self.get_range(bucket, key, Some(format!("bytes=0-{}", len.saturating_sub(1)))).await
    }

    async fn get_range(&self, bucket: &str, key: &str, range: Option<String>) -> Result<Option<Vec<u8>>, StorageError> {
        match self.client().get_object().bucket(bucket).key(key).set_range(range).send().await {
            Ok(object) => {
                let bytes = object.body.collect().await.map_err(|e| StorageError::Unavailable(e.to_string()))?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(classify(error)),
        }
    }

    /// Deletes an object; deleting a missing object is not an error.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        self.client().delete_object().bucket(bucket).key(key).send().await.map(|_| ()).map_err(classify)
    }

    /// A presigned PUT for one upload of `content_type` and exactly
    /// `content_length` bytes: both are signed (SECURITY.md 26), so the
    /// storage server refuses a body of any other size or a different type.
    /// Browsers send `Content-Length` from the body themselves.
    pub async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        content_length: u64,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        let config = PresigningConfig::expires_in(expires_in).map_err(|e| StorageError::Rejected(e.to_string()))?;
        let content_length =
            i64::try_from(content_length).map_err(|_| StorageError::Rejected("content length too large".into()))?;
        let request = self
            .client()
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .content_length(content_length)
            .presigned(config)
            .await
            .map_err(classify)?;
        Ok(PresignedRequest {
            url: request.uri().to_string(),
            method: request.method().to_string(),
            headers: request
                .headers()
                // Host and Content-Length come from the URL and the body
                // (browsers refuse to set them by hand).
                .filter(|(name, _)| !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("content-length"))
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        })
    }

    /// A presigned GET that is the same URL for every call within one
    /// `step` (signed as of the step's start) and stays valid `lifetime`
    /// from then: a page polled every few seconds hands the browser one URL,
    /// which it downloads once. Answers the URL and when it expires.
    pub async fn presign_get_stable(
        &self,
        bucket: &str,
        key: &str,
        lifetime: Duration,
        step: Duration,
        now: std::time::SystemTime,
    ) -> Result<(String, std::time::SystemTime), StorageError> {
        let since_epoch = now.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        let step = step.as_secs().max(1);
        let signed_at = std::time::UNIX_EPOCH + Duration::from_secs(since_epoch / step * step);
        let config = PresigningConfig::builder()
            .start_time(signed_at)
            .expires_in(lifetime)
            .build()
            .map_err(|e| StorageError::Rejected(e.to_string()))?;
        let request = self.client().get_object().bucket(bucket).key(key).presigned(config).await.map_err(classify)?;
        Ok((request.uri().to_string(), signed_at + lifetime))
    }

    /// A presigned GET, for Replicate to read a private input.
    pub async fn presign_get(&self, bucket: &str, key: &str, expires_in: Duration) -> Result<String, StorageError> {
        let config = PresigningConfig::expires_in(expires_in).map_err(|e| StorageError::Rejected(e.to_string()))?;
        let request = self.client().get_object().bucket(bucket).key(key).presigned(config).await.map_err(classify)?;
        Ok(request.uri().to_string())
    }
}

type SdkError<E> = aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>;

/// Only S3's own "no such key" means the object is missing. A HEAD answer
/// has no body, so its 404 (`NotFound`) cannot tell a missing object from a
/// wrong endpoint; readers that must tell them apart use a GET.
fn is_not_found<E: aws_sdk_s3::error::ProvideErrorMetadata>(error: &SdkError<E>) -> bool {
    match error {
        aws_sdk_s3::error::SdkError::ServiceError(service) => {
            matches!(service.err().code(), Some("NoSuchKey" | "NotFound"))
        }
        _ => false,
    }
}

fn service_status<E>(error: &SdkError<E>) -> Option<u16> {
    error.raw_response().map(|response| response.status().as_u16())
}

fn classify<E>(error: SdkError<E>) -> StorageError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
{
    match &error {
        aws_sdk_s3::error::SdkError::ServiceError(service) => {
            let status = service_status(&error).unwrap_or(0);
            let code = service.err().code().unwrap_or("unknown").to_string();
            // A 404 that is not "no such key" (no such bucket, or a path
            // the server does not serve at all) and refused credentials or
            // signatures are configuration, whatever the request was.
            if status == 404
                || matches!(
                    code.as_str(),
                    "NoSuchBucket" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AuthorizationHeaderMalformed"
                )
            {
                StorageError::Misconfigured(format!("{status} {code}"))
            } else if status >= 500 {
                StorageError::Unavailable(format!("{status} {code}"))
            } else {
                StorageError::Rejected(format!("{status} {code}"))
            }
        }
        aws_sdk_s3::error::SdkError::ConstructionFailure(_) => {
            StorageError::Rejected("request could not be built".into())
        }
        // Timeouts, connection refused, broken responses: transient.
        _ => StorageError::Unavailable(error_kind(&error)),
    }
}

fn error_kind<E>(error: &SdkError<E>) -> String {
    use aws_sdk_s3::error::SdkError;
    match error {
        SdkError::TimeoutError(_) => "timeout".into(),
        SdkError::DispatchFailure(_) => "connection failed".into(),
        SdkError::ResponseError(_) => "invalid response".into(),
        _ => "request failed".into(),
    }
}
