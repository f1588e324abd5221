-- Closes SECURITY.md 11 (index every foreign key) and backs 7: every owned
-- row belongs to an existing profile (deleting a user removes their data),
-- and a community item disappears with the render it shows.
-- Foreign keys are added NOT VALID so legacy orphans cannot block the
-- migration (new and updated rows are checked); each is validated right after
-- when the existing rows allow it.

do $$
declare
  f record;
begin
  for f in
    select * from (values
      ('public.generation_jobs', 'generation_jobs_owner_fk',
       'foreign key (owner_id) references public.profiles (id) on delete cascade'),
      ('public.renders', 'renders_owner_fk',
       'foreign key (owner_id) references public.profiles (id) on delete cascade'),
      ('public.render_variants', 'render_variants_owner_fk',
       'foreign key (owner_id) references public.profiles (id) on delete cascade'),
      ('public.collections', 'collections_owner_fk',
       'foreign key (owner_id) references public.profiles (id) on delete cascade'),
      ('public.usage_ledger', 'usage_ledger_owner_fk',
       'foreign key (owner_id) references public.profiles (id) on delete cascade'),
      ('public.community_items', 'community_items_render_fk',
       'foreign key (render_id) references public.renders (id) on delete cascade')
    ) as t (tbl, con, def)
  loop
    if not exists (
      select 1 from pg_constraint
      where conrelid = f.tbl::regclass and conname = f.con
    ) then
      execute format('alter table %s add constraint %I %s not valid', f.tbl, f.con, f.def);
    end if;

    begin
      execute format('alter table %s validate constraint %I', f.tbl, f.con);
    exception when foreign_key_violation then
      raise notice '%: legacy rows violate %, left NOT VALID', f.tbl, f.con;
    end;
  end loop;
end
$$;

-- Indexes for foreign keys whose columns do not already lead an index.
-- Already covered: generation_jobs(owner_id) by idx_jobs_owner_created_at,
-- renders(job_id) by uniq_renders_job, renders(owner_id) by
-- idx_renders_owner_created, render_variants(render_id) by
-- uniq_variants_render_idx, collection_items(collection_id) by its primary
-- key, community_items(collection_id) by idx_comm_items_coll_order,
-- usage_ledger(owner_id) by idx_usage_owner_created, webhook_events(job_id)
-- by idx_webhook_events_job.
create index if not exists idx_renders_job_owner on public.renders (job_id, owner_id);
create index if not exists idx_variants_render_owner on public.render_variants (render_id, owner_id);
create index if not exists idx_variants_owner on public.render_variants (owner_id);
create index if not exists idx_collections_owner_created on public.collections (owner_id, created_at desc);
create index if not exists idx_coll_items_render on public.collection_items (render_id);
create index if not exists idx_comm_items_render on public.community_items (render_id);

-- Check: every foreign key of our tables has a valid, non-partial index whose
-- leading key columns are the foreign key's columns in the same order.
do $$
declare
  missing text;
begin
  select string_agg(format('%s.%s', c.conrelid::regclass, c.conname), ', ')
    into missing
  from pg_constraint c
  where c.contype = 'f'
    and c.conrelid in (
      'public.profiles'::regclass,
      'public.generation_jobs'::regclass,
      'public.renders'::regclass,
      'public.render_variants'::regclass,
      'public.collections'::regclass,
      'public.collection_items'::regclass,
      'public.community_collections'::regclass,
      'public.community_items'::regclass,
      'public.usage_ledger'::regclass,
      'public.webhook_events'::regclass
    )
    and not exists (
      select 1
      from pg_index i
      where i.indrelid = c.conrelid
        and i.indisvalid
        and i.indpred is null
        and i.indnkeyatts >= array_length(c.conkey, 1)
        and (string_to_array(i.indkey::text, ' ')::smallint[])[1:array_length(c.conkey, 1)] = c.conkey
    );

  if missing is not null then
    raise exception 'foreign keys without a covering index: %', missing;
  end if;
end
$$;
