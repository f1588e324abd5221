//! SECURITY.md 4-5: renders, variants and collection items pointing at another user's rows.

use crate::support::*;
use shared::db::Type;
use testkit::TestApp;

// ---------------------------------- 4. renders / variants with foreign refs
#[tokio::test]
async fn attack_04_user_cannot_insert_a_render_for_another_users_job() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let their_job = seed_failed_job(&app, &victim).await;
    let my_job = seed_failed_job(&app, &attacker).await;
    let (me, them) = (attacker.id, victim.id);
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!("insert into public.renders (job_id, owner_id, mode) values ('{their_job}', '{me}', 'imagine')"),
            format!("insert into public.renders (job_id, owner_id, mode) values ('{their_job}', '{them}', 'imagine')"),
            // nor even for their own job: renders come from the webhook only
            format!("insert into public.renders (job_id, owner_id, mode) values ('{my_job}', '{me}', 'imagine')"),
        ],
    )
    .await;
    assert_eq!(app.count("public.renders").await, 0);
}

#[tokio::test]
async fn attack_04_user_cannot_insert_a_variant_into_another_users_render() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let theirs = seed_everything(&app, &victim).await;
    let (me, them, render) = (attacker.id, victim.id, theirs.render);
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!(
                "insert into public.render_variants (render_id, owner_id, idx, image_path)
                 values ('{render}', '{me}', 5, 'renders/{render}/5.jpg')"
            ),
            format!(
                "insert into public.render_variants (render_id, owner_id, idx, image_path)
                 values ('{render}', '{them}', 5, 'renders/{render}/5.jpg')"
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn attack_04_user_cannot_insert_or_repoint_a_variant_with_an_arbitrary_image_path() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let mine = seed_everything(&app, &attacker).await;
    let theirs = seed_everything(&app, &victim).await;
    let (me, render, their_render) = (attacker.id, mine.render, theirs.render);
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!(
                "insert into public.render_variants (render_id, owner_id, idx, image_path)
                 values ('{render}', '{me}', 5, 'renders/{their_render}/0.jpg')"
            ),
            format!(
                "insert into public.render_variants (render_id, owner_id, idx, image_path)
                 values ('{render}', '{me}', 6, 'https://evil.example/phish.jpg')"
            ),
            format!("update public.render_variants set image_path = 'renders/{their_render}/0.jpg' where render_id = '{render}'"),
            format!("update public.render_variants set thumb_path = '../../private/x.jpg' where render_id = '{render}'"),
        ],
    )
    .await;
}

#[tokio::test]
async fn attack_04_render_of_another_owners_job_refused_even_for_service() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let their_job = seed_failed_job(&app, &victim).await;
    let before = snapshot(&app).await;
    let outcome = as_service(
        &app,
        "insert into public.renders (job_id, owner_id, mode) values ($1, $2, 'imagine')",
        &[(&their_job, Type::UUID), (&attacker.id, Type::UUID)],
    )
    .await;
    fk_violation(outcome, "renders_job_owner_fk", "render owner differs from job owner");
    assert_unchanged(&app, &before, "render owner differs from job owner").await;
}

#[tokio::test]
async fn attack_04_variant_of_another_owners_render_refused_even_for_service() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let theirs = seed_everything(&app, &victim).await;
    let before = snapshot(&app).await;
    let path = format!("renders/{}/5.jpg", theirs.render);
    let outcome = as_service(
        &app,
        "insert into public.render_variants (render_id, owner_id, idx, image_path) values ($1, $2, 5, $3)",
        &[(&theirs.render, Type::UUID), (&attacker.id, Type::UUID), (&path, Type::TEXT)],
    )
    .await;
    fk_violation(outcome, "render_variants_render_owner_fk", "variant owner differs from render owner");
    assert_unchanged(&app, &before, "variant owner differs from render owner").await;
}

#[tokio::test]
async fn attack_04_arbitrary_image_path_refused_even_for_service() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let other = app.create_user().await;
    let mine = seed_everything(&app, &user).await;
    let theirs = seed_everything(&app, &other).await;
    let render = mine.render;
    let before = snapshot(&app).await;
    let bad_paths = [
        format!("renders/{}/0.jpg", theirs.render),
        format!("renders/{render}/../{}/0.jpg", theirs.render),
        format!("renders/{render}/"),
        "https://evil.example/phish.jpg".to_string(),
        format!("private/{}/inputs/room.jpg", other.id),
        format!("/renders/{render}/5.jpg"),
    ];
    let good = format!("renders/{render}/5.jpg");
    for bad in &bad_paths {
        let image = as_service(
            &app,
            "insert into public.render_variants (render_id, owner_id, idx, image_path) values ($1, $2, 5, $3)",
            &[(&render, Type::UUID), (&user.id, Type::UUID), (bad, Type::TEXT)],
        )
        .await;
        check_violation(image, "render_variants_image_path_check", bad);
        let thumb = as_service(
            &app,
            "insert into public.render_variants (render_id, owner_id, idx, image_path, thumb_path) values ($1, $2, 5, $3, $4)",
            &[(&render, Type::UUID), (&user.id, Type::UUID), (&good, Type::TEXT), (bad, Type::TEXT)],
        )
        .await;
        check_violation(thumb, "render_variants_thumb_path_check", bad);
        let repoint = as_service(
            &app,
            "update public.render_variants set image_path = $2 where render_id = $1 and idx = 0",
            &[(&render, Type::UUID), (bad, Type::TEXT)],
        )
        .await;
        check_violation(repoint, "render_variants_image_path_check", bad);
    }
    let negative = as_service(
        &app,
        "insert into public.render_variants (render_id, owner_id, idx, image_path) values ($1, $2, -1, $3)",
        &[(&render, Type::UUID), (&user.id, Type::UUID), (&good, Type::TEXT)],
    )
    .await;
    check_violation(negative, "render_variants_idx_check", "negative variant index");
    assert_unchanged(&app, &before, "service with arbitrary paths").await;

    let ok = as_service(
        &app,
        "insert into public.render_variants (render_id, owner_id, idx, image_path) values ($1, $2, 5, $3)",
        &[(&render, Type::UUID), (&user.id, Type::UUID), (&good, Type::TEXT)],
    )
    .await;
    assert_eq!(ok.unwrap(), 1, "a path under the render's own folder is accepted");
}

// ------------------------------- 5. another user's render in own collection
#[tokio::test]
async fn attack_05_user_cannot_add_another_users_render_to_own_collection() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let mine = seed_everything(&app, &attacker).await;
    let theirs = seed_everything(&app, &victim).await;
    let their_render = theirs.render;
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!("insert into public.collection_items (collection_id, render_id) values ('{}', '{their_render}')", mine.fav),
            format!("insert into public.collection_items (collection_id, render_id) values ('{}', '{their_render}')", mine.coll),
            // swapping an existing item's render (no update right at all)
            format!(
                "update public.collection_items set render_id = '{their_render}' where collection_id = '{}' and render_id = '{}'",
                mine.coll, mine.render
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn attack_05_user_cannot_add_anything_to_another_users_collection() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let mine = seed_everything(&app, &attacker).await;
    let theirs = seed_everything(&app, &victim).await;
    let other_render = app.seed_render(&victim, 1).await.1;
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!(
                "insert into public.collection_items (collection_id, render_id) values ('{}', '{}')",
                theirs.coll, mine.render
            ),
            format!(
                "insert into public.collection_items (collection_id, render_id) values ('{}', '{other_render}')",
                theirs.fav
            ),
        ],
    )
    .await;
}
