//! A render's stored card (cover image path, variant count, favourite flag;
//! `migrations/phase3/035_render_cards.sql`; cover thumbnail, `038`) stays equal to the rows it
//! summarises, whatever changes them and however many change them at once.

use shared::repositories::{collections, renders};
use std::sync::Arc;
use testkit::{TestApp, TestUser};
use uuid::Uuid;

/// Every render whose stored card differs from what its rows say.
async fn stale_cards(app: &TestApp) -> Vec<String> {
    app.admin()
        .query(
            "select r.id::text || ' stores '
                    || row(r.cover_image_path, r.cover_thumb_path, r.variant_count, r.is_favorite)::text
                    || ', rows say ' || row(truth.cover, truth.thumb, truth.variants, truth.favorite)::text
               from public.renders r,
                    lateral (select (select v.image_path from public.render_variants v
                                      where v.render_id = r.id and v.idx = r.cover_variant) as cover,
                                    (select v.thumb_path from public.render_variants v
                                      where v.render_id = r.id and v.idx = r.cover_variant) as thumb,
                                    (select count(*)::int from public.render_variants v
                                      where v.render_id = r.id) as variants,
                                    exists(select 1 from public.collection_items ci
                                             join public.collections c on c.id = ci.collection_id
                                            where ci.render_id = r.id and c.owner_id = r.owner_id
                                              and c.is_default_favorites) as favorite) truth
              where (r.cover_image_path, r.cover_thumb_path, r.variant_count, r.is_favorite)
                    is distinct from (truth.cover, truth.thumb, truth.variants, truth.favorite)",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

async fn card(app: &TestApp, render: Uuid) -> (Option<String>, i32, bool) {
    let row = app
        .admin()
        .query_one("select cover_image_path, variant_count, is_favorite from public.renders where id = $1", &[&render])
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// The favourite toggle as `POST /favorites/toggle` runs it.
async fn toggle(app: &TestApp, user: &TestUser, render: Uuid) -> collections::ToggleOutcome {
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let favorites = collections::lock_and_ensure_favorites(&mut tx, user.id).await.unwrap();
    collections::toggle_favorite(tx, user.id, favorites.id, render, 1000).await.unwrap()
}

#[tokio::test]
async fn the_card_follows_variants_cover_and_favourites() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let (_, render) = app.seed_render(&user, 3).await;
    assert_eq!(card(&app, render).await, (Some(format!("renders/{render}/0.jpg")), 3, false));

    let admin = app.admin();
    admin.execute("update public.renders set cover_variant = 2 where id = $1", &[&render]).await.unwrap();
    assert_eq!(card(&app, render).await.0, Some(format!("renders/{render}/2.jpg")));
    admin.execute("delete from public.render_variants where render_id = $1 and idx = 2", &[&render]).await.unwrap();
    assert_eq!(card(&app, render).await, (None, 2, false), "the cover variant is gone");

    assert_eq!(toggle(&app, &user, render).await, collections::ToggleOutcome::Toggled(true));
    assert!(card(&app, render).await.2);
    // Another collection is not My Favorites.
    admin.execute("insert into public.collections (owner_id, name) values ($1, 'Kitchen')", &[&user.id]).await.unwrap();
    admin
        .execute(
            "insert into public.collection_items (collection_id, render_id)
             select id, $2 from public.collections where owner_id = $1 and name = 'Kitchen'",
            &[&user.id, &render],
        )
        .await
        .unwrap();
    assert_eq!(toggle(&app, &user, render).await, collections::ToggleOutcome::Toggled(false));
    assert!(!card(&app, render).await.2, "still in Kitchen, no longer a favourite");
    assert_eq!(stale_cards(&app).await, Vec::<String>::new());
}

async fn cover_thumb(app: &TestApp, render: Uuid) -> Option<String> {
    app.admin().query_one("select cover_thumb_path from public.renders where id = $1", &[&render]).await.unwrap().get(0)
}

/// The backfill records a thumbnail on the variant; the card follows it,
/// and a new cover brings its own thumbnail (or none).
#[tokio::test]
async fn the_cover_thumbnail_follows_the_variants_thumbnails_and_the_cover() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let (_, render) = app.seed_render(&user, 2).await;
    assert_eq!(cover_thumb(&app, render).await, None);
    let variants: Vec<Uuid> = app
        .admin()
        .query("select id from public.render_variants where render_id = $1 order by idx", &[&render])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut tx = app.db.as_service().await.unwrap();
    assert!(renders::set_thumb(&mut tx, variants[0], &format!("renders/{render}/0_thumb.webp")).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(cover_thumb(&app, render).await, Some(format!("renders/{render}/0_thumb.webp")));
    let admin = app.admin();
    admin.execute("update public.renders set cover_variant = 1 where id = $1", &[&render]).await.unwrap();
    assert_eq!(cover_thumb(&app, render).await, None, "variant 1 has no thumbnail yet");
    admin.execute("update public.renders set cover_variant = 0 where id = $1", &[&render]).await.unwrap();
    assert_eq!(cover_thumb(&app, render).await, Some(format!("renders/{render}/0_thumb.webp")));
    // A deleted variant's thumbnail is not recorded for anyone.
    let mut tx = app.db.as_service().await.unwrap();
    admin.execute("delete from public.render_variants where id = $1", &[&variants[1]]).await.unwrap();
    assert!(!renders::set_thumb(&mut tx, variants[1], "renders/x/1_thumb.webp").await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(stale_cards(&app).await, Vec::<String>::new());
}

#[tokio::test]
async fn concurrent_toggles_item_changes_and_deletes_leave_every_card_true() {
    let app = Arc::new(TestApp::spawn().await);
    let user = Arc::new(app.create_user().await);
    let mut render_ids = Vec::new();
    for _ in 0..6 {
        render_ids.push(app.seed_render(&user, 2).await.1);
    }
    let kitchen: Uuid = app
        .admin()
        .query_one("insert into public.collections (owner_id, name) values ($1, 'Kitchen') returning id", &[&user.id])
        .await
        .unwrap()
        .get(0);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..60usize {
        let (app, user, render) = (app.clone(), user.clone(), render_ids[n % render_ids.len()]);
        tasks.spawn(async move {
            match n % 5 {
                // The render may be deleted by now: then the toggle finds nothing.
                0..=2 => {
                    toggle(&app, &user, render).await;
                }
                3 => {
                    let mut tx = app.db.as_user(&user.identity).await.unwrap();
                    let added = collections::add_to_collection(&mut tx, kitchen, render).await;
                    if added.is_ok() {
                        collections::remove_from_collection(&mut tx, kitchen, render).await.ok();
                        tx.commit().await.ok();
                    }
                }
                // Two of the renders are deleted while the others toggle them.
                _ if n < 10 => {
                    let mut tx = app.db.as_user(&user.identity).await.unwrap();
                    renders::delete_render(&mut tx, render, user.id).await.unwrap();
                    tx.commit().await.unwrap();
                }
                _ => {
                    toggle(&app, &user, render).await;
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("no task panicked");
    }
    assert_eq!(app.count("public.renders").await, 4, "two renders deleted");
    assert_eq!(stale_cards(&app).await, Vec::<String>::new());
}
