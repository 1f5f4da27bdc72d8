//! Public pages: the landing page, profiles, posts with their thread,
//! groups and hashtags. Only what is public; posts for signed-in local
//! people only (`local` visibility) when such a person looks.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use diesel::prelude::*;

use crate::api::mastodon::ctx;
use crate::app::AppState;
use crate::db::models::{Account, DomainPolicy, Status};
use crate::db::schema::{accounts, users};
use crate::domain::{groups, tags, timelines};
use crate::error::{AppError, AppResult};
use crate::web::views::{self, PersonView, PostView};
use crate::web::{Chrome, Viewer, not_found, render, signed_in};

const POSTS_PER_PAGE: i64 = 20;

/// Mastodon apps that work with us, named on the landing page.
const APPS: &[&str] = &[
    "Mastodon for iOS and Android",
    "Ivory (iPhone, iPad, Mac)",
    "Tusky (Android)",
    "Elk and Phanpy (in the browser)",
    "toot (command line)",
];

pub struct GroupCard {
    pub href: String,
    pub name: String,
    pub handle: String,
    pub closed: bool,
    pub members: i64,
    pub note: String,
}

#[derive(Template)]
#[template(path = "landing.html")]
struct Landing {
    chrome: Chrome,
    description: String,
    people: i64,
    posts: i64,
    sso: Option<String>,
    sso_link: String,
    password: bool,
    apps: &'static [&'static str],
    contact_email: String,
    contact_account: Option<(String, String)>,
    partners: Vec<String>,
    groups: Vec<GroupCard>,
}

fn display_name(a: &Account) -> String {
    if a.display_name.trim().is_empty() {
        a.username.clone()
    } else {
        a.display_name.clone()
    }
}

pub async fn landing(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    let viewer = signed_in(&state, &headers).await.map(|(_, _, v)| v);
    let contact_name = state.config.contact_account.clone();
    let domain = state.config.domain.clone();
    let (people, posts, partners, groups, contact) = state
        .db
        .run(move |c| {
            let people: i64 = users::table
                .filter(users::disabled.eq(false))
                .filter(users::approved.eq(true))
                .count()
                .get_result(c)?;
            let posts = local_post_count(c)?;
            let mut partners: Vec<String> = DomainPolicy::all(c)?
                .into_iter()
                .filter(|p| p.policy == "allow")
                .map(|p| p.domain)
                .collect();
            for p in crate::org::partners::peers(c)? {
                if !partners.contains(&p.domain) {
                    partners.push(p.domain);
                }
            }
            partners.sort();
            let mut cards = Vec::new();
            for g in groups::local_directory(c)? {
                let closed = groups::settings(c, g.id)?
                    .map(|s| s.closed)
                    .unwrap_or(g.locked);
                cards.push(GroupCard {
                    href: format!("/groups/{}", g.username),
                    name: display_name(&g),
                    handle: format!("@{}@{domain}", g.username),
                    closed,
                    members: g.followers_count,
                    note: crate::domain::html::sanitize(&g.note),
                });
            }
            let contact = match Account::local_by_username(c, &contact_name)? {
                Some(a) if !contact_name.is_empty() => Some((
                    format!("/@{}", a.username),
                    format!("@{}@{domain}", a.username),
                )),
                _ => None,
            };
            Ok::<_, AppError>((people, posts, partners, cards, contact))
        })
        .await?;
    let sso =
        crate::sso::oidc::enabled(&state.config).then(|| state.config.oidc_display_name.clone());
    let mut chrome = Chrome::new(&state, "Welcome", viewer);
    let base = state.base_url();
    chrome.card(
        "website",
        &format!("{base}/"),
        &state.config.instance_title,
        &state.config.instance_description,
        None,
    );
    let page = Landing {
        chrome,
        description: state.config.instance_description.clone(),
        people,
        posts,
        sso,
        sso_link: crate::sso::oidc::start_link("/"),
        password: !state.config.sso_only,
        apps: APPS,
        contact_email: state.config.contact_email.clone(),
        contact_account: contact,
        partners,
        groups,
    };
    Ok(render(StatusCode::OK, &page))
}

/// Local posts, from the per-account counters: no scan of the posts.
fn local_post_count(c: &mut crate::db::DbConn) -> QueryResult<i64> {
    let counts: Vec<i64> = accounts::table
        .filter(accounts::domain.is_null())
        .select(accounts::statuses_count)
        .load(c)?;
    Ok(counts.into_iter().sum())
}

/// A local person or group that may be shown (not suspended, not the
/// instance actor).
async fn local_account(state: &AppState, username: &str) -> Option<Account> {
    let name = username.to_string();
    state
        .db
        .run(move |c| Account::local_by_username(c, &name).map_err(AppError::from))
        .await
        .ok()
        .flatten()
        .filter(|a| a.suspended_at.is_none() && a.actor_type != "Application")
}

