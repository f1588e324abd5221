//! `GET /api/v1/me/export`: everything of the caller's, read as the caller
//! (RLS shows nobody else's rows), a page of jobs at a time with what each
//! produced and was charged; the first page also carries the account, the
//! collections and the ledger rows no job names.

use super::generation_jobs::{Job, COLUMNS as JOB_COLUMNS};
use super::pagination::{into_page, Cursor, Page, PageRequest};
use crate::db::{DbError, Tx, Type};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct ExportAccount {
    pub price_id: Option<String>,
    pub has_access: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExportCollection {
    pub id: Uuid,
    pub name: String,
    pub is_default_favorites: bool,
    pub created_at: DateTime<Utc>,
    /// In the order they were added.
    pub render_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExportVariant {
    pub index: i32,
    pub image_path: String,
    pub thumb_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExportRender {
    pub id: Uuid,
    pub job_id: Uuid,
    pub cover_variant: i32,
    pub is_favorite: bool,
    pub created_at: DateTime<Utc>,
    pub variants: Vec<ExportVariant>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    pub id: Uuid,
    pub kind: String,
    pub amount: i32,
    pub job_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Only on the first page.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportHead {
    pub account: ExportAccount,
    pub collections: Vec<ExportCollection>,
    /// Ledger rows that name no job (a job's own rows come with it).
    pub ledger: Vec<LedgerEntry>,
}

#[derive(Debug, Clone)]
pub struct ExportPage {
    pub head: Option<ExportHead>,
    /// Newest first, keyset-paginated like the gallery.
    pub jobs: Page<Job>,
    pub renders: Vec<ExportRender>,
    /// The ledger rows of this page's jobs.
    pub charges: Vec<LedgerEntry>,
}

const LEDGER_COLUMNS: &str = "id, kind, amount, nullif(meta->>'jobId', '')::uuid as job_id, created_at";

fn ledger_entry(row: &tokio_postgres::Row) -> LedgerEntry {
    LedgerEntry {
        id: row.get("id"),
        kind: row.get("kind"),
        amount: row.get("amount"),
        job_id: row.get("job_id"),
        created_at: row.get("created_at"),
    }
}

/// One page of the export, in one read transaction.
pub async fn export_page(mut tx: Tx, owner_id: Uuid, page: &PageRequest) -> Result<ExportPage, DbError> {
    let after_created_at = page.after.map(|c| c.created_at);
    let after_id = page.after.map(|c| c.id);
    let fetch = page.limit + 1;
    let sql = format!(
        "select {JOB_COLUMNS} from public.generation_jobs
          where owner_id = $1 and ($2::timestamptz is null or (created_at, id) < ($2, $3))
          order by created_at desc, id desc limit $4"
    );
    let rows = tx
        .query(
            &sql,
            &[
                (&owner_id, Type::UUID),
                (&after_created_at, Type::TIMESTAMPTZ),
                (&after_id, Type::UUID),
                (&fetch, Type::INT8),
            ],
        )
        .await?;
    let jobs: Vec<Job> = rows.iter().map(Job::from_row).collect::<Result<_, _>>()?;
    let jobs = into_page(jobs, page.limit, |job: &Job| Cursor { created_at: job.created_at, id: job.id });
    let job_ids: Vec<Uuid> = jobs.items.iter().map(|job| job.id).collect();
    let renders = renders_of(&mut tx, &job_ids).await?;
    let job_texts: Vec<String> = job_ids.iter().map(Uuid::to_string).collect();
    let charges = tx
        .query(
            &format!(
                "select {LEDGER_COLUMNS} from public.usage_ledger
                  where owner_id = $1 and meta->>'jobId' = any($2::text[]) order by created_at, id"
            ),
            &[(&owner_id, Type::UUID), (&job_texts, Type::TEXT_ARRAY)],
        )
        .await?
        .iter()
        .map(ledger_entry)
        .collect();
    let head = match page.after {
        None => Some(head(&mut tx, owner_id).await?),
        Some(_) => None,
    };
    tx.commit().await?;
    Ok(ExportPage { head, jobs, renders, charges })
}

async fn renders_of(tx: &mut Tx, job_ids: &[Uuid]) -> Result<Vec<ExportRender>, DbError> {
    let rows = tx
        .query(
            "select r.id, r.job_id, r.cover_variant, r.is_favorite, r.created_at, v.idx, v.image_path, v.thumb_path
               from public.renders r
               left join public.render_variants v on v.render_id = r.id
              where r.job_id = any($1::uuid[])
              order by r.created_at desc, r.id, v.idx",
            &[(&job_ids, Type::UUID_ARRAY)],
        )
        .await?;
    let mut renders: Vec<ExportRender> = Vec::new();
    for row in &rows {
        let id: Uuid = row.get(0);
        if renders.last().is_none_or(|render| render.id != id) {
            renders.push(ExportRender {
                id,
                job_id: row.get(1),
                cover_variant: row.get(2),
                is_favorite: row.get(3),
                created_at: row.get(4),
                variants: Vec::new(),
            });
        }
        if let (Some(index), Some(image_path)) = (row.get::<_, Option<i32>>(5), row.get::<_, Option<String>>(6)) {
            let render = renders.last_mut().expect("pushed above");
            render.variants.push(ExportVariant { index, image_path, thumb_path: row.get(7) });
        }
    }
    Ok(renders)
}

async fn head(tx: &mut Tx, owner_id: Uuid) -> Result<ExportHead, DbError> {
    let account = tx
        .query(
            "select price_id, coalesce(has_access, false) from public.profiles where id = $1",
            &[(&owner_id, Type::UUID)],
        )
        .await?
        .first()
        .map(|row| ExportAccount { price_id: row.get(0), has_access: row.get(1) })
        .unwrap_or(ExportAccount { price_id: None, has_access: false });
    let collections = tx
        .query(
            "select c.id, c.name, c.is_default_favorites, c.created_at,
                    coalesce(array_agg(ci.render_id order by ci.added_at, ci.render_id)
                             filter (where ci.render_id is not null), '{}')
               from public.collections c
               left join public.collection_items ci on ci.collection_id = c.id
              where c.owner_id = $1
              group by c.id
              order by c.is_default_favorites desc, c.created_at, c.id",
            &[(&owner_id, Type::UUID)],
        )
        .await?
        .iter()
        .map(|row| ExportCollection {
            id: row.get(0),
            name: row.get(1),
            is_default_favorites: row.get(2),
            created_at: row.get(3),
            render_ids: row.get(4),
        })
        .collect();
    let ledger = tx
        .query(
            &format!(
                "select {LEDGER_COLUMNS} from public.usage_ledger
                  where owner_id = $1 and coalesce(meta->>'jobId', '') = '' order by created_at, id"
            ),
            &[(&owner_id, Type::UUID)],
        )
        .await?
        .iter()
        .map(ledger_entry)
        .collect();
    Ok(ExportHead { account, collections, ledger })
}
