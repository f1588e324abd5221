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
    /// Null once the photo expired (`INPUT_RETENTION_DAYS` after its last job).
    pub url: Option<String>,
    #[serde(serialize_with = "crate::views::timestamp::rfc3339_opt")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The photo was deleted for its age: the front end shows "expired",
    /// not a broken image.
    pub expired: bool,
}

/// Presigned URLs of `paths` (as jobs store them, `private/<owner>/inputs/...`),
/// or, when the job's inputs expired, entries saying so. A path that is not
/// in the private bucket is skipped: it was never ours to sign.
pub async fn input_images(
    storage: &Storage,
    paths: &[&str],
    expired: bool,
) -> Result<Vec<InputImageView>, StorageError> {
    let now = SystemTime::now();
    let mut views = Vec::with_capacity(paths.len());
    for (index, path) in paths.iter().enumerate() {
        let Some(key) = path.strip_prefix("private/") else { continue };
        if expired {
            views.push(InputImageView { index, url: None, expires_at: None, expired: true });
            continue;
        }
        let (url, expires) =
            storage.presign_get_stable(PRIVATE_BUCKET, key, INPUT_URL_LIFETIME, INPUT_URL_STEP, now).await?;
        views.push(InputImageView {
            index,
            url: Some(url),
            expires_at: Some(DateTime::<Utc>::from(expires)),
            expired: false,
        });
    }
    Ok(views)
}
