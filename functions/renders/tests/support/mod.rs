//! Renders seeded in bulk and read as superuser; calls go through `TestStack::call`.

#![allow(dead_code)] // each test file uses its own subset

use serde_json::Value;
use shared::storage::PUBLIC_BUCKET;
use testkit::{TestStack, TestUser};
use uuid::Uuid;

/// Stores an object under each of the render's variant keys, as the
/// webhook would have; returns the keys.
pub async fn store_images(stack: &TestStack, render_id: Uuid) -> Vec<String> {
    let rows = stack
        .app
        .admin()
        .query("select image_path from public.render_variants where render_id = $1 order by idx", &[&render_id])
        .await
        .unwrap();
    let mut keys = Vec::new();
    for row in rows {
        let key: String = row.get(0);
        stack.services.storage.put(PUBLIC_BUCKET, &key, vec![0xFF, 0xD8, 0xFF, 0xE0], "image/jpeg").await.unwrap();
        keys.push(key);
    }
    keys
}

pub async fn object_exists(stack: &TestStack, key: &str) -> bool {
    stack.services.storage.head(PUBLIC_BUCKET, key).await.expect("storage reachable").is_some()
}

/// `count` renders of `user` in one statement (jobs, renders and one cover
/// variant each), spread over `timestamps` distinct `created_at` values so
/// most of them share theirs with many others. Modes, room types and styles
/// cycle so filters select known fractions: mode by n % 4, style by n % 2,
/// room type by n % 3.
pub async fn bulk_renders(stack: &TestStack, user: &TestUser, count: i32, timestamps: i32) {
    stack
        .app
        .admin()
        .execute(
            "with jobs as (
               insert into public.generation_jobs (owner_id, mode, room_type, style, status, completed_at)
               select $1,
                      (array['redesign','staging','compose','imagine'])[n % 4 + 1],
                      (array['bedroom','kitchen','living_room'])[n % 3 + 1],
                      (array['modern','coastal'])[n % 2 + 1],
                      'succeeded', now()
                 from generate_series(1, $2::int) n
               returning id, owner_id, mode, room_type, style
             ), made as (
               insert into public.renders (job_id, owner_id, mode, room_type, style, created_at)
               select id, owner_id, mode, room_type, style,
                      timestamptz '2026-01-01' + (row_number() over () % $3::int) * interval '1 minute'
                 from jobs
               returning id, owner_id
             )
             insert into public.render_variants (render_id, owner_id, idx, image_path)
             select id, owner_id, 0, 'renders/' || id || '/0.jpg' from made",
            &[&user.id, &count, &timestamps],
        )
        .await
        .expect("bulk renders");
}

/// The ids the gallery must show, in its order, for `filter` (SQL on `r`).
pub async fn expected_ids(stack: &TestStack, user: &TestUser, filter: &str) -> Vec<String> {
    let sql = format!(
        "select r.id::text from public.renders r where r.owner_id = $1 and ({filter})
          order by r.created_at desc, r.id desc"
    );
    stack.app.admin().query(&sql, &[&user.id]).await.unwrap().iter().map(|row| row.get(0)).collect()
}

/// Walks every page of `path` (which carries its query) with `limit`;
/// returns the ids in the order served and checks each page's size.
pub async fn walk(stack: &TestStack, user: &TestUser, path: &str, limit: usize) -> Vec<String> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}{separator}limit={limit}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let (status, body) = stack.call(renders::handle, "GET", &url, Some(&user.token), None).await;
        assert_eq!(status, 200, "{body}");
        let items = body["data"]["items"].as_array().unwrap();
        ids.extend(items.iter().map(|item| item["id"].as_str().unwrap().to_string()));
        match body["data"]["nextCursor"].as_str() {
            Some(next) => {
                assert_eq!(items.len(), limit, "only the last page is short");
                cursor = Some(next.to_string());
            }
            None => {
                assert!(body["data"].get("nextCursor").is_some_and(Value::is_null), "nextCursor is null, not absent");
                return ids;
            }
        }
        assert!(ids.len() <= 1_000_000, "the walk never ends");
    }
}
