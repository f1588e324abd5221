//! The PostgreSQL server the tests run against, and the PgBouncer in front of
//! it.
//!
//! With `DATABASE_URL` set (a superuser URL), tests use that server. Without
//! it, the first test to need one starts a throwaway cluster under
//! `target/testkit-pg` from the installed binaries and every later test (in
//! this process or another) reuses it; `make test` removes it afterwards.
//! With `TEST_VIA_PGBOUNCER=1`, the functions' connections go through a
//! PgBouncer in transaction pooling mode, as Supabase's port 6543 behaves.
//! With `TEST_PREPARED_STATEMENTS=1`, they keep named prepared statements
//! (`DATABASE_PREPARED_STATEMENTS=true`); the PgBouncer is 1.21 or newer and
//! keeps them for its clients (`max_prepared_statements`), as Supabase's
//! dedicated pooler does.

use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The login role the functions use (see migrations/supabase/000_roles.sql).
pub const APP_ROLE: &str = "authenticator";
pub const APP_PASSWORD: &str = "authenticator-test-only";

#[derive(Debug, Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub admin_user: String,
    pub admin_password: Option<String>,
    /// Where the functions connect: the server itself or PgBouncer.
    pub app_port: u16,
    pub via_pgbouncer: bool,
    /// How the functions' pools send statements.
    pub statements: shared::db::StatementMode,
}

impl Server {
    pub fn admin_url(&self, database: &str) -> String {
        let password = self.admin_password.as_deref().map(|p| format!(":{p}")).unwrap_or_default();
        format!("postgres://{}{password}@{}:{}/{database}", self.admin_user, self.host, self.port)
    }

    pub fn app_url(&self, database: &str) -> String {
        self.app_url_at(self.app_port, database)
    }

    /// The functions' URL on another port of this host: PostgreSQL itself
    /// (`self.port`) even in the PgBouncer pass, or a proxy in front of it.
    pub fn app_url_at(&self, port: u16, database: &str) -> String {
        format!("postgres://{APP_ROLE}:{APP_PASSWORD}@{}:{port}/{database}?sslmode=disable", self.host)
    }
}

/// The server for this test process, started on first use.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let via_pgbouncer = std::env::var("TEST_VIA_PGBOUNCER").is_ok_and(|v| v == "1" || v == "true");
        let mut server = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => external_server(&url),
            _ => throwaway_cluster(),
        };
        if via_pgbouncer {
            server.app_port = pgbouncer(&server);
            server.via_pgbouncer = true;
        }
        if std::env::var("TEST_PREPARED_STATEMENTS").is_ok_and(|v| v == "1" || v == "true") {
            server.statements = shared::db::StatementMode::Prepared;
        }
        server
    })
}

fn external_server(url: &str) -> Server {
    let config: tokio_postgres::Config = url.parse().expect("DATABASE_URL is not a valid PostgreSQL URL");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    Server {
        host,
        port,
        admin_user: config.get_user().unwrap_or("postgres").to_string(),
        admin_password: config.get_password().map(|p| String::from_utf8_lossy(p).into_owned()),
        app_port: port,
        via_pgbouncer: false,
        statements: shared::db::StatementMode::Unnamed,
    }
}

fn state_dir() -> PathBuf {
    // CARGO_TARGET_DIR when set, else the workspace's target/.
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("testkit-pg")
}

/// Runs `f` while holding an exclusive lock shared by every test process.
fn with_file_lock<T>(dir: &Path, f: impl FnOnce() -> T) -> T {
    fs::create_dir_all(dir).expect("create testkit state dir");
    let lock = File::create(dir.join("lock")).expect("create lock file");
    lock.lock().expect("lock testkit state dir");
    let result = f();
    let _ = lock.unlock();
    result
}

