//! SECURITY.md's attacks through Supabase's Data API and Storage API, one
//! concern per file: what an attacker holding the anon key and their own
//! access token (or an anonymous sign-in) can do directly, which here means
//! SQL as `anon` or as `authenticated` with the attacker's claims, exactly
//! what PostgREST and the storage server run. Each test performs the attack
//! and checks, as superuser, that nothing changed; where the rule is a
//! constraint, it is also shown to hold for the service itself.
//!
//! "Refused" means either an error (a missing grant or a WITH CHECK
//! violation: SQLSTATE 42501) or no row touched (RLS hides the row); the
//! assertion that matters is the unchanged database. The same attacks over
//! HTTP (webhooks, races, rate limits) are in `dev/gateway/tests/`.

mod support;

// SECURITY.md 1-11
mod anonymous_reads;
mod definer_functions;
mod direct_job_writes;
mod foreign_references;
mod ledger_and_billing;
mod my_favorites;
mod other_users_rows;
mod unique_constraints;

// SECURITY.md 21-26
mod bucket_limits;
mod collection_rules;
mod community_columns;
mod later_objects;
mod rate_limits;
mod storage_listing;
