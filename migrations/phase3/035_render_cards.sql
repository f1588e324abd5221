-- A gallery card reads one table. What a card shows besides the render's own
-- columns (its cover image path, how many variants it has, whether it is in
-- its owner's My Favorites) was computed per row by three correlated
-- sub-queries, each one more sub-plan for PostgreSQL to plan, under RLS, on
-- every page (issue 13). They are now stored on the render and kept true by
-- triggers, in the same transaction as the change that moves them.
--
-- Users cannot write these columns: they have no UPDATE on renders (011).
-- The triggers run as their owner because a user's own favourite toggle
-- (an insert into collection_items) must update the render.
--
-- Concurrency: a variant recount first locks the renders it recomputes,
-- then recomputes in a new statement, whose snapshot (READ COMMITTED)
-- includes whatever a concurrent writer of the same renders committed while
-- this one waited; a value computed from an older snapshot would be lost.
-- The favourite flag needs no recount (see below).

alter table public.renders
  add column if not exists cover_image_path text,
  add column if not exists variant_count integer not null default 0,
  add column if not exists is_favorite boolean not null default false;

-- Recomputes the stored card of `render_ids` from the rows they summarise.
create or replace function public.refresh_render_cards(render_ids uuid[])
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform 1 from public.renders where id = any(render_ids) order by id for update;
  update public.renders r
     set variant_count = (select count(*) from public.render_variants v where v.render_id = r.id),
         cover_image_path = (select v.image_path from public.render_variants v
                              where v.render_id = r.id and v.idx = r.cover_variant),
         is_favorite = exists(select 1
                                from public.collection_items ci
                                join public.collections c on c.id = ci.collection_id
                               where ci.render_id = r.id
                                 and c.owner_id = r.owner_id
                                 and c.is_default_favorites)
   where r.id = any(render_ids);
end;
$$;

-- Variants: statement-level, one recount per statement however many rows
-- it touched (a completion adds all its variants in one insert). A trigger
-- with transition tables serves one event, hence three triggers on the one
-- function.
create or replace function public.render_cards_variants_changed()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  -- Each event's trigger names only its own transition tables; a branch
  -- not taken is never planned.
  if tg_op = 'INSERT' then
    perform public.refresh_render_cards(array(select distinct render_id from new_rows));
  elsif tg_op = 'DELETE' then
    perform public.refresh_render_cards(array(select distinct render_id from old_rows));
  else
    perform public.refresh_render_cards(array(
      select render_id from new_rows union select render_id from old_rows));
  end if;
  return null;
end;
$$;

-- Collection items move only the favourite flag, and only when the
-- collection is My Favorites. An item is unique per (collection, render), so
-- its insert means "now a favourite" and its delete "no longer one": the
-- flag is set, not recounted, and a render is written only if the flag
-- changes. Concurrent changes of the same pair wait for each other on that
-- unique key, so the last to commit sets the flag the final rows say.
-- (Measured: recounting the whole card on each item change nearly doubled a
-- toggle's cost to PostgreSQL; setting the flag per row costs a fraction.)
create or replace function public.render_favorite_item_changed()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if tg_op in ('DELETE', 'UPDATE') then
    update public.renders r set is_favorite = false
     where r.id = old.render_id and r.is_favorite
       and exists(select 1 from public.collections c where c.id = old.collection_id and c.is_default_favorites);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    update public.renders r set is_favorite = true
     where r.id = new.render_id and not r.is_favorite
       and exists(select 1 from public.collections c
                   where c.id = new.collection_id and c.is_default_favorites and c.owner_id = r.owner_id);
  end if;
  return null;
end;
$$;

drop trigger if exists render_cards_variants_insert on public.render_variants;
create trigger render_cards_variants_insert
  after insert on public.render_variants
  referencing new table as new_rows
  for each statement execute function public.render_cards_variants_changed();

drop trigger if exists render_cards_variants_delete on public.render_variants;
create trigger render_cards_variants_delete
  after delete on public.render_variants
  referencing old table as old_rows
  for each statement execute function public.render_cards_variants_changed();

drop trigger if exists render_cards_variants_update on public.render_variants;
create trigger render_cards_variants_update
  after update on public.render_variants
  referencing new table as new_rows old table as old_rows
  for each statement execute function public.render_cards_variants_changed();

drop trigger if exists render_cards_items_insert on public.collection_items;
drop trigger if exists render_cards_items_delete on public.collection_items;
drop trigger if exists render_cards_items_update on public.collection_items;
drop trigger if exists render_cards_favorite on public.collection_items;
create trigger render_cards_favorite
  after insert or delete or update of collection_id, render_id on public.collection_items
  for each row execute function public.render_favorite_item_changed();

-- A new cover index points the card at another variant.
create or replace function public.render_cards_cover_changed()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  new.cover_image_path := (select v.image_path from public.render_variants v
                            where v.render_id = new.id and v.idx = new.cover_variant);
  return new;
end;
$$;

drop trigger if exists render_cards_cover on public.renders;
create trigger render_cards_cover
  before update of cover_variant on public.renders
  for each row execute function public.render_cards_cover_changed();

-- Trigger functions and their helper are never called by API users.
revoke all on function public.refresh_render_cards(uuid[]) from public, anon, authenticated;
revoke all on function public.render_cards_variants_changed() from public, anon, authenticated;
revoke all on function public.render_cards_cover_changed() from public, anon, authenticated;
revoke all on function public.render_favorite_item_changed() from public, anon, authenticated;

-- The cards of renders that exist already.
select public.refresh_render_cards(array(select id from public.renders));
