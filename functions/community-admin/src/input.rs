//! What each admin write accepts, validated into repository values. Limits
//! keep the public page sane (titles fit a heading, URLs fit a browser).

use serde::Deserialize;
use serde_json::{Map, Value};
use shared::config::{room_type, style, Mode};
use shared::http::body::{one_line, Expected};
use shared::http::{json_object, ApiError, Field, Problems, Request};
use shared::prompt::MAX_USER_TEXT_CHARS;
use shared::repositories::community::{ApplySettings, CollectionPatch, ItemPatch, ItemSource, NewItem};
use uuid::Uuid;

pub const MAX_TITLE_CHARS: usize = 120;
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
pub const MAX_URL_CHARS: usize = 2048;
/// Wide enough to reorder freely, narrow enough to stay far from overflow.
pub const ORDER_INDEX: std::ops::RangeInclusive<i64> = -1_000_000..=1_000_000;

/// The body of a collection's create and update. Unknown keys are refused
/// (`unknown`), so a misspelt field never silently does nothing.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct CollectionBody {
    title: Field<String>,
    description: Field<String>,
    is_featured: Field<bool>,
    order_index: Field<i64>,
    is_published: Field<bool>,
    #[serde(flatten)]
    unknown: Map<String, Value>,
}

impl CollectionBody {
    fn is_empty(&self) -> bool {
        self.unknown.is_empty()
            && self.title.is_absent()
            && self.description.is_absent()
            && self.is_featured.is_absent()
            && self.order_index.is_absent()
            && self.is_published.is_absent()
    }
}

/// The body of an item's create (a render xor an external image) and update.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ItemBody {
    render_id: Field<Uuid>,
    external_image_url: Field<String>,
    apply_settings: Field<SettingsBody>,
    order_index: Field<i64>,
    #[serde(flatten)]
    unknown: Map<String, Value>,
}

/// `applySettings`: what a community item prefills in the generation form.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SettingsBody {
    mode: Field<String>,
    room_type: Field<String>,
    style: Field<String>,
    prompt: Field<String>,
    #[serde(flatten)]
    unknown: Map<String, Value>,
}

impl Expected for SettingsBody {
    const EXPECTED: &'static str = "must be an object or null";
}

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
    let body: CollectionBody = json_object(request)?;
    let mut problems = Problems::default();
    if body.title.is_absent() {
        problems.add::<()>("title", "is required");
    }
    let patch = collection_fields(body, &mut problems);
    problems.finish()?;
    Ok(CollectionInput {
        title: patch.title.unwrap_or_default(),
        description: patch.description.flatten(),
        is_featured: patch.is_featured.unwrap_or(false),
        order_index: patch.order_index.unwrap_or(0),
        is_published: patch.is_published.unwrap_or(false),
    })
}

pub fn collection_patch(request: &Request) -> Result<CollectionPatch, ApiError> {
    let body: CollectionBody = json_object(request)?;
    let mut problems = Problems::default();
    if body.is_empty() {
        problems.add::<()>("body", "give at least one of title, description, isFeatured, orderIndex, isPublished");
    }
    let patch = collection_fields(body, &mut problems);
    problems.finish()?;
    Ok(patch)
}

fn collection_fields(body: CollectionBody, problems: &mut Problems) -> CollectionPatch {
    problems.unknown_fields(&body.unknown, "");
    let title = body.title.not_null("title", problems);
    // A blank description clears it, like `null`.
    let description = body.description.change("description", problems).map(|text| {
        let text = text.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty());
        match text {
            Some(text) if text.chars().count() > MAX_DESCRIPTION_CHARS => problems.add("description", "is too long"),
            text => text,
        }
    });
    CollectionPatch {
        title: title.and_then(|title| problems.check("title", one_line(&title, MAX_TITLE_CHARS))),
        description,
        is_featured: body.is_featured.not_null("isFeatured", problems),
        order_index: order_index(body.order_index, problems),
        is_published: body.is_published.not_null("isPublished", problems),
    }
}

