//! Configuration: the environment a function runs in, and the product's own
//! settings (plans, presets, defaults) that the front end and quota rely on.

mod plans;
mod presets;
mod rate_limits;

pub use plans::{Plan, PlanTable};
pub use presets::{room_type, style, Mode, Preset, ROOM_TYPES, STYLES};
pub use rate_limits::{RateLimit, RateLimitedAction, RateLimits};

use serde::Serialize;

/// A job still not terminal this long after creation has timed out.
pub const JOB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// UI colours; the spec requires `colors.theme` to be set.
#[derive(Debug, Clone, Serialize)]
pub struct Colors {
    pub theme: &'static str,
}

pub const COLORS: Colors = Colors { theme: "light" };

/// What a new generation starts from when the user picks nothing.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Defaults {
    pub mode: Mode,
    pub room_type: &'static str,
    pub style: &'static str,
    /// nano-banana keeps the input's framing; imagine renders 1 image.
    pub aspect_ratio: &'static str,
    pub output_format: &'static str,
    pub variants: u8,
}

pub const DEFAULTS: Defaults = Defaults {
    mode: Mode::Redesign,
    room_type: "living_room",
    style: "modern",
    aspect_ratio: "match_input_image",
    output_format: "jpg",
    variants: 1,
};

/// Settings read from the environment once per Lambda environment. The
/// variable names are part of the contract (DESIGN.md).
#[derive(Clone)]
pub struct Environment {
    pub database_url: String,
    /// `DATABASE_CA_CERT`: PEM of the CA that signs the database's
    /// certificate (Supabase's own root CA), for `sslmode=verify-full`.
    pub database_ca_cert: Option<String>,
    /// Connections per environment: 1 on Lambda (one request at a time),
    /// more for the local gateway (`DATABASE_POOL_SIZE`).
    pub database_pool_size: usize,
    /// `DATABASE_PREPARED_STATEMENTS=true`: named statements kept per
    /// connection. Only where the connection keeps them: directly, through a
    /// session pooler, or PgBouncer 1.21+ with `max_prepared_statements`
    /// (Supabase's dedicated pooler); never through Supavisor's transaction
    /// mode. Off by default.
    pub database_statements: crate::db::StatementMode,
    pub supabase_url: String,
    pub jwt_secret: Option<String>,
    pub public_storage_url: String,
    pub plans: PlanTable,
    pub rate_limits: RateLimits,
    pub storage: crate::storage::StorageConfig,
    pub replicate: crate::replicate::ReplicateConfig,
    /// How submit cleans input photos: `INPUT_MAX_EDGE` (pixels, default
    /// 2048) and `INPUT_MAX_MEGAPIXELS` (default 50).
    pub clean_inputs: crate::images::CleanSettings,
    /// How long an uploaded input is kept after its last job
    /// (`INPUT_RETENTION_DAYS`, default 30).
    pub input_retention: std::time::Duration,
    /// Supabase Auth's admin API, when `SUPABASE_SERVICE_ROLE_KEY` is set:
    /// `DELETE /me` then deletes the Auth user too.
    pub auth_admin: Option<crate::auth::admin::AuthAdmin>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Environment {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| lookup(name).ok_or(ConfigError::Missing(name));
        let supabase_url = required("SUPABASE_URL")?.trim_end_matches('/').to_string();
        let public_storage_url = lookup("PUBLIC_STORAGE_URL")
            .map(|url| url.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("{supabase_url}/storage/v1/object/public"));
        let plans = match lookup("PLANS") {
            Some(json) => {
                PlanTable::from_json(&json).map_err(|reason| ConfigError::Invalid { name: "PLANS", reason })?
            }
            None => PlanTable::default(),
        };
        let rate_limits = match lookup("RATE_LIMITS") {
            Some(json) => {
                RateLimits::from_json(&json).map_err(|reason| ConfigError::Invalid { name: "RATE_LIMITS", reason })?
            }
            None => RateLimits::default(),
        };
        let database_pool_size =
            match lookup("DATABASE_POOL_SIZE") {
                None => 1,
                Some(text) => text.parse::<usize>().ok().filter(|n| (1..=64).contains(n)).ok_or_else(|| {
                    ConfigError::Invalid { name: "DATABASE_POOL_SIZE", reason: "expected 1..64".into() }
                })?,
            };
        let database_statements = match lookup("DATABASE_PREPARED_STATEMENTS").as_deref() {
            None | Some("false") => crate::db::StatementMode::Unnamed,
            Some("true") => crate::db::StatementMode::Prepared,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "DATABASE_PREPARED_STATEMENTS",
                    reason: "expected true or false".into(),
                })
            }
        };
        let clean_inputs = clean_settings(&lookup)?;
        let retention_days = match lookup("INPUT_RETENTION_DAYS") {
            None => 30,
            Some(text) => text.parse::<u64>().ok().filter(|days| (1..=3650).contains(days)).ok_or_else(|| {
                ConfigError::Invalid {
                    name: "INPUT_RETENTION_DAYS",
                    reason: "expected whole days from 1 to 3650".into(),
                }
            })?,
        };
        let storage = crate::storage::StorageConfig::from_lookup(&lookup, &public_storage_url)
            .map_err(|reason| ConfigError::Invalid { name: "S3_*", reason })?;
        let replicate = crate::replicate::ReplicateConfig::from_lookup(&lookup)
            .map_err(|reason| ConfigError::Invalid { name: "REPLICATE_*", reason })?;
        Ok(Environment {
            database_url: required("DATABASE_URL")?,
            database_ca_cert: lookup("DATABASE_CA_CERT"),
            database_pool_size,
            database_statements,
            storage,
            replicate,
            jwt_secret: lookup("SUPABASE_JWT_SECRET"),
            public_storage_url,
            plans,
            rate_limits,
            clean_inputs,
            input_retention: std::time::Duration::from_secs(retention_days * 24 * 60 * 60),
            auth_admin: lookup("SUPABASE_SERVICE_ROLE_KEY").map(|service_key| crate::auth::admin::AuthAdmin {
                url: lookup("SUPABASE_AUTH_URL").unwrap_or_else(|| format!("{supabase_url}/auth/v1")),
                service_key,
            }),
            supabase_url,
        })
    }
}

