//! Accounts as a whole: what happens when one goes away.

use diesel::prelude::*;

use crate::app::AppState;
use crate::db::models::Account;
use crate::db::schema::{accounts, follows, statuses};
use crate::error::{AppError, AppResult};
use crate::federation::objects::ApubAccount;

/// A remote actor deleted itself: its posts and relations go; the row stays
/// (suspended) so its id is not taken over by a later fetch.
pub async fn receive_actor_deleted(state: &AppState, actor: &ApubAccount) -> AppResult<()> {
    let account: Account = actor.account.clone();
    if account.is_local() {
        return Err(AppError::Forbidden("Delete of a local actor".into()));
    }
    let id = account.id;
    state
        .db
        .transaction(move |c| {
            diesel::delete(statuses::table.filter(statuses::account_id.eq(id))).execute(c)?;
            diesel::delete(
                follows::table.filter(
                    follows::account_id
                        .eq(id)
                        .or(follows::target_account_id.eq(id)),
                ),
            )
            .execute(c)?;
            diesel::update(accounts::table.find(id))
                .set(accounts::suspended_at.eq(crate::db::now()))
                .execute(c)?;
            Ok::<_, AppError>(())
        })
        .await
}
