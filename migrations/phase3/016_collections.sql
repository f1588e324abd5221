-- Closes SECURITY.md 5 (adding another user's render to one's collection),
-- 6 (turning My Favorites into a normal collection and deleting it) and 7 for
-- collections / collection_items.
-- Together with 011's column grants (users insert (owner_id, name), update
-- (name) only): users create, rename and delete their own ordinary
-- collections; the favorites collection is neither renamed nor deleted.

drop policy if exists "collections_owner_select" on public.collections;
create policy "collections_owner_select"
  on public.collections for select
  to authenticated
  using (owner_id = (select auth.uid()));

drop policy if exists "collections_owner_insert" on public.collections;
create policy "collections_owner_insert"
  on public.collections for insert
  to authenticated
  with check (owner_id = (select auth.uid()) and is_default_favorites = false);

drop policy if exists "collections_owner_update" on public.collections;
create policy "collections_owner_update"
  on public.collections for update
  to authenticated
  using (owner_id = (select auth.uid()) and is_default_favorites = false)
  with check (owner_id = (select auth.uid()) and is_default_favorites = false);

drop policy if exists "collections_owner_delete" on public.collections;
create policy "collections_owner_delete"
  on public.collections for delete
  to authenticated
  using (owner_id = (select auth.uid()) and is_default_favorites = false);

-- Items: the collection must be the caller's; to add, the render too.
drop policy if exists "coll_items_owner_select" on public.collection_items;
create policy "coll_items_owner_select"
  on public.collection_items for select
  to authenticated
  using (
    exists (
      select 1 from public.collections c
      where c.id = collection_items.collection_id
        and c.owner_id = (select auth.uid())
    )
  );

drop policy if exists "coll_items_owner_insert" on public.collection_items;
create policy "coll_items_owner_insert"
  on public.collection_items for insert
  to authenticated
  with check (
    exists (
      select 1 from public.collections c
      where c.id = collection_items.collection_id
        and c.owner_id = (select auth.uid())
    )
    and exists (
      select 1 from public.renders r
      where r.id = collection_items.render_id
        and r.owner_id = (select auth.uid())
    )
  );

drop policy if exists "coll_items_owner_delete" on public.collection_items;
create policy "coll_items_owner_delete"
  on public.collection_items for delete
  to authenticated
  using (
    exists (
      select 1 from public.collections c
      where c.id = collection_items.collection_id
        and c.owner_id = (select auth.uid())
    )
  );

-- Names: 1 to 100 characters once trimmed.
-- NOT VALID so legacy rows cannot block the migration; validated right after
-- when the existing rows allow it.
do $$
begin
  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.collections'::regclass
      and conname = 'collections_name_length_check'
  ) then
    alter table public.collections
      add constraint collections_name_length_check
      check (char_length(btrim(name)) between 1 and 100) not valid;
  end if;
end
$$;

do $$
begin
  alter table public.collections validate constraint collections_name_length_check;
exception when check_violation then
  raise notice 'collections: legacy rows violate collections_name_length_check, left NOT VALID';
end
$$;
