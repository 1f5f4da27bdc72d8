//! `/settings`: a signed-in person's own account: change the password, see
//! and end browser sessions and app authorizations, and download their data
//! (follows, blocks and mutes as Mastodon's CSV files, posts as an
//! ActivityStreams outbox like Mastodon's archive).

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use futures::StreamExt;
use serde::Deserialize;

use crate::api::extract::Params;
use crate::app::AppState;
use crate::db::models::{Account, Status, User};
use crate::db::now;
use crate::db::schema::{
    accounts, blocks, follows, mutes, oauth_applications, oauth_tokens, statuses, web_sessions,
};
use crate::domain::oauth::{self, digest};
use crate::domain::password;
use crate::error::{AppError, AppResult};
use crate::web::session::{self, cookie_value};
use crate::web::{Chrome, Viewer, csrf_ok, message, render, signed_in, to_sign_in};

#[derive(Debug, Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    csrf: String,
    handle: String,
    email: String,
    /// None when the password belongs to the identity provider.
    password: Option<PasswordForm>,
    provider: String,
    notice: Option<String>,
}

#[derive(Default)]
struct PasswordForm {
    error: Option<String>,
}

pub struct SessionRow {
    pub id: i64,
    pub method: String,
    pub created: String,
    pub expires: String,
    pub current: bool,
}

pub struct AppRow {
    pub id: i64,
    pub name: String,
    pub website: Option<String>,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    csrf: String,
    sessions: Vec<SessionRow>,
    apps: Vec<AppRow>,
    notice: Option<String>,
}

fn day(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn notice(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "password" => "Your password was changed. Other browsers were signed out.",
            "session" => "That browser was signed out.",
            "app" => "That app can no longer use your account.",
            _ => return None,
        }
        .into(),
    )
}

fn handle(state: &AppState, a: &Account) -> String {
    format!("@{}@{}", a.username, state.config.domain)
}

fn settings_page(
    state: &AppState,
    status: StatusCode,
    user: &User,
    account: &Account,
    viewer: Viewer,
    password: PasswordForm,
    notice: Option<String>,
) -> Response {
    // SSO and LDAP accounts have no password of their own (see `create_user`).
    let own_password = !user.password_hash.is_empty();
    let page = SettingsPage {
        chrome: Chrome::new(state, "Your account", Some(viewer.clone())),
        csrf: viewer.csrf,
        handle: handle(state, account),
        email: user.email.clone(),
        password: own_password.then_some(password),
        provider: if !state.config.ldap_url.is_empty() {
            "your organization's directory".into()
        } else {
            state.config.oidc_display_name.clone()
        },
        notice,
    };
    let mut res = render(status, &page);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some((user, account, viewer)) = signed_in(&state, &headers).await else {
        return to_sign_in("/settings");
    };
    let done = q.ok().and_then(|Query(q)| q.done);
    settings_page(
        &state,
        StatusCode::OK,
        &user,
        &account,
        viewer,
        PasswordForm::default(),
        notice(done.as_deref()),
    )
}

fn expired(state: &AppState, viewer: Option<Viewer>) -> Response {
    message(
        state,
        StatusCode::FORBIDDEN,
        viewer,
        "Nothing changed",
        "The form expired or came from elsewhere. Reload the page and try again.",
    )
}

#[derive(Debug, Deserialize)]
pub struct PasswordChange {
    csrf: Option<String>,
    current_password: Option<String>,
    password: Option<String>,
    password_confirmation: Option<String>,
}

pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(f): Params<PasswordChange>,
) -> Response {
    let Some((user, account, viewer)) = signed_in(&state, &headers).await else {
        return to_sign_in("/settings");
    };
    if !csrf_ok(&state, &headers, f.csrf.as_deref()) {
        return expired(&state, Some(viewer));
    }
    let refuse = |status, error: &str| {
        settings_page(
            &state,
            status,
            &user,
            &account,
            viewer.clone(),
            PasswordForm {
                error: Some(error.into()),
            },
            None,
        )
    };
    if user.password_hash.is_empty() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Your password is managed by your organization's sign-in.",
        );
    }
    let current = f.current_password.unwrap_or_default();
    let hash = user.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || password::verify(&current, &hash))
        .await
        .unwrap_or(false);
    if !ok {
        return refuse(StatusCode::UNAUTHORIZED, "The current password is wrong.");
    }
    let new = f.password.unwrap_or_default();
    if Some(&new) != f.password_confirmation.as_ref() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The new password and its confirmation differ.",
        );
    }
    if let Err(e) = password::check_strength(&new) {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, &e);
    }
    if let Err(e) = crate::domain::users::set_password(&state.db, &account.username, &new).await {
        return e.into_response();
    }
    // Whoever else held a browser session with the old password loses it.
    let keep = cookie_value(&headers, session::COOKIE)
        .map(|t| digest(&t))
        .unwrap_or_default();
    let uid = user.id;
    let ended = state
        .db
        .run(move |c| session::end_all(c, uid, Some(&keep)).map_err(AppError::from))
        .await;
    if let Err(e) = ended {
        return e.into_response();
    }
    Redirect::to("/settings?done=password").into_response()
}

pub async fn sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<Done>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Response> {
    let Some((user, _, viewer)) = signed_in(&state, &headers).await else {
        return Ok(to_sign_in("/settings/sessions"));
    };
    let mine = cookie_value(&headers, session::COOKIE)
        .map(|t| digest(&t))
        .unwrap_or_default();
    let uid = user.id;
    let (sessions, apps) = state
        .db
        .run(move |c| {
            let sessions = web_sessions::table
                .filter(web_sessions::user_id.eq(uid))
                .filter(web_sessions::expires_at.gt(now()))
                .order(web_sessions::created_at.desc())
                .select((
                    web_sessions::id,
                    web_sessions::token_hash,
                    web_sessions::method,
                    web_sessions::created_at,
                    web_sessions::expires_at,
                ))
                .load::<(i64, String, String, NaiveDateTime, NaiveDateTime)>(c)?
                .into_iter()
                .map(|(id, hash, method, created, expires)| SessionRow {
                    id,
                    current: hash == mine,
                    method: match method.as_str() {
                        "password" => "Password".into(),
                        "oidc" => "Single sign-on".into(),
                        other => other.to_string(),
                    },
                    created: day(created),
                    expires: day(expires),
                })
                .collect::<Vec<_>>();
            let apps = oauth_tokens::table
                .left_join(
                    oauth_applications::table.on(oauth_applications::id
                        .nullable()
                        .eq(oauth_tokens::application_id)),
                )
                .filter(oauth_tokens::user_id.eq(uid))
                .filter(oauth_tokens::revoked_at.is_null())
                .order(oauth_tokens::created_at.desc())
                .select((
                    oauth_tokens::id,
                    oauth_applications::name.nullable(),
                    oauth_applications::website.nullable(),
                    oauth_tokens::scopes,
                    oauth_tokens::created_at,
                    oauth_tokens::last_used_at,
                ))
                .load::<(
                    i64,
                    Option<String>,
                    Option<String>,
                    String,
                    NaiveDateTime,
                    Option<NaiveDateTime>,
                )>(c)?
                .into_iter()
                .map(|(id, name, website, scopes, created, used)| AppRow {
                    id,
                    name: name.unwrap_or_else(|| "An app without a name".into()),
                    // Only web links: a custom scheme is no page to visit.
                    website: website
                        .filter(|w| w.starts_with("https://") || w.starts_with("http://")),
                    scopes,
                    created: day(created),
                    last_used: used.map(day).unwrap_or_else(|| "never".into()),
                })
                .collect::<Vec<_>>();
            Ok::<_, AppError>((sessions, apps))
        })
        .await?;
    let done = q.ok().and_then(|Query(q)| q.done);
    let page = SessionsPage {
        chrome: Chrome::new(&state, "Sessions and apps", Some(viewer.clone())),
        csrf: viewer.csrf,
        sessions,
        apps,
        notice: notice(done.as_deref()),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    csrf: Option<String>,
}

pub async fn end_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Params(f): Params<CsrfOnly>,
) -> AppResult<Response> {
    let Some((user, _, viewer)) = signed_in(&state, &headers).await else {
        return Ok(to_sign_in("/settings/sessions"));
    };
    if !csrf_ok(&state, &headers, f.csrf.as_deref()) {
        return Ok(expired(&state, Some(viewer)));
    }
    let uid = user.id;
    let n = state
        .db
        .run(move |c| {
            diesel::delete(
                web_sessions::table
                    .filter(web_sessions::id.eq(id))
                    .filter(web_sessions::user_id.eq(uid)),
            )
            .execute(c)
            .map_err(AppError::from)
        })
        .await?;
    if n == 0 {
        return Ok(crate::web::not_found(&state, Some(viewer)));
    }
    Ok(Redirect::to("/settings/sessions?done=session").into_response())
}