fn running_as_root() -> bool {
    fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// PostgreSQL and PgBouncer refuse to run as root; CI runs as root, so the
/// servers run as the `postgres` system user then.
fn server_command(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn chown_to_server_user(path: &Path) {
    if running_as_root() {
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(path).status();
        assert!(status.is_ok_and(|s| s.success()), "chown {} to postgres", path.display());
    }
}

/// Finds a PostgreSQL server binary: PATH first, then Debian's versioned dirs.
fn pg_binary(name: &str) -> PathBuf {
    if let Some(path) = find_in_path(name) {
        return path;
    }
    let mut versions: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path().join("bin").join(name))).collect())
        .unwrap_or_default();
    versions.retain(|p| p.exists());
    versions
        .sort_by_key(|p| p.components().nth(4).and_then(|c| c.as_os_str().to_str()?.parse::<u32>().ok()).unwrap_or(0));
    versions
        .pop()
        .unwrap_or_else(|| panic!("{name} not found: install PostgreSQL (make test does) or set DATABASE_URL"))
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join(name)).find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn port_answers(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

fn throwaway_cluster() -> Server {
    let dir = state_dir();
    with_file_lock(&dir, || {
        let data = dir.join("data");
        let port_file = dir.join("port");
        if let Some(port) = fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse::<u16>().ok()) {
            if port_answers(port) {
                return local_server(port);
            }
        }
        init_data_dir(&dir, &data);
        let port = free_port();
        start_cluster(&dir, &data, port);
        fs::write(&port_file, port.to_string()).expect("write port file");
        local_server(port)
    })
}

