-- Closes SECURITY.md 9: the SECURITY DEFINER trigger functions run with an
-- empty search_path and name every object with its schema, so nothing a
-- caller puts on the search_path (or in pg_temp) can be resolved instead.
-- Behaviour is unchanged.

-- New auth user -> profile (fires create_default_favorites in turn).
create or replace function public.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, email)
  values (new.id, new.email)
  on conflict (id) do nothing;
  return new;
end;
$$;

-- New profile -> its "My Favorites" collection.
create or replace function public.create_default_favorites()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.collections (owner_id, name, is_default_favorites)
  values (new.id, 'My Favorites', true)
  on conflict do nothing;
  return new;
end;
$$;

revoke all on function public.handle_new_user() from public, anon, authenticated;
revoke all on function public.create_default_favorites() from public, anon, authenticated;
