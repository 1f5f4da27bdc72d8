//! What admins and moderators may do to accounts and reports, shared by the
//! Mastodon admin API and the admin console: Mastodon's role permission
//! bits, the actions themselves, and the action log both read.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::app::AppState;
use crate::db::models::{Account, Role, User};
use crate::db::schema::{accounts, admin_action_logs, reports, sensitized_accounts, users};
use crate::db::{DbConn, id, now};
use crate::error::{AppError, AppResult};

/// Mastodon's role permission bits (app/models/user_role.rb).
pub mod perm {
    pub const ADMINISTRATOR: u64 = 1 << 0;
    pub const VIEW_AUDIT_LOG: u64 = 1 << 2;
    pub const VIEW_DASHBOARD: u64 = 1 << 3;
    pub const MANAGE_REPORTS: u64 = 1 << 4;
    pub const MANAGE_FEDERATION: u64 = 1 << 5;
    pub const MANAGE_TAXONOMIES: u64 = 1 << 8;
    pub const MANAGE_ANNOUNCEMENTS: u64 = 1 << 13;
    pub const MANAGE_USERS: u64 = 1 << 10;
    pub const MANAGE_INVITES: u64 = 1 << 16;
    pub const MANAGE_ROLES: u64 = 1 << 17;
    pub const MANAGE_USER_ACCESS: u64 = 1 << 18;
    pub const DELETE_USER_DATA: u64 = 1 << 19;
    /// Every bit Mastodon defines, for clients that test bits one by one.
    pub const ALL: u64 = (1 << 20) - 1;
    /// Meetfield's own: connector insight (who bridges whom), for admins
    /// only unless a role is given it.
    pub const VIEW_INSIGHTS: u64 = 1 << 40;
}

/// What a role may do, as Mastodon's built-in roles do: moderators handle
/// users and reports; only admins change federation, roles, passwords or
/// delete data.
pub fn permissions(role: Role) -> u64 {
    match role {
        Role::Owner | Role::Admin => perm::ALL | perm::VIEW_INSIGHTS,
        Role::Moderator => {
            perm::VIEW_AUDIT_LOG
                | perm::VIEW_DASHBOARD
                | perm::MANAGE_REPORTS
                | perm::MANAGE_TAXONOMIES
                | perm::MANAGE_USERS
        }
        Role::User => 0,
    }
}

pub fn may(role: Role, bit: u64) -> bool {
    let p = permissions(role);
    p & perm::ADMINISTRATOR != 0 || p & bit != 0
}

/// 403 unless `actor` ranks above `target` (Mastodon's role positions):
/// moderators act on users, admins on moderators too, the owner on all.
pub fn outranks(actor: Role, target: Role) -> AppResult<()> {
    if actor.rank() > target.rank() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "This account's role is as high as yours".into(),
        ))
    }
}

/// Whether `actor` may give `role` to someone: a role below their own, or
/// any role for the owner.
pub fn may_give(actor: Role, role: Role) -> bool {
    actor == Role::Owner || (may(actor, perm::MANAGE_ROLES) && role.rank() < actor.rank())
}

/// 403 unless `actor` may move someone from `from` to `to`.
pub fn may_change_role(actor: Role, from: Role, to: Role) -> AppResult<()> {
    if actor != Role::Owner {
        outranks(actor, from)?;
    }
    if may_give(actor, to) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "You cannot give the role {}",
            to.as_str()
        )))
    }
}

/// Who acts: their account (for the log) and user (not on themselves).
#[derive(Debug, Clone, Copy)]
pub struct Moderator {
    pub account_id: i64,
    pub user_id: i64,
    pub role: Role,
}

impl Moderator {
    pub fn of(user: &User) -> Moderator {
        Moderator {
            account_id: user.account_id,
            user_id: user.id,
            role: user.role(),
        }
    }

    /// 403 unless the role has `bit`.
    pub fn check(&self, bit: u64) -> AppResult<()> {
        if may(self.role, bit) {
            Ok(())
        } else {
            Err(AppError::Forbidden("This action is not allowed".into()))
        }
    }
}

/// Records an admin action (the console's log page reads it).
pub fn log(
    c: &mut DbConn,
    actor: i64,
    action: &str,
    target_type: &str,
    target_id: &str,
    detail: &str,
) -> QueryResult<()> {
    diesel::insert_into(admin_action_logs::table)
        .values((
            admin_action_logs::id.eq(id::next_id()),
            admin_action_logs::account_id.eq(actor),
            admin_action_logs::action.eq(action),
            admin_action_logs::target_type.eq(target_type),
            admin_action_logs::target_id.eq(target_id),
            admin_action_logs::detail.eq(detail),
            admin_action_logs::created_at.eq(now()),
        ))
        .execute(c)
        .map(|_| ())
}

