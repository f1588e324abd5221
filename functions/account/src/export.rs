//! `GET /api/v1/me/export`: the caller's data as one JSON document a page
//! at a time (a user with thousands of renders stays far within Lambda's
//! 6 MB answer), every image as a time-limited URL.

use serde::Serialize;
use shared::http::ApiError;
use shared::repositories::export::{ExportCollection, ExportPage, ExportRender, LedgerEntry};
use shared::repositories::generation_jobs::Job;
use shared::storage::{Storage, PRIVATE_BUCKET, PUBLIC_BUCKET};
use shared::views::timestamp::{rfc3339, rfc3339_opt};
use std::time::{Duration, SystemTime};
use uuid::Uuid;

/// How long the export's image URLs work: time to download a large export.
pub const URL_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// URLs are signed as of the start of each step (the same URL on a retry).
const URL_STEP: Duration = Duration::from_secs(5 * 60);

type Time = chrono::DateTime<chrono::Utc>;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportView {
    #[serde(serialize_with = "rfc3339")]
    pub exported_at: Time,
    #[serde(serialize_with = "rfc3339")]
    pub urls_expire_at: Time,
    /// First page only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collections: Option<Vec<CollectionView>>,
    /// Ledger rows that name no job (first page only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<Vec<LedgerView>>,
    pub jobs: Vec<JobView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub user_id: Uuid,
    pub plan: String,
    pub price_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionView {
    pub id: Uuid,
    pub name: String,
    pub is_default_favorites: bool,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: Time,
    pub render_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerView {
    pub id: Uuid,
    pub kind: String,
    pub amount: i32,
    pub job_id: Option<Uuid>,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: Time,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: Uuid,
    pub status: &'static str,
    pub mode: String,
    pub room_type: Option<String>,
    pub style: Option<String>,
    pub prompt: Option<String>,
    pub error: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: Time,
    #[serde(serialize_with = "rfc3339_opt")]
    pub completed_at: Option<Time>,
    /// The input photos.
    pub input_urls: Vec<String>,
    pub render: Option<RenderView>,
    pub charges: Vec<LedgerView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderView {
    pub id: Uuid,
    pub cover_variant: i32,
    pub is_favorite: bool,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: Time,
    pub variants: Vec<VariantView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantView {
    pub index: i32,
    pub image_url: String,
    pub thumb_url: Option<String>,
}

struct Signer<'a> {
    storage: &'a Storage,
    now: SystemTime,
}

impl Signer<'_> {
    /// A time-limited GET of `key` in `bucket`.
    async fn url(&self, bucket: &str, key: &str) -> Result<String, ApiError> {
        Ok(self.storage.presign_get_stable(bucket, key, URL_LIFETIME, URL_STEP, self.now).await?.0)
    }
}

fn ledger_view(entry: &LedgerEntry) -> LedgerView {
    LedgerView {
        id: entry.id,
        kind: entry.kind.clone(),
        amount: entry.amount,
        job_id: entry.job_id,
        created_at: entry.created_at,
    }
}

fn collection_view(collection: &ExportCollection) -> CollectionView {
    CollectionView {
        id: collection.id,
        name: collection.name.clone(),
        is_default_favorites: collection.is_default_favorites,
        created_at: collection.created_at,
        render_ids: collection.render_ids.clone(),
    }
}

async fn render_view(signer: &Signer<'_>, render: &ExportRender) -> Result<RenderView, ApiError> {
    let mut variants = Vec::with_capacity(render.variants.len());
    for variant in &render.variants {
        let thumb_url = match &variant.thumb_path {
            Some(path) => Some(signer.url(PUBLIC_BUCKET, path).await?),
            None => None,
        };
        variants.push(VariantView {
            index: variant.index,
            image_url: signer.url(PUBLIC_BUCKET, &variant.image_path).await?,
            thumb_url,
        });
    }
    Ok(RenderView {
        id: render.id,
        cover_variant: render.cover_variant,
        is_favorite: render.is_favorite,
        created_at: render.created_at,
        variants,
    })
}

async fn job_view(signer: &Signer<'_>, job: &Job, page: &ExportPage) -> Result<JobView, ApiError> {
    let mut input_urls = Vec::new();
    for path in job.input_paths() {
        if let Some(key) = path.strip_prefix("private/") {
            input_urls.push(signer.url(PRIVATE_BUCKET, key).await?);
        }
    }
    let render = match page.renders.iter().find(|render| render.job_id == job.id) {
        Some(render) => Some(render_view(signer, render).await?),
        None => None,
    };
    Ok(JobView {
        id: job.id,
        status: job.status.as_str(),
        mode: job.mode.clone(),
        room_type: job.room_type.clone(),
        style: job.style.clone(),
        prompt: job.prompt.clone(),
        error: job.error.clone(),
        created_at: job.created_at,
        completed_at: job.completed_at,
        input_urls,
        render,
        charges: page.charges.iter().filter(|entry| entry.job_id == Some(job.id)).map(ledger_view).collect(),
    })
}

/// The page as the API shows it; `plan` is the caller's resolved plan id.
pub async fn export_view(
    page: &ExportPage,
    user_id: Uuid,
    plan: String,
    storage: &Storage,
) -> Result<ExportView, ApiError> {
    let now = SystemTime::now();
    let signer = Signer { storage, now };
    let mut jobs = Vec::with_capacity(page.jobs.items.len());
    for job in &page.jobs.items {
        jobs.push(job_view(&signer, job, page).await?);
    }
    let head = page.head.as_ref();
    Ok(ExportView {
        exported_at: Time::from(now),
        urls_expire_at: Time::from(now + URL_LIFETIME - URL_STEP),
        account: head.map(|head| AccountView { user_id, plan, price_id: head.account.price_id.clone() }),
        collections: head.map(|head| head.collections.iter().map(collection_view).collect()),
        ledger: head.map(|head| head.ledger.iter().map(ledger_view).collect()),
        jobs,
        next_cursor: page.jobs.next_cursor.map(|cursor| cursor.encode()),
    })
}
