-- Closes SECURITY.md 21: anyone listed every user's render images. The
-- `select` policy on the public bucket let anon and every user read
-- storage.objects rows of bucket `public`, which is what Supabase Storage's
-- `POST /object/list/public` (and `storage.search()`) returns, so renders
-- never shared were enumerable. A public bucket serves its files by URL
-- without consulting any select policy, so removing the policy keeps public
-- URLs working and leaves listing empty for anon and users. Only the service
-- (service_role bypasses RLS) sees the public bucket's rows.

drop policy if exists "public bucket: public read" on storage.objects;
