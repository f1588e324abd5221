-- Closes SECURITY.md 4 (users inserting renders / variants with another
-- user's job_id / render_id or an arbitrary image_path), 10 (duplicate
-- renders per job, duplicate variant indexes) and 7 for renders/variants.
-- Renders and variants are written only by the service; users read their own
-- and delete their own renders (variants go with them by cascade).

drop policy if exists "renders_owner_insert" on public.renders;
drop policy if exists "variants_owner_insert" on public.render_variants;
-- users get no delete privilege on variants (011); variants are removed by
-- deleting their render
drop policy if exists "variants_owner_delete" on public.render_variants;

drop policy if exists "renders_owner_select" on public.renders;
create policy "renders_owner_select"
  on public.renders for select
  to authenticated
  using (owner_id = (select auth.uid()));

drop policy if exists "renders_owner_delete" on public.renders;
create policy "renders_owner_delete"
  on public.renders for delete
  to authenticated
  using (owner_id = (select auth.uid()));

drop policy if exists "variants_owner_select" on public.render_variants;
create policy "variants_owner_select"
  on public.render_variants for select
  to authenticated
  using (owner_id = (select auth.uid()));

-- One render per job. Legacy duplicates (a webhook delivered twice) are
-- merged into the job's earliest render first: their collection and
-- community links move to it, then they are deleted (their variants go by
-- cascade; their stored images are left in the bucket). Runs only until the
-- index exists.
do $$
declare
  d record;
begin
  if to_regclass('public.uniq_renders_job') is null then
    for d in
      select id as dup_id, keep_id
      from (
        select id,
               first_value(id) over (partition by job_id order by created_at, id) as keep_id
        from public.renders
      ) r
      where id <> keep_id
    loop
      insert into public.collection_items (collection_id, render_id, added_at)
        select ci.collection_id, d.keep_id, ci.added_at
        from public.collection_items ci
        where ci.render_id = d.dup_id
      on conflict do nothing;
      update public.community_items set render_id = d.keep_id where render_id = d.dup_id;
      delete from public.renders where id = d.dup_id;
    end loop;
  end if;
end
$$;

create unique index if not exists uniq_renders_job on public.renders (job_id);

-- Target of the composite foreign key render_variants(render_id, owner_id).
do $$
begin
  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.renders'::regclass
      and conname = 'renders_id_owner_key'
  ) then
    alter table public.renders
      add constraint renders_id_owner_key unique (id, owner_id);
  end if;
end
$$;

-- One variant per (render, index). Legacy duplicates: keep the earliest.
-- Runs only until the index exists.
do $$
begin
  if to_regclass('public.uniq_variants_render_idx') is null then
    delete from public.render_variants v
    using (
      select id,
             row_number() over (partition by render_id, idx order by created_at, id) as n
      from public.render_variants
    ) d
    where v.id = d.id and d.n > 1;
  end if;
end
$$;

create unique index if not exists uniq_variants_render_idx on public.render_variants (render_id, idx);
-- same columns as the unique index above: redundant
drop index if exists public.idx_variants_render_idx;

-- Ownership is consistent along job -> render -> variant: a render belongs
-- to its job's owner, a variant to its render's owner.
-- Paths: renders/<render_id>/<file>, no '..'. Indexes are non-negative.
-- NOT VALID so legacy rows cannot block the migration (new and updated rows
-- are checked); validated right after when the existing rows allow it.
do $$
begin
  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.renders'::regclass
      and conname = 'renders_job_owner_fk'
  ) then
    alter table public.renders
      add constraint renders_job_owner_fk
      foreign key (job_id, owner_id)
      references public.generation_jobs (id, owner_id)
      on delete cascade
      not valid;
  end if;

  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.renders'::regclass
      and conname = 'renders_cover_variant_check'
  ) then
    alter table public.renders
      add constraint renders_cover_variant_check check (cover_variant >= 0) not valid;
  end if;

  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.render_variants'::regclass
      and conname = 'render_variants_render_owner_fk'
  ) then
    alter table public.render_variants
      add constraint render_variants_render_owner_fk
      foreign key (render_id, owner_id)
      references public.renders (id, owner_id)
      on delete cascade
      not valid;
  end if;

  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.render_variants'::regclass
      and conname = 'render_variants_idx_check'
  ) then
    alter table public.render_variants
      add constraint render_variants_idx_check check (idx >= 0) not valid;
  end if;

  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.render_variants'::regclass
      and conname = 'render_variants_image_path_check'
  ) then
    alter table public.render_variants
      add constraint render_variants_image_path_check check (
        starts_with(image_path, 'renders/' || render_id::text || '/')
        and char_length(image_path) > char_length('renders/' || render_id::text || '/')
        and strpos(image_path, '..') = 0
      ) not valid;
  end if;

  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.render_variants'::regclass
      and conname = 'render_variants_thumb_path_check'
  ) then
    alter table public.render_variants
      add constraint render_variants_thumb_path_check check (
        thumb_path is null or (
          starts_with(thumb_path, 'renders/' || render_id::text || '/')
          and char_length(thumb_path) > char_length('renders/' || render_id::text || '/')
          and strpos(thumb_path, '..') = 0
        )
      ) not valid;
  end if;
end
$$;

do $$
declare
  c record;
begin
  for c in
    select * from (values
      ('public.renders', 'renders_job_owner_fk'),
      ('public.renders', 'renders_cover_variant_check'),
      ('public.render_variants', 'render_variants_render_owner_fk'),
      ('public.render_variants', 'render_variants_idx_check'),
      ('public.render_variants', 'render_variants_image_path_check'),
      ('public.render_variants', 'render_variants_thumb_path_check')
    ) as t (tbl, con)
  loop
    begin
      execute format('alter table %s validate constraint %I', c.tbl, c.con);
    exception when check_violation or foreign_key_violation then
      raise notice '%: legacy rows violate %, left NOT VALID', c.tbl, c.con;
    end;
  end loop;
end
$$;
