//! `GET /community` costs one round trip to PostgreSQL: BEGIN, the anon
//! identity, the feed and COMMIT travel together.

use std::sync::Arc;
use testkit::flight_counter::FlightCounter;
use testkit::TestStack;

#[tokio::test(flavor = "current_thread")]
async fn the_public_page_is_one_round_trip() {
    let stack = TestStack::spawn().await;
    let port = stack.app.database.server().app_port;
    let proxy = FlightCounter::start(port).await;
    let services = Arc::new(stack.services_through(&proxy));
    let get = || community::handle(&services, stack.request("GET", "/community", None, None));
    assert_eq!(get().await.status(), 200, "warms the pool: the handshake is not part of a request");
    let before = proxy.flights();
    assert_eq!(get().await.status(), 200);
    assert_eq!(proxy.flights() - before, 1);
}