/// [`log`] in a write of its own, for an action already done.
pub async fn record(
    state: &AppState,
    actor: i64,
    action: &str,
    target_type: &str,
    target_id: &str,
    detail: &str,
) -> AppResult<()> {
    let (a, t, i, d) = (
        action.to_string(),
        target_type.to_string(),
        target_id.to_string(),
        detail.to_string(),
    );
    state
        .db
        .run(move |c| log(c, actor, &a, &t, &i, &d).map_err(AppError::from))
        .await
}

/// A person's or service's account and, when local, its user.
pub fn account_with_user(c: &mut DbConn, id: i64) -> AppResult<(Account, Option<User>)> {
    let a = Account::by_id(c, id)
        .optional()?
        .filter(|a| a.actor_type == "Person" || a.actor_type == "Service")
        .ok_or_else(AppError::not_found)?;
    let u = users::table
        .filter(users::account_id.eq(a.id))
        .select(User::as_select())
        .first(c)
        .optional()?;
    Ok((a, u))
}

/// Marks a report handled by `actor` (an action taken on its target).
fn resolve_report(c: &mut DbConn, report: i64, actor: i64) -> QueryResult<usize> {
    diesel::update(reports::table.find(report))
        .set((
            reports::action_taken_at.eq(now()),
            reports::action_taken_by_account_id.eq(actor),
            reports::updated_at.eq(now()),
        ))
        .execute(c)
}

/// The actions of Mastodon's "moderate" form.
pub const ACTIONS: [&str; 5] = ["none", "sensitive", "disable", "silence", "suspend"];

/// Takes action `kind` on account `target`, closing `report` if given.
pub async fn act(
    state: &AppState,
    m: Moderator,
    target: i64,
    kind: &str,
    report: Option<i64>,
    detail: &str,
) -> AppResult<()> {
    m.check(perm::MANAGE_USERS)?;
    if !ACTIONS.contains(&kind) {
        return Err(AppError::Unprocessable(format!(
            "Unknown action type: {kind}"
        )));
    }
    let (kind, detail) = (kind.to_string(), detail.to_string());
    state
        .db
        .transaction(move |c| {
            let (a, u) = account_with_user(c, target)?;
            if u.as_ref().is_some_and(|u| u.id == m.user_id) && kind != "none" {
                return Err(AppError::Forbidden(
                    "You cannot act on your own account".into(),
                ));
            }
            if let Some(u) = &u
                && kind != "none"
            {
                outranks(m.role, u.role())?;
            }
            let t = now();
            match kind.as_str() {
                "sensitive" => {
                    diesel::delete(sensitized_accounts::table.find(a.id)).execute(c)?;
                    diesel::insert_into(sensitized_accounts::table)
                        .values((
                            sensitized_accounts::account_id.eq(a.id),
                            sensitized_accounts::created_at.eq(t),
                        ))
                        .execute(c)?;
                }
                "disable" => {
                    let u = u.as_ref().ok_or_else(|| {
                        AppError::Unprocessable("Only local accounts can be disabled".into())
                    })?;
                    User::set_disabled(c, u.id, true)?;
                    crate::stream::bus::publish(
                        c,
                        crate::stream::bus::Signal::Disconnect { a: a.id },
                    )?;
                }
                "silence" => {
                    diesel::update(accounts::table.find(a.id))
                        .set(accounts::silenced_at.eq(t))
                        .execute(c)?;
                }
                "suspend" => {
                    diesel::update(accounts::table.find(a.id))
                        .set((accounts::suspended_at.eq(t), accounts::updated_at.eq(t)))
                        .execute(c)?;
                    crate::stream::bus::publish(
                        c,
                        crate::stream::bus::Signal::Disconnect { a: a.id },
                    )?;
                }
                _ => {}
            }
            if let Some(r) = report {
                resolve_report(c, r, m.account_id)?;
            }
            log(
                c,
                m.account_id,
                &kind,
                "account",
                &a.id.to_string(),
                &detail,
            )?;
            Ok(())
        })
        .await
}

/// The reversible changes of an account's state.
pub const CHANGES: [&str; 6] = [
    "approve",
    "reject",
    "enable",
    "unsilence",
    "unsuspend",
    "unsensitive",
];

