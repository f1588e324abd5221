//! Replicate's API as the product uses it, plus the output-file host
//! (`/delivery/...`, the stand-in for replicate.delivery). `/_sim/...` goes to
//! [`crate::control`].

use std::sync::Arc;

use std::time::Duration;

use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::behaviour::CreateStatus;
use crate::cancel_after;
use crate::control;
use crate::prediction::Prediction;
use crate::runner::{self, Run};
use crate::server::{error, invalid_input, json, not_found, respond, Req, Resp};
use crate::state::Sim;

/// Event names Replicate accepts in `webhook_events_filter`.
const WEBHOOK_EVENTS: [&str; 4] = ["start", "output", "logs", "completed"];

/// The one model the simulator hosts; any other answers 404 as on Replicate.
const MODEL: &str = "google/nano-banana";

/// nano-banana's `aspect_ratio` values.
const ASPECT_RATIOS: [&str; 11] =
    ["match_input_image", "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];

/// nano-banana's `output_format` values.
const OUTPUT_FORMATS: [&str; 2] = ["jpg", "png"];

/// How long `Prefer: wait` holds the create answer at most, as on Replicate.
const MAX_SYNC_WAIT: Duration = Duration::from_secs(60);

pub(crate) async fn route(sim: &Arc<Sim>, req: Req) -> Resp {
    let path = req.path.clone();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["_sim", rest @ ..] => control::route(sim, &req, rest).await,
        ["delivery", id, file] => delivery(sim, &req, id, file),
        ["v1", rest @ ..] => api(sim, &req, rest).await,
        _ => not_found(),
    }
}

async fn api(sim: &Arc<Sim>, req: &Req, rest: &[&str]) -> Resp {
    let is_create = matches!(rest, ["models", _, _, "predictions"]);
    if is_create && req.method == Method::POST {
        // Every create that reaches the simulator counts, rejected or not, so
        // tests can assert how often the product called (retries included).
        sim.count_create_call();
    }
    if !authorized(sim, req) {
        return error(StatusCode::UNAUTHORIZED, "Unauthenticated");
    }
    match (&req.method, rest) {
        (&Method::POST, ["models", owner, name, "predictions"]) => create(sim, req, owner, name).await,
        (&Method::GET, ["predictions", id]) => match sim.prediction(id) {
            Some(prediction) => json(StatusCode::OK, &prediction),
            None => not_found(),
        },
        (&Method::POST, ["predictions", id, "cancel"]) => match sim.cancel(id) {
            Some(prediction) => json(StatusCode::OK, &prediction),
            None => not_found(),
        },
        (&Method::GET, ["webhooks", "default", "secret"]) => {
            json(StatusCode::OK, &json!({"key": sim.settings.webhook_secret}))
        }
        (_, ["models", _, _, "predictions"])
        | (_, ["predictions", _])
        | (_, ["predictions", _, "cancel"])
        | (_, ["webhooks", "default", "secret"]) => error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed."),
        _ => not_found(),
    }
}

/// `Authorization: Bearer <token>` (Replicate also takes the older `Token`).
fn authorized(sim: &Sim, req: &Req) -> bool {
    let Some(value) = req.header("authorization") else {
        return false;
    };
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("Token "));
    token.map(str::trim) == Some(sim.settings.api_token.as_str())
}

/// What a valid create body asks for.
struct CreateRequest {
    input: Value,
    prompt: String,
    image_urls: Vec<String>,
    webhook: Option<String>,
    filter: Option<Vec<String>>,
}

