//! What each admin write accepts, validated into repository values. Limits
//! keep the public page sane (titles fit a heading, URLs fit a browser).

use crate::fields::Fields;
use serde_json::Value;
use shared::config::{room_type, style, Mode};
use shared::http::{ApiError, Request};
use shared::prompt::MAX_USER_TEXT_CHARS;
use shared::repositories::community::{ApplySettings, CollectionPatch, ItemPatch, ItemSource, NewItem};

pub const MAX_TITLE_CHARS: usize = 120;
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
pub const MAX_URL_CHARS: usize = 2048;
/// Wide enough to reorder freely, narrow enough to stay far from overflow.
pub const ORDER_INDEX: std::ops::RangeInclusive<i32> = -1_000_000..=1_000_000;

const COLLECTION_FIELDS: &[&str] = &["title", "description", "isFeatured", "orderIndex", "isPublished"];
const NEW_ITEM_FIELDS: &[&str] = &["renderId", "externalImageUrl", "applySettings", "orderIndex"];
const ITEM_PATCH_FIELDS: &[&str] = &["applySettings", "orderIndex"];
const SETTINGS_KEYS: &[&str] = &["mode", "roomType", "style", "prompt"];

/// A new collection, as an owned patch with defaults filled in: drafts
/// unless `isPublished` says otherwise, so a shelf can be filled before
/// anyone sees it.
pub struct CollectionInput {
    pub title: String,
    pub description: Option<String>,
    pub is_featured: bool,
    pub order_index: i32,
    pub is_published: bool,
}

pub fn new_collection(request: &Request) -> Result<CollectionInput, ApiError> {
    let mut fields = Fields::from_body(request, COLLECTION_FIELDS)?;
    let patch = collection_fields(&mut fields);
    fields.require("title");
    fields.finish()?;
    Ok(CollectionInput {
        title: patch.title.unwrap_or_default(),
        description: patch.description.flatten(),
        is_featured: patch.is_featured.unwrap_or(false),
        order_index: patch.order_index.unwrap_or(0),
        is_published: patch.is_published.unwrap_or(false),
    })
}

pub fn collection_patch(request: &Request) -> Result<CollectionPatch, ApiError> {
    let mut fields = Fields::from_body(request, COLLECTION_FIELDS)?;
    if fields.is_empty() {
        fields.error("body", "give at least one of title, description, isFeatured, orderIndex, isPublished");
    }
    let patch = collection_fields(&mut fields);
    fields.finish()?;
    Ok(patch)
}

fn collection_fields(fields: &mut Fields) -> CollectionPatch {
    CollectionPatch {
        title: fields.text("title", MAX_TITLE_CHARS),
        description: fields.nullable_text("description", MAX_DESCRIPTION_CHARS),
        is_featured: fields.bool("isFeatured"),
        order_index: fields.integer("orderIndex", ORDER_INDEX),
        is_published: fields.bool("isPublished"),
    }
}

pub fn new_item(request: &Request) -> Result<NewItem, ApiError> {
    let mut fields = Fields::from_body(request, NEW_ITEM_FIELDS)?;
    let render_id = fields.uuid("renderId");
    let url = external_url(&mut fields);
    let apply_settings = apply_settings(&mut fields).flatten();
    let order_index = fields.integer("orderIndex", ORDER_INDEX).unwrap_or(0);
    let given = |name: &str| fields.get(name).is_some_and(|value| !value.is_null());
    let source = match (given("renderId"), given("externalImageUrl")) {
        (true, true) => Err("give either renderId or externalImageUrl, not both"),
        (false, false) => Err("renderId or externalImageUrl is required"),
        _ => Ok(()),
    };
    fields.check("renderId", source);
    fields.finish()?;
    let source = match (render_id, url) {
        (Some(id), None) => ItemSource::Render(id),
        (None, Some(url)) => ItemSource::External(url),
        // finish() has already refused every other combination.
        _ => return Err(ApiError::invalid_field("renderId", "renderId or externalImageUrl is required")),
    };
    Ok(NewItem { source, apply_settings, order_index })
}

pub fn item_patch(request: &Request) -> Result<ItemPatch, ApiError> {
    let mut fields = Fields::from_body(request, ITEM_PATCH_FIELDS)?;
    if fields.is_empty() {
        fields.error("body", "give at least one of applySettings, orderIndex");
    }
    let patch = ItemPatch {
        apply_settings: apply_settings(&mut fields),
        order_index: fields.integer("orderIndex", ORDER_INDEX),
    };
    fields.finish()?;
    Ok(patch)
}

