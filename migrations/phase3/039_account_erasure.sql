-- A user's right to erase (issue 15): `DELETE /api/v1/me`.
--
-- The erasure starts with one transaction (`private.begin_account_erasure`):
-- it writes down every stored object the user's rows name (render images
-- and thumbnails in `public`, job inputs in `private`) and the predictions
-- still running at Replicate, then deletes the profile, whose foreign keys
-- cascade to every row the user owns: jobs, renders, variants, collections
-- and their items, community items that show the user's renders (the
-- curated collection stays), and the usage ledger. From its commit on, no
-- row can appear for the user: every owned table's foreign key to the
-- profile refuses the insert (a submit racing the erasure either committed
-- its job before, and is erased with the rest, or fails).
--
-- The objects are then deleted from storage in batches, each batch's rows
-- removed once storage confirmed it, so storage failing half-way loses
-- nothing: the next call (or the sweeper) resumes from what is left.
--
-- Uploads are written down when `POST /uploads` presigns them
-- (`private.uploads`), so an upload no job names is found without listing
-- the bucket.
--
-- Schema `private` is not served by the Data API; only the service (and
-- the functions below) reach these tables.

create table if not exists private.uploads (
  -- The bucket key, `<owner>/inputs/<uuid>.<ext>`.
  key text primary key,
  owner_id uuid not null,
  created_at timestamptz not null default now(),
  constraint uploads_owner_fk foreign key (owner_id) references public.profiles (id) on delete cascade,
  constraint uploads_key_is_the_owners check (starts_with(key, owner_id::text || '/inputs/'))
);
create index if not exists uploads_owner on private.uploads (owner_id);
revoke all on private.uploads from public, anon, authenticated;
grant select, insert, delete on private.uploads to service_role;

-- `POST /uploads`: takes the caller's upload token and, when allowed,
-- writes the upload down, in the route's one statement.
create or replace function private.take_upload_token_for_caller(
  p_max_requests integer,
  p_period_seconds double precision,
  p_key text
) returns double precision
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  wait double precision;
begin
  wait := private.take_rate_token((select auth.uid()), 'upload', p_max_requests, p_period_seconds);
  if wait = 0 then
    insert into private.uploads (key, owner_id) values (p_key, (select auth.uid()))
    on conflict (key) do nothing;
  end if;
  return wait;
end;
$$;

revoke all on function private.take_upload_token_for_caller(integer, double precision, text) from public, anon;
grant execute on function private.take_upload_token_for_caller(integer, double precision, text)
  to authenticated, service_role;

create table if not exists private.account_erasures (
  -- No foreign key: the profile is gone once the erasure is under way.
  user_id uuid primary key,
  requested_at timestamptz not null default now(),
  finished_at timestamptz,
  -- Predictions to cancel at Replicate (removed once canceled).
  predictions text[] not null default '{}'
);

create table if not exists private.erasure_objects (
  bucket text not null check (bucket in ('public', 'private')),
  key text not null check (char_length(key) > 0 and strpos(key, '..') = 0),
  user_id uuid not null references private.account_erasures (user_id) on delete cascade,
  primary key (bucket, key)
);
create index if not exists erasure_objects_user on private.erasure_objects (user_id);

revoke all on private.account_erasures, private.erasure_objects from public, anon, authenticated;
grant select, insert, update, delete on private.account_erasures, private.erasure_objects to service_role;

-- Writes down what the user's rows name in storage and what runs at
-- Replicate, then deletes the profile (and, by cascade, every owned row).
-- Idempotent: for a user already erased it finds nothing more to write
-- down and nothing to delete.
create or replace function private.begin_account_erasure(target uuid)
returns void
language plpgsql
volatile
-- As its owner: the rate-limit rows are reachable by no API role, and the
-- service role need not be able to delete profiles otherwise.
security definer
set search_path = ''
as $$
begin
  -- Waits for a transaction inserting a row for this user (its foreign key
  -- check holds a key-share lock on the profile) and keeps new ones waiting
  -- until the profile is gone.
  perform 1 from public.profiles where id = target for update;

  insert into private.account_erasures (user_id) values (target)
  on conflict (user_id) do update set finished_at = null;

  insert into private.erasure_objects (bucket, key, user_id)
  select 'public', path, target
    from (select v.image_path as path from public.render_variants v where v.owner_id = target
          union
          select v.thumb_path from public.render_variants v
           where v.owner_id = target and v.thumb_path is not null) objects
  union
  select 'private', substr(path, char_length('private/') + 1), target
    from (select j.input1_path as path from public.generation_jobs j where j.owner_id = target
          union
          select j.input2_path from public.generation_jobs j where j.owner_id = target) inputs
   where path like 'private/%'
  union
  select 'private', u.key, target from private.uploads u where u.owner_id = target
  on conflict (bucket, key) do nothing;

  update private.account_erasures e
     set predictions = array(
           select distinct p from unnest(e.predictions || array(
             select j.prediction_id from public.generation_jobs j
              where j.owner_id = target and j.status in ('starting', 'processing')
                and j.prediction_id is not null)) p)
   where e.user_id = target;

  delete from private.rate_limits where owner_id = target;
  delete from public.profiles where id = target;
end;
$$;

revoke all on function private.begin_account_erasure(uuid) from public, anon, authenticated;
grant execute on function private.begin_account_erasure(uuid) to service_role;
