//! `TestStack`: everything a function needs, real and local — a fresh
//! migrated database, the S3 server, the Replicate simulator — and the
//! `Services` the functions build from them. The webhook URL points at a
//! listener the test serves (through the dev gateway) when it wants the
//! simulator's webhooks to arrive.

use crate::flight_counter::FlightCounter;
use crate::s3::S3Server;
use crate::tokens::TEST_JWT_SECRET;
use crate::{TestApp, TestUser};
use lambda_http::http::HeaderMap;
use replicate_sim::{SimConfig, SimHandle};
use serde_json::Value;
use shared::app::Services;
use shared::config::{Environment, PlanTable, RateLimits};
use shared::http::{Body, Request, Response};
use shared::replicate::{OutputPolicy, ReplicateConfig};
use shared::storage::PRIVATE_BUCKET;
use std::sync::Arc;
use tokio::net::TcpListener;

pub enum S3Choice {
    Shared,
    /// The test's own server, which it may stop and start.
    Dedicated,
}

pub struct TestStack {
    pub app: TestApp,
    pub services: Arc<Services>,
    pub sim: SimHandle,
    dedicated_s3: Option<S3Server>,
    /// Supabase Auth's admin API, as the functions see it.
    pub auth_admin: crate::auth_admin::AuthAdminServer,
    listener: Option<TcpListener>,
    /// Where the test's gateway will listen, e.g. `http://127.0.0.1:PORT`.
    pub base_url: String,
}

impl TestStack {
    pub async fn spawn() -> Self {
        Self::spawn_with(S3Choice::Shared).await
    }

    pub async fn spawn_with(s3: S3Choice) -> Self {
        let app = TestApp::spawn().await;
        let sim = replicate_sim::spawn(SimConfig::default()).await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind gateway listener");
        let base_url = format!("http://{}", listener.local_addr().expect("listener address"));
        let dedicated_s3 = match s3 {
            S3Choice::Shared => None,
            S3Choice::Dedicated => Some(S3Server::dedicated()),
        };
        let s3_server = dedicated_s3.as_ref().unwrap_or_else(|| S3Server::shared());
        let public_storage_url = format!("{base_url}/storage/v1/object/public");
        let sim_host = sim.url().trim_start_matches("http://").to_string();
        let auth_admin = crate::auth_admin::AuthAdminServer::start(app.database.admin_url()).await;
        let env = Environment {
            database_url: app.database.app_url(),
            database_ca_cert: None,
            database_pool_size: 8,
            database_statements: app.database.server().statements,
            // The project the test tokens name as issuer (`TEST_ISSUER`);
            // nothing is served there (tokens are HS256, objects have
            // `public_storage_url`).
            supabase_url: crate::tokens::TEST_ISSUER.trim_end_matches("/auth/v1").to_string(),
            jwt_secret: Some(TEST_JWT_SECRET.to_string()),
            public_storage_url: public_storage_url.clone(),
            plans: PlanTable::default(),
            rate_limits: RateLimits::default(),
            clean_inputs: shared::images::CleanSettings::default(),
            input_retention: std::time::Duration::from_secs(30 * 24 * 60 * 60),
            auth_admin: Some(auth_admin.admin()),
            storage: s3_server.config(&public_storage_url),
            replicate: ReplicateConfig {
                api_url: sim.url(),
                api_token: sim.api_token().to_string(),
                model: "google/nano-banana".into(),
                model_inputs: shared::replicate::ModelInputs::default(),
                webhook_url: Some(format!("{base_url}/api/v1/webhooks/replicate")),
                webhook_secret: sim.webhook_secret().to_string(),
                output_policy: OutputPolicy {
                    allowed_hosts: vec![sim_host],
                    allow_http: true,
                    max_bytes: 25 * 1024 * 1024,
                },
            },
        };
        let services = Arc::new(Services::new(env).expect("services"));
        TestStack { app, services, sim, dedicated_s3, auth_admin, listener: Some(listener), base_url }
    }

