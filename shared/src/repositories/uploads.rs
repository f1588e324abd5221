//! Uploaded inputs as the database knows them (`private.uploads`, written
//! by `POST /uploads`; migrations 039 and 040), for their retention.

use crate::db::{DbError, Tx, Type};
use std::time::Duration;

/// Upload keys (bucket `private`) whose last job, or whose upload when no
/// job used them, is older than `retention`; oldest first.
pub async fn expired_uploads(tx: &mut Tx, retention: Duration, limit: i64) -> Result<Vec<String>, DbError> {
    let seconds = retention.as_secs_f64();
    let rows = tx
        .query(
            "select u.key from private.uploads u
              where u.created_at < now() - make_interval(secs => $1)
                and not exists (
                  select 1 from public.generation_jobs j
                   where j.owner_id = u.owner_id
                     and j.created_at >= now() - make_interval(secs => $1)
                     and 'private/' || u.key in (j.input1_path, j.input2_path))
              order by u.created_at
              limit $2",
            &[(&seconds, Type::FLOAT8), (&limit, Type::INT8)],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Forgets uploads storage confirmed deleted, and marks the jobs that used
/// them: their inputs have expired.
pub async fn forget_expired(tx: &mut Tx, keys: &[String]) -> Result<(), DbError> {
    tx.execute(
        "with gone as (delete from private.uploads where key = any($1::text[]) returning key, owner_id)
         update public.generation_jobs j set inputs_expired_at = now()
           from gone
          where j.owner_id = gone.owner_id and j.inputs_expired_at is null
            and 'private/' || gone.key in (j.input1_path, j.input2_path)",
        &[(&keys, Type::TEXT_ARRAY)],
    )
    .await?;
    Ok(())
}
