//! A stand-in for Supabase Auth's admin API, as much of it as the backend
//! uses: `DELETE /auth/v1/admin/users/{id}` with the service-role key as
//! `apikey` and bearer. Like GoTrue it deletes the `auth.users` row (whose
//! foreign keys cascade), answers 200 with a JSON body, 404
//! `user_not_found` for a user that is not there, and 401 without the key.
//! A test can make it fail (503) to play an Auth outage.
//!
//! A minimal HTTP/1.1 responder on plain tokio, one request per connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The service-role key the stand-in accepts.
pub const TEST_SERVICE_ROLE_KEY: &str = "test-service-role-key";

struct State {
    admin_url: String,
    down: AtomicBool,
}

pub struct AuthAdminServer {
    address: SocketAddr,
    state: Arc<State>,
    accept_task: JoinHandle<()>,
}

impl AuthAdminServer {
    /// Serves the admin API over the database at `admin_url` (a superuser
    /// connection string, for `auth.users`).
    pub async fn start(admin_url: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the Auth admin stand-in");
        let address = listener.local_addr().expect("listener has an address");
        let state = Arc::new(State { admin_url, down: AtomicBool::new(false) });
        let accept_state = Arc::clone(&state);
        let accept_task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&accept_state)));
            }
        });
        AuthAdminServer { address, state, accept_task }
    }

    /// What the functions are configured with.
    pub fn admin(&self) -> shared::auth::admin::AuthAdmin {
        shared::auth::admin::AuthAdmin {
            url: format!("http://{}/auth/v1", self.address),
            service_key: TEST_SERVICE_ROLE_KEY.to_owned(),
        }
    }

    /// Answers 503 to everything while `down`.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }
}

impl Drop for AuthAdminServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn serve(mut stream: TcpStream, state: Arc<State>) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let (status, body) = answer(&head, &state).await;
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Service Unavailable",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
}

async fn answer(head: &str, state: &State) -> (u16, String) {
    if state.down.load(Ordering::SeqCst) {
        return (503, r#"{"code":503,"msg":"unavailable"}"#.into());
    }
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split_ascii_whitespace();
    let (method, path) = (request_line.next().unwrap_or_default(), request_line.next().unwrap_or_default());
    let header = |name: &str| {
        head.split("\r\n")
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_owned())
    };
    let authorized = header("apikey").as_deref() == Some(TEST_SERVICE_ROLE_KEY)
        && header("authorization").as_deref() == Some(&format!("Bearer {TEST_SERVICE_ROLE_KEY}"));
    if !authorized {
        return (
            401,
            r#"{"code":401,"error_code":"no_authorization","msg":"This endpoint requires a valid Bearer token"}"#
                .into(),
        );
    }
    let user = path.strip_prefix("/auth/v1/admin/users/").and_then(|id| Uuid::try_parse(id).ok());
    let (Some(user), "DELETE") = (user, method) else {
        return (404, r#"{"code":404,"msg":"Not Found"}"#.into());
    };
    let Ok((client, connection)) = tokio_postgres::connect(&state.admin_url, tokio_postgres::NoTls).await else {
        return (503, r#"{"code":503,"msg":"database unavailable"}"#.into());
    };
    tokio::spawn(connection);
    match client.execute("delete from auth.users where id = $1", &[&user]).await {
        Ok(1) => (200, "{}".into()),
        Ok(_) => (404, r#"{"code":404,"error_code":"user_not_found","msg":"User not found"}"#.into()),
        Err(_) => (503, r#"{"code":503,"msg":"database error"}"#.into()),
    }
}
