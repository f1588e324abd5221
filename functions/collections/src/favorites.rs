//! `POST /favorites/toggle`: puts a render in My Favorites or takes it out.

use crate::items::ensure_room;
use crate::names;
use crate::views::FavoriteView;
use shared::app::Services;
use shared::auth::VerifiedUser;
use shared::http::{self, ApiError, Body, CacheControl, Request, Response};
use shared::repositories::collections as repo;

pub async fn toggle(
    services: &Services,
    user: &VerifiedUser,
    request: &Request,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let render_id = names::render_id_from(request)?;
    let owner_id = user.user_id();
    let mut tx = services.db.as_user(user).await?;
    // Serialized with the owner's other collection writes: the cap holds,
    // and two quick toggles apply one after the other.
    repo::lock_owner_collections(&mut tx, owner_id).await?;
    // Recreates My Favorites if it is somehow missing.
    let favorites = repo::get_default_favorites(&mut tx).await?;
    let slot = repo::item_slot(&mut tx, owner_id, favorites.id, render_id).await?;
    if !slot.render_found {
        return Err(ApiError::not_found("render"));
    }
    if !slot.present {
        ensure_room(slot.item_count)?;
    }
    let is_favorite =
        repo::toggle_favorite(&mut tx, owner_id, render_id).await?.ok_or_else(|| ApiError::not_found("render"))?;
    tx.commit().await?;
    Ok(http::ok(request_id, &FavoriteView { is_favorite }, CacheControl::PrivateNoStore))
}
