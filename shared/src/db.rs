//! Database access under row-level security.
//!
//! Functions log in as a NOINHERIT role that owns no table privileges, so a
//! statement outside a role switch fails closed. The only way to run SQL is a
//! [`Tx`], and the only ways to open one name an identity: a verified user
//! (`authenticated` + their claims), `anon`, or the service (`service_role`,
//! for webhooks and the sweeper). Role and claims are set with
//! `set_config(..., true)`, local to the transaction exactly as PostgREST does,
//! so nothing survives into the next request on a pooled connection.
//!
//! Statements ([`StatementMode`]): by default each goes as the unnamed
//! statement (`query_typed`), parsed and planned on every call, which every
//! transaction pooler passes (Supabase's Supavisor included). Where the
//! connection keeps named statements (a direct or session connection, or
//! PgBouncer 1.21+ with `max_prepared_statements`, as Supabase's dedicated
//! pooler), `DATABASE_PREPARED_STATEMENTS=true` prepares each statement once
//! per connection and PostgreSQL keeps its parse tree and, where it judges a
//! generic plan good, the plan.
//!
//! Round trips: `BEGIN`, the role/claims switch and the first statement are
//! pipelined into one flight; [`Tx::query_and_commit`] adds the `COMMIT` to
//! that flight, so a single-statement read costs one round trip.

use crate::auth::VerifiedUser;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use futures_util::FutureExt;
use std::time::Duration;
pub use tokio_postgres::types::{ToSql, Type};
pub use tokio_postgres::Row;

mod error;
mod statements;
pub mod tls;
pub use error::DbError;
use statements::Ready;
pub use statements::StatementMode;

/// A statement parameter with its PostgreSQL type (required by unnamed statements).
pub type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// A statement with its parameters, built by a repository and sent by the
/// caller, so that statements of different repositories can share a flight
/// ([`Tx::query_pipelined`]).
pub struct Statement<'a> {
    pub sql: std::borrow::Cow<'static, str>,
    pub params: Vec<Param<'a>>,
}

/// The connection pool of one Lambda environment (or one test).
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    statements: StatementMode,
}

/// Who a transaction acts as.
#[derive(Clone, Copy)]
enum Role {
    Authenticated,
    Anon,
    Service,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Authenticated => "authenticated",
            Role::Anon => "anon",
            Role::Service => "service_role",
        }
    }
}

impl Database {
    /// Builds the pool without connecting; the first transaction connects.
    /// A Lambda environment serves one request at a time, so `max_size` 1 is
    /// right there; tests and local servers use more.
    pub fn connect_lazy(database_url: &str, max_size: usize) -> Result<Self, DbError> {
        Self::connect_lazy_with_ca(database_url, max_size, None)
    }

    /// [`Self::connect_lazy`] trusting `ca_pem` (`DATABASE_CA_CERT`) for
    /// `sslmode=verify-ca`/`verify-full` (see [`tls`]).
    pub fn connect_lazy_with_ca(database_url: &str, max_size: usize, ca_pem: Option<&str>) -> Result<Self, DbError> {
        let settings = tls::parse(database_url, ca_pem)?;
        let connector = tls::connector(&settings)?;
        let mut config = settings.config;
        config.application_name("interior-render").connect_timeout(Duration::from_secs(5));
        let manager =
            Manager::from_config(config, connector, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(max_size)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| DbError::Config(e.to_string()))?;
        Ok(Database { pool, statements: StatementMode::Unnamed })
    }

    /// The same pool sending statements as `mode` says.
    pub fn with_statement_mode(self, mode: StatementMode) -> Self {
        Database { statements: mode, ..self }
    }

    pub fn statement_mode(&self) -> StatementMode {
        self.statements
    }

    /// A transaction as the signed-in user: RLS sees their `auth.uid()`.
    pub async fn as_user(&self, user: &VerifiedUser) -> Result<Tx, DbError> {
        self.begin(Role::Authenticated, user.claims_json().to_owned()).await
    }

