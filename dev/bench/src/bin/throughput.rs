//! PostgreSQL's work per request (BENCHMARKS.md, "PostgreSQL's work per
//! request"): for each read route, the requests per second the local API
//! sustains under `wrk` and the CPU one request costs PostgreSQL, beside the
//! floor: the cheapest transaction of the functions' shape (one pipelined
//! flight of BEGIN, role and claims, `SELECT 1`, COMMIT), run by `pgbench`
//! against the same database. Nothing of the product's SQL is read here: the
//! routes are measured from outside, as a client and `/proc` see them. Beside
//! each figure, the CPU per request of the API process, of PostgreSQL and of
//! the load generator, read from /proc before and after each run. Each route
//! is measured twice: statements unnamed (the default, what Supavisor's
//! transaction mode passes) and kept as named prepared statements
//! (`DATABASE_PREPARED_STATEMENTS=true`).
//!
//! Build with `--profile measure` (optimised): a debug build measures the
//! compiler's debug output, not the service.

use shared::app::Services;
use shared::db::StatementMode;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use testkit::{TestStack, TestUser};
use tokio::net::TcpListener;
use uuid::Uuid;

/// Load duration per run; the first second of each run is discarded as warm-up.
const SECONDS: u64 = 8;
/// Concurrent connections of both load generators (and the API's pool size).
const CONNECTIONS: usize = 8;
/// The measured user's gallery.
const RENDERS: usize = 60;
/// Other users' renders around it, as in a live database.
const OTHER_USERS: i32 = 100;
const OTHER_RENDERS_EACH: i32 = 100;

/// The floor: what any transaction of the functions' shape costs PostgreSQL.
const FLOOR_SCRIPT: &str = "\\startpipeline\nbegin;\n\
    select set_config('role', :role, true), set_config('request.jwt.claims', :claims, true);\n\
    select 1;\ncommit;\n\\endpipeline\n";

