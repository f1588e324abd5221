//! Instructions per request on the hot paths (BENCHMARKS.md, "Instructions
//! per request"), counted by callgrind so that the figure does not depend on
//! the machine or its load.
//!
//! `cpu_per_request <path>[,<path>...] <n>[,<n>...]` prepares each path, runs
//! a few unmeasured requests (connections, JWKS, lazily built state), then one
//! batch of `n` requests per count, each batch inside [`measured_batch`].
//! `dev/scripts/cpu_per_request.sh` runs it under
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured_batch' --dump-after='*measured_batch'`:
//! every batch becomes one dump holding only its own instructions, and
//! (Ir(n2) - Ir(n1)) / (n2 - n1) is the cost of one request with whatever a
//! batch costs once cancelled out. Everything runs on one current-thread
//! runtime, so the work of a request (the connection task included) happens
//! on this thread, inside the batch. Run natively, it prints wall time per
//! request instead: a sanity check, not the figure.
//!
//! Paths: `token-hs256` and `token-es256` verify an access token seen for
//! the first time (a new token each request; ES256 with the JWKS already
//! cached); `token-es256-kept` is a warm environment's repeat caller, whose
//! token was verified before (`shared::auth`'s verified tokens); `json-submit` parses and validates a
//! `POST /generations` body; `json-renders` builds and serializes a
//! `GET /renders` page of 24 items; `handler-*` run a function's handler
//! in-process against the test stack's PostgreSQL (pool of one connection,
//! already open) with no `tracing` subscriber, like the throughput bench;
//! `handler-renders-logged` is `handler-renders` with the functions' JSON
//! log subscriber (`shared::telemetry`), as on Lambda.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use serde_json::json;
use shared::app::Services;
use shared::auth::{AuthConfig, TokenVerifier};
use shared::flows::submit::{self, SubmitRequest};
use shared::http::{self, Body, CacheControl, Request};
use shared::repositories::pagination::{Cursor, Page};
use shared::repositories::renders::{Render, RenderListItem};
use shared::storage::{ImageType, InputPath, Storage, StorageConfig};
use shared::views::RenderPageView;
use testkit::jwks::JwksServer;
use testkit::tokens::{TokenBuilder, TEST_JWT_SECRET};
use testkit::{TestStack, TestUser};
use tokio::runtime::Runtime;
use uuid::Uuid;

const PATHS: &[&str] = &[
    "token-hs256",
    "token-es256",
    "token-es256-kept",
    "json-submit",
    "json-renders",
    "handler-renders",
    "handler-renders-logged",
    "handler-render",
    "handler-usage",
    "handler-collections",
    "handler-favorite-toggle",
];

/// Unmeasured requests before the batches. Even, so that the favourite toggle
/// starts every batch in the same state.
const WARM_UP: usize = 4;

/// Distinct tokens of the first-sight paths: more than the warm-up and the
/// batches use, so none is seen twice.
const DISTINCT_TOKENS: usize = 512;

/// Items of a gallery page, the app's default page size.
const PAGE_ITEMS: usize = 24;

/// The only code callgrind counts (`--toggle-collect`), and where it dumps
/// (`--dump-after`): one batch of requests, driven to completion.
#[inline(never)]
fn measured_batch(runtime: &Runtime, batch: Pin<Box<dyn Future<Output = ()> + '_>>) {
    runtime.block_on(batch);
}

/// What one path's requests need, prepared before anything is measured.
enum Workload {
    /// Requests take `tokens` in turn, so a long list means first sights
    /// and a list of one the same caller again.
    Token {
        verifier: TokenVerifier,
        tokens: Vec<String>,
        next: std::cell::Cell<usize>,
        _jwks: Option<JwksServer>,
    },
    SubmitBody {
        request: Request,
        owner: Uuid,
    },
    RendersPage {
        page: Page<RenderListItem>,
        storage: Storage,
    },
    /// A request through `gateway::dispatch`, which hands it to the same
    /// handler function its Lambda runs.
    Handler {
        services: Arc<Services>,
        method: &'static str,
        path: String,
        body: Option<serde_json::Value>,
    },
}

