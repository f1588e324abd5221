//! Curating the community gallery. The tables are writable by `service_role`
//! only (users and anon get no write grant), so these run in a service
//! transaction that the caller opens only after checking the admin claim.
//! Writes answer with the row as stored, including what the public feed
//! hides (publication state, order indexes, render ids).

use super::ApplySettings;
use crate::db::{DbError, Row, Tx, Type};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct AdminCollection {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub is_featured: bool,
    pub order_index: i32,
    pub is_published: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AdminItem {
    pub id: Uuid,
    pub collection_id: Uuid,
    pub render_id: Option<Uuid>,
    pub external_image_url: Option<String>,
    /// Public-bucket key of the render's cover image, when it still has one.
    pub image_path: Option<String>,
    pub apply_settings: Option<ApplySettings>,
    pub order_index: i32,
    pub created_at: DateTime<Utc>,
}

pub struct NewCollection<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub is_featured: bool,
    pub order_index: i32,
    pub is_published: bool,
}

/// `None` leaves a column as it is; `description: Some(None)` clears it.
#[derive(Debug, Default)]
pub struct CollectionPatch {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub is_featured: Option<bool>,
    pub order_index: Option<i32>,
    pub is_published: Option<bool>,
}

/// What an item shows: one of the two (the table's `community_item_src`).
pub enum ItemSource {
    Render(Uuid),
    External(String),
}

pub struct NewItem {
    pub source: ItemSource,
    pub apply_settings: Option<ApplySettings>,
    pub order_index: i32,
}

/// `apply_settings: Some(None)` clears the settings.
#[derive(Debug, Default)]
pub struct ItemPatch {
    pub apply_settings: Option<Option<ApplySettings>>,
    pub order_index: Option<i32>,
}

pub enum CreatedItem {
    Created(AdminItem),
    CollectionMissing,
    /// No such render, or it has no cover image to show.
    RenderMissing,
}

const COLLECTION_COLUMNS: &str = "id, title, description, is_featured, order_index, is_published, created_at";

fn collection_from_row(row: &Row) -> AdminCollection {
    AdminCollection {
        id: row.get("id"),
        title: row.get("title"),
        description: row.get("description"),
        is_featured: row.get("is_featured"),
        order_index: row.get("order_index"),
        is_published: row.get("is_published"),
        created_at: row.get("created_at"),
    }
}

/// Reads an item from columns named `item_id`, `collection_id`, `render_id`,
/// `external_image_url`, `image_path`, `apply_settings`, `item_order`,
/// `item_created_at`.
fn item_from_row(row: &Row) -> AdminItem {
    let stored: Option<serde_json::Value> = row.get("apply_settings");
    AdminItem {
        id: row.get("item_id"),
        collection_id: row.get("collection_id"),
        render_id: row.get("render_id"),
        external_image_url: row.get("external_image_url"),
        image_path: row.get("image_path"),
        apply_settings: stored.filter(|value| !value.is_null()).map(|value| ApplySettings::from_stored(Some(&value))),
        order_index: row.get("item_order"),
        created_at: row.get("item_created_at"),
    }
}

pub async fn create_collection(tx: &mut Tx, new: &NewCollection<'_>) -> Result<AdminCollection, DbError> {
    let sql = format!(
        "insert into public.community_collections (title, description, is_featured, order_index, is_published)
         values ($1, $2, $3, $4, $5) returning {COLLECTION_COLUMNS}"
    );
    let row = tx
        .query_one(
            &sql,
            &[
                (&new.title, Type::TEXT),
                (&new.description, Type::TEXT),
                (&new.is_featured, Type::BOOL),
                (&new.order_index, Type::INT4),
                (&new.is_published, Type::BOOL),
            ],
        )
        .await?;
    Ok(collection_from_row(&row))
}

/// The updated collection, or `None` when there is no such collection.
pub async fn update_collection(
    tx: &mut Tx,
    id: Uuid,
    patch: &CollectionPatch,
) -> Result<Option<AdminCollection>, DbError> {
    let clear_or_set_description = patch.description.is_some();
    let description = patch.description.clone().flatten();
    let sql = format!(
        "update public.community_collections set
            title = coalesce($2, title),
            description = case when $3 then $4 else description end,
            is_featured = coalesce($5, is_featured),
            order_index = coalesce($6, order_index),
            is_published = coalesce($7, is_published)
          where id = $1 returning {COLLECTION_COLUMNS}"
    );
    let row = tx
        .query_opt(
            &sql,
            &[
                (&id, Type::UUID),
                (&patch.title, Type::TEXT),
                (&clear_or_set_description, Type::BOOL),
                (&description, Type::TEXT),
                (&patch.is_featured, Type::BOOL),
                (&patch.order_index, Type::INT4),
                (&patch.is_published, Type::BOOL),
            ],
        )
        .await?;
    Ok(row.as_ref().map(collection_from_row))
}

