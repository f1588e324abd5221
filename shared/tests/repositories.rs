//! The repositories against the real schema, under the identities the
//! functions use: service for jobs/renders/ledger, the user for the gallery.

use shared::db::DbError;
use shared::repositories::pagination::PageRequest;
use shared::repositories::{collections, community, generation_jobs as jobs, renders, usage, webhook_events};
use testkit::{TestApp, TestUser};
use uuid::Uuid;

fn new_job(owner: Uuid) -> jobs::NewJob<'static> {
    jobs::NewJob {
        owner_id: owner,
        mode: "imagine",
        room_type: Some("bedroom"),
        style: Some("japandi"),
        input1_path: None,
        input2_path: None,
        prompt: Some("a calm bedroom"),
        idempotency_key: None,
    }
}

/// Submit's insert, as its own statement.
async fn create_job(tx: &mut shared::db::Tx, job: &jobs::NewJob<'_>) -> Result<jobs::Job, DbError> {
    let statement = jobs::create_job_statement(job);
    jobs::created_job(tx.query(&statement.sql, &statement.params).await?)
}

async fn service_job(app: &TestApp, user: &TestUser) -> jobs::Job {
    let mut tx = app.db.as_service().await.unwrap();
    let job = create_job(&mut tx, &new_job(user.id)).await.unwrap();
    tx.commit().await.unwrap();
    job
}

/// The gallery's read, as `viewer` asking for `owner`'s renders.
async fn gallery(
    app: &TestApp,
    viewer: &TestUser,
    owner: Uuid,
    filters: &renders::RenderFilters,
    page: &PageRequest,
) -> shared::repositories::pagination::Page<renders::RenderListItem> {
    let tx = app.db.as_user(&viewer.identity).await.unwrap();
    renders::list_renders(tx, owner, filters, page).await.unwrap()
}

/// The caller's My Favorites as the toggle route gets it.
async fn my_favorites(app: &TestApp, user: &TestUser) -> collections::Collection {
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let favorites = collections::lock_and_ensure_favorites(&mut tx, user.id).await.unwrap();
    tx.commit().await.unwrap();
    favorites
}

/// Records a success the way completion does: render, variants, debit and
/// delivery id in one transaction.
async fn complete(app: &TestApp, job: &jobs::Job, delivery: &str, variants: i32) -> Uuid {
    let mut tx = app.db.as_service().await.unwrap();
    assert!(webhook_events::record_delivery(&mut tx, delivery, Some(job.id), "completed").await.unwrap());
    jobs::set_job_status(&mut tx, job.id, &jobs::Transition::Succeeded).await.unwrap().expect("transition");
    let render_id = Uuid::new_v4();
    renders::create_render(
        &mut tx,
        &renders::NewRender {
            id: render_id,
            job_id: job.id,
            owner_id: job.owner_id,
            mode: &job.mode,
            room_type: job.room_type.as_deref(),
            style: job.style.as_deref(),
            cover_variant: 0,
        },
    )
    .await
    .unwrap();
    let paths: Vec<String> = (0..variants).map(|idx| format!("renders/{render_id}/{idx}.jpg")).collect();
    let objects: Vec<renders::VariantObjects> =
        paths.iter().map(|path| renders::VariantObjects { image_path: path.clone(), thumb_path: None }).collect();
    let added = renders::add_variants(&mut tx, render_id, job.owner_id, &objects).await.unwrap();
    assert_eq!(
        added.iter().map(|v| (v.idx, v.image_path.clone())).collect::<Vec<_>>(),
        paths.iter().cloned().enumerate().map(|(i, p)| (i as i32, p)).collect::<Vec<_>>()
    );
    assert!(usage::debit_generation(&mut tx, job.owner_id, job.id, 1).await.unwrap());
    tx.commit().await.unwrap();
    render_id
}

