-- Local emulation of Supabase Storage's schema (skipped on a real Supabase
-- project): buckets, objects (RLS enabled, as on Supabase) and
-- storage.foldername(). Grants as Supabase gives them: the API roles get all
-- privileges on the tables and row level security decides.

create schema if not exists storage;

create table if not exists storage.buckets (
  id text primary key,
  name text not null unique,
  public boolean default false,
  created_at timestamptz default now()
);

create table if not exists storage.objects (
  id uuid primary key default gen_random_uuid(),
  bucket_id text references storage.buckets (id),
  name text,
  owner uuid,
  metadata jsonb,
  created_at timestamptz default now(),
  unique (bucket_id, name)
);

-- Supabase enables RLS on both tables; with no policy on buckets, API users
-- can neither list nor change buckets.
alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;

-- As Supabase: the folders of an object name, without the file name.
create or replace function storage.foldername(name text)
returns text[]
language plpgsql
as $$
declare
  _parts text[];
begin
  select string_to_array(name, '/') into _parts;
  return _parts[1:array_length(_parts, 1) - 1];
end
$$;

grant usage on schema storage to anon, authenticated, service_role;
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;
grant execute on function storage.foldername(text) to anon, authenticated, service_role;
