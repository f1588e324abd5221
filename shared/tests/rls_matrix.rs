//! The access matrix of every table in `public`: for each operation (select,
//! insert, update, delete) and each actor an attacker can be over Supabase's
//! Data API (the row's owner, another signed-in user, an anonymous visitor)
//! plus the service, whether the statement is allowed or denied.
//!
//! Every case runs as its actor through `shared::db` (role `authenticated`
//! with the actor's claims, `anon` or `service_role`) against real rows seeded
//! for the owner, and is then checked as superuser:
//! - an allowed read returns the row; an allowed write commits and changes
//!   the table (each allowed write gets a freshly seeded database);
//! - a denied statement is either refused (SQLSTATE 42501: no grant, or a
//!   WITH CHECK violation) or touches / returns no row, and after its commit
//!   nothing in the database differs from before. That last check is the
//!   real assertion.
//!
//! The matrix is data (`matrix()`), run by one driver (`check_table`); one
//! test per table keeps failures legible.

use shared::db::{DbError, Tx};
use testkit::{TestApp, TestUser};
use uuid::Uuid;

use Actor::*;
use Expect::*;
use Op::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Select,
    Insert,
    Update,
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    /// The signed-in user who owns the seeded rows.
    Owner,
    /// Another signed-in user, with their own profile and favorites.
    Other,
    /// No token: role `anon`.
    Anon,
    /// The service (`service_role`, bypasses RLS).
    Service,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Allowed,
    Denied,
}

#[derive(Clone, Copy, Debug)]
struct Case {
    table: &'static str,
    op: Op,
    actor: Actor,
    expect: Expect,
    /// SQL with `{name}` placeholders for the seeded rows (see `World::sql`).
    sql: &'static str,
}

const fn case(table: &'static str, op: Op, actor: Actor, expect: Expect, sql: &'static str) -> Case {
    Case { table, op, actor, expect, sql }
}

/// Every table of `public`; `every_public_table_is_in_the_matrix` keeps this
/// list honest.
const TABLES: [&str; 10] = [
    "profiles",
    "generation_jobs",
    "renders",
    "render_variants",
    "collections",
    "collection_items",
    "community_collections",
    "community_items",
    "usage_ledger",
    "webhook_events",
];

