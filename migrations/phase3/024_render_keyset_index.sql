-- Closes: gallery pages past the first getting slower with depth (and
-- unstable order on equal timestamps). The gallery pages on
-- (created_at, id) descending per owner; this index serves that order and
-- the keyset predicate (created_at, id) < (cursor) directly, so page 1000
-- costs what page 1 costs.
create index if not exists idx_renders_owner_created_id
  on public.renders (owner_id, created_at desc, id desc);
