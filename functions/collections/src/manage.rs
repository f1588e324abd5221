//! Listing, creating, renaming and deleting collections.
//!
//! Names are unique per user, ignoring case and surrounding spaces (My
//! Favorites included): two collections a user cannot tell apart in a menu
//! help nobody, so a clash is 409 `RESOURCE_CONFLICT`. Creates and renames
//! take the owner's collection lock first, so the cap and the name check
//! hold under concurrent requests.

use crate::bodies;
use crate::views::{CollectionListView, CollectionView};
use crate::MAX_COLLECTIONS;
use shared::app::Services;
use shared::auth::VerifiedUser;
use shared::http::{self, ApiError, Body, CacheControl, ErrorCode, Request, Response, StatusCode};
use shared::repositories::collections::{self as repo, CollectionSummary, CreateOutcome};
use uuid::Uuid;

pub async fn list(services: &Services, user: &VerifiedUser, request_id: &str) -> Result<Response<Body>, ApiError> {
    let tx = services.db.as_user(user).await?;
    // A user who somehow lacks My Favorites gets it back here, once, however
    // many requests race (the database function converges on one row).
    let collections = repo::list_collections(tx, user.user_id()).await?;
    let items = collections.iter().map(|summary| CollectionView::new(summary, &services.storage)).collect();
    Ok(http::ok(request_id, &CollectionListView { items }, CacheControl::PrivateNoStore))
}

pub async fn create(
    services: &Services,
    user: &VerifiedUser,
    request: &Request,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let name = bodies::name_from(request)?;
    let owner_id = user.user_id();
    let mut tx = services.db.as_user(user).await?;
    repo::lock_owner_collections(&mut tx, owner_id).await?;
    let collection = match repo::create_collection(tx, owner_id, &name, MAX_COLLECTIONS).await? {
        CreateOutcome::Created(collection) => collection,
        CreateOutcome::TooMany => return Err(too_many()),
        CreateOutcome::NameTaken => return Err(name_taken()),
    };
    let summary = CollectionSummary { collection, item_count: 0, cover_image_path: None, cover_thumb_path: None };
    let view = CollectionView::new(&summary, &services.storage);
    Ok(http::ok_with_status(request_id, StatusCode::CREATED, &view, CacheControl::PrivateNoStore))
}

pub async fn rename(
    services: &Services,
    user: &VerifiedUser,
    id: Uuid,
    request: &Request,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let name = bodies::name_from(request)?;
    let owner_id = user.user_id();
    let mut tx = services.db.as_user(user).await?;
    repo::lock_owner_collections(&mut tx, owner_id).await?;
    let collection =
        repo::get_collection(&mut tx, id, owner_id).await?.ok_or_else(|| ApiError::not_found("collection"))?;
    if collection.is_default_favorites {
        return Err(ApiError::validation("My Favorites cannot be renamed"));
    }
    if repo::name_taken(&mut tx, owner_id, &name, Some(id)).await? {
        return Err(name_taken());
    }
    repo::rename_collection(&mut tx, id, owner_id, &name).await?.ok_or_else(|| ApiError::not_found("collection"))?;
    let summary =
        repo::get_collection_summary(&mut tx, id, owner_id).await?.ok_or_else(|| ApiError::not_found("collection"))?;
    tx.commit().await?;
    Ok(http::ok(request_id, &CollectionView::new(&summary, &services.storage), CacheControl::PrivateNoStore))
}

pub async fn delete(
    services: &Services,
    user: &VerifiedUser,
    id: Uuid,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let owner_id = user.user_id();
    let mut tx = services.db.as_user(user).await?;
    let collection =
        repo::get_collection(&mut tx, id, owner_id).await?.ok_or_else(|| ApiError::not_found("collection"))?;
    if collection.is_default_favorites {
        return Err(ApiError::validation("My Favorites cannot be deleted"));
    }
    // Its items go by cascade; the renders themselves stay.
    repo::delete_collection(&mut tx, id, owner_id).await?;
    tx.commit().await?;
    Ok(http::empty(request_id))
}

fn too_many() -> ApiError {
    ApiError::conflict(
        ErrorCode::ResourceConflict,
        format!("you can have at most {MAX_COLLECTIONS} collections; delete one to create another"),
    )
    .with_details(serde_json::json!({ "limit": MAX_COLLECTIONS }))
}

fn name_taken() -> ApiError {
    ApiError::conflict(ErrorCode::ResourceConflict, "you already have a collection with this name")
        .with_details(serde_json::json!({ "name": "is already used by another of your collections" }))
}
