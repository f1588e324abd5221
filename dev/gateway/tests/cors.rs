//! A front end on its own origin talks to the local stack as to production
//! (issue 10): preflights and answers of the API carry what API Gateway's
//! `CorsConfiguration` in `template.yaml` says, and the storage paths (public
//! objects, the S3 path presigned uploads point at) answer CORS as Supabase
//! Storage does.

use gateway::cors;
use reqwest::Method;
use testkit::TestStack;

const ORIGIN: &str = "http://app.example.test:5173";

async fn start() -> (TestStack, String, tokio::task::JoinHandle<()>) {
    let mut stack = TestStack::spawn().await;
    let listener = stack.take_listener();
    let front = storage_front::Front::new(([127, 0, 0, 1], testkit::s3::S3Server::shared().port).into());
    let server = tokio::spawn(gateway::serve_with_storage(listener, stack.services.clone(), Some(front)));
    let base = stack.base_url.clone();
    (stack, base, server)
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn preflights_and_answers_carry_cors_for_the_api_and_storage() {
    let (stack, base, server) = start().await;
    let http = reqwest::Client::new();
    let preflight = |path: &str, method: &str, headers: &str| {
        http.request(Method::OPTIONS, format!("{base}{path}"))
            .header("origin", ORIGIN)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", headers)
            .send()
    };
    for (path, method) in [
        ("/api/v1/generations", "POST"),
        ("/api/v1/uploads", "POST"),
        ("/api/v1/renders/00000000-0000-0000-0000-000000000000", "DELETE"),
        ("/api/v1/collections/00000000-0000-0000-0000-000000000000", "PATCH"),
    ] {
        let response = preflight(path, method, "authorization,content-type").await.unwrap();
        assert_eq!(response.status(), 204, "{path}");
        assert_eq!(header(&response, "access-control-allow-origin"), "*", "{path}");
        assert!(header(&response, "access-control-allow-methods").contains(method), "{path}");
        assert!(header(&response, "access-control-allow-headers").contains("authorization"), "{path}");
    }
    // The presigned upload's PUT, straight to the storage path.
    let response = preflight("/storage/v1/s3/private/u/inputs/x.jpg", "PUT", "content-type").await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(header(&response, "access-control-allow-origin"), "*");
    assert!(header(&response, "access-control-allow-headers").contains("content-type"));

    // Answers, errors included, are readable by the page.
    let user = stack.create_user().await;
    for (path, token) in [("/api/v1/presets", None), ("/api/v1/usage", Some(&user.token)), ("/api/v1/usage", None)] {
        let mut request = http.get(format!("{base}{path}")).header("origin", ORIGIN);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(header(&response, "access-control-allow-origin"), "*", "{path} {}", response.status());
    }
    server.abort();
}

#[test]
fn the_local_cors_is_the_templates() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let template: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let config = &template["Resources"]["Api"]["Properties"]["CorsConfiguration"];
    let list = |key: &str| -> Vec<String> {
        config[key].as_sequence().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
    };
    assert_eq!(list("AllowOrigins"), cors::ALLOW_ORIGINS);
    assert_eq!(list("AllowHeaders"), cors::ALLOW_HEADERS);
    assert_eq!(list("AllowMethods"), cors::ALLOW_METHODS);
    assert_eq!(config["MaxAge"].as_u64(), Some(u64::from(cors::MAX_AGE_SECONDS)));
}