pub async fn revoke_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Params(f): Params<CsrfOnly>,
) -> AppResult<Response> {
    let Some((user, _, viewer)) = signed_in(&state, &headers).await else {
        return Ok(to_sign_in("/settings/sessions"));
    };
    if !csrf_ok(&state, &headers, f.csrf.as_deref()) {
        return Ok(expired(&state, Some(viewer)));
    }
    if !oauth::revoke_user_token(&state.db, user.id, id).await? {
        return Ok(crate::web::not_found(&state, Some(viewer)));
    }
    Ok(Redirect::to("/settings/sessions?done=app").into_response())
}

#[derive(Template)]
#[template(path = "export.html")]
struct ExportPage {
    chrome: Chrome,
    posts: i64,
    following: i64,
    blocks: i64,
    mutes: i64,
}

pub async fn export(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    let Some((_, account, viewer)) = signed_in(&state, &headers).await else {
        return Ok(to_sign_in("/settings/export"));
    };
    let me = account.id;
    let (posts, following, blocks, mutes) = state
        .db
        .run(move |c| {
            Ok::<_, AppError>((
                statuses::table
                    .filter(statuses::account_id.eq(me))
                    .count()
                    .get_result::<i64>(c)?,
                follows::table
                    .filter(follows::account_id.eq(me))
                    .count()
                    .get_result::<i64>(c)?,
                blocks::table
                    .filter(blocks::account_id.eq(me))
                    .count()
                    .get_result::<i64>(c)?,
                mutes::table
                    .filter(mutes::account_id.eq(me))
                    .count()
                    .get_result::<i64>(c)?,
            ))
        })
        .await?;
    Ok(render(
        StatusCode::OK,
        &ExportPage {
            chrome: Chrome::new(&state, "Export your data", Some(viewer)),
            posts,
            following,
            blocks,
            mutes,
        },
    ))
}

/// A CSV cell: quoted when it holds a comma, quote or line break.
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn address(own_domain: &str, username: &str, domain: Option<&str>) -> String {
    format!("{username}@{}", domain.unwrap_or(own_domain))
}

