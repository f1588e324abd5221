//! `renders` and `render_variants`: the images a succeeded job produced.

use super::pagination::{into_page, Cursor, Page, PageRequest};
use crate::db::{DbError, Param, Tx, Type};
use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

/// Namespace of render ids derived from job ids.
const RENDER_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_3c2e_9b4d_4e7a_8c5f_2d1e_0b9a_7c64);

/// The id of a job's render: fixed by the job, so duplicate or retried
/// deliveries store their images under the same keys (never orphans), yet
/// one-way, so public image URLs do not reveal the job id.
pub fn render_id_for_job(job_id: Uuid) -> Uuid {
    Uuid::new_v5(&RENDER_ID_NAMESPACE, job_id.as_bytes())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Render {
    pub id: Uuid,
    pub job_id: Uuid,
    pub owner_id: Uuid,
    pub mode: String,
    pub room_type: Option<String>,
    pub style: Option<String>,
    pub cover_variant: i32,
    pub created_at: DateTime<Utc>,
}

const RENDER_COLUMNS: &str = "id, job_id, owner_id, mode, room_type, style, cover_variant, created_at";

impl Render {
    /// A render from a row that starts with [`RENDER_COLUMNS`], in order.
    fn from_row(row: &Row) -> Self {
        Self::from_row_at(row, 0)
    }

    /// A render from [`RENDER_COLUMNS`], in order, from column `first` on.
    /// By position: a gallery page reads 24 rows of 11 columns, and looking
    /// each up by name cost about as much as the rest of reading them.
    fn from_row_at(row: &Row, first: usize) -> Self {
        Render {
            id: row.get(first),
            job_id: row.get(first + 1),
            owner_id: row.get(first + 2),
            mode: row.get(first + 3),
            room_type: row.get(first + 4),
            style: row.get(first + 5),
            cover_variant: row.get(first + 6),
            created_at: row.get(first + 7),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RenderVariant {
    pub id: Uuid,
    pub render_id: Uuid,
    pub owner_id: Uuid,
    pub idx: i32,
    /// Key in the public bucket, e.g. `renders/<renderId>/0.jpg`.
    pub image_path: String,
    pub thumb_path: Option<String>,
    pub created_at: DateTime<Utc>,
}

const VARIANT_COLUMNS: &str = "id, render_id, owner_id, idx, image_path, thumb_path, created_at";

impl RenderVariant {
    fn from_row(row: &Row) -> Self {
        RenderVariant {
            id: row.get("id"),
            render_id: row.get("render_id"),
            owner_id: row.get("owner_id"),
            idx: row.get("idx"),
            image_path: row.get("image_path"),
            thumb_path: row.get("thumb_path"),
            created_at: row.get("created_at"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewRender<'a> {
    /// Chosen before the images are stored, because their keys contain it.
    pub id: Uuid,
    pub job_id: Uuid,
    pub owner_id: Uuid,
    pub mode: &'a str,
    pub room_type: Option<&'a str>,
    pub style: Option<&'a str>,
    pub cover_variant: i32,
}

/// Inserts the render of a job; a second render for the same job is refused
/// by the database (`uniq_renders_job`).
pub async fn create_render(tx: &mut Tx, render: &NewRender<'_>) -> Result<Render, DbError> {
    let sql = format!(
        "insert into public.renders (id, job_id, owner_id, mode, room_type, style, cover_variant)
         values ($1, $2, $3, $4, $5, $6, $7)
         returning {RENDER_COLUMNS}"
    );
    let row = tx
        .query_one(
            &sql,
            &[
                (&render.id, Type::UUID),
                (&render.job_id, Type::UUID),
                (&render.owner_id, Type::UUID),
                (&render.mode, Type::TEXT),
                (&render.room_type, Type::TEXT),
                (&render.style, Type::TEXT),
                (&render.cover_variant, Type::INT4),
            ],
        )
        .await?;
    Ok(Render::from_row(&row))
}

/// Where one variant's objects are stored: its image and, once made, its
/// thumbnail (keys in bucket `public`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantObjects {
    pub image_path: String,
    pub thumb_path: Option<String>,
}

/// Adds a render's variants in one statement, indexed 0.. in the order of
/// `objects` (one round trip however many outputs a job has).
pub async fn add_variants(
    tx: &mut Tx,
    render_id: Uuid,
    owner_id: Uuid,
    objects: &[VariantObjects],
) -> Result<Vec<RenderVariant>, DbError> {
    let images: Vec<&str> = objects.iter().map(|o| o.image_path.as_str()).collect();
    let thumbs: Vec<Option<&str>> = objects.iter().map(|o| o.thumb_path.as_deref()).collect();
    let sql = format!(
        "insert into public.render_variants (render_id, owner_id, idx, image_path, thumb_path)
         select $1, $2, (path.ordinality - 1)::int4, path.image_path, path.thumb_path
           from unnest($3::text[], $4::text[]) with ordinality as path(image_path, thumb_path, ordinality)
         returning {VARIANT_COLUMNS}"
    );
    let rows = tx
        .query(
            &sql,
            &[
                (&render_id, Type::UUID),
                (&owner_id, Type::UUID),
                (&images, Type::TEXT_ARRAY),
                (&thumbs, Type::TEXT_ARRAY),
            ],
        )
        .await?;
    let mut variants: Vec<RenderVariant> = rows.iter().map(RenderVariant::from_row).collect();
    variants.sort_by_key(|variant| variant.idx);
    Ok(variants)
}

/// A variant the thumbnail backfill is to make a thumbnail for.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantWithoutThumb {
    pub id: Uuid,
    pub render_id: Uuid,
    pub idx: i32,
    pub image_path: String,
}

/// Variants stored before thumbnails existed (or whose completion could not
/// make one), newest first: the recent ones are the ones people look at.
pub async fn variants_without_thumb(tx: &mut Tx, limit: i64) -> Result<Vec<VariantWithoutThumb>, DbError> {
    let rows = tx
        .query(
            "select id, render_id, idx, image_path from public.render_variants
              where thumb_path is null order by created_at desc limit $1",
            &[(&limit, Type::INT8)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| VariantWithoutThumb {
            id: row.get(0),
            render_id: row.get(1),
            idx: row.get(2),
            image_path: row.get(3),
        })
        .collect())
}

/// Records a variant's thumbnail; `false` when the variant is gone (its
/// render was deleted meanwhile, so the thumbnail is nobody's).
pub async fn set_thumb(tx: &mut Tx, variant_id: Uuid, thumb_path: &str) -> Result<bool, DbError> {
    let rows = tx
        .query(
            "update public.render_variants set thumb_path = $2 where id = $1 returning id",
            &[(&variant_id, Type::UUID), (&thumb_path, Type::TEXT)],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// Filters of the gallery; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct RenderFilters {
    pub mode: Option<String>,
    pub room_type: Option<String>,
    pub style: Option<String>,
    pub collection_id: Option<Uuid>,
}

/// A gallery item: the render with what a card needs, stored on the render
/// itself and kept true by triggers (`035_render_cards.sql`), so a page reads
/// one table.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderListItem {
    pub render: Render,
    pub cover_image_path: Option<String>,
    /// Null for a render made before thumbnails, until the backfill's turn.
    pub cover_thumb_path: Option<String>,
    pub variant_count: i64,
    pub is_favorite: bool,
}

/// The gallery statement (see [`list_renders`]), also the page of
/// [`list_collection_renders`]: [`RENDER_COLUMNS`] in order, then the card
/// (read by position in [`list_page`]).
const LIST_RENDERS_SQL: &str =
    "select r.id, r.job_id, r.owner_id, r.mode, r.room_type, r.style, r.cover_variant, r.created_at,
            r.cover_image_path, r.variant_count::int8 as variant_count, r.is_favorite, r.cover_thumb_path
       from public.renders r
      where r.owner_id = $1
        and ($2::text is null or r.mode = $2)
        and ($3::text is null or r.room_type = $3)
        and ($4::text is null or r.style = $4)
        and ($5::uuid is null or exists(select 1 from public.collection_items ci
                                         where ci.collection_id = $5 and ci.render_id = r.id))
        and ($6::timestamptz is null or (r.created_at, r.id) < ($6, $7))
      order by r.created_at desc, r.id desc
      limit $8";

/// The keyset position and row budget of one gallery page, as parameters.
struct Keyset {
    after_created_at: Option<DateTime<Utc>>,
    after_id: Option<Uuid>,
    /// One row more than the page, to tell whether another page exists.
    fetch: i64,
}

impl Keyset {
    fn of(page: &PageRequest) -> Self {
        Keyset {
            after_created_at: page.after.map(|c| c.created_at),
            after_id: page.after.map(|c| c.id),
            fetch: page.limit + 1,
        }
    }

    fn params<'a>(&'a self, owner_id: &'a Uuid, filters: &'a RenderFilters) -> [Param<'a>; 8] {
        [
            (owner_id, Type::UUID),
            (&filters.mode, Type::TEXT),
            (&filters.room_type, Type::TEXT),
            (&filters.style, Type::TEXT),
            (&filters.collection_id, Type::UUID),
            (&self.after_created_at, Type::TIMESTAMPTZ),
            (&self.after_id, Type::UUID),
            (&self.fetch, Type::INT8),
        ]
    }
}

/// Gallery rows (the columns of [`LIST_RENDERS_SQL`] from column `first`
/// on) as a page.
fn list_page<'a>(rows: impl IntoIterator<Item = &'a Row>, first: usize, limit: i64) -> Page<RenderListItem> {
    let items = rows
        .into_iter()
        .map(|row| RenderListItem {
            render: Render::from_row_at(row, first),
            cover_image_path: row.get(first + 8),
            variant_count: row.get(first + 9),
            is_favorite: row.get(first + 10),
            cover_thumb_path: row.get(first + 11),
        })
        .collect();
    into_page(items, limit, |item: &RenderListItem| Cursor { created_at: item.render.created_at, id: item.render.id })
}

/// The owner's renders, newest first, keyset-paginated on `(created_at, id)`:
/// page 1000 costs what page 1 costs, and equal timestamps never skip or
/// repeat an item. Cover, variant count and favourite flag are the render's
/// stored card (no sub-query per item). The transaction's only statement, committed in
/// the same flight: a gallery page costs one round trip. Planned for its
/// owner and LIMIT on every call, prepared or not ([`Tx::plan_each_call`]).
pub async fn list_renders(
    tx: Tx,
    owner_id: Uuid,
    filters: &RenderFilters,
    page: &PageRequest,
) -> Result<Page<RenderListItem>, DbError> {
    let keyset = Keyset::of(page);
    let rows = tx.plan_each_call().query_and_commit(LIST_RENDERS_SQL, &keyset.params(&owner_id, filters)).await?;
    Ok(list_page(&rows, 0, page.limit))
}

/// A page of the renders in one of the owner's collections, exactly as the
/// gallery pages them (same order, cursor and filters), in one statement
/// committed in the same flight; `None` when the collection is not the
/// owner's (RLS hides another user's as well). The collection's existence
/// rides along as a column, so an empty collection and a missing one differ.
pub async fn list_collection_renders(
    tx: Tx,
    owner_id: Uuid,
    collection_id: Uuid,
    filters: &RenderFilters,
    page: &PageRequest,
) -> Result<Option<Page<RenderListItem>>, DbError> {
    let filters = RenderFilters { collection_id: Some(collection_id), ..filters.clone() };
    let keyset = Keyset::of(page);
    let sql = format!(
        "with page as ({LIST_RENDERS_SQL})
         select found.collection_found, page.*
           from (select exists(select 1 from public.collections
                                where id = $5 and owner_id = $1) as collection_found) found
           left join page on true
          order by page.created_at desc, page.id desc"
    );
    let rows = tx.plan_each_call().query_and_commit(&sql, &keyset.params(&owner_id, &filters)).await?;
    if !rows.first().is_some_and(|row| row.get::<_, bool>("collection_found")) {
        return Ok(None);
    }
    // An empty page still brings the one row saying the collection exists.
    let renders = rows.iter().filter(|row| row.get::<_, Option<Uuid>>("id").is_some());
    // Each row is `collection_found`, then the gallery's columns.
    Ok(Some(list_page(renders, 1, page.limit)))
}

/// A render with all its variants (ordered by index), if the caller owns it.
pub async fn get_render(
    tx: &mut Tx,
    id: Uuid,
    owner_id: Uuid,
) -> Result<Option<(Render, Vec<RenderVariant>)>, DbError> {
    // One statement: the render's columns repeated on each variant row.
    let rows = tx
        .query(
            "select r.id, r.job_id, r.owner_id, r.mode, r.room_type, r.style, r.cover_variant, r.created_at,
                    v.id as v_id, v.idx as v_idx, v.image_path as v_image_path,
                    v.thumb_path as v_thumb_path, v.created_at as v_created_at
               from public.renders r
               left join public.render_variants v on v.render_id = r.id
              where r.id = $1 and r.owner_id = $2
              order by v.idx",
            &[(&id, Type::UUID), (&owner_id, Type::UUID)],
        )
        .await?;
    Ok(render_with_variants(&rows))
}

/// Rows of a render joined with its variants (`v_*` columns, null when it
/// has none) folded into the render and its variants.
fn render_with_variants(rows: &[Row]) -> Option<(Render, Vec<RenderVariant>)> {
    let render = Render::from_row(rows.first()?);
    let variants = rows
        .iter()
        .filter_map(|row| {
            let variant_id: Option<Uuid> = row.get("v_id");
            Some(RenderVariant {
                id: variant_id?,
                render_id: render.id,
                owner_id: render.owner_id,
                idx: row.get("v_idx"),
                image_path: row.get("v_image_path"),
                thumb_path: row.get("v_thumb_path"),
                created_at: row.get("v_created_at"),
            })
        })
        .collect();
    Some((render, variants))
}

/// A render as its detail page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderDetail {
    pub render: Render,
    /// Ordered by index.
    pub variants: Vec<RenderVariant>,
    /// In the owner's My Favorites.
    pub is_favorite: bool,
    /// The job's input images (`private/...` paths), for "before and after".
    pub input_paths: Vec<String>,
    /// The retention sweep deleted them.
    pub inputs_expired: bool,
}

impl RenderDetail {
    /// Every stored object of the render: images and thumbnails.
    pub fn object_keys(&self) -> Vec<String> {
        self.variants.iter().flat_map(|v| std::iter::once(v.image_path.clone()).chain(v.thumb_path.clone())).collect()
    }
}

/// The caller's render with its variants, favourite flag and its job's
/// inputs, as the transaction's only statement, committed in the same
/// flight (one round trip); `None` when the caller has no such render.
pub async fn get_render_detail(tx: Tx, id: Uuid, owner_id: Uuid) -> Result<Option<RenderDetail>, DbError> {
    let rows = tx
        .query_and_commit(
            "select r.id, r.job_id, r.owner_id, r.mode, r.room_type, r.style, r.cover_variant, r.created_at,
                    v.id as v_id, v.idx as v_idx, v.image_path as v_image_path,
                    v.thumb_path as v_thumb_path, v.created_at as v_created_at, r.is_favorite,
                    j.input1_path, j.input2_path, j.inputs_expired_at is not null as inputs_expired
               from public.renders r
               left join public.render_variants v on v.render_id = r.id
               left join public.generation_jobs j on j.id = r.job_id
              where r.id = $1 and r.owner_id = $2
              order by v.idx",
            &[(&id, Type::UUID), (&owner_id, Type::UUID)],
        )
        .await?;
    let Some(first) = rows.first() else { return Ok(None) };
    let is_favorite = first.get("is_favorite");
    let input_paths = ["input1_path", "input2_path"]
        .into_iter()
        .filter_map(|column| first.get::<_, Option<String>>(column))
        .collect();
    let inputs_expired = first.get::<_, Option<bool>>("inputs_expired").unwrap_or(false);
    Ok(render_with_variants(&rows).map(|(render, variants)| RenderDetail {
        render,
        variants,
        is_favorite,
        input_paths,
        inputs_expired,
    }))
}

/// Deletes the render (variants and collection items cascade) and returns the
/// storage keys of its images, or `None` when the caller has no such render.
pub async fn delete_render(tx: &mut Tx, id: Uuid, owner_id: Uuid) -> Result<Option<Vec<String>>, DbError> {
    let rows = tx
        .query(
            "with doomed as (
               select v.image_path, v.thumb_path from public.render_variants v
                where v.render_id = $1 and v.owner_id = $2
             ), deleted as (
               delete from public.renders where id = $1 and owner_id = $2 returning id
             )
             select (select count(*) from deleted) as deleted,
                    coalesce((select array_agg(p) from (
                      select image_path as p from doomed
                      union all
                      select thumb_path from doomed where thumb_path is not null) paths), '{}') as paths",
            &[(&id, Type::UUID), (&owner_id, Type::UUID)],
        )
        .await?;
    let row = rows.first().ok_or(DbError::NotFound)?;
    let deleted: i64 = row.get("deleted");
    Ok((deleted == 1).then(|| row.get("paths")))
}
