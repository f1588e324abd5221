//! Completing a job (BENCHMARKS.md, "Webhook"): four outputs of 2 MB each,
//! downloaded from the Replicate simulator and stored in the S3 server, then
//! recorded in one transaction — against the floor: the same four downloads
//! and uploads with the same clients and the same concurrency, nothing else.
//! Median of RUNS each, measured side by side in one process.

use futures_util::future::join_all;
use replicate_sim::{Behaviour, WebhookMode};
use shared::flows::complete::{complete_poll, Outcome};
use shared::replicate::parse_prediction;
use shared::repositories::generation_jobs::get_job_by_id;
use shared::storage::PUBLIC_BUCKET;
use std::time::{Duration, Instant};
use testkit::TestStack;

const RUNS: usize = 7;
const OUTPUTS: usize = 4;
const OUTPUT_BYTES: usize = 2 * 1024 * 1024;

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    stack.app.set_plan(&user, Some("price_monthly"), true).await;
    let services = &stack.services;
    stack.sim.set_behaviour(
        Behaviour {
            outputs: OUTPUTS,
            output_min_bytes: OUTPUT_BYTES,
            webhook: WebhookMode::None,
            processing_ms: 10,
            ..Behaviour::default()
        },
        None,
    );
    let mut completing = Vec::new();
    let mut floor = Vec::new();
    for run in 0..RUNS {
        let request = stack.request(
            "POST",
            "/generations",
            Some(&user.token),
            Some(serde_json::json!({"mode": "imagine", "prompt": format!("loft {run}")})),
        );
        let response = gateway::dispatch(services, request).await;
        let body = testkit::stack::json(&response);
        let job_id: uuid::Uuid = body["data"]["id"].as_str().expect("job id").parse().expect("uuid");
        let prediction_id = stack.sim.predictions().last().expect("prediction")["id"].as_str().unwrap().to_string();
        let done = stack.sim.wait_terminal(&prediction_id, Duration::from_secs(30)).await.expect("prediction done");
        let prediction = parse_prediction(done.to_string().as_bytes()).expect("prediction");
        assert_eq!(prediction.output.len(), OUTPUTS);

        // Alternate which goes first, so neither always profits from warm caches.
        let measure_floor = || async {
            let started = Instant::now();
            join_all(prediction.output.iter().enumerate().map(|(index, url)| async move {
                let bytes = services.replicate.download_output(url).await.expect("download");
                assert!(bytes.len() >= OUTPUT_BYTES);
                let key = format!("bench/{job_id}/{index}.jpg");
                services.storage.put(PUBLIC_BUCKET, &key, bytes, "image/jpeg").await.expect("put");
            }))
            .await;
            started.elapsed()
        };
        let measure_complete = || async {
            let started = Instant::now();
            // The job as a poll reads it, then the completion proper.
            let mut tx = services.db.as_service().await.expect("transaction");
            let job = get_job_by_id(&mut tx, job_id).await.expect("read job").expect("job");
            tx.commit().await.expect("commit");
            let outcome = complete_poll(services, &job, &prediction).await.expect("complete");
            assert!(matches!(&outcome, Outcome::Ended(ended) if ended.render_id.is_some()), "{outcome:?}");
            started.elapsed()
        };
        if run % 2 == 0 {
            floor.push(measure_floor().await);
            completing.push(measure_complete().await);
        } else {
            completing.push(measure_complete().await);
            floor.push(measure_floor().await);
        }
    }
    let (completing, floor) = (median(completing), median(floor));
    println!("| measurement | median of {RUNS} | ratio |");
    println!("| --- | --- | --- |");
    println!("| download + upload of 4 x 2 MB, concurrent (floor) | {:.1} ms | 1.00 |", floor.as_secs_f64() * 1e3);
    println!(
        "| completing the job (downloads, uploads, one transaction) | {:.1} ms | {:.2} (target at most 1.3) |",
        completing.as_secs_f64() * 1e3,
        completing.as_secs_f64() / floor.as_secs_f64()
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status.lines().find(|l| l.starts_with("VmHWM")).unwrap_or("VmHWM: ?").trim().to_string();
    println!("\nPeak resident memory of the whole benchmark process (S3 and simulator clients, test harness included): `{peak}`");
}