fn download(content_type: &'static str, name: &str, body: impl Into<Body>) -> Response {
    let mut res = (StatusCode::OK, body.into()).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// `following_accounts.csv`, `blocked_accounts.csv`, `muted_accounts.csv`
/// in the columns Mastodon's import reads.
pub async fn export_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> AppResult<Response> {
    let Some((_, account, _)) = signed_in(&state, &headers).await else {
        return Ok(to_sign_in("/settings/export"));
    };
    let me = account.id;
    let own = state.config.domain.clone();
    let which = file.clone();
    let csv = state
        .db
        .run(move |c| {
            let mut out = String::new();
            match which.as_str() {
                "following_accounts.csv" => {
                    out.push_str("Account address,Show boosts,Notify on new posts,Languages\n");
                    let rows = follows::table
                        .inner_join(accounts::table.on(accounts::id.eq(follows::target_account_id)))
                        .filter(follows::account_id.eq(me))
                        .filter(follows::pending.eq(false))
                        .order(follows::id.asc())
                        .select((
                            accounts::username,
                            accounts::domain,
                            follows::show_reblogs,
                            follows::notify,
                        ))
                        .load::<(String, Option<String>, bool, bool)>(c)?;
                    for (u, d, boosts, notify) in rows {
                        out.push_str(&format!(
                            "{},{boosts},{notify},\n",
                            cell(&address(&own, &u, d.as_deref()))
                        ));
                    }
                }
                "blocked_accounts.csv" => {
                    let rows = blocks::table
                        .inner_join(accounts::table.on(accounts::id.eq(blocks::target_account_id)))
                        .filter(blocks::account_id.eq(me))
                        .order(blocks::id.asc())
                        .select((accounts::username, accounts::domain))
                        .load::<(String, Option<String>)>(c)?;
                    for (u, d) in rows {
                        out.push_str(&cell(&address(&own, &u, d.as_deref())));
                        out.push('\n');
                    }
                }
                "muted_accounts.csv" => {
                    out.push_str("Account address,Hide notifications\n");
                    let rows = mutes::table
                        .inner_join(accounts::table.on(accounts::id.eq(mutes::target_account_id)))
                        .filter(mutes::account_id.eq(me))
                        .filter(mutes::expires_at.is_null().or(mutes::expires_at.gt(now())))
                        .order(mutes::id.asc())
                        .select((
                            accounts::username,
                            accounts::domain,
                            mutes::hide_notifications,
                        ))
                        .load::<(String, Option<String>, bool)>(c)?;
                    for (u, d, hide) in rows {
                        out.push_str(&format!(
                            "{},{hide}\n",
                            cell(&address(&own, &u, d.as_deref()))
                        ));
                    }
                }
                _ => return Ok(None),
            }
            Ok::<_, AppError>(Some(out))
        })
        .await?;
    match csv {
        Some(csv) => Ok(download("text/csv; charset=utf-8", &file, csv)),
        None => Err(AppError::NotFound("No such export".into())),
    }
}

/// Posts a batch of the export reads at a time: the file is streamed, so a
/// long-time poster's archive never sits whole in memory.
const EXPORT_BATCH: i64 = 200;

/// `outbox.json`: every post and boost of the account, in any visibility (it
/// is their own data), as the ActivityStreams collection Mastodon's archive
/// holds.
pub async fn export_outbox(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let Some((_, account, _)) = signed_in(&state, &headers).await else {
        return Ok(to_sign_in("/settings/export"));
    };
    let me = account.id;
    let total = state
        .db
        .run(move |c| {
            statuses::table
                .filter(statuses::account_id.eq(me))
                .count()
                .get_result::<i64>(c)
                .map_err(AppError::from)
        })
        .await?;
    let outbox = crate::federation::urls::outbox(&account.uri);
    let head = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": outbox,
        "type": "OrderedCollection",
        "totalItems": total,
    })
    .to_string();
    // The head without its closing brace, then the items, then `]}`.
    let opening = format!("{},\"orderedItems\":[", &head[..head.len() - 1]);
    let base = state.base_url();
    let start = (state, account, base, None::<i64>, true, false);
    let items = futures::stream::unfold(
        start,
        |(state, account, base, cursor, first, done)| async move {
            if done {
                return None;
            }
            let acc = account.clone();
            let b = base.clone();
            let batch = state
                .db
                .run(move |c| {
                    let mut q = statuses::table
                        .filter(statuses::account_id.eq(acc.id))
                        .order(statuses::id.desc())
                        .limit(EXPORT_BATCH)
                        .select(Status::as_select())
                        .into_boxed();
                    if let Some(m) = cursor {
                        q = q.filter(statuses::id.lt(m));
                    }
                    let rows = q.load(c)?;
                    let mut out = Vec::with_capacity(rows.len());
                    for s in &rows {
                        out.push(crate::federation::http::outbox_item(c, s, &acc, &b)?);
                    }
                    Ok::<_, AppError>((rows.last().map(|s| s.id), out))
                })
                .await;
            let (last, rendered) = match batch {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "data export stopped");
                    return Some((
                        Err(std::io::Error::other("export failed")),
                        (state, account, base, cursor, first, true),
                    ));
                }
            };
            let mut chunk = String::new();
            for (i, item) in rendered.iter().enumerate() {
                if !(first && i == 0) {
                    chunk.push(',');
                }
                chunk.push_str(&item.to_string());
            }
            let finished = (rendered.len() as i64) < EXPORT_BATCH;
            if finished {
                chunk.push_str("]}");
            }
            let first = first && rendered.is_empty();
            Some((
                Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)),
                (state, account, base, last, first, finished),
            ))
        },
    );
    let body = futures::stream::once(async move { Ok(bytes::Bytes::from(opening)) }).chain(items);
    Ok(download(
        "application/activity+json",
        "outbox.json",
        Body::from_stream(body),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells() {
        assert_eq!(cell("a@b.example"), "a@b.example");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn notices() {
        assert!(notice(Some("password")).is_some());
        assert!(notice(Some("<script>")).is_none());
        assert!(notice(None).is_none());
    }
}
