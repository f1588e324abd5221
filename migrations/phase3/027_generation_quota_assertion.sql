-- Closes: overspending the monthly quota by racing a submit against a
-- completion (SECURITY 12). Submit reads the month's debits, then inserts the
-- job; the insert may wait on the owner's previous job while that job's
-- completion (with its debit) commits, so the first read can be stale. This
-- assertion runs as a new statement after the insert, in the same
-- transaction, so it sees every debit committed by then; if the allowance is
-- used up it raises, and the transaction (and the job) is rolled back.
create or replace function public.assert_generation_quota(
  owner uuid,
  period_start timestamptz,
  monthly_limit bigint
) returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  if (select coalesce(sum(amount), 0) from public.usage_ledger
       where owner_id = owner and kind = 'generation_debit' and created_at >= period_start) >= monthly_limit then
    raise exception 'monthly generation quota used up'
      using errcode = 'check_violation', constraint = 'generation_quota';
  end if;
end;
$$;

revoke all on function public.assert_generation_quota(uuid, timestamptz, bigint) from public, anon, authenticated;
grant execute on function public.assert_generation_quota(uuid, timestamptz, bigint) to service_role;
