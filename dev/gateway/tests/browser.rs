//! A real browser (headless Chromium) on another origin runs the product's
//! journey against the local stack: presigned upload straight to Storage's
//! S3 path, submit, progress polling, the gallery and its image. The browser
//! enforces CORS itself, so a preflight or a header the stack gets wrong
//! fails here as it would fail the web app (issue 10, item 6).
//!
//! Chromium comes from `dev/scripts/install-deps.sh` (Debian's `chromium`);
//! `CHROMIUM` names another binary. The journey is bounded by
//! [`JOURNEY_LIMIT`].

mod support;

use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use support::Api;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The whole journey, browser start included.
const JOURNEY_LIMIT: Duration = Duration::from_secs(90);

const FRONT_END: &str = include_str!("browser/front_end.html");

fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|path| path.is_file())
        .expect("no Chromium found: run dev/scripts/install-deps.sh (Debian's chromium) or set CHROMIUM")
}

/// Serves the page on its own origin and passes each `POST /report` body on.
async fn serve_front_end(reports: mpsc::Sender<Value>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    // `localhost` against the API's `127.0.0.1`: another origin, as the web
    // app's domain is to the API's.
    let origin = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let reports = Arc::new(reports);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let reports = Arc::clone(&reports);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let reports = Arc::clone(&reports);
                    async move {
                        let response = if request.uri().path() == "/report" {
                            let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let _ = reports.send(serde_json::from_slice(&body).unwrap_or(Value::Null)).await;
                            Response::new(Full::new(Bytes::new()))
                        } else if request.uri().path() == "/" {
                            let mut page = Response::new(Full::new(Bytes::from_static(FRONT_END.as_bytes())));
                            page.headers_mut().insert("content-type", "text/html; charset=utf-8".parse().unwrap());
                            page
                        } else {
                            let mut missing = Response::new(Full::new(Bytes::new()));
                            *missing.status_mut() = hyper::StatusCode::NOT_FOUND;
                            missing
                        };
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    origin
}

#[tokio::test]
async fn a_browser_on_another_origin_uploads_submits_follows_progress_and_sees_the_gallery() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let (reports, mut received) = mpsc::channel(4);
    let origin = serve_front_end(reports).await;
    let page = format!("{origin}/?api={}&token={}", api.stack.base_url, user.token);

    let profile = std::env::temp_dir().join(format!("browser-test-{}", uuid::Uuid::new_v4()));
    // Chromium's own log, read only if the page never reports.
    let log = profile.with_extension("log");
    let mut browser = tokio::process::Command::new(chromium())
        .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .args(["--disable-extensions", "--disable-background-networking", "--disable-component-update"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&page)
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .kill_on_drop(true)
        .spawn()
        .expect("start Chromium");

    let report = tokio::time::timeout(JOURNEY_LIMIT, received.recv()).await;
    let _ = browser.start_kill();
    let _ = browser.wait().await;
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_file(&log);
    let Ok(Some(report)) = report else {
        panic!("the page reported nothing within {JOURNEY_LIMIT:?}; Chromium said:\n{said}");
    };
    assert_eq!(report["ok"], true, "the journey failed in the browser: {report}");
    assert_eq!(
        report["steps"],
        serde_json::json!(["upload ticket", "presigned upload", "submit", "progress", "gallery"])
    );
    let job_id = report["done"]["jobId"].as_str().unwrap();
    assert!(report["done"]["coverWidth"].as_u64().unwrap() > 0);

    // What the browser did is what the system holds.
    assert_eq!(api.count(&format!("public.generation_jobs where id = '{job_id}' and status = 'succeeded'")).await, 1);
    assert_eq!(api.count(&format!("public.renders where job_id = '{job_id}' and owner_id = '{}'", user.id)).await, 1);
    let fetches = api.stack.sim.input_fetches();
    assert!(fetches.iter().any(|(_, status)| *status == Some(200)), "Replicate read the browser's upload: {fetches:?}");
}
