//! The JSON shapes the admin routes answer with. Admins see what the public
//! page hides (publication, order indexes, render ids) but never render owners.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::repositories::community::{AdminCollection, AdminItem, ApplySettings};
use shared::storage::Storage;
use uuid::Uuid;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionView {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub is_featured: bool,
    pub order_index: i32,
    pub is_published: bool,
    #[serde(serialize_with = "shared::views::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemView {
    pub id: Uuid,
    pub collection_id: Uuid,
    pub render_id: Option<Uuid>,
    pub external_image_url: Option<String>,
    /// What the public page shows; null for a render without a cover image
    /// (such an item is left out of the public page).
    pub image_url: Option<String>,
    pub apply_settings: Option<ApplySettings>,
    pub order_index: i32,
    #[serde(serialize_with = "shared::views::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl CollectionView {
    pub fn new(collection: AdminCollection) -> Self {
        CollectionView {
            id: collection.id,
            title: collection.title,
            description: collection.description,
            is_featured: collection.is_featured,
            order_index: collection.order_index,
            is_published: collection.is_published,
            created_at: collection.created_at,
        }
    }
}

impl ItemView {
    pub fn new(item: AdminItem, storage: &Storage) -> Self {
        let image_url = match (&item.image_path, &item.external_image_url) {
            (Some(path), _) => Some(storage.public_url(path)),
            (None, url) => url.clone(),
        };
        ItemView {
            id: item.id,
            collection_id: item.collection_id,
            render_id: item.render_id,
            external_image_url: item.external_image_url,
            image_url,
            apply_settings: item.apply_settings,
            order_index: item.order_index,
            created_at: item.created_at,
        }
    }
}
