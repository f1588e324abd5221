-- profiles: one row per auth user (created by the on_auth_user_created
-- trigger), holding the billing state the plan is derived from.

create table if not exists public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text,
  customer_id text,
  price_id text,
  has_access boolean not null default false,
  created_at timestamptz not null default now()
);

alter table public.profiles enable row level security;
