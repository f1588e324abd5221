//! Supabase Auth's admin API, for the one thing the backend asks of it:
//! deleting an erased account's Auth user (`DELETE /admin/users/{id}` with
//! the service-role key), so the person cannot sign in to an empty account.

use std::sync::OnceLock;
use std::time::Duration;
use uuid::Uuid;

/// One HTTP client per Lambda environment, made on first use: building one
/// loads the TLS roots, which no request should pay again.
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new)
}

/// Where Supabase Auth is and the key its admin API takes
/// (`SUPABASE_SERVICE_ROLE_KEY`; `SUPABASE_AUTH_URL`, default
/// `<SUPABASE_URL>/auth/v1`).
#[derive(Clone)]
pub struct AuthAdmin {
    pub url: String,
    pub service_key: String,
}

impl std::fmt::Debug for AuthAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthAdmin").field("url", &self.url).finish_non_exhaustive()
    }
}

/// Deletes the Auth user; a user already gone (404) is deleted too.
pub async fn delete_user(admin: &AuthAdmin, user_id: Uuid) -> Result<(), String> {
    let response = client()
        .delete(format!("{}/admin/users/{user_id}", admin.url.trim_end_matches('/')))
        .header("apikey", &admin.service_key)
        .bearer_auth(&admin.service_key)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|error| format!("Supabase Auth could not be reached: {error}"))?;
    match response.status().as_u16() {
        200 | 204 | 404 => Ok(()),
        status => Err(format!("Supabase Auth answered {status} to deleting a user")),
    }
}
