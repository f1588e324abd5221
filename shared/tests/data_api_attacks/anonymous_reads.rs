//! SECURITY.md 8: what `anon` (and a signed-in user) may read: community content only, through `community_feed()`.

use crate::support::*;
use shared::db::{DbError, Type};
use testkit::TestApp;
use uuid::Uuid;

// ---------------------------------------------- 8. anonymous reads
#[tokio::test]
async fn attack_08_anon_reads_nothing_but_community_content() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    seed_everything(&app, &user).await;
    for table in [
        "public.profiles",
        "public.generation_jobs",
        "public.renders",
        "public.render_variants",
        "public.collections",
        "public.collection_items",
        "public.usage_ledger",
        "public.webhook_events",
    ] {
        match rows_as_anon(&app, &format!("select to_jsonb(t)::text from {table} t")).await {
            Ok(rows) => assert!(rows.is_empty(), "anon reads {table}: {rows:?}"),
            Err(DbError::PermissionDenied) => {}
            Err(e) => panic!("{table}: {e:?}"),
        }
    }
    // nor the auth schema's users
    let users = rows_as_anon(&app, "select email from auth.users").await;
    assert!(matches!(users, Err(DbError::PermissionDenied)), "{users:?}");
    // private uploads neither
    let private = rows_as_anon(&app, "select name from storage.objects where bucket_id = 'private'").await;
    assert!(matches!(&private, Ok(rows) if rows.is_empty()) || matches!(private, Err(DbError::PermissionDenied)));
    // and no user-only function
    let mut tx = app.db.as_anon().await.unwrap();
    let ensure = tx.query("select public.ensure_default_favorites()::text", &[]).await;
    assert!(matches!(ensure, Err(DbError::PermissionDenied)), "{ensure:?}");
}

#[tokio::test]
async fn attack_08_unpublished_community_content_is_hidden_from_anon_and_users() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let owner = app.create_user().await;
    let (_, render) = app.seed_render(&owner, 1).await;
    let admin = app.admin();
    let published = community_collection(&app, "Live", true).await;
    let draft = community_collection(&app, "Draft", false).await;
    admin
        .execute(
            "insert into public.community_items (collection_id, render_id) values ($1, $3), ($2, $3)",
            &[&published, &draft, &render],
        )
        .await
        .unwrap();
    admin
        .execute(
            "insert into public.community_items (collection_id, external_image_url) values ($1, 'https://example.test/draft.jpg')",
            &[&draft],
        )
        .await
        .unwrap();

    // The tables are the service's (migration 030); readers get the feed,
    // which shows published collections only.
    for sql in
        ["select id::text from public.community_collections", "select collection_id::text from public.community_items"]
    {
        let anon = rows_as_anon(&app, sql).await;
        assert!(matches!(anon, Err(DbError::PermissionDenied)), "anon: {sql}: {anon:?}");
        let user_rows = rows_as_user(&app, &user, sql).await;
        assert!(matches!(user_rows, Err(DbError::PermissionDenied)), "user: {sql}: {user_rows:?}");
    }
    let feed = "select distinct collection_id::text from public.community_feed()";
    assert_eq!(rows_as_anon(&app, feed).await.unwrap(), vec![published.to_string()], "anon: community feed");
    assert_eq!(rows_as_user(&app, &user, feed).await.unwrap(), vec![published.to_string()], "user: community feed");
}

#[tokio::test]
async fn attack_08_api_roles_call_only_the_functions_meant_for_them() {
    let app = TestApp::spawn().await;
    let callable = "select coalesce(array_agg(p.proname::text order by p.proname), '{}')
                      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                     where n.nspname = 'public' and has_function_privilege($1, p.oid, 'execute')";
    let anon: Vec<String> = app.admin().query_one(callable, &[&"anon"]).await.unwrap().get(0);
    assert_eq!(anon, ["community_feed"]);
    let authenticated: Vec<String> = app.admin().query_one(callable, &[&"authenticated"]).await.unwrap().get(0);
    // The read functions run as their caller (security invoker), so RLS
    // shows a user only their own rows through them
    // (`other_users_rows.rs::attack_07_the_read_functions_show_another_user_nothing`).
    assert_eq!(
        authenticated,
        ["community_feed", "ensure_default_favorites", "job_with_outputs", "list_collections", "usage_overview"]
    );
    // and neither can create objects in public (e.g. to shadow a function)
    let row = app
        .admin()
        .query_one(
            "select has_schema_privilege('anon', 'public', 'create'), has_schema_privilege('authenticated', 'public', 'create')",
            &[],
        )
        .await
        .unwrap();
    assert!(!row.get::<_, bool>(0) && !row.get::<_, bool>(1));
    let user = app.create_user().await;
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let create = tx.execute("create table public.collections_shadow (id uuid)", &[]).await;
    assert!(matches!(create, Err(DbError::PermissionDenied)), "{create:?}");
}

