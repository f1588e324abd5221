-- Closes SECURITY.md 3 (users inserting/updating jobs: skipping quota and
-- in-flight checks, setting status, pointing inputs at another user's upload),
-- 7 for jobs, and backs 12 (one job in flight per user) and 18/19 (input
-- paths, prompt size) with constraints. Jobs are created and moved only by
-- the service (service_role); users may read their own.

drop policy if exists "jobs_owner_insert" on public.generation_jobs;
drop policy if exists "jobs_owner_update" on public.generation_jobs;

drop policy if exists "jobs_owner_select" on public.generation_jobs;
create policy "jobs_owner_select"
  on public.generation_jobs for select
  to authenticated
  using (owner_id = (select auth.uid()));

-- When the service last polled Replicate for this job (rate-limits polling
-- on GET of a stale job).
alter table public.generation_jobs add column if not exists last_polled_at timestamptz;

-- Target of the composite foreign key renders(job_id, owner_id).
do $$
begin
  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.generation_jobs'::regclass
      and conname = 'generation_jobs_id_owner_key'
  ) then
    alter table public.generation_jobs
      add constraint generation_jobs_id_owner_key unique (id, owner_id);
  end if;
end
$$;

-- One job in flight per owner (SECURITY.md 12), enforced by the database.
-- Legacy rows could hold several in-flight jobs for one owner, which would
-- make the index impossible to build: keep each owner's newest one and fail
-- the older ones with the timeout marker (the sweeper would fail them after
-- 10 minutes anyway). Runs only until the index exists.
do $$
begin
  if to_regclass('public.uniq_jobs_owner_inflight') is null then
    update public.generation_jobs j
       set status = 'failed',
           error = 'timeout',
           completed_at = coalesce(j.completed_at, now())
     where j.status in ('starting', 'processing')
       and exists (
         select 1 from public.generation_jobs n
          where n.owner_id = j.owner_id
            and n.status in ('starting', 'processing')
            and (n.created_at, n.id) > (j.created_at, j.id)
       );
  end if;
end
$$;

create unique index if not exists uniq_jobs_owner_inflight
  on public.generation_jobs (owner_id)
  where status in ('starting', 'processing');

-- Input paths must be the owner's own uploads: private/<owner_id>/inputs/<file>,
-- without '..'. Prompts are at most 2000 characters.
-- NOT VALID so legacy rows cannot block the migration (new and updated rows
-- are checked); validated right after when the existing rows allow it.
do $$
begin
  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.generation_jobs'::regclass
      and conname = 'generation_jobs_input1_path_check'
  ) then
    alter table public.generation_jobs
      add constraint generation_jobs_input1_path_check check (
        input1_path is null or (
          starts_with(input1_path, 'private/' || owner_id::text || '/inputs/')
          and char_length(input1_path) > char_length('private/' || owner_id::text || '/inputs/')
          and strpos(input1_path, '..') = 0
        )
      ) not valid;
  end if;

  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.generation_jobs'::regclass
      and conname = 'generation_jobs_input2_path_check'
  ) then
    alter table public.generation_jobs
      add constraint generation_jobs_input2_path_check check (
        input2_path is null or (
          starts_with(input2_path, 'private/' || owner_id::text || '/inputs/')
          and char_length(input2_path) > char_length('private/' || owner_id::text || '/inputs/')
          and strpos(input2_path, '..') = 0
        )
      ) not valid;
  end if;

  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.generation_jobs'::regclass
      and conname = 'generation_jobs_prompt_length_check'
  ) then
    alter table public.generation_jobs
      add constraint generation_jobs_prompt_length_check check (
        prompt is null or char_length(prompt) <= 2000
      ) not valid;
  end if;
end
$$;

do $$
declare
  c text;
begin
  foreach c in array array[
    'generation_jobs_input1_path_check',
    'generation_jobs_input2_path_check',
    'generation_jobs_prompt_length_check'
  ] loop
    begin
      execute format('alter table public.generation_jobs validate constraint %I', c);
    exception when check_violation then
      raise notice 'generation_jobs: legacy rows violate %, left NOT VALID', c;
    end;
  end loop;
end
$$;
