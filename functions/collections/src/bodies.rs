//! Request bodies: collection names (and their rules) and the toggle's render id.

use serde::Deserialize;
use shared::http::body::one_line;
use shared::http::{json_object, ApiError, Field, Problems, Request};
use uuid::Uuid;

/// Longest name, in characters, once trimmed (the database checks the same).
pub const MAX_NAME_CHARS: usize = 100;

/// `{name}` of create and rename. Other keys are ignored, as the web front
/// end may send the whole collection back.
#[derive(Deserialize, Default)]
#[serde(default)]
struct NameBody {
    name: Field<String>,
}

/// `{renderId}` of the favourite toggle.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ToggleBody {
    render_id: Field<Uuid>,
}

/// The collection name a create or rename carries, trimmed.
pub fn name_from(request: &Request) -> Result<String, ApiError> {
    let body: NameBody = json_object(request)?;
    let mut problems = Problems::default();
    let name = body.name.required("name", &mut problems);
    let name = name.and_then(|name| problems.check("name", one_line(&name, MAX_NAME_CHARS)));
    problems.into_result(name)
}

/// The render a favourite toggle names.
pub fn render_id_from(request: &Request) -> Result<Uuid, ApiError> {
    let body: ToggleBody = json_object(request)?;
    let mut problems = Problems::default();
    let render_id = body.render_id.required("renderId", &mut problems);
    problems.into_result(render_id)
}
