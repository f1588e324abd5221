//! The spec's operational check (section 8) and the migration runner's
//! promises: files apply in order, twice without effect, each file is
//! idempotent on its own, policies and buckets exist, a new user gets a
//! profile and My Favorites, and the emulation never touches a real project.

use testkit::database::{connect, migrations_dir, TestDatabase};
use testkit::migrate;

fn all_files() -> Vec<migrate::MigrationFile> {
    migrate::discover(&migrations_dir()).unwrap()
}

#[tokio::test]
async fn files_are_discovered_in_group_then_name_order() {
    let names: Vec<String> = all_files().into_iter().map(|f| f.name).collect();
    let groups: Vec<&str> = names.iter().map(|n| n.split('/').next().unwrap()).collect();
    let mut expected = groups.clone();
    expected.sort_by_key(|g| migrate::GROUPS.iter().position(|x| x == g));
    assert_eq!(groups, expected);
    assert_eq!(names.iter().filter(|n| n.starts_with("phase2/")).count(), 6, "the spec's six files");
    assert!(names.contains(&"phase1/004_storage_buckets.sql".to_string()));
    assert!(names.iter().any(|n| n.starts_with("phase3/011")));
}

#[tokio::test]
async fn the_runner_applies_everything_once_and_nothing_the_second_time() {
    let database = TestDatabase::empty().await;
    let files = all_files();
    let mut client = connect(&database.admin_url()).await;
    let first = migrate::apply_all(&mut client, &files).await.unwrap();
    assert_eq!(first.applied.len(), files.len());
    let second = migrate::apply_all(&mut client, &files).await.unwrap();
    assert!(second.applied.is_empty());
    assert_eq!(second.already_applied.len(), files.len());
    let recorded: i64 = client.query_one("select count(*) from app_meta.applied_migrations", &[]).await.unwrap().get(0);
    assert_eq!(recorded as usize, files.len());
}

#[tokio::test]
async fn two_runners_at_once_apply_each_file_once() {
    let database = TestDatabase::empty().await;
    let files = all_files();
    let mut a = connect(&database.admin_url()).await;
    let mut b = connect(&database.admin_url()).await;
    let (ra, rb) = tokio::join!(migrate::apply_all(&mut a, &files), migrate::apply_all(&mut b, &files));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.applied.len() + rb.applied.len(), files.len());
}

#[tokio::test]
async fn every_file_is_idempotent_on_its_own() {
    let database = TestDatabase::empty().await;
    let client = connect(&database.admin_url()).await;
    for file in all_files() {
        for attempt in 1..=2 {
            client
                .batch_execute(&format!("begin;\n{}\n;commit;", file.sql))
                .await
                .unwrap_or_else(|e| panic!("{} (run {attempt}): {e}", file.name));
        }
    }
}

#[tokio::test]
async fn a_changed_file_is_refused_after_it_was_applied() {
    let database = TestDatabase::empty().await;
    let mut files = all_files();
    let mut client = connect(&database.admin_url()).await;
    migrate::apply_all(&mut client, &files).await.unwrap();
    files[0].checksum = "0".repeat(64);
    let error = migrate::apply_all(&mut client, &files).await.unwrap_err();
    assert!(matches!(error, migrate::MigrateError::Changed(ref name) if *name == files[0].name));
}

#[tokio::test]
async fn the_emulation_is_refused_against_supabases_own_auth_schema() {
    let database = TestDatabase::empty().await;
    let mut client = connect(&database.admin_url()).await;
    // What a real project has: an auth schema that is not our emulation.
    client.batch_execute("create schema auth; comment on schema auth is 'Supabase Auth'; create table auth.users (id uuid primary key);")
        .await
        .unwrap();
    let emulation: Vec<_> = all_files().into_iter().filter(|f| f.group == "supabase").collect();
    assert!(!emulation.is_empty());
    let report = migrate::apply_all(&mut client, &emulation).await.unwrap();
    assert_eq!(report.refused_emulation.len(), emulation.len());
    assert!(report.applied.is_empty());
    let row = client
        .query_one(
            "select obj_description('auth'::regnamespace, 'pg_namespace'),
                    exists(select 1 from pg_namespace where nspname = 'storage'),
                    exists(select 1 from pg_proc where proname = 'uid' and pronamespace = 'auth'::regnamespace)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Supabase Auth");
    assert!(!row.get::<_, bool>(1), "storage emulation must not be created");
    assert!(!row.get::<_, bool>(2), "auth functions must not be replaced");
}

#[tokio::test]
async fn every_public_table_has_rls_enabled_and_policies_where_users_read() {
    let database = TestDatabase::migrated().await;
    let client = database.admin().await;
    let without_rls: Vec<String> = client
        .query(
            "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = 'public' and c.relkind = 'r' and not c.relrowsecurity",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(without_rls.is_empty(), "tables without RLS: {without_rls:?}");
    for table in [
        "profiles",
        "generation_jobs",
        "renders",
        "render_variants",
        "collections",
        "collection_items",
        "community_collections",
        "community_items",
        "usage_ledger",
    ] {
        let policies: i64 = client
            .query_one("select count(*) from pg_policies where schemaname = 'public' and tablename = $1", &[&table])
            .await
            .unwrap()
            .get(0);
        assert!(policies > 0, "{table} has no policy");
    }
}

#[tokio::test]
async fn both_buckets_exist_with_the_right_visibility() {
    let database = TestDatabase::migrated().await;
    let client = database.admin().await;
    let rows = client.query("select id, public from storage.buckets order by id", &[]).await.unwrap();
    let buckets: Vec<(String, bool)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(buckets, vec![("private".to_string(), false), ("public".to_string(), true)]);
}

#[tokio::test]
async fn a_new_user_gets_a_profile_and_exactly_one_my_favorites() {
    let app = testkit::TestApp::spawn().await;
    let user = app.create_user().await;
    let row = app
        .admin()
        .query_one(
            "select (select count(*) from public.profiles where id = $1),
                    (select count(*) from public.collections where owner_id = $1 and is_default_favorites and name = 'My Favorites')",
            &[&user.id],
        )
        .await
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (1, 1));
}

#[tokio::test]
async fn the_backfill_gives_existing_profiles_my_favorites() {
    // A profile that predates the favorites trigger, then phase3 applied.
    let database = TestDatabase::empty().await;
    let files = all_files();
    let (before, after): (Vec<_>, Vec<_>) = files.into_iter().partition(|f| f.group != "phase3");
    let mut client = connect(&database.admin_url()).await;
    migrate::apply_all(&mut client, &before).await.unwrap();
    let user = uuid::Uuid::new_v4();
    client
        .batch_execute(&format!(
            "alter table public.profiles disable trigger user;
             insert into auth.users (id, email) values ('{user}', 'old@example.test');
             delete from public.collections where owner_id = '{user}';"
        ))
        .await
        .unwrap();
    migrate::apply_all(&mut client, &after).await.unwrap();
    let favorites: i64 = client
        .query_one("select count(*) from public.collections where owner_id = $1 and is_default_favorites", &[&user])
        .await
        .unwrap()
        .get(0);
    assert_eq!(favorites, 1);
}
