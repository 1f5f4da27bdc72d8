//! `/api/v1/statuses/…`

use activitypub_federation::config::Data;
use axum::Json;
use axum::extract::{Path, State};
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ctx, entities, parse_id};
use crate::api::extract::{Auth, MaybeAuth, Params};
use crate::app::AppState;
use crate::db::models::{Account, Status};
use crate::domain::statuses::{self as posts, PostInput};
use crate::domain::timelines::can_view;
use crate::error::{AppError, AppResult};
use crate::federation::protocol::note::Visibility;

/// A status the viewer may see, or 404 (as Mastodon hides what you may not see).
pub async fn visible_status(
    state: &AppState,
    viewer: Option<&Account>,
    id: &str,
) -> AppResult<Status> {
    let id = parse_id(id)?;
    let viewer = viewer.cloned();
    state
        .db
        .run(move |c| {
            let Some(s) = Status::by_id(c, id).optional()? else {
                return Err(AppError::not_found());
            };
            if !can_view(c, viewer.as_ref(), &s)? {
                return Err(AppError::not_found());
            }
            Ok(s)
        })
        .await
}

async fn render(state: &AppState, s: Status, viewer: Option<i64>) -> AppResult<Json<Value>> {
    let ctx = ctx(state);
    Ok(Json(
        state
            .db
            .run(move |c| entities::status(c, &ctx, &s, viewer))
            .await?,
    ))
}

fn flag(v: &Option<Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.as_str(), "true" | "1" | "on"),
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    status: Option<String>,
    in_reply_to_id: Option<Value>,
    visibility: Option<String>,
    spoiler_text: Option<String>,
    sensitive: Option<Value>,
    language: Option<String>,
    /// Meetfield extension, also accepted as `visibility=local`.
    local_only: Option<Value>,
    #[serde(default, alias = "media_ids[]")]
    media_ids: Vec<Value>,
    /// JSON bodies: `{"poll": {"options": [...], "expires_in": …}}`.
    poll: Option<PollForm>,
    /// Form bodies: `poll[options][]=…&poll[expires_in]=…`.
    #[serde(default, rename = "poll[options][]", alias = "poll[options]")]
    poll_options: Vec<String>,
    #[serde(rename = "poll[expires_in]")]
    poll_expires_in: Option<Value>,
    #[serde(rename = "poll[multiple]")]
    poll_multiple: Option<Value>,
    #[serde(rename = "poll[hide_totals]")]
    poll_hide_totals: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct PollForm {
    #[serde(default)]
    options: Vec<String>,
    expires_in: Option<Value>,
    multiple: Option<Value>,
    hide_totals: Option<Value>,
}

impl CreateForm {
    /// The poll, from whichever shape the client sent.
    fn poll(&mut self) -> AppResult<Option<crate::domain::polls::NewPoll>> {
        let (options, expires_in, multiple, hide_totals) = match self.poll.take() {
            Some(p) => (p.options, p.expires_in, p.multiple, p.hide_totals),
            None if !self.poll_options.is_empty() => (
                std::mem::take(&mut self.poll_options),
                self.poll_expires_in.take(),
                self.poll_multiple.take(),
                self.poll_hide_totals.take(),
            ),
            None => return Ok(None),
        };
        let expires_in = match &expires_in {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            AppError::Unprocessable("Validation failed: Poll expires_in is missing".into())
        })?;
        Ok(Some(crate::domain::polls::NewPoll {
            options,
            expires_in,
            multiple: flag(&multiple),
            hide_totals: flag(&hide_totals),
        }))
    }
}

fn id_value(v: &Option<Value>) -> AppResult<Option<i64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| AppError::not_found()),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(AppError::not_found),
        _ => Err(AppError::Unprocessable(
            "Validation failed: in_reply_to_id".into(),
        )),
    }
}

/// Keys are honoured for an hour, as in Mastodon.
const IDEMPOTENCY_WINDOW_MINUTES: i64 = 60;

async fn idempotent_status(state: &AppState, account: i64, key: &str) -> AppResult<Option<Status>> {
    use crate::db::schema::idempotency_keys as k;
    let key = key.to_string();
    state
        .db
        .run(move |c| {
            let since = crate::db::now() - chrono::Duration::minutes(IDEMPOTENCY_WINDOW_MINUTES);
            let id: Option<i64> = k::table
                .filter(k::account_id.eq(account))
                .filter(k::key.eq(&key))
                .filter(k::created_at.ge(since))
                .select(k::status_id)
                .first(c)
                .optional()?;
            Ok::<_, AppError>(match id {
                Some(id) => Status::by_id(c, id).optional()?,
                None => None,
            })
        })
        .await
}

