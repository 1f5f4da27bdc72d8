//! Following: requests, approval, unfollowing, whichever side is remote.

use diesel::QueryResult;

use crate::app::AppState;
use crate::db::models::{Account, Follow};
use crate::db::{DbConn, id};
use crate::delivery;
use crate::domain::notifications;
use crate::error::{AppError, AppResult};
use crate::federation::protocol::activities::{answer_follow_json, follow_json, undo_follow_json};
use crate::federation::urls;

fn inbox_of(a: &Account) -> AppResult<String> {
    a.inbox_url
        .clone()
        .ok_or_else(|| AppError::BadRequest(format!("{} has no inbox", a.uri)))
}

fn queue(
    conn: &mut DbConn,
    sender: &Account,
    activity: &serde_json::Value,
    to: &Account,
) -> AppResult<()> {
    delivery::enqueue(conn, sender.id, activity, &[inbox_of(to)?])?;
    Ok(())
}

/// Whether `follower` joins group `target` on an invitation (used up
/// here): for a closed group, the invitation is the approval.
fn invitation_used(c: &mut DbConn, target: &Account, follower: &Account) -> QueryResult<bool> {
    if target.actor_type != "Group" {
        return Ok(false);
    }
    crate::domain::group_invites::take(c, target.id, follower.id)
}

/// A local account asks to follow `target`. Local targets answer at once;
/// remote ones get a Follow and answer with Accept or Reject later.
pub async fn follow(state: &AppState, follower: &Account, target: &Account) -> AppResult<Follow> {
    follow_with(state, follower, target, FollowOptions::default()).await
}

/// What a follower asks of a follow; `None` keeps the current choice
/// (boosts shown, no post notifications for a new follow).
#[derive(Debug, Clone, Copy, Default)]
pub struct FollowOptions {
    pub reblogs: Option<bool>,
    pub notify: Option<bool>,
}