/// Creates the cluster's data directory unless it holds one already.
fn init_data_dir(dir: &Path, data: &Path) {
    if data.join("PG_VERSION").exists() {
        return;
    }
    let _ = fs::remove_dir_all(data);
    fs::create_dir_all(data).expect("create data dir");
    chown_to_server_user(dir);
    let status = server_command(&pg_binary("initdb"))
        .args(["-D"])
        .arg(data)
        .args(["-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run initdb");
    assert!(status.success(), "initdb failed");
}

fn start_cluster(dir: &Path, data: &Path, port: u16) {
    start_cluster_with(dir, data, port, "");
}

fn start_cluster_with(dir: &Path, data: &Path, port: u16, extra_options: &str) {
    // Durability is irrelevant for a throwaway cluster; connections are
    // plentiful because every test opens a few.
    let options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 -c shared_buffers=128MB {extra_options}"
    );
    let status = server_command(&pg_binary("pg_ctl"))
        .arg("-D")
        .arg(data)
        .args(["-o", &options, "-l"])
        .arg(dir.join("postgres.log"))
        .args(["-w", "-t", "60", "start"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run pg_ctl");
    assert!(status.success(), "pg_ctl start failed; see {}", dir.join("postgres.log").display());
}

/// A cluster of a program's own, for one that restarts PostgreSQL on purpose
/// (the soak under faults) without disturbing the cluster other tests and
/// benchmarks share. Point `DATABASE_URL` at [`admin_url`](Self::admin_url)
/// before the first [`server`] call. Stopped and removed when dropped.
pub struct DedicatedCluster {
    dir: PathBuf,
    data: PathBuf,
    pub port: u16,
}

impl DedicatedCluster {
    /// Starts a fresh cluster under `target/testkit-pg-<name>`.
    pub fn start(name: &str) -> Self {
        Self::start_with(name, None)
    }

    /// [`Self::start`] with TLS on, presenting `cert` (signed by a test CA).
    /// Plain connections are still accepted, as on a server whose clients
    /// choose with `sslmode`.
    pub fn start_with_tls(name: &str, cert: &crate::tls::ServerCert) -> Self {
        Self::start_with(name, Some(cert))
    }

    fn start_with(name: &str, tls: Option<&crate::tls::ServerCert>) -> Self {
        let dir = state_dir().with_file_name(format!("testkit-pg-{name}"));
        let data = dir.join("data");
        // A cluster left by an interrupted run is stopped and started afresh.
        if data.join("postmaster.pid").exists() {
            let _ = pg_ctl(&data, &["-m", "immediate", "stop"]);
        }
        let _ = fs::remove_dir_all(&dir);
        init_data_dir(&dir, &data);
        let options = match tls {
            None => "",
            Some(cert) => {
                let key_file = data.join("server.key");
                fs::write(data.join("server.crt"), &cert.cert_pem).expect("write server.crt");
                fs::write(&key_file, &cert.key_pem).expect("write server.key");
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&key_file, fs::Permissions::from_mode(0o600)).expect("key permissions");
                chown_to_server_user(&dir);
                "-c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
            }
        };
        let port = free_port();
        start_cluster_with(&dir, &data, port, options);
        DedicatedCluster { dir, data, port }
    }

    /// Superuser URL of its `postgres` database.
    pub fn admin_url(&self) -> String {
        local_server(self.port).admin_url("postgres")
    }

    /// Restarts the server in fast mode (sessions ended, transactions rolled
    /// back), waiting until it accepts connections again; whether it did.
    pub fn restart(&self) -> bool {
        let log = self.dir.join("postgres.log");
        pg_ctl(&self.data, &["-m", "fast", "-w", "-t", "60", "-l", &log.to_string_lossy(), "restart"])
    }
}

impl Drop for DedicatedCluster {
    fn drop(&mut self) {
        let _ = pg_ctl(&self.data, &["-m", "immediate", "stop"]);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn pg_ctl(data: &Path, args: &[&str]) -> bool {
    server_command(&pg_binary("pg_ctl"))
        .arg("-D")
        .arg(data)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn local_server(port: u16) -> Server {
    Server {
        host: "127.0.0.1".into(),
        port,
        admin_user: "postgres".into(),
        admin_password: None,
        app_port: port,
        via_pgbouncer: false,
        statements: shared::db::StatementMode::Unnamed,
    }
}

/// Starts (or reuses) a PgBouncer in transaction pooling mode in front of the
/// server. It keeps its clients' named prepared statements
/// (`max_prepared_statements`, PgBouncer 1.21+, as Supabase's dedicated
/// pooler); the functions use them only with `TEST_PREPARED_STATEMENTS=1`.
fn pgbouncer(server: &Server) -> u16 {
    let dir = state_dir().join(format!("pgbouncer-{}", server.port));
    with_file_lock(&state_dir(), || {
        let port_file = dir.join("port");
        if let Some(port) = fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse::<u16>().ok()) {
            if port_answers(port) {
                return port;
            }
        }
        fs::create_dir_all(&dir).expect("create pgbouncer dir");
        let port = free_port();
        let ini = format!(
            "[databases]\n* = host={host} port={server_port}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
             auth_type = trust\nauth_file = {dir}/userlist.txt\npool_mode = transaction\nmax_client_conn = 2000\n\
             default_pool_size = 40\nmax_db_connections = 0\nmax_prepared_statements = 200\nadmin_users = {admin}\nserver_reset_query =\nignore_startup_parameters = extra_float_digits,options\n\
             logfile = {dir}/pgbouncer.log\npidfile = {dir}/pgbouncer.pid\nunix_socket_dir =\n",
            host = server.host,
            server_port = server.port,
            dir = dir.display(),
            admin = server.admin_user,
        );
        fs::write(dir.join("pgbouncer.ini"), ini).expect("write pgbouncer.ini");
        fs::write(dir.join("userlist.txt"), format!("\"{APP_ROLE}\" \"\"\n\"{}\" \"\"\n", server.admin_user))
            .expect("write userlist");
        chown_to_server_user(&dir);
        // install-deps.sh builds 1.21+ into /usr/local; Debian's own (1.18,
        // no prepared statements) may sit earlier on some PATHs.
        let built = PathBuf::from("/usr/local/bin/pgbouncer");
        let binary = if built.exists() {
            built
        } else {
            find_in_path("pgbouncer").unwrap_or_else(|| PathBuf::from("/usr/sbin/pgbouncer"))
        };
        let status = server_command(&binary)
            .arg("-d")
            .arg(dir.join("pgbouncer.ini"))
            .status()
            .expect("run pgbouncer 1.21+ (dev/scripts/install-deps.sh builds one; make test does)");
        assert!(status.success(), "pgbouncer failed to start; see {}", dir.join("pgbouncer.log").display());
        for _ in 0..100 {
            if port_answers(port) {
                fs::write(&port_file, port.to_string()).expect("write port file");
                return port;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("pgbouncer did not start listening on {port}");
    })
}
