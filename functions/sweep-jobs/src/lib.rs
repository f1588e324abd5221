//! The every-minute schedule: finds jobs stuck past their webhook, polls
//! Replicate, completes or expires them, so no user stays blocked.

use shared::app::Services;
use shared::flows::sweep::{sweep, SweepReport};

pub async fn handle(services: &Services) -> Result<SweepReport, lambda_runtime::Error> {
    let report = sweep(services).await?;
    tracing::info!(?report, "sweep finished");
    Ok(report)
}
