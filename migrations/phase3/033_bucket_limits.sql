-- Closes SECURITY.md 26 at the bucket: the private bucket had no size or
-- type limit, so a user stored objects of any size and type under their
-- folder, also straight through the Storage API. Supabase Storage refuses
-- an upload beyond a bucket's `file_size_limit` or outside its
-- `allowed_mime_types`, whatever path it takes (REST, S3, presigned).
-- Inputs: the 15 MiB and the three image types of POST /uploads. Renders:
-- the largest output the webhook accepts (25 MiB), JPEG (and WebP for
-- thumbnails).

update storage.buckets
   set file_size_limit = 15 * 1024 * 1024,
       allowed_mime_types = array['image/jpeg', 'image/png', 'image/webp']
 where id = 'private';

update storage.buckets
   set file_size_limit = 25 * 1024 * 1024,
       allowed_mime_types = array['image/jpeg', 'image/webp']
 where id = 'public';
