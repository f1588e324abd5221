//! The curated public gallery. Reads go through `public.community_feed()`, a
//! narrow security-definer function: anonymous callers get published items
//! and the image of a render's cover variant, never the render's owner,
//! prompt or job, and without a bypass-RLS connection.

use crate::config::{room_type, style, Mode};
use crate::db::{DbError, Row, Tx};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

mod admin;
pub use admin::{
    create_collection, create_item, delete_collection, delete_item, update_collection, update_item, AdminCollection,
    AdminItem, CollectionPatch, CreatedItem, ItemPatch, ItemSource, NewCollection, NewItem,
};

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

const FEED_SQL: &str = "select collection_id, title, description, is_featured, item_id, image_path,
                               external_image_url, apply_settings
                          from public.community_feed()";

/// Published collections, featured first then by `order_index`, each with its
/// items in order. Items whose render was deleted are absent. The whole
/// transaction: the read and its COMMIT go in one flight, so the public page
/// costs one round trip.
pub async fn list_community(tx: Tx) -> Result<Vec<CommunityCollection>, DbError> {
    Ok(group_feed(&tx.query_and_commit(FEED_SQL, &[]).await?))
}

/// Folds the feed's rows (one per item, collections contiguous) into
/// collections with their items.
fn group_feed(rows: &[Row]) -> Vec<CommunityCollection> {
    let mut collections: Vec<CommunityCollection> = Vec::new();
    for row in rows {
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
    collections
}

/// The prefill a community item offers ("try this look"): exactly the four
/// settings the front end applies. Stored as jsonb in
/// `community_items.apply_settings`; admin writes store this shape, but older
/// rows follow the spec's wider shape (`aspectRatio`, `quality`, `variants`)
/// or snake_case keys, so reads go through [`ApplySettings::from_stored`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplySettings {
    pub mode: Option<Mode>,
    pub room_type: Option<&'static str>,
    pub style: Option<&'static str>,
    pub prompt: Option<String>,
}

impl ApplySettings {
    /// Reads stored settings leniently. A value the front end could not apply
    /// (a mode, room type or style no longer offered) becomes null rather
    /// than breaking the page; keys other than the four are dropped.
    pub fn from_stored(stored: Option<&Value>) -> Self {
        let Some(Value::Object(map)) = stored else { return Self::default() };
        let text = |keys: &[&str]| keys.iter().find_map(|key| map.get(*key).and_then(Value::as_str)).map(str::trim);
        let id = |keys: &[&str]| text(keys).map(str::to_ascii_lowercase);
        ApplySettings {
            mode: id(&["mode"]).as_deref().and_then(Mode::parse),
            room_type: id(&["roomType", "room_type"]).as_deref().and_then(room_type).map(|preset| preset.id),
            style: id(&["style"]).as_deref().and_then(style).map(|preset| preset.id),
            prompt: text(&["prompt"]).filter(|prompt| !prompt.is_empty()).map(str::to_owned),
        }
    }

    /// The jsonb written for these settings (always the four camelCase keys).
    pub fn to_stored(&self) -> Value {
        serde_json::json!({
            "mode": self.mode,
            "roomType": self.room_type,
            "style": self.style,
            "prompt": self.prompt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_settings_are_normalised_to_the_four_keys() {
        let stored = json!({"mode": "Staging", "room_type": "bedroom", "style": "japandi",
                            "prompt": "  warm light ", "aspectRatio": "16:9", "quality": "hd", "variants": 4});
        let settings = ApplySettings::from_stored(Some(&stored));
        assert_eq!(
            serde_json::to_value(&settings).unwrap(),
            json!({"mode": "staging", "roomType": "bedroom", "style": "japandi", "prompt": "warm light"})
        );
        assert_eq!(settings.to_stored(), serde_json::to_value(&settings).unwrap());
    }

    #[test]
    fn unknown_or_missing_values_become_null() {
        let empty = json!({"mode": null, "roomType": null, "style": null, "prompt": null});
        for stored in [None, Some(json!(null)), Some(json!([1])), Some(json!({"mode": "paint", "style": 3}))] {
            let settings = ApplySettings::from_stored(stored.as_ref());
            assert_eq!(serde_json::to_value(&settings).unwrap(), empty);
        }
    }
}
