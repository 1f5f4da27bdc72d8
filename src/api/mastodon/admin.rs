//! The Mastodon admin API (`/api/v1/admin/…`, v2 accounts) for the admin
//! tools that already speak it: accounts and their moderation, reports.
//! Every route checks the token's admin scope and the user's role against
//! Mastodon's permission bits; every change lands in the admin action log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{self, Ctx, iso};
use super::{ctx, link_header, parse_id};
use crate::api::extract::{Auth, Params};
use crate::app::AppState;
use crate::db::models::{Account, Role, User};
use crate::db::schema::{accounts, reports, sensitized_accounts, users};
use crate::db::{DbConn, lower};
use crate::domain::reports::Report;
use crate::error::{AppError, AppResult};

use crate::domain::moderation::{self, Moderator, account_with_user};
pub use crate::domain::moderation::{log, may, perm, permissions};

/// The Role entity.
pub fn role_json(role: Role) -> Value {
    let (id, name) = match role {
        Role::Owner => ("4", "Owner"),
        Role::Admin => ("3", "Admin"),
        Role::Moderator => ("2", "Moderator"),
        Role::User => ("-99", ""),
    };
    json!({
        "id": id,
        "name": name,
        "color": "",
        // Only Mastodon's bits: clients compare the whole value for admins.
        "permissions": (permissions(role) & perm::ALL).to_string(),
        "highlighted": role != Role::User,
    })
}

/// 403 unless the token has `scope` and the user's role has `bit`.
fn check(auth: &Auth, scope: &str, bit: u64) -> AppResult<()> {
    auth.require(scope)?;
    Moderator::of(&auth.user).check(bit)
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
        q = q.filter(users::role.eq_any(Role::STAFF));
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
    let report = opt_id(&f.report_id)?;
    let detail = f.text.clone().unwrap_or_default();
    let m = Moderator::of(&auth.user);
    moderation::act(&state, m, id, &kind, report, &detail).await?;
    Ok(Json(json!({})))
}

/// The simple reversible account moderation routes.
pub async fn account_change(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, what)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    if !moderation::CHANGES.contains(&what.as_str()) {
        return Err(AppError::not_found());
    }
    check(&auth, "admin:write:accounts", perm::MANAGE_USERS)?;
    let id = parse_id(&id)?;
    let ctx = ctx(&state);
    let (a, _) = moderation::change(&state, Moderator::of(&auth.user), id, &what).await?;
    let v = state
        .db
        .run(move |c| {
            if what == "reject" {
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
    let v = state
        .db
        .run(move |c| {
            let (a, u) = account_with_user(c, id)?;
            admin_account(c, &ctx, &a, u.as_ref())
        })
        .await?;
    moderation::delete_account(&state, Moderator::of(&auth.user), id).await?;
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
    if !moderation::REPORT_CHANGES.contains(&what.as_str()) {
        return Err(AppError::not_found());
    }
    check(&auth, "admin:write:reports", perm::MANAGE_REPORTS)?;
    let id = parse_id(&id)?;
    moderation::change_report(&state, Moderator::of(&auth.user), id, &what).await?;
    let ctx = ctx(&state);
    let v = state
        .db
        .run(move |c| {
            let r = crate::domain::reports::by_id(c, id)?;
            admin_report(c, &ctx, &r)
        })
        .await?;
    Ok(Json(v))
}
