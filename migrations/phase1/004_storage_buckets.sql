-- Storage buckets and their object policies as production has them:
--   public  - public read, authenticated write
--   private - owner-only: the first folder of the object name is the user id
-- (phase3/021 removes the authenticated write on the public bucket.)

insert into storage.buckets (id, name, public)
values ('public', 'public', true)
on conflict do nothing;

insert into storage.buckets (id, name, public)
values ('private', 'private', false)
on conflict do nothing;

-- public bucket
drop policy if exists "public bucket: public read" on storage.objects;
create policy "public bucket: public read"
  on storage.objects for select
  using (bucket_id = 'public');

drop policy if exists "public bucket: authenticated insert" on storage.objects;
create policy "public bucket: authenticated insert"
  on storage.objects for insert
  to authenticated
  with check (bucket_id = 'public');

drop policy if exists "public bucket: authenticated update" on storage.objects;
create policy "public bucket: authenticated update"
  on storage.objects for update
  to authenticated
  using (bucket_id = 'public');

drop policy if exists "public bucket: authenticated delete" on storage.objects;
create policy "public bucket: authenticated delete"
  on storage.objects for delete
  to authenticated
  using (bucket_id = 'public');

-- private bucket
drop policy if exists "private bucket: owner read" on storage.objects;
create policy "private bucket: owner read"
  on storage.objects for select
  to authenticated
  using (bucket_id = 'private' and (storage.foldername(name))[1] = auth.uid()::text);

drop policy if exists "private bucket: owner insert" on storage.objects;
create policy "private bucket: owner insert"
  on storage.objects for insert
  to authenticated
  with check (bucket_id = 'private' and (storage.foldername(name))[1] = auth.uid()::text);

drop policy if exists "private bucket: owner update" on storage.objects;
create policy "private bucket: owner update"
  on storage.objects for update
  to authenticated
  using (bucket_id = 'private' and (storage.foldername(name))[1] = auth.uid()::text);

drop policy if exists "private bucket: owner delete" on storage.objects;
create policy "private bucket: owner delete"
  on storage.objects for delete
  to authenticated
  using (bucket_id = 'private' and (storage.foldername(name))[1] = auth.uid()::text);
