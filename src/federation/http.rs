//! ActivityPub over HTTP: actor documents, inboxes, collections.

use std::time::Duration;

use activitypub_federation::axum::inbox::{ActivityData, receive_activity};
use activitypub_federation::axum::json::FederationJson;
use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::protocol::context::WithContext;
use activitypub_federation::traits::Object;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use diesel::OptionalExtension;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::db::models::{Account, Follow};
use crate::error::{AppError, AppResult};
use crate::federation::activities::inbox::InboxActivity;
use crate::federation::objects::{ApubAccount, ApubNote};
use crate::federation::protocol::context::context;
use crate::federation::{nodeinfo, signed_fetch, urls, webfinger};

/// How far a signed request's Date may lie in the past or future.
const DATE_PAST: Duration = Duration::from_secs(3600);
const DATE_FUTURE: Duration = Duration::from_secs(15 * 60);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/{username}", get(user_actor))
        .route("/users/{username}/inbox", post(inbox))
        .route("/users/{username}/outbox", get(outbox))
        .route("/users/{username}/followers", get(followers))
        .route("/users/{username}/following", get(following))
        .route("/users/{username}/collections/featured", get(featured))
        .route("/users/{username}/collections/tags", get(featured_tags))
        .route("/users/{username}/moderators", get(moderators))
        .route("/users/{username}/statuses/{id}", get(note))
        .route("/actor", get(instance_actor))
        .route("/actor/directory", get(directory))
        .route("/actor/inbox", post(inbox))
        .route("/actor/outbox", get(instance_outbox))
        .route("/inbox", post(inbox))
        .route("/.well-known/webfinger", get(webfinger::webfinger))
        .route("/.well-known/host-meta", get(webfinger::host_meta))
        .route("/.well-known/nodeinfo", get(nodeinfo::links))
        .route("/nodeinfo/{version}", get(nodeinfo::nodeinfo))
}

/// Whether the client asked for ActivityPub JSON rather than a web page.
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("application/activity+json") || accept.contains("application/ld+json") {
        return true;
    }
    !accept.contains("text/html")
}

async fn local_account(data: &Data<AppState>, username: &str) -> AppResult<Account> {
    let name = username.to_string();
    data.db
        .run(move |c| Account::local_by_username(c, &name).map_err(AppError::from))
        .await?
        .filter(|a| a.suspended_at.is_none() && a.actor_type != "Application")
        .ok_or_else(AppError::not_found)
}

fn activity_json(v: impl serde::Serialize) -> Response {
    FederationJson(WithContext::new(v, context())).into_response()
}

async fn user_actor(
    Path(username): Path<String>,
    parts: Parts,
    data: Data<AppState>,
) -> AppResult<Response> {
    let account = local_account(&data, &username).await?;
    if !wants_activity_json(&parts.headers) {
        let to = account.url.clone().unwrap_or(account.uri.clone());
        return Ok(Redirect::to(&to).into_response());
    }
    signed_fetch::check(&data, &parts).await?;
    let json = ApubAccount::new(account)?.into_json(&data).await?;
    Ok(activity_json(json))
}

/// Never behind authorized fetch: others need our key to check our signatures.
async fn instance_actor(data: Data<AppState>) -> AppResult<Response> {
    let uri = urls::instance_actor_uri(&data.base_url());
    let account = data
        .db
        .run(move |c| Account::by_uri(c, &uri).map_err(AppError::from))
        .await?
        .ok_or_else(AppError::not_found)?;
    let json = ApubAccount::new(account)?.into_json(&data).await?;
    Ok(activity_json(json))
}

#[derive(Debug, serde::Deserialize)]
struct DirectoryQuery {
    page: Option<String>,
    since: Option<String>,
    after: Option<i64>,
}

