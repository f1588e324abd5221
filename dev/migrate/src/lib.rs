//! Applies the SQL files under `migrations/` in order and records each one in
//! `app_meta.applied_migrations`, so running it twice applies nothing twice.
//!
//! Order: `supabase/` (the local emulation of the platform), `phase1/`,
//! `phase2/`, `phase3/`, each sorted by file name. Every file runs in its own
//! transaction under one session-level advisory lock, so two runners against
//! the same database cannot interleave.
//!
//! The `supabase/` files emulate what a Supabase project already provides.
//! Against a database whose `auth` schema is Supabase's own (not marked as
//! our emulation), they are refused and skipped: running them there would
//! replace the platform's roles and functions.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio_postgres::Client;

/// Migration folders in the order they are applied.
pub const GROUPS: [&str; 4] = ["supabase", "phase1", "phase2", "phase3"];
/// The comment `migrations/supabase/` puts on schema `auth`, telling our
/// emulation apart from a real Supabase project.
pub const EMULATION_MARKER: &str = "local-emulation";
const LOCK_KEY: i64 = 0x006d_6967_7261_7465; // "migrate" in ASCII

#[derive(Debug, Clone)]
pub struct MigrationFile {
    /// `group/file.sql`, the name recorded once applied.
    pub name: String,
    pub group: &'static str,
    pub sql: String,
    pub checksum: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub applied: Vec<String>,
    pub already_applied: Vec<String>,
    /// `supabase/` files refused because the target is a real Supabase project.
    pub refused_emulation: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("reading migrations: {0}")]
    Io(#[from] std::io::Error),
    #[error("database: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("connection settings: {0}")]
    Config(String),
    #[error("{name} failed: {source}")]
    File { name: String, source: tokio_postgres::Error },
    #[error("{0} changed after it was applied (checksum differs); write a new migration instead")]
    Changed(String),
}

/// Reads every migration file below `dir`, in application order.
pub fn discover(dir: &Path) -> Result<Vec<MigrationFile>, MigrateError> {
    let mut files = Vec::new();
    for group in GROUPS {
        let group_dir = dir.join(group);
        if !group_dir.is_dir() {
            continue;
        }
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&group_dir)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        paths.sort();
        for path in paths {
            let sql = std::fs::read_to_string(&path)?;
            let file_name = path.file_name().unwrap_or_default().to_string_lossy();
            files.push(MigrationFile {
                name: format!("{group}/{file_name}"),
                group,
                checksum: hex::encode(Sha256::digest(sql.as_bytes())),
                sql,
            });
        }
    }
    Ok(files)
}

/// True when the database has an `auth` schema that is not our emulation,
/// i.e. it is a real Supabase project.
pub async fn has_foreign_auth_schema(client: &Client) -> Result<bool, MigrateError> {
    let row = client
        .query_one(
            "select exists(select 1 from pg_namespace where nspname = 'auth'),
                    coalesce(obj_description((select oid from pg_namespace where nspname = 'auth'), 'pg_namespace'), '')",
            &[],
        )
        .await?;
    let exists: bool = row.get(0);
    let comment: String = row.get(1);
    Ok(exists && comment != EMULATION_MARKER)
}

/// Applies every file not yet recorded, in order.
pub async fn apply_all(client: &mut Client, files: &[MigrationFile]) -> Result<Report, MigrateError> {
    // Lock first: even the bookkeeping table's creation must not race.
    client.execute("select pg_advisory_lock($1)", &[&LOCK_KEY]).await?;
    let result = apply_locked(client, files).await;
    client.execute("select pg_advisory_unlock($1)", &[&LOCK_KEY]).await?;
    result
}

async fn apply_locked(client: &mut Client, files: &[MigrationFile]) -> Result<Report, MigrateError> {
    client
        .batch_execute(
            "create schema if not exists app_meta;
             revoke all on schema app_meta from public;
             create table if not exists app_meta.applied_migrations (
               name text primary key,
               checksum text not null,
               applied_at timestamptz not null default now()
             );",
        )
        .await?;
    let mut report = Report::default();
    let real_supabase = has_foreign_auth_schema(client).await?;
    for file in files {
        let recorded =
            client.query_opt("select checksum from app_meta.applied_migrations where name = $1", &[&file.name]).await?;
        if let Some(row) = recorded {
            let checksum: String = row.get(0);
            if checksum != file.checksum {
                return Err(MigrateError::Changed(file.name.clone()));
            }
            report.already_applied.push(file.name.clone());
            continue;
        }
        if file.group == "supabase" && real_supabase {
            report.refused_emulation.push(file.name.clone());
            continue;
        }
        let tx = client.transaction().await?;
        tx.batch_execute(&file.sql).await.map_err(|source| MigrateError::File { name: file.name.clone(), source })?;
        tx.execute(
            "insert into app_meta.applied_migrations (name, checksum) values ($1, $2)",
            &[&file.name, &file.checksum],
        )
        .await?;
        tx.commit().await?;
        report.applied.push(file.name.clone());
    }
    Ok(report)
}

/// Connects with the URL as given, `sslmode` and `sslrootcert` as libpq
/// reads them (a Supabase project: `verify-full` with Supabase's CA in
/// `sslrootcert` or `DATABASE_CA_CERT`; local clusters: `disable`).
pub async fn connect(url: &str) -> Result<Client, MigrateError> {
    let ca = std::env::var("DATABASE_CA_CERT").ok();
    let settings = shared::db::tls::parse(url, ca.as_deref()).map_err(|e| MigrateError::Config(e.to_string()))?;
    let connector = shared::db::tls::connector(&settings).map_err(|e| MigrateError::Config(e.to_string()))?;
    let (client, connection) = settings.config.connect(connector).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            eprintln!("migrate: connection closed: {error}");
        }
    });
    Ok(client)
}
