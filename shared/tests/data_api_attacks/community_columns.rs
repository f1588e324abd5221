//! Anonymous readers (and users, anonymous sign-ins included) read
//! `community_items.render_id` and from it every variant of a curated
//! render; community content is served only through `community_feed()`.

use crate::support::{community_collection, community_item, rows_as_anon, rows_as_user};
use shared::db::DbError;
use testkit::TestApp;

#[tokio::test]
async fn community_tables_are_read_only_through_the_feed() {
    let app = TestApp::spawn().await;
    let owner = app.create_user().await;
    let reader = app.create_user().await;
    let (_, render) = app.seed_render(&owner, 3).await;
    let collection = community_collection(&app, "Live", true).await;
    community_item(&app, collection, render, 0).await;
    for sql in [
        "select render_id::text from public.community_items",
        "select id::text from public.community_items",
        "select id::text from public.community_collections",
    ] {
        let anon = rows_as_anon(&app, sql).await;
        assert!(matches!(anon, Err(DbError::PermissionDenied)), "anon: {sql}: {anon:?}");
        let user = rows_as_user(&app, &reader, sql).await;
        assert!(matches!(user, Err(DbError::PermissionDenied)), "user: {sql}: {user:?}");
    }
    // The feed still shows the item, with only its cover image.
    let feed = rows_as_anon(&app, "select image_path from public.community_feed()").await.unwrap();
    assert_eq!(feed, vec![format!("renders/{render}/0.jpg")]);
}
