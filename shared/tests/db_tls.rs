//! TLS to PostgreSQL with libpq's `sslmode` (issue 10): hosted Supabase
//! signs its database and pooler certificates with its own root CA, which
//! no public trust store holds. Against a local PostgreSQL with TLS on and a
//! throwaway CA: `require` connects (encrypted, unverified), `verify-full`
//! with the right CA connects, with a foreign CA or the wrong host name it
//! refuses with a clear error.

use shared::db::{Database, DbError};
use testkit::cluster::DedicatedCluster;
use testkit::tls::TestCa;

/// Whether a transaction opens and the connection is encrypted.
async fn connect(url: &str, ca: Option<&str>) -> Result<bool, DbError> {
    let db = Database::connect_lazy_with_ca(url, 1, ca)?;
    let mut tx = db.as_anon().await?;
    let row = tx.query_one("select ssl from pg_stat_ssl where pid = pg_backend_pid()", &[]).await?;
    tx.commit().await?;
    Ok(row.get(0))
}

#[tokio::test]
async fn sslmode_means_what_libpq_says() {
    let ca = TestCa::new("ours");
    let foreign = TestCa::new("foreign");
    // Issued for the name `localhost` only, so 127.0.0.1 is the wrong name.
    let cluster = DedicatedCluster::start_with_tls("tls", &ca.server_cert(&["localhost"]));
    // A bare cluster: `anon` is made for the check, a member of the login
    // role so that pg_stat_ssl shows it its own session.
    let admin = testkit::database::connect(&cluster.admin_url()).await;
    admin.batch_execute("create role anon nologin; grant postgres to anon").await.unwrap();
    let url = |host: &str, query: &str| format!("postgres://postgres@{host}:{}/postgres?{query}", cluster.port);

    assert!(!connect(&url("127.0.0.1", "sslmode=disable"), None).await.unwrap(), "disable: plain");
    assert!(connect(&url("127.0.0.1", "sslmode=prefer"), None).await.unwrap(), "prefer: encrypted when offered");
    assert!(connect(&url("127.0.0.1", "sslmode=require"), None).await.unwrap(), "require: encrypted, not verified");
    assert!(connect(&url("localhost", "sslmode=verify-full"), Some(&ca.cert_pem)).await.unwrap());
    assert!(connect(&url("127.0.0.1", "sslmode=verify-ca"), Some(&ca.cert_pem)).await.unwrap(), "verify-ca: any name");

    // The CA as a file, as libpq's sslrootcert.
    let file = std::env::temp_dir().join(format!("db-tls-ca-{}.pem", std::process::id()));
    std::fs::write(&file, &ca.cert_pem).unwrap();
    let with_file = url("localhost", &format!("sslmode=verify-full&sslrootcert={}", file.display()));
    assert!(connect(&with_file, None).await.unwrap(), "sslrootcert file");

    // Refusals: a foreign CA, the public roots only, and (verify-full) a
    // host name the certificate does not carry.
    for (what, target, ca_pem) in [
        ("foreign CA", url("localhost", "sslmode=verify-full"), Some(foreign.cert_pem.as_str())),
        ("foreign CA, verify-ca", url("127.0.0.1", "sslmode=verify-ca"), Some(foreign.cert_pem.as_str())),
        (
            "require with a foreign CA file checks the chain",
            url("127.0.0.1", "sslmode=require"),
            Some(foreign.cert_pem.as_str()),
        ),
        ("public roots", url("localhost", "sslmode=verify-full"), None),
        ("wrong name", url("127.0.0.1", "sslmode=verify-full"), Some(ca.cert_pem.as_str())),
    ] {
        match connect(&target, ca_pem).await {
            Err(DbError::Unavailable(message)) => {
                assert!(message.contains("certificate") || message.contains("TLS"), "{what}: unclear error {message}")
            }
            other => panic!("{what}: expected a refused handshake, got {other:?}"),
        }
    }
    let _ = std::fs::remove_file(file);
}