    /// The functions' services on one connection through `proxy` (a
    /// [`FlightCounter`] in front of the functions' database port), sending
    /// statements unnamed, the default: what a round-trip count measures
    /// (prepared statements add one flight, once per connection and
    /// statement).
    pub fn services_through(&self, proxy: &FlightCounter) -> Services {
        let mut env = self.services.env.clone();
        env.database_url = self.app.database.app_url_at(proxy.port);
        env.database_pool_size = 1;
        env.database_statements = shared::db::StatementMode::Unnamed;
        Services::new(env).expect("services")
    }

    /// The listener for the test's gateway (once).
    pub fn take_listener(&mut self) -> TcpListener {
        self.listener.take().expect("listener already taken")
    }

    /// The dedicated S3 server (for outage tests).
    pub fn s3(&self) -> &S3Server {
        self.dedicated_s3.as_ref().expect("spawned with S3Choice::Dedicated")
    }

    pub fn api_url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base_url)
    }

    pub async fn create_user(&self) -> TestUser {
        self.app.create_user().await
    }

    /// A request as API Gateway would hand it to a function.
    pub fn request(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Request {
        let mut builder = lambda_http::http::Request::builder().method(method).uri(format!("/api/v1{path}"));
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                builder = builder.header("content-type", "application/json");
                Body::Text(json.to_string())
            }
            None => Body::Empty,
        };
        builder.body(body).expect("request")
    }

    /// Calls a function's handler with the request API Gateway would hand it
    /// (`path` under `/api/v1`, `token` as the bearer) and reads its answer:
    /// the one way every function's own tests call it. Every answer, error
    /// or not, carries the request id its logs are found by.
    pub async fn reply(
        &self,
        handler: impl AsyncFn(&Services, Request) -> Response<Body>,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let response = handler(&self.services, self.request(method, path, token, body)).await;
        assert!(response.headers().contains_key("x-request-id"), "{method} {path}: no x-request-id");
        Reply { status: response.status().as_u16(), body: json(&response), headers: response.headers().clone() }
    }

    /// [`TestStack::reply`]'s status and JSON body.
    pub async fn call(
        &self,
        handler: impl AsyncFn(&Services, Request) -> Response<Body>,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let reply = self.reply(handler, method, path, token, body).await;
        (reply.status, reply.body)
    }

    /// Stores a real JPEG as `user`'s upload and returns its path, as the
    /// client would after `POST /uploads` and the presigned PUT.
    pub async fn upload_input(&self, user: &TestUser) -> String {
        self.upload_bytes(user, test_jpeg(64, 48), shared::storage::ImageType::Jpeg).await
    }

    pub async fn upload_bytes(
        &self,
        user: &TestUser,
        bytes: Vec<u8>,
        image_type: shared::storage::ImageType,
    ) -> String {
        let path = shared::storage::InputPath::new(user.id, image_type);
        self.services
            .storage
            .put(PRIVATE_BUCKET, &path.bucket_key(), bytes, image_type.content_type())
            .await
            .expect("store input");
        path.db_path()
    }
}

/// A function's answer: status, headers and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Reply {
    /// A header's value as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }

    /// The error code of an error answer.
    pub fn error_code(&self) -> &str {
        error_code(&self.body)
    }
}

/// The `error.code` of an error body.
pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}"))
}

/// A small real JPEG (a gradient), for inputs.
pub fn test_jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, 128]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Jpeg).expect("encode jpeg");
    bytes.into_inner()
}

/// A small real PNG (a gradient).
pub fn test_png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 4) as u8, 90, (y * 4) as u8]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).expect("encode png");
    bytes.into_inner()
}

/// Reads a response body as JSON.
pub fn json(response: &shared::http::Response<Body>) -> Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("json body"),
        Body::Binary(bytes) => serde_json::from_slice(bytes).expect("json body"),
        _ => Value::Null,
    }
}