#[tokio::main]
async fn main() {
    let mut stack = TestStack::spawn().await;
    let (user, job, favourite) = seed(&stack).await;
    let listener = stack.take_listener();
    let services = stack.services.clone();
    let unnamed = tokio::spawn(gateway::serve(listener, services));
    // The same functions keeping named prepared statements
    // (`DATABASE_PREPARED_STATEMENTS=true`), straight to PostgreSQL.
    let mut env = stack.services.env.clone();
    env.database_statements = StatementMode::Prepared;
    let prepared_services = Arc::new(Services::new(env).expect("services"));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let prepared_base = format!("http://{}/api/v1", listener.local_addr().expect("address"));
    let prepared = tokio::spawn(gateway::serve(listener, prepared_services));
    let postmaster = postmaster_pid(&stack).await;
    let dir = tempdir();

    println!(
        "| route | rate | PostgreSQL CPU per request | times the floor | \
         prepared statements: rate, PostgreSQL CPU, times the floor | CPU per request: API / PostgreSQL / load generator |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let script = dir.join("floor.sql");
    std::fs::write(&script, FLOOR_SCRIPT).expect("write pgbench script");
    let variables = vec!["role=authenticated".to_string(), format!("claims={}", user.identity.claims_json())];
    let floor = Pgbench { script, variables };
    run_pgbench(&stack, &floor, 1);
    let before = CpuSample::take(postmaster);
    let run = run_pgbench(&stack, &floor, SECONDS);
    let floor_cpu = CpuSample::take(postmaster).since(&before, run.requests);
    println!(
        "| floor: BEGIN; role + claims; SELECT 1; COMMIT (pgbench) | {:.0} tx/s | {:.0} µs | 1.0 | | {} |",
        run.per_second, floor_cpu.postgres, floor_cpu
    );
    let routes = [
        "/renders?limit=24".to_string(),
        "/collections".to_string(),
        "/usage".to_string(),
        format!("/generations/{job}"),
        "/community".to_string(),
    ];
    // A write that keeps stored columns true: each toggle of a favourite
    // updates the render's stored card in the same transaction.
    let toggle = dir.join("toggle.lua");
    let body = format!(r#"{{"renderId":"{favourite}"}}"#);
    let lua =
        format!("wrk.method = \"POST\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");
    std::fs::write(&toggle, lua).expect("write wrk script");
    let runs = routes
        .iter()
        .map(|path| {
            let route = path.split('?').next().unwrap_or(path).replace(&job.to_string(), "{id}");
            (format!("GET {route}"), path.as_str(), None)
        })
        .chain([(
            "POST /favorites/toggle (a write: the card kept true)".to_string(),
            "/favorites/toggle",
            Some(&toggle),
        )]);
    for (label, path, script) in runs {
        let (run, cpu) = measure(&stack.api_url(path), &user.token, script.map(|p| p.as_path()), postmaster);
        let (prepared_run, prepared_cpu) =
            measure(&format!("{prepared_base}{path}"), &user.token, script.map(|p| p.as_path()), postmaster);
        println!(
            "| {label} | {:.0} req/s | {:.0} µs | {:.1} | {:.0} req/s, {:.0} µs, {:.1} | {cpu} |",
            run.per_second,
            cpu.postgres,
            cpu.postgres / floor_cpu.postgres,
            prepared_run.per_second,
            prepared_cpu.postgres,
            prepared_cpu.postgres / floor_cpu.postgres,
        );
    }
    unnamed.abort();
    prepared.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

/// One route under `wrk` after a second of warm-up (pool connections,
/// caches, prepared statements), with the CPU each request cost.
fn measure(url: &str, token: &str, script: Option<&Path>, postmaster: u32) -> (LoadResult, CpuPerRequest) {
    run_wrk(url, token, 1, script);
    let before = CpuSample::take(postmaster);
    let run = run_wrk(url, token, SECONDS, script);
    let cpu = CpuSample::take(postmaster).since(&before, run.requests);
    (run, cpu)
}

/// A user with a full first gallery page (4 variants each), favourites, two
/// more collections, a month of ledger rows and a published community shelf
/// of their renders; around them, other users' renders. Returns the user,
/// one of their finished jobs and a render in none of their collections.
async fn seed(stack: &TestStack) -> (TestUser, Uuid, Uuid) {
    let user = stack.create_user().await;
    stack.app.set_plan(&user, Some("price_monthly"), true).await;
    let admin = stack.app.admin();
    let mut render_ids = Vec::with_capacity(RENDERS);
    let mut job = Uuid::nil();
    for _ in 0..RENDERS {
        let (job_id, render_id) = stack.app.seed_render(&user, 4).await;
        job = job_id;
        render_ids.push(render_id);
    }
    admin
        .execute(
            "insert into public.collections (owner_id, name) values ($1, 'Living room'), ($1, 'Ideas')",
            &[&user.id],
        )
        .await
        .expect("seed collections");
    admin
        .execute(
            "insert into public.collection_items (collection_id, render_id)
             select c.id, r from public.collections c, unnest($2::uuid[]) as r
              where c.owner_id = $1",
            &[&user.id, &render_ids[..12].to_vec()],
        )
        .await
        .expect("seed collection items");
    admin
        .execute(
            "insert into public.usage_ledger (owner_id, kind, amount, meta)
             select $1, 'generation_debit', 1, jsonb_build_object('jobId', j.id)
               from public.generation_jobs j where j.owner_id = $1 limit 20",
            &[&user.id],
        )
        .await
        .expect("seed ledger");
    admin
        .execute(
            "with shelf as (
               insert into public.community_collections (title, is_published, is_featured)
               values ('Calm bedrooms', true, true) returning id
             )
             insert into public.community_items (collection_id, render_id, order_index)
             select shelf.id, r, o::int from shelf, unnest($1::uuid[]) with ordinality as u(r, o)",
            &[&render_ids[..12].to_vec()],
        )
        .await
        .expect("seed community");
    for _ in 0..OTHER_USERS {
        let other = stack.create_user().await;
        admin
            .execute(
                "with jobs as (
                   insert into public.generation_jobs (owner_id, mode, style, status, completed_at)
                   select $1, 'imagine', 'modern', 'succeeded', now() from generate_series(1, $2::int)
                   returning id, owner_id
                 ), made as (
                   insert into public.renders (job_id, owner_id, mode, style)
                   select id, owner_id, 'imagine', 'modern' from jobs returning id, owner_id
                 )
                 insert into public.render_variants (render_id, owner_id, idx, image_path)
                 select id, owner_id, 0, 'renders/' || id || '/0.jpg' from made",
                &[&other.id, &OTHER_RENDERS_EACH],
            )
            .await
            .expect("seed other users' renders");
    }
    admin.batch_execute("analyze").await.expect("analyze");
    (user, job, render_ids[RENDERS - 1])
}

struct LoadResult {
    per_second: f64,
    requests: f64,
}

/// `wrk` against `url`; `script` (Lua) makes the requests something else
/// than a GET.
fn run_wrk(url: &str, token: &str, seconds: u64, script: Option<&Path>) -> LoadResult {
    let mut command = Command::new("wrk");
    command.args(["-t", "2", "-c", &CONNECTIONS.to_string(), "-d", &format!("{seconds}s"), "--latency"]);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command
        .args(["-H", &format!("Authorization: Bearer {token}"), url])
        .output()
        .expect("run wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("Non-2xx"), "wrk saw errors:\n{text}");
    let per_second = number_after(&text, "Requests/sec:").unwrap_or_else(|| panic!("wrk output:\n{text}"));
    let requests = text
        .lines()
        .find(|line| line.contains("requests in"))
        .and_then(|line| line.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(per_second * seconds as f64);
    LoadResult { per_second, requests }
}

struct Pgbench {
    script: std::path::PathBuf,
    variables: Vec<String>,
}

fn run_pgbench(stack: &TestStack, pgbench: &Pgbench, seconds: u64) -> LoadResult {
    let url = stack.app.database.admin_url();
    let output = Command::new(pgbench_binary())
        .args(["-n", "-M", "extended", "-c", &CONNECTIONS.to_string(), "-j", "2", "-T", &seconds.to_string()])
        .args(pgbench.variables.iter().flat_map(|variable| ["-D", variable.as_str()]))
        .arg("-f")
        .arg(&pgbench.script)
        .arg(&url)
        .output()
        .expect("run pgbench");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "pgbench failed:\n{text}\n{}", String::from_utf8_lossy(&output.stderr));
    let per_second = number_after(&text, "tps =").unwrap_or_else(|| panic!("pgbench output:\n{text}"));
    let requests = number_after(&text, "number of transactions actually processed:").unwrap_or(0.0);
    LoadResult { per_second, requests }
}

fn number_after(text: &str, label: &str) -> Option<f64> {
    let rest = &text[text.find(label)? + label.len()..];
    rest.split_whitespace().next()?.trim_end_matches(|c: char| !c.is_ascii_digit()).parse().ok()
}

/// pgbench of the cluster's own version (Debian's wrapper may pick another),
/// looked up once (`pg_config` would count as load generator CPU).
fn pgbench_binary() -> &'static str {
    static PGBENCH: OnceLock<String> = OnceLock::new();
    PGBENCH.get_or_init(|| {
        let output = Command::new("pg_config").arg("--bindir").output();
        let from_pg_config = output.ok().map(|o| format!("{}/pgbench", String::from_utf8_lossy(&o.stdout).trim()));
        from_pg_config.filter(|path| Path::new(path).exists()).unwrap_or_else(|| "pgbench".into())
    })
}

/// The postmaster of the test cluster (the checkpointer's parent).
async fn postmaster_pid(stack: &TestStack) -> u32 {
    let checkpointer: i32 = stack
        .app
        .admin()
        .query_one("select pid from pg_stat_activity where backend_type = 'checkpointer'", &[])
        .await
        .map(|row| row.get(0))
        .expect("find the cluster's processes");
    let stat = std::fs::read_to_string(format!("/proc/{checkpointer}/stat")).expect("checkpointer stat");
    stat_field(&stat, 4).expect("parent pid") as u32
}

/// CPU seconds of this process (the API), of the cluster (postmaster and
/// every child, live or reaped) and of this process's reaped children (the
/// load generators).
struct CpuSample {
    api: f64,
    postgres: f64,
    load: f64,
}

impl CpuSample {
    fn take(postmaster: u32) -> Self {
        // Backends of a finished pgbench exit asynchronously; let them be reaped.
        std::thread::sleep(Duration::from_millis(300));
        let own = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        CpuSample {
            api: cpu_seconds(&own, false),
            postgres: tree_cpu_seconds(postmaster),
            load: cpu_seconds(&own, true),
        }
    }

    /// CPU per request since `before`, in microseconds.
    fn since(&self, before: &CpuSample, requests: f64) -> CpuPerRequest {
        let micros = |now: f64, then: f64| (now - then) / requests.max(1.0) * 1e6;
        CpuPerRequest {
            api: micros(self.api, before.api),
            postgres: micros(self.postgres, before.postgres),
            load: micros(self.load, before.load),
        }
    }
}

/// Microseconds of CPU per request, by process.
struct CpuPerRequest {
    api: f64,
    postgres: f64,
    load: f64,
}

impl std::fmt::Display for CpuPerRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.0} / {:.0} / {:.0} µs", self.api, self.postgres, self.load)
    }
}

