//! The S3-compatible server the tests store images in: `s3s-fs` from
//! crates.io, a real server speaking the S3 API over HTTP on a local folder.
//!
//! `S3Server::shared()` is one server for every test of a run (keys hold
//! random ids, so tests never collide); `S3Server::dedicated()` is a test's
//! own, which it may stop and start again to play an outage.
//!
//! Clients reach it as they reach hosted Supabase: through the path
//! `/storage/v1/s3` of [`storage_front`], which this process serves in front
//! of the server (so an S3 client that mangles an endpoint path fails here
//! as it would there, and bucket limits hold on uploads).

use shared::storage::{Storage, StorageConfig, PRIVATE_BUCKET, PUBLIC_BUCKET};
use std::fs::{self, File};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub const ACCESS_KEY: &str = "testkit-access-key";
pub const SECRET_KEY: &str = "testkit-secret-key";

pub struct S3Server {
    /// The S3 server's own port (behind the front).
    pub port: u16,
    /// Where clients connect: the front, serving `/storage/v1/s3`.
    front_port: u16,
    root: PathBuf,
    child: Mutex<Option<Child>>,
}

/// Serves a [`storage_front::Front`] for the S3 server on `upstream_port`,
/// on a thread of its own (tests' runtimes come and go), for as long as the
/// process lives; its port.
fn start_front(upstream_port: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind storage front");
    let port = listener.local_addr().expect("front address").port();
    listener.set_nonblocking(true).expect("nonblocking front listener");
    std::thread::Builder::new()
        .name(format!("storage-front-{port}"))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("front runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("front listener");
                let front = storage_front::Front::new(([127, 0, 0, 1], upstream_port).into());
                storage_front::serve(listener, front).await;
            });
        })
        .expect("start the storage front thread");
    port
}

fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|dir| dir.join("s3s-fs")).find(|candidate| candidate.is_file())
    });
    on_path
        .or_else(|| {
            let home = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
            Some(home.join("bin/s3s-fs")).filter(|p| p.is_file())
        })
        .expect("s3s-fs not found: `make test` installs it (cargo install s3s-fs@0.14.1 --features binary)")
}

fn state_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("testkit-s3")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn answers(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

// The shared server outlives the test process on purpose (`make test` stops
// it), so not every path waits for the child.
#[allow(clippy::zombie_processes)]
fn spawn(root: &Path, port: u16) -> Child {
    for bucket in [PUBLIC_BUCKET, PRIVATE_BUCKET] {
        fs::create_dir_all(bucket_dir(root, bucket)).expect("create bucket dir");
    }
    let log = File::create(root.with_extension("log")).expect("s3 log file");
    let child = Command::new(binary())
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", ACCESS_KEY])
        .args(["--secret-key", SECRET_KEY])
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start s3s-fs");
    for _ in 0..200 {
        if answers(port) {
            return child;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("s3s-fs did not start on port {port}");
}

/// Where the server keeps the objects of `bucket`: the front's path becomes
/// its bucket `storage` and keys `v1/s3/<bucket>/<key>`.
fn bucket_dir(root: &Path, bucket: &str) -> PathBuf {
    root.join(storage_front::S3_PATH.trim_start_matches('/')).join(bucket)
}

impl S3Server {
    /// The run's shared server, started on first use and reused by every
    /// test process (`make test` stops it at the end).
    pub fn shared() -> &'static S3Server {
        static SHARED: OnceLock<S3Server> = OnceLock::new();
        SHARED.get_or_init(|| {
            let dir = state_dir();
            fs::create_dir_all(&dir).expect("create s3 state dir");
            let lock = File::create(dir.join("lock")).expect("lock file");
            lock.lock().expect("lock s3 state dir");
            let root = dir.join("data");
            for bucket in [PUBLIC_BUCKET, PRIVATE_BUCKET] {
                fs::create_dir_all(bucket_dir(&root, bucket)).expect("create bucket dir");
            }
            let port_file = dir.join("port");
            let port = match fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse::<u16>().ok()) {
                Some(port) if answers(port) => port,
                _ => {
                    let port = free_port();
                    let child = spawn(&root, port);
                    fs::write(dir.join("pid"), child.id().to_string()).expect("write pid");
                    fs::write(&port_file, port.to_string()).expect("write port");
                    // Deliberately not waited on: it outlives this process.
                    std::mem::forget(child);
                    port
                }
            };
            let _ = lock.unlock();
            S3Server { port, front_port: start_front(port), root, child: Mutex::new(None) }
        })
    }

    /// A server of the test's own, stopped when dropped.
    pub fn dedicated() -> S3Server {
        let root = state_dir().join(format!("dedicated-{}", uuid::Uuid::new_v4().simple()));
        let port = free_port();
        let child = spawn(&root, port);
        S3Server { port, front_port: start_front(port), root, child: Mutex::new(Some(child)) }
    }

    /// The S3 endpoint as hosted Supabase shows it: a path, no trailing slash.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.front_port, storage_front::S3_PATH)
    }

    /// Plays an outage: the server stops answering (dedicated servers only).
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().expect("child lock").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Ends an outage: the server answers again on the same port and folder.
    pub fn start(&self) {
        let mut child = self.child.lock().expect("child lock");
        if child.is_none() {
            *child = Some(spawn(&self.root, self.port));
        }
    }

    /// Keys of the objects stored in `bucket`, read from the server's folder
    /// (s3s-fs keeps each object as a file under [`bucket_dir`]; names
    /// starting with a dot are its own bookkeeping), to find objects no row
    /// names. Sorted.
    pub fn object_keys(&self, bucket: &str) -> Vec<String> {
        fn walk(dir: &Path, prefix: &str, keys: &mut Vec<String>) {
            let Ok(entries) = fs::read_dir(dir) else { return };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let key = format!("{prefix}{name}");
                match entry.file_type() {
                    Ok(kind) if kind.is_dir() => walk(&entry.path(), &format!("{key}/"), keys),
                    Ok(_) => keys.push(key),
                    Err(_) => {}
                }
            }
        }
        let mut keys = Vec::new();
        walk(&bucket_dir(&self.root, bucket), "", &mut keys);
        keys.sort();
        keys
    }

    pub fn config(&self, public_base_url: &str) -> StorageConfig {
        StorageConfig {
            // As the dashboard shows it (no trailing slash): the client copes.
            endpoint: self.endpoint(),
            region: "us-east-1".into(),
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
            public_base_url: public_base_url.into(),
        }
    }

    pub fn storage(&self, public_base_url: &str) -> Storage {
        Storage::new(&self.config(public_base_url))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
        if self.root.file_name().is_some_and(|n| n.to_string_lossy().starts_with("dedicated-")) {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}