#[tokio::test]
async fn the_spec_flow_job_then_success_gives_render_variants_debit_and_favorites() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let job = service_job(&app, &user).await;
    assert_eq!(job.status, jobs::JobStatus::Starting);

    let tx = app.db.as_service().await.unwrap();
    let job = jobs::attach_prediction(tx, job.id, "pred-1").await.unwrap().unwrap();
    assert_eq!((job.status, job.prediction_id.as_deref()), (jobs::JobStatus::Processing, Some("pred-1")));
    let tx = app.db.as_service().await.unwrap();
    assert!(jobs::attach_prediction(tx, job.id, "pred-2").await.unwrap().is_none(), "attached once");

    let render_id = complete(&app, &job, "msg_1", 2).await;

    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let job = jobs::get_job_by_id(&mut tx, job.id).await.unwrap().unwrap();
    assert_eq!(job.status, jobs::JobStatus::Succeeded);
    assert!(job.completed_at.is_some());
    let (render, variants) = renders::get_render(&mut tx, render_id, user.id).await.unwrap().unwrap();
    assert_eq!(render.job_id, job.id);
    assert_eq!(
        variants.iter().map(|v| v.image_path.clone()).collect::<Vec<_>>(),
        vec![format!("renders/{render_id}/0.jpg"), format!("renders/{render_id}/1.jpg")]
    );
    tx.commit().await.unwrap();
    assert_eq!(my_favorites(&app, &user).await.name, "My Favorites");
    assert_eq!(overview(&app, &user, false).await.used, 1);
}

/// `GET /usage`'s read, as the user.
async fn overview(app: &TestApp, user: &TestUser, with_history: bool) -> usage::UsageOverview {
    let (start, end) = usage::month_period(chrono::Utc::now());
    let tx = app.db.as_user(&user.identity).await.unwrap();
    usage::usage_overview(tx, user.id, start, end, with_history).await.unwrap()
}

/// `POST /favorites/toggle`'s writes, as the user.
async fn toggle_favorite(app: &TestApp, user: &TestUser, render_id: Uuid) -> collections::ToggleOutcome {
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let favorites = collections::lock_and_ensure_favorites(&mut tx, user.id).await.unwrap();
    collections::toggle_favorite(tx, user.id, favorites.id, render_id, 500).await.unwrap()
}

#[tokio::test]
async fn one_inflight_job_per_owner_is_enforced_by_the_database() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    service_job(&app, &user).await;
    let mut tx = app.db.as_service().await.unwrap();
    let error = create_job(&mut tx, &new_job(user.id)).await.unwrap_err();
    assert!(error.is_unique_violation_of(jobs::INFLIGHT_INDEX), "{error:?}");
    assert!(overview(&app, &user, false).await.inflight_job_id.is_some());
}

#[tokio::test]
async fn an_idempotency_key_is_unique_per_owner() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let key = Uuid::new_v4();
    let mut tx = app.db.as_service().await.unwrap();
    let job = create_job(&mut tx, &jobs::NewJob { idempotency_key: Some(key), ..new_job(user.id) }).await.unwrap();
    jobs::set_job_status(&mut tx, job.id, &jobs::Transition::Failed { error: "upstream refused", detail: None })
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    // Even with the first job finished, the key cannot make a second one.
    let mut tx = app.db.as_service().await.unwrap();
    let error =
        create_job(&mut tx, &jobs::NewJob { idempotency_key: Some(key), ..new_job(user.id) }).await.unwrap_err();
    assert!(error.is_unique_violation_of(jobs::IDEMPOTENCY_INDEX), "{error:?}");
    let mut tx = app.db.as_service().await.unwrap();
    assert_eq!(jobs::get_job_by_idempotency_key(&mut tx, user.id, key).await.unwrap().unwrap().id, job.id);
}

