-- Closes SECURITY.md 2 (self-upgrade through profiles.price_id / has_access /
-- customer_id) and 7 for profiles: users read their own profile and nothing
-- else; profiles are written only by the new-user trigger and the service.
-- (011 revoked insert/update/delete; the update policy goes too.)

drop policy if exists "users can update own profile" on public.profiles;

drop policy if exists "users can read own profile" on public.profiles;
create policy "users can read own profile"
  on public.profiles for select
  to authenticated
  using (id = (select auth.uid()));
