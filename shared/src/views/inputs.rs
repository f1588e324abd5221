//! "Before" beside "after": the input images of a job, for its owner only,
//! as short-lived presigned URLs of the private bucket. Callers build these
//! only after the database (RLS) showed the job or render to the caller.

use crate::storage::{Storage, StorageError, PRIVATE_BUCKET};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::{Duration, SystemTime};

/// How long an input URL works after it is signed.
pub const INPUT_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// URLs are signed as of the start of each step, so polls within one step
/// get the same URL (the browser's cache keeps the image) and every URL
/// handed out works for at least `INPUT_URL_LIFETIME - INPUT_URL_STEP`.
pub const INPUT_URL_STEP: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InputImageView {
    /// 0 for the photo, 1 for compose mode's second image.
    pub index: usize,
    pub url: String,
    #[serde(serialize_with = "crate::views::timestamp::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// Presigned URLs of `paths` (as jobs store them, `private/<owner>/inputs/...`).
/// A path that is not in the private bucket is skipped: it was never ours to sign.
pub async fn input_images(storage: &Storage, paths: &[&str]) -> Result<Vec<InputImageView>, StorageError> {
    let now = SystemTime::now();
    let mut views = Vec::with_capacity(paths.len());
    for (index, path) in paths.iter().enumerate() {
        let Some(key) = path.strip_prefix("private/") else { continue };
        let (url, expires) =
            storage.presign_get_stable(PRIVATE_BUCKET, key, INPUT_URL_LIFETIME, INPUT_URL_STEP, now).await?;
        views.push(InputImageView { index, url, expires_at: DateTime::<Utc>::from(expires) });
    }
    Ok(views)
}
