//! Route group `collections` (API.md): the caller's collections with My
//! Favorites first, creating, renaming and deleting them, their render
//! items, and the favourite toggle.

mod bodies;
mod favorites;
mod items;
mod manage;
mod views;

use shared::app::Services;
use shared::http::{self, allow, api_segments, path_uuid, ApiError, Body, Method, Request, Response};
use uuid::Uuid;

/// Collections per user, My Favorites included. Beyond this a create is
/// answered 409 `RESOURCE_CONFLICT` (not 400: the request is well formed and
/// succeeds once the user deletes a collection; not 402: no plan lifts it).
pub const MAX_COLLECTIONS: i64 = 100;

/// Renders per collection, My Favorites included; beyond it an add is 409
/// `RESOURCE_CONFLICT` for the same reasons. Adding a render already there
/// is never refused (adds are idempotent).
pub const MAX_ITEMS_PER_COLLECTION: i64 = 1000;

enum Route {
    List,
    Create,
    Rename(Uuid),
    Delete(Uuid),
    Items(Uuid),
    AddItem(Uuid, Uuid),
    RemoveItem(Uuid, Uuid),
    ToggleFavorite,
}

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, route(services, &request, &request_id)).await
}

/// Which route a request names; a known path with another method is a 405,
/// an id that is not a UUID a 404 (it cannot exist).
fn match_route(request: &Request) -> Result<Route, ApiError> {
    let method = request.method();
    match api_segments(request.uri().path()).as_deref() {
        Some(["collections"]) => allow(method, vec![(Method::GET, Route::List), (Method::POST, Route::Create)]),
        Some(["collections", id]) => {
            let route = allow::<fn(Uuid) -> Route>(
                method,
                vec![(Method::PATCH, Route::Rename), (Method::DELETE, Route::Delete)],
            )?;
            Ok(route(path_uuid(id, "collection")?))
        }
        Some(["collections", id, "items"]) => {
            allow(method, vec![(Method::GET, ())])?;
            Ok(Route::Items(path_uuid(id, "collection")?))
        }
        Some(["collections", id, "items", render_id]) => {
            let route = allow::<fn(Uuid, Uuid) -> Route>(
                method,
                vec![(Method::PUT, Route::AddItem), (Method::DELETE, Route::RemoveItem)],
            )?;
            Ok(route(path_uuid(id, "collection")?, path_uuid(render_id, "render")?))
        }
        Some(["favorites", "toggle"]) => allow(method, vec![(Method::POST, Route::ToggleFavorite)]),
        _ => Err(ApiError::not_found("route")),
    }
}

async fn route(services: &Services, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
    let route = match_route(request)?;
    let user = services.authenticate(request).await?;
    match route {
        Route::List => manage::list(services, &user, request_id).await,
        Route::Create => manage::create(services, &user, request, request_id).await,
        Route::Rename(id) => manage::rename(services, &user, id, request, request_id).await,
        Route::Delete(id) => manage::delete(services, &user, id, request_id).await,
        Route::Items(id) => items::list(services, &user, id, request, request_id).await,
        Route::AddItem(id, render_id) => items::add(services, &user, id, render_id, request_id).await,
        Route::RemoveItem(id, render_id) => items::remove(services, &user, id, render_id, request_id).await,
        Route::ToggleFavorite => favorites::toggle(services, &user, request, request_id).await,
    }
}
