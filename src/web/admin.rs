//! `/admin`: the console for admins and moderators. Every page checks the
//! signed-in person's role, every form its session token, and every action
//! goes through the same checks and log as the Mastodon admin API
//! ([`crate::domain::moderation`]). What only admins may do (partners,
//! roles, passwords, deletion) is refused to moderators here as there.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;

use crate::api::extract::Params;
use crate::api::mastodon::ctx;
use crate::app::AppState;
use crate::db::models::user::Role;
use crate::db::models::{Account, Status, User};
use crate::db::schema::{
    accounts, admin_action_logs, deliveries, domain_media_rejections, domain_policies,
    group_settings, inbound_activities, media_attachments, reports, statuses, users,
};
use crate::db::{DbConn, lower, now};
use crate::domain::moderation::{self, Moderator, perm};
use crate::domain::policy::{self, PolicyKind};
use crate::error::{AppError, AppResult};
use crate::web::views::{self, PostView};
use crate::web::{Chrome, Viewer, csrf_ok, message, render, signed_in, to_sign_in};

mod announcements;
mod insights;
mod trends;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/people", get(people))
        .route(
            "/admin/people/{id}/delete",
            get(confirm_delete).post(delete),
        )
        .route("/admin/people/{id}/{what}", post(person_action))
        .route("/admin/invites", get(invites).post(create_invite))
        .route("/admin/invites/{code}/revoke", post(revoke_invite))
        .route("/admin/partners", get(partners).post(partner_action))
        .route("/admin/reports", get(reports_page))
        .route("/admin/reports/{id}", get(report_page))
        .route("/admin/reports/{id}/{what}", post(report_action))
        .route("/admin/groups", get(groups))
        .route(
            "/admin/groups/{id}/delete",
            get(confirm_group_delete).post(delete_group),
        )
        .route("/admin/groups/{id}/hand_over", post(hand_over))
        .route("/admin/log", get(log_page))
        .route("/admin/insights", get(insights::insights_page))
        .route(
            "/admin/announcements",
            get(announcements::announcements_page).post(announcements::create),
        )
        .route(
            "/admin/announcements/{id}/delete",
            post(announcements::take_down),
        )
        .route(
            "/admin/trends",
            get(trends::trends_page).post(trends::trend_action),
        )
}

/// A staff member on a console page.
struct Staff {
    user: User,
    viewer: Viewer,
    m: Moderator,
}

/// The signed-in admin or moderator, or the answer for anyone else.
async fn staff(state: &AppState, headers: &HeaderMap, back: &str) -> Result<Staff, Response> {
    let Some((user, _, viewer)) = signed_in(state, headers).await else {
        return Err(to_sign_in(back));
    };
    if !viewer.staff {
        return Err(message(
            state,
            StatusCode::FORBIDDEN,
            Some(viewer),
            "Not for you",
            "The admin console is for this server's admins and moderators.",
        ));
    }
    let m = Moderator::of(&user);
    Ok(Staff { user, viewer, m })
}

