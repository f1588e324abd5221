-- Closes SECURITY.md 7 and 8 for stored objects: anyone may read the public
-- bucket but only the service (service_role, which bypasses RLS) writes it,
-- so users can neither plant nor overwrite nor delete render images; the
-- private bucket is owner-only, the first folder of the object name being
-- the user's id (<userId>/inputs/<uuid>.<ext>).

-- phase1's authenticated write on the public bucket
drop policy if exists "public bucket: authenticated insert" on storage.objects;
drop policy if exists "public bucket: authenticated update" on storage.objects;
drop policy if exists "public bucket: authenticated delete" on storage.objects;

drop policy if exists "public bucket: public read" on storage.objects;
create policy "public bucket: public read"
  on storage.objects for select
  to anon, authenticated
  using (bucket_id = 'public');

drop policy if exists "private bucket: owner read" on storage.objects;
create policy "private bucket: owner read"
  on storage.objects for select
  to authenticated
  using (
    bucket_id = 'private'
    and (storage.foldername(name))[1] = (select auth.uid())::text
  );

drop policy if exists "private bucket: owner insert" on storage.objects;
create policy "private bucket: owner insert"
  on storage.objects for insert
  to authenticated
  with check (
    bucket_id = 'private'
    and (storage.foldername(name))[1] = (select auth.uid())::text
  );

drop policy if exists "private bucket: owner update" on storage.objects;
create policy "private bucket: owner update"
  on storage.objects for update
  to authenticated
  using (
    bucket_id = 'private'
    and (storage.foldername(name))[1] = (select auth.uid())::text
  )
  with check (
    bucket_id = 'private'
    and (storage.foldername(name))[1] = (select auth.uid())::text
  );

drop policy if exists "private bucket: owner delete" on storage.objects;
create policy "private bucket: owner delete"
  on storage.objects for delete
  to authenticated
  using (
    bucket_id = 'private'
    and (storage.foldername(name))[1] = (select auth.uid())::text
  );
