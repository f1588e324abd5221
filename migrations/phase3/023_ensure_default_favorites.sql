-- Closes: a user who somehow lacks "My Favorites" (created before the trigger,
-- or deleted by an operator) could never favourite anything, and users may not
-- insert a favorites collection themselves (016 forbids is_default_favorites
-- on insert, attack 6). This narrow function creates the caller's own
-- favorites collection if missing and returns it (the row itself: a caller's
-- statement could not see a row its own function call inserted); the unique index
-- uniq_owner_default_fav makes concurrent calls converge on one row.
create or replace function public.ensure_default_favorites()
returns public.collections
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  caller uuid := (select auth.uid());
  favorites public.collections;
begin
  if caller is null then
    raise exception 'ensure_default_favorites needs a signed-in user' using errcode = '42501';
  end if;
  select * into favorites from public.collections
   where owner_id = caller and is_default_favorites;
  if favorites.id is null then
    insert into public.collections (owner_id, name, is_default_favorites)
    values (caller, 'My Favorites', true)
    on conflict do nothing;
    select * into favorites from public.collections
     where owner_id = caller and is_default_favorites;
  end if;
  return favorites;
end;
$$;

revoke all on function public.ensure_default_favorites() from public, anon;
grant execute on function public.ensure_default_favorites() to authenticated, service_role;
