//! `GET /api/v1/presets`: what the generation form offers — modes, room
//! types and styles (id + label), the defaults and the UI colours. Product
//! configuration only: no token is needed or read and the database is never
//! touched, so the answer is the same for everyone and is cached publicly.
//! Prompt seeds stay server-side (`Preset` skips them when serialized).

use serde::Serialize;
use shared::config::{Colors, Defaults, Mode, Preset, COLORS, DEFAULTS, ROOM_TYPES, STYLES};
use shared::http::{self, allow, api_segments, ApiError, Body, CacheControl, Method, Request, Response};

/// Presets change only with a deployment; an hour of caching is plenty.
pub const CACHE: CacheControl = CacheControl::Public { max_age_seconds: 3600 };

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresetsView {
    modes: Vec<ModeView>,
    room_types: &'static [Preset],
    styles: &'static [Preset],
    defaults: Defaults,
    colors: Colors,
}

#[derive(Serialize)]
struct ModeView {
    id: &'static str,
    label: &'static str,
}

impl PresetsView {
    pub fn current() -> Self {
        PresetsView {
            modes: Mode::ALL.iter().map(|mode| ModeView { id: mode.as_str(), label: mode.label() }).collect(),
            room_types: ROOM_TYPES,
            styles: STYLES,
            defaults: DEFAULTS,
            colors: COLORS,
        }
    }
}

pub async fn handle(request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, route(&request, &request_id)).await
}

async fn route(request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
    match api_segments(request.uri().path()).as_deref() {
        Some(["presets"]) => allow(request.method(), vec![(Method::GET, ())])?,
        _ => return Err(ApiError::not_found("route")),
    }
    Ok(http::ok(request_id, &PresetsView::current(), CACHE))
}
