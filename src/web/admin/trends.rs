//! `/admin/trends`: what trends now (tags, links, posts) with their counts,
//! and what is kept out; hiding and allowing a tag or a link, logged (the
//! same as `meetfield admin trends hide|allow`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use diesel::prelude::*;
use serde::Deserialize;

use super::{Nav, Notice, chrome, done, failed, nav, notice, page, staff, staff_form};
use crate::api::extract::Params;
use crate::api::mastodon::ctx;
use crate::app::AppState;
use crate::db::models::Status;
use crate::db::schema::statuses;
use crate::domain::moderation::{self, perm};
use crate::domain::trends;
use crate::error::AppError;
use crate::web::views::{self, PostView};

pub struct LinkRow {
    pub url: String,
    pub title: String,
    pub provider: String,
    pub accounts: i64,
    pub uses: i64,
}

#[derive(Template)]
#[template(path = "admin/trends.html")]
struct TrendsPage {
    chrome: crate::web::Chrome,
    nav: Nav,
    notice: Option<String>,
    csrf: String,
    enabled: bool,
    tags: Vec<(String, i64, i64)>,
    links: Vec<LinkRow>,
    posts: Vec<PostView>,
    hidden_tags: Vec<String>,
    hidden_links: Vec<String>,
}

pub async fn trends_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<Notice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match staff(&state, &headers, "/admin/trends").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = s.m.check(perm::MANAGE_TAXONOMIES) {
        return failed(&state, &s.viewer, e);
    }
    let ctx = ctx(&state);
    let found = state
        .db
        .run(move |c| {
            let o = trends::overview(c, 20)?;
            let mut found: std::collections::HashMap<i64, Status> = statuses::table
                .filter(statuses::id.eq_any(&o.posts))
                .filter(statuses::visibility.eq("public"))
                .select(Status::as_select())
                .load::<Status>(c)?
                .into_iter()
                .map(|s| (s.id, s))
                .collect();
            let listed: Vec<Status> = o.posts.iter().filter_map(|i| found.remove(i)).collect();
            let posts = views::posts(c, &ctx, &listed)?;
            Ok::<_, AppError>((o, posts))
        })
        .await;
    let (o, posts) = match found {
        Ok(f) => f,
        Err(e) => return failed(&state, &s.viewer, e),
    };
    page(&TrendsPage {
        chrome: chrome(&state, "Trends", &s.viewer),
        nav: nav(&state, &s.m),
        notice: notice(&q.ok()),
        csrf: s.viewer.csrf.clone(),
        enabled: state.config.trends,
        tags: o.tags,
        links: o
            .links
            .into_iter()
            .map(|(k, accounts, uses)| LinkRow {
                provider: if k.provider_name.is_empty() {
                    url::Url::parse(&k.url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_string))
                        .unwrap_or_default()
                } else {
                    k.provider_name
                },
                url: k.url,
                title: k.title,
                accounts,
                uses,
            })
            .collect(),
        posts,
        hidden_tags: o.hidden_tags,
        hidden_links: o.hidden_links,
    })
}

#[derive(Debug, Deserialize)]
pub struct TrendForm {
    csrf: Option<String>,
    /// `hide` or `allow`.
    action: Option<String>,
    /// A tag (`#ops` or `ops`) or a link's URL.
    target: Option<String>,
}

pub async fn trend_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(f): Params<TrendForm>,
) -> Response {
    let s = match staff_form(&state, &headers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = async {
        s.m.check(perm::MANAGE_TAXONOMIES)?;
        let target = f.target.clone().unwrap_or_default();
        let hide = match f.action.as_deref() {
            Some("hide") => true,
            Some("allow") => false,
            _ => {
                return Err(AppError::Unprocessable("Choose to hide or to allow".into()));
            }
        };
        let link = {
            let t = target.trim().to_ascii_lowercase();
            t.starts_with("http://") || t.starts_with("https://")
        };
        let by = s.m.account_id;
        state
            .db
            .transaction(move |c| {
                let (kind, name) = match (link, hide) {
                    (true, true) => ("link", trends::hide_link(c, &target)?),
                    (true, false) => ("link", trends::allow_link(c, &target)?.0),
                    (false, true) => ("tag", trends::hide(c, &target)?),
                    (false, false) => ("tag", trends::allow(c, &target)?.0),
                };
                let action = if hide { "hide_trend" } else { "allow_trend" };
                moderation::log(c, by, action, kind, &name, "")?;
                Ok::<_, AppError>(())
            })
            .await?;
        Ok(hide)
    }
    .await;
    match result {
        Ok(true) => done("/admin/trends", "trend_hide"),
        Ok(false) => done("/admin/trends", "trend_allow"),
        Err(e) => failed(&state, &s.viewer, e),
    }
}
