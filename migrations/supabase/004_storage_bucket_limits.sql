-- Local emulation (skipped on a real Supabase project) of two columns of
-- Supabase's storage.buckets and of what Supabase Storage does with them:
-- an object bigger than `file_size_limit` or of a type outside
-- `allowed_mime_types` is refused on upload. Supabase checks this in its
-- storage server before it writes the row; here the row is all there is of
-- an upload through the Storage API, so a trigger checks the size and type
-- Supabase records in `metadata` (`size`, `mimetype`).

alter table storage.buckets add column if not exists file_size_limit bigint;
alter table storage.buckets add column if not exists allowed_mime_types text[];

create or replace function storage.enforce_bucket_limits()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  bucket storage.buckets;
  size bigint;
  mimetype text;
begin
  select * into bucket from storage.buckets where id = new.bucket_id;
  if bucket.id is null then
    return new;
  end if;
  size := nullif(new.metadata->>'size', '')::bigint;
  mimetype := lower(split_part(coalesce(new.metadata->>'mimetype', ''), ';', 1));
  if bucket.file_size_limit is not null and (size is null or size > bucket.file_size_limit) then
    raise exception 'The object exceeded the maximum allowed size'
      using errcode = 'check_violation', constraint = 'bucket_file_size_limit';
  end if;
  if bucket.allowed_mime_types is not null and not (mimetype = any (bucket.allowed_mime_types)) then
    raise exception 'mime type % is not supported', mimetype
      using errcode = 'check_violation', constraint = 'bucket_allowed_mime_types';
  end if;
  return new;
end;
$$;

revoke all on function storage.enforce_bucket_limits() from public, anon, authenticated;

drop trigger if exists enforce_bucket_limits on storage.objects;
create trigger enforce_bucket_limits
  before insert or update on storage.objects
  for each row execute function storage.enforce_bucket_limits();