/// A staff member posting a form from our own pages.
async fn staff_form(
    state: &AppState,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<Staff, Response> {
    let s = staff(state, headers, "/admin").await?;
    if !csrf_ok(state, headers, csrf) {
        return Err(message(
            state,
            StatusCode::FORBIDDEN,
            Some(s.viewer),
            "Nothing changed",
            "The form expired or came from elsewhere. Reload the page and try again.",
        ));
    }
    Ok(s)
}

/// An action that failed, as a page with the reason and the right status.
fn failed(state: &AppState, viewer: &Viewer, e: AppError) -> Response {
    let text = match &e {
        AppError::Internal(err) => {
            tracing::error!(error = %format!("{err:#}"), "admin console");
            "Something went wrong on the server.".to_string()
        }
        other => other.to_string(),
    };
    message(
        state,
        e.status(),
        Some(viewer.clone()),
        "Nothing changed",
        &text,
    )
}

fn page<T: Template>(t: &T) -> Response {
    let mut res = render(StatusCode::OK, t);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn when(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// Back to a console page with a notice (a fixed word, never echoed text).
fn done(path: &str, what: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}done={what}")).into_response()
}

#[derive(Debug, Deserialize, Default)]
pub struct Notice {
    done: Option<String>,
}

fn notice(q: &Option<Query<Notice>>) -> Option<String> {
    let word = q.as_ref()?.done.as_deref()?;
    Some(
        match word {
            "approve" => "Sign-up approved.",
            "reject" => "Sign-up rejected.",
            "disable" => "Account disabled: its apps and browsers are signed out.",
            "enable" => "Account enabled.",
            "silence" => "Account limited.",
            "unsilence" => "Limit lifted.",
            "suspend" => "Account suspended.",
            "unsuspend" => "Suspension lifted.",
            "sensitive" => "Media of this account are marked sensitive.",
            "unsensitive" => "Media no longer marked sensitive.",
            "role" => "Role changed.",
            "delete" => "Account deleted; other servers are told.",
            "invite" => "Invite created.",
            "announce" => "Announcement published.",
            "take_down" => "Announcement taken down.",
            "revoke" => "Invite revoked.",
            "partner" => "Partner settings saved.",
            "assign_to_self" => "Report assigned to you.",
            "unassign" => "Report unassigned.",
            "resolve" => "Report resolved.",
            "reopen" => "Report reopened.",
            "delete_posts" => "Reported posts removed.",
            "forward" => "Report sent to the other server.",
            "hand_over" => "Group handed over.",
            "group_delete" => "Group deleted.",
            "trend_hide" => "Hidden from trends.",
            "trend_allow" => "It may trend again.",
            _ => return None,
        }
        .into(),
    )
}

fn chrome(state: &AppState, title: &str, viewer: &Viewer) -> Chrome {
    let mut c = Chrome::new(state, title, Some(viewer.clone()));
    c.wide = true;
    c.noindex = true;
    c
}

/// What the console's navigation shows for a role.
pub struct Nav {
    pub admin: bool,
    pub insights: bool,
    pub announcements: bool,
    pub trends: bool,
}

fn nav(state: &AppState, m: &Moderator) -> Nav {
    Nav {
        admin: moderation::may(m.role, perm::MANAGE_FEDERATION),
        insights: state.config.insights && moderation::may(m.role, perm::VIEW_INSIGHTS),
        announcements: moderation::may(m.role, perm::MANAGE_ANNOUNCEMENTS),
        trends: moderation::may(m.role, perm::MANAGE_TAXONOMIES),
    }
}

// ---------------------------------------------------------------- dashboard

pub struct HostRow {
    pub host: String,
    pub pending: i64,
    pub oldest: String,
}

pub struct Unreachable {
    pub host: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    nav: Nav,
    notice: Option<String>,
    people: i64,
    pending: i64,
    posts: i64,
    active: i64,
    open_reports: i64,
    storage: String,
    inbound_pending: i64,
    failed: i64,
    hosts: Vec<HostRow>,
    unreachable: Vec<Unreachable>,
}

/// Bytes as people read them.
pub fn human_bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    match n {
        n if n >= 1e9 => format!("{:.1} GB", n / 1e9),
        n if n >= 1e6 => format!("{:.1} MB", n / 1e6),
        n if n >= 1e3 => format!("{:.0} kB", n / 1e3),
        n => format!("{n} B"),
    }
}

/// The numbers on the dashboard, each one aggregate query.
pub struct Figures {
    pub people: i64,
    pub pending: i64,
    pub posts: i64,
    pub active: i64,
    pub open_reports: i64,
    pub storage_bytes: i64,
    pub inbound_pending: i64,
    pub failed: i64,
    pub hosts: Vec<(String, i64, Option<NaiveDateTime>)>,
    pub unreachable: Vec<(String, Option<NaiveDateTime>)>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// People who used an app or signed in a browser since `since`: one count
/// over two index ranges (`oauth_tokens_last_used`, `web_sessions_created`).
fn active_people(c: &mut DbConn, since: NaiveDateTime) -> QueryResult<i64> {
    // A timestamp we format ourselves: a literal both backends compare.
    let t = since.format("%Y-%m-%d %H:%M:%S");
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ( \
           SELECT user_id FROM oauth_tokens WHERE last_used_at > '{t}' AND user_id IS NOT NULL \
           UNION SELECT user_id FROM web_sessions WHERE created_at > '{t}') AS active"
    );
    let q = diesel::sql_query(sql);
    let row: Count = match c {
        DbConn::Sqlite(lite) => q.get_result(lite)?,
        DbConn::Postgres(pg) => q.get_result(pg)?,
    };
    Ok(row.n)
}

/// `SUM(column)` as a BigInt on both backends (PostgreSQL sums a BigInt
/// into a NUMERIC).
fn total(column: &'static str) -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    diesel::dsl::sql(&format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"))
}

pub fn figures(c: &mut DbConn) -> QueryResult<Figures> {
    // Every local person has a user (groups and the instance actor do not).
    let people = users::table.count().get_result(c)?;
    let pending = users::table
        .filter(users::approved.eq(false))
        .count()
        .get_result(c)?;
    let posts: i64 = accounts::table
        .filter(accounts::domain.is_null())
        .select(total("statuses_count"))
        .first(c)?;
    let active = active_people(c, now() - Duration::days(30))?;
    let open_reports = reports::table
        .filter(reports::action_taken_at.is_null())
        .count()
        .get_result(c)?;
    let storage: i64 = media_attachments::table
        .select(total("file_size"))
        .first(c)?;
    let inbound_pending = inbound_activities::table
        .filter(inbound_activities::state.eq("pending"))
        .count()
        .get_result(c)?;
    let failed = deliveries::table
        .filter(deliveries::state.eq("failed"))
        .count()
        .get_result(c)?;
    let hosts = deliveries::table
        .filter(deliveries::state.eq("pending"))
        .group_by(deliveries::host)
        .select((
            deliveries::host,
            diesel::dsl::count_star(),
            diesel::dsl::min(deliveries::created_at),
        ))
        .order(diesel::dsl::count_star().desc())
        .limit(20)
        .load(c)?;
    let unreachable = crate::delivery::hosts::unreachable(c)?
        .into_iter()
        .map(|h| (h.host, h.unreachable_since))
        .collect();
    Ok(Figures {
        people,
        pending,
        posts,
        active,
        open_reports,
        storage_bytes: storage,
        inbound_pending,
        failed,
        hosts,
        unreachable,
    })
}

async fn dashboard(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match staff(&state, &headers, "/admin").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = s.m.check(perm::VIEW_DASHBOARD) {
        return failed(&state, &s.viewer, e);
    }
    let f = match state.db.run(|c| figures(c).map_err(AppError::from)).await {
        Ok(f) => f,
        Err(e) => return failed(&state, &s.viewer, e),
    };
    page(&Dashboard {
        chrome: chrome(&state, "Admin", &s.viewer),
        nav: nav(&state, &s.m),
        notice: None,
        people: f.people,
        pending: f.pending,
        posts: f.posts,
        active: f.active,
        open_reports: f.open_reports,
        storage: human_bytes(f.storage_bytes),
        inbound_pending: f.inbound_pending,
        failed: f.failed,
        hosts: f
            .hosts
            .into_iter()
            .map(|(host, pending, oldest)| HostRow {
                host,
                pending,
                oldest: oldest.map(when).unwrap_or_default(),
            })
            .collect(),
        unreachable: f
            .unreachable
            .into_iter()
            .map(|(host, since)| Unreachable {
                host,
                since: since.map(when).unwrap_or_default(),
            })
            .collect(),
    })
}

// ------------------------------------------------------------------- people

const PEOPLE_PAGE: i64 = 50;

#[derive(Debug, Deserialize, Default)]
pub struct PeopleQuery {
    q: Option<String>,
    status: Option<String>,
    offset: Option<i64>,
    done: Option<String>,
}

pub struct PersonRow {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub joined: String,
    pub posts: i64,
    pub pending: bool,
    pub disabled: bool,
    pub silenced: bool,
    pub suspended: bool,
    pub me: bool,
    /// Ranked as high as the viewer or higher: not theirs to act on.
    pub protected: bool,
    /// Role choices, the current one marked.
    pub roles: Vec<(&'static str, bool)>,
}

#[derive(Template)]
#[template(path = "admin/people.html")]
struct People {
    chrome: Chrome,
    nav: Nav,
    csrf: String,
    notice: Option<String>,
    q: String,
    statuses: Vec<(&'static str, &'static str, bool)>,
    rows: Vec<PersonRow>,
    next: Option<String>,
    /// Whether this viewer may change roles, reset passwords and delete.
    admin: bool,
    /// A password just set, shown once.
    new_password: Option<(String, String)>,
}

/// One page of local people matching a search, with what each row shows
/// (one query, however many rows).
pub fn people_page(
    c: &mut DbConn,
    q: &str,
    status: &str,
    offset: i64,
    limit: i64,
) -> AppResult<Vec<(Account, User)>> {
    let mut query = accounts::table
        .inner_join(users::table)
        .filter(accounts::domain.is_null())
        .filter(accounts::actor_type.eq("Person"))
        .into_boxed();
    let q = q.trim().trim_start_matches('@').to_lowercase();
    if !q.is_empty() {
        // As Mastodon's admin search: names by prefix, e-mail anywhere. The
        // e-mail match is one pass over users; the name terms are checked on
        // accounts before any join.
        let escaped = crate::org::directory::like_escaped(&q);
        let prefix = format!("{escaped}%");
        let anywhere = format!("%{escaped}%");
        let mail = diesel::alias!(users as mail);
        let by_email = mail
            .filter(lower(mail.field(users::email)).like(anywhere))
            .select(mail.field(users::account_id));
        query = query.filter(
            lower(accounts::username)
                .like(prefix.clone())
                .or(lower(accounts::display_name).like(prefix))
                .or(accounts::id.eq_any(by_email)),
        );
    }
    query = match status {
        "pending" => query.filter(users::approved.eq(false)),
        "active" => query
            .filter(users::approved.eq(true))
            .filter(users::disabled.eq(false))
            .filter(accounts::suspended_at.is_null()),
        "disabled" => query.filter(users::disabled.eq(true)),
        "silenced" => query.filter(accounts::silenced_at.is_not_null()),
        "suspended" => query.filter(accounts::suspended_at.is_not_null()),
        "staff" => query.filter(users::role.eq_any(Role::STAFF)),
        _ => query,
    };
    Ok(query
        .order(accounts::id.desc())
        .offset(offset)
        .limit(limit)
        .select((Account::as_select(), User::as_select()))
        .load(c)?)
}

async fn people_view(
    state: &AppState,
    s: &Staff,
    q: PeopleQuery,
    new_password: Option<(String, String)>,
) -> Response {
    if let Err(e) = s.m.check(perm::MANAGE_USERS) {
        return failed(state, &s.viewer, e);
    }
    let text = q.q.clone().unwrap_or_default();
    let status = q.status.clone().unwrap_or_default();
    let offset = q.offset.unwrap_or(0).max(0);
    let (t, st) = (text.clone(), status.clone());
    let rows = match state
        .db
        .run(move |c| people_page(c, &t, &st, offset, PEOPLE_PAGE))
        .await
    {
        Ok(r) => r,
        Err(e) => return failed(state, &s.viewer, e),
    };
    let me = s.user.id;
    let my_rank = s.m.role.rank();
    let next = (rows.len() as i64 == PEOPLE_PAGE).then(|| {
        let mut u = url::Url::parse("http://x/admin/people").expect("static URL");
        u.query_pairs_mut()
            .append_pair("q", &text)
            .append_pair("status", &status)
            .append_pair("offset", &(offset + PEOPLE_PAGE).to_string());
        format!("/admin/people?{}", u.query().unwrap_or_default())
    });
    let rows = rows
        .into_iter()
        .map(|(a, u)| PersonRow {
            id: a.id,
            name: a.display_name.clone(),
            email: u.email.clone(),
            role: u.role().as_str(),
            joined: when(u.created_at),
            posts: a.statuses_count,
            pending: !u.approved,
            disabled: u.disabled,
            silenced: a.silenced_at.is_some(),
            suspended: a.suspended_at.is_some(),
            me: u.id == me,
            protected: u.role().rank() >= my_rank,
            roles: [Role::User, Role::Moderator, Role::Admin, Role::Owner]
                .into_iter()
                .filter(|r| moderation::may_give(s.m.role, *r) || *r == u.role())
                .map(|r| (r.as_str(), r == u.role()))
                .collect(),
            username: a.username,
        })
        .collect();
    let done = q.done.map(|d| Query(Notice { done: Some(d) }));
    page(&People {
        chrome: chrome(state, "People", &s.viewer),
        nav: nav(state, &s.m),
        csrf: s.viewer.csrf.clone(),
        notice: notice(&done),
        q: text,
        statuses: [
            ("", "Everyone"),
            ("pending", "Waiting for approval"),
            ("active", "Active"),
            ("disabled", "Disabled"),
            ("silenced", "Limited"),
            ("suspended", "Suspended"),
            ("staff", "Staff"),
        ]
        .into_iter()
        .map(|(v, l)| (v, l, v == status))
        .collect(),
        rows,
        next,
        admin: moderation::may(s.m.role, perm::MANAGE_ROLES),
        new_password,
    })
}

async fn people(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<PeopleQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match staff(&state, &headers, "/admin/people").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = q.map(|Query(q)| q).unwrap_or_default();
    people_view(&state, &s, q, None).await
}

#[derive(Debug, Deserialize)]
pub struct PersonForm {
    csrf: Option<String>,
    role: Option<String>,
    confirm: Option<String>,
}

fn username_of(state: &AppState, id: i64) -> impl Future<Output = AppResult<(Account, User)>> {
    let db = state.db.clone();
    async move {
        db.run(move |c| {
            let (a, u) = moderation::account_with_user(c, id)?;
            let u = u.ok_or_else(|| AppError::Unprocessable("Not a local account".into()))?;
            Ok((a, u))
        })
        .await
    }
}

async fn person_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, what)): Path<(i64, String)>,
    Params(f): Params<PersonForm>,
) -> Response {
    let s = match staff_form(&state, &headers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = match what.as_str() {
        w if moderation::CHANGES.contains(&w) => {
            moderation::change(&state, s.m, id, w).await.map(|_| None)
        }
        w @ ("disable" | "silence" | "suspend" | "sensitive") => {
            moderation::act(&state, s.m, id, w, None, "")
                .await
                .map(|_| None)
        }
        "role" => set_role(&state, &s, id, f.role.as_deref().unwrap_or_default())
            .await
            .map(|_| None),
        "password" => reset_password(&state, &s, id).await.map(Some),
        _ => Err(AppError::not_found()),
    };
    match result {
        Ok(None) => done("/admin/people", &what),
        // The new password is shown on the page, once, never in a URL.
        Ok(Some(shown)) => people_view(&state, &s, PeopleQuery::default(), Some(shown)).await,
        Err(e) => failed(&state, &s.viewer, e),
    }
}

async fn set_role(state: &AppState, s: &Staff, id: i64, role: &str) -> AppResult<()> {
    s.m.check(perm::MANAGE_ROLES)?;
    let role = Role::parse(role).ok_or_else(|| {
        AppError::Unprocessable("Unknown role: choose owner, admin, moderator or user".into())
    })?;
    let (a, u) = username_of(state, id).await?;
    if u.id == s.user.id {
        return Err(AppError::Forbidden(
            "You cannot change your own role".into(),
        ));
    }
    moderation::may_change_role(s.m.role, u.role(), role)?;
    crate::domain::users::set_role(&state.db, &a.username, role).await?;
    moderation::record(
        state,
        s.m.account_id,
        "change_role",
        "account",
        &id.to_string(),
        role.as_str(),
    )
    .await
}

/// A new generated password, shown to the admin once to hand over; the
/// person's browser sessions end.
async fn reset_password(state: &AppState, s: &Staff, id: i64) -> AppResult<(String, String)> {
    s.m.check(perm::MANAGE_USER_ACCESS)?;
    let (a, u) = username_of(state, id).await?;
    moderation::outranks(s.m.role, u.role())?;
    if u.password_hash.is_empty() {
        return Err(AppError::Unprocessable(
            "This person signs in through the organization's identity provider".into(),
        ));
    }
    let pw = crate::domain::password::generate();
    crate::domain::users::set_password(&state.db, &a.username, &pw).await?;
    let (uid, actor) = (u.id, s.m.account_id);
    state
        .db
        .run(move |c| {
            crate::web::session::end_all(c, uid, None)?;
            moderation::log(c, actor, "reset_password", "account", &id.to_string(), "")?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok((a.username, pw))
}

#[derive(Template)]
#[template(path = "admin/confirm.html")]
struct Confirm {
    chrome: Chrome,
    nav: Nav,
    notice: Option<String>,
    csrf: String,
    heading: String,
    text: String,
    action: String,
    /// What must be typed to confirm.
    word: String,
    back: String,
}

async fn confirm_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff(&state, &headers, "/admin/people").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = s.m.check(perm::DELETE_USER_DATA) {
        return failed(&state, &s.viewer, e);
    }
    let (a, _) = match username_of(&state, id).await {
        Ok(x) => x,
        Err(e) => return failed(&state, &s.viewer, e),
    };
    page(&Confirm {
        chrome: chrome(&state, "Delete an account", &s.viewer),
        nav: nav(&state, &s.m),
        notice: None,
        csrf: s.viewer.csrf.clone(),
        heading: format!("Delete @{}?", a.username),
        text: "Their posts, follows and media are deleted here, and other servers are told to \
               delete them too. This cannot be undone."
            .into(),
        action: format!("/admin/people/{id}/delete"),
        word: a.username,
        back: "/admin/people".into(),
    })
}

async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Params(f): Params<PersonForm>,
) -> Response {
    let s = match staff_form(&state, &headers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = async {
        s.m.check(perm::DELETE_USER_DATA)?;
        let (a, u) = username_of(&state, id).await?;
        if f.confirm.as_deref().map(str::trim) != Some(a.username.as_str()) {
            return Err(AppError::Unprocessable(
                "Type the username to confirm the deletion".into(),
            ));
        }
        if u.id == s.user.id {
            return Err(AppError::Forbidden("You cannot delete yourself".into()));
        }
        if a.suspended_at.is_none() {
            moderation::act(&state, s.m, id, "suspend", None, "before deletion").await?;
        }
        moderation::delete_account(&state, s.m, id).await
    }
    .await;
    match result {
        Ok(()) => done("/admin/people", "delete"),
        Err(e) => failed(&state, &s.viewer, e),
    }
}

// ------------------------------------------------------------------ invites

pub struct InviteRow {
    pub code: String,
    pub uses: String,
    pub expires: String,
    pub usable: bool,
}

#[derive(Template)]
#[template(path = "admin/invites.html")]
struct Invites {
    chrome: Chrome,
    nav: Nav,
    csrf: String,
    notice: Option<String>,
    rows: Vec<InviteRow>,
    mode: &'static str,
}

async fn invites(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<Notice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match staff(&state, &headers, "/admin/invites").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = s.m.check(perm::MANAGE_INVITES) {
        return failed(&state, &s.viewer, e);
    }
    let list = match crate::domain::registrations::list_invites(&state.db).await {
        Ok(l) => l,
        Err(e) => return failed(&state, &s.viewer, e),
    };
    page(&Invites {
        chrome: chrome(&state, "Invites", &s.viewer),
        nav: nav(&state, &s.m),
        csrf: s.viewer.csrf.clone(),
        notice: notice(&q.ok()),
        rows: list
            .into_iter()
            .map(|i| InviteRow {
                uses: match i.max_uses {
                    Some(m) => format!("{} of {m}", i.uses),
                    None => i.uses.to_string(),
                },
                expires: i.expires_at.map(when).unwrap_or_else(|| "never".into()),
                usable: i.usable(),
                code: i.code,
            })
            .collect(),
        mode: state.config.registrations.as_str(),
    })
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    csrf: Option<String>,
    max_uses: Option<String>,
    expires_days: Option<String>,
}

async fn create_invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(f): Params<InviteForm>,
) -> Response {
    let s = match staff_form(&state, &headers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = async {
        s.m.check(perm::MANAGE_INVITES)?;
        let number = |v: &Option<String>, what: &str| -> AppResult<Option<i64>> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(n) => n
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .map(Some)
                    .ok_or_else(|| {
                        AppError::Unprocessable(format!("{what} must be a whole number from 1"))
                    }),
            }
        };
        let max = number(&f.max_uses, "Uses")?.map(|n| n as i32);
        let days = number(&f.expires_days, "Days")?.map(Duration::days);
        let invite =
            crate::domain::registrations::create_invite(&state.db, Some(s.user.id), max, days)
                .await?;
        moderation::record(
            &state,
            s.m.account_id,
            "create_invite",
            "invite",
            &invite.code,
            "",
        )
        .await
    }
    .await;
    match result {
        Ok(()) => done("/admin/invites", "invite"),
        Err(e) => failed(&state, &s.viewer, e),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

async fn revoke_invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Params(f): Params<CsrfForm>,
) -> Response {
    let s = match staff_form(&state, &headers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = async {
        s.m.check(perm::MANAGE_INVITES)?;
        crate::domain::registrations::revoke_invite(&state.db, &code).await?;
        moderation::record(&state, s.m.account_id, "revoke_invite", "invite", &code, "").await
    }
    .await;
    match result {
        Ok(()) => done("/admin/invites", "revoke"),
        Err(e) => failed(&state, &s.viewer, e),
    }
}

// ----------------------------------------------------------------- partners

pub struct PartnerRow {
    pub domain: String,
    pub policy: &'static str,
    pub reject_media: bool,
    pub share: bool,
    pub read: bool,
    pub last_sync: String,
    pub sent: i64,
    pub failed: i64,
    pub pending: i64,
    pub received: i64,
    pub unreachable: bool,
    /// The buttons the row offers: action and label.
    pub actions: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "admin/partners.html")]
struct Partners {
    chrome: Chrome,
    nav: Nav,
    csrf: String,
    notice: Option<String>,
    mode: &'static str,
    rows: Vec<PartnerRow>,
}

/// Every domain with a policy, a media rule or a directory exchange, and
/// what went each way in the last 7 days.
pub fn partner_rows(c: &mut DbConn) -> AppResult<Vec<PartnerRow>> {
    use std::collections::BTreeMap;
    let mut rows: BTreeMap<String, PartnerRow> = BTreeMap::new();
    let blank = |d: &str| PartnerRow {
        domain: d.to_string(),
        policy: "",
        reject_media: false,
        share: false,
        read: false,
        last_sync: String::new(),
        sent: 0,
        failed: 0,
        pending: 0,
        received: 0,
        unreachable: false,
        actions: Vec::new(),
    };
    for (d, p) in domain_policies::table
        .select((domain_policies::domain, domain_policies::policy))
        .load::<(String, String)>(c)?
    {
        rows.entry(d.clone()).or_insert_with(|| blank(&d)).policy =
            if p == "block" { "block" } else { "allow" };
    }
    for d in domain_media_rejections::table
        .select(domain_media_rejections::domain)
        .load::<String>(c)?
    {
        rows.entry(d.clone())
            .or_insert_with(|| blank(&d))
            .reject_media = true;
    }
    for p in crate::org::partners::peers(c)? {
        let r = rows
            .entry(p.domain.clone())
            .or_insert_with(|| blank(&p.domain));
        r.share = p.share;
        r.read = p.read;
        r.last_sync = p.last_sync_at.map(when).unwrap_or_default();
    }
    let week = now() - Duration::days(7);
    let by_host: Vec<(String, String, i64)> = deliveries::table
        .filter(
            deliveries::updated_at
                .gt(week)
                .or(deliveries::state.eq("pending")),
        )
        .group_by((deliveries::host, deliveries::state))
        .select((
            deliveries::host,
            deliveries::state,
            diesel::dsl::count_star(),
        ))
        .load(c)?;
    let unreachable: Vec<String> = crate::delivery::hosts::unreachable(c)?
        .into_iter()
        .map(|h| h.host)
        .collect();
    for r in rows.values_mut() {
        // Deliveries are counted by host, which may carry a port.
        let host_matches = |h: &str| h == r.domain || h.split(':').next() == Some(&r.domain);
        for (h, state, n) in &by_host {
            if host_matches(h) {
                match state.as_str() {
                    "done" => r.sent += n,
                    "failed" => r.failed += n,
                    "pending" => r.pending += n,
                    _ => {}
                }
            }
        }
        r.unreachable = unreachable.iter().any(|h| host_matches(h));
        let pattern = format!("%://{}/%", crate::org::directory::like_escaped(&r.domain));
        r.received = inbound_activities::table
            .filter(inbound_activities::created_at.gt(week))
            .filter(inbound_activities::ap_id.like(pattern))
            .count()
            .get_result(c)?;
        let offered = [
            ("allow", "Allow", r.policy != "allow"),
            ("block", "Block", r.policy != "block"),
            ("remove", "Remove policy", !r.policy.is_empty()),
            ("reject_media", "Reject media", !r.reject_media),
            ("accept_media", "Accept media", r.reject_media),
            ("share", "Share directory", !r.share),
            ("unshare", "Stop sharing", r.share),
            ("read", "Read directory", !r.read),
            ("unread", "Stop reading", r.read),
        ];
        r.actions = offered
            .into_iter()
            .filter(|(_, _, shown)| *shown)
            .map(|(a, l, _)| (a, l))
            .collect();
    }
    Ok(rows.into_values().collect())
}

fn mode_name(state: &AppState) -> &'static str {
    match state.config.federation_mode {
        crate::config::FederationMode::Allowlist => "allowlist",
        crate::config::FederationMode::Blocklist => "blocklist",
        crate::config::FederationMode::Open => "open",
    }
}

