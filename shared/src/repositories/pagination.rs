//! Keyset pagination over `(created_at, id)`, newest first. The cursor is the
//! position of the last item served, opaque to clients.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 24;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("limit must be between 1 and {MAX_LIMIT}")]
    Limit,
    #[error("cursor is malformed")]
    Cursor,
}

impl Cursor {
    /// `v1.<micros>.<uuid>` in URL-safe base64.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1.{}.{}", self.created_at.timestamp_micros(), self.id.simple()))
    }

    pub fn decode(text: &str) -> Result<Self, PageError> {
        if text.len() > 128 {
            return Err(PageError::Cursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| PageError::Cursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| PageError::Cursor)?;
        let mut parts = text.split('.');
        let (Some("v1"), Some(micros), Some(id), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(PageError::Cursor);
        };
        let micros: i64 = micros.parse().map_err(|_| PageError::Cursor)?;
        let created_at = DateTime::from_timestamp_micros(micros).ok_or(PageError::Cursor)?;
        let id = Uuid::try_parse(id).map_err(|_| PageError::Cursor)?;
        Ok(Cursor { created_at, id })
    }
}

/// Which page to read: after `cursor` (or from the start), at most `limit` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest { limit: DEFAULT_LIMIT, after: None }
    }
}

impl PageRequest {
    /// From the raw `limit` and `cursor` query parameters.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, PageError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(text) => text.parse::<i64>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or(PageError::Limit)?,
        };
        let after = cursor.filter(|c| !c.is_empty()).map(Cursor::decode).transpose()?;
        Ok(PageRequest { limit, after })
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Cursor>,
}

/// Turns `limit + 1` fetched rows into a page: the extra row only tells that
/// another page exists.
pub fn into_page<T>(mut rows: Vec<T>, limit: i64, position: impl Fn(&T) -> Cursor) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if has_more { rows.last().map(position) } else { None };
    Page { items: rows, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let cursor =
            Cursor { created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(), id: Uuid::new_v4() };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn malformed_cursors_are_rejected() {
        for bad in [
            "",
            "!!!",
            "djEuMS4y",
            &"A".repeat(500),
            &URL_SAFE_NO_PAD.encode("v1.abc.def"),
            &URL_SAFE_NO_PAD.encode("v2.1.6f1c1d2e8d0e4d3b9a572a3b4c5d6e7f"),
        ] {
            assert_eq!(Cursor::decode(bad), Err(PageError::Cursor), "{bad}");
        }
    }

    #[test]
    fn limits() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 24);
        assert_eq!(PageRequest::parse(Some("100"), None).unwrap().limit, 100);
        for bad in ["0", "101", "-1", "abc", "1e3", ""] {
            assert_eq!(PageRequest::parse(Some(bad), None), Err(PageError::Limit));
        }
        assert_eq!(PageRequest::parse(None, Some("zz")), Err(PageError::Cursor));
    }

    #[test]
    fn page_from_extra_row() {
        let now = Utc::now();
        let rows: Vec<Cursor> = (0..3).map(|_| Cursor { created_at: now, id: Uuid::new_v4() }).collect();
        let page = into_page(rows.clone(), 2, |c| *c);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next_cursor, Some(rows[1]));
        assert!(into_page(rows, 3, |c| *c).next_cursor.is_none());
    }
}