/// A postmaster's own and reaped children's CPU plus that of its live children.
fn tree_cpu_seconds(pid: u32) -> f64 {
    let own = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let mut total = cpu_seconds(&own, false) + cpu_seconds(&own, true);
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    for child in children.split_whitespace() {
        total += cpu_seconds(&std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default(), false);
    }
    total
}

/// utime + stime, or cutime + cstime (reaped children), in seconds.
fn cpu_seconds(stat: &str, reaped_children: bool) -> f64 {
    let (user, system) = if reaped_children { (16, 17) } else { (14, 15) };
    let ticks = stat_field(stat, user).unwrap_or(0.0) + stat_field(stat, system).unwrap_or(0.0);
    ticks / clock_ticks_per_second()
}

/// Field `number` (1-based, as in proc(5)) of /proc/<pid>/stat, from the
/// third on: the command name before them may hold spaces.
fn stat_field(stat: &str, number: usize) -> Option<f64> {
    let after_command = &stat[stat.rfind(')')? + 1..];
    after_command.split_whitespace().nth(number - 3)?.parse().ok()
}

/// `CLK_TCK`, asked once: each `getconf` is a child process whose CPU would
/// otherwise land in the load generator's column.
fn clock_ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        let output = Command::new("getconf").arg("CLK_TCK").output();
        output.ok().and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok()).unwrap_or(100.0)
    })
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
