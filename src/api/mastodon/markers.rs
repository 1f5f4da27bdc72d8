//! `/api/v1/markers`: where the user stopped reading.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::entities;
use crate::api::extract::{Auth, Params};
use crate::app::AppState;
use crate::domain::markers::{self, TIMELINES};
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize, Default)]
pub struct MarkersQuery {
    #[serde(default, alias = "timeline[]")]
    timeline: Vec<String>,
}

fn as_map(found: Vec<markers::Marker>) -> Value {
    let mut out = Map::new();
    for m in &found {
        out.insert(m.timeline.clone(), entities::marker(m));
    }
    Value::Object(out)
}

pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<MarkersQuery>,
) -> AppResult<Json<Value>> {
    auth.require("read:statuses")?;
    let me = auth.account.id;
    let found = state
        .db
        .run(move |c| Ok::<_, AppError>(markers::get(c, me, &q.timeline)?))
        .await?;
    Ok(Json(as_map(found)))
}

/// `home[last_read_id]=…` as form keys, or `{"home": {"last_read_id": …}}`.
fn last_read_ids(p: &HashMap<String, Value>) -> AppResult<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for t in TIMELINES {
        let v = p
            .get(*t)
            .and_then(|o| o.get("last_read_id"))
            .or_else(|| p.get(&format!("{t}[last_read_id]")));
        let Some(v) = v else { continue };
        let id = match v {
            Value::String(s) => s.parse::<i64>().ok(),
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
        .ok_or_else(|| {
            AppError::Unprocessable(format!("Validation failed: {t} last_read_id is not an id"))
        })?;
        out.push((t.to_string(), id));
    }
    Ok(out)
}

pub async fn save(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<HashMap<String, Value>>,
) -> AppResult<Json<Value>> {
    auth.require("write:statuses")?;
    let me = auth.account.id;
    let changes = last_read_ids(&p)?;
    let found = state
        .db
        .transaction(move |c| {
            for (t, id) in &changes {
                markers::set(c, me, t, *id)?;
            }
            let names: Vec<String> = changes.into_iter().map(|(t, _)| t).collect();
            Ok::<_, AppError>(markers::get(c, me, &names)?)
        })
        .await?;
    Ok(Json(as_map(found)))
}
