//! How a statement reaches PostgreSQL: as the unnamed statement, parsed and
//! planned on every call, or as a named statement the connection prepared
//! once and keeps.

use super::Param;
use deadpool_postgres::ClientWrapper;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Error, Row};

/// How statements reach PostgreSQL (`DATABASE_PREPARED_STATEMENTS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatementMode {
    /// The unnamed statement, parsed and planned on every call: safe behind
    /// any transaction pooler (Supavisor's included).
    #[default]
    Unnamed,
    /// Named statements prepared once per connection (deadpool's statement
    /// cache) and executed by name. The statements are the code's own SQL, a
    /// few dozen texts, so the cache stays small.
    Prepared,
}

/// A statement ready to bind and execute.
pub(super) enum Ready<'s> {
    Unnamed(&'s str),
    Prepared(tokio_postgres::Statement),
}

impl<'s> Ready<'s> {
    /// Prepares `sql` on the connection the first time it is seen there (a
    /// round trip, once per connection and text); otherwise returns at once
    /// without sending anything, so what the caller queues next still shares
    /// the flight. Callers prepare every statement of a flight before
    /// queuing any execution, so they run in the order given.
    pub(super) async fn new(
        client: &ClientWrapper,
        mode: StatementMode,
        sql: &'s str,
        params: &[Param<'_>],
    ) -> Result<Ready<'s>, Error> {
        match mode {
            StatementMode::Unnamed => Ok(Ready::Unnamed(sql)),
            StatementMode::Prepared => {
                let types: Vec<Type> = params.iter().map(|(_, ty)| ty.clone()).collect();
                Ok(Ready::Prepared(client.prepare_typed_cached(sql, &types).await?))
            }
        }
    }

    pub(super) async fn rows(self, client: &ClientWrapper, params: &[Param<'_>]) -> Result<Vec<Row>, Error> {
        match self {
            Ready::Unnamed(sql) => client.query_typed(sql, params).await,
            Ready::Prepared(statement) => client.query(&statement, &values(params)).await,
        }
    }

    pub(super) async fn count(self, client: &ClientWrapper, params: &[Param<'_>]) -> Result<u64, Error> {
        match self {
            Ready::Unnamed(sql) => client.execute_typed(sql, params).await,
            Ready::Prepared(statement) => client.execute(&statement, &values(params)).await,
        }
    }
}

fn values<'a>(params: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|(value, _)| *value).collect()
}
