//! The contract kept true: `openapi.yaml` describes exactly the routes that
//! `template.yaml` deploys, every deployed route reaches a handler, and what
//! each handler answers to a request without credentials, to a wrong method
//! and to a malformed id is a status the document lists for it.

use serde_yaml::Value;
use shared::http::Body;
use std::collections::{BTreeMap, BTreeSet};
use testkit::TestStack;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn load(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(file);
    serde_yaml::from_str(&std::fs::read_to_string(&path).expect("read")).expect("parse yaml")
}

/// (METHOD, path) -> documented statuses.
fn openapi_operations() -> BTreeMap<(String, String), BTreeSet<u16>> {
    let doc = load("openapi.yaml");
    let mut operations = BTreeMap::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        let path = path.as_str().unwrap().to_string();
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                let statuses = operation["responses"]
                    .as_mapping()
                    .expect("responses")
                    .keys()
                    .map(|code| code.as_str().unwrap().parse::<u16>().unwrap())
                    .collect();
                operations.insert((method.to_uppercase(), path.clone()), statuses);
            }
        }
    }
    operations
}

/// (METHOD, path) of every HttpApi event in template.yaml.
fn template_routes() -> BTreeSet<(String, String)> {
    let template = load("template.yaml");
    let mut routes = BTreeSet::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else { continue };
        for (_, event) in events {
            if event["Type"].as_str() == Some("HttpApi") {
                let properties = &event["Properties"];
                routes.insert((
                    properties["Method"].as_str().unwrap().to_uppercase(),
                    properties["Path"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    routes
}

/// Whether a template route (possibly `{proxy+}`) covers an OpenAPI path.
fn covers(template_path: &str, path: &str) -> bool {
    match template_path.strip_suffix("{proxy+}") {
        Some(prefix) => path.starts_with(prefix) && path.len() > prefix.len(),
        None => template_path == path,
    }
}

#[test]
fn every_documented_route_is_deployed_and_every_deployed_route_is_documented() {
    let operations = openapi_operations();
    let routes = template_routes();
    for (method, path) in operations.keys() {
        assert!(
            routes.iter().any(|(m, p)| m == method && covers(p, path)),
            "{method} {path} is documented but not in template.yaml"
        );
    }
    for (method, path) in &routes {
        assert!(
            operations.keys().any(|(m, p)| m == method && covers(path, p)),
            "{method} {path} is deployed but not documented"
        );
    }
}

#[test]
fn documented_statuses_are_the_contracts_codes() {
    let allowed: BTreeSet<u16> =
        [200, 201, 202, 204, 400, 401, 402, 403, 404, 405, 409, 413, 429, 500, 502, 503].into();
    for ((method, path), statuses) in openapi_operations() {
        assert!(statuses.is_subset(&allowed), "{method} {path}: {statuses:?}");
        assert!(statuses.contains(&405), "{method} {path} documents no 405");
    }
}

fn concrete(path: &str) -> String {
    path.replace("{id}", &uuid::Uuid::new_v4().to_string()).replace("{renderId}", &uuid::Uuid::new_v4().to_string())
}

fn request(method: &str, path: &str, body: Option<&str>) -> shared::http::Request {
    let mut builder = lambda_http::http::Request::builder().method(method).uri(path);
    let body = match body {
        Some(text) => {
            builder = builder.header("content-type", "application/json");
            Body::Text(text.to_string())
        }
        None => Body::Empty,
    };
    builder.body(body).unwrap()
}

fn error_message(response: &shared::http::Response<Body>) -> Option<String> {
    let json = testkit::stack::json(response);
    json["error"]["message"].as_str().map(str::to_string)
}

#[tokio::test]
async fn every_route_answers_only_documented_statuses() {
    let stack = TestStack::spawn().await;
    let services = &stack.services;
    let operations = openapi_operations();
    for ((method, path), statuses) in &operations {
        // Without credentials (and with an empty JSON body where one is expected).
        let probe = request(method, &concrete(path), Some("{}"));
        let response = gateway::dispatch(services, probe).await;
        let status = response.status().as_u16();
        assert!(statuses.contains(&status), "{method} {path} answered {status}, documented {statuses:?}");
        // The route reaches a handler (an unrouted path answers "route not found").
        assert_ne!(error_message(&response).as_deref(), Some("route not found"), "{method} {path} is not routed");
        assert!(response.headers().contains_key("x-request-id"), "{method} {path}");
        assert!(response.headers().contains_key("cache-control"), "{method} {path}");

        // A method the path does not have.
        let unused =
            METHODS.iter().map(|m| m.to_uppercase()).find(|m| !operations.contains_key(&(m.clone(), path.clone())));
        if let Some(unused) = unused {
            let response = gateway::dispatch(services, request(&unused, &concrete(path), None)).await;
            assert_eq!(response.status().as_u16(), 405, "{unused} {path}");
        }

        // A malformed id is a 404 (or 401 first, for routes that need a token).
        if path.contains("{id}") {
            let response =
                gateway::dispatch(services, request(method, &path.replace("{id}", "not-a-uuid"), None)).await;
            let status = response.status().as_u16();
            assert!(
                [401, 404].contains(&status) && statuses.contains(&status),
                "{method} {path} malformed id: {status}"
            );
        }
    }
}
