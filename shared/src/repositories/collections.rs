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
    /// That render's cover thumbnail, if it has one.
    pub cover_thumb_path: Option<String>,
}

/// A collection with its item count and cover (the stored cover of the most
/// recently added render that has one), one row per collection; callers add
/// the `where`.
const SUMMARY_SELECT: &str = "select c.id, c.owner_id, c.name, c.is_default_favorites, c.created_at,
            (select count(*) from public.collection_items ci where ci.collection_id = c.id) as item_count,
            cover.cover_image_path, cover.cover_thumb_path
       from public.collections c
       left join lateral (
         select r.cover_image_path, r.cover_thumb_path
           from public.collection_items ci
           join public.renders r on r.id = ci.render_id
          where ci.collection_id = c.id and r.cover_image_path is not null
          order by ci.added_at desc, ci.render_id desc
          limit 1) cover on true";

impl CollectionSummary {
    fn from_row(row: &Row) -> Self {
        CollectionSummary {
            collection: Collection::from_row(row),
            item_count: row.get("item_count"),
            cover_image_path: row.get("cover_image_path"),
            cover_thumb_path: row.get("cover_thumb_path"),
        }
    }
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

/// The owner's collections, My Favorites first (made first if it is somehow
/// missing), then oldest first, with item counts and a cover: the PL/pgSQL
/// function `list_collections` (`037_read_functions.sql`, planned once per
/// connection), called as the transaction's only statement and committed in
/// the same flight.
pub async fn list_collections(tx: Tx, owner_id: Uuid) -> Result<Vec<CollectionSummary>, DbError> {
    let rows = tx.query_and_commit("select * from public.list_collections($1)", &[(&owner_id, Type::UUID)]).await?;
    Ok(rows.iter().map(CollectionSummary::from_row).collect())
}

pub async fn get_collection(tx: &mut Tx, id: Uuid, owner_id: Uuid) -> Result<Option<Collection>, DbError> {
    let sql = format!("select {COLUMNS} from public.collections where id = $1 and owner_id = $2");
    Ok(tx.query_opt(&sql, &[(&id, Type::UUID), (&owner_id, Type::UUID)]).await?.as_ref().map(Collection::from_row))
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

/// The owner's collection lock key: a transaction-scoped advisory lock, so
/// it ends with the transaction and other users never wait on it (a hash
/// collision only makes two owners share a lock).
const LOCK_OWNER: &str = "pg_advisory_xact_lock(hashtextextended('collections:' || $1::text, 0))";

/// Serializes the owner's collection writes until the transaction ends, so
/// that a cap or duplicate-name check and the write it guards cannot
/// interleave with a concurrent request of the same user. It must be its own
/// statement, before the checks: a statement's snapshot predates any lock it
/// takes itself.
pub async fn lock_owner_collections(tx: &mut Tx, owner_id: Uuid) -> Result<(), DbError> {
    tx.query(&format!("select {LOCK_OWNER}"), &[(&owner_id, Type::UUID)]).await?;
    Ok(())
}

/// [`lock_owner_collections`] and `ensure_default_favorites()` in one
/// statement: the caller's My Favorites (recreated if missing), with the
/// owner's collection lock held from here on.
pub async fn lock_and_ensure_favorites(tx: &mut Tx, owner_id: Uuid) -> Result<Collection, DbError> {
    let sql = format!(
        "select f.id, f.owner_id, f.name, f.is_default_favorites, f.created_at
           from public.ensure_default_favorites() f cross join {LOCK_OWNER} lock"
    );
    Ok(Collection::from_row(&tx.query_one(&sql, &[(&owner_id, Type::UUID)]).await?))
}

/// What [`create_collection`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    Created(Collection),
    /// The owner already has `max` collections.
    TooMany,
    /// Another of the owner's collections has this name (ignoring case and
    /// surrounding spaces).
    NameTaken,
}

/// Creates a collection unless the owner has `max` already or the name is
/// taken, in one statement committed in the same flight. Race-free only
/// after [`lock_owner_collections`] in the same transaction.
pub async fn create_collection(tx: Tx, owner_id: Uuid, name: &str, max: i64) -> Result<CreateOutcome, DbError> {
    let sql = format!(
        "with state as (
           select (select count(*) from public.collections where owner_id = $1) as n,
                  exists(select 1 from public.collections
                          where owner_id = $1 and lower(btrim(name)) = lower(btrim($2))) as taken
         ), created as (
           insert into public.collections (owner_id, name)
           select $1, $2 from state where state.n < $3 and not state.taken
           returning {COLUMNS}
         )
         select state.n, state.taken, created.* from state left join created on true"
    );
    let rows = tx.query_and_commit(&sql, &[(&owner_id, Type::UUID), (&name, Type::TEXT), (&max, Type::INT8)]).await?;
    let row = rows.first().ok_or(DbError::NotFound)?;
    if row.get::<_, i64>("n") >= max {
        return Ok(CreateOutcome::TooMany);
    }
    if row.get::<_, bool>("taken") {
        return Ok(CreateOutcome::NameTaken);
    }
    Ok(CreateOutcome::Created(Collection::from_row(row)))
}

/// What [`toggle_favorite`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToggleOutcome {
    /// The render is now in My Favorites (true) or out of it (false).
    Toggled(bool),
    /// The caller has no such render.
    RenderNotFound,
    /// Not a favorite, and My Favorites already holds `max` renders.
    Full,
}

/// Flips a render in or out of My Favorites (`favorites_id`, from
/// [`lock_and_ensure_favorites`] in the same transaction, whose lock makes
/// two quick toggles apply one after the other) unless adding it would pass
/// `max` items; one statement committed in the same flight. A delete of the
/// render committed between the statement's look at it and its insert
/// fails the insert's foreign key: the render is gone, and so reported.
pub async fn toggle_favorite(
    tx: Tx,
    owner_id: Uuid,
    favorites_id: Uuid,
    render_id: Uuid,
    max: i64,
) -> Result<ToggleOutcome, DbError> {
    let rows = tx
        .query_and_commit(
            "with target as (select r.id from public.renders r where r.id = $2 and r.owner_id = $1),
                  present as (select 1 from public.collection_items where collection_id = $3 and render_id = $2),
                  n as (select count(*) as c from public.collection_items where collection_id = $3),
                  removed as (
                    delete from public.collection_items ci using target
                     where ci.collection_id = $3 and ci.render_id = target.id
                    returning 1),
                  added as (
                    insert into public.collection_items (collection_id, render_id)
                    select $3, target.id from target, n
                     where not exists (select 1 from present) and n.c < $4
                    on conflict do nothing
                    returning 1)
             select exists(select 1 from target) as found,
                    exists(select 1 from present) as was_favorite,
                    (select c from n) as item_count,
                    exists(select 1 from added) as added",
            &[(&owner_id, Type::UUID), (&render_id, Type::UUID), (&favorites_id, Type::UUID), (&max, Type::INT8)],
        )
        .await;
    let rows = match rows {
        Err(DbError::ForeignKeyViolation { constraint }) if constraint == "collection_items_render_id_fkey" => {
            return Ok(ToggleOutcome::RenderNotFound)
        }
        other => other?,
    };
    let row = rows.first().ok_or(DbError::NotFound)?;
    Ok(if !row.get::<_, bool>("found") {
        ToggleOutcome::RenderNotFound
    } else if row.get::<_, bool>("was_favorite") {
        ToggleOutcome::Toggled(false)
    } else if row.get::<_, bool>("added") || row.get::<_, i64>("item_count") < max {
        ToggleOutcome::Toggled(true)
    } else {
        ToggleOutcome::Full
    })
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