#[tokio::test]
async fn a_canceled_job_is_never_resurrected_and_a_timed_out_one_completes_once() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let canceled = service_job(&app, &user).await;
    let mut tx = app.db.as_service().await.unwrap();
    jobs::set_job_status(&mut tx, canceled.id, &jobs::Transition::Canceled).await.unwrap().unwrap();
    assert!(jobs::set_job_status(&mut tx, canceled.id, &jobs::Transition::Succeeded).await.unwrap().is_none());
    assert!(jobs::set_job_status(&mut tx, canceled.id, &jobs::Transition::Failed { error: "x", detail: None })
        .await
        .unwrap()
        .is_none());
    tx.commit().await.unwrap();

    // A job older than the timeout: expired, then a late success completes it once.
    let late = service_job(&app, &user).await;
    app.admin()
        .execute(
            "update public.generation_jobs set created_at = now() - interval '11 minutes' where id = $1",
            &[&late.id],
        )
        .await
        .unwrap();
    let mut tx = app.db.as_service().await.unwrap();
    let stale = jobs::list_stale_jobs(&mut tx, shared::config::JOB_TIMEOUT, 10).await.unwrap();
    assert_eq!(stale.iter().map(|j| j.id).collect::<Vec<_>>(), vec![late.id]);
    let expired = jobs::set_job_status(&mut tx, late.id, &jobs::Transition::TimedOut).await.unwrap().unwrap();
    assert!(expired.timed_out());
    assert!(jobs::set_job_status(&mut tx, late.id, &jobs::Transition::TimedOut).await.unwrap().is_none());
    let done = jobs::set_job_status(&mut tx, late.id, &jobs::Transition::Succeeded).await.unwrap().unwrap();
    assert_eq!(done.status, jobs::JobStatus::Succeeded);
    assert_eq!(done.error, None);
    assert!(jobs::set_job_status(&mut tx, late.id, &jobs::Transition::Succeeded).await.unwrap().is_none());
    tx.commit().await.unwrap();

    // A fresh job is not expired by the timeout transition.
    let fresh = service_job(&app, &user).await;
    let mut tx = app.db.as_service().await.unwrap();
    assert!(jobs::set_job_status(&mut tx, fresh.id, &jobs::Transition::TimedOut).await.unwrap().is_none());
}

#[tokio::test]
async fn polling_is_claimed_once_per_interval_across_callers() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let job = service_job(&app, &user).await;
    let interval = std::time::Duration::from_secs(5);
    let attempts = (0..10).map(|_| async {
        let mut tx = app.db.as_service().await.unwrap();
        let claimed = jobs::claim_poll(&mut tx, job.id, interval).await.unwrap();
        tx.commit().await.unwrap();
        claimed
    });
    let claims = futures_util::future::join_all(attempts).await;
    let winners: Vec<_> = claims.into_iter().flatten().collect();
    assert_eq!(winners.len(), 1, "one claim per interval");
    assert_eq!(winners[0].id, job.id, "the claimer gets the job");
    assert!(winners[0].last_polled_at.is_some(), "as it stands after the claim");

    // A job that has ended is never polled again.
    let mut tx = app.db.as_service().await.unwrap();
    jobs::set_job_status(&mut tx, job.id, &jobs::Transition::Canceled).await.unwrap().expect("canceled");
    tx.commit().await.unwrap();
    let mut tx = app.db.as_service().await.unwrap();
    assert!(jobs::claim_poll(&mut tx, job.id, std::time::Duration::ZERO).await.unwrap().is_none());
}

#[tokio::test]
async fn a_duplicate_delivery_and_a_second_debit_are_no_ops() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let job = service_job(&app, &user).await;
    complete(&app, &job, "msg_dup", 1).await;
    let mut tx = app.db.as_service().await.unwrap();
    assert!(!webhook_events::record_delivery(&mut tx, "msg_dup", Some(job.id), "completed").await.unwrap());
    assert!(webhook_events::delivery_recorded(&mut tx, "msg_dup").await.unwrap());
    assert!(!usage::debit_generation(&mut tx, user.id, job.id, 1).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(app.count("public.usage_ledger").await, 1);
}

#[tokio::test]
async fn gallery_pages_walk_every_render_once_in_order_despite_equal_timestamps() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let other = app.create_user().await;
    // 250 renders in 5 distinct timestamps: most share theirs with 49 others.
    app.admin()
        .batch_execute(&format!(
            "insert into public.generation_jobs (id, owner_id, mode, status, style)
             select gen_random_uuid(), '{uid}', 'imagine', 'succeeded', case when n % 2 = 0 then 'modern' else 'coastal' end
               from generate_series(1, 250) n;
             insert into public.renders (job_id, owner_id, mode, style, created_at)
             select j.id, j.owner_id, j.mode, j.style, timestamptz '2026-01-01' + (row_number() over () % 5) * interval '1 minute'
               from public.generation_jobs j where j.owner_id = '{uid}';",
            uid = user.id
        ))
        .await
        .unwrap();
    app.seed_render(&other, 1).await;

    let mut seen = Vec::new();
    let mut page = PageRequest { limit: 7, after: None };
    loop {
        let result = gallery(&app, &user, user.id, &renders::RenderFilters::default(), &page).await;
        seen.extend(result.items.iter().map(|item| (item.render.created_at, item.render.id)));
        match result.next_cursor {
            Some(cursor) => page.after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen.len(), 250);
    let mut expected = seen.clone();
    expected.sort_by(|a, b| b.cmp(a));
    expected.dedup();
    assert_eq!(seen, expected, "strictly descending by (created_at, id): no repeats, no gaps");

    let filters = renders::RenderFilters { style: Some("modern".into()), ..Default::default() };
    let modern = gallery(&app, &user, user.id, &filters, &PageRequest { limit: 100, after: None }).await;
    assert_eq!(modern.items.len(), 100);
    assert!(modern.items.iter().all(|i| i.render.style.as_deref() == Some("modern")));
}