    /// A transaction as an anonymous visitor.
    pub async fn as_anon(&self) -> Result<Tx, DbError> {
        self.begin(Role::Anon, r#"{"role":"anon"}"#.to_owned()).await
    }

    /// A transaction as the service itself (bypasses RLS): only for work no
    /// user identity covers, such as webhooks and the sweeper.
    pub async fn as_service(&self) -> Result<Tx, DbError> {
        self.begin(Role::Service, r#"{"role":"service_role"}"#.to_owned()).await
    }

    async fn begin(&self, role: Role, claims: String) -> Result<Tx, DbError> {
        let conn = self.pool.get().await.map_err(DbError::from_pool)?;
        let setup = Setup { role, claims, plan_each_call: false };
        Ok(Tx { conn: Some(conn), statements: self.statements, pending_setup: Some(setup), state: TxState::Open })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TxState {
    Open,
    /// Committed or rolled back: the connection is clean.
    Finished,
}

/// One transaction under one identity. Commit explicitly; dropping it rolls
/// back (the `ROLLBACK` is queued on the connection before it returns to the
/// pool, so the next request on that connection starts clean).
pub struct Tx {
    conn: Option<Object>,
    statements: StatementMode,
    /// Role and claims not yet sent: they ride with the first statement.
    pending_setup: Option<Setup>,
    state: TxState,
}

/// What the transaction's first flight sets, local to the transaction.
struct Setup {
    role: Role,
    claims: String,
    /// `plan_cache_mode = force_custom_plan` (see [`Tx::plan_each_call`]).
    plan_each_call: bool,
}

const SETUP_SQL: &str = "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)";
const SETUP_PLANNING_EACH_CALL_SQL: &str =
    "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), \
     set_config('plan_cache_mode', 'force_custom_plan', true)";

impl Tx {
    fn client(&self) -> &deadpool_postgres::ClientWrapper {
        self.conn.as_ref().expect("connection present until drop")
    }

    /// Plans this transaction's prepared statements for their parameters on
    /// every call, as the unnamed statement is. For statements whose best
    /// plan depends on the values (a gallery page: one owner has ten renders,
    /// another a hundred thousand, and the page's LIMIT is a parameter), where
    /// a generic plan made for the average owner scans every row of a large
    /// one. The parse is still kept. Call before the first statement.
    pub fn plan_each_call(mut self) -> Self {
        if let Some(setup) = self.pending_setup.as_mut() {
            setup.plan_each_call = self.statements == StatementMode::Prepared;
        }
        self
    }

    fn ensure_open(&self) -> Result<(), DbError> {
        match self.state {
            TxState::Open => Ok(()),
            TxState::Finished => Err(DbError::TransactionClosed),
        }
    }

    /// Runs one statement and returns its rows.
    pub async fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError> {
        self.ensure_open()?;
        let setup = self.pending_setup.take();
        let client = self.client();
        let statement = async { Ready::new(client, self.statements, sql, params).await?.rows(client, params).await };
        match send(client, setup, statement).await {
            Ok(rows) => Ok(rows),
            Err(error) => Err(self.fail(error).await),
        }
    }

    pub async fn query_one(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Row, DbError> {
        let mut rows = self.query(sql, params).await?;
        match rows.len() {
            1 => Ok(rows.remove(0)),
            0 => Err(DbError::NotFound),
            _ => Err(DbError::TooManyRows),
        }
    }

    pub async fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, DbError> {
        let mut rows = self.query(sql, params).await?;
        match rows.len() {
            0 => Ok(None),
            1 => Ok(Some(rows.remove(0))),
            _ => Err(DbError::TooManyRows),
        }
    }

    /// Runs a statement for its effect and returns the number of rows it touched.
    pub async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError> {
        self.ensure_open()?;
        let setup = self.pending_setup.take();
        let client = self.client();
        let statement = async { Ready::new(client, self.statements, sql, params).await?.count(client, params).await };
        match send(client, setup, statement).await {
            Ok(count) => Ok(count),
            Err(error) => Err(self.fail(error).await),
        }
    }

    /// Runs two statements back to back in one flight and returns each one's
    /// rows. The second is sent before the first's answer is known, so use it
    /// only where the caller can act on the first's answer afterwards (by
    /// rolling back). If either fails the transaction is rolled back; the
    /// outer error is a failure of the connection or of the transaction's setup.
    pub async fn query_pipelined(
        &mut self,
        first: &Statement<'_>,
        second: &Statement<'_>,
    ) -> Result<(Result<Vec<Row>, DbError>, Result<Vec<Row>, DbError>), DbError> {
        self.ensure_open()?;
        let setup = self.pending_setup.take();
        let client = self.client();
        let both = async {
            // Both prepared (when new) before either runs, so they run in
            // the order given.
            let first_ready = Ready::new(client, self.statements, &first.sql, &first.params).await;
            let second_ready = Ready::new(client, self.statements, &second.sql, &second.params).await;
            let (first, second) = tokio::join!(async { first_ready?.rows(client, &first.params).await }, async {
                second_ready?.rows(client, &second.params).await
            });
            Ok((first, second))
        };
        match send(client, setup, both).await {
            Ok((Ok(first), Ok(second))) => Ok((Ok(first), Ok(second))),
            Ok((first, second)) => {
                self.end_failed().await;
                Ok((first.map_err(DbError::from_postgres), second.map_err(DbError::from_postgres)))
            }
            Err(error) => Err(self.fail(error).await),
        }
    }

    /// Runs one last statement and commits in the same flight: a transaction
    /// of a single statement costs one round trip.
    pub async fn query_and_commit(mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError> {
        self.ensure_open()?;
        let setup = self.pending_setup.take();
        let client = self.client();
        let statement_then_commit = async {
            // Prepared (when new) before COMMIT is queued, which must follow
            // the statement's execution.
            let ready = Ready::new(client, self.statements, sql, params).await;
            let (rows, commit) =
                tokio::join!(async { ready?.rows(client, params).await }, client.batch_execute("commit"));
            commit.and(rows)
        };
        let result = send(client, setup, statement_then_commit).await;
        // COMMIT of a failed transaction ends it as a rollback, so the
        // connection is clean either way unless the connection itself broke.
        if !self.client().is_closed() {
            self.state = TxState::Finished;
        }
        result.map_err(DbError::from_postgres)
    }

    pub async fn commit(mut self) -> Result<(), DbError> {
        self.finish("commit").await
    }

    pub async fn rollback(mut self) -> Result<(), DbError> {
        self.finish("rollback").await
    }

    async fn finish(&mut self, command: &str) -> Result<(), DbError> {
        match self.state {
            TxState::Finished => return Err(DbError::TransactionClosed),
            TxState::Open if self.pending_setup.is_some() => {
                // Nothing was sent: there is no transaction to end.
                self.state = TxState::Finished;
                return Ok(());
            }
            TxState::Open => {}
        }
        let result = self.client().batch_execute(command).await;
        if result.is_ok() || !self.client().is_closed() {
            self.state = TxState::Finished;
        }
        result.map_err(DbError::from_postgres)
    }

    /// A failed statement aborts the transaction; end it now so the
    /// connection is reusable, and hand back the original error.
    async fn fail(&mut self, error: tokio_postgres::Error) -> DbError {
        self.end_failed().await;
        DbError::from_postgres(error)
    }

    async fn end_failed(&mut self) {
        if !self.client().is_closed() && self.client().batch_execute("rollback").await.is_ok() {
            self.state = TxState::Finished;
        }
    }
}

/// Sends `statement`, preceded in the same flight by BEGIN and the identity
/// switch when `setup` is given (the transaction's first statement).
async fn send<T>(
    client: &deadpool_postgres::ClientWrapper,
    setup: Option<Setup>,
    statement: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, tokio_postgres::Error> {
    let Some(Setup { role, claims, plan_each_call }) = setup else {
        return statement.await;
    };
    let role_name = role.name();
    let setup_params: [Param<'_>; 2] = [(&role_name, Type::TEXT), (&claims, Type::TEXT)];
    let setup_sql = if plan_each_call { SETUP_PLANNING_EACH_CALL_SQL } else { SETUP_SQL };
    let begin = client.batch_execute("begin");
    // Always the unnamed statement: its Parse, Bind and Execute go out at
    // once, so the statement's own Parse (when first prepared) reaches the
    // server after the role switch and resolves names as that role.
    let setup = client.query_typed(setup_sql, &setup_params);
    // join! polls in order, so BEGIN, the setup and the statement are queued
    // back to back before any reply is awaited.
    let (begin, setup, statement) = tokio::join!(begin, setup, statement);
    begin.and(setup).map(|_| ()).and(statement)
}

impl Drop for Tx {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.state == TxState::Finished || self.pending_setup.is_some() {
            return; // clean: back to the pool
        }
        if conn.is_closed() {
            let _ = Object::take(conn);
            return;
        }
        // The request is queued on the connection by the first poll, ahead of
        // anything the next borrower sends; the reply is drained and dropped.
        let _ = conn.batch_execute("rollback").now_or_never();
    }
}
