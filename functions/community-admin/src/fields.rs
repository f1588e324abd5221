//! Reading a JSON object field by field, collecting every problem as
//! `details: {field: message}` instead of stopping at the first, so an admin
//! tool can mark all bad inputs at once. A PATCH must tell "absent" (leave
//! as is) from `null` (clear), which typed deserialization blurs; hence a
//! map walked by hand.

use serde_json::{Map, Value};
use shared::http::{self, ApiError, Request};
use uuid::Uuid;

pub struct Fields {
    map: Map<String, Value>,
    errors: Map<String, Value>,
}

impl Fields {
    /// The body as an object; keys outside `allowed` are reported, not ignored,
    /// so a misspelt field never silently does nothing.
    pub fn from_body(request: &Request, allowed: &[&str]) -> Result<Self, ApiError> {
        let Value::Object(map) = http::json_body::<Value>(request)? else {
            return Err(ApiError::invalid_field("body", "must be a JSON object"));
        };
        let mut fields = Fields { map, errors: Map::new() };
        let unknown: Vec<String> = fields.map.keys().filter(|k| !allowed.contains(&k.as_str())).cloned().collect();
        for key in unknown {
            fields.error(&key, "unknown field");
        }
        Ok(fields)
    }

    /// Records a problem; the first one per field wins.
    pub fn error(&mut self, field: &str, message: &str) {
        self.errors.entry(field.to_owned()).or_insert_with(|| Value::from(message));
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Absent: `None`; present (even `null`): `Some`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// Records "is required" unless the field is present and not null.
    pub fn require(&mut self, name: &str) {
        if self.get(name).is_none_or(Value::is_null) {
            self.error(name, "is required");
        }
    }

    /// A non-empty string, trimmed, of at most `max_chars` characters.
    pub fn text(&mut self, name: &str, max_chars: usize) -> Option<String> {
        let value = self.get(name)?;
        let checked = match value.as_str().map(str::trim) {
            None => Err("must be a string"),
            Some("") => Err("must not be empty"),
            Some(text) if text.chars().count() > max_chars => Err("is too long"),
            Some(text) if text.chars().any(char::is_control) => Err("must not contain control characters"),
            Some(text) => Ok(text.to_owned()),
        };
        self.check(name, checked)
    }

    /// Like `text`, but `null` or blank clears the value: `Some(None)`.
    pub fn nullable_text(&mut self, name: &str, max_chars: usize) -> Option<Option<String>> {
        let value = self.get(name)?;
        let checked = match value {
            Value::Null => Ok(None),
            Value::String(text) if text.trim().is_empty() => Ok(None),
            Value::String(text) if text.trim().chars().count() > max_chars => Err("is too long"),
            Value::String(text) => Ok(Some(text.trim().to_owned())),
            _ => Err("must be a string or null"),
        };
        self.check(name, checked)
    }

    pub fn bool(&mut self, name: &str) -> Option<bool> {
        let checked = self.get(name)?.as_bool().ok_or("must be true or false");
        self.check(name, checked)
    }

    /// An integer within `range`.
    pub fn integer(&mut self, name: &str, range: std::ops::RangeInclusive<i32>) -> Option<i32> {
        let value = self.get(name)?;
        let checked = match value.as_i64().map(i32::try_from) {
            Some(Ok(number)) if range.contains(&number) => Ok(number),
            Some(_) => Err("is out of range"),
            None => Err("must be an integer"),
        };
        self.check(name, checked)
    }

    /// A UUID string; `null` counts as absent (for one-of pairs).
    pub fn uuid(&mut self, name: &str) -> Option<Uuid> {
        let value = self.get(name).filter(|v| !v.is_null())?;
        let checked = value.as_str().and_then(|text| Uuid::parse_str(text).ok()).ok_or("must be a UUID");
        self.check(name, checked)
    }

    pub fn check<T>(&mut self, name: &str, checked: Result<T, &str>) -> Option<T> {
        checked.map_err(|message| self.error(name, message)).ok()
    }

    /// Ends validation: a 400 listing every problem, if there was any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = self.errors.keys().map(String::as_str).collect();
        let message = format!("invalid fields: {}", names.join(", "));
        Err(ApiError::validation(message).with_details(Value::Object(self.errors)))
    }
}
