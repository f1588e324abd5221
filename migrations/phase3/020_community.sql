-- Closes SECURITY.md 8 (anonymous users read only community content) and 7
-- for community content: only published collections and their items are
-- readable, and the public gallery is served by a narrow function that
-- returns no owner, prompt or job fields of the renders it shows.

-- Drafts: a collection is visible only once published. Rows that exist when
-- the column is first added were public before, so they start published;
-- re-running never republishes a draft.
do $$
begin
  if not exists (
    select 1 from pg_attribute
    where attrelid = 'public.community_collections'::regclass
      and attname = 'is_published'
      and not attisdropped
  ) then
    alter table public.community_collections
      add column is_published boolean not null default false;
    update public.community_collections set is_published = true;
  end if;
end
$$;

drop policy if exists "comm_read" on public.community_collections;
create policy "comm_read"
  on public.community_collections for select
  to anon, authenticated
  using (is_published);

drop policy if exists "comm_items_read" on public.community_items;
create policy "comm_items_read"
  on public.community_items for select
  to anon, authenticated
  using (
    exists (
      select 1 from public.community_collections c
      where c.id = community_items.collection_id
        and c.is_published
    )
  );

-- The public gallery: items of published collections, featured collections
-- first, then by order_index, then newest collection first; within a
-- collection by order_index, then oldest item first. A render-backed item
-- shows the image of its render's cover variant; items whose render or cover
-- variant no longer exists are left out. External items carry
-- external_image_url and a null image_path.
create or replace function public.community_feed()
returns table (
  collection_id uuid,
  title text,
  description text,
  is_featured boolean,
  collection_order int,
  item_id uuid,
  item_order int,
  image_path text,
  external_image_url text,
  apply_settings jsonb
)
language sql
stable
security definer
set search_path = ''
as $$
  select
    c.id,
    c.title,
    c.description,
    c.is_featured,
    c.order_index,
    i.id,
    i.order_index,
    v.image_path,
    i.external_image_url,
    i.apply_settings
  from public.community_collections c
  join public.community_items i on i.collection_id = c.id
  left join public.renders r on r.id = i.render_id
  left join public.render_variants v on v.render_id = r.id and v.idx = r.cover_variant
  where c.is_published
    and (i.render_id is null or v.image_path is not null)
  order by
    c.is_featured desc,
    c.order_index asc,
    c.created_at desc,
    c.id,
    i.order_index asc,
    i.created_at asc,
    i.id
$$;

revoke all on function public.community_feed() from public;
grant execute on function public.community_feed() to anon, authenticated, service_role;
