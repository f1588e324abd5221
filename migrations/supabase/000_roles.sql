-- Local emulation of Supabase's API roles (skipped on a real Supabase project).
--
-- Roles are cluster-global and tests migrate many databases of one cluster at
-- the same time, so every CREATE ROLE / GRANT role runs in its own block that
-- treats "already exists" (duplicate_object), a lost race on the catalog's
-- unique index (unique_violation) and a concurrent update of the same
-- catalog row ("tuple concurrently updated", internal_error) as success: in
-- each case another session is making the very same change.

do $$
begin
  create role anon nologin noinherit;
exception when duplicate_object or unique_violation or internal_error then null;
end
$$;

do $$
begin
  create role authenticated nologin noinherit;
exception when duplicate_object or unique_violation or internal_error then null;
end
$$;

do $$
begin
  create role service_role nologin noinherit bypassrls;
exception when duplicate_object or unique_violation or internal_error then null;
end
$$;

-- The login role the functions (and PostgREST) connect as. It owns no
-- privileges itself (NOINHERIT): every request switches to one of the roles
-- above with set_config('role', ..., true). Local clusters use trust auth, so
-- no password is set.
do $$
begin
  create role authenticator login noinherit;
exception when duplicate_object or unique_violation or internal_error then null;
end
$$;

do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not pg_has_role('authenticator', r, 'member') then
      begin
        execute format('grant %I to authenticator', r);
      exception when duplicate_object or unique_violation or internal_error then null;
      end;
    end if;
  end loop;
end
$$;

grant usage on schema public to anon, authenticated, service_role;
