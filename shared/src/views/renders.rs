//! Renders as the API shows them: camelCase JSON, absolute image URLs.

use super::inputs::InputImageView;
use super::jobs::VariantView;
use crate::repositories::pagination::Page;
use crate::repositories::renders::{Render, RenderDetail, RenderListItem};
use crate::storage::Storage;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A gallery card (`GET /renders`, `GET /collections/{id}/items`). Borrows
/// the render's text rather than copying it for the one serialization.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RenderItemView<'a> {
    pub id: Uuid,
    pub job_id: Uuid,
    pub mode: &'a str,
    pub room_type: Option<&'a str>,
    pub style: Option<&'a str>,
    pub cover_variant: i32,
    /// Null only when the cover variant's row is missing.
    pub cover_image_url: Option<String>,
    /// The cover's WebP thumbnail, what a card should show; null for a
    /// render made before thumbnails until the sweeper's backfill reaches it.
    pub cover_thumb_url: Option<String>,
    pub variant_count: i64,
    pub is_favorite: bool,
    #[serde(serialize_with = "crate::views::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl<'a> RenderItemView<'a> {
    pub fn new(item: &'a RenderListItem, storage: &Storage) -> Self {
        let cover_image_url = item.cover_image_path.as_deref().map(|path| storage.public_url(path));
        let cover_thumb_url = item.cover_thumb_path.as_deref().map(|path| storage.public_url(path));
        Self::of(&item.render, cover_image_url, cover_thumb_url, item.variant_count, item.is_favorite)
    }

    fn of(
        render: &'a Render,
        cover_image_url: Option<String>,
        cover_thumb_url: Option<String>,
        variant_count: i64,
        is_favorite: bool,
    ) -> Self {
        RenderItemView {
            id: render.id,
            job_id: render.job_id,
            mode: &render.mode,
            room_type: render.room_type.as_deref(),
            style: render.style.as_deref(),
            cover_variant: render.cover_variant,
            cover_image_url,
            cover_thumb_url,
            variant_count,
            is_favorite,
            created_at: render.created_at,
        }
    }
}

/// One page of render items: `nextCursor` is null on the last page.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RenderPageView<'a> {
    pub items: Vec<RenderItemView<'a>>,
    pub next_cursor: Option<String>,
}

impl<'a> RenderPageView<'a> {
    pub fn new(page: &'a Page<RenderListItem>, storage: &Storage) -> Self {
        RenderPageView {
            items: page.items.iter().map(|item| RenderItemView::new(item, storage)).collect(),
            next_cursor: page.next_cursor.map(|cursor| cursor.encode()),
        }
    }
}

/// `GET /renders/{id}`: the gallery item's fields (API.md's `RenderItem`)
/// plus all the variants, in index order, and the job's input images.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RenderDetailView<'a> {
    #[serde(flatten)]
    pub item: RenderItemView<'a>,
    pub variants: Vec<VariantView>,
    /// "Before": the photos the render was made from, owner only, as
    /// short-lived URLs.
    pub inputs: Vec<InputImageView>,
}

impl<'a> RenderDetailView<'a> {
    pub fn new(detail: &'a RenderDetail, inputs: Vec<InputImageView>, storage: &Storage) -> Self {
        let render = &detail.render;
        let cover = detail.variants.iter().find(|v| v.idx == render.cover_variant);
        let cover_image_url = cover.map(|v| storage.public_url(&v.image_path));
        let cover_thumb_url = cover.and_then(|v| v.thumb_path.as_deref()).map(|path| storage.public_url(path));
        RenderDetailView {
            item: RenderItemView::of(
                render,
                cover_image_url,
                cover_thumb_url,
                detail.variants.len() as i64,
                detail.is_favorite,
            ),
            variants: detail
                .variants
                .iter()
                .map(|v| VariantView::new(v.idx, &v.image_path, v.thumb_path.as_deref(), storage))
                .collect(),
            inputs,
        }
    }
}
