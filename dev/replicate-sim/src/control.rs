//! `/_sim/...`: the test hooks over HTTP, for the local stack and manual
//! poking (`curl -d '{"behaviour":{"outcome":"fail"},"count":1}'
//! localhost:9200/_sim/behaviour`). No auth: the simulator only listens
//! locally.

use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::behaviour::Behaviour;
use crate::runner;
use crate::server::{error, json, not_found, Req, Resp};
use crate::state::Sim;
use crate::webhooks;

/// Body of `POST /_sim/behaviour`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviourRequest {
    #[serde(default)]
    behaviour: Behaviour,
    /// For the next `count` creates; absent: until reset.
    count: Option<usize>,
    /// Queue after the current behaviours instead of replacing them.
    #[serde(default)]
    append: bool,
}

pub(crate) async fn route(sim: &Arc<Sim>, req: &Req, rest: &[&str]) -> Resp {
    match (&req.method, rest) {
        (&Method::GET, ["behaviour"]) => json(StatusCode::OK, &sim.behaviours()),
        (&Method::POST, ["behaviour"]) => set_behaviour(sim, req),
        (&Method::POST, ["reset"]) => {
            sim.reset();
            json(StatusCode::OK, &json!({"ok": true}))
        }
        (&Method::GET, ["predictions"]) => json(StatusCode::OK, &sim.predictions()),
        (&Method::GET, ["predictions", id]) => match sim.prediction(id) {
            Some(prediction) => json(StatusCode::OK, &prediction),
            None => not_found(),
        },
        (&Method::POST, ["predictions", id, "complete"]) => match runner::complete_now(sim, id).await {
            Some(prediction) => json(StatusCode::OK, &prediction),
            None => not_found(),
        },
        (&Method::POST, ["predictions", id, "redeliver"]) => {
            let new_id = matches!(req.query_param("new_id"), Some("true" | "1"));
            match webhooks::redeliver(sim, id, new_id).await {
                Some(record) => json(StatusCode::OK, &record),
                None => error(StatusCode::NOT_FOUND, "No such finished prediction with a webhook."),
            }
        }
        (&Method::GET, ["deliveries"]) => json(StatusCode::OK, &sim.deliveries()),
        (&Method::GET, ["input-fetches"]) => {
            let fetches: Vec<_> =
                sim.input_fetches().into_iter().map(|(url, status)| json!({"url": url, "status": status})).collect();
            json(StatusCode::OK, &fetches)
        }
        (&Method::GET, ["stats"]) => json(
            StatusCode::OK,
            &json!({
                "create_calls": sim.create_calls(),
                "predictions": sim.predictions().len(),
                "deliveries": sim.deliveries().len(),
            }),
        ),
        _ => not_found(),
    }
}

fn set_behaviour(sim: &Sim, req: &Req) -> Resp {
    let request: BehaviourRequest = match serde_json::from_slice(&req.body) {
        Ok(request) => request,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("Invalid behaviour: {e}")),
    };
    if request.append {
        sim.push_behaviour(request.behaviour, request.count);
    } else {
        sim.set_behaviour(request.behaviour, request.count);
    }
    json(StatusCode::OK, &sim.behaviours())
}
