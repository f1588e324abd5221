-- Replicate's own failure text, kept for operators and never shown to the
-- job's owner: `generation_jobs.error` holds the message users see;
-- `failure_detail` holds what Replicate said (bounded, URL queries removed
-- by the functions). Users read their jobs through column grants that leave
-- it out, so not even the Data API shows it to them.

alter table public.generation_jobs add column if not exists failure_detail text;

do $$
declare
  readable text;
begin
  select string_agg(quote_ident(attname), ', ' order by attnum) into readable
    from pg_attribute
   where attrelid = 'public.generation_jobs'::regclass
     and attnum > 0 and not attisdropped
     and attname <> 'failure_detail';
  execute 'revoke select on public.generation_jobs from authenticated';
  execute format('grant select (%s) on public.generation_jobs to authenticated', readable);
end
$$;
