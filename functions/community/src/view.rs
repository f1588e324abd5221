//! The JSON shape of `GET /community`: an allow-list of fields, so nothing
//! the feed might carry in future leaks by being serialized wholesale.

use serde::Serialize;
use shared::repositories::community::{ApplySettings, CommunityCollection, CommunityItem};
use shared::storage::Storage;
use uuid::Uuid;

#[derive(Debug, Serialize)]
pub struct CommunityView {
    pub items: Vec<CollectionView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionView {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub is_featured: bool,
    pub items: Vec<ItemView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemView {
    pub id: Uuid,
    pub image_url: String,
    /// Always the four keys `{mode, roomType, style, prompt}`, null when unset.
    pub apply_settings: ApplySettings,
}

impl CommunityView {
    pub fn new(collections: &[CommunityCollection], storage: &Storage) -> Self {
        let items = collections
            .iter()
            .filter_map(|collection| {
                let items: Vec<ItemView> =
                    collection.items.iter().filter_map(|item| ItemView::new(item, storage)).collect();
                // As in the feed itself, an empty shelf is not shown.
                (!items.is_empty()).then(|| CollectionView {
                    id: collection.id,
                    title: collection.title.clone(),
                    description: collection.description.clone(),
                    is_featured: collection.is_featured,
                    items,
                })
            })
            .collect();
        CommunityView { items }
    }
}

impl ItemView {
    /// `None` for an item with no image to show (the feed already leaves out
    /// deleted renders; this guards against a row with neither source).
    fn new(item: &CommunityItem, storage: &Storage) -> Option<Self> {
        let image_url = match (&item.image_path, &item.external_image_url) {
            (Some(path), _) => storage.public_url(path),
            (None, Some(url)) => url.clone(),
            (None, None) => return None,
        };
        Some(ItemView {
            id: item.id,
            image_url,
            apply_settings: ApplySettings::from_stored(item.apply_settings.as_ref()),
        })
    }
}
