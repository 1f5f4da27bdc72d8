//! Invitations to a local group, for a team that must form in minutes: a
//! moderator invites people (local or on partner instances), each gets a
//! direct post from the group saying so (every app shows it), and
//! following the group accepts: a closed group lets an invitee in without
//! another approval.

use diesel::prelude::*;

use crate::db::models::{Account, Follow};
use crate::db::schema::{accounts, group_invites};
use crate::db::{DbConn, now};
use crate::domain::groups::{self, Group};
use crate::domain::statuses::{self, PostInput};
use crate::error::{AppError, AppResult};
use crate::federation::FedData;
use crate::federation::protocol::note::Visibility;

/// Invitations one call may send.
pub const MAX_PER_CALL: usize = 100;

/// Whether `account` is invited to `group`; the invitation is used up.
pub fn take(c: &mut DbConn, group: i64, account: i64) -> QueryResult<bool> {
    let n = diesel::delete(
        group_invites::table
            .filter(group_invites::group_id.eq(group))
            .filter(group_invites::account_id.eq(account)),
    )
    .execute(c)?;
    Ok(n > 0)
}

/// The people invited and not yet joined, oldest invitation first.
pub fn pending(c: &mut DbConn, group: i64) -> QueryResult<Vec<Account>> {
    group_invites::table
        .inner_join(accounts::table.on(accounts::id.eq(group_invites::account_id)))
        .filter(group_invites::group_id.eq(group))
        .order(group_invites::created_at.asc())
        .select(Account::as_select())
        .load(c)
}

/// Why `a` cannot be invited to `g` by `by`, if it cannot.
fn refusal(c: &mut DbConn, g: &Group, by: i64, a: &Account) -> AppResult<Option<String>> {
    use crate::domain::blocks::blocked_either_way;
    let handle = crate::api::mastodon::entities::acct(a);
    if a.actor_type == "Group" || a.id == g.account.id {
        return Ok(Some(format!("{handle} is a group")));
    }
    if a.suspended_at.is_some() {
        return Ok(Some(format!("{handle} is suspended")));
    }
    if blocked_either_way(c, a.id, g.account.id)? || blocked_either_way(c, a.id, by)? {
        return Ok(Some(format!("{handle} cannot be invited (blocked)")));
    }
    Ok(None)
}

/// `moderator` invites `ids` to local group `group_id`: rows written, a
/// direct post from the group to each newly invited person; someone who
/// already asked to join is let in at once. Members are skipped. Answers
/// the accounts invited by this call.
pub async fn invite(
    data: &FedData,
    moderator: &Account,
    group_id: i64,
    ids: Vec<i64>,
) -> AppResult<Vec<Account>> {
    if ids.is_empty() {
        return Err(AppError::Unprocessable(
            "Validation failed: account_ids can't be blank".into(),
        ));
    }
    if ids.len() > MAX_PER_CALL {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: at most {MAX_PER_CALL} accounts per invitation"
        )));
    }
    let by = moderator.id;
    let found = data
        .db
        .run(move |c| {
            ids.iter()
                .map(|id| {
                    Account::by_id(c, *id)
                        .optional()?
                        .ok_or_else(|| AppError::NotFound(format!("Account {id} not found")))
                })
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    for a in &found {
        if let Some(d) = &a.domain
            && !data.policy.allows(d).await?
        {
            return Err(AppError::Unprocessable(format!(
                "Validation failed: {}@{d} is on a server this one does not federate with",
                a.username
            )));
        }
    }
    let (g, invited, requested) = data
        .db
        .transaction(move |c| {
            let g = groups::moderated(c, by, group_id)?;
            let mut people = Vec::new();
            for a in found {
                if let Some(why) = refusal(c, &g, by, &a)? {
                    return Err(AppError::Unprocessable(format!("Validation failed: {why}")));
                }
                if !people.iter().any(|p: &Account| p.id == a.id) {
                    people.push(a);
                }
            }
            let (mut invited, mut requested) = (Vec::new(), Vec::new());
            for a in people {
                match Follow::find(c, a.id, g.account.id)? {
                    Some(f) if f.pending => requested.push(a),
                    Some(_) => {}
                    None => {
                        let row = (
                            group_invites::group_id.eq(g.account.id),
                            group_invites::account_id.eq(a.id),
                            group_invites::invited_by.eq(by),
                            group_invites::created_at.eq(now()),
                        );
                        let q = diesel::insert_into(group_invites::table).values(row);
                        let n = match c {
                            DbConn::Sqlite(l) => q.on_conflict_do_nothing().execute(l)?,
                            DbConn::Postgres(p) => q.on_conflict_do_nothing().execute(p)?,
                        };
                        if n > 0 {
                            invited.push(a);
                        }
                    }
                }
            }
            Ok::<_, AppError>((g, invited, requested))
        })
        .await?;
    for a in &requested {
        crate::domain::follows::authorize_follow_request(data, &g.account, a).await?;
    }
    let name = if g.account.display_name.is_empty() {
        g.account.username.clone()
    } else {
        g.account.display_name.clone()
    };
    let how = if g.settings.closed {
        "Follow the group to join: your invitation lets you in without waiting for approval."
    } else {
        "Follow the group to join."
    };
    for a in &invited {
        let handle = match &a.domain {
            Some(d) => format!("@{}@{d}", a.username),
            None => format!("@{}", a.username),
        };
        let text = format!(
            "{handle} @{} invited you to join {name}. {how}",
            moderator.username
        );
        statuses::post_status(
            data,
            &g.account,
            PostInput {
                visibility: Visibility::Direct,
                ..PostInput::public(&text)
            },
        )
        .await?;
    }
    let mut all = invited;
    all.extend(requested);
    Ok(all)
}

/// Withdraws invitations not yet used; answers how many there were.
pub async fn withdraw(
    data: &FedData,
    moderator: &Account,
    group_id: i64,
    ids: Vec<i64>,
) -> AppResult<usize> {
    let by = moderator.id;
    data.db
        .transaction(move |c| {
            let g = groups::moderated(c, by, group_id)?;
            Ok(diesel::delete(
                group_invites::table
                    .filter(group_invites::group_id.eq(g.account.id))
                    .filter(group_invites::account_id.eq_any(ids)),
            )
            .execute(c)?)
        })
        .await
}
