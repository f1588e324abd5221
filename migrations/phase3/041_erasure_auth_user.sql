-- `DELETE /me` also deletes the Supabase Auth user, through Auth's admin API
-- (when the functions hold the service-role key): the erasure remembers
-- once it is done, so a retry after Auth failed goes on from there.
alter table private.account_erasures add column if not exists auth_user_deleted_at timestamptz;