#[tokio::test]
async fn gallery_items_carry_cover_count_and_favorite_without_leaking_others() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let other = app.create_user().await;
    let (_, render_id) = app.seed_render(&user, 3).await;
    let (_, others_render) = app.seed_render(&other, 1).await;

    assert_eq!(toggle_favorite(&app, &user, render_id).await, collections::ToggleOutcome::Toggled(true));
    assert_eq!(toggle_favorite(&app, &user, others_render).await, collections::ToggleOutcome::RenderNotFound);
    let page = gallery(&app, &user, user.id, &Default::default(), &PageRequest::default()).await;
    assert_eq!(page.items.len(), 1);
    let item = &page.items[0];
    assert_eq!(item.variant_count, 3);
    assert!(item.is_favorite);
    assert_eq!(item.cover_image_path.as_deref(), Some(format!("renders/{render_id}/0.jpg").as_str()));
    // Even naming another owner's id, the caller sees nothing of theirs.
    let leaked = gallery(&app, &user, other.id, &Default::default(), &PageRequest::default()).await;
    assert!(leaked.items.is_empty());
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    assert!(renders::get_render(&mut tx, others_render, other.id).await.unwrap().is_none());
    tx.commit().await.unwrap();
    assert_eq!(toggle_favorite(&app, &user, render_id).await, collections::ToggleOutcome::Toggled(false));
}

#[tokio::test]
async fn deleting_a_render_returns_its_image_keys_and_keeps_the_job() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let other = app.create_user().await;
    let (job_id, render_id) = app.seed_render(&user, 2).await;
    let mut tx = app.db.as_user(&other.identity).await.unwrap();
    assert_eq!(renders::delete_render(&mut tx, render_id, user.id).await.unwrap(), None, "not the owner");
    tx.commit().await.unwrap();

    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let mut paths = renders::delete_render(&mut tx, render_id, user.id).await.unwrap().unwrap();
    paths.sort();
    assert_eq!(paths, vec![format!("renders/{render_id}/0.jpg"), format!("renders/{render_id}/1.jpg")]);
    tx.commit().await.unwrap();
    assert_eq!(app.count("public.render_variants").await, 0);
    assert_eq!(app.count(&format!("public.generation_jobs where id = '{job_id}'")).await, 1);
}

#[tokio::test]
async fn collections_crud_with_my_favorites_protected() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let (_, render_id) = app.seed_render(&user, 1).await;
    let tx = app.db.as_user(&user.identity).await.unwrap();
    let collections::CreateOutcome::Created(kitchen) =
        collections::create_collection(tx, user.id, "Kitchen", 100).await.unwrap()
    else {
        panic!("not created")
    };
    let favorites = my_favorites(&app, &user).await;
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    assert!(collections::add_to_collection(&mut tx, kitchen.id, render_id).await.unwrap());
    assert!(!collections::add_to_collection(&mut tx, kitchen.id, render_id).await.unwrap(), "idempotent");
    let renamed = collections::rename_collection(&mut tx, kitchen.id, user.id, "Kitchens").await.unwrap().unwrap();
    assert_eq!(renamed.name, "Kitchens");
    assert!(collections::rename_collection(&mut tx, favorites.id, user.id, "Nope").await.unwrap().is_none());
    assert!(!collections::delete_collection(&mut tx, favorites.id, user.id).await.unwrap());

    tx.commit().await.unwrap();
    let list = collections::list_collections(app.db.as_user(&user.identity).await.unwrap(), user.id).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list[0].collection.is_default_favorites, "My Favorites first");
    assert_eq!((list[1].item_count, list[1].cover_image_path.clone()), (1, Some(format!("renders/{render_id}/0.jpg"))));
    let in_kitchen = renders::RenderFilters { collection_id: Some(kitchen.id), ..Default::default() };
    let items = gallery(&app, &user, user.id, &in_kitchen, &PageRequest::default()).await;
    assert_eq!(items.items.iter().map(|item| item.render.id).collect::<Vec<_>>(), vec![render_id]);
    let mut tx = app.db.as_user(&user.identity).await.unwrap();

    assert!(collections::remove_from_collection(&mut tx, kitchen.id, render_id).await.unwrap());
    assert!(!collections::remove_from_collection(&mut tx, kitchen.id, render_id).await.unwrap());
    assert!(collections::delete_collection(&mut tx, kitchen.id, user.id).await.unwrap());
    tx.commit().await.unwrap();

    let tx = app.db.as_user(&user.identity).await.unwrap();
    let error = collections::create_collection(tx, user.id, "   ", 100).await.unwrap_err();
    assert!(matches!(error, DbError::CheckViolation { .. }), "{error:?}");
}