/// The test stack and what the handler paths share: one user with a gallery.
struct Fixture {
    stack: TestStack,
    user: TestUser,
    services: Arc<Services>,
    render_ids: Vec<Uuid>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(paths), Some(counts)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cpu_per_request <path>[,<path>...]|all <n>[,<n>...]\npaths: {}", PATHS.join(" "));
        std::process::exit(2);
    };
    let paths: Vec<&str> = if paths == "all" { PATHS.to_vec() } else { paths.split(',').collect() };
    if let Some(unknown) = paths.iter().find(|path| !PATHS.contains(path)) {
        eprintln!("unknown path {unknown}; paths: {}", PATHS.join(" "));
        std::process::exit(2);
    }
    let counts: Vec<usize> = counts.split(',').map(|n| n.parse().expect("counts are positive integers")).collect();

    // The functions' own subscriber; every path but the `-logged` ones runs
    // with none instead (see `measure`).
    shared::telemetry::init();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let fixture = paths.iter().any(|path| path.starts_with("handler-")).then(|| runtime.block_on(Fixture::spawn()));

    for path in paths {
        let measure_path = || measure(&runtime, path, fixture.as_ref(), &counts);
        if path.ends_with("-logged") {
            measure_path();
        } else {
            tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), measure_path);
        }
    }
}

/// Prepares `path`, warms it up, then runs one measured batch per count.
fn measure(runtime: &Runtime, path: &str, fixture: Option<&Fixture>, counts: &[usize]) {
    let workload = runtime.block_on(Workload::prepare(path.trim_end_matches("-logged"), fixture));
    runtime.block_on(workload.run(fixture, WARM_UP));
    for &count in counts {
        // Handler requests are built before the batch: on Lambda the runtime
        // builds them, which is not the function's work.
        let batch = Box::pin(workload.run(fixture, count));
        let started = Instant::now();
        measured_batch(runtime, batch);
        let per_request = started.elapsed().as_secs_f64() * 1e6 / count as f64;
        eprintln!("{path} n={count}: {per_request:.1} µs per request (wall clock)");
    }
}

impl Fixture {
    async fn spawn() -> Self {
        let stack = TestStack::spawn().await;
        let user = stack.create_user().await;
        let mut render_ids = Vec::new();
        for _ in 0..30 {
            render_ids.push(stack.app.seed_render(&user, 2).await.1);
        }
        // One connection, opened by the warm-up: every measured request reuses it.
        let mut env = stack.services.env.clone();
        env.database_pool_size = 1;
        let services = Arc::new(Services::new(env).expect("services"));
        let fixture = Fixture { stack, user, services, render_ids };
        // A gallery as the app shows it: a few favourites (which creates
        // "My Favorites") and three collections of the user's own.
        for render in &fixture.render_ids[..5] {
            fixture.call("POST", "/favorites/toggle", Some(json!({ "renderId": render }))).await;
        }
        for name in ["Living room ideas", "Client: Berlin flat", "Maybe later"] {
            fixture.call("POST", "/collections", Some(json!({ "name": name }))).await;
        }
        fixture
    }

    async fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) {
        let request = self.stack.request(method, path, Some(&self.user.token), body);
        let status = gateway::dispatch(&self.services, request).await.status();
        assert!(status.is_success(), "{method} {path} answered {status}");
    }
}

impl Workload {
    async fn prepare(path: &str, fixture: Option<&Fixture>) -> Self {
        let handler = |method, path: String, body| {
            let fixture = fixture.expect("handler paths have a fixture");
            Workload::Handler { services: Arc::clone(&fixture.services), method, path, body }
        };
        match path {
            "token-hs256" => {
                let config = AuthConfig { jwt_secret: Some(TEST_JWT_SECRET.into()), jwks_url: None, issuer: None };
                let tokens = (0..DISTINCT_TOKENS).map(|_| TokenBuilder::hs256().user_id(Uuid::new_v4()).build());
                let tokens = tokens.collect();
                Workload::Token { verifier: TokenVerifier::new(config), tokens, next: 0.into(), _jwks: None }
            }
            "token-es256" | "token-es256-kept" => {
                let jwks = JwksServer::start().await;
                let config = AuthConfig { jwt_secret: None, jwks_url: Some(jwks.url()), issuer: None };
                let count = if path == "token-es256" { DISTINCT_TOKENS } else { 1 };
                let tokens = (0..count).map(|_| TokenBuilder::es256().user_id(Uuid::new_v4()).build()).collect();
                Workload::Token { verifier: TokenVerifier::new(config), tokens, next: 0.into(), _jwks: Some(jwks) }
            }
            "json-submit" => {
                let owner = Uuid::new_v4();
                let body = json!({
                    "mode": "redesign",
                    "roomType": "living_room",
                    "style": "scandinavian",
                    "prompt": "keep the fireplace, warmer light, a reading corner by the window",
                    "input1Path": InputPath::new(owner, ImageType::Jpeg).db_path(),
                    "idempotencyKey": Uuid::new_v4(),
                });
                let request = lambda_http::http::Request::builder()
                    .method("POST")
                    .uri("/api/v1/generations")
                    .header("content-type", "application/json")
                    .body(Body::Text(body.to_string()))
                    .expect("request");
                Workload::SubmitBody { request, owner }
            }
            "json-renders" => Workload::RendersPage { page: gallery_page(), storage: Storage::new(&storage_config()) },
            "handler-renders" => handler("GET", "/renders?limit=24".into(), None),
            "handler-render" => {
                let id = fixture.expect("handler paths have a fixture").render_ids[0];
                handler("GET", format!("/renders/{id}"), None)
            }
            "handler-usage" => handler("GET", "/usage".into(), None),
            "handler-collections" => handler("GET", "/collections".into(), None),
            "handler-favorite-toggle" => {
                let id = fixture.expect("handler paths have a fixture").render_ids[10];
                handler("POST", "/favorites/toggle".into(), Some(json!({ "renderId": id })))
            }
            _ => unreachable!("paths are checked in main"),
        }
    }

