-- Closes SECURITY.md 24 for collections: the caps (100 collections per user,
-- 1,000 renders per collection) and names unique per owner ignoring case and
-- surrounding spaces held only in the collections function, so through the
-- Data API a user created 150 collections, put 1,001 renders in one, and
-- made `Kitchen`, ` kitchen ` and a second `My Favorites`. The database now
-- refuses all of these for everyone; the function keeps its friendly
-- answers (it checks first, and maps these errors to the same answers).
-- The numbers match functions/collections (MAX_COLLECTIONS,
-- MAX_ITEMS_PER_COLLECTION); a test keeps them equal.

-- Legacy duplicates would block the unique index: keep the oldest (My
-- Favorites first) and rename the others `<name> (2)`, `(3)`, ...
do $$
declare
  dup record;
  n int;
  candidate text;
begin
  for dup in
    select id, owner_id, btrim(name) as base
      from (
        select c.*, row_number() over (
                 partition by owner_id, lower(btrim(name))
                 order by is_default_favorites desc, created_at, id) as rank
          from public.collections c
      ) ranked
     where rank > 1
  loop
    n := 2;
    loop
      candidate := left(dup.base, 90) || ' (' || n || ')';
      exit when not exists (
        select 1 from public.collections
         where owner_id = dup.owner_id and lower(btrim(name)) = lower(candidate));
      n := n + 1;
    end loop;
    update public.collections set name = candidate where id = dup.id;
  end loop;
end
$$;

create unique index if not exists uniq_collections_owner_name
  on public.collections (owner_id, lower(btrim(name)));

-- My Favorites recreated for a user who meanwhile made an ordinary
-- collection of that name: that collection becomes their favorites (the
-- unique name would otherwise make the insert a silent no-op).
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
    update public.collections set is_default_favorites = true
     where owner_id = caller and lower(btrim(name)) = 'my favorites'
       and not exists (select 1 from public.collections f where f.owner_id = caller and f.is_default_favorites);
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

-- Caps. Each insert first takes a transaction-scoped lock (the owner's for
-- collections, the same key functions/collections takes; the collection's for
-- items), then counts: concurrent inserts of one owner or into one
-- collection count one after the other, so a race cannot pass the cap.
-- Statements inside a volatile function see rows committed after the
-- calling statement began, so the count after the lock is current.
create or replace function public.enforce_collection_cap()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pg_advisory_xact_lock(hashtextextended('collections:' || new.owner_id::text, 0));
  if (select count(*) from public.collections where owner_id = new.owner_id) >= 100 then
    raise exception 'at most 100 collections per user'
      using errcode = 'check_violation', constraint = 'collections_per_owner_cap';
  end if;
  return new;
end;
$$;

create or replace function public.enforce_collection_item_cap()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pg_advisory_xact_lock(hashtextextended('collection_items:' || new.collection_id::text, 0));
  if (select count(*) from public.collection_items where collection_id = new.collection_id) >= 1000 then
    raise exception 'at most 1000 renders per collection'
      using errcode = 'check_violation', constraint = 'collection_items_per_collection_cap';
  end if;
  return new;
end;
$$;

revoke all on function public.enforce_collection_cap() from public, anon, authenticated;
revoke all on function public.enforce_collection_item_cap() from public, anon, authenticated;

drop trigger if exists collections_cap on public.collections;
create trigger collections_cap
  before insert on public.collections
  for each row execute function public.enforce_collection_cap();

drop trigger if exists collection_items_cap on public.collection_items;
create trigger collection_items_cap
  before insert on public.collection_items
  for each row execute function public.enforce_collection_item_cap();
