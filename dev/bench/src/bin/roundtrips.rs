//! Round trips to PostgreSQL per route (BENCHMARKS.md, "Round trips").
//!
//! The functions' connections go through a proxy that counts flights (a
//! client send after a server reply starts a new one) and, in a second pass,
//! adds 10 ms each way, as a network between Lambda and the database would.
//! Every route runs once to warm the pool (the handshake is not part of a
//! request), then `RUNS` times; the table reports flights per request (exact)
//! and the latency added by 10 ms each way divided by 20 ms (round trips as
//! the user feels them).

use serde_json::json;
use shared::app::Services;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::flight_counter::FlightCounter;
use testkit::TestStack;

const RUNS: u32 = 5;
const ONE_WAY: Duration = Duration::from_millis(10);

struct Route {
    name: &'static str,
    target: u32,
    method: &'static str,
    path: String,
    body: Option<serde_json::Value>,
}

async fn services_via(stack: &TestStack, proxy: &FlightCounter) -> Arc<Services> {
    Arc::new(stack.services_through(proxy))
}

async fn call(services: &Services, stack: &TestStack, token: &str, route: &Route) -> u16 {
    let request = stack.request(route.method, &route.path, Some(token), route.body.clone());
    gateway::dispatch(services, request).await.status().as_u16()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let mut seeded = (uuid::Uuid::nil(), uuid::Uuid::nil());
    for _ in 0..30 {
        seeded = stack.app.seed_render(&user, 2).await;
    }
    let (job_id, render) = seeded;

    let routes = [
        Route { name: "GET /renders", target: 1, method: "GET", path: "/renders?limit=24".into(), body: None },
        Route { name: "GET /renders/{id}", target: 1, method: "GET", path: format!("/renders/{render}"), body: None },
        Route { name: "GET /collections", target: 1, method: "GET", path: "/collections".into(), body: None },
        Route { name: "GET /usage", target: 1, method: "GET", path: "/usage".into(), body: None },
        Route {
            name: "GET /generations/{id}",
            target: 1,
            method: "GET",
            path: format!("/generations/{job_id}"),
            body: None,
        },
        Route { name: "GET /community", target: 1, method: "GET", path: "/community".into(), body: None },
        Route {
            name: "POST /favorites/toggle",
            target: 2,
            method: "POST",
            path: "/favorites/toggle".into(),
            body: Some(json!({"renderId": render})),
        },
        Route {
            name: "POST /collections",
            target: 2,
            method: "POST",
            path: "/collections".into(),
            body: Some(json!({"name": "bench"})),
        },
    ];

    let upstream = stack.app.database.server().app_port;
    let counting = FlightCounter::start(upstream).await;
    let slow = FlightCounter::start_with_latency(upstream, ONE_WAY).await;
    let counted = services_via(&stack, &counting).await;
    let delayed = services_via(&stack, &slow).await;

    println!("| route | target | flights per request | added latency at 10 ms each way | = round trips felt |");
    println!("| --- | --- | --- | --- | --- |");
    for (index, route) in routes.iter().enumerate() {
        let route = Route { body: route.body.clone().map(|b| renamed(b, index)), ..clone(route) };
        call(&counted, &stack, &user.token, &route).await;
        call(&delayed, &stack, &user.token, &route).await;
        let before = counting.flights();
        let mut status = 0;
        for run in 0..RUNS {
            let route = Route { body: route.body.clone().map(|b| renamed(b, run as usize + 100)), ..clone(&route) };
            status = call(&counted, &stack, &user.token, &route).await;
        }
        let flights = (counting.flights() - before) as f64 / RUNS as f64;
        let baseline = time(&counted, &stack, &user.token, &route).await;
        let slowed = time(&delayed, &stack, &user.token, &route).await;
        let added = slowed.saturating_sub(baseline);
        let felt = added.as_secs_f64() / (2.0 * ONE_WAY.as_secs_f64());
        println!(
            "| {} | {} | {:.1} | {:.1} ms | {:.1} | <!-- status {status} -->",
            route.name,
            route.target,
            flights,
            added.as_secs_f64() * 1000.0,
            felt
        );
    }
    submit_round_trips(&stack, &counting, &counted, &delayed, &user).await;
}