async fn remember_idempotency(
    state: &AppState,
    account: i64,
    key: &str,
    status: i64,
) -> AppResult<()> {
    use crate::db::schema::idempotency_keys as k;
    let key = key.to_string();
    state
        .db
        .transaction(move |c| {
            diesel::delete(
                k::table
                    .filter(k::account_id.eq(account))
                    .filter(k::key.eq(&key)),
            )
            .execute(c)?;
            diesel::insert_into(k::table)
                .values((
                    k::account_id.eq(account),
                    k::key.eq(&key),
                    k::status_id.eq(status),
                    k::created_at.eq(crate::db::now()),
                ))
                .execute(c)?;
            Ok::<_, AppError>(())
        })
        .await
}

pub async fn create(
    State(state): State<AppState>,
    data: Data<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Params(mut f): Params<CreateForm>,
) -> AppResult<Json<Value>> {
    auth.require("write:statuses")?;
    let poll = f.poll()?;
    let media_ids = f
        .media_ids
        .iter()
        .map(|v| match v {
            Value::String(s) => s.parse::<i64>().ok(),
            Value::Number(n) => n.as_i64(),
            _ => None,
        })
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| AppError::Unprocessable("Validation failed: media_ids".into()))?;
    let idempotency = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| k.chars().take(200).collect::<String>())
        .filter(|k| !k.is_empty());
    if let Some(key) = &idempotency
        && let Some(existing) = idempotent_status(&state, auth.account.id, key).await?
    {
        return render(&state, existing, Some(auth.account.id)).await;
    }
    let mut visibility = match f.visibility.as_deref() {
        None | Some("") => Visibility::Public,
        Some(v) => Visibility::parse(v).ok_or_else(|| {
            AppError::Unprocessable(format!(
                "Validation failed: Visibility '{v}' is not included in the list"
            ))
        })?,
    };
    if flag(&f.local_only) {
        visibility = Visibility::Local;
    }
    let in_reply_to_id = id_value(&f.in_reply_to_id)?;
    if let Some(pid) = in_reply_to_id {
        visible_status(&state, Some(&auth.account), &pid.to_string()).await?;
    }
    let status = posts::post_status(
        &data,
        &auth.account,
        PostInput {
            text: f.status.unwrap_or_default(),
            visibility,
            in_reply_to_id,
            spoiler_text: f.spoiler_text.unwrap_or_default(),
            sensitive: flag(&f.sensitive),
            language: f.language.filter(|l| !l.is_empty()),
            poll,
            media_ids,
        },
    )
    .await?;
    if let Some(key) = &idempotency {
        remember_idempotency(&state, auth.account.id, key, status.id).await?;
    }
    render(&state, status, Some(auth.account.id)).await
}

