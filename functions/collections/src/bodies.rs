//! Request bodies: collection names (and their rules) and the toggle's render id.

use serde::Deserialize;
use serde_json::Value;
use shared::http::{self, ApiError, Request};
use uuid::Uuid;

/// Longest name, in characters, once trimmed (the database checks the same).
pub const MAX_NAME_CHARS: usize = 100;

/// `{name}` of create and rename. The field is read as any JSON value so a
/// missing or mistyped name is answered with `details.name` like any other
/// bad name.
#[derive(Deserialize)]
struct NameBody {
    name: Option<Value>,
}

/// `{renderId}` of the favourite toggle.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToggleBody {
    render_id: Option<Value>,
}

/// The collection name a create or rename carries, trimmed.
pub fn name_from(request: &Request) -> Result<String, ApiError> {
    let body: NameBody = http::json_body(request)?;
    let invalid = |message: &str| ApiError::invalid_field("name", message);
    let name = match body.name {
        Some(Value::String(name)) => name,
        None | Some(Value::Null) => return Err(invalid("is required")),
        Some(_) => return Err(invalid("must be a string")),
    };
    check_name(&name).map_err(invalid)
}

fn check_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        return Err("must not be empty");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err("must be at most 100 characters");
    }
    // A name is one line of text in a menu; line breaks and other control
    // characters only break layouts.
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(name.to_string())
}

/// The render a favourite toggle names.
pub fn render_id_from(request: &Request) -> Result<Uuid, ApiError> {
    let body: ToggleBody = http::json_body(request)?;
    let invalid = |message: &str| ApiError::invalid_field("renderId", message);
    match body.render_id {
        Some(Value::String(text)) => Uuid::try_parse(&text).map_err(|_| invalid("must be a UUID")),
        None | Some(Value::Null) => Err(invalid("is required")),
        Some(_) => Err(invalid("must be a UUID string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Kitchen ideas \t").unwrap(), "Kitchen ideas");
        assert_eq!(check_name(&"é".repeat(100)).unwrap().chars().count(), 100, "characters, not bytes");
        assert!(check_name(&format!(" {} ", "x".repeat(100))).is_ok(), "trimmed first");
        assert_eq!(check_name("   "), Err("must not be empty"));
        assert_eq!(check_name("\u{a0}"), Err("must not be empty"));
        assert_eq!(check_name(&"x".repeat(101)), Err("must be at most 100 characters"));
        assert_eq!(check_name("two\nlines"), Err("must not contain control characters"));
    }
}
