//! Collections seeded and read as superuser; calls go through `TestStack::call`.

#![allow(dead_code)] // each test file uses its own subset

use testkit::{TestStack, TestUser};
use uuid::Uuid;

/// Creates a collection through the API and returns its id.
pub async fn create(stack: &TestStack, user: &TestUser, name: &str) -> Uuid {
    let (status, body) = stack
        .call(collections::handle, "POST", "/collections", Some(&user.token), Some(serde_json::json!({ "name": name })))
        .await;
    assert_eq!(status, 201, "{body}");
    body["data"]["id"].as_str().unwrap().parse().unwrap()
}

pub async fn favorites_id(stack: &TestStack, user: &TestUser) -> Uuid {
    stack
        .app
        .admin()
        .query_one("select id from public.collections where owner_id = $1 and is_default_favorites", &[&user.id])
        .await
        .unwrap()
        .get(0)
}

pub async fn item_count(stack: &TestStack, collection: Uuid) -> i64 {
    stack.app.count(&format!("public.collection_items where collection_id = '{collection}'")).await
}

/// `count` renders of `user` with one cover variant each, in one statement;
/// returns their ids.
pub async fn bulk_renders(stack: &TestStack, user: &TestUser, count: i32) -> Vec<Uuid> {
    stack
        .app
        .admin()
        .query(
            "with jobs as (
               insert into public.generation_jobs (owner_id, mode, style, status, completed_at)
               select $1, 'imagine', (array['modern','coastal'])[n % 2 + 1], 'succeeded', now()
                 from generate_series(1, $2::int) n
               returning id, owner_id, mode, style
             ), made as (
               insert into public.renders (job_id, owner_id, mode, style, created_at)
               select id, owner_id, mode, style,
                      timestamptz '2026-01-01' + (row_number() over () % 7) * interval '1 minute'
                 from jobs
               returning id, owner_id
             ), variants as (
               insert into public.render_variants (render_id, owner_id, idx, image_path)
               select id, owner_id, 0, 'renders/' || id || '/0.jpg' from made
             )
             select id from made",
            &[&user.id, &count],
        )
        .await
        .expect("bulk renders")
        .iter()
        .map(|row| row.get(0))
        .collect()
}
