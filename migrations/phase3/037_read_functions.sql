-- The reads of `GET /usage` and `GET /generations/{id}` as PL/pgSQL
-- functions (issue 13): a statement sent by the client is parsed and
-- planned on every call (unnamed, as Supabase's transaction pooler
-- requires); a PL/pgSQL function's statement is planned once per server
-- connection and its plan reused. Same columns, rows and order as the
-- statements they replace.
--
-- `security invoker`: they run as the caller, so RLS applies exactly as it
-- did to the statements. A user calling them through the Data API with
-- another user's id gets what the policies show them of that user: nothing
-- (SECURITY.md 7; `data_api_attacks/other_users_rows.rs`).

create or replace function public.usage_overview(
  owner uuid,
  period_start timestamptz,
  period_end timestamptz,
  with_history boolean
)
returns table (
  price_id text,
  has_access boolean,
  used bigint,
  inflight_job_id uuid,
  id uuid,
  owner_id uuid,
  kind text,
  amount int,
  meta jsonb,
  created_at timestamptz
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
    select p.price_id,
           coalesce(p.has_access, false),
           (select coalesce(sum(d.amount), 0)::int8 from public.usage_ledger d
             where d.owner_id = usage_overview.owner and d.kind = 'generation_debit'
               and d.created_at >= usage_overview.period_start),
           (select j.id from public.generation_jobs j
             where j.owner_id = usage_overview.owner and j.status in ('starting', 'processing')
             order by j.created_at desc limit 1),
           l.id, l.owner_id, l.kind, l.amount, l.meta, l.created_at
      from (select 1) as one
      left join public.profiles p on p.id = usage_overview.owner
      left join lateral (
        select e.id, e.owner_id, e.kind, e.amount, e.meta, e.created_at from public.usage_ledger e
         where usage_overview.with_history and e.owner_id = usage_overview.owner
           and e.created_at >= usage_overview.period_start and e.created_at < usage_overview.period_end
      ) l on true
     order by l.created_at desc nulls last, l.id desc;
end;
$$;

-- The job's columns are listed, never the whole row: `failure_detail` is
-- not the owner's to read (034), and a whole-row reference needs every column.
create or replace function public.job_with_outputs(wanted uuid)
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
  variant_paths text[]
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
           coalesce(array_agg(v.image_path order by v.idx) filter (where v.id is not null), '{}')
      from public.generation_jobs j
      left join public.renders r on r.job_id = j.id
      left join public.render_variants v on v.render_id = r.id
     where j.id = job_with_outputs.wanted
     group by j.id, r.id;
end;
$$;

revoke all on function public.usage_overview(uuid, timestamptz, timestamptz, boolean) from public, anon;
revoke all on function public.job_with_outputs(uuid) from public, anon;
grant execute on function public.usage_overview(uuid, timestamptz, timestamptz, boolean) to authenticated, service_role;
grant execute on function public.job_with_outputs(uuid) to authenticated, service_role;

-- `GET /collections`: My Favorites made sure of first (it may have been lost
-- before 022/023), then the owner's collections with item counts and covers
-- (the stored card of the most recently added render that has one), My
-- Favorites first, then oldest first. Each statement of a PL/pgSQL function
-- sees what the one before it wrote, so a favorites row made just now is
-- listed like any other. Volatile: it may insert that row.
create or replace function public.list_collections(owner uuid)
returns table (
  id uuid,
  owner_id uuid,
  name text,
  is_default_favorites boolean,
  created_at timestamptz,
  item_count bigint,
  cover_image_path text
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
           (select r.cover_image_path
              from public.collection_items ci
              join public.renders r on r.id = ci.render_id
             where ci.collection_id = c.id and r.cover_image_path is not null
             order by ci.added_at desc, ci.render_id desc
             limit 1)
      from public.collections c
     where c.owner_id = list_collections.owner
     order by c.is_default_favorites desc, c.created_at, c.id;
end;
$$;

revoke all on function public.list_collections(uuid) from public, anon;
grant execute on function public.list_collections(uuid) to authenticated, service_role;
