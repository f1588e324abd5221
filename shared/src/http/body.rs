//! JSON request bodies, one way for every route: a serde struct whose fields
//! are [`Field`]s, so a body of any shape deserializes and each field tells
//! absent from `null` (a PATCH clears with `null` and leaves absent fields
//! alone), and a [`Problems`] list that collects every bad field as
//! `details: {field: message}`, answered together as one 400.

use super::error::ApiError;
use super::request::json_body;
use lambda_http::Request;
use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_json::{Map, Value};
use uuid::Uuid;

/// One field of a JSON object. A value of another type than `T` is not a
/// parse failure but [`Field::WrongType`], reported with the other problems.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Field<T> {
    #[default]
    Absent,
    Null,
    Given(T),
    WrongType,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Null => Field::Null,
            value => serde_json::from_value(value).map_or(Field::WrongType, Field::Given),
        })
    }
}

/// What a field of this type must be, as its problem says it.
pub trait Expected {
    const EXPECTED: &'static str;
}

impl Expected for String {
    const EXPECTED: &'static str = "must be a string";
}
impl Expected for bool {
    const EXPECTED: &'static str = "must be true or false";
}
impl Expected for i64 {
    const EXPECTED: &'static str = "must be an integer";
}
impl Expected for u64 {
    const EXPECTED: &'static str = "must be a non-negative integer";
}
impl Expected for Uuid {
    const EXPECTED: &'static str = "must be a UUID";
}

impl<T: Expected> Field<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }

    /// Absent and `null` are `None`; a value of another type is a problem.
    pub fn optional(self, name: &str, problems: &mut Problems) -> Option<T> {
        match self {
            Field::Given(value) => Some(value),
            Field::WrongType => problems.add(name, T::EXPECTED),
            Field::Absent | Field::Null => None,
        }
    }

    /// Absent is `None`; `null` is a problem like any other wrong type (for
    /// fields that cannot be cleared).
    pub fn not_null(self, name: &str, problems: &mut Problems) -> Option<T> {
        match self {
            Field::Given(value) => Some(value),
            Field::Null | Field::WrongType => problems.add(name, T::EXPECTED),
            Field::Absent => None,
        }
    }

    /// Absent or `null` is "is required".
    pub fn required(self, name: &str, problems: &mut Problems) -> Option<T> {
        match self {
            Field::Given(value) => Some(value),
            Field::WrongType => problems.add(name, T::EXPECTED),
            Field::Absent | Field::Null => problems.add(name, "is required"),
        }
    }

    /// For a PATCH: absent `None` (leave as is), `null` `Some(None)` (clear),
    /// a value `Some(Some(value))`.
    pub fn change(self, name: &str, problems: &mut Problems) -> Option<Option<T>> {
        match self {
            Field::Given(value) => Some(Some(value)),
            Field::Null => Some(None),
            Field::WrongType => problems.add(name, T::EXPECTED),
            Field::Absent => None,
        }
    }
}

/// Every problem of a body, by field; the first one per field wins.
#[derive(Debug, Default)]
pub struct Problems(Map<String, Value>);

impl Problems {
    /// Records a problem; returns `None` so a reader can end with it.
    pub fn add<T>(&mut self, field: &str, message: &str) -> Option<T> {
        self.0.entry(field.to_owned()).or_insert_with(|| Value::from(message));
        None
    }

    /// The value, or the problem recorded under `field`.
    pub fn check<T>(&mut self, field: &str, checked: Result<T, &str>) -> Option<T> {
        checked.map_err(|message| self.add::<()>(field, message)).ok()
    }

    /// Keys the body may not carry, so a misspelt field never silently does
    /// nothing; `prefix` names the object they are in (`applySettings.`).
    pub fn unknown_fields(&mut self, unknown: &Map<String, Value>, prefix: &str) {
        for key in unknown.keys() {
            self.add::<()>(&format!("{prefix}{key}"), "unknown field");
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value read from a body, or a 400 listing every problem. (A value
    /// missing without a problem recorded would be a reader's bug; it is
    /// still the client's 400, never a panic.)
    pub fn into_result<T>(self, value: Option<T>) -> Result<T, ApiError> {
        self.finish()?;
        value.ok_or_else(|| ApiError::validation("invalid body"))
    }

    /// Ends validation: a 400 listing every problem, if there was any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        let message = format!("invalid fields: {}", names.join(", "));
        Err(ApiError::validation(message).with_details(Value::Object(self.0)))
    }
}

/// The body as `T`, a struct of [`Field`]s: it must be a JSON object
/// (`details.body` otherwise); the fields' own problems are for the caller.
pub fn json_object<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    let object @ Value::Object(_) = json_body::<Value>(request)? else {
        return Err(ApiError::invalid_field("body", "must be a JSON object"));
    };
    serde_json::from_value(object).map_err(|error| ApiError::validation(format!("invalid JSON body: {error}")))
}

/// Trimmed one-line text of at most `max_chars` characters: the rule of
/// every name and title a person types.
pub fn one_line(text: &str, max_chars: usize) -> Result<String, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Err("must not be empty");
    }
    if text.chars().count() > max_chars {
        return Err("is too long");
    }
    // Shown as one line in a menu or heading; line breaks and other control
    // characters only break layouts.
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Sample {
        title: Field<String>,
        order_index: Field<i64>,
        #[serde(flatten)]
        unknown: Map<String, Value>,
    }

    fn sample(json: Value) -> Sample {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn fields_tell_absent_null_wrong_and_given_apart() {
        let body = sample(serde_json::json!({"title": "Shelf", "orderIndex": null, "extra": 1}));
        assert_eq!(body.title, Field::Given("Shelf".into()));
        assert_eq!(body.order_index, Field::Null);
        assert_eq!(body.unknown.keys().collect::<Vec<_>>(), ["extra"]);
        let body = sample(serde_json::json!({"title": 7, "orderIndex": 1.5}));
        assert_eq!((body.title, body.order_index), (Field::WrongType, Field::WrongType));
        assert_eq!(sample(serde_json::json!({})).title, Field::Absent);
    }

    #[test]
    fn every_problem_is_kept_the_first_per_field() {
        let mut problems = Problems::default();
        assert_eq!(Field::<String>::Absent.required("title", &mut problems), None);
        assert_eq!(Field::<i64>::Null.not_null("orderIndex", &mut problems), None);
        problems.add::<()>("title", "later problem");
        assert_eq!(Field::<bool>::Null.change("isFeatured", &mut problems), Some(None));
        let details = problems.finish().unwrap_err().details.unwrap();
        assert_eq!(details, serde_json::json!({"title": "is required", "orderIndex": "must be an integer"}));
    }

    #[test]
    fn one_line_text_is_trimmed_and_bounded() {
        assert_eq!(one_line("  Kitchen ideas \t", 100).unwrap(), "Kitchen ideas");
        assert_eq!(one_line(&"é".repeat(100), 100).unwrap().chars().count(), 100, "characters, not bytes");
        assert!(one_line(&format!(" {} ", "x".repeat(100)), 100).is_ok(), "trimmed first");
        assert_eq!(one_line("\u{a0}", 100), Err("must not be empty"));
        assert_eq!(one_line(&"x".repeat(101), 100), Err("is too long"));
        assert_eq!(one_line("two\nlines", 100), Err("must not contain control characters"));
    }
}
