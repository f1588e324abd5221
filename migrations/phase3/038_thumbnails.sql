-- Thumbnails (issue 14): each variant's `thumb_path` (a WebP beside the
-- image, spec section 2) is written by the completion that stores the
-- image, or later by the sweeper's backfill. A gallery card carries its
-- cover's thumbnail as it carries the cover (035's stored card), and the
-- reads that list variants or covers return the thumbnails beside them.
--
-- Two read functions change their result columns, which `create or replace`
-- cannot do: they are dropped and made again, with their grants.

alter table public.renders add column if not exists cover_thumb_path text;

create or replace function public.refresh_render_cards(render_ids uuid[])
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform 1 from public.renders where id = any(render_ids) order by id for update;
  update public.renders r
     set variant_count = (select count(*) from public.render_variants v where v.render_id = r.id),
         cover_image_path = (select v.image_path from public.render_variants v
                              where v.render_id = r.id and v.idx = r.cover_variant),
         cover_thumb_path = (select v.thumb_path from public.render_variants v
                              where v.render_id = r.id and v.idx = r.cover_variant),
         is_favorite = exists(select 1
                                from public.collection_items ci
                                join public.collections c on c.id = ci.collection_id
                               where ci.render_id = r.id
                                 and c.owner_id = r.owner_id
                                 and c.is_default_favorites)
   where r.id = any(render_ids);
end;
$$;

create or replace function public.render_cards_cover_changed()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  select v.image_path, v.thumb_path into new.cover_image_path, new.cover_thumb_path
    from public.render_variants v
   where v.render_id = new.id and v.idx = new.cover_variant;
  if not found then
    new.cover_image_path := null;
    new.cover_thumb_path := null;
  end if;
  return new;
end;
$$;

revoke all on function public.refresh_render_cards(uuid[]) from public, anon, authenticated;
revoke all on function public.render_cards_cover_changed() from public, anon, authenticated;

drop function if exists public.job_with_outputs(uuid);
create function public.job_with_outputs(wanted uuid)
returns table (
  id uuid,
  owner_id uuid,
  mode text,
  room_type text,
  style text,
  input1_path text,
  input2_path text,
  prompt text,
  prediction_id text,
  status text,
  error text,
  idempotency_key uuid,
  created_at timestamptz,
  completed_at timestamptz,
  last_polled_at timestamptz,
  render_id uuid,
  variant_indexes int[],
  variant_paths text[],
  variant_thumb_paths text[]
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
    select j.id, j.owner_id, j.mode, j.room_type, j.style, j.input1_path, j.input2_path, j.prompt,
           j.prediction_id, j.status, j.error, j.idempotency_key, j.created_at, j.completed_at,
           j.last_polled_at,
           r.id,
           coalesce(array_agg(v.idx order by v.idx) filter (where v.id is not null), '{}'),
           coalesce(array_agg(v.image_path order by v.idx) filter (where v.id is not null), '{}'),
           coalesce(array_agg(v.thumb_path order by v.idx) filter (where v.id is not null), '{}')
      from public.generation_jobs j
      left join public.renders r on r.job_id = j.id
      left join public.render_variants v on v.render_id = r.id
     where j.id = job_with_outputs.wanted
     group by j.id, r.id;
end;
$$;

revoke all on function public.job_with_outputs(uuid) from public, anon;
grant execute on function public.job_with_outputs(uuid) to authenticated, service_role;

drop function if exists public.list_collections(uuid);
create function public.list_collections(owner uuid)
returns table (
  id uuid,
  owner_id uuid,
  name text,
  is_default_favorites boolean,
  created_at timestamptz,
  item_count bigint,
  cover_image_path text,
  cover_thumb_path text
)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform public.ensure_default_favorites();
  return query
    select c.id, c.owner_id, c.name, c.is_default_favorites, c.created_at,
           (select count(*) from public.collection_items ci where ci.collection_id = c.id),
           cover.cover_image_path, cover.cover_thumb_path
      from public.collections c
      left join lateral (
        select r.cover_image_path, r.cover_thumb_path
          from public.collection_items ci
          join public.renders r on r.id = ci.render_id
         where ci.collection_id = c.id and r.cover_image_path is not null
         order by ci.added_at desc, ci.render_id desc
         limit 1
      ) cover on true
     where c.owner_id = list_collections.owner
     order by c.is_default_favorites desc, c.created_at, c.id;
end;
$$;

revoke all on function public.list_collections(uuid) from public, anon;
grant execute on function public.list_collections(uuid) to authenticated, service_role;

-- The sweeper's backfill finds variants without a thumbnail, newest first.
create index if not exists render_variants_without_thumb
  on public.render_variants (created_at desc) where thumb_path is null;

-- Renders that have thumbnails already (none before this migration, but a
-- re-run after the backfill started must not lose them).
update public.renders r
   set cover_thumb_path = v.thumb_path
  from public.render_variants v
 where v.render_id = r.id and v.idx = r.cover_variant
   and v.thumb_path is not null and r.cover_thumb_path is distinct from v.thumb_path;
