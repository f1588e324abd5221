//! What each function is started with and fed: its environment (the variables
//! `shared::config` reads, pointing at a test stack of its own) and events
//! for its typical route, as API Gateway (payload 2.0), Replicate and the
//! schedule deliver them. Every event does real work and should answer 2xx;
//! events that consume something (a job to cancel, a prediction to record)
//! are made fresh, one per invocation.

use replicate_sim::{Behaviour, WebhookMode};
use serde_json::{json, Value};
use testkit::tokens::{TokenBuilder, TEST_JWT_SECRET};
use testkit::{TestStack, TestUser};
use uuid::Uuid;

/// Memory sizes of template.yaml (Globals: 256).
fn template_memory_mb(function: &str) -> u32 {
    match function {
        "presets" => 128,
        "get-job" | "replicate-webhook" | "sweep-jobs" => 512,
        _ => 256,
    }
}

pub struct Fixture {
    /// The binary.
    pub function: &'static str,
    /// How the table and the log file name it.
    pub label: String,
    /// A diagnostic run: the AWS SDK's HTTPS client finds no system CA
    /// certificates to load (what that loading costs at init).
    pub without_system_roots: bool,
    pub memory_mb: u32,
    pub route: &'static str,
    /// `None` for the hello-world baseline, which needs nothing.
    stack: Option<TestStack>,
    user: Option<TestUser>,
    admin_token: String,
    /// A finished job of `user`'s (one of 30 renders), for GET /generations/{id}.
    finished_job: Uuid,
}

impl Fixture {
    pub fn hello() -> Self {
        Fixture {
            function: "hello_lambda",
            label: "hello_lambda".into(),
            without_system_roots: false,
            memory_mb: 128,
            route: "echo (no I/O)",
            stack: None,
            user: None,
            admin_token: String::new(),
            finished_job: Uuid::nil(),
        }
    }

    pub async fn new(function: &'static str) -> Self {
        let stack = TestStack::spawn().await;
        // Predictions run "forever" and send no webhook: the benchmark decides
        // when one ends (cancel, or `complete_now` for a webhook to deliver).
        let long_running = Behaviour { webhook: WebhookMode::None, processing_ms: 3_600_000, ..Behaviour::default() };
        stack.sim.set_behaviour(long_running, None);
        let user = stack.create_user().await;
        let mut finished_job = Uuid::nil();
        for _ in 0..30 {
            finished_job = stack.app.seed_render(&user, 2).await.0;
        }
        let admin = stack.create_user().await;
        let admin_token = TokenBuilder::hs256().user_id(admin.id).email("admin@example.test").admin().build();
        let route = match function {
            "uploads" => "POST /uploads",
            "submit-job" => "POST /generations (redesign)",
            "get-job" => "GET /generations/{id}",
            "cancel-job" => "POST /generations/{id}/cancel",
            "replicate-webhook" => "POST /webhooks/replicate (succeeded)",
            "sweep-jobs" => "scheduled event",
            "renders" => "GET /renders?limit=24",
            "collections" => "GET /collections",
            "community" => "GET /community",
            "community-admin" => "POST /admin/community/collections",
            "usage" => "GET /usage",
            "presets" => "GET /presets",
            other => panic!("no fixture for {other}"),
        };
        Fixture {
            function,
            label: function.into(),
            without_system_roots: false,
            memory_mb: template_memory_mb(function),
            route,
            stack: Some(stack),
            user: Some(user),
            admin_token,
            finished_job,
        }
    }

    /// `function` as in [`Fixture::new`], with `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR` naming nothing to load.
    pub async fn without_system_roots(function: &'static str) -> Self {
        let fixture = Self::new(function).await;
        Fixture { label: format!("{function}-no-system-ca-certs"), without_system_roots: true, ..fixture }
    }

    /// The function's environment as Lambda would give it (without the
    /// `AWS_LAMBDA_*` runtime variables, which the caller adds).
    pub fn environment(&self) -> Vec<(String, String)> {
        let Some(stack) = &self.stack else { return Vec::new() };
        let env = &stack.services.env;
        let replicate = &env.replicate;
        let pairs = [
            ("DATABASE_URL", env.database_url.clone()),
            ("SUPABASE_URL", env.supabase_url.clone()),
            ("SUPABASE_JWT_SECRET", TEST_JWT_SECRET.to_string()),
            ("PUBLIC_STORAGE_URL", env.public_storage_url.clone()),
            ("S3_ENDPOINT", env.storage.endpoint.clone()),
            ("S3_REGION", env.storage.region.clone()),
            ("S3_ACCESS_KEY_ID", env.storage.access_key_id.clone()),
            ("S3_SECRET_ACCESS_KEY", env.storage.secret_access_key.clone()),
            ("REPLICATE_API_URL", replicate.api_url.clone()),
            ("REPLICATE_API_TOKEN", replicate.api_token.clone()),
            ("REPLICATE_WEBHOOK_SECRET", replicate.webhook_secret.clone()),
            ("REPLICATE_OUTPUT_HOSTS", replicate.output_policy.allowed_hosts.join(",")),
            ("REPLICATE_OUTPUT_ALLOW_HTTP", replicate.output_policy.allow_http.to_string()),
        ];
        let mut environment: Vec<(String, String)> =
            pairs.into_iter().map(|(name, value)| (name.to_string(), value)).collect();
        // As in template.yaml: only the function that starts predictions knows the webhook's URL.
        if self.function == "submit-job" {
            environment.push(("WEBHOOK_URL".into(), replicate.webhook_url.clone().unwrap_or_default()));
        }
        if self.without_system_roots {
            let empty_dir = std::env::temp_dir().join("coldstart-no-ca-certs");
            std::fs::create_dir_all(&empty_dir).expect("create empty CA dir");
            environment.push(("SSL_CERT_FILE".into(), "/dev/null".into()));
            environment.push(("SSL_CERT_DIR".into(), empty_dir.display().to_string()));
        }
        environment
    }

