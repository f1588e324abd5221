//! The renders of a collection: a page of them, adding one, removing one.

use crate::MAX_ITEMS_PER_COLLECTION;
use shared::app::Services;
use shared::auth::VerifiedUser;
use shared::http::list_params;
use shared::http::{self, ApiError, Body, CacheControl, ErrorCode, Request, Response};
use shared::repositories::{collections as repo, renders as render_repo};
use shared::views::RenderPageView;
use uuid::Uuid;

/// Render items exactly as `GET /renders` pages them (newest render first,
/// `limit`/`cursor`, the same filters), restricted to the collection.
pub async fn list(
    services: &Services,
    user: &VerifiedUser,
    id: Uuid,
    request: &Request,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let page = list_params::page(request)?;
    let filters = list_params::filters(request, false)?;
    let tx = services.db.as_user(user).await?;
    // Unlike the gallery's filter, a collection named in the path is asked
    // about: someone else's is not found, as a missing one.
    let found = render_repo::list_collection_renders(tx, user.user_id(), id, &filters, &page)
        .await?
        .ok_or_else(|| ApiError::not_found("collection"))?;
    Ok(http::ok(request_id, &RenderPageView::new(&found, &services.storage), CacheControl::PrivateNoStore))
}

/// Idempotent: adding a render that is already there answers the same 204.
pub async fn add(
    services: &Services,
    user: &VerifiedUser,
    id: Uuid,
    render_id: Uuid,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let owner_id = user.user_id();
    let mut tx = services.db.as_user(user).await?;
    // Serialized with the owner's other collection writes, so concurrent
    // adds cannot overshoot the cap.
    repo::lock_owner_collections(&mut tx, owner_id).await?;
    let slot = repo::item_slot(&mut tx, owner_id, id, render_id).await?;
    if !slot.collection_found {
        return Err(ApiError::not_found("collection"));
    }
    // Only the caller's own renders; another user's is not found, as a
    // missing one (the insert policy would refuse it as well).
    if !slot.render_found {
        return Err(ApiError::not_found("render"));
    }
    if !slot.present {
        if slot.item_count >= MAX_ITEMS_PER_COLLECTION {
            return Err(collection_full());
        }
        repo::add_to_collection(&mut tx, id, render_id).await?;
    }
    tx.commit().await?;
    Ok(http::empty(request_id))
}

/// Idempotent: removing a render that is not there (or no longer exists)
/// answers the same 204.
pub async fn remove(
    services: &Services,
    user: &VerifiedUser,
    id: Uuid,
    render_id: Uuid,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let owner_id = user.user_id();
    let mut tx = services.db.as_user(user).await?;
    repo::get_collection(&mut tx, id, owner_id).await?.ok_or_else(|| ApiError::not_found("collection"))?;
    repo::remove_from_collection(&mut tx, id, render_id).await?;
    tx.commit().await?;
    Ok(http::empty(request_id))
}

/// The answer to one more item in a full collection.
pub fn collection_full() -> ApiError {
    ApiError::conflict(
        ErrorCode::ResourceConflict,
        format!("a collection holds at most {MAX_ITEMS_PER_COLLECTION} renders; remove one to add another"),
    )
    .with_details(serde_json::json!({ "limit": MAX_ITEMS_PER_COLLECTION }))
}