/// The organization's directory for partner instances (`meetfield:directory`):
/// signed fetches from partners only, whatever authorized fetch says.
async fn directory(
    axum::extract::Query(q): axum::extract::Query<DirectoryQuery>,
    parts: Parts,
    data: Data<AppState>,
) -> AppResult<Response> {
    let host = signed_fetch::verify(&data, &parts).await?;
    let h = host.clone();
    let shared = data
        .db
        .run(move |c| Ok::<_, AppError>(crate::org::partners::shared_with(c, &h)?))
        .await?;
    if !shared {
        return Err(AppError::Forbidden(format!(
            "The directory is not shared with {host}"
        )));
    }
    let since = q
        .since
        .as_deref()
        .map(crate::org::partners::parse_since)
        .transpose()?;
    let (base, size) = (data.base_url(), data.config.directory_page_size);
    let v = data
        .db
        .run(move |c| {
            if q.page.is_some() {
                crate::org::partners::page(c, &base, since, q.after, size)
            } else {
                Ok(crate::org::partners::collection(c, &base, since)?)
            }
        })
        .await?;
    Ok(activity_json(v))
}

/// A local post, to anyone only if it is public or unlisted; other
/// visibilities are never served to unsigned fetches.
async fn note(
    Path((username, id)): Path<(String, i64)>,
    parts: Parts,
    data: Data<AppState>,
) -> AppResult<Response> {
    let headers = &parts.headers;
    let account = local_account(&data, &username).await?;
    let status = data
        .db
        .run(move |c| {
            crate::db::models::Status::by_id(c, id)
                .optional()
                .map_err(AppError::from)
        })
        .await?
        .filter(|s| s.account_id == account.id && s.local && s.reblog_of_id.is_none())
        .filter(|s| {
            crate::federation::protocol::note::Visibility::parse(&s.visibility)
                .is_some_and(|v| v.is_public_ish())
        })
        .ok_or_else(AppError::not_found)?;
    if !wants_activity_json(headers) {
        let to = status.url.clone().unwrap_or(status.uri.clone());
        return Ok(Redirect::to(&to).into_response());
    }
    signed_fetch::check(&data, &parts).await?;
    let json = ApubNote::new(status)?.into_json(&data).await?;
    Ok(activity_json(json))
}

fn ordered_collection(id: &str, total: i64) -> Value {
    json!({
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
        "orderedItems": [],
    })
}

#[derive(Debug, serde::Deserialize)]
struct OutboxQuery {
    page: Option<String>,
    max_id: Option<i64>,
}

const OUTBOX_PAGE: i64 = 20;

/// Public and unlisted posts and boosts, newest first, 20 a page.
async fn outbox(
    Path(username): Path<String>,
    Query(q): Query<OutboxQuery>,
    parts: Parts,
    data: Data<AppState>,
) -> AppResult<Response> {
    let account = local_account(&data, &username).await?;
    signed_fetch::check(&data, &parts).await?;
    let outbox = urls::outbox(&account.uri);
    let (base, acc) = (data.base_url(), account.clone());
    let max_id = q.max_id;
    let paged = q.page.is_some();
    let (total, items) = data
        .db
        .run(move |c| {
            use crate::db::schema::statuses;
            use diesel::prelude::*;
            let public = || {
                statuses::table
                    .filter(statuses::account_id.eq(acc.id))
                    .filter(statuses::visibility.eq_any(["public", "unlisted"]))
                    .into_boxed()
            };
            let total: i64 = public().count().get_result(c)?;
            if !paged {
                return Ok::<_, AppError>((total, Vec::new()));
            }
            let mut page = public()
                .order(statuses::id.desc())
                .limit(OUTBOX_PAGE)
                .select(crate::db::models::Status::as_select());
            if let Some(m) = max_id {
                page = page.filter(statuses::id.lt(m));
            }
            let rows = page.load(c)?;
            let mut items = Vec::new();
            for s in rows {
                items.push((s.id, outbox_item(c, &s, &acc, &base)?));
            }
            Ok((total, items))
        })
        .await?;
    if !paged {
        return Ok(activity_json(json!({
            "id": outbox,
            "type": "OrderedCollection",
            "totalItems": total,
            "first": format!("{outbox}?page=true"),
        })));
    }
    let last_id = items.last().map(|(id, _)| *id);
    let full = items.len() as i64 == OUTBOX_PAGE;
    let items: Vec<Value> = items.into_iter().map(|(_, v)| v).collect();
    let mut page = json!({
        "id": match max_id {
            Some(m) => format!("{outbox}?page=true&max_id={m}"),
            None => format!("{outbox}?page=true"),
        },
        "type": "OrderedCollectionPage",
        "partOf": outbox,
        "orderedItems": items,
    });
    if let (Some(last), true) = (last_id, full) {
        page["next"] = json!(format!("{outbox}?page=true&max_id={last}"));
    }
    Ok(activity_json(page))
}

