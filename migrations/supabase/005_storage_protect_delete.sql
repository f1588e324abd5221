-- Local emulation (skipped on a real Supabase project) of Supabase Storage's
-- guard on its tables: a DELETE on storage.objects or storage.buckets
-- raises 42501 unless the transaction set `storage.allow_delete_query`,
-- because a deleted row would orphan the stored file. Objects are removed
-- through the Storage API (S3 DeleteObject here), never by SQL, so no code
-- or test here may rely on deleting these rows.

create or replace function storage.protect_delete()
returns trigger
language plpgsql
as $$
begin
  if coalesce(current_setting('storage.allow_delete_query', true), 'false') <> 'true' then
    raise exception 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
      using hint = 'This prevents accidental data loss from orphaned objects.', errcode = '42501';
  end if;
  return null;
end;
$$;

drop trigger if exists protect_objects_delete on storage.objects;
create trigger protect_objects_delete
  before delete on storage.objects
  for each statement execute function storage.protect_delete();

drop trigger if exists protect_buckets_delete on storage.buckets;
create trigger protect_buckets_delete
  before delete on storage.buckets
  for each statement execute function storage.protect_delete();
