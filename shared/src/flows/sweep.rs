//! The scheduled sweep: every stuck job is polled, completed or expired, so
//! no user stays blocked by a job nobody asks about; then a few renders
//! made before thumbnails get theirs, account erasures too large for one
//! call go on, and inputs past their retention go.

use super::refresh::{refresh_if_stale, Refreshed, STALE_AFTER};
use super::thumbnails::{backfill_thumbnails, BackfillReport, BACKFILL_BATCH};
use crate::app::Services;
use crate::repositories::generation_jobs as jobs;

/// Jobs handled per run; a run takes seconds, the schedule is every minute.
pub const BATCH: i64 = 100;
/// Unfinished account erasures continued per run.
const ERASURES_PER_RUN: i64 = 5;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub examined: usize,
    pub completed: usize,
    pub expired: usize,
    pub errors: usize,
    pub thumbnails: BackfillReport,
    /// Account erasures finished this run (those `DELETE /me` left).
    pub erasures_finished: usize,
    /// Uploaded inputs deleted for their age.
    pub inputs_expired: usize,
}

pub async fn sweep(services: &Services) -> Result<SweepReport, crate::db::DbError> {
    let mut tx = services.db.as_service().await?;
    let stale = jobs::list_stale_jobs(&mut tx, STALE_AFTER, BATCH).await?;
    tx.commit().await?;
    let mut report = SweepReport { examined: stale.len(), ..SweepReport::default() };
    for job in &stale {
        // Boxed: the refresh future nests poll, download, storage and database
        // futures deeply enough to strain the compiler's layout limits.
        match Box::pin(refresh_if_stale(services, job)).await {
            Ok(Refreshed::Completed(_)) => report.completed += 1,
            Ok(Refreshed::Expired(_)) => report.expired += 1,
            Ok(_) => {}
            Err(error) => {
                report.errors += 1;
                tracing::warn!(%error, job_id = %job.id, "sweeping a job failed");
            }
        }
    }
    // Jobs first: a user waiting on a job matters more than an old card.
    report.thumbnails = backfill_thumbnails(services, BACKFILL_BATCH).await?;
    report.inputs_expired = super::retention::expire_inputs(services, super::retention::BATCH).await?;
    report.erasures_finished =
        super::erase::continue_erasures(services, ERASURES_PER_RUN, super::erase::OBJECTS_PER_CALL).await?;
    Ok(report)
}
