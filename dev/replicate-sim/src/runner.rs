//! One task per prediction, standing in for the model run: `processing`, read
//! every input URL (proving the presigned URLs the product hands out work),
//! make the outputs, wait out the configured run time, end as the behaviour
//! says. A `Cancel-After` deadline races the whole run.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{sleep_until, Instant};

use crate::behaviour::{Behaviour, Outcome};
use crate::images;
use crate::state::{Completion, Sim};

/// Inputs are photos; anything far bigger is not a client of ours.
const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

pub(crate) struct Run {
    pub id: String,
    pub behaviour: Behaviour,
    pub prompt: String,
    pub image_urls: Vec<String>,
    pub created: Instant,
    pub deadline: Option<Instant>,
    pub complete_now: Arc<Notify>,
}

pub(crate) async fn drive(sim: Arc<Sim>, run: Run) {
    // Queued (`starting`) for `queued_ms`: a deadline that passes before the
    // model starts aborts the prediction; one that passes while it runs
    // cancels it (Replicate's documented statuses).
    let starts_at = run.created + Duration::from_millis(run.behaviour.queued_ms);
    if let Some(deadline) = run.deadline.filter(|deadline| *deadline <= starts_at) {
        sleep_until(deadline).await;
        sim.finish(&run.id, Completion::Aborted);
        return;
    }
    sleep_until(starts_at).await;
    let completion = match run.deadline {
        Some(deadline) => tokio::select! {
            completion = model(&sim, &run) => completion,
            _ = sleep_until(deadline) => Completion::Canceled,
        },
        None => model(&sim, &run).await,
    };
    sim.finish(&run.id, completion);
}

async fn model(sim: &Sim, run: &Run) -> Completion {
    sim.mark_processing(&run.id);
    let inputs = match fetch_inputs(sim, &run.image_urls).await {
        Ok(inputs) => inputs,
        Err(message) => return Completion::Failed(message),
    };
    let ready_at = run.created + Duration::from_millis(run.behaviour.processing_ms);
    let ready = async {
        tokio::select! {
            _ = sleep_until(ready_at) => {},
            _ = run.complete_now.notified() => {},
        }
    };
    match run.behaviour.outcome {
        Outcome::Succeed => {
            let completion = render(run, inputs).await;
            ready.await;
            completion
        }
        Outcome::Hang => {
            // Outputs are ready for when a test forces completion.
            let completion = render(run, inputs).await;
            run.complete_now.notified().await;
            completion
        }
        Outcome::Fail => {
            ready.await;
            Completion::Failed(run.behaviour.failure_message())
        }
        Outcome::Cancel => {
            ready.await;
            Completion::Canceled
        }
    }
}

async fn render(run: &Run, inputs: Vec<Vec<u8>>) -> Completion {
    let prompt = run.prompt.clone();
    let (count, min_bytes) = (run.behaviour.outputs, run.behaviour.output_min_bytes);
    // Decoding and encoding take tens of milliseconds: off the async threads.
    let rendered =
        tokio::task::spawn_blocking(move || images::render_outputs(&prompt, &inputs, count, min_bytes)).await;
    match rendered {
        Ok(Ok(images)) => Completion::Succeeded(images),
        Ok(Err(message)) => Completion::Failed(message),
        Err(e) => Completion::Failed(format!("simulator rendering crashed: {e}")),
    }
}

/// GETs each input in order; the first one that cannot be read, or is not a
/// JPEG, PNG or WebP, fails the prediction (as the real model would).
async fn fetch_inputs(sim: &Sim, urls: &[String]) -> Result<Vec<Vec<u8>>, String> {
    let mut inputs = Vec::with_capacity(urls.len());
    for (index, url) in urls.iter().enumerate() {
        let which = format!("image_input[{index}]");
        let response = match sim.inputs_http.get(url).send().await {
            Ok(response) => response,
            Err(e) => {
                sim.record_input_fetch(url, None);
                return Err(format!("Failed to download {which}: {e}"));
            }
        };
        let status = response.status();
        sim.record_input_fetch(url, Some(status.as_u16()));
        if !status.is_success() {
            return Err(format!("Failed to download {which}: HTTP {status}"));
        }
        let bytes = read_capped(response).await.map_err(|e| format!("Failed to download {which}: {e}"))?;
        if images::sniff(&bytes).is_none() {
            return Err(format!("{which} is not an image (expected JPEG, PNG or WebP)"));
        }
        inputs.push(bytes);
    }
    Ok(inputs)
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if bytes.len() + chunk.len() > MAX_INPUT_BYTES {
            return Err(format!("larger than {MAX_INPUT_BYTES} bytes"));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Forces the pending completion of `id` (skips the rest of its run time; a
/// hanging one succeeds) and waits until it has ended. None if unknown.
pub(crate) async fn complete_now(sim: &Sim, id: &str) -> Option<serde_json::Value> {
    let status = sim.complete_now(id)?;
    wait_terminal(sim, id, status, Duration::from_secs(30)).await
}

/// Waits (at most `timeout`) for `id` to reach a terminal status; returns its
/// JSON either way, None if it is gone (reset).
pub(crate) async fn wait_terminal(
    sim: &Sim,
    id: &str,
    mut status: tokio::sync::watch::Receiver<crate::prediction::Status>,
    timeout: Duration,
) -> Option<serde_json::Value> {
    let _ = tokio::time::timeout(timeout, status.wait_for(|s| s.is_terminal())).await;
    sim.prediction(id)
}
