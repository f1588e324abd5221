//! Route group `renders` (API.md): the caller's gallery, one render with all
//! its variants, and deleting a render with its stored images. The item
//! shapes (`shared::views`) and list parameters (`shared::http::list_params`)
//! are shared with `GET /collections/{id}/items`.

mod delete;
mod read;

use shared::app::Services;
use shared::http::{self, allow, api_segments, path_uuid, ApiError, Body, Method, Request, Response};
use uuid::Uuid;

enum Route {
    List,
    Get(Uuid),
    Delete(Uuid),
}

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, route(services, &request, &request_id)).await
}

/// Which route a request names; a known path with another method is a 405,
/// an id that is not a UUID a 404 (it cannot exist).
fn match_route(request: &Request) -> Result<Route, ApiError> {
    match api_segments(request.uri().path()).as_deref() {
        Some(["renders"]) => allow(request.method(), vec![(Method::GET, Route::List)]),
        Some(["renders", id]) => {
            let route = allow::<fn(Uuid) -> Route>(
                request.method(),
                vec![(Method::GET, Route::Get), (Method::DELETE, Route::Delete)],
            )?;
            Ok(route(path_uuid(id, "render")?))
        }
        _ => Err(ApiError::not_found("route")),
    }
}

async fn route(services: &Services, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
    let route = match_route(request)?;
    let user = services.authenticate(request).await?;
    match route {
        Route::List => read::list(services, &user, request, request_id).await,
        Route::Get(id) => read::get(services, &user, id, request_id).await,
        Route::Delete(id) => delete::delete(services, &user, id, request_id).await,
    }
}