/// [`follow`], with the follower's options; following again updates them.
pub async fn follow_with(
    state: &AppState,
    follower: &Account,
    target: &Account,
    options: FollowOptions,
) -> AppResult<Follow> {
    if !follower.is_local() {
        return Err(AppError::Forbidden(
            "only local accounts can follow from here".into(),
        ));
    }
    if follower.id == target.id {
        return Err(AppError::Unprocessable("You cannot follow yourself".into()));
    }
    let base = state.base_url();
    let (follower, target) = (follower.clone(), target.clone());
    let follow = state
        .db
        .transaction(move |c| {
            if crate::domain::blocks::blocked_either_way(c, follower.id, target.id)? {
                return Err(AppError::Forbidden("You cannot follow this account".into()));
            }
            let set_options = |c: &mut DbConn, f: Follow| -> QueryResult<Follow> {
                let reblogs = options.reblogs.unwrap_or(f.show_reblogs);
                let notify = options.notify.unwrap_or(f.notify);
                if (reblogs, notify) != (f.show_reblogs, f.notify) {
                    Follow::set_options(c, f.id, reblogs, notify)?;
                }
                Ok(Follow {
                    show_reblogs: reblogs,
                    notify,
                    ..f
                })
            };
            if let Some(existing) = Follow::find(c, follower.id, target.id)? {
                return Ok(set_options(c, existing)?);
            }
            if target.is_local() {
                let invited = invitation_used(c, &target, &follower)?;
                let pending = target.locked && !invited;
                let f = Follow::insert(c, follower.id, target.id, None, pending)?;
                let f = set_options(c, f)?;
                let kind = if pending { "follow_request" } else { "follow" };
                notifications::notify(c, target.id, follower.id, kind, None)?;
                return Ok(f);
            }
            let uri = urls::activity(&base, id::next_id());
            let f = Follow::insert(c, follower.id, target.id, Some(&uri), true)?;
            let f = set_options(c, f)?;
            queue(
                c,
                &follower,
                &follow_json(&uri, &follower.uri, &target.uri),
                &target,
            )?;
            Ok::<_, AppError>(f)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(follow)
}

/// A local account stops following (or withdraws its request).
pub async fn unfollow(state: &AppState, follower: &Account, target: &Account) -> AppResult<bool> {
    let base = state.base_url();
    let (follower, target) = (follower.clone(), target.clone());
    let removed = state
        .db
        .transaction(move |c| {
            let Some(f) = Follow::find(c, follower.id, target.id)? else {
                return Ok(false);
            };
            Follow::delete(c, f.id)?;
            notifications::retract(c, target.id, follower.id, "follow", None)?;
            notifications::retract(c, target.id, follower.id, "follow_request", None)?;
            if !target.is_local() && follower.is_local() {
                let follow_id = f.uri.clone().unwrap_or_else(|| urls::activity(&base, f.id));
                let undo = undo_follow_json(
                    &urls::activity(&base, id::next_id()),
                    &follower.uri,
                    &follow_id,
                    &target.uri,
                );
                queue(c, &follower, &undo, &target)?;
            }
            Ok::<_, AppError>(true)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(removed)
}

/// A remote actor's Follow of a local account arrived.
pub async fn receive_follow(
    state: &AppState,
    follower: Account,
    target: Account,
    follow_uri: String,
) -> AppResult<()> {
    let base = state.base_url();
    state
        .db
        .transaction(move |c| {
            // A Follow of the instance actor subscribes to our public posts
            // (the partner feed): allowed partners' instance actors only.
            let feed = crate::domain::partner_feed::is_our_instance_actor(&target);
            if crate::domain::blocks::blocked_either_way(c, follower.id, target.id)?
                || (feed && !crate::domain::partner_feed::may_subscribe(c, &follower)?)
            {
                let reject = answer_follow_json(
                    "Reject",
                    &urls::activity(&base, id::next_id()),
                    &target.uri,
                    &follow_uri,
                    &follower.uri,
                );
                return queue(c, &target, &reject, &follower);
            }
            if feed && Follow::find(c, follower.id, target.id)?.is_none() {
                Follow::insert(c, follower.id, target.id, Some(&follow_uri), false)?;
            }
            let f = match Follow::find(c, follower.id, target.id)? {
                Some(existing) => {
                    Follow::set_uri(c, existing.id, &follow_uri)?;
                    existing
                }
                None => {
                    let invited = invitation_used(c, &target, &follower)?;
                    let pending = target.locked && !invited;
                    let f = Follow::insert(c, follower.id, target.id, Some(&follow_uri), pending)?;
                    let kind = if pending { "follow_request" } else { "follow" };
                    notifications::notify(c, target.id, follower.id, kind, None)?;
                    f
                }
            };
            if !f.pending {
                let accept = answer_follow_json(
                    "Accept",
                    &urls::activity(&base, id::next_id()),
                    &target.uri,
                    &follow_uri,
                    &follower.uri,
                );
                queue(c, &target, &accept, &follower)?;
            }
            Ok::<_, AppError>(())
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(())
}

/// A remote account accepted or rejected a local account's follow request.
pub async fn receive_follow_answer(
    state: &AppState,
    target: Account,
    follow_uri: Option<String>,
    follower: Option<Account>,
    accepted: bool,
) -> AppResult<()> {
    state
        .db
        .transaction(move |c| {
            let by_uri = match &follow_uri {
                Some(u) => Follow::by_uri(c, u)?,
                None => None,
            };
            let found = match (by_uri, &follower) {
                (Some(f), _) => Some(f),
                (None, Some(fr)) => Follow::find(c, fr.id, target.id)?,
                (None, None) => None,
            };
            // Only the followed account may answer.
            let Some(f) = found.filter(|f| f.target_account_id == target.id) else {
                return Ok(());
            };
            if accepted {
                Follow::set_accepted(c, f.id)?;
            } else {
                Follow::delete(c, f.id)?;
            }
            Ok::<_, AppError>(())
        })
        .await
}

/// A remote actor withdrew its follow of a local account.
pub async fn receive_unfollow(
    state: &AppState,
    follower: Account,
    follow_uri: Option<String>,
    target: Option<Account>,
) -> AppResult<()> {
    state
        .db
        .transaction(move |c| {
            let found = match (&follow_uri, &target) {
                (_, Some(t)) => Follow::find(c, follower.id, t.id)?,
                (Some(u), None) => Follow::by_uri(c, u)?,
                (None, None) => None,
            };
            if let Some(f) = found.filter(|f| f.account_id == follower.id) {
                Follow::delete(c, f.id)?;
            }
            Ok::<_, AppError>(())
        })
        .await
}

/// A local account approves a pending follow request.
pub async fn authorize_follow_request(
    state: &AppState,
    target: &Account,
    follower: &Account,
) -> AppResult<()> {
    answer_follow_request(state, target, follower, true, true).await
}

/// A local account turns down a pending follow request.
pub async fn reject_follow_request(
    state: &AppState,
    target: &Account,
    follower: &Account,
) -> AppResult<()> {
    answer_follow_request(state, target, follower, false, true).await
}

/// A local account makes someone stop following it (a remote follower's
/// server is sent Reject, as Mastodon does).
pub async fn remove_follower(
    state: &AppState,
    target: &Account,
    follower: &Account,
) -> AppResult<()> {
    answer_follow_request(state, target, follower, false, false).await
}

async fn answer_follow_request(
    state: &AppState,
    target: &Account,
    follower: &Account,
    accept: bool,
    only_pending: bool,
) -> AppResult<()> {
    let base = state.base_url();
    let (target, follower) = (target.clone(), follower.clone());
    state
        .db
        .transaction(move |c| {
            let Some(f) =
                Follow::find(c, follower.id, target.id)?.filter(|f| f.pending || !only_pending)
            else {
                if only_pending {
                    return Err(AppError::NotFound("No pending follow request".into()));
                }
                return Ok(());
            };
            notifications::retract(c, target.id, follower.id, "follow_request", None)?;
            if accept {
                Follow::set_accepted(c, f.id)?;
                notifications::notify(c, target.id, follower.id, "follow", None)?;
            } else {
                Follow::delete(c, f.id)?;
            }
            if !follower.is_local() {
                let answer = answer_follow_json(
                    if accept { "Accept" } else { "Reject" },
                    &urls::activity(&base, id::next_id()),
                    &target.uri,
                    &f.uri.clone().unwrap_or_default(),
                    &follower.uri,
                );
                queue(c, &target, &answer, &follower)?;
            }
            Ok::<_, AppError>(())
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(())
}
