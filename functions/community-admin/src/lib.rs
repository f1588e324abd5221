//! `/api/v1/admin/community/...`: curating the public gallery. Admin only:
//! admin means `app_metadata.role == "admin"` in a verified token (set by the
//! service, unlike `user_metadata`, which users edit themselves).
//!
//! | method and path                                   | body                                                    | answer |
//! | ------------------------------------------------- | ------------------------------------------------------- | ------ |
//! | `POST   /admin/community/collections`             | `{title, description?, isFeatured?, orderIndex?, isPublished?}` | 201 collection (a draft unless `isPublished`) |
//! | `PATCH  /admin/community/collections/{id}`        | any non-empty subset of the above; `description: null` clears | 200 collection |
//! | `DELETE /admin/community/collections/{id}`        | -                                                       | 204; its items go too, renders stay |
//! | `POST   /admin/community/collections/{id}/items`  | `{renderId` xor `externalImageUrl, applySettings?, orderIndex?}` | 201 item |
//! | `PATCH  /admin/community/items/{id}`              | `{applySettings?, orderIndex?}` (non-empty); `applySettings: null` clears | 200 item |
//! | `DELETE /admin/community/items/{id}`              | -                                                       | 204 |
//!
//! Errors, in the order they are decided: unknown path 404, wrong method
//! 405, no or bad token 401, not an admin 403 `FORBIDDEN`, malformed or
//! unknown id 404 (an unknown `renderId` in the body too, as the codebase
//! answers any missing referenced row), invalid body 400 `VALIDATION_ERROR`
//! with `details: {field: message}` (nested as `applySettings.mode`).
//! Limits: title 1..120 chars, description <= 1000, `externalImageUrl` an
//! https URL of a public host <= 2048 chars, `orderIndex` within +-1,000,000,
//! `applySettings` = `{mode (required, a known mode), roomType?, style?
//! (known presets or null), prompt? (<= 1000 chars)}` and nothing else.
//!
//! The tables are writable by `service_role` only; [`Admin`] is the one way
//! this crate opens such a transaction, and it exists only after the check.

mod input;
mod view;

use shared::app::Services;
use shared::auth::VerifiedUser;
use shared::db::Tx;
use shared::http::{
    self, allow, api_segments, path_uuid, ApiError, Body, CacheControl, Method, Request, Response, StatusCode,
};
use shared::repositories::community::{self as repo, CreatedItem, NewCollection};
use view::{CollectionView, ItemView};

#[derive(Clone, Copy)]
enum Action {
    CreateCollection,
    UpdateCollection,
    DeleteCollection,
    CreateItem,
    UpdateItem,
    DeleteItem,
}

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, route(services, &request, &request_id)).await
}

