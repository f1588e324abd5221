//! Gallery at scale (BENCHMARKS.md, "Scale"): one million renders, 100,000
//! of them one user's. Times the real `list_renders` statement, as that user
//! under RLS, for the first page and for page 1,000 by keyset, beside the
//! OFFSET alternative; then the same first-page query under the spec's
//! original policy `auth.uid() = owner_id` against the hardened
//! `(select auth.uid()) = owner_id`. Times are server-side execution times
//! from EXPLAIN ANALYZE, median of RUNS, so client noise stays out.

use shared::repositories::pagination::Cursor;
use testkit::TestApp;
use tokio_postgres::Client;

const TOTAL: i64 = 1_000_000;
const MINE: i64 = 100_000;
const PAGE: i64 = 24;
const RUNS: usize = 15;

/// The shape of the gallery statement (one table: each render stores its
/// card, `035_render_cards.sql`), with the cursor inlined (EXPLAIN cannot
/// take parameters over simple query).
fn keyset_sql(owner: &str, after: Option<&Cursor>) -> String {
    let predicate = match after {
        Some(c) => {
            format!("and (r.created_at, r.id) < ('{}'::timestamptz, '{}'::uuid)", c.created_at.to_rfc3339(), c.id)
        }
        None => String::new(),
    };
    format!(
        "select r.id, r.created_at, r.cover_image_path, r.variant_count, r.is_favorite
           from public.renders r
          where r.owner_id = '{owner}' {predicate}
          order by r.created_at desc, r.id desc
          limit {}",
        PAGE + 1
    )
}

fn offset_sql(owner: &str, offset: i64) -> String {
    keyset_sql(owner, None).replace(&format!("limit {}", PAGE + 1), &format!("limit {} offset {offset}", PAGE + 1))
}

/// Median execution time (ms) of `sql` run as `user` with RLS.
async fn median_ms(client: &Client, claims: &str, sql: &str) -> f64 {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let rows = client
            .simple_query(&format!(
                "begin; set local role authenticated; select set_config('request.jwt.claims', '{claims}', true);
                 explain (analyze, format json) {sql}; rollback;"
            ))
            .await
            .expect("explain");
        let plan = rows
            .iter()
            .find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    row.get(0).filter(|t| t.starts_with('[')).map(str::to_owned)
                }
                _ => None,
            })
            .expect("plan");
        let json: serde_json::Value = serde_json::from_str(&plan).expect("plan json");
        times.push(json[0]["Execution Time"].as_f64().expect("execution time"));
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[RUNS / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = TestApp::spawn().await;
    let me = app.create_user().await;
    let admin = app.admin();
    let started = std::time::Instant::now();
    // 9 other users share the rest; every render has a job (foreign keys) and a cover variant.
    admin
        .batch_execute(&format!(
            "insert into auth.users (id, email) select gen_random_uuid(), 'u' || n || '@bench' from generate_series(1, 9) n;
             create temporary table owners as
               select id, row_number() over (order by id) as n from public.profiles where id <> '{me}';
             insert into public.generation_jobs (id, owner_id, mode, status, created_at)
               select gen_random_uuid(),
                      case when g.i <= {MINE} then '{me}'::uuid else (select o.id from owners o where o.n = 1 + g.i % 9) end,
                      'imagine', 'succeeded',
                      -- 7 renders share each second: many equal timestamps
                      timestamptz '2026-01-01' + (g.i / 7) * interval '1 second'
                 from generate_series(1, {TOTAL}) as g(i);
             insert into public.renders (id, job_id, owner_id, mode, created_at)
               select id, id, owner_id, mode, created_at from public.generation_jobs;
             insert into public.render_variants (render_id, owner_id, idx, image_path)
               select id, owner_id, 0, 'renders/' || id || '/0.jpg' from public.renders;",
            me = me.id
        ))
        .await
        .expect("seed a million renders");
    admin.batch_execute("vacuum analyze").await.expect("vacuum");
    println!("<!-- seeded {TOTAL} renders in {:.0} s -->", started.elapsed().as_secs_f64());

    let owner = me.id.to_string();
    let claims = format!(r#"{{"sub":"{owner}","role":"authenticated"}}"#);
    // The cursor at the end of page 999, i.e. where page 1,000 starts.
    let row = admin
        .query_one(
            &format!(
                "select created_at, id from public.renders where owner_id = '{owner}'
                  order by created_at desc, id desc offset {} limit 1",
                PAGE * 999 - 1
            ),
            &[],
        )
        .await
        .expect("cursor row");
    let cursor = Cursor { created_at: row.get(0), id: row.get(1) };

    let first = median_ms(admin, &claims, &keyset_sql(&owner, None)).await;
    let thousandth = median_ms(admin, &claims, &keyset_sql(&owner, Some(&cursor))).await;
    let offset = median_ms(admin, &claims, &offset_sql(&owner, PAGE * 999)).await;

    // The spec's original policy on the same query, then the hardened one back.
    admin
        .batch_execute(
            "alter policy renders_owner_select on public.renders using (auth.uid() = owner_id);
             alter policy variants_owner_select on public.render_variants using (auth.uid() = owner_id);",
        )
        .await
        .expect("original policies");
    let original_first = median_ms(admin, &claims, &keyset_sql(&owner, None)).await;
    let original_thousandth = median_ms(admin, &claims, &keyset_sql(&owner, Some(&cursor))).await;

    println!("| measurement | time (median of {RUNS}) | ratio |");
    println!("| --- | --- | --- |");
    println!("| page 1, keyset | {first:.2} ms | 1.00 |");
    println!("| page 1,000, keyset | {thousandth:.2} ms | {:.2} (target at most 1.5) |", thousandth / first);
    println!("| page 1,000, OFFSET 23,976 | {offset:.2} ms | {:.1} |", offset / first);
    println!(
        "| page 1, spec's policy `auth.uid() = owner_id` | {original_first:.2} ms | {:.2} of hardened |",
        original_first / first
    );
    println!(
        "| page 1,000, spec's policy | {original_thousandth:.2} ms | {:.2} of hardened |",
        original_thousandth / thousandth
    );
}
