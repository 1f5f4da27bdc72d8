//! Browser sessions: who is signed in on the authorize page (and, later, the
//! web pages). The cookie holds a random token; the database only its hash.
//! `SameSite=Lax`, because the return from an identity provider is a
//! cross-site navigation that must still carry the session.

use axum::http::{HeaderMap, header};
use chrono::Duration;
use diesel::prelude::*;

use crate::app::AppState;
use crate::db::models::{Account, User};
use crate::db::schema::{accounts, users, web_sessions};
use crate::db::{id, now};
use crate::domain::oauth::{digest, random_secret};
use crate::error::{AppError, AppResult};

pub const COOKIE: &str = "mf_session";

/// How long a browser stays signed in.
const LIFETIME_DAYS: i64 = 14;

/// The value of cookie `name` in a request.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Starts a session for `user_id`; returns the `Set-Cookie` value.
pub async fn start(state: &AppState, user_id: i64, method: &'static str) -> AppResult<String> {
    let token = random_secret();
    let hash = digest(&token);
    state
        .db
        .transaction(move |c| {
            let t = now();
            // Expired sessions of anyone go with each new one.
            diesel::delete(web_sessions::table.filter(web_sessions::expires_at.lt(t)))
                .execute(c)?;
            diesel::insert_into(web_sessions::table)
                .values((
                    web_sessions::id.eq(id::next_id()),
                    web_sessions::token_hash.eq(hash),
                    web_sessions::user_id.eq(user_id),
                    web_sessions::method.eq(method),
                    web_sessions::created_at.eq(t),
                    web_sessions::expires_at.eq(t + Duration::days(LIFETIME_DAYS)),
                ))
                .execute(c)?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        LIFETIME_DAYS * 86400,
        secure(state)
    ))
}

fn secure(state: &AppState) -> &'static str {
    if state.config.scheme() == "https" {
        "; Secure"
    } else {
        ""
    }
}

/// The `Set-Cookie` value that signs a browser out.
pub fn clear(state: &AppState) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        secure(state)
    )
}

/// Who is signed in on this browser, if the session is live and the user
/// may still sign in.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Option<(User, Account)> {
    let token = cookie_value(headers, COOKIE).filter(|t| !t.is_empty())?;
    let hash = digest(&token);
    state
        .db
        .run(move |c| {
            web_sessions::table
                .inner_join(users::table.inner_join(accounts::table))
                .filter(web_sessions::token_hash.eq(hash))
                .filter(web_sessions::expires_at.gt(now()))
                .select((User::as_select(), Account::as_select()))
                .first::<(User, Account)>(c)
                .optional()
                .map_err(AppError::from)
        })
        .await
        .ok()
        .flatten()
        .filter(|(u, a)| !u.disabled && u.approved && a.suspended_at.is_none())
}

/// Ends this browser's session.
pub async fn end(state: &AppState, headers: &HeaderMap) -> AppResult<()> {
    if let Some(token) = cookie_value(headers, COOKIE) {
        let hash = digest(&token);
        state
            .db
            .run(move |c| {
                diesel::delete(web_sessions::table.filter(web_sessions::token_hash.eq(hash)))
                    .execute(c)
                    .map_err(AppError::from)
            })
            .await?;
    }
    Ok(())
}

/// Ends every browser session of `user_id` but the one whose token hashes
/// to `keep` (after a password change or reset, other browsers sign in again).
pub fn end_all(c: &mut crate::db::DbConn, user_id: i64, keep: Option<&str>) -> QueryResult<usize> {
    let mine = web_sessions::table.filter(web_sessions::user_id.eq(user_id));
    match keep {
        Some(hash) => diesel::delete(mine.filter(web_sessions::token_hash.ne(hash))).execute(c),
        None => diesel::delete(mine).execute(c),
    }
}
