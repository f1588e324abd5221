//! Collections as the API shows them: camelCase JSON, absolute image URLs.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::repositories::collections::CollectionSummary;
use shared::storage::Storage;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CollectionView {
    pub id: Uuid,
    pub name: String,
    pub is_default_favorites: bool,
    pub item_count: i64,
    /// The cover image of the most recently added render; null when empty.
    pub cover_image_url: Option<String>,
    /// That cover's WebP thumbnail; null when empty or not made yet.
    pub cover_thumb_url: Option<String>,
    #[serde(serialize_with = "shared::views::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl CollectionView {
    pub fn new(summary: &CollectionSummary, storage: &Storage) -> Self {
        let collection = &summary.collection;
        CollectionView {
            id: collection.id,
            name: collection.name.clone(),
            is_default_favorites: collection.is_default_favorites,
            item_count: summary.item_count,
            cover_image_url: summary.cover_image_path.as_deref().map(|path| storage.public_url(path)),
            cover_thumb_url: summary.cover_thumb_path.as_deref().map(|path| storage.public_url(path)),
            created_at: collection.created_at,
        }
    }
}

/// `GET /collections`: unpaged (a user has at most `MAX_COLLECTIONS`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CollectionListView {
    pub items: Vec<CollectionView>,
}

/// `POST /favorites/toggle`: whether the render is now in My Favorites.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FavoriteView {
    pub is_favorite: bool,
}
