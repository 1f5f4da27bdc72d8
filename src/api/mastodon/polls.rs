//! `GET /api/v1/polls/:id` and `POST /api/v1/polls/:id/votes`.

use activitypub_federation::config::Data;
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::Value;

use super::{entities, parse_id};
use crate::api::extract::{Auth, MaybeAuth, Params};
use crate::app::AppState;
use crate::db::models::{Account, Status};
use crate::domain::{polls, timelines};
use crate::error::{AppError, AppResult};

/// The poll entity for `viewer`, if the poll's post is visible to it.
async fn render(state: &AppState, poll_id: i64, viewer: Option<Account>) -> AppResult<Json<Value>> {
    state
        .db
        .run(move |c| {
            let poll = polls::by_id(c, poll_id).map_err(|_| AppError::not_found())?;
            let status = Status::by_id(c, poll.status_id)?;
            if !timelines::can_view(c, viewer.as_ref(), &status)? {
                return Err(AppError::not_found());
            }
            let options = polls::options(c, poll.id)?;
            let vid = viewer.as_ref().map(|v| v.id);
            let own = match vid {
                Some(v) => polls::own_votes(c, poll.id, v)?,
                None => Vec::new(),
            };
            Ok(Json(entities::poll(
                &poll,
                &options,
                &own,
                vid,
                Some(status.account_id),
            )))
        })
        .await
}

pub async fn show(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    if let Some(a) = &auth.0 {
        a.require("read:statuses")?;
    }
    render(&state, parse_id(&id)?, auth.viewer().cloned()).await
}

#[derive(Debug, Deserialize)]
pub struct VoteForm {
    #[serde(default, alias = "choices[]")]
    choices: Vec<Value>,
}

pub async fn vote(
    State(state): State<AppState>,
    data: Data<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(f): Params<VoteForm>,
) -> AppResult<Json<Value>> {
    auth.require("write:statuses")?;
    let choices = f
        .choices
        .iter()
        .map(|c| match c {
            Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .collect::<Option<Vec<i32>>>()
        .ok_or_else(|| {
            AppError::Unprocessable("Validation failed: Choices must be option indexes".into())
        })?;
    let poll_id = parse_id(&id)?;
    crate::domain::polls::vote(&data, &auth.account, poll_id, choices).await?;
    render(&state, poll_id, Some(auth.account)).await
}
