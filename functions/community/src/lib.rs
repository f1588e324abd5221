//! `GET /api/v1/community`: the curated public gallery. Anyone may read it;
//! a token, if sent, is neither required nor read, so the answer is the same
//! for everyone and may sit in a shared cache for five minutes.
//!
//! Read as `anon` through `public.community_feed()` (see the repository):
//! drafts are hidden by policy, and a render-backed item yields only its
//! cover image, so owner, job and the render's prompt cannot reach the page.

mod view;

use shared::app::Services;
use shared::http::{self, allow, api_segments, ApiError, Body, CacheControl, Method, Request, Response};
use shared::repositories::community;
pub use view::{CollectionView, CommunityView, ItemView};

/// Curation changes rarely; five minutes of staleness is acceptable.
pub const CACHE: CacheControl = CacheControl::Public { max_age_seconds: 300 };

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, route(services, &request, &request_id)).await
}

async fn route(services: &Services, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
    match api_segments(request.uri().path()).as_deref() {
        Some(["community"]) => allow(request.method(), vec![(Method::GET, ())])?,
        _ => return Err(ApiError::not_found("route")),
    }
    // Anonymous even when a token is sent: everyone gets the same page.
    let tx = services.db.as_anon().await?;
    let collections = community::list_community(tx).await?;
    Ok(http::ok(request_id, &CommunityView::new(&collections, &services.storage), CACHE))
}
