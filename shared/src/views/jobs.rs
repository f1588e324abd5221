//! A job as the API shows it (`GET /generations/{id}` and submit's answer).

use super::inputs::InputImageView;
use crate::repositories::generation_jobs::{
    Job, JobStatus, JobWithOutputs, OutputVariant, CONTENT_REFUSED_ERROR, TIMEOUT_ERROR,
};
use crate::storage::Storage;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: Uuid,
    pub status: &'static str,
    pub mode: String,
    pub room_type: Option<String>,
    pub style: Option<String>,
    pub prompt: Option<String>,
    #[serde(serialize_with = "crate::views::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::views::timestamp::rfc3339_opt")]
    pub completed_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// Why a failed job failed, for the front end to choose its words:
    /// `TIMED_OUT`, `CONTENT_REFUSED` (try another photo or prompt) or
    /// `GENERATION_FAILED`; none of them is charged.
    pub error_code: Option<&'static str>,
    pub render_id: Option<Uuid>,
    pub variants: Vec<VariantView>,
    /// The job's input images ("before"), owner only: in the answers of
    /// `GET /generations/{id}` (see [`JobView::with_inputs`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<InputImageView>>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VariantView {
    pub index: i32,
    pub image_url: String,
    /// A small WebP of the image; null for a render made before thumbnails
    /// until the sweeper's backfill reaches it.
    pub thumb_url: Option<String>,
}

impl VariantView {
    pub fn new(index: i32, image_path: &str, thumb_path: Option<&str>, storage: &Storage) -> Self {
        VariantView {
            index,
            image_url: storage.public_url(image_path),
            thumb_url: thumb_path.map(|path| storage.public_url(path)),
        }
    }
}

impl JobView {
    pub fn new(outputs: &JobWithOutputs, storage: &Storage) -> Self {
        Self::of(&outputs.job, outputs.render_id, &outputs.variants, storage)
    }

    /// A job that has produced nothing yet.
    pub fn pending(job: &Job, storage: &Storage) -> Self {
        Self::of(job, None, &[], storage)
    }

    /// The same answer with the job's input images.
    pub fn with_inputs(mut self, inputs: Vec<InputImageView>) -> Self {
        self.inputs = Some(inputs);
        self
    }

    fn of(job: &Job, render_id: Option<Uuid>, variants: &[OutputVariant], storage: &Storage) -> Self {
        JobView {
            id: job.id,
            status: job.status.as_str(),
            mode: job.mode.clone(),
            room_type: job.room_type.clone(),
            style: job.style.clone(),
            prompt: job.prompt.clone(),
            created_at: job.created_at,
            completed_at: job.completed_at,
            error: job.error.clone(),
            error_code: error_code(job),
            render_id,
            variants: variants
                .iter()
                .map(|v| VariantView::new(v.index, &v.image_path, v.thumb_path.as_deref(), storage))
                .collect(),
            inputs: None,
        }
    }
}

fn error_code(job: &Job) -> Option<&'static str> {
    if job.status != JobStatus::Failed {
        return None;
    }
    Some(match job.error.as_deref() {
        Some(TIMEOUT_ERROR) => "TIMED_OUT",
        Some(CONTENT_REFUSED_ERROR) => "CONTENT_REFUSED",
        _ => "GENERATION_FAILED",
    })
}
