//! `DELETE /renders/{id}`: the render's rows and its stored images go
//! together. A failure halfway never leaves images that no row names; at
//! worst it leaves the render with some images gone, which the client's
//! retry (told so by a 503) completes.
//!
//! Order: read the object keys, delete the objects, then delete the rows.
//! - Storage down before any object is gone: 503, nothing changed.
//! - Storage failing after some objects are gone: 503; the render stays
//!   listed with images missing until the client retries, and the retry
//!   completes it (deleting a missing object succeeds). This is the only
//!   window where a row outlives its images, and it is closed by a retry.
//! - The database failing after the objects are gone: the same, and a retry
//!   completes it too.
//!
//! The reverse order (rows first) would turn any storage failure into images
//! no row names, which nothing would ever find again to clean up. Holding
//! the row delete open across the storage calls would keep a transaction
//! (and, behind Supabase's transaction pooler, a server connection) idle for
//! as long as storage takes; the failure windows would be the same.

use shared::app::Services;
use shared::auth::VerifiedUser;
use shared::http::{self, ApiError, Body, Response};
use shared::repositories::renders;
use shared::storage::PUBLIC_BUCKET;
use uuid::Uuid;

pub async fn delete(
    services: &Services,
    user: &VerifiedUser,
    id: Uuid,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let owner_id = user.user_id();
    let tx = services.db.as_user(user).await?;
    // Another user's render and a missing one look the same: not found, and
    // nothing of theirs is touched.
    let detail = renders::get_render_detail(tx, id, owner_id).await?.ok_or_else(|| ApiError::not_found("render"))?;
    let keys = detail.object_keys();
    delete_objects(services, &keys).await?;

    let mut tx = services.db.as_user(user).await?;
    let deleted = renders::delete_render(&mut tx, id, owner_id).await?;
    tx.commit().await?;
    // Variants are written once, with their render, so the rows deleted name
    // the objects read above; any other key (never expected) is removed too
    // rather than left orphaned, best effort since the rows are gone.
    let stray: Vec<String> = deleted.unwrap_or_default().into_iter().filter(|key| !keys.contains(key)).collect();
    if let Err(error) = delete_objects(services, &stray).await {
        tracing::warn!(%id, ?error, "objects of a deleted render could not be removed");
    }
    // `None` here means a concurrent request deleted it first: done either way.
    Ok(http::empty(request_id))
}

/// Deletes the objects one by one (a render has a handful); the first
/// failure stops and answers, so a retry picks up where this left off.
async fn delete_objects(services: &Services, keys: &[String]) -> Result<(), ApiError> {
    for key in keys {
        services.storage.delete(PUBLIC_BUCKET, key).await?;
    }
    Ok(())
}
