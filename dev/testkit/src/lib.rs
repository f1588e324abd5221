//! Test harness shared by every crate's integration tests.

pub mod jwks;
pub mod tokens;
