//! `GET /usage`: plan resolution, this month's debits only, the in-flight
//! job, history, and the request errors.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use shared::repositories::usage::month_period;
use testkit::{TestStack, TestUser};
use uuid::Uuid;

async fn get(stack: &TestStack, path: &str, token: Option<&str>) -> (u16, Value) {
    let reply = stack.reply(usage::handle, "GET", path, token, None).await;
    assert_eq!(reply.header("cache-control"), "private, no-store", "{path}");
    (reply.status, reply.body)
}

async fn usage_of(stack: &TestStack, user: &TestUser) -> Value {
    let (status, body) = get(stack, "/usage", Some(&user.token)).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// A ledger row as the service writes it (debits name their job).
async fn ledger_row(stack: &TestStack, user: &TestUser, kind: &str, amount: i32, at: DateTime<Utc>) -> (Uuid, Uuid) {
    let job_id = Uuid::new_v4();
    let row = stack
        .app
        .admin()
        .query_one(
            "insert into public.usage_ledger (owner_id, kind, amount, meta, created_at)
             values ($1, $2, $3, jsonb_build_object('jobId', $4::text), $5) returning id",
            &[&user.id, &kind, &amount, &job_id.to_string(), &at],
        )
        .await
        .unwrap();
    (row.get(0), job_id)
}

async fn job_with_status(stack: &TestStack, user: &TestUser, status: &str) -> Uuid {
    stack
        .app
        .admin()
        .query_one(
            "insert into public.generation_jobs (owner_id, mode, prompt, status) values ($1, 'imagine', 'a room', $2)
             returning id",
            &[&user.id, &status],
        )
        .await
        .unwrap()
        .get(0)
}

fn start_of_month() -> DateTime<Utc> {
    month_period(Utc::now()).0
}

#[tokio::test]
async fn a_new_user_is_on_the_free_plan_with_the_whole_allowance() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let data = usage_of(&stack, &user).await;
    assert_eq!(data["plan"], serde_json::json!({"id": "free", "label": "Free", "monthlyGenerations": 3}));
    assert_eq!((data["used"].as_i64(), data["remaining"].as_i64()), (Some(0), Some(3)));
    assert_eq!(data["canGenerate"], true);
    assert_eq!(data["inflightJobId"], Value::Null);
    assert!(data.get("history").is_none(), "history only when asked for");
    let (start, end) = month_period(Utc::now());
    let parse = |v: &Value| DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().with_timezone(&Utc);
    assert_eq!(parse(&data["period"]["start"]), start);
    assert_eq!(parse(&data["period"]["end"]), end);
}

#[tokio::test]
async fn the_plan_follows_price_id_only_while_access_lasts() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    stack.app.set_plan(&user, Some("price_weekly"), true).await;
    let weekly = usage_of(&stack, &user).await;
    assert_eq!((weekly["plan"]["id"].as_str(), weekly["remaining"].as_i64()), (Some("weekly"), Some(20)));
    stack.app.set_plan(&user, Some("price_monthly"), true).await;
    let monthly = usage_of(&stack, &user).await;
    assert_eq!(
        (monthly["plan"]["id"].as_str(), monthly["plan"]["monthlyGenerations"].as_i64()),
        (Some("monthly"), Some(100))
    );
    stack.app.set_plan(&user, Some("price_monthly"), false).await;
    assert_eq!(usage_of(&stack, &user).await["plan"]["id"], "free", "no access: free plan");
    stack.app.set_plan(&user, Some("price_unknown"), true).await;
    assert_eq!(usage_of(&stack, &user).await["plan"]["id"], "free", "unknown price: free plan");
}

#[tokio::test]
async fn only_this_months_debits_count_and_remaining_never_goes_negative() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let other = stack.create_user().await;
    ledger_row(&stack, &user, "generation_debit", 1, Utc::now()).await;
    ledger_row(&stack, &user, "generation_debit", 1, start_of_month()).await;
    ledger_row(&stack, &user, "generation_debit", 1, start_of_month() - Duration::seconds(1)).await;
    ledger_row(&stack, &user, "credit_adjustment", 5, Utc::now()).await;
    ledger_row(&stack, &other, "generation_debit", 1, Utc::now()).await;
    let data = usage_of(&stack, &user).await;
    assert_eq!((data["used"].as_i64(), data["remaining"].as_i64()), (Some(2), Some(1)));
    assert_eq!(data["canGenerate"], true);

    for _ in 0..3 {
        ledger_row(&stack, &user, "generation_debit", 1, Utc::now()).await;
    }
    let data = usage_of(&stack, &user).await;
    assert_eq!((data["used"].as_i64(), data["remaining"].as_i64()), (Some(5), Some(0)), "floor at 0");
    assert_eq!(data["canGenerate"], false);
}