fn external_url(fields: &mut Fields) -> Option<String> {
    let value = fields.get("externalImageUrl").filter(|v| !v.is_null())?;
    let checked = match value.as_str() {
        None => Err("must be a string"),
        Some(url) if url.chars().count() > MAX_URL_CHARS => Err("is too long"),
        Some(url) => check_https_url(url).map(|()| url.to_owned()),
    };
    fields.check("externalImageUrl", checked)
}

/// An absolute `https://` URL with a public host name: no credentials, no
/// whitespace or characters a browser would have to escape. The page puts it
/// straight into an `<img src>`, so anything else (`javascript:`, `http:`,
/// `data:`) is refused rather than cleaned up.
pub fn check_https_url(url: &str) -> Result<(), &'static str> {
    let rest = url.strip_prefix("https://").ok_or("must be an https:// URL")?;
    if rest.chars().any(|c| c.is_whitespace() || c.is_control() || "\"'<>\\^`{|}".contains(c)) {
        return Err("contains characters that are not allowed in a URL");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not contain credentials");
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if host.len() > 253 || !host.contains('.') || !host.split('.').all(label_ok) {
        return Err("must name a public host");
    }
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.chars().all(|c| c.is_ascii_digit())) {
        return Err("has an invalid port");
    }
    Ok(())
}

/// `applySettings`: absent `None`, `null` clears (`Some(None)`), or an
/// object of exactly the prefill keys with values the form offers. Problems
/// are reported as `applySettings.<key>`.
fn apply_settings(fields: &mut Fields) -> Option<Option<ApplySettings>> {
    let value = fields.get("applySettings")?.clone();
    let map = match value {
        Value::Null => return Some(None),
        Value::Object(map) => map,
        _ => {
            fields.error("applySettings", "must be an object or null");
            return None;
        }
    };
    for key in map.keys().filter(|key| !SETTINGS_KEYS.contains(&key.as_str())) {
        fields.error(&format!("applySettings.{key}"), "unknown field");
    }
    let text = |key: &str| match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.trim())),
        Some(_) => Err("must be a string or null"),
    };
    let mode = match text("mode") {
        Ok(None) => Err("is required"),
        Ok(Some(id)) => Mode::parse(id).ok_or(Mode::EXPECTED),
        Err(message) => Err(message),
    };
    let room_type =
        text("roomType").and_then(|id| id.map(|id| room_type(id).ok_or("is not a known room type")).transpose());
    let style = text("style").and_then(|id| id.map(|id| style(id).ok_or("is not a known style")).transpose());
    let prompt = text("prompt").and_then(|prompt| match prompt {
        Some(text) if text.chars().count() > MAX_USER_TEXT_CHARS => Err("is too long"),
        Some(text) => Ok(Some(text.to_owned()).filter(|text| !text.is_empty())),
        None => Ok(None),
    });
    let settings = ApplySettings {
        mode: fields.check("applySettings.mode", mode),
        room_type: fields.check("applySettings.roomType", room_type).flatten().map(|preset| preset.id),
        style: fields.check("applySettings.style", style).flatten().map(|preset| preset.id),
        prompt: fields.check("applySettings.prompt", prompt).flatten(),
    };
    Some(Some(settings))
}

#[cfg(test)]
mod tests {
    use super::check_https_url;

    #[test]
    fn only_plain_https_urls_of_public_hosts() {
        for good in ["https://cdn.example.com/a.jpg", "https://img.example.co.uk:8443/x/y.png?w=800#top"] {
            assert_eq!(check_https_url(good), Ok(()), "{good}");
        }
        for bad in [
            "http://cdn.example.com/a.jpg",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "HTTPS://cdn.example.com/a.jpg",
            "https://",
            "https://localhost/a.jpg",
            "https://user:pw@cdn.example.com/a.jpg",
            "https://cdn.example.com/a b.jpg",
            "https://cdn.example.com/\"onerror=\"x",
            "https://cdn.example.com:/a.jpg",
            "https://cdn.example.com:99999999/a.jpg",
            "https://-bad.example.com/a.jpg",
            "https://[::1]/a.jpg",
        ] {
            assert!(check_https_url(bad).is_err(), "{bad}");
        }
    }
}