/// Each POST /collections needs a fresh name (names are unique per user).
fn renamed(body: serde_json::Value, index: usize) -> serde_json::Value {
    match body.get("name") {
        Some(_) => json!({"name": format!("bench {index}")}),
        None => body,
    }
}

fn clone(route: &Route) -> Route {
    Route {
        name: route.name,
        target: route.target,
        method: route.method,
        path: route.path.clone(),
        body: route.body.clone(),
    }
}

async fn time(services: &Services, stack: &TestStack, token: &str, route: &Route) -> Duration {
    let mut best = Duration::MAX;
    for run in 0..RUNS {
        let route = Route { body: route.body.clone().map(|b| renamed(b, run as usize + 1000)), ..clone(route) };
        let started = Instant::now();
        call(services, stack, token, &route).await;
        best = best.min(started.elapsed());
    }
    best
}

/// Submit: flights to PostgreSQL only (the Replicate call goes to the
/// simulator, not through the proxy). The latency columns time the submit
/// alone (the cancel that frees the user for the next one is not timed); the
/// simulator's share is the same with and without the delay, so it cancels.
async fn submit_round_trips(
    stack: &TestStack,
    counting: &FlightCounter,
    counted: &Services,
    delayed: &Services,
    user: &testkit::TestUser,
) {
    // The simulator runs in this process: a prediction that finished would
    // encode its JPEG on this thread while a submit is being timed. These
    // are canceled long before they would run.
    let idle = replicate_sim::Behaviour { processing_ms: 3_600_000, ..Default::default() };
    stack.sim.set_behaviour(idle, None);
    stack.app.set_plan(user, Some("price_monthly"), true).await;
    let mut submit_flights = 0;
    let mut baseline = Duration::MAX;
    for _ in 0..RUNS {
        let before = counting.flights();
        let (took, after_submit) = submit_then_cancel(stack, counted, user, counting).await;
        submit_flights += after_submit - before;
        baseline = baseline.min(took);
    }
    let flights = submit_flights as f64 / RUNS as f64;
    let mut slowed = Duration::MAX;
    for _ in 0..RUNS {
        slowed = slowed.min(submit_then_cancel(stack, delayed, user, counting).await.0);
    }
    let added = slowed.saturating_sub(baseline);
    println!(
        "| POST /generations (excluding the Replicate call) | 3 | {flights:.1} | {:.1} ms | {:.1} |",
        added.as_secs_f64() * 1000.0,
        added.as_secs_f64() / (2.0 * ONE_WAY.as_secs_f64())
    );
}

/// Times one submit, then cancels the job so the next submit is not refused
/// as in flight. Returns the time and the counter's reading right after the
/// submit (before the cancel's flights).
async fn submit_then_cancel(
    stack: &TestStack,
    services: &Services,
    user: &testkit::TestUser,
    counting: &FlightCounter,
) -> (Duration, u64) {
    let body = json!({"mode": "imagine", "prompt": "a calm study"});
    let request = stack.request("POST", "/generations", Some(&user.token), Some(body));
    let started = Instant::now();
    let response = gateway::dispatch(services, request).await;
    let took = started.elapsed();
    let flights_after_submit = counting.flights();
    assert_eq!(response.status().as_u16(), 202, "submit: {:?}", response.body());
    let job = testkit::stack::json(&response)["data"]["id"].as_str().unwrap_or_default().to_string();
    let cancel = stack.request("POST", &format!("/generations/{job}/cancel"), Some(&user.token), None);
    gateway::dispatch(services, cancel).await;
    (took, flights_after_submit)
}