// ------------------------------------------------------ community_feed()
async fn feed_as_anon(app: &TestApp) -> Vec<serde_json::Value> {
    rows_as_anon(app, "select to_jsonb(f)::text from public.community_feed() f")
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect()
}

#[tokio::test]
async fn community_feed_returns_no_owner_prompt_or_job_columns() {
    let app = TestApp::spawn().await;
    let owner = app.create_user().await;
    let (job, render) = app.seed_render(&owner, 2).await;
    let collection = community_collection(&app, "Live", true).await;
    community_item(&app, collection, render, 0).await;

    let statement = app.admin().prepare("select * from public.community_feed()").await.unwrap();
    let columns: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        columns,
        [
            "collection_id",
            "title",
            "description",
            "is_featured",
            "collection_order",
            "item_id",
            "item_order",
            "image_path",
            "external_image_url",
            "apply_settings"
        ]
    );

    let feed = feed_as_anon(&app).await;
    assert_eq!(feed.len(), 1, "{feed:?}");
    let text = serde_json::to_string(&feed).unwrap();
    // (the render id is part of the public image path by design)
    for secret in [owner.id.to_string(), job.to_string(), "a calm bedroom".to_string()] {
        assert!(!text.contains(&secret), "the feed exposes {secret}: {text}");
    }
    assert_eq!(feed[0]["image_path"], format!("renders/{render}/0.jpg"));
}

#[tokio::test]
async fn community_feed_omits_unpublished_collections_and_deleted_renders() {
    let app = TestApp::spawn().await;
    let owner = app.create_user().await;
    let (_, kept) = app.seed_render(&owner, 2).await;
    let (_, deleted) = app.seed_render(&owner, 2).await;
    let (_, coverless) = app.seed_render(&owner, 1).await;
    let admin = app.admin();
    admin.execute("update public.renders set cover_variant = 3 where id = $1", &[&coverless]).await.unwrap();
    let live = community_collection(&app, "Live", true).await;
    let draft = community_collection(&app, "Draft", false).await;
    let kept_item = community_item(&app, live, kept, 0).await;
    community_item(&app, live, deleted, 1).await;
    community_item(&app, live, coverless, 2).await;
    community_item(&app, draft, kept, 0).await;
    let external: Uuid = admin
        .query_one(
            "insert into public.community_items (collection_id, external_image_url, order_index)
             values ($1, 'https://example.test/a.jpg', 3) returning id",
            &[&live],
        )
        .await
        .unwrap()
        .get(0);
    admin
        .execute(
            "insert into public.community_items (collection_id, external_image_url) values ($1, 'https://example.test/draft.jpg')",
            &[&draft],
        )
        .await
        .unwrap();

    // The owner deletes a render that is featured in the gallery.
    let gone =
        as_user(&app, &owner, "delete from public.renders where id = $1", &[(&deleted, Type::UUID)]).await.unwrap();
    assert_eq!(gone, 1);

    let feed = feed_as_anon(&app).await;
    let items: Vec<String> = feed.iter().map(|r| r["item_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(items, vec![kept_item.to_string(), external.to_string()], "{feed:?}");
    assert!(feed.iter().all(|r| r["collection_id"] == live.to_string()), "{feed:?}");
    assert_eq!(feed[1]["image_path"], serde_json::Value::Null);
    assert_eq!(feed[1]["external_image_url"], "https://example.test/a.jpg");
}
