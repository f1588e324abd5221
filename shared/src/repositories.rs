//! Repositories (spec section 4): small functions that take a transaction and
//! return typed rows. Which rows a call can see or change is decided by the
//! transaction's identity and the database's policies, not by these
//! functions; the owner filters they add are for the planner and for clarity.

pub mod collections;
pub mod community;
pub mod erasures;
pub mod export;
pub mod generation_jobs;
pub mod pagination;
pub mod rate_limits;
pub mod renders;
pub mod uploads;
pub mod usage;
pub mod webhook_events;
