//! The caller's data, theirs:
//! - `DELETE /api/v1/me`: all of it, gone (`shared::flows::erase`). 204 when
//!   everything is deleted (again on a second call); 202 when more objects
//!   are left than one call deletes, which the sweeper finishes; 503 when
//!   storage or Replicate failed half-way (a retry goes on from there).
//! - `GET /api/v1/me/export[?cursor=&limit=]`: all of it, as JSON pages
//!   ([`export`]).
//!
//! The Supabase Auth user is deleted last when the function holds the
//! service-role key (README, "Your data: delete and export"). Tokens issued
//! before verify until they expire and reach an account with no rows,
//! where anything that would create one answers 401.

mod export;

use serde::Serialize;
use shared::app::Services;
use shared::auth::VerifiedUser;
use shared::flows::erase::{erase_account, EraseError, Erasure, OBJECTS_PER_CALL};
use shared::http::list_params;
use shared::http::{self, allow, api_segments, ApiError, Body, CacheControl, Method, Request, Response, StatusCode};
use shared::repositories::export::export_page;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErasureContinuing {
    status: &'static str,
    /// Objects (and predictions) the sweeper still has to delete.
    left: i64,
}

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, route(services, &request, &request_id)).await
}

async fn route(services: &Services, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
    let exporting = match api_segments(request.uri().path()).as_deref() {
        Some(["me"]) => allow(request.method(), vec![(Method::DELETE, false)])?,
        Some(["me", "export"]) => allow(request.method(), vec![(Method::GET, true)])?,
        _ => return Err(ApiError::not_found("route")),
    };
    let user = services.authenticate(request).await?;
    shared::telemetry::record_user(user.user_id());
    if exporting {
        return export(services, &user, request, request_id).await;
    }
    match erase_account(services, user.user_id(), OBJECTS_PER_CALL).await {
        Ok(Erasure::Finished) => {
            tracing::info!("account erased");
            Ok(http::empty(request_id))
        }
        Ok(Erasure::Continuing { left }) => {
            tracing::info!(left, "account erasure continues in the sweeper");
            let body = ErasureContinuing { status: "in_progress", left };
            Ok(http::ok_with_status(request_id, StatusCode::ACCEPTED, &body, CacheControl::PrivateNoStore))
        }
        Err(EraseError::Database(error)) => Err(error.into()),
        Err(EraseError::Storage(error)) => Err(error.into()),
        Err(EraseError::Replicate(error)) => {
            tracing::warn!(%error, "canceling a prediction of an erased account failed");
            Err(ApiError::unavailable())
        }
        Err(EraseError::Auth(error)) => {
            tracing::warn!(%error, "deleting the Auth user of an erased account failed");
            Err(ApiError::unavailable())
        }
    }
}

async fn export(
    services: &Services,
    user: &VerifiedUser,
    request: &Request,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let page = list_params::page(request)?;
    let tx = services.db.as_user(user).await?;
    let found = export_page(tx, user.user_id(), &page).await?;
    let plan = match &found.head {
        Some(head) => {
            let account = &head.account;
            services.env.plans.resolve(account.price_id.as_deref(), account.has_access, user.is_anonymous()).id.clone()
        }
        None => String::new(),
    };
    let view = export::export_view(&found, user.user_id(), plan, &services.storage).await?;
    Ok(http::ok(request_id, &view, CacheControl::PrivateNoStore))
}
