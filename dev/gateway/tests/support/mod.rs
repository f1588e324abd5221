//! Drives the whole system over HTTP: the dev gateway in front of the real
//! handlers, a fresh database, the S3 server and the Replicate simulator.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::time::Duration;
use testkit::{S3Choice, TestStack, TestUser};
use uuid::Uuid;

pub struct Api {
    pub stack: TestStack,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Api {
    pub async fn start() -> Self {
        Self::start_with(S3Choice::Shared).await
    }

    pub async fn start_with(s3: S3Choice) -> Self {
        let mut stack = TestStack::spawn_with(s3).await;
        let listener = stack.take_listener();
        let server = tokio::spawn(gateway::serve(listener, stack.services.clone()));
        Api { stack, http: reqwest::Client::new(), server }
    }

    pub async fn call(&self, method: &str, path: &str, user: Option<&TestUser>, body: Option<Value>) -> (u16, Value) {
        let mut request =
            self.http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), self.stack.api_url(path));
        if let Some(user) = user {
            request = request.bearer_auth(&user.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `POST /uploads`, then the presigned PUT of a real JPEG, as a browser does.
    pub async fn upload(&self, user: &TestUser) -> String {
        self.upload_file(user, testkit::stack::test_jpeg(96, 64), "image/jpeg").await
    }

    /// `POST /uploads` declaring `content_type`, then the presigned PUT of
    /// `image` (whatever its bytes are), as a browser does.
    pub async fn upload_file(&self, user: &TestUser, image: Vec<u8>, content_type: &str) -> String {
        let (status, ticket) = self
            .call("POST", "/uploads", Some(user), Some(json!({"contentType": content_type, "sizeBytes": image.len()})))
            .await;
        assert_eq!(status, 200, "{ticket}");
        let data = &ticket["data"];
        let mut put = self.http.put(data["uploadUrl"].as_str().unwrap()).body(image);
        for (name, value) in data["headers"].as_object().unwrap() {
            put = put.header(name, value.as_str().unwrap());
        }
        let uploaded = put.send().await.unwrap();
        assert!(uploaded.status().is_success(), "upload: {}", uploaded.status());
        data["path"].as_str().unwrap().to_string()
    }

    pub async fn submit_redesign(&self, user: &TestUser, input: &str) -> (u16, Value) {
        self.call(
            "POST",
            "/generations",
            Some(user),
            Some(json!({"mode": "redesign", "roomType": "living_room", "style": "japandi", "input1Path": input})),
        )
        .await
    }

    pub async fn submit_imagine(&self, user: &TestUser) -> (u16, Value) {
        self.call("POST", "/generations", Some(user), Some(json!({"mode": "imagine", "prompt": "a sunny loft"}))).await
    }

    pub async fn job(&self, user: &TestUser, id: &str) -> Value {
        let (status, body) = self.call("GET", &format!("/generations/{id}"), Some(user), None).await;
        assert_eq!(status, 200, "{body}");
        body["data"].clone()
    }

    /// Polls `GET /generations/{id}` until the job reaches `status`.
    pub async fn wait_for(&self, user: &TestUser, id: &str, status: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let job = self.job(user, id).await;
            if job["status"] == status {
                return job;
            }
            assert!(tokio::time::Instant::now() < deadline, "job {id} stuck at {job}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn count(&self, table_and_filter: &str) -> i64 {
        self.stack.app.count(table_and_filter).await
    }

    /// Moves a job's creation time into the past (to play staleness and timeouts).
    pub async fn age_job(&self, id: &str, seconds: i64) {
        let id = Uuid::parse_str(id).unwrap();
        self.stack
            .app
            .admin()
            .execute(
                "update public.generation_jobs set created_at = now() - make_interval(secs => $2), last_polled_at = null where id = $1",
                &[&id, &(seconds as f64)],
            )
            .await
            .unwrap();
    }

    pub async fn prediction_id(&self, job_id: &str) -> String {
        let id = Uuid::parse_str(job_id).unwrap();
        let row = self
            .stack
            .app
            .admin()
            .query_one("select prediction_id from public.generation_jobs where id = $1", &[&id])
            .await
            .unwrap();
        row.get::<_, Option<String>>(0).expect("prediction attached")
    }
}

// --- Helpers for pipeline_attacks.rs and pipeline_faults.rs ---

/// A response with its headers, for checks on the envelope and `x-request-id`.
pub struct RawResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Api {
    /// Any request: a bearer token or none, a raw body with its content type
    /// or none, extra headers. Answers status, headers and the JSON body.
    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, String)],
    ) -> RawResponse {
        let mut request =
            self.http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), self.stack.api_url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some((content_type, bytes)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        RawResponse { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }

    /// POSTs `body` to the webhook endpoint (`?jobId=` when given) with
    /// exactly the `webhook-*` headers passed.
    pub async fn post_webhook(&self, job_id: Option<&str>, headers: &[(&str, String)], body: &[u8]) -> RawResponse {
        let path = match job_id {
            Some(id) => format!("/webhooks/replicate?jobId={id}"),
            None => "/webhooks/replicate".to_string(),
        };
        self.call_raw("POST", &path, None, Some(("application/json", body.to_vec())), headers).await
    }

    /// POSTs `body` signed with the simulator's secret, as Replicate would.
    pub async fn post_signed_webhook(&self, job_id: Option<&str>, body: &[u8]) -> RawResponse {
        let id = format!("msg_{}", Uuid::new_v4().simple());
        let timestamp = chrono::Utc::now().timestamp();
        let signature = replicate_sim::sign(self.stack.sim.webhook_secret(), &id, timestamp, body);
        let headers =
            [("webhook-id", id), ("webhook-timestamp", timestamp.to_string()), ("webhook-signature", signature)];
        self.post_webhook(job_id, &headers, body).await
    }

    /// Rows a job left behind: (renders, variants, debits, webhook events).
    pub async fn job_effects(&self, job_id: &str) -> (i64, i64, i64, i64) {
        (
            self.count(&format!("public.renders where job_id = '{job_id}'")).await,
            self.count(&format!("public.render_variants where image_path like 'renders/{}/%'", render_of(job_id)))
                .await,
            self.count(&format!("public.usage_ledger where meta->>'jobId' = '{job_id}'")).await,
            self.count(&format!("public.webhook_events where job_id = '{job_id}'")).await,
        )
    }

    /// The job's status and error straight from the database (no refresh).
    pub async fn job_row(&self, job_id: &str) -> (String, Option<String>) {
        let id = Uuid::parse_str(job_id).unwrap();
        let row = self
            .stack
            .app
            .admin()
            .query_one("select status, error from public.generation_jobs where id = $1", &[&id])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    }

    /// Whether the public bucket holds variant `index` of the render of `job_id`.
    pub async fn render_object_exists(&self, job_id: &str, index: i32) -> bool {
        let key = shared::storage::render_key(render_of(job_id), index);
        self.stack.services.storage.get(shared::storage::PUBLIC_BUCKET, &key).await.expect("storage read").is_some()
    }
}

/// The id of a job's render (derived from the job id).
pub fn render_of(job_id: &str) -> Uuid {
    shared::repositories::renders::render_id_for_job(Uuid::parse_str(job_id).unwrap())
}

/// Polls `check` every 50 ms until it holds; panics with `what` after `seconds`.
pub async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