async fn route(services: &Services, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
    use Action::*;
    let method = request.method();
    let (action, id) = match api_segments(request.uri().path()).as_deref() {
        Some(["admin", "community", "collections"]) => (allow(method, vec![(Method::POST, CreateCollection)])?, None),
        Some(["admin", "community", "collections", id]) => {
            (allow(method, vec![(Method::PATCH, UpdateCollection), (Method::DELETE, DeleteCollection)])?, Some(*id))
        }
        Some(["admin", "community", "collections", id, "items"]) => {
            (allow(method, vec![(Method::POST, CreateItem)])?, Some(*id))
        }
        Some(["admin", "community", "items", id]) => {
            (allow(method, vec![(Method::PATCH, UpdateItem), (Method::DELETE, DeleteItem)])?, Some(*id))
        }
        _ => return Err(ApiError::not_found("route")),
    };
    let admin = Admin::authenticate(services, request).await?;
    let id = id.map(|id| path_uuid(id, "community resource")).transpose()?;
    let storage = &services.storage;
    match (action, id) {
        (CreateCollection, _) => {
            let input = input::new_collection(request)?;
            let new = NewCollection {
                title: &input.title,
                description: input.description.as_deref(),
                is_featured: input.is_featured,
                order_index: input.order_index,
                is_published: input.is_published,
            };
            let mut tx = admin.tx().await?;
            let created = repo::create_collection(&mut tx, &new).await?;
            tx.commit().await?;
            admin.audit("created community collection", created.id);
            Ok(reply(request_id, StatusCode::CREATED, &CollectionView::new(created)))
        }
        (UpdateCollection, Some(id)) => {
            let patch = input::collection_patch(request)?;
            let mut tx = admin.tx().await?;
            let updated = repo::update_collection(&mut tx, id, &patch).await?.ok_or_else(collection_not_found)?;
            tx.commit().await?;
            admin.audit("updated community collection", id);
            Ok(reply(request_id, StatusCode::OK, &CollectionView::new(updated)))
        }
        (DeleteCollection, Some(id)) => {
            let mut tx = admin.tx().await?;
            let deleted = repo::delete_collection(&mut tx, id).await?;
            tx.commit().await?;
            deleted.then_some(()).ok_or_else(collection_not_found)?;
            admin.audit("deleted community collection", id);
            Ok(http::empty(request_id))
        }
        (CreateItem, Some(collection_id)) => {
            let new = input::new_item(request)?;
            let mut tx = admin.tx().await?;
            let created = match repo::create_item(&mut tx, collection_id, &new).await? {
                CreatedItem::Created(item) => item,
                CreatedItem::CollectionMissing => return Err(collection_not_found()),
                CreatedItem::RenderMissing => {
                    return Err(ApiError::not_found("render")
                        .with_details(serde_json::json!({"renderId": "no render with this id and a cover image"})))
                }
            };
            tx.commit().await?;
            admin.audit("created community item", created.id);
            Ok(reply(request_id, StatusCode::CREATED, &ItemView::new(created, storage)))
        }
        (UpdateItem, Some(id)) => {
            let patch = input::item_patch(request)?;
            let mut tx = admin.tx().await?;
            let updated = repo::update_item(&mut tx, id, &patch).await?.ok_or_else(item_not_found)?;
            tx.commit().await?;
            admin.audit("updated community item", id);
            Ok(reply(request_id, StatusCode::OK, &ItemView::new(updated, storage)))
        }
        (DeleteItem, Some(id)) => {
            let mut tx = admin.tx().await?;
            let deleted = repo::delete_item(&mut tx, id).await?;
            tx.commit().await?;
            deleted.then_some(()).ok_or_else(item_not_found)?;
            admin.audit("deleted community item", id);
            Ok(http::empty(request_id))
        }
        // Every other action was matched with an id above.
        (_, None) => Err(ApiError::not_found("route")),
    }
}

fn reply<T: serde::Serialize>(request_id: &str, status: StatusCode, data: &T) -> Response<Body> {
    http::ok_with_status(request_id, status, data, CacheControl::PrivateNoStore)
}

fn collection_not_found() -> ApiError {
    ApiError::not_found("community collection")
}

fn item_not_found() -> ApiError {
    ApiError::not_found("community item")
}

/// A caller proven to be an admin. Holding one is the only way to get the
/// RLS-bypassing transaction the community tables need for writes.
struct Admin<'a> {
    services: &'a Services,
    user: VerifiedUser,
}

impl<'a> Admin<'a> {
    async fn authenticate(services: &'a Services, request: &Request) -> Result<Self, ApiError> {
        let user = services.authenticate(request).await?;
        if !user.is_admin() {
            return Err(ApiError::forbidden("curating the community gallery is for admins"));
        }
        Ok(Admin { services, user })
    }

    async fn tx(&self) -> Result<Tx, ApiError> {
        Ok(self.services.db.as_service().await?)
    }

    /// Curation changes the public page: keep who did what.
    fn audit(&self, action: &str, id: uuid::Uuid) {
        tracing::info!(admin = %self.user.user_id(), %id, "{action}");
    }
}