/// Approves or rejects a sign-up, or undoes an action; the account as it
/// was (a rejected sign-up is gone).
pub async fn change(
    state: &AppState,
    m: Moderator,
    target: i64,
    what: &str,
) -> AppResult<(Account, Option<User>)> {
    if !CHANGES.contains(&what) {
        return Err(AppError::not_found());
    }
    m.check(perm::MANAGE_USERS)?;
    let (a, u) = state.db.run(move |c| account_with_user(c, target)).await?;
    match what {
        "approve" | "reject" => {
            let u = u.as_ref().ok_or_else(AppError::not_found)?;
            if u.approved {
                return Err(AppError::Forbidden("This account is not pending".into()));
            }
            if what == "approve" {
                crate::domain::registrations::approve(&state.db, &a.username).await?;
            } else {
                crate::domain::registrations::reject(&state.db, &a.username).await?;
            }
        }
        _ => {
            let w = what.to_string();
            let uid = u.as_ref().map(|u| u.id);
            state
                .db
                .transaction(move |c| {
                    let row = accounts::table.find(a.id);
                    match w.as_str() {
                        "enable" => {
                            let uid = uid.ok_or_else(|| {
                                AppError::Unprocessable("Only local accounts can be enabled".into())
                            })?;
                            User::set_disabled(c, uid, false)?;
                        }
                        "unsilence" => {
                            diesel::update(row)
                                .set(accounts::silenced_at.eq(None::<NaiveDateTime>))
                                .execute(c)?;
                        }
                        "unsuspend" => {
                            diesel::update(row)
                                .set((
                                    accounts::suspended_at.eq(None::<NaiveDateTime>),
                                    accounts::updated_at.eq(now()),
                                ))
                                .execute(c)?;
                        }
                        _ => {
                            diesel::delete(sensitized_accounts::table.find(a.id)).execute(c)?;
                        }
                    }
                    Ok::<_, AppError>(())
                })
                .await?;
        }
    }
    let w = what.to_string();
    state
        .db
        .run(move |c| {
            log(c, m.account_id, &w, "account", &target.to_string(), "").map_err(AppError::from)
        })
        .await?;
    Ok((a, u))
}

/// Deletes a suspended local account's data (admins only, as Mastodon's
/// `delete_user_data`); other servers are told.
pub async fn delete_account(state: &AppState, m: Moderator, target: i64) -> AppResult<()> {
    m.check(perm::DELETE_USER_DATA)?;
    let (a, _) = state.db.run(move |c| account_with_user(c, target)).await?;
    if a.suspended_at.is_none() {
        return Err(AppError::Forbidden("Suspend the account first".into()));
    }
    crate::domain::accounts::delete_local_account(state, &a).await?;
    state
        .db
        .run(move |c| {
            log(
                c,
                m.account_id,
                "delete",
                "account",
                &target.to_string(),
                "",
            )
            .map_err(AppError::from)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(())
}

/// The changes of a report's state.
pub const REPORT_CHANGES: [&str; 4] = ["assign_to_self", "unassign", "resolve", "reopen"];

/// Assigns, unassigns, resolves or reopens report `id`.
pub async fn change_report(state: &AppState, m: Moderator, id: i64, what: &str) -> AppResult<()> {
    if !REPORT_CHANGES.contains(&what) {
        return Err(AppError::not_found());
    }
    m.check(perm::MANAGE_REPORTS)?;
    let what = what.to_string();
    state
        .db
        .transaction(move |c| {
            crate::domain::reports::by_id(c, id)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            let row = reports::table.find(id);
            let t = now();
            match what.as_str() {
                "assign_to_self" => diesel::update(row)
                    .set((
                        reports::assigned_account_id.eq(m.account_id),
                        reports::updated_at.eq(t),
                    ))
                    .execute(c)?,
                "unassign" => diesel::update(row)
                    .set((
                        reports::assigned_account_id.eq(None::<i64>),
                        reports::updated_at.eq(t),
                    ))
                    .execute(c)?,
                "resolve" => resolve_report(c, id, m.account_id)?,
                _ => diesel::update(row)
                    .set((
                        reports::action_taken_at.eq(None::<NaiveDateTime>),
                        reports::action_taken_by_account_id.eq(None::<i64>),
                        reports::updated_at.eq(t),
                    ))
                    .execute(c)?,
            };
            log(c, m.account_id, &what, "report", &id.to_string(), "")?;
            Ok(())
        })
        .await
}
