-- Closes SECURITY.md 1, 2, 3, 4, 5, 6, 7, 8 at the privilege layer.
-- Supabase exposes every table in public to the API roles with ALL
-- privileges and leaves the rest to RLS; here API users get back only the
-- statements the product needs, so a missing or too-wide policy can no longer
-- turn into a write path. anon reads only community content.
-- Tables created later (webhook_events) grant their own privileges.

-- Nothing in public is granted to the API roles unless listed below.
revoke all on all tables in schema public from public, anon, authenticated;
revoke all on all sequences in schema public from public, anon, authenticated;

-- No API user creates objects in public (e.g. to shadow a function).
revoke create on schema public from public, anon, authenticated;
grant usage on schema public to anon, authenticated, service_role;

-- anon: the community gallery only
grant select on public.community_collections, public.community_items to anon;

-- authenticated: reads (RLS restricts them to the caller's own rows and to
-- published community content)
grant select on
  public.profiles,
  public.generation_jobs,
  public.renders,
  public.render_variants,
  public.collections,
  public.collection_items,
  public.usage_ledger,
  public.community_collections,
  public.community_items
to authenticated;

-- authenticated: the writes users make themselves (RLS restricts the rows)
grant delete on public.renders, public.collections, public.collection_items to authenticated;
-- column grants: owner_id is fixed by RLS, is_default_favorites is never
-- user-writable (the favorites collection is created by a trigger)
grant insert (owner_id, name) on public.collections to authenticated;
grant update (name) on public.collections to authenticated;
grant insert (collection_id, render_id) on public.collection_items to authenticated;

-- service_role (the webhook, the sweeper, admin work) bypasses RLS
grant all on all tables in schema public to service_role;
grant all on all sequences in schema public to service_role;

-- Future tables, sequences and functions created by this role are not
-- exposed to the API roles automatically.
alter default privileges in schema public revoke all on tables from anon, authenticated;
alter default privileges in schema public revoke all on sequences from anon, authenticated;
alter default privileges in schema public revoke all on functions from anon, authenticated;

-- Trigger functions are never called by API users.
revoke all on function public.handle_new_user() from public, anon, authenticated;
revoke all on function public.create_default_favorites() from public, anon, authenticated;
