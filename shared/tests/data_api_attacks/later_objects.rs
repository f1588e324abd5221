//! SECURITY.md 23: a function (or table, view, sequence) that a later
//! migration adds to `public` must not be reachable by anon or users until a
//! migration grants it on purpose. PostgreSQL's global default grants
//! EXECUTE on new functions to PUBLIC.

use crate::support::{rows_as_anon, rows_as_user};
use shared::db::DbError;
use testkit::TestApp;

#[tokio::test]
async fn objects_created_after_the_migrations_are_closed_to_anon_and_users() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    // As a later migration would, with the role that runs the migrations.
    app.admin()
        .batch_execute(
            "create function public.added_later() returns text language sql as $$ select 'reachable' $$;
             create function public.added_later_definer() returns text language sql security definer
               set search_path = '' as $$ select 'reachable' $$;
             create table public.added_later_table (note text);
             insert into public.added_later_table values ('reachable');
             create view public.added_later_view as select note from public.added_later_table;
             create sequence public.added_later_sequence;",
        )
        .await
        .unwrap();
    let attempts = [
        "select public.added_later()",
        "select public.added_later_definer()",
        "select note from public.added_later_table",
        "select note from public.added_later_view",
        "select nextval('public.added_later_sequence')::text",
    ];
    for sql in attempts {
        let as_anon = rows_as_anon(&app, sql).await;
        assert!(matches!(as_anon, Err(DbError::PermissionDenied)), "anon: {sql}: {as_anon:?}");
        let as_user = rows_as_user(&app, &user, sql).await;
        assert!(matches!(as_user, Err(DbError::PermissionDenied)), "user: {sql}: {as_user:?}");
    }
    // What a migration grants explicitly is reachable: the test would notice
    // a refusal of everything.
    app.admin().batch_execute("grant execute on function public.added_later() to anon").await.unwrap();
    assert_eq!(rows_as_anon(&app, "select public.added_later()").await.unwrap(), ["reachable"]);
}

#[tokio::test]
async fn no_function_in_public_is_executable_through_public() {
    let app = TestApp::spawn().await;
    let open: Vec<String> = app
        .admin()
        .query_one(
            "select coalesce(array_agg(p.proname::text order by p.proname), '{}')
               from pg_proc p join pg_namespace n on n.oid = p.pronamespace
              where n.nspname in ('public', 'private')
                and exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                             where a.grantee = 0 and a.privilege_type = 'EXECUTE')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(open, Vec::<String>::new(), "functions executable by PUBLIC");
}
