//! One fresh database per test, with every migration applied.
//!
//! Migrations are applied once per cluster to a template database named after
//! a hash of the migration files; each test then gets a copy of it
//! (`CREATE DATABASE ... TEMPLATE`), which takes milliseconds. The copy is
//! dropped when the test's `TestDatabase` is dropped.

use crate::cluster::{self, Server, APP_PASSWORD, APP_ROLE};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use tokio_postgres::{Client, NoTls};

pub struct TestDatabase {
    pub name: String,
    server: &'static Server,
}

/// The workspace's `migrations/` folder.
pub fn migrations_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

impl TestDatabase {
    /// A new database with all migrations applied.
    pub async fn migrated() -> Self {
        let server = cluster::server();
        let template = ensure_template(server).await;
        Self::create(server, &format!("template {template} strategy file_copy")).await
    }

    /// A new database with nothing applied (for migration tests).
    pub async fn empty() -> Self {
        let server = cluster::server();
        ensure_app_role(server).await;
        Self::create(server, "").await
    }

    async fn create(server: &'static Server, clause: &str) -> Self {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(&server.admin_url("postgres")).await;
        admin
            .batch_execute(&format!("create database {name} {clause}"))
            .await
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        TestDatabase { name, server }
    }

    pub fn server(&self) -> &'static Server {
        self.server
    }

    /// Superuser URL (migrations, seeding, inspecting).
    pub fn admin_url(&self) -> String {
        self.server.admin_url(&self.name)
    }

    /// The functions' URL: role `authenticator`, through PgBouncer when enabled.
    pub fn app_url(&self) -> String {
        self.server.app_url(&self.name)
    }

    /// The functions' URL on `port` (see [`crate::cluster::Server::app_url_at`]).
    pub fn app_url_at(&self, port: u16) -> String {
        self.server.app_url_at(port, &self.name)
    }

    /// A superuser connection to this database.
    pub async fn admin(&self) -> Client {
        connect(&self.admin_url()).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Best effort, on a thread of its own because Drop cannot await.
        let url = self.server.admin_url("postgres");
        let sql = format!("drop database if exists {} with (force)", self.name);
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok((client, connection)) = tokio_postgres::connect(&url, NoTls).await {
                        let driver = tokio::spawn(connection);
                        let _ = client.batch_execute(&sql).await;
                        drop(client);
                        let _ = driver.await;
                    }
                });
            }
        })
        .join();
    }
}

pub async fn connect(url: &str) -> Client {
    let (client, connection) =
        tokio_postgres::connect(url, NoTls).await.unwrap_or_else(|e| panic!("connect to test database: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// The login role exists cluster-wide once any database was migrated; tests
/// of the migrations themselves may run first, so make sure it can log in.
/// Once per process; role changes are cluster-wide and other test processes
/// may make the same one at the same moment ("tuple concurrently updated"),
/// which is retried.
async fn ensure_app_role(server: &Server) {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let admin = connect(&server.admin_url("postgres")).await;
        let sql = format!(
            "do $$ begin
               create role {APP_ROLE} login noinherit;
             exception when duplicate_object or unique_violation or internal_error then null; end $$;
             alter role {APP_ROLE} login password '{APP_PASSWORD}';"
        );
        let mut attempt = 0;
        while let Err(error) = admin.batch_execute(&sql).await {
            attempt += 1;
            assert!(attempt < 20, "ensure authenticator role: {error}");
            tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
        }
    })
    .await;
}

async fn ensure_template(server: &'static Server) -> String {
    let files = migrate::discover(&migrations_dir()).expect("read migrations");
    let mut hasher = Sha256::new();
    for file in &files {
        hasher.update(file.name.as_bytes());
        hasher.update(file.checksum.as_bytes());
    }
    let template = format!("tmpl_{}", &hex::encode(hasher.finalize())[..16]);

    let admin = connect(&server.admin_url("postgres")).await;
    // One builder per cluster at a time, across processes.
    admin.execute("select pg_advisory_lock(7243001)", &[]).await.expect("template lock");
    let ready = admin
        .query_opt("select 1 from pg_database where datname = $1 and datistemplate", &[&template])
        .await
        .expect("look up template");
    if ready.is_none() {
        admin
            .batch_execute(&format!("drop database if exists {template} with (force)"))
            .await
            .expect("drop stale template");
        admin.batch_execute(&format!("create database {template}")).await.expect("create template");
        {
            let mut client = connect(&server.admin_url(&template)).await;
            migrate::apply_all(&mut client, &files).await.unwrap_or_else(|e| panic!("migrations: {e}"));
        }
        ensure_app_role(server).await;
        // Wait until the migration connection is gone: a template must have no sessions.
        for _ in 0..100 {
            let busy: i64 = admin
                .query_one("select count(*) from pg_stat_activity where datname = $1", &[&template])
                .await
                .expect("count sessions")
                .get(0);
            if busy == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        admin
            .batch_execute(&format!("alter database {template} is_template true allow_connections false"))
            .await
            .expect("mark template");
    }
    admin.execute("select pg_advisory_unlock(7243001)", &[]).await.expect("template unlock");
    template
}
