-- `community_feed()` (020, 030) as PL/pgSQL: a SQL function is planned anew
-- on every call, a PL/pgSQL function's statement is planned once per
-- connection and reused, which a transaction pooler does not prevent (the
-- plan lives in the server's session, not in the client's). The same rows,
-- columns and order; the cover now comes from the render's stored card
-- (035), one join fewer. Grants are those of 020/030: `create or replace`
-- keeps them.

create or replace function public.community_feed()
returns table (
  collection_id uuid,
  title text,
  description text,
  is_featured boolean,
  collection_order int,
  item_id uuid,
  item_order int,
  image_path text,
  external_image_url text,
  apply_settings jsonb
)
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
    select
      c.id,
      c.title,
      c.description,
      c.is_featured,
      c.order_index,
      i.id,
      i.order_index,
      r.cover_image_path,
      i.external_image_url,
      i.apply_settings
    from public.community_collections c
    join public.community_items i on i.collection_id = c.id
    left join public.renders r on r.id = i.render_id
    where c.is_published
      and (i.render_id is null or r.cover_image_path is not null)
    order by
      c.is_featured desc,
      c.order_index asc,
      c.created_at desc,
      c.id,
      i.order_index asc,
      i.created_at asc,
      i.id;
end;
$$;
