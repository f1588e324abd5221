//! Test harness shared by every crate's integration tests: a real PostgreSQL
//! (throwaway cluster or `DATABASE_URL`), a fresh migrated database per test,
//! PgBouncer in transaction mode on demand, token minting and a JWKS server.

pub mod cluster;
pub mod database;
pub mod jwks;
pub mod tokens;

pub use database::TestDatabase;
pub mod app;
pub mod auth_admin;
pub mod flight_counter;
pub mod photos;
pub mod public_objects;
pub mod s3;
pub mod stack;
pub mod tls;

pub use app::{TestApp, TestUser};
pub use migrate;
pub use stack::{error_code, Reply, S3Choice, TestStack};