async fn partners(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<Notice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match staff(&state, &headers, "/admin/partners").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = s.m.check(perm::MANAGE_FEDERATION) {
        return failed(&state, &s.viewer, e);
    }
    let rows = match state.db.run(partner_rows).await {
        Ok(r) => r,
        Err(e) => return failed(&state, &s.viewer, e),
    };
    page(&Partners {
        chrome: chrome(&state, "Partners and domains", &s.viewer),
        nav: nav(&state, &s.m),
        csrf: s.viewer.csrf.clone(),
        notice: notice(&q.ok()),
        mode: mode_name(&state),
        rows,
    })
}

#[derive(Debug, Deserialize)]
pub struct PartnerForm {
    csrf: Option<String>,
    domain: Option<String>,
    action: Option<String>,
}

/// The partner actions; each is logged under its own name.
const PARTNER_ACTIONS: [&str; 9] = [
    "allow",
    "block",
    "remove",
    "reject_media",
    "accept_media",
    "share",
    "unshare",
    "read",
    "unread",
];

async fn partner_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(f): Params<PartnerForm>,
) -> Response {
    let s = match staff_form(&state, &headers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = async {
        s.m.check(perm::MANAGE_FEDERATION)?;
        let action = f.action.clone().unwrap_or_default();
        if !PARTNER_ACTIONS.contains(&action.as_str()) {
            return Err(AppError::Unprocessable(format!("Unknown action: {action}")));
        }
        let raw = f.domain.clone().unwrap_or_default();
        let domain = match action.as_str() {
            "share" | "unshare" | "read" | "unread" => crate::org::partners::normalize_peer(&raw)?,
            _ => policy::normalize_domain(&raw).map_err(AppError::Unprocessable)?,
        };
        match action.as_str() {
            "allow" => {
                policy::set_domain_policy(&state.db, &domain, PolicyKind::Allow, "").await?;
            }
            "block" => {
                policy::set_domain_policy(&state.db, &domain, PolicyKind::Block, "").await?;
            }
            "remove" => {
                policy::remove_domain_policy(&state.db, &domain).await?;
            }
            "reject_media" | "accept_media" => {
                policy::set_media_rejection(&state.db, &domain, action == "reject_media").await?;
            }
            _ => {
                let d = domain.clone();
                let (share, read) = match action.as_str() {
                    "share" => (Some(true), None),
                    "unshare" => (Some(false), None),
                    "read" => (None, Some(true)),
                    _ => (None, Some(false)),
                };
                state
                    .db
                    .transaction(move |c| crate::org::partners::set_peer(c, &d, share, read))
                    .await?;
            }
        }
        state.policy.invalidate();
        let actor = s.m.account_id;
        state
            .db
            .run(move |c| {
                moderation::log(c, actor, &format!("{action}_domain"), "domain", &domain, "")
                    .map_err(AppError::from)
            })
            .await
    }
    .await;
    match result {
        Ok(()) => done("/admin/partners", "partner"),
        Err(e) => failed(&state, &s.viewer, e),
    }
}

// ------------------------------------------------------------------ reports

pub struct ReportRow {
    pub id: i64,
    pub reporter: String,
    pub target: String,
    pub target_id: i64,
    pub category: String,
    pub comment: String,
    pub posts: usize,
    pub assigned: String,
    pub created: String,
    pub resolved: bool,
    pub forwarded: bool,
    pub remote_target: bool,
}

#[derive(Template)]
#[template(path = "admin/reports.html")]
struct Reports {
    chrome: Chrome,
    nav: Nav,
    notice: Option<String>,
    resolved: bool,
    rows: Vec<ReportRow>,
}

#[derive(Template)]
#[template(path = "admin/report.html")]
struct ReportPage {
    chrome: Chrome,
    nav: Nav,
    csrf: String,
    notice: Option<String>,
    r: ReportRow,
    posts: Vec<PostView>,
    target_suspended: bool,
    /// The buttons: action, label, whether it is the usual next step.
    actions: Vec<(&'static str, &'static str, bool)>,
}

fn report_actions(
    r: &ReportRow,
    local: bool,
    suspended: bool,
) -> Vec<(&'static str, &'static str, bool)> {
    let open = !r.resolved;
    [
        (
            "assign_to_self",
            "Assign to me",
            r.assigned.is_empty(),
            true,
        ),
        ("unassign", "Unassign", !r.assigned.is_empty(), false),
        ("resolve", "Resolve", open, true),
        ("reopen", "Reopen", !open, false),
        (
            "delete_posts",
            "Delete the reported posts",
            open && r.posts > 0,
            false,
        ),
        ("silence", "Limit the account", open, false),
        ("disable", "Disable the account", open && local, false),
        ("suspend", "Suspend the account", open && !suspended, false),
        (
            "forward",
            "Send to their server",
            r.remote_target && !r.forwarded,
            false,
        ),
    ]
    .into_iter()
    .filter(|(_, _, shown, _)| *shown)
    .map(|(w, l, _, primary)| (w, l, primary))
    .collect()
}

fn handle(own: &str, a: &Account) -> String {
    format!("@{}@{}", a.username, a.domain.as_deref().unwrap_or(own))
}

fn report_rows(
    c: &mut DbConn,
    own: &str,
    list: Vec<crate::domain::reports::Report>,
) -> AppResult<Vec<ReportRow>> {
    use std::collections::HashMap;
    let assigned: HashMap<i64, Option<i64>> = reports::table
        .filter(reports::id.eq_any(list.iter().map(|r| r.id).collect::<Vec<_>>()))
        .select((reports::id, reports::assigned_account_id))
        .load::<(i64, Option<i64>)>(c)?
        .into_iter()
        .collect();
    let mut ids: Vec<i64> = list
        .iter()
        .flat_map(|r| [r.account_id, r.target_account_id])
        .chain(assigned.values().flatten().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let people: HashMap<i64, Account> = accounts::table
        .filter(accounts::id.eq_any(ids))
        .select(Account::as_select())
        .load(c)?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let name = |id: i64| people.get(&id).map(|a| handle(own, a)).unwrap_or_default();
    Ok(list
        .into_iter()
        .map(|r| ReportRow {
            id: r.id,
            reporter: name(r.account_id),
            target: name(r.target_account_id),
            target_id: r.target_account_id,
            category: r.category.clone(),
            comment: r.comment.clone(),
            posts: r.statuses().len(),
            assigned: assigned
                .get(&r.id)
                .copied()
                .flatten()
                .map(name)
                .unwrap_or_default(),
            created: when(r.created_at),
            resolved: r.action_taken_at.is_some(),
            forwarded: r.forwarded,
            remote_target: people
                .get(&r.target_account_id)
                .is_some_and(|a| !a.is_local()),
        })
        .collect())
}

#[derive(Debug, Deserialize, Default)]
pub struct ReportsQuery {
    resolved: Option<String>,
    done: Option<String>,
}

async fn reports_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<ReportsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match staff(&state, &headers, "/admin/reports").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = s.m.check(perm::MANAGE_REPORTS) {
        return failed(&state, &s.viewer, e);
    }
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let resolved = q.resolved.as_deref() == Some("true");
    let own = state.config.domain.clone();
    let rows = state
        .db
        .run(move |c| {
            let mut q = reports::table.into_boxed();
            q = if resolved {
                q.filter(reports::action_taken_at.is_not_null())
            } else {
                q.filter(reports::action_taken_at.is_null())
            };
            let list: Vec<crate::domain::reports::Report> = q
                .order(reports::id.desc())
                .limit(200)
                .select(crate::domain::reports::Report::as_select())
                .load(c)?;
            report_rows(c, &own, list)
        })
        .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return failed(&state, &s.viewer, e),
    };
    let done = q.done.map(|d| Query(Notice { done: Some(d) }));
    page(&Reports {
        chrome: chrome(&state, "Reports", &s.viewer),
        nav: nav(&state, &s.m),
        notice: notice(&done),
        resolved,
        rows,
    })
}

