//! Matching a request's method and path against a function's routes. Every
//! function sees full paths (`/api/v1/generations/{id}`), behind API Gateway
//! and behind the local gateway alike, so handlers read their parameters
//! from the path itself.

use super::error::ApiError;
use lambda_http::http::Method;

pub const API_PREFIX: &str = "/api/v1";

/// The segments of a path under `/api/v1`, or `None` for any other path.
pub fn api_segments(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix(API_PREFIX)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    Some(rest.split('/').filter(|segment| !segment.is_empty()).collect())
}

/// Picks the handler for `method` among those of a matched path; a path that
/// exists with another method is a 405, not a 404.
pub fn allow<T>(method: &Method, options: Vec<(Method, T)>) -> Result<T, ApiError> {
    // The `Allow` list is built only for a 405: a matching request pays nothing.
    if !options.iter().any(|(candidate, _)| candidate == method) {
        let allowed: Vec<&str> = options.iter().map(|(candidate, _)| candidate.as_str()).collect();
        return Err(ApiError::method_not_allowed(&allowed));
    }
    options
        .into_iter()
        .find_map(|(candidate, handler)| (candidate == *method).then_some(handler))
        .ok_or_else(|| ApiError::method_not_allowed(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_under_the_prefix_only() {
        assert_eq!(api_segments("/api/v1/generations/abc"), Some(vec!["generations", "abc"]));
        assert_eq!(api_segments("/api/v1"), Some(vec![]));
        assert_eq!(api_segments("/api/v10/x"), None);
        assert_eq!(api_segments("/other"), None);
    }

    #[test]
    fn wrong_method_is_405() {
        assert_eq!(allow(&Method::GET, vec![(Method::GET, 1)]).unwrap(), 1);
        let refused = allow(&Method::DELETE, vec![(Method::GET, 1), (Method::POST, 2)]).unwrap_err();
        assert_eq!(refused.status(), 405);
        assert_eq!(refused.headers, vec![("allow", "GET, POST".to_string())]);
    }
}
