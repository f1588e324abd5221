//! `GET /renders` and `GET /renders/{id}`: reads as the caller, each one
//! statement committed in the same flight (one database round trip).

use crate::query;
use crate::views::{RenderDetailView, RenderPageView};
use shared::app::Services;
use shared::auth::VerifiedUser;
use shared::http::{self, ApiError, Body, CacheControl, Request, Response};
use shared::repositories::renders;
use uuid::Uuid;

pub async fn list(
    services: &Services,
    user: &VerifiedUser,
    request: &Request,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let page = query::page(request)?;
    // A collection of another user needs no check: RLS hides its items, so
    // the filter simply matches nothing.
    let filters = query::filters(request, true)?;
    let tx = services.db.as_user(user).await?;
    let found = renders::list_renders_and_commit(tx, user.user_id(), &filters, &page).await?;
    Ok(http::ok(request_id, &RenderPageView::new(&found, &services.storage), CacheControl::PrivateNoStore))
}

pub async fn get(
    services: &Services,
    user: &VerifiedUser,
    id: Uuid,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let tx = services.db.as_user(user).await?;
    // Another user's render and a missing one look the same: not found.
    let detail = renders::get_render_detail_and_commit(tx, id, user.user_id())
        .await?
        .ok_or_else(|| ApiError::not_found("render"))?;
    Ok(http::ok(request_id, &RenderDetailView::new(&detail, &services.storage), CacheControl::PrivateNoStore))
}
