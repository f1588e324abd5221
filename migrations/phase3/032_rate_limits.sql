-- Closes SECURITY.md 22 (with the functions): routes that cost money or
-- storage (submit and retry, cancel, uploads) are limited per user, in the
-- database, inside the transaction the route already opens, so the limit
-- holds across every Lambda environment with no service of its own.
--
-- The limiter is a GCRA (generic cell rate algorithm): one row per user and
-- action holds the theoretical arrival time `tat`. A request is allowed when
-- `max(tat, now) + period/limit` stays within `now + period`, i.e. `limit`
-- requests at once and then one every `period/limit`. A refused request
-- changes nothing. Because the row update belongs to the caller's
-- transaction, a request the route rolls back (refused for quota, already in
-- flight) is not counted.
--
-- Schema `private` is not served by the Data API; the table is reachable
-- only through the two functions below.

create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

create table if not exists private.rate_limits (
  owner_id uuid not null,
  action text not null check (action in ('submit', 'cancel', 'upload')),
  tat timestamptz not null,
  primary key (owner_id, action)
);
revoke all on private.rate_limits from public, anon, authenticated, service_role;

-- Takes one token for `owner`'s `action`; returns 0 when allowed, otherwise
-- the seconds to wait before the next request would be allowed.
create or replace function private.take_rate_token(
  p_owner uuid,
  p_action text,
  p_max_requests integer,
  p_period_seconds double precision
) returns double precision
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  now_at timestamptz := clock_timestamp();
  step interval;
  window_end timestamptz;
  current_tat timestamptz;
begin
  if p_owner is null or p_max_requests < 1 or p_period_seconds <= 0 then
    raise exception 'take_rate_token: bad arguments' using errcode = '22023';
  end if;
  step := make_interval(secs => p_period_seconds / p_max_requests);
  window_end := now_at + make_interval(secs => p_period_seconds);
  insert into private.rate_limits as r (owner_id, action, tat)
  values (p_owner, p_action, now_at + step)
  on conflict (owner_id, action) do update
     set tat = greatest(r.tat, now_at) + step
   where greatest(r.tat, now_at) + step <= window_end;
  if found then
    return 0;
  end if;
  select r.tat into current_tat from private.rate_limits r where r.owner_id = p_owner and r.action = p_action;
  return greatest(extract(epoch from (greatest(current_tat, now_at) + step - window_end)), 0.001);
end;
$$;

-- The same for the signed-in caller (routes whose transaction runs as the
-- user): the owner is the caller's verified id, never a parameter.
create or replace function private.take_rate_token_for_caller(
  p_action text,
  p_max_requests integer,
  p_period_seconds double precision
) returns double precision
language sql
volatile
security definer
set search_path = ''
as $$
  select private.take_rate_token((select auth.uid()), p_action, p_max_requests, p_period_seconds)
$$;

revoke all on function private.take_rate_token(uuid, text, integer, double precision) from public, anon, authenticated;
grant execute on function private.take_rate_token(uuid, text, integer, double precision) to service_role;
revoke all on function private.take_rate_token_for_caller(text, integer, double precision) from public, anon;
grant execute on function private.take_rate_token_for_caller(text, integer, double precision) to authenticated, service_role;
