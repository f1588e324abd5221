//! The curated public gallery. Reads go through `public.community_feed()`, a
//! narrow security-definer function: anonymous callers get published items
//! and the image of a render's cover variant, never the render's owner,
//! prompt or job, and without a bypass-RLS connection.

use crate::db::{DbError, Tx};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct CommunityCollection {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub is_featured: bool,
    pub items: Vec<CommunityItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommunityItem {
    pub id: Uuid,
    /// Public-bucket key of a render's cover image (render-backed items).
    pub image_path: Option<String>,
    /// An https URL (external items).
    pub external_image_url: Option<String>,
    pub apply_settings: Option<Value>,
}

/// Published collections, featured first then by `order_index`, each with its
/// items in order. Items whose render was deleted are absent.
pub async fn list_community(tx: &mut Tx) -> Result<Vec<CommunityCollection>, DbError> {
    let rows = tx
        .query(
            "select collection_id, title, description, is_featured, item_id, image_path,
                    external_image_url, apply_settings
               from public.community_feed()",
            &[],
        )
        .await?;
    let mut collections: Vec<CommunityCollection> = Vec::new();
    for row in &rows {
        let collection_id: Uuid = row.get("collection_id");
        if collections.last().is_none_or(|c| c.id != collection_id) {
            collections.push(CommunityCollection {
                id: collection_id,
                title: row.get("title"),
                description: row.get("description"),
                is_featured: row.get("is_featured"),
                items: Vec::new(),
            });
        }
        let item_id: Option<Uuid> = row.get("item_id");
        if let (Some(id), Some(collection)) = (item_id, collections.last_mut()) {
            collection.items.push(CommunityItem {
                id,
                image_path: row.get("image_path"),
                external_image_url: row.get("external_image_url"),
                apply_settings: row.get("apply_settings"),
            });
        }
    }
    Ok(collections)
}