    /// `count` events for one cold start, made before the process starts so
    /// that preparing them never overlaps what is measured.
    pub async fn events(&self, count: usize) -> Vec<Value> {
        let mut events = Vec::with_capacity(count);
        for index in 0..count {
            events.push(self.event(index).await);
        }
        events
    }

    async fn event(&self, index: usize) -> Value {
        let (Some(stack), Some(user)) = (&self.stack, &self.user) else {
            return json!({ "hello": index });
        };
        let token = user.token.as_str();
        let job_id = self.finished_job;
        match self.function {
            "uploads" => http_event(
                "POST",
                "/uploads",
                Some(token),
                Some(json!({"contentType": "image/jpeg", "sizeBytes": 48_213})),
            ),
            "submit-job" => {
                // One in flight per user: each submit is a fresh user's first.
                let submitter = paid_user(stack).await;
                let input = stack.upload_input(&submitter).await;
                let body =
                    json!({"mode": "redesign", "roomType": "living_room", "style": "japandi", "input1Path": input});
                http_event("POST", "/generations", Some(&submitter.token), Some(body))
            }
            "get-job" => http_event("GET", &format!("/generations/{job_id}"), Some(token), None),
            "cancel-job" => {
                let (owner, job) = running_job(stack).await;
                http_event("POST", &format!("/generations/{job}/cancel"), Some(&owner.token), None)
            }
            "replicate-webhook" => succeeded_webhook(stack).await,
            "sweep-jobs" => scheduled_event(),
            "renders" => http_event("GET", "/renders?limit=24", Some(token), None),
            "collections" => http_event("GET", "/collections", Some(token), None),
            "community" => http_event("GET", "/community", Some(token), None),
            "community-admin" => http_event(
                "POST",
                "/admin/community/collections",
                Some(&self.admin_token),
                Some(json!({"title": format!("Bench collection {}", Uuid::new_v4().simple())})),
            ),
            "usage" => http_event("GET", "/usage", Some(token), None),
            "presets" => http_event("GET", "/presets", Some(token), None),
            other => panic!("no events for {other}"),
        }
    }
}

async fn paid_user(stack: &TestStack) -> TestUser {
    let user = stack.create_user().await;
    stack.app.set_plan(&user, Some("price_monthly"), true).await;
    user
}

/// A fresh user's generation, submitted and still running at the simulator.
async fn running_job(stack: &TestStack) -> (TestUser, Uuid) {
    let owner = paid_user(stack).await;
    let request =
        stack.request("POST", "/generations", Some(&owner.token), Some(json!({"mode": "imagine", "prompt": "a loft"})));
    let response = gateway::dispatch(&stack.services, request).await;
    let body = testkit::stack::json(&response);
    let job = body["data"]["id"].as_str().and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("submit: {body}"));
    (owner, job)
}

/// Replicate's webhook for a generation that just succeeded: the prediction
/// as the simulator reports it, signed with the webhook secret.
async fn succeeded_webhook(stack: &TestStack) -> Value {
    let (_, job) = running_job(stack).await;
    let prediction_id = stack
        .app
        .admin()
        .query_one("select prediction_id from public.generation_jobs where id = $1", &[&job])
        .await
        .expect("job's prediction")
        .get::<_, String>(0);
    let prediction = stack.sim.complete_now(&prediction_id).await.expect("prediction completes");
    let body = prediction.to_string();
    let delivery_id = format!("msg_{}", Uuid::new_v4().simple());
    let timestamp = chrono::Utc::now().timestamp();
    let signature = replicate_sim::sign(stack.sim.webhook_secret(), &delivery_id, timestamp, body.as_bytes());
    let mut event = http_event("POST", &format!("/webhooks/replicate?jobId={job}"), None, None);
    event["headers"]["content-type"] = json!("application/json");
    event["headers"]["webhook-id"] = json!(delivery_id);
    event["headers"]["webhook-timestamp"] = json!(timestamp.to_string());
    event["headers"]["webhook-signature"] = json!(signature);
    event["body"] = json!(body);
    event
}

/// An API Gateway HTTP API event, payload format 2.0.
fn http_event(method: &str, path_and_query: &str, token: Option<&str>, body: Option<Value>) -> Value {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let raw_path = format!("/api/v1{path}");
    let mut headers = json!({
        "accept": "application/json",
        "host": "api.example.test",
        "user-agent": "coldstart-bench",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-proto": "https",
    });
    if let Some(token) = token {
        headers["authorization"] = json!(format!("Bearer {token}"));
    }
    if body.is_some() {
        headers["content-type"] = json!("application/json");
    }
    let now = chrono::Utc::now();
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {raw_path}"),
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "coldstart",
            "domainName": "api.example.test",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "coldstart-bench"
            },
            "requestId": Uuid::new_v4().to_string(),
            "routeKey": format!("{method} {raw_path}"),
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis()
        },
        "body": body.map(|body| body.to_string()),
        "isBase64Encoded": false
    })
}

/// What EventBridge Scheduler sends on `rate(1 minute)`.
fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/coldstart"],
        "detail": {}
    })
}

/// Whether an invocation did its real work: a 2xx for HTTP events, a
/// response (not an error) for the others.
pub fn succeeded(answer: &crate::runtime_api::Answer) -> bool {
    if answer.is_error {
        return false;
    }
    match serde_json::from_slice::<Value>(&answer.body) {
        Ok(body) => match body.get("statusCode").and_then(Value::as_u64) {
            Some(status) => (200..300).contains(&status),
            None => true,
        },
        Err(_) => false,
    }
}
