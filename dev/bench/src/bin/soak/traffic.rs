//! The simulated users: each loops over what a person does in the app, over
//! real HTTP through the dev gateway — upload an input, submit (sometimes
//! twice with the same idempotency key), poll the job, sometimes cancel it,
//! read the gallery, toggle a favourite, read collections and usage, open an
//! image, sometimes delete a render. Every answer is recorded with its time.

use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::TestUser;
use uuid::Uuid;

/// One answer: when (since the start of the run), which route, which status
/// (`None`: no answer at all, e.g. connection refused or timed out).
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub at: Duration,
    pub route: &'static str,
    pub status: Option<u16>,
}

/// What the users saw, shared by all of them.
pub struct Recorder {
    started: Instant,
    samples: Mutex<Vec<Sample>>,
    /// Renders a user deleted (204): their jobs legitimately have none.
    pub deleted_renders: Mutex<HashSet<Uuid>>,
    /// Submits repeated with the same idempotency key, and those answered
    /// with another job than the first.
    pub idempotency_replays: AtomicUsize,
    pub idempotency_mismatches: AtomicUsize,
}

impl Recorder {
    pub fn new(started: Instant) -> Self {
        Recorder {
            started,
            samples: Mutex::new(Vec::new()),
            deleted_renders: Mutex::new(HashSet::new()),
            idempotency_replays: AtomicUsize::new(0),
            idempotency_mismatches: AtomicUsize::new(0),
        }
    }

    fn record(&self, route: &'static str, status: Option<u16>) {
        let sample = Sample { at: self.started.elapsed(), route, status };
        self.samples.lock().expect("samples").push(sample);
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().expect("samples").clone()
    }

    pub fn count(&self) -> usize {
        self.samples.lock().expect("samples").len()
    }
}

/// A small deterministic generator (splitmix64): runs are reproducible per
/// user and no dependency is needed for coin flips.
pub struct Coins(u64);

