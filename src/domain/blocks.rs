//! Blocking: a block ends follows both ways and refuses new ones.

use diesel::prelude::*;

use crate::app::AppState;
use crate::db::models::{Account, Follow};
use crate::db::schema::blocks;
use crate::db::{DbConn, id, now};
use crate::delivery;
use crate::error::{AppError, AppResult};
use crate::federation::protocol::activities::{block_json, undo_follow_json, undo_json};
use crate::federation::urls;

pub fn is_blocked(conn: &mut DbConn, blocker: i64, target: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        blocks::table
            .filter(blocks::account_id.eq(blocker))
            .filter(blocks::target_account_id.eq(target)),
    ))
    .get_result(conn)
}

/// Either of the two blocks the other.
pub fn blocked_either_way(conn: &mut DbConn, a: i64, b: i64) -> QueryResult<bool> {
    Ok(is_blocked(conn, a, b)? || is_blocked(conn, b, a)?)
}

fn block_uri(conn: &mut DbConn, blocker: i64, target: i64) -> QueryResult<Option<Option<String>>> {
    blocks::table
        .filter(blocks::account_id.eq(blocker))
        .filter(blocks::target_account_id.eq(target))
        .select(blocks::uri)
        .first(conn)
        .optional()
}

/// Records the block and removes follows in both directions.
fn apply_block(
    conn: &mut DbConn,
    blocker: i64,
    target: i64,
    uri: Option<&str>,
) -> QueryResult<Vec<Follow>> {
    if !is_blocked(conn, blocker, target)? {
        diesel::insert_into(blocks::table)
            .values((
                blocks::id.eq(id::next_id()),
                blocks::account_id.eq(blocker),
                blocks::target_account_id.eq(target),
                blocks::uri.eq(uri),
                blocks::created_at.eq(now()),
            ))
            .execute(conn)?;
    }
    let mut removed = Vec::new();
    for (f, t) in [(blocker, target), (target, blocker)] {
        if let Some(follow) = Follow::find(conn, f, t)? {
            Follow::delete(conn, follow.id)?;
            removed.push(follow);
        }
    }
    Ok(removed)
}

/// A local account blocks another; a remote one is told with Block.
pub async fn block(state: &AppState, blocker: &Account, target: &Account) -> AppResult<()> {
    if blocker.id == target.id {
        return Err(AppError::Unprocessable("You cannot block yourself".into()));
    }
    let (base, blocker, target) = (state.base_url(), blocker.clone(), target.clone());
    state
        .db
        .transaction(move |c| {
            let uri = urls::activity(&base, id::next_id());
            let removed = apply_block(c, blocker.id, target.id, Some(&uri))?;
            if let (false, Some(inbox)) = (target.is_local(), target.inbox_url.clone()) {
                // Our own follow of them is withdrawn explicitly too.
                for f in removed.iter().filter(|f| f.account_id == blocker.id) {
                    let follow_id = f.uri.clone().unwrap_or_else(|| urls::activity(&base, f.id));
                    let undo = undo_follow_json(
                        &urls::activity(&base, id::next_id()),
                        &blocker.uri,
                        &follow_id,
                        &target.uri,
                    );
                    delivery::enqueue(c, blocker.id, &undo, std::slice::from_ref(&inbox))?;
                }
                delivery::enqueue(
                    c,
                    blocker.id,
                    &block_json(&uri, &blocker.uri, &target.uri),
                    &[inbox],
                )?;
            }
            Ok::<_, AppError>(())
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(())
}

pub async fn unblock(state: &AppState, blocker: &Account, target: &Account) -> AppResult<()> {
    let (base, blocker, target) = (state.base_url(), blocker.clone(), target.clone());
    state
        .db
        .transaction(move |c| {
            let Some(uri) = block_uri(c, blocker.id, target.id)? else {
                return Ok(());
            };
            diesel::delete(
                blocks::table
                    .filter(blocks::account_id.eq(blocker.id))
                    .filter(blocks::target_account_id.eq(target.id)),
            )
            .execute(c)?;
            if let (false, Some(inbox)) = (target.is_local(), target.inbox_url.clone()) {
                let block_id = uri.unwrap_or_else(|| urls::activity(&base, id::next_id()));
                let undo = undo_json(
                    &urls::activity(&base, id::next_id()),
                    &blocker.uri,
                    block_json(&block_id, &blocker.uri, &target.uri),
                );
                delivery::enqueue(c, blocker.id, &undo, &[inbox])?;
            }
            Ok::<_, AppError>(())
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(())
}

/// A remote actor blocked a local account.
pub async fn receive_block(
    state: &AppState,
    blocker: &Account,
    target: &Account,
    uri: &str,
) -> AppResult<()> {
    let (b, t, uri) = (blocker.id, target.id, uri.to_string());
    state
        .db
        .transaction(move |c| {
            apply_block(c, b, t, Some(&uri))?;
            Ok::<_, AppError>(())
        })
        .await
}

pub async fn receive_unblock(
    state: &AppState,
    blocker: &Account,
    target: Option<&Account>,
    uri: Option<String>,
) -> AppResult<()> {
    let (b, t) = (blocker.id, target.map(|t| t.id));
    state
        .db
        .transaction(move |c| {
            let q = blocks::table.filter(blocks::account_id.eq(b)).into_boxed();
            let q = match (t, &uri) {
                (Some(t), _) => q.filter(blocks::target_account_id.eq(t)),
                (None, Some(u)) => q.filter(blocks::uri.eq(u.clone())),
                (None, None) => return Ok(()),
            };
            let ids: Vec<i64> = q.select(blocks::id).load(c)?;
            diesel::delete(blocks::table.filter(blocks::id.eq_any(ids))).execute(c)?;
            Ok::<_, AppError>(())
        })
        .await
}
