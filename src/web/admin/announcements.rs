//! `/admin/announcements`: publish and take down the announcements every
//! local person sees in their apps (domain::announcements; the same as
//! `meetfield admin announcement` and `/api/v1/admin/announcements`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::{Nav, Notice, chrome, done, failed, nav, notice, page, staff, staff_form, when};
use crate::api::extract::Params;
use crate::app::AppState;
use crate::domain::announcements::{self as ann, Draft, Site};
use crate::domain::moderation::perm;
use crate::error::AppError;

pub struct Row {
    pub id: i64,
    pub content: String,
    pub state: &'static str,
    pub times: String,
    pub reactions: String,
}

#[derive(Template)]
#[template(path = "admin/announcements.html")]
struct AnnouncementsPage {
    chrome: crate::web::Chrome,
    nav: Nav,
    notice: Option<String>,
    csrf: String,
    rows: Vec<Row>,
}

pub async fn announcements_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<Notice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match staff(&state, &headers, "/admin/announcements").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = s.m.check(perm::MANAGE_ANNOUNCEMENTS) {
        return failed(&state, &s.viewer, e);
    }
    let rows = state
        .db
        .run(|c| {
            let list = ann::all(c)?;
            let ids: Vec<i64> = list.iter().map(|a| a.id).collect();
            let reactions = ann::reactions(c, &ids)?;
            let t = crate::db::now();
            Ok::<_, AppError>(
                list.into_iter()
                    .map(|a| Row {
                        state: if a.published_at.is_none() {
                            "draft"
                        } else if a.is_live(t) {
                            "live"
                        } else {
                            "ended"
                        },
                        times: match (a.starts_at, a.ends_at) {
                            (Some(s), Some(e)) if a.all_day => {
                                format!("{} – {}", s.format("%Y-%m-%d"), e.format("%Y-%m-%d"))
                            }
                            (Some(s), Some(e)) => format!("{} – {}", when(s), when(e)),
                            _ => String::new(),
                        },
                        reactions: reactions
                            .get(&a.id)
                            .map(|r| {
                                r.iter()
                                    .map(|x| format!("{} {}", x.name, x.count))
                                    .collect::<Vec<_>>()
                                    .join("  ")
                            })
                            .unwrap_or_default(),
                        id: a.id,
                        content: a.content,
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return failed(&state, &s.viewer, e),
    };
    page(&AnnouncementsPage {
        chrome: chrome(&state, "Announcements", &s.viewer),
        nav: nav(&state, &s.m),
        notice: notice(&q.ok()),
        csrf: s.viewer.csrf.clone(),
        rows,
    })
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    csrf: Option<String>,
    text: Option<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    all_day: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(f): Params<CreateForm>,
) -> Response {
    let s = match staff_form(&state, &headers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = async {
        s.m.check(perm::MANAGE_ANNOUNCEMENTS)?;
        let time = |field: &str, v: &Option<String>| {
            v.as_deref().map(|x| ann::parse_time(field, x)).transpose()
        };
        let draft = Draft {
            text: f.text.clone(),
            starts_at: time("Starts at", &f.starts_at)?,
            ends_at: time("Ends at", &f.ends_at)?,
            all_day: Some(f.all_day.is_some()),
            published: Some(true),
        };
        let site = Site {
            base: state.base_url(),
            domain: state.config.domain.clone(),
        };
        let by = s.m.account_id;
        state
            .db
            .transaction(move |c| ann::publish(c, &site, by, draft))
            .await
    }
    .await;
    match result {
        Ok(_) => done("/admin/announcements", "announce"),
        Err(e) => failed(&state, &s.viewer, e),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn take_down(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(f): Params<CsrfForm>,
) -> Response {
    let s = match staff_form(&state, &headers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = async {
        s.m.check(perm::MANAGE_ANNOUNCEMENTS)?;
        let id: i64 = id.parse().map_err(|_| AppError::not_found())?;
        let by = s.m.account_id;
        state
            .db
            .transaction(move |c| ann::take_down(c, by, id))
            .await
    }
    .await;
    match result {
        Ok(_) => done("/admin/announcements", "take_down"),
        Err(e) => failed(&state, &s.viewer, e),
    }
}