async fn create(sim: &Arc<Sim>, req: &Req, owner: &str, name: &str) -> Resp {
    if format!("{owner}/{name}") != MODEL {
        return error(StatusCode::NOT_FOUND, "The requested resource could not be found.");
    }
    let minimum = sim.settings.min_cancel_after;
    let deadline = match req.header("cancel-after").map(|text| cancel_after::parse_within(text, minimum)) {
        None => None,
        Some(Ok(after)) => Some(Instant::now() + after),
        Some(Err(why)) => return error(StatusCode::BAD_REQUEST, &format!("Invalid Cancel-After header: {why}")),
    };
    let sync_wait = match req.header("prefer").map(parse_prefer_wait) {
        None => None,
        Some(Ok(wait)) => wait,
        Some(Err(why)) => return error(StatusCode::BAD_REQUEST, &format!("Invalid Prefer header: {why}")),
    };
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(body) => body,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("Invalid JSON body: {e}")),
    };
    let request = match parse_create(&body) {
        Ok(request) => request,
        Err(detail) => return invalid_input(&detail),
    };
    // The behaviour is taken only for creates that would make a prediction,
    // so a malformed request does not use up a scripted failure.
    let behaviour = sim.take_behaviour();
    if let Some(status) = behaviour.create_status {
        return create_error(status);
    }
    let prediction = Prediction::new(format!("{owner}/{name}"), request.input, request.webhook, request.filter);
    let id = prediction.id.clone();
    let (created, complete_now) = sim.insert(prediction, behaviour.clone());
    let answer_delay = std::time::Duration::from_millis(behaviour.create_answer_delay_ms);
    let run = Run {
        id: id.clone(),
        behaviour,
        prompt: request.prompt,
        image_urls: request.image_urls,
        created: Instant::now(),
        deadline,
        complete_now,
    };
    let driver = sim.spawn_work(runner::drive(Arc::clone(sim), run));
    sim.set_driver(&id, driver);
    // The prediction exists and runs from here on; only the answer is late.
    tokio::time::sleep(answer_delay).await;
    // Sync mode: the answer waits for the end, or comes back unfinished.
    if let Some(wait) = sync_wait {
        if let Some(status) = sim.watch_status(&id) {
            if let Some(now) = runner::wait_terminal(sim, &id, status, wait).await {
                return json(StatusCode::CREATED, &now);
            }
        }
    }
    json(StatusCode::CREATED, &created)
}

/// `Prefer: wait` (60 s) or `Prefer: wait=n` (1 to 60 s); other preferences
/// are ignored, as HTTP asks of unknown ones.
fn parse_prefer_wait(value: &str) -> Result<Option<Duration>, String> {
    let Some(wait) = value.split(',').map(str::trim).find(|token| token.starts_with("wait")) else {
        return Ok(None);
    };
    match wait.strip_prefix("wait").map(str::trim) {
        Some("") => Ok(Some(MAX_SYNC_WAIT)),
        Some(rest) => match rest.strip_prefix('=').map(str::trim).and_then(|n| n.parse::<u64>().ok()) {
            Some(seconds @ 1..=60) => Ok(Some(Duration::from_secs(seconds))),
            _ => Err(format!("{wait:?}: wait takes 1 to 60 seconds")),
        },
        None => Ok(None),
    }
}

/// Checks the body against nano-banana's schema, as far as the product uses it.
fn parse_create(body: &Value) -> Result<CreateRequest, String> {
    let input = body.get("input").ok_or("- input: input is required")?;
    if !input.is_object() {
        return Err("- input: Invalid type. Expected: object".to_owned());
    }
    let prompt = match input.get("prompt") {
        Some(Value::String(prompt)) => prompt.clone(),
        Some(_) => return Err("- input.prompt: Invalid type. Expected: string".to_owned()),
        None => return Err("- input: prompt is required".to_owned()),
    };
    let image_urls = match input.get("image_input") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or("- input.image_input: Invalid type. Expected: array of URI strings")?,
        Some(_) => return Err("- input.image_input: Invalid type. Expected: array".to_owned()),
    };
    for (field, allowed) in [("aspect_ratio", &ASPECT_RATIOS[..]), ("output_format", &OUTPUT_FORMATS[..])] {
        match input.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(value)) if allowed.contains(&value.as_str()) => {}
            Some(_) => return Err(format!("- input.{field}: {field} must be one of: {}", allowed.join(", "))),
        }
    }
    let webhook = match body.get("webhook") {
        None | Some(Value::Null) => None,
        Some(Value::String(url)) if url.starts_with("http://") || url.starts_with("https://") => Some(url.clone()),
        Some(_) => return Err("- webhook: must be an HTTP(S) URL".to_owned()),
    };
    let filter = match body.get("webhook_events_filter") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|item| item.as_str().filter(|e| WEBHOOK_EVENTS.contains(e)))
                .map(|event| event.map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or("- webhook_events_filter: items must be start, output, logs or completed")?,
        ),
        Some(_) => return Err("- webhook_events_filter: Invalid type. Expected: array".to_owned()),
    };
    Ok(CreateRequest { input: input.clone(), prompt, image_urls, webhook, filter })
}

