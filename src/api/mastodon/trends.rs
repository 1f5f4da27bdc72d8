//! `GET /api/v1/trends/tags`, `/trends/statuses`, `/trends/links` (and `/api/v1/trends`, the
//! older name of the tags): what the workers found catching on
//! (domain::trends). Empty when `MEETFIELD_TRENDS=false`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;

use super::{ctx, entities};
use crate::api::extract::{MaybeAuth, Params};
use crate::app::AppState;
use crate::db::models::Status;
use crate::db::schema::statuses;
use crate::domain::trends;
use crate::error::AppResult;
use diesel::prelude::*;

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    limit: Option<i64>,
    offset: Option<i64>,
}

impl PageQuery {
    fn page(&self, default: i64, max: i64) -> (i64, i64) {
        (
            self.offset.unwrap_or(0).max(0),
            self.limit.unwrap_or(default).clamp(1, max),
        )
    }
}

/// `GET /api/v1/trends/tags` (limit default 10, at most 20, as Mastodon).
pub async fn tags(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Params(q): Params<PageQuery>,
) -> AppResult<Json<Value>> {
    if !state.config.trends {
        return Ok(Json(Value::Array(Vec::new())));
    }
    let (offset, limit) = q.page(10, 20);
    let base = state.base_url();
    let viewer = auth.viewer().map(|v| v.id);
    let out = state
        .db
        .run(move |c| {
            trends::tags(c, offset, limit)?
                .into_iter()
                .map(|(n, h)| {
                    let history = serde_json::from_str(&h).unwrap_or(Value::Array(Vec::new()));
                    super::tags::tag_json_with(c, &base, &n, history, viewer)
                })
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

/// `GET /api/v1/trends/statuses` (limit default 20, at most 40): only what
/// the viewer may see.
pub async fn statuses(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Params(q): Params<PageQuery>,
) -> AppResult<Json<Value>> {
    if !state.config.trends {
        return Ok(Json(Value::Array(Vec::new())));
    }
    let (offset, limit) = q.page(20, 40);
    let ctx = ctx(&state);
    let viewer = auth.viewer().cloned();
    let out = state
        .db
        .run(move |c| {
            // Trending posts are public originals: what hides one from the
            // viewer is its author (a mute, a block either way), read once.
            let ids = trends::statuses(c, offset, limit)?;
            let hidden = match &viewer {
                Some(v) => crate::domain::mutes::hidden_authors(c, v.id)?,
                None => Vec::new(),
            };
            let mut found: std::collections::HashMap<i64, Status> = statuses::table
                .filter(statuses::id.eq_any(&ids))
                .filter(statuses::visibility.eq("public"))
                .filter(statuses::account_id.ne_all(&hidden))
                .select(Status::as_select())
                .load::<Status>(c)?
                .into_iter()
                .map(|s| (s.id, s))
                .collect();
            let rows: Vec<Status> = ids.iter().filter_map(|i| found.remove(i)).collect();
            entities::statuses(c, &ctx, &rows, viewer.as_ref().map(|v| v.id))
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

/// `GET /api/v1/trends/links` (limit default 10, at most 20): PreviewCards
/// with the links' `history`.
pub async fn links(
    State(state): State<AppState>,
    Params(q): Params<PageQuery>,
) -> AppResult<Json<Value>> {
    if !state.config.trends || !state.config.link_previews {
        return Ok(Json(Value::Array(Vec::new())));
    }
    let (offset, limit) = q.page(10, 20);
    let base = state.base_url();
    let out = state
        .db
        .run(move |c| {
            let ranked = trends::links(c, offset, limit)?;
            let ids: Vec<i64> = ranked.iter().map(|r| r.0).collect();
            let cards = crate::domain::cards::by_ids(c, &ids)?;
            Ok::<_, crate::error::AppError>(
                ranked
                    .into_iter()
                    .filter_map(|(id, h)| {
                        let mut v = crate::domain::cards::card_json(&base, cards.get(&id)?);
                        v["history"] = serde_json::from_str(&h).unwrap_or(Value::Array(Vec::new()));
                        Some(v)
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .await?;
    Ok(Json(Value::Array(out)))
}
