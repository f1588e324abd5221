//! Database round trips per request (DESIGN.md: a read costs one where
//! possible): counted by a proxy between the handler and PostgreSQL.

mod support;

use serde_json::json;
use shared::app::Services;
use testkit::flight_counter::FlightCounter;
use testkit::TestStack;

/// Flights of one request, after a first one warmed the pool's connection.
async fn flights(
    stack: &TestStack,
    proxy: &FlightCounter,
    services: &Services,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
    token: &str,
) -> u64 {
    let before = proxy.flights();
    let response = collections::handle(services, stack.request(method, path, Some(token), body)).await;
    assert!(response.status().is_success(), "{method} {path}: {}", testkit::stack::json(&response));
    proxy.flights() - before
}

#[tokio::test]
async fn reads_take_one_round_trip_and_writes_two() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render) = stack.app.seed_render(&user, 1).await;
    let port = stack.app.database.server().app_port;
    let proxy = FlightCounter::start(port).await;
    let services = stack.services_through(&proxy);
    let favorites = support::favorites_id(&stack, &user).await;
    let token = user.token.as_str();

    // Warm the one connection: its handshake is not part of a request.
    flights(&stack, &proxy, &services, "GET", "/collections", None, token).await;
    assert_eq!(flights(&stack, &proxy, &services, "GET", "/collections", None, token).await, 1);
    let items = format!("/collections/{favorites}/items");
    assert_eq!(flights(&stack, &proxy, &services, "GET", &items, None, token).await, 1);
    let toggle = Some(json!({"renderId": render}));
    assert_eq!(flights(&stack, &proxy, &services, "POST", "/favorites/toggle", toggle, token).await, 2);
    let create = Some(json!({"name": "Kitchen"}));
    assert_eq!(flights(&stack, &proxy, &services, "POST", "/collections", create, token).await, 2);
}
