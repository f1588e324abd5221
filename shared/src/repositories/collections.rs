//! `collections` and `collection_items`, including the automatic
//! "My Favorites" collection every user has.

use crate::db::{DbError, Tx, Type};
use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub is_default_favorites: bool,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, owner_id, name, is_default_favorites, created_at";

impl Collection {
    fn from_row(row: &Row) -> Self {
        Collection {
            id: row.get("id"),
            owner_id: row.get("owner_id"),
            name: row.get("name"),
            is_default_favorites: row.get("is_default_favorites"),
            created_at: row.get("created_at"),
        }
    }
}

/// A collection as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionSummary {
    pub collection: Collection,
    pub item_count: i64,
    /// The cover image of the most recently added render, if any.
    pub cover_image_path: Option<String>,
}

/// A collection with its item count and cover (the image of the most
/// recently added render), one row per collection; callers add the `where`.
const SUMMARY_SELECT: &str = "select c.id, c.owner_id, c.name, c.is_default_favorites, c.created_at,
            (select count(*) from public.collection_items ci where ci.collection_id = c.id) as item_count,
            (select v.image_path
               from public.collection_items ci
               join public.renders r on r.id = ci.render_id
               join public.render_variants v on v.render_id = r.id and v.idx = r.cover_variant
              where ci.collection_id = c.id
              order by ci.added_at desc, ci.render_id desc
              limit 1) as cover_image_path
       from public.collections c";

impl CollectionSummary {
    fn from_row(row: &Row) -> Self {
        CollectionSummary {
            collection: Collection::from_row(row),
            item_count: row.get("item_count"),
            cover_image_path: row.get("cover_image_path"),
        }
    }
}

/// The owner's collections, My Favorites first, then oldest first, with item
/// counts and a cover in the same query.
pub async fn list_collections(tx: &mut Tx, owner_id: Uuid) -> Result<Vec<CollectionSummary>, DbError> {
    let sql =
        format!("{SUMMARY_SELECT} where c.owner_id = $1 order by c.is_default_favorites desc, c.created_at, c.id");
    let rows = tx.query(&sql, &[(&owner_id, Type::UUID)]).await?;
    Ok(rows.iter().map(CollectionSummary::from_row).collect())
}

/// One of the owner's collections with its count and cover.
pub async fn get_collection_summary(
    tx: &mut Tx,
    id: Uuid,
    owner_id: Uuid,
) -> Result<Option<CollectionSummary>, DbError> {
    let sql = format!("{SUMMARY_SELECT} where c.id = $1 and c.owner_id = $2");
    let row = tx.query_opt(&sql, &[(&id, Type::UUID), (&owner_id, Type::UUID)]).await?;
    Ok(row.as_ref().map(CollectionSummary::from_row))
}

/// The caller's My Favorites, created on the spot if it is somehow missing
/// (the database function is idempotent and race-free).
pub async fn get_default_favorites(tx: &mut Tx) -> Result<Collection, DbError> {
    let sql = format!("select {COLUMNS} from public.ensure_default_favorites()");
    Ok(Collection::from_row(&tx.query_one(&sql, &[]).await?))
}

pub async fn get_collection(tx: &mut Tx, id: Uuid, owner_id: Uuid) -> Result<Option<Collection>, DbError> {
    let sql = format!("select {COLUMNS} from public.collections where id = $1 and owner_id = $2");
    Ok(tx.query_opt(&sql, &[(&id, Type::UUID), (&owner_id, Type::UUID)]).await?.as_ref().map(Collection::from_row))
}

pub async fn count_collections(tx: &mut Tx, owner_id: Uuid) -> Result<i64, DbError> {
    let row =
        tx.query_one("select count(*) from public.collections where owner_id = $1", &[(&owner_id, Type::UUID)]).await?;
    Ok(row.get(0))
}

pub async fn create_collection(tx: &mut Tx, owner_id: Uuid, name: &str) -> Result<Collection, DbError> {
    let sql = format!("insert into public.collections (owner_id, name) values ($1, $2) returning {COLUMNS}");
    Ok(Collection::from_row(&tx.query_one(&sql, &[(&owner_id, Type::UUID), (&name, Type::TEXT)]).await?))
}

/// Renames one of the owner's collections; My Favorites is never renamed
/// (`None`, as for a collection that does not exist).
pub async fn rename_collection(
    tx: &mut Tx,
    id: Uuid,
    owner_id: Uuid,
    name: &str,
) -> Result<Option<Collection>, DbError> {
    let sql = format!(
        "update public.collections set name = $3
          where id = $1 and owner_id = $2 and not is_default_favorites
          returning {COLUMNS}"
    );
    let row = tx.query_opt(&sql, &[(&id, Type::UUID), (&owner_id, Type::UUID), (&name, Type::TEXT)]).await?;
    Ok(row.as_ref().map(Collection::from_row))
}

/// Deletes one of the owner's collections (never My Favorites); true when deleted.
pub async fn delete_collection(tx: &mut Tx, id: Uuid, owner_id: Uuid) -> Result<bool, DbError> {
    let deleted = tx
        .execute(
            "delete from public.collections where id = $1 and owner_id = $2 and not is_default_favorites",
            &[(&id, Type::UUID), (&owner_id, Type::UUID)],
        )
        .await?;
    Ok(deleted == 1)
}

