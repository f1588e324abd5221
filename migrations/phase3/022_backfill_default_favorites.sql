-- Closes SECURITY.md 6 for existing users: every profile has its
-- "My Favorites" collection (the trigger only covers profiles created after
-- it was installed).

insert into public.collections (owner_id, name, is_default_favorites)
select p.id, 'My Favorites', true
from public.profiles p
where not exists (
  select 1 from public.collections c
  where c.owner_id = p.id and c.is_default_favorites
)
on conflict do nothing;
