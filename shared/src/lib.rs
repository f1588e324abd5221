//! Everything the Lambda functions share: configuration, token verification,
//! RLS-aware database access, the HTTP envelope, the repositories and the
//! views the API answers with.

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod flows;
pub mod http;
pub mod images;
pub mod prompt;
pub mod replicate;
pub mod repositories;
pub mod storage;
pub mod telemetry;
pub mod views;
