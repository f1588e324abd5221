//! `GET /api/v1/usage[?history=true|false]`: the caller's plan, this UTC
//! calendar month's allowance and use, and whether a new generation would be
//! accepted right now. Read as the user (RLS: own profile, jobs and ledger)
//! in one round trip.

mod view;

use chrono::Utc;
use shared::app::Services;
use shared::http::{self, allow, api_segments, query_param, ApiError, Body, CacheControl, Method, Request, Response};
use shared::repositories::usage;
pub use view::UsageView;

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, route(services, &request, &request_id)).await
}

async fn route(services: &Services, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
    match api_segments(request.uri().path()).as_deref() {
        Some(["usage"]) => allow(request.method(), vec![(Method::GET, ())])?,
        _ => return Err(ApiError::not_found("route")),
    }
    let user = services.authenticate(request).await?;
    let with_history = history_param(request)?;
    let (start, end) = usage::month_period(Utc::now());
    let tx = services.db.as_user(&user).await?;
    let overview = usage::usage_overview(tx, user.user_id(), start, end, with_history).await?;
    let plan = services.env.plans.resolve(overview.price_id.as_deref(), overview.has_access, user.is_anonymous());
    let view = UsageView::new(plan, (start, end), &overview, with_history);
    Ok(http::ok(request_id, &view, CacheControl::PrivateNoStore))
}

/// `history` is a strict boolean: a typo should not silently drop the list.
fn history_param(request: &Request) -> Result<bool, ApiError> {
    match query_param(request, "history").as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::invalid_field("history", "must be true or false")),
    }
}