/// Placeholders: {owner} {other} {spare} (an auth user without a profile),
/// {job} (owner's succeeded job with a render), {job2} (owner's failed job,
/// no render), {render}, {variant} (idx 0 of {render}), {fav} (owner's My
/// Favorites), {coll} (owner's ordinary collection holding {render}),
/// {other_fav}, {ledger} (owner's debit for {job}), {webhook} (a delivery for
/// {job}), {pub_cc} / {unpub_cc} (published / draft community collections),
/// {pub_item} (render-backed item of {pub_cc}), {unpub_item} (external item
/// of {unpub_cc}).
fn matrix() -> Vec<Case> {
    vec![
        // ---------------------------------------------------------------- profiles
        // Users read their own profile; every write (billing columns above all)
        // belongs to the new-user trigger and the service.
        case("profiles", Select, Owner, Allowed, "select id from public.profiles where id = {owner}"),
        case("profiles", Select, Other, Denied, "select id from public.profiles where id = {owner}"),
        case("profiles", Select, Anon, Denied, "select id from public.profiles where id = {owner}"),
        case("profiles", Select, Service, Allowed, "select id from public.profiles where id = {owner}"),
        case("profiles", Insert, Owner, Denied,
            "insert into public.profiles (id, email, has_access, price_id) values ({owner}, 'x@example.test', true, 'price_pro')
             on conflict (id) do update set has_access = true, price_id = 'price_pro'"),
        case("profiles", Insert, Other, Denied, "insert into public.profiles (id, email) values ({spare}, 'spare@example.test')"),
        case("profiles", Insert, Anon, Denied, "insert into public.profiles (id, email) values ({spare}, 'spare@example.test')"),
        case("profiles", Insert, Service, Allowed, "insert into public.profiles (id, email) values ({spare}, 'spare@example.test')"),
        case("profiles", Update, Owner, Denied,
            "update public.profiles set price_id = 'price_pro', has_access = true, customer_id = 'cus_forged' where id = {owner}"),
        case("profiles", Update, Owner, Denied, "update public.profiles set has_access = true where id = {owner}"),
        case("profiles", Update, Owner, Denied, "update public.profiles set email = 'new@example.test' where id = {owner}"),
        case("profiles", Update, Other, Denied, "update public.profiles set has_access = true where id = {owner}"),
        case("profiles", Update, Anon, Denied, "update public.profiles set has_access = true where id = {owner}"),
        case("profiles", Update, Service, Allowed, "update public.profiles set price_id = 'price_pro', has_access = true where id = {owner}"),
        case("profiles", Delete, Owner, Denied, "delete from public.profiles where id = {owner}"),
        case("profiles", Delete, Other, Denied, "delete from public.profiles where id = {owner}"),
        case("profiles", Delete, Anon, Denied, "delete from public.profiles where id = {owner}"),
        case("profiles", Delete, Service, Allowed, "delete from public.profiles where id = {owner}"),
        // --------------------------------------------------------- generation_jobs
        // Users read their own jobs; jobs are created and moved by the service.
        case("generation_jobs", Select, Owner, Allowed, "select id from public.generation_jobs where id = {job}"),
        case("generation_jobs", Select, Other, Denied, "select id from public.generation_jobs where id = {job}"),
        case("generation_jobs", Select, Anon, Denied, "select id from public.generation_jobs where id = {job}"),
        case("generation_jobs", Select, Service, Allowed, "select id from public.generation_jobs where id = {job}"),
        case("generation_jobs", Insert, Owner, Denied,
            "insert into public.generation_jobs (owner_id, mode, prompt) values ({owner}, 'imagine', 'a free render')"),
        case("generation_jobs", Insert, Owner, Denied,
            "insert into public.generation_jobs (owner_id, mode, prompt, status) values ({owner}, 'imagine', 'done already', 'succeeded')"),
        case("generation_jobs", Insert, Other, Denied,
            "insert into public.generation_jobs (owner_id, mode, prompt) values ({owner}, 'imagine', 'a free render')"),
        case("generation_jobs", Insert, Anon, Denied,
            "insert into public.generation_jobs (owner_id, mode, prompt) values ({owner}, 'imagine', 'a free render')"),
        case("generation_jobs", Insert, Service, Allowed,
            "insert into public.generation_jobs (owner_id, mode, prompt) values ({owner}, 'imagine', 'a paid render')"),
        case("generation_jobs", Update, Owner, Denied, "update public.generation_jobs set status = 'succeeded', error = null where id = {job2}"),
        case("generation_jobs", Update, Other, Denied, "update public.generation_jobs set status = 'succeeded', error = null where id = {job2}"),
        case("generation_jobs", Update, Anon, Denied, "update public.generation_jobs set status = 'succeeded', error = null where id = {job2}"),
        case("generation_jobs", Update, Service, Allowed, "update public.generation_jobs set status = 'succeeded', error = null where id = {job2}"),
        case("generation_jobs", Delete, Owner, Denied, "delete from public.generation_jobs where id = {job}"),
        case("generation_jobs", Delete, Other, Denied, "delete from public.generation_jobs where id = {job}"),
        case("generation_jobs", Delete, Anon, Denied, "delete from public.generation_jobs where id = {job}"),
        case("generation_jobs", Delete, Service, Allowed, "delete from public.generation_jobs where id = {job}"),
        // ----------------------------------------------------------------- renders
        // Users read and delete their own renders; the service writes them.
        case("renders", Select, Owner, Allowed, "select id from public.renders where id = {render}"),
        case("renders", Select, Other, Denied, "select id from public.renders where id = {render}"),
        case("renders", Select, Anon, Denied, "select id from public.renders where id = {render}"),
        case("renders", Select, Service, Allowed, "select id from public.renders where id = {render}"),
        case("renders", Insert, Owner, Denied, "insert into public.renders (job_id, owner_id, mode) values ({job2}, {owner}, 'imagine')"),
        case("renders", Insert, Other, Denied, "insert into public.renders (job_id, owner_id, mode) values ({job2}, {owner}, 'imagine')"),
        case("renders", Insert, Anon, Denied, "insert into public.renders (job_id, owner_id, mode) values ({job2}, {owner}, 'imagine')"),
        case("renders", Insert, Service, Allowed, "insert into public.renders (job_id, owner_id, mode) values ({job2}, {owner}, 'imagine')"),
        case("renders", Update, Owner, Denied, "update public.renders set cover_variant = 1 where id = {render}"),
        case("renders", Update, Other, Denied, "update public.renders set cover_variant = 1 where id = {render}"),
        case("renders", Update, Anon, Denied, "update public.renders set cover_variant = 1 where id = {render}"),
        case("renders", Update, Service, Allowed, "update public.renders set cover_variant = 1 where id = {render}"),
        case("renders", Delete, Owner, Allowed, "delete from public.renders where id = {render}"),
        case("renders", Delete, Other, Denied, "delete from public.renders where id = {render}"),
        case("renders", Delete, Anon, Denied, "delete from public.renders where id = {render}"),
        case("renders", Delete, Service, Allowed, "delete from public.renders where id = {render}"),
        // --------------------------------------------------------- render_variants
        // Users read their own variants; only the service writes them (users
        // remove variants by deleting the render).
        case("render_variants", Select, Owner, Allowed, "select id from public.render_variants where id = {variant}"),
        case("render_variants", Select, Other, Denied, "select id from public.render_variants where id = {variant}"),
        case("render_variants", Select, Anon, Denied, "select id from public.render_variants where id = {variant}"),
        case("render_variants", Select, Service, Allowed, "select id from public.render_variants where id = {variant}"),
        case("render_variants", Insert, Owner, Denied,
            "insert into public.render_variants (render_id, owner_id, idx, image_path) values ({render}, {owner}, 7, 'renders/' || {render} || '/7.jpg')"),
        case("render_variants", Insert, Other, Denied,
            "insert into public.render_variants (render_id, owner_id, idx, image_path) values ({render}, {owner}, 7, 'renders/' || {render} || '/7.jpg')"),
        case("render_variants", Insert, Anon, Denied,
            "insert into public.render_variants (render_id, owner_id, idx, image_path) values ({render}, {owner}, 7, 'renders/' || {render} || '/7.jpg')"),
        case("render_variants", Insert, Service, Allowed,
            "insert into public.render_variants (render_id, owner_id, idx, image_path) values ({render}, {owner}, 7, 'renders/' || {render} || '/7.jpg')"),
        case("render_variants", Update, Owner, Denied,
            "update public.render_variants set image_path = 'renders/' || {render} || '/swapped.jpg' where id = {variant}"),
        case("render_variants", Update, Other, Denied,
            "update public.render_variants set image_path = 'renders/' || {render} || '/swapped.jpg' where id = {variant}"),
        case("render_variants", Update, Anon, Denied,
            "update public.render_variants set image_path = 'renders/' || {render} || '/swapped.jpg' where id = {variant}"),
        case("render_variants", Update, Service, Allowed,
            "update public.render_variants set image_path = 'renders/' || {render} || '/swapped.jpg' where id = {variant}"),
        case("render_variants", Delete, Owner, Denied, "delete from public.render_variants where id = {variant}"),
        case("render_variants", Delete, Other, Denied, "delete from public.render_variants where id = {variant}"),
        case("render_variants", Delete, Anon, Denied, "delete from public.render_variants where id = {variant}"),
        case("render_variants", Delete, Service, Allowed, "delete from public.render_variants where id = {variant}"),
        // ------------------------------------------------------------- collections
        // Users read, create, rename and delete their own ordinary collections;
        // My Favorites is neither created, renamed, unflagged nor deleted by them.
        case("collections", Select, Owner, Allowed, "select id from public.collections where id = {coll}"),
        case("collections", Select, Owner, Allowed, "select id from public.collections where id = {fav}"),
        case("collections", Select, Other, Denied, "select id from public.collections where id = {coll}"),
        case("collections", Select, Other, Denied, "select id from public.collections where id = {fav}"),
        case("collections", Select, Anon, Denied, "select id from public.collections where id = {coll}"),
        case("collections", Select, Service, Allowed, "select id from public.collections where id = {coll}"),
        case("collections", Insert, Owner, Allowed, "insert into public.collections (owner_id, name) values ({owner}, 'Kitchens')"),
        case("collections", Insert, Owner, Denied,
            "insert into public.collections (owner_id, name, is_default_favorites) values ({owner}, 'Second favorites', true)"),
        case("collections", Insert, Other, Denied, "insert into public.collections (owner_id, name) values ({owner}, 'Planted')"),
        case("collections", Insert, Anon, Denied, "insert into public.collections (owner_id, name) values ({owner}, 'Planted')"),
        case("collections", Insert, Service, Allowed, "insert into public.collections (owner_id, name) values ({owner}, 'Kitchens')"),
        case("collections", Update, Owner, Allowed, "update public.collections set name = 'Renamed' where id = {coll}"),
        case("collections", Update, Owner, Denied, "update public.collections set name = 'Renamed' where id = {fav}"),
        case("collections", Update, Owner, Denied, "update public.collections set is_default_favorites = false where id = {fav}"),
        case("collections", Update, Owner, Denied, "update public.collections set is_default_favorites = true where id = {coll}"),
        case("collections", Update, Owner, Denied, "update public.collections set owner_id = {other} where id = {coll}"),
        case("collections", Update, Other, Denied, "update public.collections set name = 'Renamed' where id = {coll}"),
        case("collections", Update, Anon, Denied, "update public.collections set name = 'Renamed' where id = {coll}"),
        case("collections", Update, Service, Allowed, "update public.collections set name = 'Renamed' where id = {coll}"),
        case("collections", Delete, Owner, Allowed, "delete from public.collections where id = {coll}"),
        case("collections", Delete, Owner, Denied, "delete from public.collections where id = {fav}"),
        case("collections", Delete, Other, Denied, "delete from public.collections where id = {coll}"),
        case("collections", Delete, Other, Denied, "delete from public.collections where id = {fav}"),
        case("collections", Delete, Anon, Denied, "delete from public.collections where id = {coll}"),
        case("collections", Delete, Service, Allowed, "delete from public.collections where id = {coll}"),
        // -------------------------------------------------------- collection_items
        // Items follow their collection's owner; adding needs the render too.
        case("collection_items", Select, Owner, Allowed,
            "select render_id from public.collection_items where collection_id = {coll} and render_id = {render}"),
        case("collection_items", Select, Other, Denied,
            "select render_id from public.collection_items where collection_id = {coll} and render_id = {render}"),
        case("collection_items", Select, Anon, Denied,
            "select render_id from public.collection_items where collection_id = {coll} and render_id = {render}"),
        case("collection_items", Select, Service, Allowed,
            "select render_id from public.collection_items where collection_id = {coll} and render_id = {render}"),
        case("collection_items", Insert, Owner, Allowed,
            "insert into public.collection_items (collection_id, render_id) values ({fav}, {render})"),
        case("collection_items", Insert, Owner, Denied,
            "insert into public.collection_items (collection_id, render_id) values ({other_fav}, {render})"),
        case("collection_items", Insert, Other, Denied,
            "insert into public.collection_items (collection_id, render_id) values ({fav}, {render})"),
        case("collection_items", Insert, Other, Denied,
            "insert into public.collection_items (collection_id, render_id) values ({other_fav}, {render})"),
        case("collection_items", Insert, Anon, Denied,
            "insert into public.collection_items (collection_id, render_id) values ({fav}, {render})"),
        case("collection_items", Insert, Service, Allowed,
            "insert into public.collection_items (collection_id, render_id) values ({fav}, {render})"),
        case("collection_items", Update, Owner, Denied,
            "update public.collection_items set added_at = now() - interval '1 day' where collection_id = {coll}"),
        case("collection_items", Update, Owner, Denied,
            "update public.collection_items set collection_id = {fav} where collection_id = {coll}"),
        case("collection_items", Update, Other, Denied,
            "update public.collection_items set collection_id = {other_fav} where collection_id = {coll}"),
        case("collection_items", Update, Anon, Denied,
            "update public.collection_items set added_at = now() - interval '1 day' where collection_id = {coll}"),
        case("collection_items", Update, Service, Allowed,
            "update public.collection_items set added_at = now() - interval '1 day' where collection_id = {coll}"),
        case("collection_items", Delete, Owner, Allowed,
            "delete from public.collection_items where collection_id = {coll} and render_id = {render}"),
        case("collection_items", Delete, Other, Denied,
            "delete from public.collection_items where collection_id = {coll} and render_id = {render}"),
        case("collection_items", Delete, Anon, Denied,
            "delete from public.collection_items where collection_id = {coll} and render_id = {render}"),
        case("collection_items", Delete, Service, Allowed,
            "delete from public.collection_items where collection_id = {coll} and render_id = {render}"),
        // --------------------------------------------------- community_collections
        // Everyone reads published collections; drafts and all writes are the
        // service's.
        case("community_collections", Select, Owner, Denied, "select id from public.community_collections where id = {pub_cc}"),
        case("community_collections", Select, Other, Denied, "select id from public.community_collections where id = {pub_cc}"),
        case("community_collections", Select, Anon, Denied, "select id from public.community_collections where id = {pub_cc}"),
        case("community_collections", Select, Service, Allowed, "select id from public.community_collections where id = {pub_cc}"),
        case("community_collections", Select, Owner, Denied, "select id from public.community_collections where id = {unpub_cc}"),
        case("community_collections", Select, Other, Denied, "select id from public.community_collections where id = {unpub_cc}"),
        case("community_collections", Select, Anon, Denied, "select id from public.community_collections where id = {unpub_cc}"),
        case("community_collections", Select, Service, Allowed, "select id from public.community_collections where id = {unpub_cc}"),
        case("community_collections", Insert, Owner, Denied, "insert into public.community_collections (title, is_published) values ('Mine', true)"),
        case("community_collections", Insert, Other, Denied, "insert into public.community_collections (title, is_published) values ('Mine', true)"),
        case("community_collections", Insert, Anon, Denied, "insert into public.community_collections (title, is_published) values ('Mine', true)"),
        case("community_collections", Insert, Service, Allowed, "insert into public.community_collections (title, is_published) values ('Curated', true)"),
        case("community_collections", Update, Owner, Denied, "update public.community_collections set title = 'Hijacked' where id = {pub_cc}"),
        case("community_collections", Update, Owner, Denied, "update public.community_collections set is_published = true where id = {unpub_cc}"),
        case("community_collections", Update, Other, Denied, "update public.community_collections set title = 'Hijacked' where id = {pub_cc}"),
        case("community_collections", Update, Anon, Denied, "update public.community_collections set title = 'Hijacked' where id = {pub_cc}"),
        case("community_collections", Update, Service, Allowed, "update public.community_collections set is_published = true where id = {unpub_cc}"),
        case("community_collections", Delete, Owner, Denied, "delete from public.community_collections where id = {pub_cc}"),
        case("community_collections", Delete, Other, Denied, "delete from public.community_collections where id = {pub_cc}"),
        case("community_collections", Delete, Anon, Denied, "delete from public.community_collections where id = {pub_cc}"),
        case("community_collections", Delete, Service, Allowed, "delete from public.community_collections where id = {pub_cc}"),
        // --------------------------------------------------------- community_items
        case("community_items", Select, Owner, Denied, "select id from public.community_items where id = {pub_item}"),
        case("community_items", Select, Other, Denied, "select id from public.community_items where id = {pub_item}"),
        case("community_items", Select, Anon, Denied, "select id from public.community_items where id = {pub_item}"),
        case("community_items", Select, Service, Allowed, "select id from public.community_items where id = {pub_item}"),
        case("community_items", Select, Owner, Denied, "select id from public.community_items where id = {unpub_item}"),
        case("community_items", Select, Other, Denied, "select id from public.community_items where id = {unpub_item}"),
        case("community_items", Select, Anon, Denied, "select id from public.community_items where id = {unpub_item}"),
        case("community_items", Select, Service, Allowed, "select id from public.community_items where id = {unpub_item}"),
        case("community_items", Insert, Owner, Denied,
            "insert into public.community_items (collection_id, external_image_url) values ({pub_cc}, 'https://example.test/spam.jpg')"),
        case("community_items", Insert, Owner, Denied,
            "insert into public.community_items (collection_id, render_id) values ({pub_cc}, {render})"),
        case("community_items", Insert, Other, Denied,
            "insert into public.community_items (collection_id, external_image_url) values ({pub_cc}, 'https://example.test/spam.jpg')"),
        case("community_items", Insert, Anon, Denied,
            "insert into public.community_items (collection_id, external_image_url) values ({pub_cc}, 'https://example.test/spam.jpg')"),
        case("community_items", Insert, Service, Allowed,
            "insert into public.community_items (collection_id, external_image_url) values ({pub_cc}, 'https://example.test/curated.jpg')"),
        case("community_items", Update, Owner, Denied, "update public.community_items set order_index = 99 where id = {pub_item}"),
        case("community_items", Update, Other, Denied, "update public.community_items set order_index = 99 where id = {pub_item}"),
        case("community_items", Update, Anon, Denied, "update public.community_items set order_index = 99 where id = {pub_item}"),
        case("community_items", Update, Service, Allowed, "update public.community_items set order_index = 99 where id = {pub_item}"),
        case("community_items", Delete, Owner, Denied, "delete from public.community_items where id = {pub_item}"),
        case("community_items", Delete, Other, Denied, "delete from public.community_items where id = {pub_item}"),
        case("community_items", Delete, Anon, Denied, "delete from public.community_items where id = {pub_item}"),
        case("community_items", Delete, Service, Allowed, "delete from public.community_items where id = {pub_item}"),
        // ------------------------------------------------------------ usage_ledger
        // Users read their own ledger; only the service writes it.
        case("usage_ledger", Select, Owner, Allowed, "select id from public.usage_ledger where id = {ledger}"),
        case("usage_ledger", Select, Other, Denied, "select id from public.usage_ledger where id = {ledger}"),
        case("usage_ledger", Select, Anon, Denied, "select id from public.usage_ledger where id = {ledger}"),
        case("usage_ledger", Select, Service, Allowed, "select id from public.usage_ledger where id = {ledger}"),
        case("usage_ledger", Insert, Owner, Denied,
            "insert into public.usage_ledger (owner_id, kind, amount, meta) values ({owner}, 'credit_adjustment', 100, '{\"reason\": \"gift\"}')"),
        case("usage_ledger", Insert, Other, Denied,
            "insert into public.usage_ledger (owner_id, kind, amount, meta) values ({owner}, 'generation_debit', 50, jsonb_build_object('jobId', {job2}::text))"),
        case("usage_ledger", Insert, Anon, Denied,
            "insert into public.usage_ledger (owner_id, kind, amount, meta) values ({owner}, 'credit_adjustment', 100, '{\"reason\": \"gift\"}')"),
        case("usage_ledger", Insert, Service, Allowed,
            "insert into public.usage_ledger (owner_id, kind, amount, meta) values ({owner}, 'credit_adjustment', 5, '{\"reason\": \"support\"}')"),
        case("usage_ledger", Update, Owner, Denied, "update public.usage_ledger set amount = 1 where id = {ledger}"),
        case("usage_ledger", Update, Other, Denied, "update public.usage_ledger set amount = 100 where id = {ledger}"),
        case("usage_ledger", Update, Anon, Denied, "update public.usage_ledger set amount = 1 where id = {ledger}"),
        case("usage_ledger", Update, Service, Allowed, "update public.usage_ledger set amount = 1 where id = {ledger}"),
        case("usage_ledger", Delete, Owner, Denied, "delete from public.usage_ledger where id = {ledger}"),
        case("usage_ledger", Delete, Other, Denied, "delete from public.usage_ledger where id = {ledger}"),
        case("usage_ledger", Delete, Anon, Denied, "delete from public.usage_ledger where id = {ledger}"),
        case("usage_ledger", Delete, Service, Allowed, "delete from public.usage_ledger where id = {ledger}"),
        // ---------------------------------------------------------- webhook_events
        // Service only, reads included.
        case("webhook_events", Select, Owner, Denied, "select id from public.webhook_events where id = {webhook}"),
        case("webhook_events", Select, Owner, Denied, "select id from public.webhook_events where job_id = {job}"),
        case("webhook_events", Select, Other, Denied, "select id from public.webhook_events where id = {webhook}"),
        case("webhook_events", Select, Anon, Denied, "select id from public.webhook_events where id = {webhook}"),
        case("webhook_events", Select, Service, Allowed, "select id from public.webhook_events where id = {webhook}"),
        case("webhook_events", Insert, Owner, Denied,
            "insert into public.webhook_events (id, job_id, event_type) values ('msg_forged', {job2}, 'prediction.completed')"),
        case("webhook_events", Insert, Other, Denied,
            "insert into public.webhook_events (id, job_id, event_type) values ('msg_forged', {job2}, 'prediction.completed')"),
        case("webhook_events", Insert, Anon, Denied,
            "insert into public.webhook_events (id, job_id, event_type) values ('msg_forged', {job2}, 'prediction.completed')"),
        case("webhook_events", Insert, Service, Allowed,
            "insert into public.webhook_events (id, job_id, event_type) values ('msg_next', {job2}, 'prediction.completed')"),
        case("webhook_events", Update, Owner, Denied, "update public.webhook_events set job_id = null where id = {webhook}"),
        case("webhook_events", Update, Other, Denied, "update public.webhook_events set job_id = null where id = {webhook}"),
        case("webhook_events", Update, Anon, Denied, "update public.webhook_events set job_id = null where id = {webhook}"),
        case("webhook_events", Update, Service, Allowed, "update public.webhook_events set job_id = null where id = {webhook}"),
        case("webhook_events", Delete, Owner, Denied, "delete from public.webhook_events where id = {webhook}"),
        case("webhook_events", Delete, Other, Denied, "delete from public.webhook_events where id = {webhook}"),
        case("webhook_events", Delete, Anon, Denied, "delete from public.webhook_events where id = {webhook}"),
        case("webhook_events", Delete, Service, Allowed, "delete from public.webhook_events where id = {webhook}"),
    ]
}

// ------------------------------------------------------------------ the world

/// A fresh database with the owner's rows, another user and community content.
struct World {
    app: TestApp,
    owner: TestUser,
    other: TestUser,
    /// Placeholder name -> SQL literal.
    values: Vec<(&'static str, String)>,
}

impl World {
    async fn seed() -> World {
        let app = TestApp::spawn().await;
        let owner = app.create_user().await;
        let other = app.create_user().await;
        let spare = app.create_user().await;
        let admin = app.admin();
        // An auth user whose profile is missing (for profile inserts).
        admin.execute("delete from public.profiles where id = $1", &[&spare.id]).await.unwrap();

        let (job, render) = app.seed_render(&owner, 2).await;
        let variant: Uuid = admin
            .query_one("select id from public.render_variants where render_id = $1 and idx = 0", &[&render])
            .await
            .unwrap()
            .get(0);
        let fav: Uuid = admin
            .query_one("select id from public.collections where owner_id = $1 and is_default_favorites", &[&owner.id])
            .await
            .unwrap()
            .get(0);
        let other_fav: Uuid = admin
            .query_one("select id from public.collections where owner_id = $1 and is_default_favorites", &[&other.id])
            .await
            .unwrap()
            .get(0);
        let coll: Uuid = admin
            .query_one(
                "insert into public.collections (owner_id, name) values ($1, 'Living rooms') returning id",
                &[&owner.id],
            )
            .await
            .unwrap()
            .get(0);
        admin
            .execute(
                "insert into public.collection_items (collection_id, render_id) values ($1, $2)",
                &[&coll, &render],
            )
            .await
            .unwrap();
        let job2: Uuid = admin
            .query_one(
                "insert into public.generation_jobs (owner_id, mode, prompt, status, error, completed_at)
                 values ($1, 'imagine', 'a failed attempt', 'failed', 'model error', now()) returning id",
                &[&owner.id],
            )
            .await
            .unwrap()
            .get(0);
        let ledger: Uuid = admin
            .query_one(
                "insert into public.usage_ledger (owner_id, kind, amount, meta)
                 values ($1, 'generation_debit', 3, jsonb_build_object('jobId', $2::uuid::text)) returning id",
                &[&owner.id, &job],
            )
            .await
            .unwrap()
            .get(0);
        admin
            .execute(
                "insert into public.webhook_events (id, job_id, event_type) values ('msg_fixture', $1, 'prediction.completed')",
                &[&job],
            )
            .await
            .unwrap();
        let pub_cc: Uuid = admin
            .query_one("insert into public.community_collections (title, is_published) values ('Published', true) returning id", &[])
            .await
            .unwrap()
            .get(0);
        let unpub_cc: Uuid = admin
            .query_one(
                "insert into public.community_collections (title, is_published) values ('Draft', false) returning id",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        let pub_item: Uuid = admin
            .query_one(
                "insert into public.community_items (collection_id, render_id, apply_settings)
                 values ($1, $2, '{\"mode\": \"imagine\"}') returning id",
                &[&pub_cc, &render],
            )
            .await
            .unwrap()
            .get(0);
        let unpub_item: Uuid = admin
            .query_one(
                "insert into public.community_items (collection_id, external_image_url)
                 values ($1, 'https://example.test/draft.jpg') returning id",
                &[&unpub_cc],
            )
            .await
            .unwrap()
            .get(0);

        let uuid = |id: Uuid| format!("'{id}'::uuid");
        let values = vec![
            ("owner", uuid(owner.id)),
            ("other", uuid(other.id)),
            ("spare", uuid(spare.id)),
            ("job", uuid(job)),
            ("job2", uuid(job2)),
            ("render", uuid(render)),
            ("variant", uuid(variant)),
            ("fav", uuid(fav)),
            ("other_fav", uuid(other_fav)),
            ("coll", uuid(coll)),
            ("ledger", uuid(ledger)),
            ("webhook", "'msg_fixture'".to_string()),
            ("pub_cc", uuid(pub_cc)),
            ("unpub_cc", uuid(unpub_cc)),
            ("pub_item", uuid(pub_item)),
            ("unpub_item", uuid(unpub_item)),
        ];
        World { app, owner, other, values }
    }

    /// The case's SQL with its placeholders filled in.
    fn sql(&self, template: &str) -> String {
        let mut sql = template.to_string();
        for (name, value) in &self.values {
            sql = sql.replace(&format!("{{{name}}}"), value);
        }
        assert!(
            !sql.contains("{owner") && !sql.contains("{job") && !sql.contains("{render"),
            "unfilled placeholder: {sql}"
        );
        sql
    }

    async fn tx(&self, actor: Actor) -> Result<Tx, DbError> {
        match actor {
            Owner => self.app.db.as_user(&self.owner.identity).await,
            Other => self.app.db.as_user(&self.other.identity).await,
            Anon => self.app.db.as_anon().await,
            Service => self.app.db.as_service().await,
        }
    }

    /// Every row of every table (and of auth.users), as superuser.
    async fn snapshot(&self) -> Vec<(String, String)> {
        let mut tables: Vec<String> = TABLES.iter().map(|t| format!("public.{t}")).collect();
        tables.push("auth.users".to_string());
        let mut out = Vec::new();
        for table in tables {
            let rows: String = self
                .app
                .admin()
                .query_one(
                    &format!(
                        "select coalesce(jsonb_agg(to_jsonb(t) order by to_jsonb(t)::text), '[]'::jsonb)::text from {table} t"
                    ),
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            out.push((table, rows));
        }
        out
    }
}

// ------------------------------------------------------------------ the driver

/// Runs the case's statement as its actor and commits; returns the rows
/// returned (select) or affected (writes).
async fn attempt(world: &World, case: &Case) -> Result<u64, DbError> {
    let sql = world.sql(case.sql);
    let mut tx = world.tx(case.actor).await?;
    let n = match case.op {
        Select => tx.query(&sql, &[]).await?.len() as u64,
        Insert | Update | Delete => tx.execute(&sql, &[]).await?,
    };
    tx.commit().await?;
    Ok(n)
}

/// Checks one case; `Err` describes how it failed.
async fn check_case(world: &World, case: &Case) -> Result<(), String> {
    let before = world.snapshot().await;
    let outcome = attempt(world, case).await;
    let after = world.snapshot().await;
    let table = format!("public.{}", case.table);
    match (case.op, case.expect) {
        (Select, Allowed) => match outcome {
            Ok(n) if n >= 1 => Ok(()),
            other => Err(format!("expected the row, got {other:?}")),
        },
        (_, Allowed) => {
            match outcome {
                Ok(n) if n >= 1 => {}
                other => return Err(format!("expected the write to succeed, got {other:?}")),
            }
            let changed = before.iter().zip(&after).any(|(b, a)| b.0 == table && b.1 != a.1);
            if changed {
                Ok(())
            } else {
                Err(format!("write reported success but {table} is unchanged"))
            }
        }
        (_, Denied) => {
            match outcome {
                Ok(0) | Err(DbError::PermissionDenied) => {}
                other => return Err(format!("expected a refusal (42501) or no row, got {other:?}")),
            }
            let changed: Vec<&String> =
                before.iter().zip(&after).filter(|(b, a)| b.1 != a.1).map(|(b, _)| &b.0).collect();
            if changed.is_empty() {
                Ok(())
            } else {
                Err(format!("denied, yet rows changed in {changed:?}"))
            }
        }
    }
}

/// Runs every case of one table. Reads and denied writes share one seeded
/// database (they must not change it); each allowed write gets its own.
async fn check_table(table: &str) {
    let cases: Vec<Case> = matrix().into_iter().filter(|c| c.table == table).collect();
    assert!(!cases.is_empty(), "no cases for {table}");
    let mut shared = World::seed().await;
    let mut failures = Vec::new();
    for case in &cases {
        let mutates = case.expect == Allowed && case.op != Select;
        let result =
            if mutates { check_case(&World::seed().await, case).await } else { check_case(&shared, case).await };
        if let Err(why) = result {
            if !mutates {
                // A denied case that got through may have changed the shared
                // rows: reseed so the next cases are judged on intact data.
                shared = World::seed().await;
            }
            failures.push(format!(
                "{:?} {:?} by {:?} (expected {:?}): {why}\n    {}",
                case.op,
                case.table,
                case.actor,
                case.expect,
                case.sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed for {table}:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}

// ------------------------------------------------------------------- the tests

#[tokio::test]
async fn matrix_covers_every_table_operation_and_actor() {
    let cases = matrix();
    let mut missing = Vec::new();
    for table in TABLES {
        for op in [Select, Insert, Update, Delete] {
            for actor in [Owner, Other, Anon, Service] {
                if !cases.iter().any(|c| c.table == table && c.op == op && c.actor == actor) {
                    missing.push(format!("{table} {op:?} {actor:?}"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "matrix cells without a case: {missing:?}");
    for c in &cases {
        assert!(TABLES.contains(&c.table), "unknown table {}", c.table);
        let verb = match c.op {
            Select => "select",
            Insert => "insert into public.",
            Update => "update public.",
            Delete => "delete from public.",
        };
        assert!(c.sql.trim_start().starts_with(verb), "{:?} case does not start with {verb}: {}", c.op, c.sql);
        if c.op != Select {
            assert!(c.sql.contains(&format!("public.{} ", c.table)), "case targets another table: {}", c.sql);
        } else {
            assert!(c.sql.contains(&format!("from public.{} ", c.table)), "case reads another table: {}", c.sql);
        }
    }
}

#[tokio::test]
async fn every_public_table_is_in_the_matrix() {
    let app = TestApp::spawn().await;
    let rows = app
        .admin()
        .query("select tablename::text from pg_tables where schemaname = 'public' order by 1", &[])
        .await
        .unwrap();
    let mut actual: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    actual.sort();
    let mut expected: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(actual, expected, "a table in public is missing from (or extra in) the matrix");
    // and every one of them has row level security on
    let without_rls: Vec<String> = app
        .admin()
        .query(
            "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(without_rls.is_empty(), "tables without RLS: {without_rls:?}");
}

#[tokio::test]
async fn rls_profiles() {
    check_table("profiles").await;
}

#[tokio::test]
async fn rls_generation_jobs() {
    check_table("generation_jobs").await;
}

#[tokio::test]
async fn rls_renders() {
    check_table("renders").await;
}

#[tokio::test]
async fn rls_render_variants() {
    check_table("render_variants").await;
}

#[tokio::test]
async fn rls_collections() {
    check_table("collections").await;
}

#[tokio::test]
async fn rls_collection_items() {
    check_table("collection_items").await;
}

#[tokio::test]
async fn rls_community_collections() {
    check_table("community_collections").await;
}

#[tokio::test]
async fn rls_community_items() {
    check_table("community_items").await;
}

#[tokio::test]
async fn rls_usage_ledger() {
    check_table("usage_ledger").await;
}

#[tokio::test]
async fn rls_webhook_events() {
    check_table("webhook_events").await;
}
