//! The Mastodon admin API (`/api/v1/admin/…`, v2 accounts) for the admin
//! tools that already speak it: accounts and their moderation, reports.
//! Every route checks the token's admin scope and the user's role against
//! Mastodon's permission bits; every change lands in the admin action log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{self, Ctx, iso};
use super::{ctx, link_header, parse_id};
use crate::api::extract::{Auth, Params};
use crate::app::AppState;
use crate::db::models::{Account, Role, User};
use crate::db::schema::{accounts, admin_action_logs, reports, sensitized_accounts, users};
use crate::db::{DbConn, id, lower, now};
use crate::domain::reports::Report;
use crate::error::{AppError, AppResult};

/// Mastodon's role permission bits (app/models/user_role.rb).
pub mod perm {
    pub const ADMINISTRATOR: u64 = 1 << 0;
    pub const VIEW_AUDIT_LOG: u64 = 1 << 2;
    pub const VIEW_DASHBOARD: u64 = 1 << 3;
    pub const MANAGE_REPORTS: u64 = 1 << 4;
    pub const MANAGE_FEDERATION: u64 = 1 << 5;
    pub const MANAGE_TAXONOMIES: u64 = 1 << 8;
    pub const MANAGE_USERS: u64 = 1 << 10;
    pub const MANAGE_USER_ACCESS: u64 = 1 << 18;
    pub const DELETE_USER_DATA: u64 = 1 << 19;
    /// Every bit Mastodon defines, for clients that test bits one by one.
    pub const ALL: u64 = (1 << 20) - 1;
}

