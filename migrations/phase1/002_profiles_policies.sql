-- profiles RLS as production has it.
-- NOTE: the update policy lets a user rewrite their own billing columns
-- (SECURITY.md item 2); phase3/013_profiles.sql removes it.

drop policy if exists "users can read own profile" on public.profiles;
create policy "users can read own profile"
  on public.profiles for select
  using (auth.uid() = id);

drop policy if exists "users can update own profile" on public.profiles;
create policy "users can update own profile"
  on public.profiles for update
  using (auth.uid() = id);
