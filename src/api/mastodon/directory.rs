//! `GET /api/v1/directory`: Mastodon's profile directory, with the
//! organization's filters (`department`, `skill`, `q`, `domain`).

use axum::Json;
use axum::extract::State;
use diesel::QueryResult;
use serde_json::Value;

use super::{ctx, entities};
use crate::api::extract::{MaybeAuth, Params};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::org::directory::{self, DirectoryQuery};

pub async fn index(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Params(q): Params<DirectoryQuery>,
) -> AppResult<Json<Value>> {
    if let Some(a) = &auth.0 {
        a.require("read:accounts")?;
    }
    let viewer = auth.viewer().map(|a| a.id);
    let ctx = ctx(&state);
    let own = state.config.domain.clone();
    let out = state
        .db
        .run(move |c| {
            let found = directory::list(c, viewer, &own, &q)?;
            Ok::<_, AppError>(
                found
                    .iter()
                    .map(|a| entities::account(c, &ctx, a))
                    .collect::<QueryResult<Vec<_>>>()?,
            )
        })
        .await?;
    Ok(Json(Value::Array(out)))
}
