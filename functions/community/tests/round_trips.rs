//! `GET /community` costs one round trip to PostgreSQL: BEGIN, the anon
//! identity, the feed and COMMIT travel together.

use shared::app::Services;
use std::sync::Arc;
use testkit::flight_counter::FlightCounter;
use testkit::TestStack;

#[tokio::test(flavor = "current_thread")]
async fn the_public_page_is_one_round_trip() {
    let stack = TestStack::spawn().await;
    let port = stack.app.database.server().app_port;
    let proxy = FlightCounter::start(port).await;
    let mut env = stack.services.env.clone();
    env.database_url = env.database_url.replacen(&format!(":{port}/"), &format!(":{}/", proxy.port), 1);
    env.database_pool_size = 1;
    // The default's flights; prepared statements add one, once per
    // connection and statement (shared/tests/db_connections.rs).
    env.database_statements = shared::db::StatementMode::Unnamed;
    let services = Arc::new(Services::new(env).unwrap());
    let get = || community::handle(&services, stack.request("GET", "/community", None, None));
    assert_eq!(get().await.status(), 200, "warms the pool: the handshake is not part of a request");
    let before = proxy.flights();
    assert_eq!(get().await.status(), 200);
    assert_eq!(proxy.flights() - before, 1);
}