async fn report_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    q: Result<Query<Notice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match staff(&state, &headers, &format!("/admin/reports/{id}")).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = s.m.check(perm::MANAGE_REPORTS) {
        return failed(&state, &s.viewer, e);
    }
    let own = state.config.domain.clone();
    let ctx = ctx(&state);
    let found = state
        .db
        .run(move |c| {
            let r = crate::domain::reports::by_id(c, id)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            let target = Account::by_id(c, r.target_account_id)?;
            let listed: Vec<Status> = statuses::table
                .filter(statuses::id.eq_any(r.statuses()))
                .order(statuses::id.desc())
                .select(Status::as_select())
                .load(c)?;
            let posts = views::posts(c, &ctx, &listed)?;
            let row = report_rows(c, &own, vec![r])?
                .pop()
                .ok_or_else(AppError::not_found)?;
            Ok::<_, AppError>((row, posts, target))
        })
        .await;
    let (r, posts, target) = match found {
        Ok(x) => x,
        Err(e) => return failed(&state, &s.viewer, e),
    };
    page(&ReportPage {
        chrome: chrome(&state, &format!("Report {id}"), &s.viewer),
        nav: nav(&state, &s.m),
        csrf: s.viewer.csrf.clone(),
        notice: notice(&q.ok()),
        actions: report_actions(&r, target.is_local(), target.suspended_at.is_some()),
        r,
        posts,
        target_suspended: target.suspended_at.is_some(),
    })
}

