//! `GET /renders` and `GET /renders/{id}`: reads as the caller, each one
//! statement committed in the same flight (one database round trip).

use shared::app::Services;
use shared::auth::VerifiedUser;
use shared::http::list_params;
use shared::http::{self, ApiError, Body, CacheControl, Request, Response};
use shared::repositories::renders;
use shared::views::{input_images, RenderDetailView, RenderPageView};
use uuid::Uuid;

pub async fn list(
    services: &Services,
    user: &VerifiedUser,
    request: &Request,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let page = list_params::page(request)?;
    // A collection of another user needs no check: RLS hides its items, so
    // the filter simply matches nothing.
    let filters = list_params::filters(request, true)?;
    let tx = services.db.as_user(user).await?;
    let found = renders::list_renders(tx, user.user_id(), &filters, &page).await?;
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
    let detail =
        renders::get_render_detail(tx, id, user.user_id()).await?.ok_or_else(|| ApiError::not_found("render"))?;
    // Signed only now that the database showed the render to its owner.
    let input_paths: Vec<&str> = detail.input_paths.iter().map(String::as_str).collect();
    let inputs = input_images(&services.storage, &input_paths, detail.inputs_expired).await?;
    let view = RenderDetailView::new(&detail, inputs, &services.storage);
    Ok(http::ok(request_id, &view, CacheControl::PrivateNoStore))
}
