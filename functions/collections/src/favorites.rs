//! `POST /favorites/toggle`: puts a render in My Favorites or takes it out.

use crate::bodies;
use crate::items::collection_full;
use crate::views::FavoriteView;
use crate::MAX_ITEMS_PER_COLLECTION;
use shared::app::Services;
use shared::auth::VerifiedUser;
use shared::http::{self, ApiError, Body, CacheControl, Request, Response};
use shared::repositories::collections::{self as repo, ToggleOutcome};

pub async fn toggle(
    services: &Services,
    user: &VerifiedUser,
    request: &Request,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let render_id = bodies::render_id_from(request)?;
    let owner_id = user.user_id();
    let mut tx = services.db.as_user(user).await?;
    // The owner's collection lock serializes toggles (two quick ones apply
    // one after the other, each answering the state it left) and keeps the
    // cap; My Favorites is recreated if it is somehow missing.
    let favorites = repo::lock_and_ensure_favorites(&mut tx, owner_id).await?;
    let outcome = repo::toggle_favorite(tx, owner_id, favorites.id, render_id, MAX_ITEMS_PER_COLLECTION).await?;
    let is_favorite = match outcome {
        ToggleOutcome::Toggled(is_favorite) => is_favorite,
        // Another user's render is not found, as a missing one.
        ToggleOutcome::RenderNotFound => return Err(ApiError::not_found("render")),
        ToggleOutcome::Full => return Err(collection_full()),
    };
    Ok(http::ok(request_id, &FavoriteView { is_favorite }, CacheControl::PrivateNoStore))
}
