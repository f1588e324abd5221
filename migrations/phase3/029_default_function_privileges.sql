-- Closes SECURITY.md 23: PostgreSQL grants EXECUTE on every new function to
-- PUBLIC by a global default that 011's per-schema revoke cannot remove (a
-- schema-scoped ALTER DEFAULT PRIVILEGES only adds to or takes from the
-- global defaults of that schema, it never takes away a global grant). So
-- any function a later migration added to `public` was an RPC endpoint of
-- the Data API for anon. Revoke the global default for the roles that create
-- objects here: the role running the migrations and, on Supabase, `postgres`
-- (the dashboard's SQL editor and migrations) when this role may act for it.
-- New tables, views and sequences in public already get nothing (011).
-- From here on every function states its grants explicitly.

alter default privileges revoke execute on functions from public;

do $$
declare
  creator text;
begin
  foreach creator in array array['postgres', 'supabase_admin'] loop
    if creator <> current_user
       and exists (select 1 from pg_roles where rolname = creator)
       and pg_has_role(current_user, creator, 'MEMBER') then
      execute format('alter default privileges for role %I revoke execute on functions from public', creator);
      execute format(
        'alter default privileges for role %I in schema public revoke all on functions from anon, authenticated',
        creator);
      execute format(
        'alter default privileges for role %I in schema public revoke all on tables from anon, authenticated',
        creator);
      execute format(
        'alter default privileges for role %I in schema public revoke all on sequences from anon, authenticated',
        creator);
    end if;
  end loop;
end
$$;
