//! `DELETE /api/v1/me`: everything a user owns, gone.
//!
//! One transaction writes down what their rows name in storage and what
//! runs at Replicate, then deletes their profile, which cascades to every
//! row they own (`039_account_erasure.sql`); from then on no row can appear
//! for them. Their uploads are known to the database (`POST /uploads` writes
//! each down), so one no job names is erased too. The rest is resumable:
//! running predictions are canceled and the objects are deleted in batches, each batch forgotten once
//! storage confirmed it. Storage or Replicate failing half-way answers 503
//! and the next call (or the sweeper) goes on from what is left; a call
//! after the end finds nothing and succeeds again.

use crate::app::Services;
use crate::db::DbError;
use crate::replicate::ReplicateError;
use crate::repositories::erasures;
use crate::storage::StorageError;
use futures_util::future::join_all;
use uuid::Uuid;

/// Objects one call deletes at most, so it ends within the function's
/// time; a user with more is finished by the sweeper (the answer says so).
pub const OBJECTS_PER_CALL: i64 = 2000;
/// Deletes in flight at once.
const CONCURRENT_DELETES: usize = 16;
/// Rows read from the list of objects at a time.
const BATCH: i64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    Finished,
    /// Objects (or predictions) are left for the sweeper.
    Continuing {
        left: i64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("database: {0}")]
    Database(#[from] DbError),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("replicate: {0}")]
    Replicate(String),
    #[error("supabase auth: {0}")]
    Auth(String),
}

/// Erases `user_id`: the rows at once, then up to `budget` objects.
pub async fn erase_account(services: &Services, user_id: Uuid, budget: i64) -> Result<Erasure, EraseError> {
    erasures::begin(services.db.as_service().await?, user_id).await?;
    continue_erasure(services, user_id, budget).await
}

/// Cancels what still runs and deletes up to `budget` objects.
pub async fn continue_erasure(services: &Services, user_id: Uuid, budget: i64) -> Result<Erasure, EraseError> {
    cancel_predictions(services, user_id).await?;
    let mut deleted = 0;
    while deleted < budget {
        let mut tx = services.db.as_service().await?;
        let batch = erasures::next_objects(&mut tx, user_id, BATCH.min(budget - deleted)).await?;
        tx.commit().await?;
        if batch.is_empty() {
            break;
        }
        deleted += batch.len() as i64;
        delete_objects(services, &batch).await?;
    }
    let auth_admin = services.env.auth_admin.as_ref();
    if let Some(admin) = auth_admin {
        delete_auth_user(services, admin, user_id).await?;
    }
    let mut tx = services.db.as_service().await?;
    let left = erasures::finish_if_done(&mut tx, user_id, auth_admin.is_some()).await?;
    tx.commit().await?;
    Ok(if left == 0 { Erasure::Finished } else { Erasure::Continuing { left } })
}

/// Deletes the Auth user, once: after it, the person can no longer sign in
/// to the empty account (tokens already issued verify until they expire).
async fn delete_auth_user(
    services: &Services,
    admin: &crate::auth::admin::AuthAdmin,
    user_id: Uuid,
) -> Result<(), EraseError> {
    let mut tx = services.db.as_service().await?;
    let pending = erasures::auth_user_pending(&mut tx, user_id).await?;
    tx.commit().await?;
    if !pending {
        return Ok(());
    }
    crate::auth::admin::delete_user(admin, user_id).await.map_err(EraseError::Auth)?;
    let mut tx = services.db.as_service().await?;
    erasures::auth_user_deleted(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(())
}

async fn cancel_predictions(services: &Services, user_id: Uuid) -> Result<(), EraseError> {
    let mut tx = services.db.as_service().await?;
    let predictions = erasures::predictions(&mut tx, user_id).await?;
    tx.commit().await?;
    for prediction in predictions {
        match services.replicate.cancel_prediction(&prediction).await {
            // Gone or already ended at Replicate: nothing runs either way.
            Ok(_) | Err(ReplicateError::NotFound) => {}
            Err(error) => return Err(EraseError::Replicate(error.to_string())),
        }
        let mut tx = services.db.as_service().await?;
        erasures::forget_prediction(&mut tx, user_id, &prediction).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Deletes a batch from storage, then forgets what storage confirmed; the
/// first failure stops the batch (what was confirmed is still forgotten).
async fn delete_objects(services: &Services, batch: &[(String, String)]) -> Result<(), EraseError> {
    let mut results = Vec::with_capacity(batch.len());
    for chunk in batch.chunks(CONCURRENT_DELETES) {
        // Collected before awaiting: a lazy iterator held across the await
        // makes the future's `Send` bound unprovable to rustc.
        let deletes: Vec<_> = chunk.iter().map(|(bucket, key)| services.storage.delete(bucket, key)).collect();
        results.extend(chunk.iter().zip(join_all(deletes).await));
    }
    let mut failure = None;
    let mut confirmed: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for ((bucket, key), result) in results {
        match result {
            Ok(()) => confirmed.entry(bucket.as_str()).or_default().push(key.clone()),
            Err(error) => failure = Some(error),
        }
    }
    let mut tx = services.db.as_service().await?;
    for (bucket, keys) in &confirmed {
        erasures::forget_objects(&mut tx, bucket, keys).await?;
    }
    tx.commit().await?;
    match failure {
        Some(error) => Err(error.into()),
        None => Ok(()),
    }
}

/// The sweeper's share: erasures a call left unfinished, `budget` objects
/// each.
pub async fn continue_erasures(services: &Services, limit: i64, budget: i64) -> Result<usize, DbError> {
    let mut tx = services.db.as_service().await?;
    let pending = erasures::unfinished(&mut tx, limit).await?;
    tx.commit().await?;
    let mut finished = 0;
    for user_id in pending {
        match Box::pin(continue_erasure(services, user_id, budget)).await {
            Ok(Erasure::Finished) => finished += 1,
            Ok(Erasure::Continuing { .. }) => {}
            Err(error) => tracing::warn!(%error, %user_id, "continuing an erasure failed"),
        }
    }
    Ok(finished)
}
