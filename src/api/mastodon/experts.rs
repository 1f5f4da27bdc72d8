//! `GET /api/v1/meetfield/experts`: "who knows X?" with the reasons of each
//! hit (a Meetfield extension; stock apps get the same people, without
//! reasons, from account search).

use axum::Json;
use axum::extract::State;
use diesel::QueryResult;
use serde_json::{Value, json};

use super::{ctx, entities};
use crate::api::extract::{MaybeAuth, Params};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::org::expertise::{self, ExpertQuery};

pub async fn index(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Params(q): Params<ExpertQuery>,
) -> AppResult<Json<Value>> {
    if let Some(a) = &auth.0 {
        a.require("read:accounts")?;
    }
    if q.q.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return Err(AppError::Unprocessable(
            "Validation failed: q is required".into(),
        ));
    }
    let viewer = auth.viewer().map(|a| a.id);
    let ctx = ctx(&state);
    let own = state.config.domain.clone();
    let out = state
        .db
        .run(move |c| {
            let found = expertise::find(c, viewer, &own, &q)?;
            Ok::<_, AppError>(
                found
                    .iter()
                    .map(|e| {
                        Ok(json!({
                            "account": entities::account(c, &ctx, &e.account)?,
                            "score": e.score,
                            "reasons": e.reasons.iter().map(|r| json!({
                                "kind": r.kind,
                                "detail": r.detail,
                                "count": r.count,
                            })).collect::<Vec<_>>(),
                        }))
                    })
                    .collect::<QueryResult<Vec<_>>>()?,
            )
        })
        .await?;
    Ok(Json(Value::Array(out)))
}
