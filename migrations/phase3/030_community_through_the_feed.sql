-- Closes: anon (and any signed-in user, anonymous sign-ins included) read
-- `community_items.render_id` through the Data API, which tells which
-- renders are curated and, from them, every variant's image path, not only
-- the cover the feed shows. Community content is read only through
-- `public.community_feed()` (020), a security definer function returning
-- exactly what the gallery shows; the tables themselves are left to the
-- service (community-admin).

revoke all on public.community_collections, public.community_items from anon, authenticated;
