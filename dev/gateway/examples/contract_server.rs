//! The whole system on a throwaway stack for the contract fuzzer
//! (`dev/scripts/contract-fuzz.sh`): a fresh migrated database, the S3
//! server, the Replicate simulator and the gateway, with one signed-in user
//! who has a render, a collection, a finished job and a community item, so
//! generated requests also reach existing resources. Writes
//! `{"url": ..., "token": ..., "ids": {...}}` to the file named by its first
//! argument, then serves until killed.

use serde_json::json;
use testkit::TestStack;

#[tokio::main]
async fn main() {
    let out = std::env::args().nth(1).expect("usage: contract_server <out.json>");
    let mut stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    // A paid plan, so generated submits meet the rate limit and the
    // one-in-flight rule rather than an exhausted free quota.
    let plans = shared::config::PlanTable::default();
    let price = plans.paid().iter().flat_map(|plan| plan.price_ids.first()).last().cloned();
    stack.app.set_plan(&user, price.as_deref(), true).await;
    let (job, render) = stack.app.seed_render(&user, 2).await;
    let collection: uuid::Uuid = stack
        .app
        .admin()
        .query_one("insert into public.collections (owner_id, name) values ($1, 'Kitchen') returning id", &[&user.id])
        .await
        .expect("seed collection")
        .get(0);
    stack
        .app
        .admin()
        .execute(
            "insert into public.collection_items (collection_id, render_id) values ($1, $2)",
            &[&collection, &render],
        )
        .await
        .expect("seed item");
    let listener = stack.take_listener();
    let url = stack.base_url.clone();
    let details = json!({
        "url": url,
        "token": user.token,
        "ids": { "job": job, "render": render, "collection": collection },
    });
    std::fs::write(&out, details.to_string()).expect("write server details");
    eprintln!("contract server on {url}");
    gateway::serve(listener, stack.services.clone()).await;
}
