//! `POST /api/v1/reports`: a user reports an account and some of its posts
//! to this instance's moderators (and, with `forward`, to its server's).

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::accounts::{find_account, parse_bool};
use super::filters::RailsParams;
use super::{ctx, entities};
use crate::api::extract::Auth;
use crate::app::AppState;
use crate::domain::reports::{self, NewReport};
use crate::error::{AppError, AppResult};

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    RailsParams(p): RailsParams,
) -> AppResult<Json<Value>> {
    auth.require("write:reports")?;
    let text = |k: &str| match p.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let target_id = text("account_id")
        .ok_or_else(|| AppError::Unprocessable("account_id is missing".into()))?;
    let target = find_account(&state, &target_id).await?;
    let status_ids = match p.get("status_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.parse::<i64>().map_err(|_| AppError::not_found()),
                Value::Number(n) => n.as_i64().ok_or_else(AppError::not_found),
                _ => Err(AppError::not_found()),
            })
            .collect::<AppResult<Vec<i64>>>()?,
        Some(Value::String(s)) => vec![s.parse::<i64>().map_err(|_| AppError::not_found())?],
        Some(_) => return Err(AppError::Unprocessable("status_ids must be a list".into())),
    };
    let has_rules = matches!(p.get("rule_ids"), Some(Value::Array(a)) if !a.is_empty());
    let category = text("category")
        .unwrap_or_else(|| if has_rules { "violation" } else { "other" }.to_string());
    let input = NewReport {
        target,
        status_ids,
        comment: text("comment").unwrap_or_default(),
        category,
        forward: p.get("forward").and_then(parse_bool).unwrap_or(false),
    };
    let report = reports::file(&state, &auth.account, input).await?;
    let ctx = ctx(&state);
    let entity = state
        .db
        .run(move |c| entities::report(c, &ctx, &report))
        .await?;
    Ok(Json(entity))
}
