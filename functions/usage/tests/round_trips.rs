//! `GET /usage` costs one round trip to PostgreSQL, with or without history
//! (BEGIN, identity, the one statement and COMMIT travel together).

use std::sync::Arc;
use testkit::flight_counter::FlightCounter;
use testkit::TestStack;

#[tokio::test(flavor = "current_thread")]
async fn usage_is_one_round_trip() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let port = stack.app.database.server().app_port;
    let proxy = FlightCounter::start(port).await;
    let services = Arc::new(stack.services_through(&proxy));
    let get = |path: &str| usage::handle(&services, stack.request("GET", path, Some(&user.token), None));
    assert_eq!(get("/usage").await.status(), 200, "warms the pool: the handshake is not part of a request");
    for path in ["/usage", "/usage?history=true"] {
        let before = proxy.flights();
        assert_eq!(get(path).await.status(), 200);
        assert_eq!(proxy.flights() - before, 1, "{path}");
    }
}
