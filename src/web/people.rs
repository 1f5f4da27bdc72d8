//! `/directory` and `/experts`: the organization's directory and "who
//! knows X?" for signed-in staff, with the same rules as the API (people
//! who opted out of discovery never appear).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use crate::api::mastodon::ctx;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::org::directory::{self, DirectoryQuery};
use crate::org::expertise::{self, ExpertQuery};
use crate::web::views::{self, PersonView};
use crate::web::{Chrome, render, signed_in, to_sign_in};

const PAGE: i64 = 40;

#[derive(Template)]
#[template(path = "directory.html")]
struct DirectoryPage {
    chrome: Chrome,
    q: String,
    department: String,
    skill: String,
    local: bool,
    people: Vec<PersonView>,
    next: Option<String>,
}

fn back(uri: &Uri) -> String {
    uri.path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| uri.path().to_string())
}

pub async fn directory(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    q: Result<Query<DirectoryQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Response> {
    let Some((_, me, viewer)) = signed_in(&state, &headers).await else {
        return Ok(to_sign_in(&back(&uri)));
    };
    let mut q = q.map(|Query(q)| q).unwrap_or_default();
    let offset = q.offset.unwrap_or(0).max(0);
    q.offset = Some(offset);
    q.limit = Some(PAGE);
    let blank = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    q.q = blank(&q.q);
    q.department = blank(&q.department);
    q.skill = blank(&q.skill);
    let ctx = ctx(&state);
    let own = state.config.domain.clone();
    let query = q.clone();
    let people = state
        .db
        .run(move |c| {
            directory::list(c, Some(me.id), &own, &query)?
                .iter()
                .map(|a| views::person(c, &ctx, a))
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    let next = (people.len() as i64 >= PAGE).then(|| {
        let mut u = url::Url::parse("http://x/directory").expect("static URL");
        {
            let mut pairs = u.query_pairs_mut();
            for (k, v) in [
                ("q", &q.q),
                ("department", &q.department),
                ("skill", &q.skill),
            ] {
                if let Some(v) = v {
                    pairs.append_pair(k, v);
                }
            }
            if q.local == Some(true) {
                pairs.append_pair("local", "true");
            }
            pairs.append_pair("offset", &(offset + PAGE).to_string());
        }
        format!("/directory?{}", u.query().unwrap_or_default())
    });
    let mut chrome = Chrome::new(&state, "Directory", Some(viewer));
    chrome.noindex = true;
    chrome.wide = true;
    Ok(render(
        StatusCode::OK,
        &DirectoryPage {
            chrome,
            q: q.q.unwrap_or_default(),
            department: q.department.unwrap_or_default(),
            skill: q.skill.unwrap_or_default(),
            local: q.local == Some(true),
            people,
            next,
        },
    ))
}

#[derive(Template)]
#[template(path = "experts.html")]
struct ExpertsPage {
    chrome: Chrome,
    q: String,
    department: String,
    people: Vec<PersonView>,
}

fn reason_text(r: &expertise::Reason) -> String {
    let what = match r.kind {
        "skill" => "skill",
        "featured_tag" => "featured tag",
        "field" => "profile",
        "bio" => "bio",
        "posts" => "posts",
        "group" => "group",
        "answer" => "answers",
        other => other,
    };
    if r.count > 1 {
        format!("{what}: {} ({})", r.detail, r.count)
    } else {
        format!("{what}: {}", r.detail)
    }
}

pub async fn experts(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    q: Result<Query<ExpertQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Response> {
    let Some((_, me, viewer)) = signed_in(&state, &headers).await else {
        return Ok(to_sign_in(&back(&uri)));
    };
    let mut q = q.map(|Query(q)| q).unwrap_or_default();
    q.department = q.department.filter(|d| !d.trim().is_empty());
    q.limit = Some(PAGE);
    let text = q.q.clone().unwrap_or_default();
    let people = if text.trim().is_empty() {
        Vec::new()
    } else {
        let ctx = ctx(&state);
        let own = state.config.domain.clone();
        let query = q.clone();
        state
            .db
            .run(move |c| {
                let found = expertise::find(c, Some(me.id), &own, &query)?;
                let mut out = Vec::with_capacity(found.len());
                for e in &found {
                    let mut p = views::person(c, &ctx, &e.account)?;
                    p.reasons = e
                        .reasons
                        .iter()
                        .map(reason_text)
                        .collect::<Vec<_>>()
                        .join(" · ");
                    out.push(p);
                }
                Ok::<_, AppError>(out)
            })
            .await?
    };
    let mut chrome = Chrome::new(&state, "Who knows…?", Some(viewer));
    chrome.noindex = true;
    chrome.wide = true;
    Ok(render(
        StatusCode::OK,
        &ExpertsPage {
            chrome,
            q: text,
            department: q.department.unwrap_or_default(),
            people,
        },
    ))
}