/// A scripted create failure, shaped like Replicate's.
fn create_error(status: CreateStatus) -> Resp {
    match status {
        CreateStatus::Throttled { retry_after } => {
            // The wait is the Retry-After header; the body only says it in words.
            let unit = if retry_after == 1 { "second" } else { "seconds" };
            let detail = format!("Request was throttled. Expected available in {retry_after} {unit}.");
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, &detail);
            response.headers_mut().insert("retry-after", retry_after.to_string().parse().expect("digits"));
            response
        }
        CreateStatus::ServerError { status } => {
            let status = StatusCode::from_u16(status)
                .ok()
                .filter(StatusCode::is_server_error)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            error(status, status.canonical_reason().unwrap_or("Server error"))
        }
    }
}

/// `GET /delivery/{id}/{index}.jpg`: no auth, like a CDN URL.
fn delivery(sim: &Sim, req: &Req, id: &str, file: &str) -> Resp {
    if req.method != Method::GET && req.method != Method::HEAD {
        return error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.");
    }
    let index = file.strip_suffix(".jpg").and_then(|n| n.parse().ok());
    match index.and_then(|index| sim.output(id, index)) {
        Some(jpeg) => respond(StatusCode::OK, "image/jpeg", jpeg),
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_is_checked_like_the_model_schema() {
        let ok = parse_create(&json!({
            "input": {"prompt": "p", "image_input": ["http://a/1.png"], "output_format": "jpg"},
            "webhook": "http://127.0.0.1:1/hook",
            "webhook_events_filter": ["completed"],
        }))
        .unwrap();
        assert_eq!(ok.image_urls, ["http://a/1.png"]);
        assert_eq!(ok.filter.unwrap(), ["completed"]);
        for ratio in ASPECT_RATIOS {
            assert!(parse_create(&json!({"input": {"prompt": "p", "aspect_ratio": ratio}})).is_ok(), "{ratio}");
        }
        for bad in [
            json!({}),
            json!({"input": {}}),
            json!({"input": {"prompt": 1}}),
            json!({"input": {"prompt": "p", "image_input": [1]}}),
            json!({"input": {"prompt": "p"}, "webhook": "ftp://x"}),
            json!({"input": {"prompt": "p"}, "webhook_events_filter": ["done"]}),
            json!({"input": {"prompt": "p", "aspect_ratio": "4x3"}}),
            json!({"input": {"prompt": "p", "aspect_ratio": 1.33}}),
            json!({"input": {"prompt": "p", "output_format": "webp"}}),
        ] {
            assert!(parse_create(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefer_wait_is_read_as_replicate_documents_it() {
        assert_eq!(parse_prefer_wait("wait"), Ok(Some(MAX_SYNC_WAIT)));
        assert_eq!(parse_prefer_wait("wait=5"), Ok(Some(Duration::from_secs(5))));
        assert_eq!(parse_prefer_wait("respond-async"), Ok(None));
        for bad in ["wait=0", "wait=61", "wait=soon"] {
            assert!(parse_prefer_wait(bad).is_err(), "{bad}");
        }
    }
}
