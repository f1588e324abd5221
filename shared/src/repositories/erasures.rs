//! Account erasures (`039_account_erasure.sql`, `DELETE /api/v1/me`): what
//! is left to delete of an erased user, in schema `private`, service only.

use crate::db::{DbError, Tx, Type};
use uuid::Uuid;

/// Writes down the user's stored objects and running predictions, then
/// deletes their profile and, by cascade, every row they own; commits.
pub async fn begin(tx: Tx, user_id: Uuid) -> Result<(), DbError> {
    tx.query_and_commit("select private.begin_account_erasure($1)", &[(&user_id, Type::UUID)]).await?;
    Ok(())
}

/// Predictions of the user still to cancel at Replicate.
pub async fn predictions(tx: &mut Tx, user_id: Uuid) -> Result<Vec<String>, DbError> {
    let rows = tx
        .query("select predictions from private.account_erasures where user_id = $1", &[(&user_id, Type::UUID)])
        .await?;
    Ok(rows.first().map(|row| row.get(0)).unwrap_or_default())
}

/// A prediction canceled (or already gone at Replicate).
pub async fn forget_prediction(tx: &mut Tx, user_id: Uuid, prediction_id: &str) -> Result<(), DbError> {
    tx.execute(
        "update private.account_erasures set predictions = array_remove(predictions, $2) where user_id = $1",
        &[(&user_id, Type::UUID), (&prediction_id, Type::TEXT)],
    )
    .await?;
    Ok(())
}

/// Up to `limit` objects still to delete, as (bucket, key).
pub async fn next_objects(tx: &mut Tx, user_id: Uuid, limit: i64) -> Result<Vec<(String, String)>, DbError> {
    let rows = tx
        .query(
            "select bucket, key from private.erasure_objects where user_id = $1 order by bucket, key limit $2",
            &[(&user_id, Type::UUID), (&limit, Type::INT8)],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Objects storage confirmed deleted.
pub async fn forget_objects(tx: &mut Tx, bucket: &str, keys: &[String]) -> Result<(), DbError> {
    tx.execute(
        "delete from private.erasure_objects where bucket = $1 and key = any($2::text[])",
        &[(&bucket, Type::TEXT), (&keys, Type::TEXT_ARRAY)],
    )
    .await?;
    Ok(())
}

/// Whether the Auth user is still to be deleted.
pub async fn auth_user_pending(tx: &mut Tx, user_id: Uuid) -> Result<bool, DbError> {
    let rows = tx
        .query(
            "select 1 from private.account_erasures where user_id = $1 and auth_user_deleted_at is null",
            &[(&user_id, Type::UUID)],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// The Auth user is deleted.
pub async fn auth_user_deleted(tx: &mut Tx, user_id: Uuid) -> Result<(), DbError> {
    tx.execute(
        "update private.account_erasures set auth_user_deleted_at = now() where user_id = $1",
        &[(&user_id, Type::UUID)],
    )
    .await?;
    Ok(())
}

/// Marks the erasure finished when nothing is left; answers how many
/// objects and predictions are left, and the Auth user when `with_auth_user`
/// (the functions can delete it) and it is not deleted yet.
pub async fn finish_if_done(tx: &mut Tx, user_id: Uuid, with_auth_user: bool) -> Result<i64, DbError> {
    let row = tx
        .query_one(
            "with left_over as (
               select (select count(*) from private.erasure_objects where user_id = $1)
                      + coalesce((select cardinality(predictions)
                                    + case when $2 and auth_user_deleted_at is null then 1 else 0 end
                                    from private.account_erasures where user_id = $1), 0) as n
             ), finished as (
               update private.account_erasures set finished_at = coalesce(finished_at, now())
                where user_id = $1 and (select n from left_over) = 0
             )
             select n from left_over",
            &[(&user_id, Type::UUID), (&with_auth_user, Type::BOOL)],
        )
        .await?;
    Ok(row.get(0))
}

/// Erasures not finished yet, oldest first (the sweeper's share).
pub async fn unfinished(tx: &mut Tx, limit: i64) -> Result<Vec<Uuid>, DbError> {
    let rows = tx
        .query(
            "select user_id from private.account_erasures where finished_at is null order by requested_at limit $1",
            &[(&limit, Type::INT8)],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}
