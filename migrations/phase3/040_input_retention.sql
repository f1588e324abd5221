-- Keep little (issue 15): an uploaded input is deleted a configurable time
-- after its last job (`INPUT_RETENTION_DAYS`, default 30), or after its
-- upload when no job used it, by the sweeper in bounded batches. Renders
-- stay until their owner deletes them; a job whose inputs are gone says so
-- (`inputs_expired_at`), so its "before" reads as expired, not broken.

alter table public.generation_jobs add column if not exists inputs_expired_at timestamptz;
-- Owners read it like the job's other columns (034 grants column by column).
grant select (inputs_expired_at) on public.generation_jobs to authenticated;

-- Uploads from before 039, as their jobs name them.
insert into private.uploads (key, owner_id, created_at)
select key, owner_id, min(created_at)
  from (select substr(j.input1_path, char_length('private/') + 1) as key, j.owner_id, j.created_at
          from public.generation_jobs j where j.input1_path like 'private/%'
        union all
        select substr(j.input2_path, char_length('private/') + 1), j.owner_id, j.created_at
          from public.generation_jobs j where j.input2_path like 'private/%') inputs
 where starts_with(key, owner_id::text || '/inputs/')
 group by key, owner_id
on conflict (key) do nothing;

create index if not exists uploads_created on private.uploads (created_at);

-- The job answer carries the new column: its result changes, so the
-- function is made again (as in 038).
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
  inputs_expired_at timestamptz,
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
           j.last_polled_at, j.inputs_expired_at,
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