/// What a role may do, as Mastodon's built-in roles do: moderators handle
/// users and reports; only admins change federation or delete data.
pub fn permissions(role: Role) -> u64 {
    match role {
        Role::Admin => perm::ALL,
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

/// The Role entity.
pub fn role_json(role: Role) -> Value {
    let (id, name) = match role {
        Role::Admin => ("3", "Admin"),
        Role::Moderator => ("2", "Moderator"),
        Role::User => ("-99", ""),
    };
    json!({
        "id": id,
        "name": name,
        "color": "",
        "permissions": permissions(role).to_string(),
        "highlighted": role != Role::User,
    })
}

/// 403 unless the token has `scope` and the user's role has `bit`.
fn check(auth: &Auth, scope: &str, bit: u64) -> AppResult<()> {
    auth.require(scope)?;
    if may(auth.user.role(), bit) {
        Ok(())
    } else {
        Err(AppError::Forbidden("This action is not allowed".into()))
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

/// The Admin::Account entity.
pub fn admin_account(
    c: &mut DbConn,
    ctx: &Ctx,
    a: &Account,
    user: Option<&User>,
) -> AppResult<Value> {
    let sensitized: bool =
        diesel::select(diesel::dsl::exists(sensitized_accounts::table.find(a.id))).get_result(c)?;
    let role = user.map(User::role);
    Ok(json!({
        "id": a.id.to_string(),
        "username": a.username,
        "domain": a.domain,
        "created_at": iso(user.map(|u| u.created_at).unwrap_or(a.created_at)),
        "email": user.map(|u| u.email.clone()),
        "ip": null,
        "ips": [],
        "locale": user.map(|_| "en"),
        "invite_request": null,
        "role": role.map(role_json),
        "confirmed": user.is_some_and(|u| u.confirmed_at.is_some()),
        "approved": user.is_none_or(|u| u.approved),
        "disabled": user.is_some_and(|u| u.disabled),
        "silenced": a.silenced_at.is_some(),
        "sensitized": sensitized,
        "suspended": a.suspended_at.is_some(),
        "account": entities::account(c, ctx, a)?,
        "created_by_application_id": null,
        "invited_by_account_id": null,
    }))
}

fn account_with_user(c: &mut DbConn, id: i64) -> AppResult<(Account, Option<User>)> {
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

/// Filters of `GET /api/v1/admin/accounts` (v1 booleans) and v2 (`origin`,
/// `status`, `permissions`), one struct for both.
#[derive(Debug, Default, Deserialize)]
pub struct AccountFilters {
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    local: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    remote: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    pending: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    disabled: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    silenced: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    suspended: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    sensitized: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    staff: Option<bool>,
    origin: Option<String>,
    status: Option<String>,
    permissions: Option<String>,
    username: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    by_domain: Option<String>,
    ip: Option<String>,
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<i64>,
}

impl AccountFilters {
    /// v2's names as the v1 booleans; unknown values are a 422, as in Mastodon.
    fn normalize(mut self) -> AppResult<Self> {
        match self.origin.as_deref() {
            None | Some("") => {}
            Some("local") => self.local = Some(true),
            Some("remote") => self.remote = Some(true),
            Some(o) => return Err(AppError::Unprocessable(format!("Unknown origin: {o}"))),
        }
        match self.status.as_deref() {
            None | Some("") => {}
            Some("active") => self.active = Some(true),
            Some("pending") => self.pending = Some(true),
            Some("disabled") => self.disabled = Some(true),
            Some("silenced") => self.silenced = Some(true),
            Some("suspended") => self.suspended = Some(true),
            Some(s) => return Err(AppError::Unprocessable(format!("Unknown status: {s}"))),
        }
        match self.permissions.as_deref() {
            None | Some("") => {}
            Some("staff") => self.staff = Some(true),
            Some(p) => return Err(AppError::Unprocessable(format!("Unknown permissions: {p}"))),
        }
        Ok(self)
    }
}

const MAX_LIMIT: i64 = 200;

fn opt_id(s: &Option<String>) -> AppResult<Option<i64>> {
    s.as_deref()
        .filter(|s| !s.is_empty())
        .map(parse_id)
        .transpose()
}

fn like(s: &str) -> String {
    format!(
        "%{}%",
        crate::org::directory::like_escaped(&s.to_lowercase())
    )
}

fn list_accounts(c: &mut DbConn, f: &AccountFilters) -> AppResult<Vec<(Account, Option<User>)>> {
    let mut q = accounts::table
        .left_join(users::table)
        .filter(accounts::actor_type.eq_any(["Person", "Service"]))
        .into_boxed();
    if f.local == Some(true) {
        q = q.filter(accounts::domain.is_null());
    }
    if f.remote == Some(true) {
        q = q.filter(accounts::domain.is_not_null());
    }
    if let Some(d) = f.by_domain.as_deref().filter(|d| !d.is_empty()) {
        q = q.filter(lower(accounts::domain.assume_not_null()).eq(d.to_lowercase()));
    }
    if f.active == Some(true) {
        q = q
            .filter(accounts::suspended_at.is_null())
            .filter(users::approved.is_null().or(users::approved.eq(true)))
            .filter(users::disabled.is_null().or(users::disabled.eq(false)));
    }
    if f.pending == Some(true) {
        q = q.filter(users::approved.eq(false));
    }
    if f.disabled == Some(true) {
        q = q.filter(users::disabled.eq(true));
    }
    if f.silenced == Some(true) {
        q = q.filter(accounts::silenced_at.is_not_null());
    }
    if f.suspended == Some(true) {
        q = q.filter(accounts::suspended_at.is_not_null());
    }
    if f.sensitized == Some(true) {
        q = q.filter(
            accounts::id.eq_any(sensitized_accounts::table.select(sensitized_accounts::account_id)),
        );
    }
    if f.staff == Some(true) {
        q = q.filter(users::role.eq_any(["admin", "moderator"]));
    }
    if let Some(u) = f.username.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(lower(accounts::username).like(format!(
            "{}%",
            crate::org::directory::like_escaped(&u.to_lowercase())
        )));
    }
    if let Some(n) = f.display_name.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(lower(accounts::display_name).like(like(n)));
    }
    if let Some(e) = f.email.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(lower(users::email.assume_not_null()).like(like(e)));
    }
    if f.ip.as_deref().is_some_and(|s| !s.is_empty()) {
        // Sign-in addresses are not kept: no account matches one.
        return Ok(Vec::new());
    }
    let limit = f.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    if let Some(m) = opt_id(&f.max_id)? {
        q = q.filter(accounts::id.lt(m));
    }
    if let Some(s) = opt_id(&f.since_id)? {
        q = q.filter(accounts::id.gt(s));
    }
    let rows: Vec<(Account, Option<User>)> = if let Some(m) = opt_id(&f.min_id)? {
        let mut r: Vec<_> = q
            .filter(accounts::id.gt(m))
            .order(accounts::id.asc())
            .limit(limit)
            .select((Account::as_select(), Option::<User>::as_select()))
            .load(c)?;
        r.reverse();
        r
    } else {
        q.order(accounts::id.desc())
            .limit(limit)
            .select((Account::as_select(), Option::<User>::as_select()))
            .load(c)?
    };
    Ok(rows)
}

async fn accounts_index(
    state: &AppState,
    auth: &Auth,
    f: AccountFilters,
    path: &str,
) -> AppResult<(HeaderMap, Json<Value>)> {
    check(auth, "admin:read:accounts", perm::MANAGE_USERS)?;
    let f = f.normalize()?;
    let ctx = ctx(state);
    let (ids, out) = state
        .db
        .run(move |c| {
            let rows = list_accounts(c, &f)?;
            let ids: Vec<i64> = rows.iter().map(|(a, _)| a.id).collect();
            let out = rows
                .iter()
                .map(|(a, u)| admin_account(c, &ctx, a, u.as_ref()))
                .collect::<AppResult<Vec<_>>>()?;
            Ok::<_, AppError>((ids, out))
        })
        .await?;
    Ok((link_header(state, path, "", &ids), Json(Value::Array(out))))
}

pub async fn accounts_v1(
    State(state): State<AppState>,
    auth: Auth,
    Params(f): Params<AccountFilters>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    accounts_index(&state, &auth, f, "/api/v1/admin/accounts").await
}

pub async fn accounts_v2(
    State(state): State<AppState>,
    auth: Auth,
    Params(f): Params<AccountFilters>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    accounts_index(&state, &auth, f, "/api/v2/admin/accounts").await
}

pub async fn account_show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    check(&auth, "admin:read:accounts", perm::MANAGE_USERS)?;
    let id = parse_id(&id)?;
    let ctx = ctx(&state);
    let v = state
        .db
        .run(move |c| {
            let (a, u) = account_with_user(c, id)?;
            admin_account(c, &ctx, &a, u.as_ref())
        })
        .await?;
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(rename = "type")]
    kind: Option<String>,
    report_id: Option<String>,
    text: Option<String>,
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

/// `POST /api/v1/admin/accounts/:id/action`: none, sensitive, disable,
/// silence or suspend, optionally closing a report.
pub async fn account_action(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(f): Params<ActionForm>,
) -> AppResult<Json<Value>> {
    check(&auth, "admin:write:accounts", perm::MANAGE_USERS)?;
    let id = parse_id(&id)?;
    let kind = f.kind.clone().unwrap_or_else(|| "none".into());
    if !["none", "sensitive", "disable", "silence", "suspend"].contains(&kind.as_str()) {
        return Err(AppError::Unprocessable(format!(
            "Unknown action type: {kind}"
        )));
    }
    let report = opt_id(&f.report_id)?;
    let actor = auth.account.id;
    let me = auth.user.id;
    let detail = f.text.clone().unwrap_or_default();
    state
        .db
        .transaction(move |c| {
            let (a, u) = account_with_user(c, id)?;
            if u.as_ref().is_some_and(|u| u.id == me) && kind != "none" {
                return Err(AppError::Forbidden(
                    "You cannot act on your own account".into(),
                ));
            }
            if u.as_ref().is_some_and(|u| u.role() == Role::Admin) && kind != "none" {
                return Err(AppError::Forbidden("Admins cannot be acted on".into()));
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
                resolve_report(c, r, actor)?;
            }
            log(c, actor, &kind, "account", &a.id.to_string(), &detail)?;
            Ok(())
        })
        .await?;
    Ok(Json(json!({})))
}

/// The simple reversible account moderation routes.
pub async fn account_change(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, what)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let bit = match what.as_str() {
        "approve" | "reject" | "enable" | "unsilence" | "unsuspend" | "unsensitive" => {
            perm::MANAGE_USERS
        }
        _ => return Err(AppError::not_found()),
    };
    check(&auth, "admin:write:accounts", bit)?;
    let id = parse_id(&id)?;
    let ctx = ctx(&state);
    let actor = auth.account.id;
    let (a, u) = state.db.run(move |c| account_with_user(c, id)).await?;
    match what.as_str() {
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
            let w = what.clone();
            let uid = u.as_ref().map(|u| u.id);
            state
                .db
                .transaction(move |c| {
                    let target = accounts::table.find(a.id);
                    match w.as_str() {
                        "enable" => {
                            let uid = uid.ok_or_else(|| {
                                AppError::Unprocessable("Only local accounts can be enabled".into())
                            })?;
                            User::set_disabled(c, uid, false)?;
                        }
                        "unsilence" => {
                            diesel::update(target)
                                .set(accounts::silenced_at.eq(None::<NaiveDateTime>))
                                .execute(c)?;
                        }
                        "unsuspend" => {
                            diesel::update(target)
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
    let w = what.clone();
    let v = state
        .db
        .run(move |c| {
            log(c, actor, &w, "account", &id.to_string(), "")?;
            if w == "reject" {
                // Gone: Mastodon answers with the account as it was.
                return admin_account(c, &ctx, &a, None);
            }
            let (a, u) = account_with_user(c, id)?;
            admin_account(c, &ctx, &a, u.as_ref())
        })
        .await?;
    Ok(Json(v))
}

/// `DELETE /api/v1/admin/accounts/:id`: the data of a suspended local
/// account goes (admins only, as Mastodon's `delete_user_data`).
pub async fn account_delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    check(&auth, "admin:write:accounts", perm::DELETE_USER_DATA)?;
    let id = parse_id(&id)?;
    let ctx = ctx(&state);
    let (a, u) = state.db.run(move |c| account_with_user(c, id)).await?;
    if a.suspended_at.is_none() {
        return Err(AppError::Forbidden("Suspend the account first".into()));
    }
    let v = state
        .db
        .run({
            let a = a.clone();
            move |c| admin_account(c, &ctx, &a, u.as_ref())
        })
        .await?;
    crate::domain::accounts::delete_local_account(&state, &a).await?;
    let actor = auth.account.id;
    state
        .db
        .run(move |c| {
            log(c, actor, "delete", "account", &id.to_string(), "").map_err(AppError::from)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(Json(v))
}

// ------------------------------------------------------------------ reports

/// The Admin::Report entity.
pub fn admin_report(c: &mut DbConn, ctx: &Ctx, r: &Report) -> AppResult<Value> {
    let (assigned, taken_by): (Option<i64>, Option<i64>) = reports::table
        .find(r.id)
        .select((
            reports::assigned_account_id,
            reports::action_taken_by_account_id,
        ))
        .first(c)?;
    let acct = |c: &mut DbConn, id: Option<i64>| -> AppResult<Value> {
        match id {
            Some(id) => match account_with_user(c, id) {
                Ok((a, u)) => admin_account(c, ctx, &a, u.as_ref()),
                Err(AppError::NotFound(_)) => Ok(Value::Null),
                Err(e) => Err(e),
            },
            None => Ok(Value::Null),
        }
    };
    let account = acct(c, Some(r.account_id))?;
    let target = acct(c, Some(r.target_account_id))?;
    let assigned = acct(c, assigned)?;
    let taken_by = acct(c, taken_by)?;
    let listed: Vec<crate::db::models::Status> = {
        use crate::db::schema::statuses;
        statuses::table
            .filter(statuses::id.eq_any(r.statuses()))
            .select(crate::db::models::Status::as_select())
            .load(c)?
    };
    Ok(json!({
        "id": r.id.to_string(),
        "action_taken": r.action_taken_at.is_some(),
        "action_taken_at": r.action_taken_at.map(iso),
        "category": r.category,
        "comment": r.comment,
        "forwarded": r.forwarded,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "account": account,
        "target_account": target,
        "assigned_account": assigned,
        "action_taken_by_account": taken_by,
        "statuses": entities::statuses(c, ctx, &listed, None)?,
        "rules": [],
    }))
}

#[derive(Debug, Default, Deserialize)]
pub struct ReportFilters {
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    resolved: Option<bool>,
    account_id: Option<String>,
    target_account_id: Option<String>,
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<i64>,
}

pub async fn reports_index(
    State(state): State<AppState>,
    auth: Auth,
    Params(f): Params<ReportFilters>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    check(&auth, "admin:read:reports", perm::MANAGE_REPORTS)?;
    let ctx = ctx(&state);
    let (ids, out) = state
        .db
        .run(move |c| {
            let mut q = reports::table.into_boxed();
            q = if f.resolved == Some(true) {
                q.filter(reports::action_taken_at.is_not_null())
            } else {
                q.filter(reports::action_taken_at.is_null())
            };
            if let Some(a) = opt_id(&f.account_id)? {
                q = q.filter(reports::account_id.eq(a));
            }
            if let Some(a) = opt_id(&f.target_account_id)? {
                q = q.filter(reports::target_account_id.eq(a));
            }
            if let Some(m) = opt_id(&f.max_id)? {
                q = q.filter(reports::id.lt(m));
            }
            if let Some(s) = opt_id(&f.since_id)? {
                q = q.filter(reports::id.gt(s));
            }
            let limit = f.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
            let rows: Vec<Report> = if let Some(m) = opt_id(&f.min_id)? {
                let mut r: Vec<Report> = q
                    .filter(reports::id.gt(m))
                    .order(reports::id.asc())
                    .limit(limit)
                    .select(Report::as_select())
                    .load(c)?;
                r.reverse();
                r
            } else {
                q.order(reports::id.desc())
                    .limit(limit)
                    .select(Report::as_select())
                    .load(c)?
            };
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let out = rows
                .iter()
                .map(|r| admin_report(c, &ctx, r))
                .collect::<AppResult<Vec<_>>>()?;
            Ok::<_, AppError>((ids, out))
        })
        .await?;
    Ok((
        link_header(&state, "/api/v1/admin/reports", "", &ids),
        Json(Value::Array(out)),
    ))
}

pub async fn report_show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    check(&auth, "admin:read:reports", perm::MANAGE_REPORTS)?;
    let id = parse_id(&id)?;
    let ctx = ctx(&state);
    let v = state
        .db
        .run(move |c| {
            let r = crate::domain::reports::by_id(c, id)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            admin_report(c, &ctx, &r)
        })
        .await?;
    Ok(Json(v))
}

/// `assign_to_self`, `unassign`, `resolve`, `reopen`.
pub async fn report_change(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, what)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    if !["assign_to_self", "unassign", "resolve", "reopen"].contains(&what.as_str()) {
        return Err(AppError::not_found());
    }
    check(&auth, "admin:write:reports", perm::MANAGE_REPORTS)?;
    let id = parse_id(&id)?;
    let ctx = ctx(&state);
    let actor = auth.account.id;
    let v = state
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
                        reports::assigned_account_id.eq(actor),
                        reports::updated_at.eq(t),
                    ))
                    .execute(c)?,
                "unassign" => diesel::update(row)
                    .set((
                        reports::assigned_account_id.eq(None::<i64>),
                        reports::updated_at.eq(t),
                    ))
                    .execute(c)?,
                "resolve" => resolve_report(c, id, actor)?,
                _ => diesel::update(row)
                    .set((
                        reports::action_taken_at.eq(None::<NaiveDateTime>),
                        reports::action_taken_by_account_id.eq(None::<i64>),
                        reports::updated_at.eq(t),
                    ))
                    .execute(c)?,
            };
            log(c, actor, &what, "report", &id.to_string(), "")?;
            let r = crate::domain::reports::by_id(c, id)?;
            admin_report(c, &ctx, &r)
        })
        .await?;
    Ok(Json(v))
}
