-- Local emulation of Supabase's default privileges on schema public (skipped
-- on a real Supabase project): every table, sequence and function in public
-- is exposed to the API roles and RLS alone guards the rows. phase3/011
-- narrows this for our tables.

alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;

grant all on all tables in schema public to anon, authenticated, service_role;
grant all on all sequences in schema public to anon, authenticated, service_role;
grant all on all functions in schema public to anon, authenticated, service_role;