#[tokio::test]
async fn a_job_in_flight_is_shown_and_blocks_generating() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    job_with_status(&stack, &user, "succeeded").await;
    job_with_status(&stack, &user, "failed").await;
    assert_eq!(usage_of(&stack, &user).await["inflightJobId"], Value::Null, "terminal jobs do not block");

    let starting = job_with_status(&stack, &user, "starting").await;
    let data = usage_of(&stack, &user).await;
    assert_eq!(data["inflightJobId"], starting.to_string());
    assert_eq!((data["canGenerate"].as_bool(), data["remaining"].as_i64()), (Some(false), Some(3)));

    stack
        .app
        .admin()
        .execute("update public.generation_jobs set status = 'processing' where id = $1", &[&starting])
        .await
        .unwrap();
    assert_eq!(usage_of(&stack, &user).await["inflightJobId"], starting.to_string());
    stack
        .app
        .admin()
        .execute("update public.generation_jobs set status = 'canceled' where id = $1", &[&starting])
        .await
        .unwrap();
    let data = usage_of(&stack, &user).await;
    assert_eq!((data["inflightJobId"].clone(), data["canGenerate"].clone()), (Value::Null, Value::Bool(true)));

    // Another user's job in flight is not the caller's.
    let other = stack.create_user().await;
    job_with_status(&stack, &other, "processing").await;
    assert_eq!(usage_of(&stack, &user).await["canGenerate"], true);
}

#[tokio::test]
async fn history_lists_the_periods_ledger_rows_newest_first() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let now = Utc::now();
    let (older, older_job) = ledger_row(&stack, &user, "generation_debit", 1, now - Duration::seconds(30)).await;
    let (newer, _) = ledger_row(&stack, &user, "credit_adjustment", 2, now).await;
    ledger_row(&stack, &user, "generation_debit", 1, start_of_month() - Duration::hours(1)).await;
    let other = stack.create_user().await;
    ledger_row(&stack, &other, "generation_debit", 1, now).await;

    let (status, body) = get(&stack, "/usage?history=true", Some(&user.token)).await;
    assert_eq!(status, 200, "{body}");
    let history = body["data"]["history"].as_array().unwrap();
    let ids: Vec<&str> = history.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![newer.to_string(), older.to_string()], "this period, own rows, newest first");
    assert_eq!(history[1]["kind"], "generation_debit");
    assert_eq!(history[1]["amount"], 1);
    assert_eq!(history[1]["jobId"], older_job.to_string());
    assert!(history[1]["createdAt"].as_str().is_some());
    let keys: Vec<&String> = history[0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert_eq!(body["data"]["used"], 1);

    let (_, empty) = get(&stack, "/usage?history=true", Some(&other.token)).await;
    assert_eq!(empty["data"]["history"].as_array().unwrap().len(), 1);
    let (_, without) = get(&stack, "/usage?history=false", Some(&user.token)).await;
    assert!(without["data"].get("history").is_none());
}

#[tokio::test]
async fn a_bad_history_flag_is_400() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    for query in ["history=yes", "history=1", "history=", "history=TRUE"] {
        let (status, body) = get(&stack, &format!("/usage?{query}"), Some(&user.token)).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
        assert!(body["error"]["details"]["history"].is_string());
    }
}

#[tokio::test]
async fn a_token_is_required() {
    let stack = TestStack::spawn().await;
    let (status, body) = get(&stack, "/usage", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("UNAUTHORIZED")));
    let (status, _) = get(&stack, "/usage", Some("garbage")).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn other_methods_are_405() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let (status, _) = stack.call(usage::handle, method, "/usage", Some(&user.token), None).await;
        assert_eq!(status, 405, "{method}");
    }
    let (status, _) = get(&stack, "/usage/extra", Some(&user.token)).await;
    assert_eq!(status, 404);
}
