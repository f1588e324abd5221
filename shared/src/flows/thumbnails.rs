//! The thumbnail backfill: renders stored before thumbnails existed get
//! theirs a few at a time, newest first, on the sweeper's schedule.
//!
//! Exactly one thumbnail per variant, at the key the completion would have
//! used; a render deleted while its thumbnail was being made leaves no
//! object behind. An image that cannot be read (or is gone) becomes its own
//! thumbnail, so it is not tried again on every run.

use super::complete::{make_thumbnail, StoreError};
use crate::app::Services;
use crate::db::DbError;
use crate::repositories::renders::{self, VariantWithoutThumb};
use crate::storage::{thumb_key, PUBLIC_BUCKET};

/// Variants per run: each costs a download, a decode and an encode (tens of
/// milliseconds), so a run stays within seconds while a backlog drains at
/// this many a minute.
pub const BACKFILL_BATCH: i64 = 20;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BackfillReport {
    /// Thumbnails made and recorded.
    pub made: usize,
    /// Variants whose image could not be read or was missing: the image
    /// stands in as its own thumbnail.
    pub stood_in: usize,
    /// Left for a later run (storage or database trouble).
    pub errors: usize,
}

pub async fn backfill_thumbnails(services: &Services, limit: i64) -> Result<BackfillReport, DbError> {
    let mut tx = services.db.as_service().await?;
    let pending = renders::variants_without_thumb(&mut tx, limit).await?;
    tx.commit().await?;
    let mut report = BackfillReport::default();
    for variant in &pending {
        match backfill_one(services, variant).await {
            Ok(Backfilled::Made) => report.made += 1,
            Ok(Backfilled::StoodIn) => report.stood_in += 1,
            Ok(Backfilled::Gone) => {}
            Err(error) => {
                report.errors += 1;
                tracing::warn!(%error, render_id = %variant.render_id, "backfilling a thumbnail failed");
            }
        }
    }
    Ok(report)
}

enum Backfilled {
    Made,
    StoodIn,
    /// The render was deleted meanwhile.
    Gone,
}

#[derive(Debug, thiserror::Error)]
enum BackfillError {
    #[error("storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
    #[error("database: {0}")]
    Database(#[from] DbError),
    #[error("{0}")]
    Thumbnail(StoreError),
}

async fn backfill_one(services: &Services, variant: &VariantWithoutThumb) -> Result<Backfilled, BackfillError> {
    let image = services.storage.get(PUBLIC_BUCKET, &variant.image_path).await?;
    let thumb = match image {
        Some(image) => match make_thumbnail(image).await {
            Ok((_, thumb)) => Some(thumb),
            Err(StoreError::Unreadable(refusal)) => {
                tracing::warn!(%refusal, render_id = %variant.render_id, "a render's image is unreadable");
                None
            }
            Err(other) => return Err(BackfillError::Thumbnail(other)),
        },
        None => None,
    };
    let Some(thumb) = thumb else {
        let mut tx = services.db.as_service().await?;
        let recorded = renders::set_thumb(&mut tx, variant.id, &variant.image_path).await?;
        tx.commit().await?;
        return Ok(if recorded { Backfilled::StoodIn } else { Backfilled::Gone });
    };
    let key = thumb_key(variant.render_id, variant.idx);
    services.storage.put(PUBLIC_BUCKET, &key, thumb, "image/webp").await?;
    let mut tx = services.db.as_service().await?;
    let recorded = renders::set_thumb(&mut tx, variant.id, &key).await?;
    tx.commit().await?;
    if recorded {
        return Ok(Backfilled::Made);
    }
    // Deleted while the thumbnail was made: its delete could not know this key.
    services.storage.delete(PUBLIC_BUCKET, &key).await?;
    Ok(Backfilled::Gone)
}