#[tokio::test]
async fn missing_my_favorites_comes_back_once() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    app.admin().execute("delete from public.collections where owner_id = $1", &[&user.id]).await.unwrap();
    let calls = (0..8).map(|_| async { my_favorites(&app, &user).await.id });
    let ids = futures_util::future::join_all(calls).await;
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(app.count(&format!("public.collections where owner_id = '{}'", user.id)).await, 1);
}

#[tokio::test]
async fn usage_counts_this_month_only_and_the_ledger_lists_the_period() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let (job_now, _) = app.seed_render(&user, 1).await;
    let (job_old, _) = app.seed_render(&user, 1).await;
    app.admin()
        .execute(
            "insert into public.usage_ledger (owner_id, kind, amount, meta, created_at) values
               ($1, 'generation_debit', 1, jsonb_build_object('jobId', $2::uuid), now()),
               ($1, 'generation_debit', 1, jsonb_build_object('jobId', $3::uuid), date_trunc('month', now()) - interval '1 second')",
            &[&user.id, &job_now, &job_old],
        )
        .await
        .unwrap();
    let overview = overview(&app, &user, true).await;
    assert_eq!(overview.used, 1);
    assert_eq!(overview.history.len(), 1);
    assert_eq!(overview.history[0].meta.as_ref().unwrap()["jobId"], job_now.to_string());
    assert!(!overview.has_access);
}

#[tokio::test]
async fn community_lists_published_items_in_order_with_the_cover_image_only() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let (_, render_id) = app.seed_render(&user, 2).await;
    let (_, deleted_render) = app.seed_render(&user, 1).await;
    app.admin()
        .batch_execute(&format!(
            "insert into public.community_collections (id, title, is_featured, order_index, is_published) values
               ('00000000-0000-4000-e000-000000000001', 'Regular', false, 0, true),
               ('00000000-0000-4000-e000-000000000002', 'Featured', true, 5, true),
               ('00000000-0000-4000-e000-000000000003', 'Draft', true, 0, false);
             insert into public.community_items (collection_id, render_id, external_image_url, apply_settings, order_index) values
               ('00000000-0000-4000-e000-000000000002', '{render_id}', null, '{{\"mode\":\"redesign\"}}', 1),
               ('00000000-0000-4000-e000-000000000002', null, 'https://cdn.example.com/a.jpg', null, 0),
               ('00000000-0000-4000-e000-000000000002', '{deleted_render}', null, null, 2),
               ('00000000-0000-4000-e000-000000000003', '{render_id}', null, null, 0);
             delete from public.renders where id = '{deleted_render}';"
        ))
        .await
        .unwrap();
    let feed = community::list_community(app.db.as_anon().await.unwrap()).await.unwrap();
    let titles: Vec<&str> = feed.iter().map(|c| c.title.as_str()).collect();
    // "Regular" is published but has no items: an empty shelf is not shown.
    assert_eq!(titles, vec!["Featured"]);
    let items = &feed[0].items;
    assert_eq!(items.len(), 2, "the deleted render's item is gone");
    assert_eq!(items[0].external_image_url.as_deref(), Some("https://cdn.example.com/a.jpg"));
    assert_eq!(items[1].image_path.as_deref(), Some(format!("renders/{render_id}/0.jpg").as_str()));
    assert_eq!(items[1].apply_settings.as_ref().unwrap()["mode"], "redesign");
}
