//! SECURITY.md 21: listing the public bucket (Storage's `POST
//! /object/list/public` reads `storage.objects` with the caller's role)
//! revealed every user's render images.

use crate::support::{as_user, rows_as_anon, rows_as_user};
use testkit::TestApp;
use uuid::Uuid;

#[tokio::test]
async fn neither_anon_nor_a_user_lists_the_public_bucket_or_another_users_uploads() {
    let app = TestApp::spawn().await;
    let victim = app.create_user().await;
    let attacker = app.create_user().await;
    let (_, render) = app.seed_render(&victim, 2).await;
    for index in 0..2 {
        app.admin()
            .execute(
                "insert into storage.objects (bucket_id, name, metadata)
                 values ('public', 'renders/' || $1::uuid::text || '/' || $2::int::text || '.jpg',
                         '{\"size\": 1000, \"mimetype\": \"image/jpeg\"}')",
                &[&render, &index],
            )
            .await
            .unwrap();
    }
    let upload = format!("{}/inputs/{}.jpg", victim.id, Uuid::new_v4());
    app.admin()
        .execute(
            "insert into storage.objects (bucket_id, name, owner, metadata)
             values ('private', $1, $2, '{\"size\": 1000, \"mimetype\": \"image/jpeg\"}')",
            &[&upload, &victim.id],
        )
        .await
        .unwrap();

    let list_public = "select name from storage.objects where bucket_id = 'public'";
    let list_all = "select name from storage.objects";
    assert_eq!(rows_as_anon(&app, list_public).await.unwrap(), Vec::<String>::new(), "anon lists renders");
    assert_eq!(rows_as_anon(&app, list_all).await.unwrap(), Vec::<String>::new(), "anon lists objects");
    assert_eq!(rows_as_user(&app, &attacker, list_all).await.unwrap(), Vec::<String>::new(), "a user lists objects");
    // Not even the owner enumerates the public bucket (the product never
    // lists it; the gallery comes from the renders table).
    assert_eq!(rows_as_user(&app, &victim, list_public).await.unwrap(), Vec::<String>::new());
    // The owner still sees their own uploads; the service sees everything.
    assert_eq!(rows_as_user(&app, &victim, list_all).await.unwrap(), vec![upload]);
    let service = app.admin().query_one("select count(*) from storage.objects", &[]).await.unwrap();
    assert_eq!(service.get::<_, i64>(0), 3);
}

/// As on Supabase: rows of storage.objects are never deleted by SQL, not
/// even by the service or the owner of the tables (the file would be
/// orphaned); objects go through the Storage API.
#[tokio::test]
async fn storage_rows_cannot_be_deleted_by_sql() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let upload = format!("{}/inputs/{}.jpg", user.id, Uuid::new_v4());
    app.admin()
        .execute(
            "insert into storage.objects (bucket_id, name, owner, metadata)
             values ('private', $1, $2, '{\"size\": 1000, \"mimetype\": \"image/jpeg\"}')",
            &[&upload, &user.id],
        )
        .await
        .unwrap();
    for sql in ["delete from storage.objects", "delete from storage.buckets where id = 'private'"] {
        let error = app.admin().execute(sql, &[]).await.unwrap_err();
        assert_eq!(error.code(), Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE), "{sql}");
        let as_owner = as_user(&app, &user, sql, &[]).await;
        assert!(as_owner.is_err(), "{sql}: {as_owner:?}");
    }
    assert_eq!(app.count("storage.objects").await, 1);
}
