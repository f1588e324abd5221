//! Keep little: uploaded inputs are deleted `INPUT_RETENTION_DAYS` after
//! their last job (or after their upload, when no job used them), a batch
//! per sweeper run. Renders stay until their owner deletes them; a job
//! whose inputs went says so, and its "before" reads as expired.

use crate::app::Services;
use crate::db::DbError;
use crate::repositories::uploads;
use crate::storage::PRIVATE_BUCKET;
use futures_util::future::join_all;

/// Uploads deleted per run at most.
pub const BATCH: i64 = 200;
/// Deletes in flight at once.
const CONCURRENT_DELETES: usize = 16;

/// Deletes expired uploads; answers how many went.
pub async fn expire_inputs(services: &Services, limit: i64) -> Result<usize, DbError> {
    let mut tx = services.db.as_service().await?;
    let expired = uploads::expired_uploads(&mut tx, services.env.input_retention, limit).await?;
    tx.commit().await?;
    let mut deleted = Vec::with_capacity(expired.len());
    for chunk in expired.chunks(CONCURRENT_DELETES) {
        // Collected before awaiting (see `flows::erase`).
        let deletes: Vec<_> = chunk.iter().map(|key| services.storage.delete(PRIVATE_BUCKET, key)).collect();
        for (key, result) in chunk.iter().zip(join_all(deletes).await) {
            match result {
                Ok(()) => deleted.push(key.clone()),
                Err(error) => tracing::warn!(%error, "an expired input could not be deleted; next run"),
            }
        }
    }
    let mut tx = services.db.as_service().await?;
    uploads::forget_expired(&mut tx, &deleted).await?;
    tx.commit().await?;
    Ok(deleted.len())
}