#[derive(Template)]
#[template(path = "profile.html")]
struct Profile {
    chrome: Chrome,
    a: PersonView,
    featured: Vec<String>,
    posts: Vec<PostView>,
}

pub async fn profile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> AppResult<Response> {
    let me = signed_in(&state, &headers).await;
    let viewer = me.as_ref().map(|(_, _, v)| v.clone());
    let Some(account) = local_account(&state, &username).await else {
        return Ok(not_found(&state, viewer));
    };
    if account.actor_type == "Group" {
        return group_page(&state, viewer, account).await;
    }
    let looker = me.map(|(_, a, _)| a);
    let ctx = ctx(&state);
    let a = account.clone();
    let (person, featured, posts) = state
        .db
        .run(move |c| {
            let person = views::person(c, &ctx, &a)?;
            let featured = tags::featured_names(c, a.id)?
                .into_iter()
                .map(|(_, display)| display)
                .collect::<Vec<_>>();
            let filter = timelines::AccountFilter {
                exclude_replies: true,
                exclude_reblogs: true,
                ..Default::default()
            };
            let list = timelines::account_statuses(
                c,
                looker.as_ref(),
                &a,
                filter,
                timelines::Page::new(None, None, None, None, POSTS_PER_PAGE, POSTS_PER_PAGE),
            )?;
            // Signed in or not, a profile page lists what anyone may see.
            let list: Vec<Status> = list
                .into_iter()
                .filter(|s| matches!(s.visibility.as_str(), "public" | "unlisted" | "local"))
                .collect();
            let posts = views::posts(c, &ctx, &list)?;
            Ok::<_, AppError>((person, featured, posts))
        })
        .await?;
    let mut chrome = Chrome::new(
        &state,
        format!("{} ({})", person.name, person.handle),
        viewer,
    );
    chrome.card(
        "profile",
        &person.url,
        &format!("{} ({})", person.name, person.handle),
        &person.plain_note,
        Some(&person.avatar),
    );
    chrome.alternate = Some(account.uri.clone());
    chrome.noindex = !account.discoverable;
    Ok(render(
        StatusCode::OK,
        &Profile {
            chrome,
            a: person,
            featured,
            posts,
        },
    ))
}

#[derive(Template)]
#[template(path = "thread.html")]
struct Thread {
    chrome: Chrome,
    ancestors: Vec<PostView>,
    main: PostView,
    replies: Vec<PostView>,
}

