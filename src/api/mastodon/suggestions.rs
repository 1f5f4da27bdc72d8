//! Follow suggestions as Mastodon 4.3+ serves them (`/api/v2/suggestions`,
//! Suggestion entities with `sources` and the older `source`; v1 as bare
//! accounts; `DELETE` dismisses for good), and suggested groups (a
//! Meetfield extension). All read from what the workers computed.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ctx, entities, parse_id};
use crate::api::extract::{Auth, Params};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::org::suggestions::{self, FEATURED, MOST_INTERACTIONS};

#[derive(Debug, Default, Deserialize)]
pub struct Limit {
    limit: Option<i64>,
}

/// Mastodon's deprecated single `source`.
fn legacy_source(sources: &[String]) -> &'static str {
    if sources.iter().any(|s| s == FEATURED) {
        "staff"
    } else if sources.iter().any(|s| s == MOST_INTERACTIONS) {
        "past_interactions"
    } else {
        "global"
    }
}

async fn read(state: &AppState, auth: &Auth, limit: Option<i64>, v2: bool) -> AppResult<Value> {
    auth.require("read")?;
    let me = auth.account.id;
    let ctx = ctx(state);
    state
        .db
        .run(move |c| {
            let found = suggestions::read(c, me, limit.unwrap_or(40))?;
            let out = found
                .iter()
                .map(|s| {
                    let account = entities::account(c, &ctx, &s.account)?;
                    Ok(if v2 {
                        json!({
                            "source": legacy_source(&s.sources),
                            "sources": s.sources,
                            "account": account,
                        })
                    } else {
                        account
                    })
                })
                .collect::<AppResult<Vec<_>>>()?;
            Ok::<_, AppError>(Value::Array(out))
        })
        .await
}

/// `GET /api/v2/suggestions`.
pub async fn index_v2(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<Limit>,
) -> AppResult<Json<Value>> {
    read(&state, &auth, q.limit, true).await.map(Json)
}

/// `GET /api/v1/suggestions`: the same people as bare accounts.
pub async fn index_v1(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<Limit>,
) -> AppResult<Json<Value>> {
    read(&state, &auth, q.limit, false).await.map(Json)
}

/// `DELETE /api/v1/suggestions/:account_id`: never suggested again.
pub async fn dismiss(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("read")?;
    let target = parse_id(&id)?;
    let me = auth.account.id;
    state
        .db
        .transaction(move |c| {
            crate::db::models::Account::by_id(c, target)?;
            suggestions::dismiss(c, me, target)?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/meetfield/suggestions/groups`: groups (as accounts with
/// `group: true`) where people one follows or talks to are members, or
/// whose members share one's skills.
pub async fn groups(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<Limit>,
) -> AppResult<Json<Value>> {
    auth.require("read")?;
    let me = auth.account.id;
    let ctx = ctx(&state);
    let out = state
        .db
        .run(move |c| {
            let found = suggestions::read_groups(c, me, q.limit.unwrap_or(40))?;
            let out = found
                .iter()
                .map(|a| entities::account(c, &ctx, a).map_err(AppError::from))
                .collect::<AppResult<Vec<_>>>()?;
            Ok::<_, AppError>(Value::Array(out))
        })
        .await?;
    Ok(Json(out))
}