/// `INPUT_MAX_EDGE` (256..=8192 pixels) and `INPUT_MAX_MEGAPIXELS` (1..=200).
fn clean_settings(lookup: &impl Fn(&str) -> Option<String>) -> Result<crate::images::CleanSettings, ConfigError> {
    let defaults = crate::images::CleanSettings::default();
    let number = |name: &'static str, range: std::ops::RangeInclusive<u64>, default: u64| match lookup(name) {
        None => Ok(default),
        Some(text) => text.parse::<u64>().ok().filter(|n| range.contains(n)).ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!("expected a whole number from {} to {}", range.start(), range.end()),
        }),
    };
    Ok(crate::images::CleanSettings {
        max_edge: number("INPUT_MAX_EDGE", 256..=8192, u64::from(defaults.max_edge))? as u32,
        max_pixels: number("INPUT_MAX_MEGAPIXELS", 1..=200, defaults.max_pixels / 1_000_000)? * 1_000_000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The storage and Replicate settings every function needs, plus `pairs`.
    fn with_services<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut all = vec![
            ("S3_ENDPOINT", "https://abc.supabase.co/storage/v1/s3"),
            ("S3_ACCESS_KEY_ID", "key"),
            ("S3_SECRET_ACCESS_KEY", "secret"),
            ("REPLICATE_API_TOKEN", "r8_x"),
            ("REPLICATE_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ("WEBHOOK_URL", "https://hook.example/webhook"),
        ];
        all.extend_from_slice(pairs);
        all
    }

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn public_storage_url_derives_from_supabase_url() {
        let env = Environment::from_lookup(lookup(&with_services(&[
            ("SUPABASE_URL", "https://abc.supabase.co/"),
            ("DATABASE_URL", "postgres://x@y/z"),
        ])))
        .unwrap();
        assert_eq!(env.public_storage_url, "https://abc.supabase.co/storage/v1/object/public");
        assert_eq!(env.plans.free().monthly_generations, 3);
    }

    #[test]
    fn input_cleaning_is_configurable_within_bounds() {
        let base = [("SUPABASE_URL", "https://abc.supabase.co"), ("DATABASE_URL", "postgres://x@y/z")];
        let env = Environment::from_lookup(lookup(&with_services(&base))).unwrap();
        assert_eq!(env.clean_inputs, crate::images::CleanSettings { max_edge: 2048, max_pixels: 50_000_000 });
        assert_eq!(env.input_retention, std::time::Duration::from_secs(30 * 86_400));
        assert!(env.auth_admin.is_none(), "no service-role key, no Auth admin calls");
        let mut set = base.to_vec();
        set.extend([("INPUT_MAX_EDGE", "1536"), ("INPUT_MAX_MEGAPIXELS", "24")]);
        let env = Environment::from_lookup(lookup(&with_services(&set))).unwrap();
        assert_eq!(env.clean_inputs, crate::images::CleanSettings { max_edge: 1536, max_pixels: 24_000_000 });
        set.push(("INPUT_RETENTION_DAYS", "7"));
        set.push(("SUPABASE_SERVICE_ROLE_KEY", "service-key"));
        let env = Environment::from_lookup(lookup(&with_services(&set))).unwrap();
        assert_eq!(env.input_retention, std::time::Duration::from_secs(7 * 86_400));
        let admin = env.auth_admin.expect("the key enables Auth admin calls");
        assert_eq!(
            (admin.url.as_str(), admin.service_key.as_str()),
            ("https://abc.supabase.co/auth/v1", "service-key")
        );
        for (name, bad) in [
            ("INPUT_MAX_EDGE", "10"),
            ("INPUT_MAX_EDGE", "wide"),
            ("INPUT_MAX_MEGAPIXELS", "0"),
            ("INPUT_RETENTION_DAYS", "0"),
        ] {
            let mut set = base.to_vec();
            set.push((name, bad));
            let error = Environment::from_lookup(lookup(&with_services(&set))).err().unwrap();
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn missing_database_url_is_named() {
        let error = Environment::from_lookup(lookup(&with_services(&[("SUPABASE_URL", "https://abc.supabase.co")])))
            .err()
            .unwrap();
        assert!(error.to_string().contains("DATABASE_URL"));
    }

    #[test]
    fn invalid_plans_json_is_a_config_error() {
        let error = Environment::from_lookup(lookup(&with_services(&[
            ("SUPABASE_URL", "https://abc.supabase.co"),
            ("DATABASE_URL", "postgres://x@y/z"),
            ("PLANS", "{not json"),
        ])))
        .err()
        .unwrap();
        assert!(error.to_string().contains("PLANS"));
    }

    #[test]
    fn prepared_statements_are_off_unless_asked_for_exactly() {
        let base = [("SUPABASE_URL", "https://abc.supabase.co"), ("DATABASE_URL", "postgres://x@y/z")];
        let mode = |value: Option<&'static str>| {
            let mut pairs = base.to_vec();
            pairs.extend(value.map(|v| ("DATABASE_PREPARED_STATEMENTS", v)));
            Environment::from_lookup(lookup(&with_services(&pairs))).map(|env| env.database_statements)
        };
        assert_eq!(mode(None).unwrap(), crate::db::StatementMode::Unnamed);
        assert_eq!(mode(Some("false")).unwrap(), crate::db::StatementMode::Unnamed);
        assert_eq!(mode(Some("true")).unwrap(), crate::db::StatementMode::Prepared);
        let error = mode(Some("yes")).unwrap_err();
        assert!(error.to_string().contains("DATABASE_PREPARED_STATEMENTS"));
    }

    #[test]
    fn theme_is_light() {
        assert_eq!(COLORS.theme, "light");
    }
}