/// Deletes a collection and (by cascade) its items; renders stay (spec 6).
pub async fn delete_collection(tx: &mut Tx, id: Uuid) -> Result<bool, DbError> {
    Ok(tx.execute("delete from public.community_collections where id = $1", &[(&id, Type::UUID)]).await? == 1)
}

/// Adds an item, in one statement that also says which reference was
/// missing. A render must still have its cover image, or the item would
/// never show. (A render deleted concurrently fails on the foreign key.)
pub async fn create_item(tx: &mut Tx, collection_id: Uuid, new: &NewItem) -> Result<CreatedItem, DbError> {
    let (render_id, external_image_url) = match &new.source {
        ItemSource::Render(id) => (Some(*id), None),
        ItemSource::External(url) => (None, Some(url.as_str())),
    };
    let settings = new.apply_settings.as_ref().map(ApplySettings::to_stored);
    let row = tx
        .query_one(
            "with target as (
               select c.id,
                      ($2::uuid is null or exists (
                        select 1 from public.renders r
                          join public.render_variants v on v.render_id = r.id and v.idx = r.cover_variant
                         where r.id = $2)) as render_ok
                 from public.community_collections c where c.id = $1
             ), inserted as (
               insert into public.community_items
                      (collection_id, render_id, external_image_url, apply_settings, order_index)
               select id, $2, $3, $4, $5 from target where render_ok
               returning id, collection_id, render_id, external_image_url, apply_settings, order_index, created_at
             )
             select exists (select 1 from target) as collection_found,
                    coalesce((select render_ok from target), false) as render_ok,
                    i.id as item_id, i.collection_id, i.render_id, i.external_image_url, v.image_path,
                    i.apply_settings, i.order_index as item_order, i.created_at as item_created_at
               from (select 1) as one
               left join inserted i on true
               left join public.renders r on r.id = i.render_id
               left join public.render_variants v on v.render_id = r.id and v.idx = r.cover_variant",
            &[
                (&collection_id, Type::UUID),
                (&render_id, Type::UUID),
                (&external_image_url, Type::TEXT),
                (&settings, Type::JSONB),
                (&new.order_index, Type::INT4),
            ],
        )
        .await?;
    if !row.get::<_, bool>("collection_found") {
        return Ok(CreatedItem::CollectionMissing);
    }
    if !row.get::<_, bool>("render_ok") {
        return Ok(CreatedItem::RenderMissing);
    }
    Ok(CreatedItem::Created(item_from_row(&row)))
}

/// The updated item, or `None` when there is no such item.
pub async fn update_item(tx: &mut Tx, id: Uuid, patch: &ItemPatch) -> Result<Option<AdminItem>, DbError> {
    let set_settings = patch.apply_settings.is_some();
    let settings = patch.apply_settings.as_ref().and_then(|s| s.as_ref().map(ApplySettings::to_stored));
    let row = tx
        .query_opt(
            "with updated as (
               update public.community_items set
                  apply_settings = case when $2 then $3 else apply_settings end,
                  order_index = coalesce($4, order_index)
                where id = $1
                returning id, collection_id, render_id, external_image_url, apply_settings, order_index, created_at
             )
             select u.id as item_id, u.collection_id, u.render_id, u.external_image_url, v.image_path,
                    u.apply_settings, u.order_index as item_order, u.created_at as item_created_at
               from updated u
               left join public.renders r on r.id = u.render_id
               left join public.render_variants v on v.render_id = r.id and v.idx = r.cover_variant",
            &[
                (&id, Type::UUID),
                (&set_settings, Type::BOOL),
                (&settings, Type::JSONB),
                (&patch.order_index, Type::INT4),
            ],
        )
        .await?;
    Ok(row.as_ref().map(item_from_row))
}

/// Removes an item from the gallery; the render it showed stays (spec 6).
pub async fn delete_item(tx: &mut Tx, id: Uuid) -> Result<bool, DbError> {
    Ok(tx.execute("delete from public.community_items where id = $1", &[(&id, Type::UUID)]).await? == 1)
}
