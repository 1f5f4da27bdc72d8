//! The few HTML pages people open in a browser: a profile and a post.
//! The OAuth sign-in and consent page is in [`oauth`].

pub mod oauth;
pub mod session;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use diesel::OptionalExtension;

use crate::app::AppState;
use crate::db::models::{Account, Status};
use crate::error::{AppError, AppResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/@{username}", get(profile))
        .route("/@{username}/{id}", get(post))
        .route("/oauth/authorize", get(oauth::show).post(oauth::submit))
        .route("/auth/oidc", get(crate::sso::oidc::start))
        .route(
            crate::sso::oidc::CALLBACK_PATH,
            get(crate::sso::oidc::callback),
        )
        .route("/oauth/sign_out", axum::routing::post(oauth::sign_out))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, alternate: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title>\
         <link rel=\"alternate\" type=\"application/activity+json\" href=\"{}\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         .meta{{color:#555;font-size:.9rem}}article{{border-top:1px solid #ddd;padding:1rem 0}}</style>\
         </head><body>{}</body></html>",
        esc(title),
        esc(alternate),
        body
    );
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Html(html),
    )
        .into_response()
}

async fn local_account(state: &AppState, username: &str) -> AppResult<Account> {
    let name = username.to_string();
    state
        .db
        .run(move |c| Account::local_by_username(c, &name).map_err(AppError::from))
        .await?
        .filter(|a| a.suspended_at.is_none() && a.actor_type != "Application")
        .ok_or_else(AppError::not_found)
}

fn not_found_page() -> Response {
    let mut r = page("Not found", "", "<h1>Not found</h1>");
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

async fn profile(State(state): State<AppState>, Path(username): Path<String>) -> Response {
    let Ok(account) = local_account(&state, &username).await else {
        return not_found_page();
    };
    let id = account.id;
    let posts = state
        .db
        .run(move |c| {
            use crate::db::schema::statuses;
            use diesel::prelude::*;
            statuses::table
                .filter(statuses::account_id.eq(id))
                .filter(statuses::visibility.eq("public"))
                .filter(statuses::reblog_of_id.is_null())
                .order(statuses::id.desc())
                .limit(20)
                .select(Status::as_select())
                .load(c)
                .map_err(AppError::from)
        })
        .await
        .unwrap_or_default();
    let name = if account.display_name.is_empty() {
        account.username.clone()
    } else {
        account.display_name.clone()
    };
    let handle = format!("@{}@{}", account.username, state.config.domain);
    let mut body = format!(
        "<h1>{}</h1><p class=\"meta\">{}</p><div>{}</div>",
        esc(&name),
        esc(&handle),
        account.note
    );
    for p in posts {
        body.push_str(&format!(
            "<article>{}<p class=\"meta\"><a href=\"{}\">{}</a></p></article>",
            p.content,
            esc(p.url.as_deref().unwrap_or(&p.uri)),
            p.created_at.format("%Y-%m-%d %H:%M")
        ));
    }
    page(&format!("{name} ({handle})"), &account.uri, &body)
}

async fn post(
    State(state): State<AppState>,
    Path((username, id)): Path<(String, i64)>,
) -> Response {
    let Ok(account) = local_account(&state, &username).await else {
        return not_found_page();
    };
    let status = state
        .db
        .run(move |c| Status::by_id(c, id).optional().map_err(AppError::from))
        .await
        .ok()
        .flatten()
        .filter(|s| s.account_id == account.id && s.reblog_of_id.is_none())
        .filter(|s| s.visibility == "public" || s.visibility == "unlisted");
    let Some(s) = status else {
        return not_found_page();
    };
    let name = if account.display_name.is_empty() {
        account.username.clone()
    } else {
        account.display_name.clone()
    };
    let warning = if s.spoiler_text.is_empty() {
        String::new()
    } else {
        format!("<p><strong>{}</strong></p>", esc(&s.spoiler_text))
    };
    let body = format!(
        "<p><a href=\"{}\">{}</a></p><article>{}{}<p class=\"meta\">{}</p></article>",
        esc(account.url.as_deref().unwrap_or(&account.uri)),
        esc(&name),
        warning,
        s.content,
        s.created_at.format("%Y-%m-%d %H:%M UTC")
    );
    page(&format!("{name}: post"), &s.uri, &body)
}
