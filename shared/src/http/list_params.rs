//! The list parameters of a page of render items: `limit`, `cursor` and the
//! gallery filters. Every malformed value is a 400 naming the parameter.

use super::{query_param, ApiError, Request};
use crate::config::Mode;
use crate::repositories::pagination::{PageError, PageRequest, MAX_LIMIT};
use crate::repositories::renders::RenderFilters;
use uuid::Uuid;

/// Longest `roomType` / `style` filter accepted: longer values cannot match
/// anything the product stores and only cost a query.
const MAX_FILTER_CHARS: usize = 100;

/// `limit` and `cursor` of any paged list.
pub fn page(request: &Request) -> Result<PageRequest, ApiError> {
    let limit = query_param(request, "limit");
    let cursor = query_param(request, "cursor");
    PageRequest::parse(limit.as_deref(), cursor.as_deref()).map_err(|error| match error {
        PageError::Limit => ApiError::invalid_field("limit", &format!("must be an integer between 1 and {MAX_LIMIT}")),
        PageError::Cursor => ApiError::invalid_field("cursor", "is malformed; pass back a nextCursor unchanged"),
    })
}

/// `mode`, `roomType` and `style`; `collectionId` too when `with_collection`
/// (the collection items route takes its collection from the path instead).
/// An empty value means no filter, as a front end's "all" choice sends it.
pub fn filters(request: &Request, with_collection: bool) -> Result<RenderFilters, ApiError> {
    let mode = match param(request, "mode") {
        Some(text) => match Mode::parse(&text) {
            Some(mode) => Some(mode.as_str().to_string()),
            None => return Err(ApiError::invalid_field("mode", Mode::EXPECTED)),
        },
        None => None,
    };
    let collection_id = match param(request, "collectionId").filter(|_| with_collection) {
        Some(text) => {
            Some(Uuid::try_parse(&text).map_err(|_| ApiError::invalid_field("collectionId", "must be a UUID"))?)
        }
        None => None,
    };
    Ok(RenderFilters {
        mode,
        room_type: free_text(request, "roomType")?,
        style: free_text(request, "style")?,
        collection_id,
    })
}

fn param(request: &Request, name: &str) -> Option<String> {
    query_param(request, name).filter(|value| !value.is_empty())
}

/// Room types and styles are matched as stored (older renders may carry
/// values the presets no longer list), only bounded in length.
fn free_text(request: &Request, name: &str) -> Result<Option<String>, ApiError> {
    match param(request, name) {
        Some(text) if text.chars().count() > MAX_FILTER_CHARS => {
            Err(ApiError::invalid_field(name, &format!("must be at most {MAX_FILTER_CHARS} characters")))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Body, ErrorCode};

    fn request(query: &str) -> Request {
        lambda_http::http::Request::builder().uri(format!("/api/v1/renders?{query}")).body(Body::Empty).unwrap()
    }

    fn field_error(result: Result<impl std::fmt::Debug, ApiError>, field: &str) {
        let error = result.unwrap_err();
        assert_eq!(error.code, ErrorCode::ValidationError);
        assert!(error.details.as_ref().and_then(|d| d.get(field)).is_some(), "{error:?}");
    }

    #[test]
    fn defaults_and_filters() {
        assert_eq!(page(&request("")).unwrap(), PageRequest::default());
        let filters = filters(&request("mode=staging&roomType=living_room&style=&collectionId="), true).unwrap();
        assert_eq!(filters.mode.as_deref(), Some("staging"));
        assert_eq!(filters.room_type.as_deref(), Some("living_room"));
        assert_eq!((filters.style, filters.collection_id), (None, None));
    }

    #[test]
    fn malformed_parameters_name_the_field() {
        field_error(page(&request("limit=0")), "limit");
        field_error(page(&request("limit=101")), "limit");
        field_error(page(&request("cursor=%21%21")), "cursor");
        field_error(filters(&request("mode=painting"), true), "mode");
        field_error(filters(&request("collectionId=abc"), true), "collectionId");
        field_error(filters(&request(&format!("style={}", "x".repeat(101))), true), "style");
    }

    #[test]
    fn collection_id_ignored_where_the_path_names_the_collection() {
        assert_eq!(filters(&request("collectionId=abc"), false).unwrap().collection_id, None);
    }
}
