//! Database round trips per request (DESIGN.md: a read costs one where
//! possible): counted by a proxy between the handler and PostgreSQL.

use testkit::flight_counter::FlightCounter;
use testkit::TestStack;

#[tokio::test]
async fn gallery_and_render_reads_take_one_round_trip() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render) = stack.app.seed_render(&user, 3).await;
    let port = stack.app.database.server().app_port;
    let proxy = FlightCounter::start(port).await;
    let services = stack.services_through(&proxy);

    let detail = format!("/renders/{render}");
    // The first request also opens the connection: not counted.
    for (path, counted) in [("/renders", false), ("/renders?limit=24&style=modern", true), (detail.as_str(), true)] {
        let before = proxy.flights();
        let response = renders::handle(&services, stack.request("GET", path, Some(&user.token), None)).await;
        assert_eq!(response.status(), 200, "{path}");
        if counted {
            assert_eq!(proxy.flights() - before, 1, "{path}");
        }
    }
}