pub(crate) fn outbox_item(
    c: &mut crate::db::DbConn,
    s: &crate::db::models::Status,
    author: &Account,
    base: &str,
) -> AppResult<Value> {
    use crate::federation::protocol::activities::{announce_json, wrap_json};
    use crate::federation::protocol::note::PUBLIC;
    let mut activity = if let Some(orig) = s.reblog_of_id {
        let orig = crate::db::models::Status::by_id(c, orig)?;
        announce_json(
            &s.uri,
            &author.uri,
            &orig.uri,
            vec![PUBLIC.into()],
            vec![urls::followers(&author.uri)],
            &s.created_at
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
    } else {
        let note = crate::federation::objects::note::local_note(c, s, author, base)?;
        let (to, cc) = (
            note.to.clone().unwrap_or_default(),
            note.cc.clone().unwrap_or_default(),
        );
        let object = serde_json::to_value(&note).map_err(|e| AppError::Internal(e.into()))?;
        wrap_json(
            "Create",
            &format!("{}/activity", s.uri),
            &author.uri,
            object,
            &to,
            &cc,
        )
    };
    if let Some(m) = activity.as_object_mut() {
        m.remove("@context");
    }
    Ok(activity)
}

/// Pinned public and unlisted posts, as Notes (Mastodon's `featured`).
async fn featured(
    Path(username): Path<String>,
    parts: Parts,
    data: Data<AppState>,
) -> AppResult<Response> {
    let account = local_account(&data, &username).await?;
    signed_fetch::check(&data, &parts).await?;
    let (base, acc) = (data.base_url(), account.clone());
    let notes = data
        .db
        .run(move |c| {
            let mut out = Vec::new();
            for s in crate::domain::pins::pinned(c, acc.id)? {
                if !matches!(s.visibility.as_str(), "public" | "unlisted") {
                    continue;
                }
                if s.account_id != acc.id {
                    // A group's pinned post is someone else's: by id.
                    out.push(Value::String(s.uri.clone()));
                    continue;
                }
                let note = crate::federation::objects::note::local_note(c, &s, &acc, &base)?;
                out.push(serde_json::to_value(&note).map_err(|e| AppError::Internal(e.into()))?);
            }
            Ok::<_, AppError>(out)
        })
        .await?;
    let mut v = ordered_collection(&urls::featured(&account.uri), notes.len() as i64);
    v["orderedItems"] = Value::Array(notes);
    Ok(activity_json(v))
}

/// Featured hashtags, as Mastodon publishes them (a `Collection` of
/// `Hashtag`s whose `href` lists the owner's posts with the tag).
async fn featured_tags(
    Path(username): Path<String>,
    parts: Parts,
    data: Data<AppState>,
) -> AppResult<Response> {
    let account = local_account(&data, &username).await?;
    signed_fetch::check(&data, &parts).await?;
    let id = account.id;
    let list = data
        .db
        .run(move |c| Ok::<_, AppError>(crate::domain::tags::featured(c, id)?))
        .await?;
    let base = data.base_url();
    let items: Vec<Value> = list
        .iter()
        .map(|t| {
            serde_json::json!({
                "type": "Hashtag",
                "href": format!("{base}/@{}/tagged/{}", account.username, t.name),
                "name": format!("#{}", t.display_name),
            })
        })
        .collect();
    let v = serde_json::json!({
        "id": urls::featured_tags(&account.uri),
        "type": "Collection",
        "totalItems": items.len(),
        "items": items,
    });
    Ok(activity_json(v))
}

/// A group's moderators, as Lemmy publishes them (actor ids in order).
async fn moderators(
    Path(username): Path<String>,
    parts: Parts,
    data: Data<AppState>,
) -> AppResult<Response> {
    let account = local_account(&data, &username).await?;
    if account.actor_type != "Group" {
        return Err(AppError::not_found());
    }
    signed_fetch::check(&data, &parts).await?;
    let id = account.id;
    let mods = data
        .db
        .run(move |c| crate::domain::groups::moderators(c, id).map_err(AppError::from))
        .await?;
    let mut v = ordered_collection(&urls::moderators(&account.uri), mods.len() as i64);
    v["orderedItems"] = json!(mods.iter().map(|m| m.uri.clone()).collect::<Vec<_>>());
    Ok(activity_json(v))
}

async fn instance_outbox(data: Data<AppState>) -> AppResult<Response> {
    let uri = urls::instance_actor_uri(&data.base_url());
    Ok(activity_json(ordered_collection(&urls::outbox(&uri), 0)))
}

/// Counts only: who follows whom is not published.
async fn followers(
    Path(username): Path<String>,
    parts: Parts,
    data: Data<AppState>,
) -> AppResult<Response> {
    let account = local_account(&data, &username).await?;
    signed_fetch::check(&data, &parts).await?;
    let id = account.id;
    let n = data
        .db
        .run(move |c| Follow::count_followers(c, id).map_err(AppError::from))
        .await?;
    Ok(activity_json(ordered_collection(
        &urls::followers(&account.uri),
        n,
    )))
}

async fn following(
    Path(username): Path<String>,
    parts: Parts,
    data: Data<AppState>,
) -> AppResult<Response> {
    let account = local_account(&data, &username).await?;
    signed_fetch::check(&data, &parts).await?;
    let id = account.id;
    let n = data
        .db
        .run(move |c| Follow::count_following(c, id).map_err(AppError::from))
        .await?;
    Ok(activity_json(ordered_collection(
        &urls::following(&account.uri),
        n,
    )))
}

/// A signed request must be recent: by its Date header, or, without one, by
/// the `created` parameter of its signature (checked with the signature).
pub fn check_date(headers: &HeaderMap) -> AppResult<()> {
    let Some(raw) = headers.get(header::DATE).and_then(|v| v.to_str().ok()) else {
        let signature = headers
            .get("signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if signature.contains("created=") {
            return Ok(());
        }
        return Err(AppError::Unauthorized("Date header missing".into()));
    };
    let date = chrono::DateTime::parse_from_rfc2822(raw)
        .map_err(|_| AppError::Unauthorized("Date header unreadable".into()))?
        .with_timezone(&chrono::Utc);
    let now = chrono::Utc::now();
    let past = chrono::Duration::from_std(DATE_PAST).unwrap_or_default();
    let future = chrono::Duration::from_std(DATE_FUTURE).unwrap_or_default();
    if date < now - past || date > now + future {
        return Err(AppError::Unauthorized(format!(
            "Date {raw} is outside the accepted window"
        )));
    }
    Ok(())
}

/// The `keyId` of a draft-cavage `Signature` header.
pub fn signature_key_id(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get("signature")?.to_str().ok()?;
    raw.split(',').find_map(|part| {
        let (name, value) = part.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("keyId")
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// The signing key must belong to the activity's actor: a key in the actor's
/// own document (`keyId` is the actor id plus a fragment) or the key the
/// actor publishes under another id (GoToSocial's `…/main-key`). The library
/// verifies with the actor's key whatever `keyId` says, so a key shared by
/// two actors, or an instance actor signing for a user, would pass without
/// this.
async fn check_signer(data: &Data<AppState>, parts: &Parts, body: &Bytes) -> AppResult<()> {
    // Unsigned or unreadable requests get the library's own answer.
    let Some(key_id) = signature_key_id(&parts.headers) else {
        return Ok(());
    };
    // Only `actor` is read here (the rest is skipped, not built): this runs
    // on every inbox POST before the library parses the whole activity.
    #[derive(serde::Deserialize)]
    struct ActorOf {
        actor: Option<Value>,
    }
    let Some(actor) = serde_json::from_slice::<ActorOf>(body)
        .ok()
        .and_then(|v| v.actor)
        .and_then(|a| a.as_str().map(str::to_string))
    else {
        return Ok(());
    };
    let refuse = |why: &str| {
        AppError::Unauthorized(format!(
            "Signature key {key_id} does not belong to actor {actor}: {why}"
        ))
    };
    let mut key_url = url::Url::parse(&key_id).map_err(|_| refuse("keyId is not a URL"))?;
    key_url.set_fragment(None);
    let Ok(actor_url) = url::Url::parse(&actor) else {
        return Ok(());
    };
    if key_url == actor_url {
        return Ok(());
    }
    if key_url.host_str() != actor_url.host_str() || key_url.port() != actor_url.port() {
        return Err(refuse("the key is on another host"));
    }
    if !data
        .policy
        .allows(actor_url.host_str().unwrap_or_default())
        .await?
    {
        // The library answers 403 for a refused domain.
        return Ok(());
    }
    let Ok(account) = ObjectId::<ApubAccount>::from(actor_url)
        .dereference(data)
        .await
    else {
        return Ok(());
    };
    if account.public_key_id.as_deref() == Some(key_id.as_str()) {
        Ok(())
    } else {
        Err(refuse("the actor publishes another key"))
    }
}

async fn receive(
    data: &Data<AppState>,
    parts: &axum::http::request::Parts,
    body: &Bytes,
) -> AppResult<()> {
    // What a relay passes on is signed by the relay, not the author.
    if crate::domain::relays::intercept(data, parts, body).await? {
        return Ok(());
    }
    check_signer(data, parts, body).await?;
    let req = Request::from_parts(parts.clone(), Body::from(body.clone()));
    let activity = ActivityData::from_request(req, &())
        .await
        .map_err(|_| AppError::BadRequest("Cannot read request".into()))?;
    receive_activity::<InboxActivity, ApubAccount, AppState>(activity, data).await
}

/// Shared and personal inboxes: one handler, since the activity says who it is for.
async fn inbox(data: Data<AppState>, request: Request) -> Response {
    let result = async {
        check_date(request.headers())?;
        let limit = data.config.max_body_bytes;
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| AppError::PayloadTooLarge("Request body too large".into()))?;
        // A NUL can only come escaped; look closer only then.
        if body.windows(6).any(|w| w == b"\\u0000")
            && let Ok(v) = serde_json::from_slice::<Value>(&body)
        {
            crate::api::extract::refuse_nul_json(&v, "activity")?;
        }
        match receive(&data, &parts, &body).await {
            Err(AppError::Unauthorized(msg)) => {
                // The actor may have rotated its key: refetch it once, retry.
                let actor = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("actor").and_then(Value::as_str).map(str::to_string));
                let Some(actor) = actor.and_then(|a| ObjectId::<ApubAccount>::parse(&a).ok())
                else {
                    return Err(AppError::Unauthorized(msg));
                };
                if actor.dereference_forced(&data).await.is_err() {
                    return Err(AppError::Unauthorized(msg));
                }
                receive(&data, &parts, &body).await
            }
            other => other,
        }
    }
    .await;
    match result {
        Ok(()) => {
            crate::metrics::inbox(StatusCode::ACCEPTED);
            StatusCode::ACCEPTED.into_response()
        }
        Err(e) => {
            crate::metrics::inbox(e.status());
            tracing::info!(status = %e.status(), error = %e, "inbox refused activity");
            e.into_response()
        }
    }
}
