//! SECURITY.md 24 for collections: through the Data API a user created 150
//! collections, 1,001 items in one, `Kitchen` beside ` kitchen `, and a
//! second `My Favorites`. The database refuses each, for everyone, and
//! concurrent inserts cannot race past a cap.

use crate::support::{as_user, table_rows};
use shared::db::DbError;
use std::sync::Arc;
use testkit::TestApp;

/// The caps of migration 031 (functions/collections has the same numbers;
/// its HTTP tests reach them through the API).
const MAX_COLLECTIONS: i64 = 100;
const MAX_ITEMS: i64 = 1000;

fn is_cap(outcome: &Result<u64, DbError>, cap: &str) -> bool {
    matches!(outcome, Err(DbError::CheckViolation { constraint }) if constraint == cap)
}

#[tokio::test]
async fn a_user_cannot_create_more_collections_than_the_cap() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    // My Favorites is one; fill up to the cap as the user would.
    let fill = format!(
        "insert into public.collections (owner_id, name)
         select '{}', 'Room ' || n from generate_series(1, {}) n",
        user.id,
        MAX_COLLECTIONS - 1
    );
    assert_eq!(as_user(&app, &user, &fill, &[]).await.unwrap(), (MAX_COLLECTIONS - 1) as u64);
    let before = table_rows(&app, "public.collections").await;
    let one_more = format!("insert into public.collections (owner_id, name) values ('{}', 'One too many')", user.id);
    assert!(is_cap(&as_user(&app, &user, &one_more, &[]).await, "collections_per_owner_cap"));
    let fifty_more = format!(
        "insert into public.collections (owner_id, name) select '{}', 'Extra ' || n from generate_series(1, 50) n",
        user.id
    );
    assert!(is_cap(&as_user(&app, &user, &fifty_more, &[]).await, "collections_per_owner_cap"));
    assert_eq!(table_rows(&app, "public.collections").await, before, "nothing changed");
    assert_eq!(app.count(&format!("public.collections where owner_id = '{}'", user.id)).await, MAX_COLLECTIONS);
}

#[tokio::test]
async fn concurrent_creates_cannot_race_past_the_cap() {
    let app = Arc::new(TestApp::spawn().await);
    let user = app.create_user().await;
    let fill = format!(
        "insert into public.collections (owner_id, name) select '{}', 'Room ' || n from generate_series(1, {}) n",
        user.id,
        MAX_COLLECTIONS - 5
    );
    as_user(&app, &user, &fill, &[]).await.unwrap();
    let attempts = (0..20).map(|n| {
        let (app, user) = (Arc::clone(&app), user.clone());
        tokio::spawn(async move {
            let sql = format!("insert into public.collections (owner_id, name) values ('{}', 'Race {n}')", user.id);
            as_user(&app, &user, &sql, &[]).await
        })
    });
    let outcomes = futures_util::future::join_all(attempts).await;
    let created = outcomes.iter().filter(|o| matches!(o, Ok(Ok(1)))).count();
    assert_eq!(created, 4, "{outcomes:?}");
    assert_eq!(app.count(&format!("public.collections where owner_id = '{}'", user.id)).await, MAX_COLLECTIONS);
}

#[tokio::test]
async fn a_user_cannot_put_more_renders_in_a_collection_than_the_cap() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    // 1,001 renders of the user's own, as completed generations leave them.
    app.admin()
        .execute(
            "with jobs as (
               insert into public.generation_jobs (owner_id, mode, status, completed_at, prompt)
               select $1, 'imagine', 'succeeded', now(), 'p' from generate_series(1, 1001)
               returning id)
             insert into public.renders (job_id, owner_id, mode) select id, $1, 'imagine' from jobs",
            &[&user.id],
        )
        .await
        .unwrap();
    let collection =
        format!("(select id from public.collections where owner_id = '{}' and is_default_favorites)", user.id);
    let fill = format!(
        "insert into public.collection_items (collection_id, render_id)
         select {collection}, r.id from public.renders r where r.owner_id = '{}' order by r.id limit {MAX_ITEMS}",
        user.id
    );
    assert_eq!(as_user(&app, &user, &fill, &[]).await.unwrap(), MAX_ITEMS as u64);
    let before = table_rows(&app, "public.collection_items").await;
    let last = format!(
        "insert into public.collection_items (collection_id, render_id)
         select {collection}, r.id from public.renders r where r.owner_id = '{}' order by r.id offset {MAX_ITEMS}",
        user.id
    );
    assert!(is_cap(&as_user(&app, &user, &last, &[]).await, "collection_items_per_collection_cap"));
    assert_eq!(table_rows(&app, "public.collection_items").await, before, "nothing changed");
}

#[tokio::test]
async fn names_are_unique_per_user_ignoring_case_and_spaces() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let other = app.create_user().await;
    let create =
        |name: &str| format!("insert into public.collections (owner_id, name) values ('{}', '{name}')", user.id);
    as_user(&app, &user, &create("Kitchen"), &[]).await.unwrap();
    as_user(&app, &user, &create("Bathroom"), &[]).await.unwrap();
    let before = table_rows(&app, "public.collections").await;
    for clash in [
        create(" kitchen "),
        create("KITCHEN"),
        create("My Favorites"),
        create(" my favorites"),
        format!("update public.collections set name = 'kitchen ' where owner_id = '{}' and name = 'Bathroom'", user.id),
    ] {
        let outcome = as_user(&app, &user, &clash, &[]).await;
        assert!(
            matches!(&outcome, Err(e) if e.is_unique_violation_of("uniq_collections_owner_name")),
            "{clash}: {outcome:?}"
        );
    }
    assert_eq!(table_rows(&app, "public.collections").await, before, "nothing changed");
    // Another user's names are theirs.
    let theirs = format!("insert into public.collections (owner_id, name) values ('{}', 'Kitchen')", other.id);
    as_user(&app, &other, &theirs, &[]).await.unwrap();
    // Even the service cannot give a user a second My Favorites by name.
    let service = app
        .admin()
        .execute("insert into public.collections (owner_id, name) values ($1, 'my favorites')", &[&user.id])
        .await;
    assert!(service.is_err());
}

#[tokio::test]
async fn my_favorites_comes_back_as_the_users_own_collection_of_that_name() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    // An operator removed the flag-holder; the user then made "My Favorites".
    app.admin()
        .execute("delete from public.collections where owner_id = $1 and is_default_favorites", &[&user.id])
        .await
        .unwrap();
    let create = format!("insert into public.collections (owner_id, name) values ('{}', 'My Favorites')", user.id);
    as_user(&app, &user, &create, &[]).await.unwrap();
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let favorites = shared::repositories::collections::lock_and_ensure_favorites(&mut tx, user.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(favorites.is_default_favorites);
    assert_eq!(app.count(&format!("public.collections where owner_id = '{}'", user.id)).await, 1);
}