impl Coins {
    pub fn new(seed: u64) -> Self {
        Coins(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - probability
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// The HTTP side shared by every user.
pub struct Client {
    pub http: reqwest::Client,
    /// `http://127.0.0.1:PORT/api/v1`
    pub api: String,
    pub recorder: Arc<Recorder>,
    pub input_jpeg: Vec<u8>,
}

impl Client {
    pub async fn call(
        &self,
        route: &'static str,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (Option<u16>, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.api)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, body) = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                (Some(status), serde_json::from_str(&text).unwrap_or(Value::Null))
            }
            Err(_) => (None, Value::Null),
        };
        self.recorder.record(route, status);
        (status, body)
    }

    /// `POST /uploads`, then the presigned PUT straight to storage.
    async fn upload(&self, user: &TestUser) -> Option<String> {
        let ticket = json!({"contentType": "image/jpeg", "sizeBytes": self.input_jpeg.len()});
        let (status, body) = self.call("POST /uploads", Method::POST, "/uploads", &user.token, Some(ticket)).await;
        if status != Some(200) {
            return None;
        }
        let data = &body["data"];
        let mut put = self.http.put(data["uploadUrl"].as_str()?).body(self.input_jpeg.clone());
        for (name, value) in data["headers"].as_object()? {
            put = put.header(name, value.as_str()?);
        }
        let status = put.send().await.ok().map(|response| response.status().as_u16());
        self.recorder.record("PUT presigned upload (S3)", status);
        status.filter(|s| (200..300).contains(s))?;
        data["path"].as_str().map(str::to_owned)
    }

    /// Submits; answers the status and the job id when one was made.
    async fn submit(&self, user: &TestUser, body: &Value) -> (Option<u16>, Option<String>) {
        let (status, answer) =
            self.call("POST /generations", Method::POST, "/generations", &user.token, Some(body.clone())).await;
        (status, answer["data"]["id"].as_str().map(str::to_owned))
    }

    /// Polls until the job ends or `patience` runs out; the last status seen.
    async fn poll(&self, user: &TestUser, id: &str, patience: Duration) -> Option<String> {
        let until = Instant::now() + patience;
        let path = format!("/generations/{id}");
        let mut last = None;
        while Instant::now() < until {
            let (status, body) = self.call("GET /generations/{id}", Method::GET, &path, &user.token, None).await;
            if status == Some(200) {
                last = body["data"]["status"].as_str().map(str::to_owned);
                if matches!(last.as_deref(), Some("succeeded" | "failed" | "canceled")) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
        last
    }

    /// Deletes a render as a client does: a 503 (or no answer) is retried
    /// until the delete is done, for up to a minute.
    async fn delete_render(&self, user: &TestUser, id: &str) {
        let path = format!("/renders/{id}");
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            let (status, _) = self.call("DELETE /renders/{id}", Method::DELETE, &path, &user.token, None).await;
            match status {
                Some(204) => {
                    if let Ok(render) = Uuid::parse_str(id) {
                        self.recorder.deleted_renders.lock().expect("deleted").insert(render);
                    }
                    return;
                }
                Some(s) if s < 500 => return,
                _ => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    }
}

/// One user's loop until `deadline`.
pub async fn run_user(client: Arc<Client>, user: TestUser, seed: u64, deadline: Instant) {
    let mut coins = Coins::new(seed);
    let mut over_quota = false;
    while Instant::now() < deadline {
        // A user over quota tries again only now and then (and is refused).
        if !over_quota || coins.chance(0.1) {
            over_quota = generate(&client, &user, &mut coins, deadline).await == Some(402);
        }
        browse(&client, &user, &mut coins).await;
        let think = Duration::from_millis(500 + coins.below(2500) as u64);
        tokio::time::sleep(think.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Upload (or an imagine prompt), submit, maybe replay or cancel, poll.
/// Answers the submit's status.
async fn generate(client: &Client, user: &TestUser, coins: &mut Coins, deadline: Instant) -> Option<u16> {
    let key = Uuid::new_v4().to_string();
    let body = if coins.chance(0.7) {
        match client.upload(user).await {
            Some(input) => json!({"mode": "redesign", "roomType": "living_room", "style": "japandi",
                                  "input1Path": input, "idempotencyKey": key}),
            None => return None,
        }
    } else {
        json!({"mode": "imagine", "prompt": "a sunny loft with plants", "idempotencyKey": key})
    };
    let (status, id) = client.submit(user, &body).await;
    let id = id.filter(|_| matches!(status, Some(200 | 202)))?;
    if coins.chance(0.2) {
        // A double click, or a retry after a lost answer: the same job comes back.
        let (replay, again) = client.submit(user, &body).await;
        client.recorder.idempotency_replays.fetch_add(1, Ordering::Relaxed);
        if replay == Some(200) && again.as_deref() != Some(id.as_str()) {
            client.recorder.idempotency_mismatches.fetch_add(1, Ordering::Relaxed);
        }
    }
    if coins.chance(0.1) {
        tokio::time::sleep(Duration::from_millis(coins.below(400) as u64)).await;
        let path = format!("/generations/{id}/cancel");
        client.call("POST /generations/{id}/cancel", Method::POST, &path, &user.token, None).await;
    }
    // Polling past the end of the run is cut short; the drain takes over.
    let patience =
        Duration::from_secs(90).min(deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(5));
    client.poll(user, &id, patience).await;
    status
}

/// The gallery and account reads, a favourite, an image, sometimes a delete.
async fn browse(client: &Client, user: &TestUser, coins: &mut Coins) {
    let token = &user.token;
    let (status, page) = client.call("GET /renders", Method::GET, "/renders?limit=20", token, None).await;
    let renders: Vec<Value> =
        if status == Some(200) { page["data"]["items"].as_array().cloned().unwrap_or_default() } else { Vec::new() };
    if let Some(render) = (!renders.is_empty()).then(|| &renders[coins.below(renders.len())]) {
        let id = render["id"].as_str().unwrap_or_default().to_string();
        if coins.chance(0.5) {
            let toggle = json!({"renderId": id});
            client.call("POST /favorites/toggle", Method::POST, "/favorites/toggle", token, Some(toggle)).await;
        }
        if coins.chance(0.3) {
            let (status, detail) =
                client.call("GET /renders/{id}", Method::GET, &format!("/renders/{id}"), token, None).await;
            let url = detail["data"]["variants"][0]["imageUrl"].as_str().filter(|_| status == Some(200));
            if let Some(url) = url {
                let status = client.http.get(url).send().await.ok().map(|r| r.status().as_u16());
                client.recorder.record("GET /storage/v1/object/public/…", status);
            }
        }
        if renders.len() >= 3 && coins.chance(0.15) {
            client.delete_render(user, &id).await;
        }
    }
    if coins.chance(0.5) {
        client.call("GET /collections", Method::GET, "/collections", token, None).await;
    }
    if coins.chance(0.5) {
        client.call("GET /usage", Method::GET, "/usage", token, None).await;
    }
}

/// After the run: whether each user can submit again. Answers the status
/// and the job id of an accepted submit.
pub async fn submit_once(client: &Client, user: &TestUser) -> (Option<u16>, Option<String>, Value) {
    let body = json!({"mode": "imagine", "prompt": "one more", "idempotencyKey": Uuid::new_v4().to_string()});
    let (status, answer) =
        client.call("POST /generations", Method::POST, "/generations", &user.token, Some(body)).await;
    let id = answer["data"]["id"].as_str().map(str::to_owned);
    (status, id, answer)
}
