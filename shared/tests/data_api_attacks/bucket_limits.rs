//! SECURITY.md 26 through the Storage API: the private bucket took objects
//! of any size and type under the user's folder. The bucket's limits
//! (Supabase's `file_size_limit`, `allowed_mime_types`) refuse them.

use crate::support::{as_user, table_rows};
use shared::db::DbError;
use testkit::TestApp;
use uuid::Uuid;

#[tokio::test]
async fn the_private_bucket_refuses_oversized_and_non_image_objects() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let upload = |size: i64, mimetype: &str| {
        format!(
            "insert into storage.objects (bucket_id, name, owner, metadata)
             values ('private', '{}/inputs/{}.jpg', '{}', '{{\"size\": {size}, \"mimetype\": \"{mimetype}\"}}')",
            user.id,
            Uuid::new_v4(),
            user.id
        )
    };
    let before = table_rows(&app, "storage.objects").await;
    for (attack, sql) in [
        ("16 MiB", upload(16 * 1024 * 1024, "image/jpeg")),
        ("a web page", upload(1000, "text/html")),
        ("an archive", upload(1000, "application/zip")),
        (
            "no size",
            format!("insert into storage.objects (bucket_id, name) values ('private', '{}/inputs/x.jpg')", user.id),
        ),
    ] {
        let outcome = as_user(&app, &user, &sql, &[]).await;
        assert!(matches!(outcome, Err(DbError::CheckViolation { .. })), "{attack}: {outcome:?}");
    }
    assert_eq!(table_rows(&app, "storage.objects").await, before, "nothing stored");
    // A photo of the allowed size and type is stored.
    assert_eq!(as_user(&app, &user, &upload(15 * 1024 * 1024, "image/jpeg"), &[]).await.unwrap(), 1);
    let limits = app
        .admin()
        .query_one("select file_size_limit, allowed_mime_types from storage.buckets where id = 'private'", &[])
        .await
        .unwrap();
    assert_eq!(limits.get::<_, Option<i64>>(0), Some(15 * 1024 * 1024));
    assert_eq!(limits.get::<_, Option<Vec<String>>>(1).unwrap(), ["image/jpeg", "image/png", "image/webp"]);
}
