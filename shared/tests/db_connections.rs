//! The connection layer: identity is transaction-local, nothing leaks between
//! requests on a reused connection, no named prepared statements by default, the login
//! role alone can read nothing, and reads cost one round trip.

use shared::db::{Database, DbError, StatementMode, Type};
use testkit::flight_counter::FlightCounter;
use testkit::TestApp;

async fn whoami(tx: &mut shared::db::Tx) -> (String, Option<String>) {
    let row = tx
        .query_one("select current_user::text, nullif(current_setting('request.jwt.claims', true), '')", &[])
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn identity_is_set_per_transaction_and_never_leaks_to_the_next() {
    // One connection, so every transaction below reuses it.
    let app = TestApp::spawn_with_pool_size(1).await;
    let alice = app.create_user().await;

    let mut tx = app.db.as_user(&alice.identity).await.unwrap();
    let (role, claims) = whoami(&mut tx).await;
    assert_eq!(role, "authenticated");
    assert!(claims.unwrap().contains(&alice.id.to_string()));
    let uid: uuid::Uuid = tx.query_one("select auth.uid()", &[]).await.unwrap().get(0);
    assert_eq!(uid, alice.id);
    tx.commit().await.unwrap();

    let mut tx = app.db.as_anon().await.unwrap();
    let (role, claims) = whoami(&mut tx).await;
    assert_eq!(role, "anon");
    assert!(!claims.unwrap().contains(&alice.id.to_string()));
    let uid: Option<uuid::Uuid> = tx.query_one("select auth.uid()", &[]).await.unwrap().get(0);
    assert_eq!(uid, None);
    tx.commit().await.unwrap();

    let mut tx = app.db.as_service().await.unwrap();
    assert_eq!(whoami(&mut tx).await.0, "service_role");
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_dropped_transaction_rolls_back_and_leaves_the_connection_clean() {
    let app = TestApp::spawn_with_pool_size(1).await;
    let alice = app.create_user().await;
    {
        let mut tx = app.db.as_user(&alice.identity).await.unwrap();
        tx.execute(
            "insert into public.collections (owner_id, name) values ($1, 'dropped')",
            &[(&alice.id, Type::UUID)],
        )
        .await
        .unwrap();
        // Dropped without commit, as when a handler returns early with an error.
    }
    let mut tx = app.db.as_anon().await.unwrap();
    let (role, claims) = whoami(&mut tx).await;
    assert_eq!(role, "anon");
    assert!(!claims.unwrap_or_default().contains(&alice.id.to_string()));
    tx.commit().await.unwrap();
    assert_eq!(app.count("public.collections where name = 'dropped'").await, 0);
}

#[tokio::test]
async fn a_failed_statement_ends_the_transaction_and_the_connection_is_reused() {
    let app = TestApp::spawn_with_pool_size(1).await;
    let alice = app.create_user().await;
    let mut tx = app.db.as_user(&alice.identity).await.unwrap();
    let error = tx.query("select 1/0", &[]).await.unwrap_err();
    assert!(matches!(error, DbError::Query(_)));
    assert!(matches!(tx.query("select 1", &[]).await, Err(DbError::TransactionClosed)));
    drop(tx);

    let mut tx = app.db.as_user(&alice.identity).await.unwrap();
    assert_eq!(whoami(&mut tx).await.0, "authenticated");
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_login_role_alone_reads_nothing() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    app.seed_render(&user, 1).await;
    let (client, connection) = tokio_postgres::connect(&app.database.app_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    for table in
        ["profiles", "generation_jobs", "renders", "render_variants", "collections", "usage_ledger", "webhook_events"]
    {
        let error = client.simple_query(&format!("select * from public.{table}")).await.unwrap_err();
        assert_eq!(error.code(), Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE), "{table}");
    }
}

#[tokio::test]
async fn no_named_prepared_statements_are_left_on_the_server() {
    let app = TestApp::spawn_with_pool_size(1).await;
    let alice = app.create_user().await;
    // Unnamed is the default (what Supavisor's transaction mode needs); the
    // PgBouncer pass runs the suite prepared, so this pool asks for it.
    let db = Database::connect_lazy(&app.database.app_url(), 1).unwrap();
    assert_eq!(db.statement_mode(), StatementMode::Unnamed);
    let mut tx = db.as_user(&alice.identity).await.unwrap();
    tx.query("select id from public.collections where owner_id = $1", &[(&alice.id, Type::UUID)]).await.unwrap();
    tx.query("select id from public.renders where owner_id = $1", &[(&alice.id, Type::UUID)]).await.unwrap();
    let prepared: i64 = tx.query_one("select count(*) from pg_prepared_statements", &[]).await.unwrap().get(0);
    assert_eq!(prepared, 0);
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_read_costs_one_round_trip_and_a_one_statement_write_two() {
    let app = TestApp::spawn().await;
    let alice = app.create_user().await;
    let app_port = app.database.server().app_port;
    let proxy = FlightCounter::start(app_port).await;
    let url = app.database.app_url_at(proxy.port);
    let db = Database::connect_lazy(&url, 1).unwrap();
    // Warm the pool: the connection handshake is not part of a request.
    db.as_anon().await.unwrap().query_and_commit("select 1", &[]).await.unwrap();

    let before = proxy.flights();
    let tx = db.as_user(&alice.identity).await.unwrap();
    let rows = tx
        .query_and_commit("select id from public.collections where owner_id = $1", &[(&alice.id, Type::UUID)])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "My Favorites");
    assert_eq!(proxy.flights() - before, 1, "read: BEGIN + identity + statement + COMMIT in one flight");

    let before = proxy.flights();
    let mut tx = db.as_user(&alice.identity).await.unwrap();
    tx.execute(
        "insert into public.collections (owner_id, name) values ($1, 'Kitchen ideas')",
        &[(&alice.id, Type::UUID)],
    )
    .await
    .unwrap();
    assert_eq!(proxy.flights() - before, 1, "the identity rides with the statement");
    tx.commit().await.unwrap();
    assert_eq!(proxy.flights() - before, 2, "write: one flight for the statement, one for COMMIT");
}

#[tokio::test(flavor = "current_thread")]
async fn a_kept_prepared_statement_costs_no_round_trip_after_its_first_use() {
    let app = TestApp::spawn().await;
    let alice = app.create_user().await;
    let app_port = app.database.server().app_port;
    let proxy = FlightCounter::start(app_port).await;
    let url = app.database.app_url_at(proxy.port);
    let db = Database::connect_lazy(&url, 1).unwrap().with_statement_mode(StatementMode::Prepared);
    db.as_anon().await.unwrap().query_and_commit("select 1", &[]).await.unwrap();
    let read = "select id from public.collections where owner_id = $1";

    let before = proxy.flights();
    let rows = db.as_user(&alice.identity).await.unwrap().query_and_commit(read, &[(&alice.id, Type::UUID)]).await;
    assert_eq!(rows.unwrap().len(), 1, "My Favorites");
    assert_eq!(proxy.flights() - before, 2, "first use: the statement's Parse, then Bind, Execute and COMMIT");

    let before = proxy.flights();
    let rows = db.as_user(&alice.identity).await.unwrap().query_and_commit(read, &[(&alice.id, Type::UUID)]).await;
    assert_eq!(rows.unwrap().len(), 1);
    assert_eq!(proxy.flights() - before, 1, "kept: one flight, as the unnamed statement");
}

#[tokio::test]
async fn a_killed_connection_gives_a_clean_error_and_the_next_request_works() {
    let app = TestApp::spawn_with_pool_size(1).await;
    let alice = app.create_user().await;
    app.db.as_user(&alice.identity).await.unwrap().query_and_commit("select 1", &[]).await.unwrap();
    let database = app.database.name.clone();
    app.admin()
        .execute(
            "select pg_terminate_backend(pid) from pg_stat_activity
              where usename = 'authenticator' and datname = $1 and pid <> pg_backend_pid()",
            &[&database],
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // The first attempt may fail cleanly (a recognisable, retryable error) ...
    let first = async { app.db.as_user(&alice.identity).await?.query_and_commit("select 1", &[]).await }.await;
    if let Err(error) = first {
        assert!(matches!(error, DbError::Unavailable(_)), "{error:?}");
    }
    // ... and the next one works on a fresh connection.
    let rows = app.db.as_user(&alice.identity).await.unwrap().query_and_commit("select 1", &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
}

#[tokio::test]
async fn the_pooler_run_really_goes_through_pgbouncer() {
    let server = testkit::cluster::server();
    if std::env::var("TEST_VIA_PGBOUNCER").is_ok_and(|v| v == "1") {
        assert!(server.via_pgbouncer);
        assert_ne!(server.app_port, server.port, "functions must connect to PgBouncer, not PostgreSQL");
        // PgBouncer answers its own admin console; PostgreSQL has no such database.
        let console = format!("postgres://{}@{}:{}/pgbouncer", server.admin_user, server.host, server.app_port);
        let (client, connection) = tokio_postgres::connect(&console, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let rows = client.simple_query("SHOW VERSION").await.unwrap();
        assert!(!rows.is_empty());
    } else {
        assert_eq!(server.app_port, server.port);
    }
}
