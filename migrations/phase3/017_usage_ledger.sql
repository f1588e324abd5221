-- Closes SECURITY.md 1 (users writing their own ledger rows: negative
-- debits, free credits), 10 (duplicate debits per job) and 7 for the ledger.
-- The ledger is written only by the service; users read their own rows.

drop policy if exists "usage_owner_insert" on public.usage_ledger;

drop policy if exists "usage_owner_select" on public.usage_ledger;
create policy "usage_owner_select"
  on public.usage_ledger for select
  to authenticated
  using (owner_id = (select auth.uid()));

-- Amounts are positive; a generation debit names its job (meta.jobId).
-- NOT VALID so legacy rows cannot block the migration; validated right after
-- when the existing rows allow it.
do $$
begin
  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.usage_ledger'::regclass
      and conname = 'usage_ledger_amount_positive_check'
  ) then
    alter table public.usage_ledger
      add constraint usage_ledger_amount_positive_check check (amount > 0) not valid;
  end if;

  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.usage_ledger'::regclass
      and conname = 'usage_ledger_debit_job_check'
  ) then
    alter table public.usage_ledger
      add constraint usage_ledger_debit_job_check
      check (kind <> 'generation_debit' or (meta ->> 'jobId') is not null) not valid;
  end if;
end
$$;

do $$
declare
  c text;
begin
  foreach c in array array['usage_ledger_amount_positive_check', 'usage_ledger_debit_job_check'] loop
    begin
      execute format('alter table public.usage_ledger validate constraint %I', c);
    exception when check_violation then
      raise notice 'usage_ledger: legacy rows violate %, left NOT VALID', c;
    end;
  end loop;
end
$$;

-- At most one generation debit per job. Legacy duplicates (a webhook
-- delivered twice charged twice) are removed first, keeping the earliest
-- debit: the user is refunded the double charge. Runs only until the index
-- exists.
do $$
begin
  if to_regclass('public.uniq_usage_debit_per_job') is null then
    delete from public.usage_ledger u
    using (
      select id,
             row_number() over (partition by meta ->> 'jobId' order by created_at, id) as n
      from public.usage_ledger
      where kind = 'generation_debit' and (meta ->> 'jobId') is not null
    ) d
    where u.id = d.id and d.n > 1;
  end if;
end
$$;

create unique index if not exists uniq_usage_debit_per_job
  on public.usage_ledger ((meta ->> 'jobId'))
  where kind = 'generation_debit';
