-- The gallery page (`GET /renders`, and a collection's page) as a PL/pgSQL
-- function, planned once per connection like the reads of 036 and 037.
-- After a few calls PostgreSQL may give a function's statement one generic
-- plan for all parameter values, so each shape of page has its own
-- statement: one statement for "first page or after a cursor" cannot use the
-- cursor as an index bound in a generic plan and filters every render of the
-- owner before it (measured: 30-60 ms at 20,000 renders against 0.3 ms), and
-- an optional collection filter makes the planner expect so few rows that it
-- sorts them all instead of walking the index. The gallery walks
-- (owner, created_at desc, id desc); a collection's page starts from its
-- items (at most 1,000, 031). Each statement's generic plan walks an index
-- (checked with EXPLAIN at 20,000 renders a user), so the function asks for
-- generic plans outright: left to choose, PostgreSQL compares a generic
-- plan's cost for an unknown LIMIT with a custom plan's for 25 rows and
-- keeps planning every call, which saves nothing (measured: no change).
-- `security invoker`: RLS applies as it did to the statement.

create or replace function public.list_renders(
  owner uuid,
  wanted_mode text,
  wanted_room_type text,
  wanted_style text,
  in_collection uuid,
  after_created_at timestamptz,
  after_id uuid,
  fetch_rows bigint
)
returns table (
  id uuid,
  job_id uuid,
  owner_id uuid,
  mode text,
  room_type text,
  style text,
  cover_variant int,
  created_at timestamptz,
  cover_image_path text,
  variant_count bigint,
  is_favorite boolean
)
language plpgsql
stable
security invoker
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
begin
  if list_renders.in_collection is not null then
    return query
      select r.id, r.job_id, r.owner_id, r.mode, r.room_type, r.style, r.cover_variant, r.created_at,
             r.cover_image_path, r.variant_count::int8, r.is_favorite
        from public.collection_items ci
        join public.renders r on r.id = ci.render_id
       where ci.collection_id = list_renders.in_collection
         and r.owner_id = list_renders.owner
         and (list_renders.after_created_at is null
              or (r.created_at, r.id) < (list_renders.after_created_at, list_renders.after_id))
         and (list_renders.wanted_mode is null or r.mode = list_renders.wanted_mode)
         and (list_renders.wanted_room_type is null or r.room_type = list_renders.wanted_room_type)
         and (list_renders.wanted_style is null or r.style = list_renders.wanted_style)
       order by r.created_at desc, r.id desc
       limit list_renders.fetch_rows;
  elsif list_renders.after_created_at is null then
    return query
      select r.id, r.job_id, r.owner_id, r.mode, r.room_type, r.style, r.cover_variant, r.created_at,
             r.cover_image_path, r.variant_count::int8, r.is_favorite
        from public.renders r
       where r.owner_id = list_renders.owner
         and (list_renders.wanted_mode is null or r.mode = list_renders.wanted_mode)
         and (list_renders.wanted_room_type is null or r.room_type = list_renders.wanted_room_type)
         and (list_renders.wanted_style is null or r.style = list_renders.wanted_style)
       order by r.created_at desc, r.id desc
       limit list_renders.fetch_rows;
  else
    return query
      select r.id, r.job_id, r.owner_id, r.mode, r.room_type, r.style, r.cover_variant, r.created_at,
             r.cover_image_path, r.variant_count::int8, r.is_favorite
        from public.renders r
       where r.owner_id = list_renders.owner
         and (r.created_at, r.id) < (list_renders.after_created_at, list_renders.after_id)
         and (list_renders.wanted_mode is null or r.mode = list_renders.wanted_mode)
         and (list_renders.wanted_room_type is null or r.room_type = list_renders.wanted_room_type)
         and (list_renders.wanted_style is null or r.style = list_renders.wanted_style)
       order by r.created_at desc, r.id desc
       limit list_renders.fetch_rows;
  end if;
end;
$$;

revoke all on function public.list_renders(uuid, text, text, text, uuid, timestamptz, uuid, bigint) from public, anon;
grant execute on function public.list_renders(uuid, text, text, text, uuid, timestamptz, uuid, bigint)
  to authenticated, service_role;
