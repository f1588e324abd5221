//! SECURITY.md 9 and 11: SECURITY DEFINER functions with a fixed search path, policies that evaluate `auth.uid()` once, indexed foreign keys.

use crate::support::*;
use testkit::TestApp;

// ------------------------------------------ 9. SECURITY DEFINER search_path
#[tokio::test]
async fn attack_09_security_definer_functions_have_a_fixed_search_path() {
    let app = TestApp::spawn().await;
    let rows = app
        .admin()
        .query(
            "select n.nspname::text, p.proname::text, coalesce(p.proconfig, '{}')::text[]
               from pg_proc p join pg_namespace n on n.oid = p.pronamespace
              where p.prosecdef and n.nspname in ('public', 'auth', 'storage')
              order by 1, 2",
            &[],
        )
        .await
        .unwrap();
    let mut names = Vec::new();
    for row in &rows {
        let (schema, name, config): (String, String, Vec<String>) = (row.get(0), row.get(1), row.get(2));
        let search_path: Vec<&String> = config.iter().filter(|c| c.starts_with("search_path=")).collect();
        assert_eq!(search_path.len(), 1, "{schema}.{name} runs with the caller's search_path: {config:?}");
        // Empty, or at most system schemas: nothing a caller can create objects in.
        let value = search_path[0].trim_start_matches("search_path=").replace('"', "");
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            assert!(entry == "pg_catalog", "{schema}.{name}: search_path includes {entry}");
        }
        names.push(format!("{schema}.{name}"));
    }
    for expected in [
        "public.handle_new_user",
        "public.create_default_favorites",
        "public.community_feed",
        "public.ensure_default_favorites",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} is expected to be SECURITY DEFINER (found {names:?})");
    }
}

#[tokio::test]
async fn attack_09_a_shadowing_table_on_the_search_path_is_ignored_by_definer_functions() {
    // The attacker shadows public.collections with a temporary table of the
    // same name first on their search_path, then calls the SECURITY DEFINER
    // function that writes collections: it must still write the real table.
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    app.admin().execute("delete from public.collections where owner_id = $1", &[&attacker.id]).await.unwrap();

    let mut tx = app.db.as_user(&attacker.identity).await.unwrap();
    tx.execute(
        "create temporary table collections (
           id uuid default gen_random_uuid(), owner_id uuid, name text,
           is_default_favorites boolean default false, created_at timestamptz default now())
         on commit drop",
        &[],
    )
    .await
    .unwrap();
    tx.query("select set_config('search_path', 'pg_temp, public', true)", &[]).await.unwrap();
    let id = ensure_favorites(&mut tx).await.unwrap();
    let shadowed: i64 = tx.query_one("select count(*) from pg_temp.collections", &[]).await.unwrap().get(0);
    assert_eq!(shadowed, 0, "the definer function wrote the attacker's shadow table");
    tx.commit().await.unwrap();
    assert_eq!(favorites_of(&app, &attacker).await, Some(id));
}

// ------------------------------- 11. auth.uid() per row, unindexed foreign keys
#[tokio::test]
async fn attack_11_policies_wrap_auth_uid_in_a_subselect() {
    let app = TestApp::spawn().await;
    let rows = app
        .admin()
        .query(
            "select schemaname::text, tablename::text, policyname::text, coalesce(qual, ''), coalesce(with_check, '')
               from pg_policies where schemaname in ('public', 'storage') order by 1, 2, 3",
            &[],
        )
        .await
        .unwrap();
    assert!(rows.len() >= 10, "expected the policies of public and storage, found {}", rows.len());
    let mut bare = Vec::new();
    for row in &rows {
        let (schema, table, policy): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        for expr in [row.get::<_, String>(3), row.get::<_, String>(4)] {
            // Only the initplan form may remain: ( SELECT auth.uid() AS uid)
            let rest = expr.replace("( SELECT auth.uid() AS uid)", "");
            for per_row in ["auth.uid()", "auth.jwt()", "auth.role()", "current_setting("] {
                if rest.contains(per_row) {
                    bare.push(format!("{schema}.{table} \"{policy}\": {expr}"));
                }
            }
        }
    }
    assert!(bare.is_empty(), "policies evaluating auth functions per row:\n{}", bare.join("\n"));
}

#[tokio::test]
async fn attack_11_every_foreign_key_has_a_leading_index() {
    let app = TestApp::spawn().await;
    let all: i64 = app
        .admin()
        .query_one(
            "select count(*) from pg_constraint c join pg_namespace n on n.oid = c.connamespace
              where c.contype = 'f' and n.nspname = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(all >= 10, "expected the foreign keys of public, found {all}");
    let rows = app
        .admin()
        .query(
            "select c.conrelid::regclass::text || '.' || c.conname::text
               from pg_constraint c join pg_namespace n on n.oid = c.connamespace
              where c.contype = 'f' and n.nspname = 'public'
                and not exists (
                  select 1 from pg_index i
                   where i.indrelid = c.conrelid
                     and i.indisvalid
                     and i.indpred is null
                     and i.indnkeyatts >= array_length(c.conkey, 1)
                     and (string_to_array(i.indkey::text, ' ')::smallint[])[1:array_length(c.conkey, 1)] = c.conkey)
              order by 1",
            &[],
        )
        .await
        .unwrap();
    let missing: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert!(missing.is_empty(), "foreign keys without an index led by their columns: {missing:?}");
}
