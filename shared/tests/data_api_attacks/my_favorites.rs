//! SECURITY.md 6: My Favorites cannot be deleted, renamed or faked; `ensure_default_favorites()` makes exactly one.

use crate::support::*;
use shared::db::{DbError, Type};
use std::sync::Arc;
use testkit::TestApp;
use uuid::Uuid;

// ------------------------------------------------- 6. deleting My Favorites
#[tokio::test]
async fn attack_06_user_cannot_unflag_then_delete_my_favorites() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let fav = favorites_of(&app, &attacker).await.unwrap();
    let before = snapshot(&app).await;

    let unflag = as_user(
        &app,
        &attacker,
        "update public.collections set is_default_favorites = false where id = $1",
        &[(&fav, Type::UUID)],
    )
    .await;
    assert_refused(&unflag, "unflag My Favorites");
    let delete = as_user(&app, &attacker, "delete from public.collections where id = $1", &[(&fav, Type::UUID)]).await;
    assert_refused(&delete, "delete My Favorites");
    // both in one transaction, as a script would
    let mut tx = app.db.as_user(&attacker.identity).await.unwrap();
    let both = async {
        let a = tx
            .execute("update public.collections set is_default_favorites = false where id = $1", &[(&fav, Type::UUID)])
            .await?;
        let b = tx.execute("delete from public.collections where id = $1", &[(&fav, Type::UUID)]).await?;
        tx.commit().await?;
        Ok::<u64, DbError>(a + b)
    }
    .await;
    assert_refused(&both, "unflag and delete in one transaction");
    // a blanket delete removes ordinary collections only
    let blanket = as_user(&app, &attacker, "delete from public.collections", &[]).await;
    assert_refused(&blanket, "delete every collection");

    assert_unchanged(&app, &before, "My Favorites").await;
    assert_eq!(favorites_of(&app, &attacker).await, Some(fav));
}

#[tokio::test]
async fn attack_06_user_cannot_rename_my_favorites() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let fav = favorites_of(&app, &attacker).await.unwrap();
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!("update public.collections set name = 'Not favorites' where id = '{fav}'"),
            format!(
                "update public.collections set name = 'Not favorites', is_default_favorites = false where id = '{fav}'"
            ),
        ],
    )
    .await;
    let name: String =
        app.admin().query_one("select name from public.collections where id = $1", &[&fav]).await.unwrap().get(0);
    assert_eq!(name, "My Favorites");
}

#[tokio::test]
async fn attack_06_user_cannot_make_another_collection_their_favorites() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let mine = seed_everything(&app, &attacker).await;
    let me = attacker.id;
    // With a second favorites collection (or a flagged ordinary one) the
    // original could be unflagged and deleted, or favorites duplicated.
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!("insert into public.collections (owner_id, name, is_default_favorites) values ('{me}', 'My Favorites', true)"),
            format!("update public.collections set is_default_favorites = true where id = '{}'", mine.coll),
        ],
    )
    .await;
}

// ------------------------------------------------ ensure_default_favorites()

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_default_favorites_recreates_missing_favorites_exactly_once_under_concurrency() {
    let app = TestApp::spawn_with_pool_size(10).await;
    let user = app.create_user().await;
    let bystander = app.create_user().await;
    let original = favorites_of(&app, &user).await.unwrap();
    let bystanders_favorites = favorites_of(&app, &bystander).await.unwrap();

    // Present: returned as is, nothing created.
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let same = ensure_favorites(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(same, original);

    // Missing (an operator removed it): ten concurrent calls recreate it once.
    app.admin().execute("delete from public.collections where id = $1", &[&original]).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(10));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let db = app.db.clone();
        let identity = user.identity.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut tx = db.as_user(&identity).await?;
            let id = ensure_favorites(&mut tx).await?;
            tx.commit().await?;
            Ok::<Uuid, DbError>(id)
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap());
    }
    let recreated = ids[0];
    assert!(ids.iter().all(|id| *id == recreated), "calls disagree: {ids:?}");
    assert_ne!(recreated, original);
    assert_eq!(app.count(&format!("public.collections where owner_id = '{}'", user.id)).await, 1);
    let row = app
        .admin()
        .query_one("select name, is_default_favorites from public.collections where id = $1", &[&recreated])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "My Favorites");
    assert!(row.get::<_, bool>(1));

    // Once more: still the same one.
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let again = ensure_favorites(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(again, recreated);
    // Nobody else's favorites were touched.
    assert_eq!(favorites_of(&app, &bystander).await, Some(bystanders_favorites));
    assert_eq!(app.count(&format!("public.collections where owner_id = '{}'", bystander.id)).await, 1);
}