/// What a page may show of a post: public ones, unlisted ones by link, and
/// local-only ones to signed-in local people.
fn page_visible(s: &Status, looker: Option<&Account>) -> bool {
    s.deleted_at.is_none()
        && s.reblog_of_id.is_none()
        && match s.visibility.as_str() {
            "public" | "unlisted" => true,
            "local" => looker.is_some_and(|l| l.is_local()),
            _ => false,
        }
}

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((username, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let me = signed_in(&state, &headers).await;
    let viewer = me.as_ref().map(|(_, _, v)| v.clone());
    let (Some(account), Ok(id)) = (local_account(&state, &username).await, id.parse::<i64>())
    else {
        return Ok(not_found(&state, viewer));
    };
    let looker = me.map(|(_, a, _)| a);
    let ctx = ctx(&state);
    let author = account.id;
    let found = state
        .db
        .run(move |c| {
            use crate::db::schema::statuses;
            let Some(s) = Status::by_id(c, id).optional()? else {
                return Ok(None);
            };
            if s.account_id != author || !page_visible(&s, looker.as_ref()) {
                return Ok(None);
            }
            let mut ancestors = Vec::new();
            let mut cur = s.in_reply_to_id;
            while let Some(pid) = cur {
                let Some(p) = Status::by_id(c, pid).optional()? else {
                    break;
                };
                cur = p.in_reply_to_id;
                if page_visible(&p, looker.as_ref()) {
                    ancestors.push(p);
                }
                if ancestors.len() >= 40 {
                    break;
                }
            }
            ancestors.reverse();
            let mut replies = Vec::new();
            let mut stack = vec![s.id];
            while let Some(parent) = stack.pop() {
                let children: Vec<Status> = statuses::table
                    .filter(statuses::in_reply_to_id.eq(parent))
                    .order(statuses::id.desc())
                    .limit(60)
                    .select(Status::as_select())
                    .load(c)?;
                for ch in children.into_iter().rev() {
                    if page_visible(&ch, looker.as_ref()) {
                        stack.push(ch.id);
                        replies.push(ch);
                    }
                }
                if replies.len() >= 60 {
                    break;
                }
            }
            let ancestors = views::posts(c, &ctx, &ancestors)?;
            let replies = views::posts(c, &ctx, &replies)?;
            let main = views::posts(c, &ctx, std::slice::from_ref(&s))?
                .pop()
                .ok_or_else(AppError::not_found)?;
            Ok::<_, AppError>(Some((s, ancestors, main, replies)))
        })
        .await?;
    let Some((s, ancestors, main, replies)) = found else {
        return Ok(not_found(&state, viewer));
    };
    let title = format!("{}: “{}”", main.author.name, short(&main.plain, 60));
    let mut chrome = Chrome::new(&state, title, viewer);
    let image = main
        .media
        .first()
        .map(|m| m.preview.clone())
        .unwrap_or_else(|| main.author.avatar.clone());
    let summary = if s.spoiler_text.is_empty() {
        main.plain.clone()
    } else {
        s.spoiler_text.clone()
    };
    chrome.card(
        "article",
        &main.link,
        &format!("{} ({})", main.author.name, main.author.handle),
        &summary,
        Some(&image),
    );
    chrome.alternate = Some(s.uri.clone());
    chrome.noindex = !account.discoverable || s.visibility != "public";
    Ok(render(
        StatusCode::OK,
        &Thread {
            chrome,
            ancestors,
            main,
            replies,
        },
    ))
}

fn short(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    chrome: Chrome,
    g: PersonView,
    closed: bool,
    announcement_only: bool,
    moderators: Vec<(String, String)>,
    posts: Vec<PostView>,
}

pub async fn group(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> AppResult<Response> {
    let viewer = signed_in(&state, &headers).await.map(|(_, _, v)| v);
    match local_account(&state, &name).await {
        Some(a) if a.actor_type == "Group" => group_page(&state, viewer, a).await,
        _ => Ok(not_found(&state, viewer)),
    }
}

async fn group_page(
    state: &AppState,
    viewer: Option<Viewer>,
    account: Account,
) -> AppResult<Response> {
    let ctx = ctx(state);
    let a = account.clone();
    let domain = state.config.domain.clone();
    let (g, settings, moderators, posts) = state
        .db
        .run(move |c| {
            let g = views::person(c, &ctx, &a)?;
            let group = groups::find(c, a.id)?;
            let moderators = groups::moderators(c, a.id)?
                .into_iter()
                .map(|m| {
                    let href = m.url.clone().unwrap_or_else(|| m.uri.clone());
                    let label = match &m.domain {
                        Some(d) => format!("@{}@{d}", m.username),
                        None => format!("@{}@{domain}", m.username),
                    };
                    (href, label)
                })
                .collect::<Vec<_>>();
            // A closed group's posts are its members' business: none here.
            let posts = if group.settings.closed {
                Vec::new()
            } else {
                let list = timelines::group(
                    c,
                    None,
                    a.id,
                    timelines::Page::new(None, None, None, None, POSTS_PER_PAGE, POSTS_PER_PAGE),
                )?;
                let list: Vec<Status> = list
                    .into_iter()
                    .filter(|s| s.visibility == "public")
                    .collect();
                views::posts(c, &ctx, &list)?
            };
            Ok::<_, AppError>((g, group.settings, moderators, posts))
        })
        .await?;
    let mut chrome = Chrome::new(state, format!("{} ({})", g.name, g.handle), viewer);
    chrome.card("profile", &g.url, &g.name, &g.plain_note, Some(&g.avatar));
    chrome.alternate = Some(account.uri.clone());
    chrome.noindex = !account.discoverable;
    Ok(render(
        StatusCode::OK,
        &GroupPage {
            chrome,
            g,
            closed: settings.closed,
            announcement_only: settings.announcement_only,
            moderators,
            posts,
        },
    ))
}

#[derive(Template)]
#[template(path = "tag.html")]
struct TagPage {
    chrome: Chrome,
    name: String,
    posts: Vec<PostView>,
}

pub async fn tag(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> AppResult<Response> {
    let me = signed_in(&state, &headers).await;
    let viewer = me.as_ref().map(|(_, _, v)| v.clone());
    let Ok((key, display)) = tags::parse_name(&name) else {
        return Ok(not_found(&state, viewer));
    };
    let looker = me.map(|(_, a, _)| a);
    let ctx = ctx(&state);
    let k = key.clone();
    let posts = state
        .db
        .run(move |c| {
            let key = k;
            let list = timelines::tag(
                c,
                looker.as_ref(),
                &key,
                false,
                timelines::Page::new(None, None, None, None, POSTS_PER_PAGE, POSTS_PER_PAGE),
            )?;
            views::posts(c, &ctx, &list)
        })
        .await?;
    let base = state.base_url();
    let mut chrome = Chrome::new(&state, format!("#{display}"), viewer);
    chrome.card(
        "website",
        &format!("{base}/tags/{key}"),
        &format!("#{display}"),
        &format!("Public posts with #{display}"),
        None,
    );
    Ok(render(
        StatusCode::OK,
        &TagPage {
            chrome,
            name: display,
            posts,
        },
    ))
}