/// Adds a render to a collection; adding it twice is not an error. Returns
/// true when it was newly added. The policy admits only the caller's own
/// collection and render.
pub async fn add_to_collection(tx: &mut Tx, collection_id: Uuid, render_id: Uuid) -> Result<bool, DbError> {
    let added = tx
        .execute(
            "insert into public.collection_items (collection_id, render_id) values ($1, $2)
             on conflict (collection_id, render_id) do nothing",
            &[(&collection_id, Type::UUID), (&render_id, Type::UUID)],
        )
        .await?;
    Ok(added == 1)
}

/// Removes a render from a collection; true when it was there.
pub async fn remove_from_collection(tx: &mut Tx, collection_id: Uuid, render_id: Uuid) -> Result<bool, DbError> {
    let removed = tx
        .execute(
            "delete from public.collection_items where collection_id = $1 and render_id = $2",
            &[(&collection_id, Type::UUID), (&render_id, Type::UUID)],
        )
        .await?;
    Ok(removed == 1)
}

/// The render ids of a collection, most recently added first.
pub async fn list_collection_items(tx: &mut Tx, collection_id: Uuid) -> Result<Vec<Uuid>, DbError> {
    let rows = tx
        .query(
            "select render_id from public.collection_items where collection_id = $1
              order by added_at desc, render_id desc",
            &[(&collection_id, Type::UUID)],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Flips a render in or out of the caller's My Favorites in one statement;
/// returns the new state, or `None` when the caller has no such render.
pub async fn toggle_favorite(tx: &mut Tx, owner_id: Uuid, render_id: Uuid) -> Result<Option<bool>, DbError> {
    let row = tx
        .query_one(
            "with fav as (select (public.ensure_default_favorites()).id),
                  target as (select r.id from public.renders r where r.id = $2 and r.owner_id = $1),
                  removed as (
                    delete from public.collection_items ci using fav, target
                     where ci.collection_id = fav.id and ci.render_id = target.id
                    returning 1),
                  added as (
                    insert into public.collection_items (collection_id, render_id)
                    select fav.id, target.id from fav, target
                     where not exists (select 1 from removed)
                    on conflict do nothing
                    returning 1)
             select exists(select 1 from target) as found, exists(select 1 from added) as favorite",
            &[(&owner_id, Type::UUID), (&render_id, Type::UUID)],
        )
        .await?;
    let found: bool = row.get("found");
    Ok(found.then(|| row.get("favorite")))
}

/// Serializes the owner's collection writes until the transaction ends (a
/// transaction-scoped advisory lock keyed on the owner), so that a cap or
/// duplicate-name check and the write it guards cannot interleave with a
/// concurrent request of the same user. Other users never wait on it (a hash
/// collision only makes two owners share a lock).
pub async fn lock_owner_collections(tx: &mut Tx, owner_id: Uuid) -> Result<(), DbError> {
    tx.query(
        "select pg_advisory_xact_lock(hashtextextended('collections:' || $1::text, 0))",
        &[(&owner_id, Type::UUID)],
    )
    .await?;
    Ok(())
}

/// Whether another of the owner's collections (any but `except`) already has
/// this name, ignoring case and surrounding spaces.
pub async fn name_taken(tx: &mut Tx, owner_id: Uuid, name: &str, except: Option<Uuid>) -> Result<bool, DbError> {
    let row = tx
        .query_one(
            "select exists(select 1 from public.collections
                            where owner_id = $1 and lower(btrim(name)) = lower(btrim($2))
                              and ($3::uuid is null or id <> $3))",
            &[(&owner_id, Type::UUID), (&name, Type::TEXT), (&except, Type::UUID)],
        )
        .await?;
    Ok(row.get(0))
}

/// What adding a render to a collection would meet, in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemSlot {
    /// The collection is the owner's.
    pub collection_found: bool,
    /// The render is the owner's.
    pub render_found: bool,
    /// The render is already in the collection.
    pub present: bool,
    /// Items the collection holds now.
    pub item_count: i64,
}

pub async fn item_slot(tx: &mut Tx, owner_id: Uuid, collection_id: Uuid, render_id: Uuid) -> Result<ItemSlot, DbError> {
    let row = tx
        .query_one(
            "select exists(select 1 from public.collections where id = $2 and owner_id = $1) as collection_found,
                    exists(select 1 from public.renders where id = $3 and owner_id = $1) as render_found,
                    exists(select 1 from public.collection_items
                            where collection_id = $2 and render_id = $3) as present,
                    (select count(*) from public.collection_items where collection_id = $2) as item_count",
            &[(&owner_id, Type::UUID), (&collection_id, Type::UUID), (&render_id, Type::UUID)],
        )
        .await?;
    Ok(ItemSlot {
        collection_found: row.get("collection_found"),
        render_found: row.get("render_found"),
        present: row.get("present"),
        item_count: row.get("item_count"),
    })
}