    /// `count` requests of this path, one after the other.
    fn run<'a>(&'a self, fixture: Option<&'a Fixture>, count: usize) -> impl Future<Output = ()> + 'a {
        let requests: Vec<Request> = match self {
            Workload::Handler { method, path, body, .. } => {
                let fixture = fixture.expect("handler paths have a fixture");
                (0..count)
                    .map(|_| fixture.stack.request(method, path, Some(&fixture.user.token), body.clone()))
                    .collect()
            }
            _ => Vec::new(),
        };
        async move {
            match self {
                Workload::Token { verifier, tokens, next, .. } => {
                    for _ in 0..count {
                        let token = &tokens[next.get() % tokens.len()];
                        next.set(next.get() + 1);
                        black_box(verifier.verify(black_box(token)).await.expect("token verifies"));
                    }
                }
                Workload::SubmitBody { request, owner } => {
                    for _ in 0..count {
                        let body = SubmitRequest::from_request(black_box(request)).expect("body parses");
                        black_box(submit::validate(&body, *owner).expect("body is valid"));
                    }
                }
                Workload::RendersPage { page, storage } => {
                    for _ in 0..count {
                        let view = RenderPageView::new(black_box(page), storage);
                        black_box(http::ok(
                            "0b6f3c52-5a1e-4d8e-9a51-0d0c3f1e2a77",
                            &view,
                            CacheControl::PrivateNoStore,
                        ));
                    }
                }
                Workload::Handler { services, .. } => {
                    for request in requests {
                        let status = gateway::dispatch(services, request).await.status();
                        assert!(status.is_success(), "handler answered {status}");
                    }
                }
            }
        }
    }
}

/// A full first page of the gallery as `list_renders` returns it: mixed
/// modes and presets, a cover each, a few favourites, a next cursor.
fn gallery_page() -> Page<RenderListItem> {
    let owner = Uuid::new_v4();
    let first = Utc.with_ymd_and_hms(2026, 11, 20, 9, 30, 0).single().expect("valid date");
    let items: Vec<RenderListItem> = (0..PAGE_ITEMS)
        .map(|index| {
            let id = Uuid::new_v4();
            let render = Render {
                id,
                job_id: Uuid::new_v4(),
                owner_id: owner,
                mode: ["redesign", "staging", "compose", "imagine"][index % 4].into(),
                room_type: Some(["living_room", "kitchen", "bedroom"][index % 3].into()),
                style: Some(["scandinavian", "japandi", "modern", "coastal"][index % 4].into()),
                cover_variant: (index % 2) as i32,
                created_at: first - chrono::Duration::minutes(17 * index as i64),
            };
            RenderListItem {
                render,
                cover_image_path: Some(format!("renders/{id}/{}.jpg", index % 2)),
                cover_thumb_path: Some(format!("renders/{id}/{}_thumb.webp", index % 2)),
                variant_count: 2,
                is_favorite: index % 5 == 0,
            }
        })
        .collect();
    let last = &items[PAGE_ITEMS - 1].render;
    let next_cursor = Some(Cursor { created_at: last.created_at, id: last.id });
    Page { items, next_cursor }
}

/// Storage is only asked for public URLs here; nothing connects.
fn storage_config() -> StorageConfig {
    StorageConfig {
        endpoint: "http://127.0.0.1:9100".into(),
        region: "local".into(),
        access_key_id: "cpu-per-request".into(),
        secret_access_key: "cpu-per-request".into(),
        public_base_url: "http://127.0.0.1:9000/storage/v1/object/public".into(),
    }
}