fn order_index(field: Field<i64>, problems: &mut Problems) -> Option<i32> {
    let index = field.not_null("orderIndex", problems)?;
    let checked = i32::try_from(index).ok().filter(|_| ORDER_INDEX.contains(&index)).ok_or("is out of range");
    problems.check("orderIndex", checked)
}

pub fn new_item(request: &Request) -> Result<NewItem, ApiError> {
    let body: ItemBody = json_object(request)?;
    let mut problems = Problems::default();
    problems.unknown_fields(&body.unknown, "");
    // `null` counts as absent for the one-of pair.
    let render_id = body.render_id.optional("renderId", &mut problems);
    let url = body.external_image_url.optional("externalImageUrl", &mut problems);
    let url = url.and_then(|url| problems.check("externalImageUrl", external_url(url)));
    let apply_settings = apply_settings(body.apply_settings, &mut problems).flatten();
    let order_index = order_index(body.order_index, &mut problems).unwrap_or(0);
    let source = match (render_id, url) {
        (Some(id), None) => Some(ItemSource::Render(id)),
        (None, Some(url)) => Some(ItemSource::External(url)),
        (Some(_), Some(_)) => problems.add("renderId", "give either renderId or externalImageUrl, not both"),
        // A bad value was reported under its own name already.
        (None, None) if !problems.is_empty() => None,
        (None, None) => problems.add("renderId", "renderId or externalImageUrl is required"),
    };
    let source = problems.into_result(source)?;
    Ok(NewItem { source, apply_settings, order_index })
}

pub fn item_patch(request: &Request) -> Result<ItemPatch, ApiError> {
    let body: ItemBody = json_object(request)?;
    let mut problems = Problems::default();
    if body.apply_settings.is_absent() && body.order_index.is_absent() && body.unknown.is_empty() {
        problems.add::<()>("body", "give at least one of applySettings, orderIndex");
    }
    // The source of an item is fixed; changing it is another item.
    for (name, absent) in
        [("renderId", body.render_id.is_absent()), ("externalImageUrl", body.external_image_url.is_absent())]
    {
        if !absent {
            problems.add::<()>(name, "unknown field");
        }
    }
    problems.unknown_fields(&body.unknown, "");
    let patch = ItemPatch {
        apply_settings: apply_settings(body.apply_settings, &mut problems),
        order_index: order_index(body.order_index, &mut problems),
    };
    problems.finish()?;
    Ok(patch)
}

fn external_url(url: String) -> Result<String, &'static str> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err("is too long");
    }
    check_https_url(&url).map(|()| url)
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
fn apply_settings(field: Field<SettingsBody>, problems: &mut Problems) -> Option<Option<ApplySettings>> {
    let Some(body) = field.change("applySettings", problems)? else {
        return Some(None);
    };
    problems.unknown_fields(&body.unknown, "applySettings.");
    let mode = body.mode.required("applySettings.mode", problems);
    let mode = mode.and_then(|id| problems.check("applySettings.mode", Mode::parse(id.trim()).ok_or(Mode::EXPECTED)));
    let room_type = body.room_type.optional("applySettings.roomType", problems).and_then(|id| {
        problems.check("applySettings.roomType", room_type(id.trim()).ok_or("is not a known room type"))
    });
    let style = body
        .style
        .optional("applySettings.style", problems)
        .and_then(|id| problems.check("applySettings.style", style(id.trim()).ok_or("is not a known style")));
    let prompt = body.prompt.optional("applySettings.prompt", problems).and_then(|text| {
        let text = text.trim().to_owned();
        let checked = if text.chars().count() > MAX_USER_TEXT_CHARS { Err("is too long") } else { Ok(text) };
        problems.check("applySettings.prompt", checked).filter(|text| !text.is_empty())
    });
    let settings = ApplySettings {
        mode,
        room_type: room_type.map(|preset| preset.id),
        style: style.map(|preset| preset.id),
        prompt,
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
