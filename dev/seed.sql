-- Demo data for the local stack (`make dev`). Idempotent: fixed ids and
-- `on conflict do nothing`, so it can be re-run on every start.
-- Users (the triggers give each a profile and "My Favorites"):
--   alice  free plan               00000000-0000-4000-a000-00000000a11c
--   bob    Weekly (price_weekly)   00000000-0000-4000-a000-000000000b0b
--   carol  Monthly (price_monthly) 00000000-0000-4000-a000-0000000ca201
--   dana   admin (curates community) 00000000-0000-4000-a000-00000000da4a
begin;

insert into auth.users (id, email, raw_app_meta_data) values
  ('00000000-0000-4000-a000-00000000a11c', 'alice@demo.local', '{}'),
  ('00000000-0000-4000-a000-000000000b0b', 'bob@demo.local', '{}'),
  ('00000000-0000-4000-a000-0000000ca201', 'carol@demo.local', '{}'),
  ('00000000-0000-4000-a000-00000000da4a', 'dana@demo.local', '{"role": "admin"}')
on conflict (id) do nothing;

update public.profiles set price_id = 'price_weekly', has_access = true, customer_id = 'cus_demo_bob'
 where id = '00000000-0000-4000-a000-000000000b0b';
update public.profiles set price_id = 'price_monthly', has_access = true, customer_id = 'cus_demo_carol'
 where id = '00000000-0000-4000-a000-0000000ca201';

-- Carol has three finished generations, each with a render, its images and a debit.
insert into public.generation_jobs (id, owner_id, mode, room_type, style, prompt, status, completed_at, prediction_id, created_at)
values
  ('00000000-0000-4000-b000-000000000001', '00000000-0000-4000-a000-0000000ca201', 'imagine', 'living_room', 'scandinavian',
   'a bright living room with a reading corner', 'succeeded', now() - interval '3 days', 'demo-pred-1', now() - interval '3 days'),
  ('00000000-0000-4000-b000-000000000002', '00000000-0000-4000-a000-0000000ca201', 'imagine', 'kitchen', 'industrial',
   'an open kitchen with an island', 'succeeded', now() - interval '2 days', 'demo-pred-2', now() - interval '2 days'),
  ('00000000-0000-4000-b000-000000000003', '00000000-0000-4000-a000-0000000ca201', 'imagine', 'bedroom', 'japandi',
   'a calm bedroom with low furniture', 'succeeded', now() - interval '1 day', 'demo-pred-3', now() - interval '1 day')
on conflict (id) do nothing;

insert into public.renders (id, job_id, owner_id, mode, room_type, style, created_at) values
  ('00000000-0000-4000-c000-000000000001', '00000000-0000-4000-b000-000000000001', '00000000-0000-4000-a000-0000000ca201', 'imagine', 'living_room', 'scandinavian', now() - interval '3 days'),
  ('00000000-0000-4000-c000-000000000002', '00000000-0000-4000-b000-000000000002', '00000000-0000-4000-a000-0000000ca201', 'imagine', 'kitchen', 'industrial', now() - interval '2 days'),
  ('00000000-0000-4000-c000-000000000003', '00000000-0000-4000-b000-000000000003', '00000000-0000-4000-a000-0000000ca201', 'imagine', 'bedroom', 'japandi', now() - interval '1 day')
on conflict (id) do nothing;

insert into public.render_variants (render_id, owner_id, idx, image_path)
select r.id, r.owner_id, 0, 'renders/' || r.id || '/0.jpg'
  from public.renders r
 where r.owner_id = '00000000-0000-4000-a000-0000000ca201'
on conflict do nothing;

insert into public.usage_ledger (owner_id, kind, amount, meta, created_at)
select j.owner_id, 'generation_debit', 1, jsonb_build_object('jobId', j.id), j.completed_at
  from public.generation_jobs j
 where j.owner_id = '00000000-0000-4000-a000-0000000ca201' and j.status = 'succeeded'
on conflict do nothing;

insert into public.collections (id, owner_id, name) values
  ('00000000-0000-4000-d000-000000000001', '00000000-0000-4000-a000-0000000ca201', 'Kitchen ideas')
on conflict (id) do nothing;
insert into public.collection_items (collection_id, render_id) values
  ('00000000-0000-4000-d000-000000000001', '00000000-0000-4000-c000-000000000002')
on conflict do nothing;
insert into public.collection_items (collection_id, render_id)
select c.id, '00000000-0000-4000-c000-000000000003'
  from public.collections c
 where c.owner_id = '00000000-0000-4000-a000-0000000ca201' and c.is_default_favorites
on conflict do nothing;

-- Community: a featured and a regular published collection, and a draft.
insert into public.community_collections (id, title, description, is_featured, order_index, is_published) values
  ('00000000-0000-4000-e000-000000000001', 'Editor''s picks', 'Rooms our team loves', true, 0, true),
  ('00000000-0000-4000-e000-000000000002', 'Small spaces', 'Ideas for compact rooms', false, 1, true),
  ('00000000-0000-4000-e000-000000000003', 'Draft: holiday looks', null, false, 2, false)
on conflict (id) do nothing;
insert into public.community_items (id, collection_id, render_id, external_image_url, apply_settings, order_index) values
  ('00000000-0000-4000-f000-000000000001', '00000000-0000-4000-e000-000000000001', '00000000-0000-4000-c000-000000000001', null,
   '{"mode": "redesign", "roomType": "living_room", "style": "scandinavian", "prompt": "a bright living room with a reading corner"}', 0),
  ('00000000-0000-4000-f000-000000000002', '00000000-0000-4000-e000-000000000002', null, 'https://images.example.com/compact-studio.jpg',
   '{"mode": "staging", "roomType": "bedroom", "style": "minimalist", "prompt": "a compact studio bedroom"}', 0)
on conflict (id) do nothing;

commit;
