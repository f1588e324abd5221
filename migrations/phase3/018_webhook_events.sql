-- Closes SECURITY.md 13 (the same webhook delivered many times has one
-- effect): the service records each delivery's webhook-id in the same
-- transaction as its effects; a repeated id hits the primary key.
-- Service-only: RLS on, no policies, no privileges for API users.

create table if not exists public.webhook_events (
  id text primary key,              -- webhook-id header
  job_id uuid references public.generation_jobs (id) on delete set null,
  event_type text,
  received_at timestamptz not null default now()
);

alter table public.webhook_events enable row level security;

revoke all on public.webhook_events from public, anon, authenticated;
grant all on public.webhook_events to service_role;

create index if not exists idx_webhook_events_job on public.webhook_events (job_id);
