//! Work that spans repositories and external services: submitting a
//! generation, completing it (webhook, poll and sweeper share one path),
//! refreshing or expiring a stale job, cancelling, backfilling thumbnails,
//! erasing an account, letting old inputs go.

pub mod cancel;
pub mod complete;
pub mod erase;
pub mod refresh;
pub mod retention;
pub mod submit;
pub mod sweep;
pub mod thumbnails;
