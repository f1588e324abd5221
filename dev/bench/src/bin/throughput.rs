//! Close to PostgreSQL (BENCHMARKS.md, "Throughput against pgbench"): the
//! requests per second the local API sustains under `wrk` for `GET /renders`,
//! `GET /usage` and `GET /collections`, over what `pgbench` sustains running
//! the same SQL (the repositories' own statement text) in the same RLS
//! transaction shape (BEGIN, role and claims, the statement, COMMIT, all in
//! one pipelined flight) against the same database, one after the other on
//! this machine. Beside each ratio, where the CPU went: CPU time per request
//! of the API process, of PostgreSQL and of the load generator, read from
//! /proc before and after each run.
//!
//! Build with `--profile measure` (optimised): a debug build measures the
//! compiler's debug output, not the service.

use chrono::Utc;
use shared::repositories::{collections, renders, usage};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;
use testkit::{TestStack, TestUser};

/// Load duration per run; the first second of each run is discarded as warm-up.
const SECONDS: u64 = 8;
/// Concurrent connections of both load generators (and the API's pool size).
const CONNECTIONS: usize = 8;
const RENDERS: usize = 60;

struct Target {
    route: &'static str,
    path: &'static str,
    /// The repository's statement, `$n` as in the source.
    sql: String,
    /// What the handler binds to `$1`, `$2`, ... for a plain request.
    params: Vec<Bound>,
}

/// A parameter value as pgbench can send it. pgbench variables cannot be
/// NULL, so NULLs are written into the statement as typed literals; values
/// travel as parameters (`:pN` variables), as the API's do.
enum Bound {
    Null(&'static str),
    Literal(&'static str),
    Value(String),
}

#[tokio::main]
async fn main() {
    let mut stack = TestStack::spawn().await;
    let user = seed(&stack).await;
    let listener = stack.take_listener();
    let services = stack.services.clone();
    let server = tokio::spawn(gateway::serve(listener, services));
    let postmaster = postmaster_pid(&stack).await;
    let dir = tempdir();

    println!("| route | API under wrk | pgbench, same SQL and transaction shape | ratio (target at least 0.5) | CPU per request: API / PostgreSQL / load generator, API run | same, pgbench run |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for target in targets(&user) {
        let url = stack.api_url(target.path);
        // Warm both paths (pool connections, plans, caches) before measuring.
        run_wrk(&url, &user.token, 1);
        let script = dir.join(format!("{}.sql", target.route.replace(['/', ' '], "_")));
        let (sql, mut variables) = for_pgbench(&target.sql, &target.params);
        std::fs::write(&script, pgbench_script(&sql)).expect("write pgbench script");
        variables.push("role=authenticated".into());
        variables.push(format!("claims={}", user.identity.claims_json()));
        let pgbench = Pgbench { script, variables };
        run_pgbench(&stack, &pgbench, 1);

        let before = CpuSample::take(postmaster);
        let api = run_wrk(&url, &user.token, SECONDS);
        let api_cpu = CpuSample::take(postmaster).since(&before, api.requests);
        let before = CpuSample::take(postmaster);
        let pg = run_pgbench(&stack, &pgbench, SECONDS);
        let pg_cpu = CpuSample::take(postmaster).since(&before, pg.requests);
        println!(
            "| {} | {:.0} req/s | {:.0} tx/s | {:.2} | {} | {} |",
            target.route,
            api.per_second,
            pg.per_second,
            api.per_second / pg.per_second,
            api_cpu,
            pg_cpu
        );
    }
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A user with a full first gallery page (4 variants each), favourites, two
/// more collections and a month of ledger rows.
async fn seed(stack: &TestStack) -> TestUser {
    let user = stack.create_user().await;
    stack.app.set_plan(&user, Some("price_monthly"), true).await;
    let admin = stack.app.admin();
    let mut render_ids = Vec::with_capacity(RENDERS);
    for _ in 0..RENDERS {
        render_ids.push(stack.app.seed_render(&user, 4).await.1);
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
    user
}

/// The three reads with the parameters their handlers send for a plain
/// request (no filters, first page of 24, no history).
fn targets(user: &TestUser) -> Vec<Target> {
    let owner = || Bound::Value(user.id.to_string());
    let (start, end) = usage::month_period(Utc::now());
    vec![
        Target {
            route: "GET /renders",
            path: "/renders",
            sql: renders::LIST_RENDERS_SQL.into(),
            params: vec![
                owner(),
                Bound::Null("text"),
                Bound::Null("text"),
                Bound::Null("text"),
                Bound::Null("uuid"),
                Bound::Null("timestamptz"),
                Bound::Null("uuid"),
                Bound::Literal("25::int8"),
            ],
        },
        Target {
            route: "GET /usage",
            path: "/usage",
            sql: usage::USAGE_OVERVIEW_SQL.into(),
            params: vec![
                owner(),
                Bound::Value(start.to_rfc3339()),
                Bound::Value(end.to_rfc3339()),
                Bound::Literal("false"),
            ],
        },
        Target {
            route: "GET /collections",
            path: "/collections",
            sql: collections::list_collections_sql(),
            params: vec![owner()],
        },
    ]
}

/// The statement for pgbench (`$n` replaced, highest first so `$1` does not
/// eat `$10`) and the variables to define with `-D`. PostgreSQL plans an
/// unnamed statement with its parameter values bound, so a NULL literal gives
/// pgbench the plan the API gets.
fn for_pgbench(sql: &str, params: &[Bound]) -> (String, Vec<String>) {
    let mut text = sql.to_string();
    let mut variables = Vec::new();
    for (index, param) in params.iter().enumerate().rev() {
        let number = index + 1;
        let replacement = match param {
            Bound::Null(type_name) => format!("null::{type_name}"),
            Bound::Literal(literal) => literal.to_string(),
            Bound::Value(value) => {
                variables.push(format!("p{number}={value}"));
                format!(":p{number}")
            }
        };
        text = text.replace(&format!("${number}"), &replacement);
    }
    assert!(!text.contains('$'), "a parameter was left unreplaced");
    (text, variables)
}

/// The transaction exactly as `shared::db::Tx` sends it for a one-statement
/// read: one pipelined flight of BEGIN, the role and claims, the statement
/// and COMMIT.
fn pgbench_script(sql: &str) -> String {
    format!(
        "\\startpipeline\nbegin;\nselect set_config('role', :role, true), set_config('request.jwt.claims', :claims, true);\n\
         {};\ncommit;\n\\endpipeline\n",
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

struct LoadResult {
    per_second: f64,
    requests: f64,
}

fn run_wrk(url: &str, token: &str, seconds: u64) -> LoadResult {
    let output = Command::new("wrk")
        .args(["-t", "2", "-c", &CONNECTIONS.to_string(), "-d", &format!("{seconds}s"), "--latency"])
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

    fn since(&self, before: &CpuSample, requests: f64) -> String {
        let micros = |now: f64, then: f64| (now - then) / requests.max(1.0) * 1e6;
        format!(
            "{:.0} / {:.0} / {:.0} µs",
            micros(self.api, before.api),
            micros(self.postgres, before.postgres),
            micros(self.load, before.load)
        )
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