pub async fn show(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    if let Some(a) = &auth.0 {
        a.require("read:statuses")?;
    }
    let s = visible_status(&state, auth.viewer(), &id).await?;
    render(&state, s, auth.viewer().map(|v| v.id)).await
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:statuses")?;
    let s = visible_status(&state, Some(&auth.account), &id).await?;
    if s.account_id != auth.account.id {
        return Err(AppError::not_found());
    }
    // Rendered before it goes, with its source for "delete and redraft".
    let Json(mut v) = render(&state, s.clone(), Some(auth.account.id)).await?;
    posts::delete_status(&state, &auth.account, s.id).await?;
    v["text"] = json!(s.text.clone().unwrap_or_default());
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
pub struct EditForm {
    status: Option<String>,
    spoiler_text: Option<String>,
    sensitive: Option<Value>,
}

pub async fn edit(
    State(state): State<AppState>,
    data: Data<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(f): Params<EditForm>,
) -> AppResult<Json<Value>> {
    auth.require("write:statuses")?;
    let s = visible_status(&state, Some(&auth.account), &id).await?;
    let text = f
        .status
        .unwrap_or_else(|| s.text.clone().unwrap_or_default());
    let edited = posts::edit_status(
        &data,
        &auth.account,
        s.id,
        &text,
        &f.spoiler_text.unwrap_or_default(),
        flag(&f.sensitive),
    )
    .await?;
    render(&state, edited, Some(auth.account.id)).await
}

pub async fn source(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("read:statuses")?;
    let s = visible_status(&state, Some(&auth.account), &id).await?;
    if s.account_id != auth.account.id {
        return Err(AppError::not_found());
    }
    Ok(Json(json!({
        "id": s.id.to_string(),
        "text": s.text.unwrap_or_default(),
        "spoiler_text": s.spoiler_text,
    })))
}

/// Versions of a post, oldest first, the current one last.
pub async fn history(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let s = visible_status(&state, auth.viewer(), &id).await?;
    let ctx = ctx(&state);
    let out = state
        .db
        .run(move |c| {
            let author = Account::by_id(c, s.account_id)?;
            let account = entities::account(c, &ctx, &author)?;
            let mut versions: Vec<Value> = Status::edits(c, s.id)?
                .into_iter()
                .map(|e| {
                    json!({
                        "content": e.content,
                        "spoiler_text": e.spoiler_text,
                        "sensitive": e.sensitive,
                        "created_at": entities::iso(e.created_at),
                        "account": account,
                        "poll": null,
                        "media_attachments": [],
                        "emojis": [],
                    })
                })
                .collect();
            versions.push(json!({
                "content": s.content,
                "spoiler_text": s.spoiler_text,
                "sensitive": s.sensitive,
                "created_at": entities::iso(s.edited_at.unwrap_or(s.created_at)),
                "account": account,
                "poll": null,
                "media_attachments": [],
                "emojis": [],
            }));
            Ok::<_, AppError>(versions)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

/// Ancestors (oldest first) and descendants (depth first) the viewer may see.
pub async fn context(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let s = visible_status(&state, auth.viewer(), &id).await?;
    let viewer = auth.viewer().cloned();
    let ctx = ctx(&state);
    let out = state
        .db
        .run(move |c| {
            use crate::db::schema::statuses;
            let vid = viewer.as_ref().map(|v| v.id);
            let mut ancestors = Vec::new();
            let mut cur = s.in_reply_to_id;
            while let Some(pid) = cur {
                let Some(p) = Status::by_id(c, pid).optional()? else {
                    break;
                };
                cur = p.in_reply_to_id;
                if can_view(c, viewer.as_ref(), &p)? {
                    ancestors.push(p);
                }
                if ancestors.len() >= 40 {
                    break;
                }
            }
            ancestors.reverse();
            let mut descendants = Vec::new();
            let mut stack = vec![s.id];
            while let Some(parent) = stack.pop() {
                let mut children: Vec<Status> = statuses::table
                    .filter(statuses::in_reply_to_id.eq(parent))
                    .order(statuses::id.desc())
                    .select(Status::as_select())
                    .load(c)?;
                while let Some(ch) = children.pop() {
                    if can_view(c, viewer.as_ref(), &ch)? {
                        stack.push(ch.id);
                        descendants.push(ch);
                    }
                }
                if descendants.len() >= 60 {
                    break;
                }
            }
            let render = |c: &mut crate::db::DbConn, list: Vec<Status>| -> AppResult<Vec<Value>> {
                entities::statuses(c, &ctx, &list, vid)
            };
            Ok::<_, AppError>(json!({
                "ancestors": render(c, ancestors)?,
                "descendants": render(c, descendants)?,
            }))
        })
        .await?;
    Ok(Json(out))
}

/// Checks the scope and visibility, applies `op`, renders the status it returns.
async fn act_on_status<F, Fut>(
    state: &AppState,
    auth: &Auth,
    id: &str,
    scope: &str,
    op: F,
) -> AppResult<Json<Value>>
where
    F: FnOnce(i64) -> Fut,
    Fut: std::future::Future<Output = AppResult<Status>>,
{
    auth.require(scope)?;
    let s = visible_status(state, Some(&auth.account), id).await?;
    let result = op(s.id).await?;
    render(state, result, Some(auth.account.id)).await
}

pub async fn favourite(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    act_on_status(&state, &auth, &id, "write:favourites", |sid| {
        posts::favourite(&state, &auth.account, sid)
    })
    .await
}

pub async fn unfavourite(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    act_on_status(&state, &auth, &id, "write:favourites", |sid| {
        posts::unfavourite(&state, &auth.account, sid)
    })
    .await
}

pub async fn reblog(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    act_on_status(&state, &auth, &id, "write:statuses", |sid| {
        posts::reblog(&state, &auth.account, sid)
    })
    .await
}

pub async fn unreblog(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    act_on_status(&state, &auth, &id, "write:statuses", |sid| {
        posts::unreblog(&state, &auth.account, sid)
    })
    .await
}

pub async fn pin(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    act_on_status(&state, &auth, &id, "write:accounts", |sid| {
        crate::domain::pins::pin(&state, &auth.account, sid)
    })
    .await
}

pub async fn unpin(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    act_on_status(&state, &auth, &id, "write:accounts", |sid| {
        crate::domain::pins::unpin(&state, &auth.account, sid)
    })
    .await
}

/// `POST /api/v1/meetfield/statuses/:id/accept/:reply_id`: the question
/// with its accepted answer (a Meetfield extension; see domain::answers).
pub async fn accept_answer(
    data: Data<AppState>,
    auth: Auth,
    Path((id, reply_id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let reply = parse_id(&reply_id)?;
    act_on_status(&data, &auth, &id, "write:statuses", |sid| {
        crate::domain::answers::accept(&data, &auth.account, sid, reply)
    })
    .await
}

/// `DELETE /api/v1/meetfield/statuses/:id/accept/:reply_id` (or
/// `…/accept`): no accepted answer any more.
pub async fn unaccept_answer(
    data: Data<AppState>,
    auth: Auth,
    Path(params): Path<Vec<(String, String)>>,
) -> AppResult<Json<Value>> {
    let id = params
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    act_on_status(&data, &auth, &id, "write:statuses", |sid| {
        crate::domain::answers::unaccept(&data, &auth.account, sid)
    })
    .await
}