async fn report_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, what)): Path<(i64, String)>,
    Params(f): Params<CsrfForm>,
) -> Response {
    let s = match staff_form(&state, &headers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = async {
        s.m.check(perm::MANAGE_REPORTS)?;
        let r = state
            .db
            .run(move |c| {
                crate::domain::reports::by_id(c, id)
                    .optional()?
                    .ok_or_else(AppError::not_found)
            })
            .await?;
        match what.as_str() {
            w if moderation::REPORT_CHANGES.contains(&w) => {
                moderation::change_report(&state, s.m, id, w).await
            }
            w @ ("disable" | "silence" | "suspend" | "sensitive") => {
                moderation::act(&state, s.m, r.target_account_id, w, Some(id), &r.comment).await
            }
            "delete_posts" => {
                for sid in r.statuses() {
                    match crate::domain::statuses::remove_by_moderator(&state, sid).await {
                        Ok(()) | Err(AppError::NotFound(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                moderation::record(
                    &state,
                    s.m.account_id,
                    "delete_posts",
                    "report",
                    &id.to_string(),
                    "",
                )
                .await?;
                moderation::change_report(&state, s.m, id, "resolve").await
            }
            "forward" => {
                if !crate::domain::reports::forward(&state, id).await? {
                    return Err(AppError::Unprocessable(
                        "Only a report about another server's account is forwarded, once".into(),
                    ));
                }
                state.delivery_wake.notify_one();
                moderation::record(
                    &state,
                    s.m.account_id,
                    "forward",
                    "report",
                    &id.to_string(),
                    "",
                )
                .await
            }
            _ => Err(AppError::not_found()),
        }
    }
    .await;
    match result {
        Ok(()) => done(&format!("/admin/reports/{id}"), &what),
        Err(e) => failed(&state, &s.viewer, e),
    }
}

// ------------------------------------------------------------------- groups

pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub title: String,
    pub closed: bool,
    pub members: i64,
    pub owner: String,
    pub moderators: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct Groups {
    chrome: Chrome,
    nav: Nav,
    csrf: String,
    notice: Option<String>,
    rows: Vec<GroupRow>,
    admin: bool,
}

pub fn group_rows(c: &mut DbConn, own: &str) -> AppResult<Vec<GroupRow>> {
    use crate::db::schema::group_moderators;
    use std::collections::HashMap;
    let list: Vec<(Account, Option<i64>, bool)> = accounts::table
        .inner_join(group_settings::table.on(group_settings::account_id.eq(accounts::id)))
        .filter(accounts::domain.is_null())
        .filter(accounts::actor_type.eq("Group"))
        .filter(accounts::suspended_at.is_null())
        .order(lower(accounts::username).asc())
        .select((
            Account::as_select(),
            group_settings::owner_account_id,
            group_settings::closed,
        ))
        .load(c)?;
    let ids: Vec<i64> = list.iter().map(|(a, _, _)| a.id).collect();
    let mods: Vec<(i64, Account)> = group_moderators::table
        .inner_join(accounts::table.on(accounts::id.eq(group_moderators::account_id)))
        .filter(group_moderators::group_id.eq_any(&ids))
        .select((group_moderators::group_id, Account::as_select()))
        .load(c)?;
    let mut by_group: HashMap<i64, Vec<Account>> = HashMap::new();
    for (g, a) in mods {
        by_group.entry(g).or_default().push(a);
    }
    let owners: Vec<i64> = list.iter().filter_map(|(_, o, _)| *o).collect();
    let owner_names: HashMap<i64, String> = accounts::table
        .filter(accounts::id.eq_any(owners))
        .select(Account::as_select())
        .load(c)?
        .into_iter()
        .map(|a| (a.id, handle(own, &a)))
        .collect();
    Ok(list
        .into_iter()
        .map(|(a, owner, closed)| GroupRow {
            id: a.id,
            title: a.display_name.clone(),
            closed,
            members: a.followers_count,
            owner: owner
                .and_then(|o| owner_names.get(&o).cloned())
                .unwrap_or_default(),
            moderators: by_group
                .remove(&a.id)
                .unwrap_or_default()
                .iter()
                .filter(|m| Some(m.id) != owner)
                .map(|m| handle(own, m))
                .collect(),
            name: a.username,
        })
        .collect())
}

async fn groups(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<Notice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match staff(&state, &headers, "/admin/groups").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = s.m.check(perm::MANAGE_USERS) {
        return failed(&state, &s.viewer, e);
    }
    let own = state.config.domain.clone();
    let rows = match state.db.run(move |c| group_rows(c, &own)).await {
        Ok(r) => r,
        Err(e) => return failed(&state, &s.viewer, e),
    };
    page(&Groups {
        chrome: chrome(&state, "Groups", &s.viewer),
        nav: nav(&state, &s.m),
        csrf: s.viewer.csrf.clone(),
        notice: notice(&q.ok()),
        rows,
        admin: moderation::may(s.m.role, perm::DELETE_USER_DATA),
    })
}

#[derive(Debug, Deserialize)]
pub struct HandOverForm {
    csrf: Option<String>,
    owner: Option<String>,
    confirm: Option<String>,
}

async fn hand_over(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Params(f): Params<HandOverForm>,
) -> Response {
    let s = match staff_form(&state, &headers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = async {
        s.m.check(perm::MANAGE_USERS)?;
        let name = f
            .owner
            .as_deref()
            .map(|n| n.trim().trim_start_matches('@').to_string())
            .unwrap_or_default();
        let n = name.clone();
        let who = state
            .db
            .run(move |c| Account::local_by_username(c, &n).map_err(AppError::from))
            .await?
            .ok_or_else(|| AppError::Unprocessable(format!("No one here is called {name}")))?;
        crate::domain::groups::hand_over(&state, id, who.id).await?;
        moderation::record(
            &state,
            s.m.account_id,
            "hand_over",
            "group",
            &id.to_string(),
            &name,
        )
        .await
    }
    .await;
    match result {
        Ok(()) => done("/admin/groups", "hand_over"),
        Err(e) => failed(&state, &s.viewer, e),
    }
}

async fn local_group(state: &AppState, id: i64) -> AppResult<Account> {
    let g = state
        .db
        .run(move |c| crate::domain::groups::find(c, id))
        .await?;
    if !g.account.is_local() {
        return Err(AppError::not_found());
    }
    Ok(g.account)
}

async fn confirm_group_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff(&state, &headers, "/admin/groups").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let g = match async {
        s.m.check(perm::DELETE_USER_DATA)?;
        local_group(&state, id).await
    }
    .await
    {
        Ok(g) => g,
        Err(e) => return failed(&state, &s.viewer, e),
    };
    page(&Confirm {
        chrome: chrome(&state, "Delete a group", &s.viewer),
        nav: nav(&state, &s.m),
        notice: None,
        csrf: s.viewer.csrf.clone(),
        heading: format!("Delete the group {}?", g.username),
        text: "Its posts and memberships go, and members' servers are told. This cannot be undone."
            .into(),
        action: format!("/admin/groups/{id}/delete"),
        word: g.username,
        back: "/admin/groups".into(),
    })
}

async fn delete_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Params(f): Params<HandOverForm>,
) -> Response {
    let s = match staff_form(&state, &headers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = async {
        s.m.check(perm::DELETE_USER_DATA)?;
        let g = local_group(&state, id).await?;
        if f.confirm.as_deref().map(str::trim) != Some(g.username.as_str()) {
            return Err(AppError::Unprocessable(
                "Type the group's name to confirm the deletion".into(),
            ));
        }
        crate::domain::accounts::delete_local_account(&state, &g).await?;
        state.delivery_wake.notify_one();
        moderation::record(
            &state,
            s.m.account_id,
            "delete_group",
            "group",
            &id.to_string(),
            &g.username,
        )
        .await
    }
    .await;
    match result {
        Ok(()) => done("/admin/groups", "group_delete"),
        Err(e) => failed(&state, &s.viewer, e),
    }
}

// ---------------------------------------------------------------------- log

pub struct LogRow {
    pub when: String,
    pub who: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/log.html")]
struct LogPage {
    chrome: Chrome,
    nav: Nav,
    notice: Option<String>,
    rows: Vec<LogRow>,
}

async fn log_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match staff(&state, &headers, "/admin/log").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = s.m.check(perm::VIEW_AUDIT_LOG) {
        return failed(&state, &s.viewer, e);
    }
    let own = state.config.domain.clone();
    let rows = state
        .db
        .run(move |c| {
            let rows: Vec<(
                NaiveDateTime,
                String,
                String,
                String,
                String,
                Option<Account>,
            )> = admin_action_logs::table
                .left_join(accounts::table.on(accounts::id.eq(admin_action_logs::account_id)))
                .order(admin_action_logs::id.desc())
                .limit(200)
                .select((
                    admin_action_logs::created_at,
                    admin_action_logs::action,
                    admin_action_logs::target_type,
                    admin_action_logs::target_id,
                    admin_action_logs::detail,
                    Option::<Account>::as_select(),
                ))
                .load(c)?;
            Ok::<_, AppError>(
                rows.into_iter()
                    .map(|(t, action, kind, target, detail, who)| LogRow {
                        when: when(t),
                        who: who.map(|a| handle(&own, &a)).unwrap_or_default(),
                        action,
                        target: format!("{kind} {target}"),
                        detail,
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .await;
    match rows {
        Ok(rows) => page(&LogPage {
            chrome: chrome(&state, "Action log", &s.viewer),
            nav: nav(&state, &s.m),
            notice: None,
            rows,
        }),
        Err(e) => failed(&state, &s.viewer, e),
    }
}
