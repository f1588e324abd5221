//! `DATABASE_PREPARED_STATEMENTS=true`: statements prepared once per
//! connection and kept, checked on PostgreSQL directly (where the server's
//! `pg_prepared_statements` is the pool's own session) and, in the PgBouncer
//! pass, through PgBouncer as well. Plans kept across requests must never let
//! one user's request see another's rows.

use shared::db::{Database, DbError, StatementMode, Type};
use shared::repositories::generation_jobs::get_job_by_id;
use shared::repositories::pagination::PageRequest;
use shared::repositories::renders::{get_render, list_renders, RenderFilters};
use testkit::TestApp;

/// One connection straight to PostgreSQL, keeping prepared statements.
fn direct_prepared_pool(app: &TestApp) -> Database {
    let url = app.database.app_url_at(app.database.server().port);
    Database::connect_lazy(&url, 1).unwrap().with_statement_mode(StatementMode::Prepared)
}

/// The pools to check: PostgreSQL directly, and PgBouncer in its pass.
fn prepared_pools(app: &TestApp) -> Vec<(&'static str, Database)> {
    let mut pools = vec![("direct", direct_prepared_pool(app))];
    if app.database.server().via_pgbouncer {
        let through_pgbouncer =
            Database::connect_lazy(&app.database.app_url(), 1).unwrap().with_statement_mode(StatementMode::Prepared);
        pools.push(("pgbouncer", through_pgbouncer));
    }
    pools
}

#[tokio::test]
async fn kept_plans_show_each_user_only_their_own_rows() {
    let app = TestApp::spawn().await;
    let alice = app.create_user().await;
    let bob = app.create_user().await;
    let (alice_job, alice_render) = app.seed_render(&alice, 2).await;
    let (bob_job, bob_render) = app.seed_render(&bob, 3).await;

    for (route, db) in prepared_pools(&app) {
        // Past PostgreSQL's five custom plans, so kept generic plans are in play.
        for round in 0..8 {
            for (me, mine, theirs) in [
                (&alice, (alice_job, alice_render), (bob_job, bob_render)),
                (&bob, (bob_job, bob_render), (alice_job, alice_render)),
            ] {
                let tx = db.as_user(&me.identity).await.unwrap();
                let page = list_renders(tx, me.id, &RenderFilters::default(), &PageRequest::default()).await.unwrap();
                let ids: Vec<_> = page.items.iter().map(|item| item.render.id).collect();
                assert_eq!(ids, vec![mine.1], "{route}, round {round}: the gallery");

                let mut tx = db.as_user(&me.identity).await.unwrap();
                assert!(get_render(&mut tx, mine.1, me.id).await.unwrap().is_some(), "{route}, round {round}");
                // Their render, asked for with their id: RLS still answers nothing.
                let owner_of_theirs = if me.id == alice.id { bob.id } else { alice.id };
                assert!(
                    get_render(&mut tx, theirs.1, owner_of_theirs).await.unwrap().is_none(),
                    "{route}, round {round}"
                );
                assert!(get_job_by_id(&mut tx, mine.0).await.unwrap().is_some(), "{route}, round {round}");
                assert!(get_job_by_id(&mut tx, theirs.0).await.unwrap().is_none(), "{route}, round {round}");
                tx.commit().await.unwrap();
            }
        }
        // An anonymous visitor on the same connection, after the users' plans.
        let mut tx = db.as_anon().await.unwrap();
        match tx.query("select id from public.renders where id = $1", &[(&alice_render, Type::UUID)]).await {
            Ok(rows) => assert!(rows.is_empty(), "{route}: anon reads no render"),
            Err(error) => assert!(matches!(error, DbError::PermissionDenied), "{route}: {error:?}"),
        }
    }
}

#[tokio::test]
async fn statements_are_prepared_once_and_the_gallery_is_planned_for_each_owner() {
    let app = TestApp::spawn().await;
    let alice = app.create_user().await;
    let (job, _) = app.seed_render(&alice, 1).await;
    // A server that would keep generic plans for everything (here: told so
    // outright; in production: after five calls whose custom plans cost
    // no less), so only the gallery's own request keeps it planned per call.
    let database = &app.database.name;
    app.admin()
        .batch_execute(&format!("alter database {database} set plan_cache_mode = force_generic_plan"))
        .await
        .unwrap();
    let db = direct_prepared_pool(&app);
    for _ in 0..8 {
        let tx = db.as_user(&alice.identity).await.unwrap();
        list_renders(tx, alice.id, &RenderFilters::default(), &PageRequest::default()).await.unwrap();
        let mut tx = db.as_user(&alice.identity).await.unwrap();
        get_job_by_id(&mut tx, job).await.unwrap().unwrap();
        tx.commit().await.unwrap();
    }

    // The pool's one connection is this session: its prepared statements.
    let mut tx = db.as_user(&alice.identity).await.unwrap();
    let rows = tx
        .query(
            "select statement, generic_plans, custom_plans from pg_prepared_statements
              where statement not like '%pg_prepared_statements%'
                and (statement like '%from public.renders r%' or statement like '%from public.generation_jobs%')",
            &[],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(rows.len(), 2, "one prepared statement per text, however often it ran");
    for row in &rows {
        let (statement, generic, custom): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(generic + custom, 8, "{statement}");
        if statement.contains("from public.renders r") {
            assert_eq!((generic, custom), (0, 8), "the gallery is planned for its owner and LIMIT every time");
        } else {
            assert_eq!((generic, custom), (8, 0), "a lookup by key keeps its generic plan: {statement}");
        }
    }
}
