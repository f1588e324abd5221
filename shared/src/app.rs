//! What a function needs, built once per Lambda environment in `main` and
//! shared by every request it serves: configuration, the database pool, the
//! token verifier, storage and the Replicate client.

use crate::auth::{AuthConfig, TokenVerifier, VerifiedUser};
use crate::config::{ConfigError, Environment};
use crate::db::Database;
use crate::http::{bearer_header, ApiError, Request};
use crate::replicate::ReplicateClient;
use crate::storage::Storage;

pub struct Services {
    pub env: Environment,
    pub db: Database,
    pub verifier: TokenVerifier,
    pub storage: Storage,
    pub replicate: ReplicateClient,
}

impl Services {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(Environment::from_env()?)
    }

    /// Builds every client; nothing connects until the first request.
    pub fn new(env: Environment) -> Result<Self, ConfigError> {
        let db =
            Database::connect_lazy_with_ca(&env.database_url, env.database_pool_size, env.database_ca_cert.as_deref())
                .map_err(|error| ConfigError::Invalid { name: "DATABASE_URL", reason: error.to_string() })?
                .with_statement_mode(env.database_statements);
        let verifier = TokenVerifier::new(AuthConfig::from_supabase(&env.supabase_url, env.jwt_secret.clone()));
        let storage = Storage::new(&env.storage);
        let replicate = ReplicateClient::new(env.replicate.clone());
        Ok(Services { env, db, verifier, storage, replicate })
    }

    /// The caller's verified identity, or the 401 that answers its absence.
    pub async fn authenticate(&self, request: &Request) -> Result<VerifiedUser, ApiError> {
        let user = self.verifier.verify_bearer(bearer_header(request)).await?;
        crate::telemetry::record_user(user.user_id());
        Ok(user)
    }
}

/// Runs an HTTP function that needs no services (configuration only, such as
/// the presets): no pool, no clients, no environment beyond the log level.
pub async fn run_http_without_services<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(crate::http::Request) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = crate::http::Response<crate::http::Body>> + Send,
{
    crate::telemetry::init();
    let handler = &handler;
    lambda_http::run(lambda_http::service_fn(move |request| async move {
        Ok::<_, std::convert::Infallible>(handler(request).await)
    }))
    .await
}

/// Runs an HTTP function on Lambda: builds the services once for the
/// environment, then serves each request with `handler`.
pub async fn run_http<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static Services, crate::http::Request) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = crate::http::Response<crate::http::Body>> + Send,
{
    crate::telemetry::init();
    // Lives as long as the Lambda environment.
    let services: &'static Services = Box::leak(Box::new(Services::from_env()?));
    let handler = &handler;
    lambda_http::run(lambda_http::service_fn(move |request| async move {
        Ok::<_, std::convert::Infallible>(handler(services, request).await)
    }))
    .await
}
