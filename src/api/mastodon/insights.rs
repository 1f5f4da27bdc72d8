//! `GET /api/v1/admin/meetfield/insights/connectors` and `/silos`: connector
//! insight for admins (a Meetfield extension; `org::insights` computes it).
//! Counts and measures only, never content; people who opted out of
//! discovery are not listed.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ctx;
use super::entities::{self, iso};
use crate::api::extract::{Auth, Params};
use crate::app::AppState;
use crate::domain::moderation::{Moderator, perm};
use crate::error::{AppError, AppResult};
use crate::org::insights::{self, Run};

fn check(state: &AppState, auth: &Auth) -> AppResult<()> {
    auth.require("admin:read")?;
    Moderator::of(&auth.user).check(perm::VIEW_INSIGHTS)?;
    if !state.config.insights {
        return Err(AppError::NotFound(
            "Connector insight is turned off on this server".into(),
        ));
    }
    Ok(())
}

fn run_json(run: Option<&Run>) -> Value {
    match run {
        None => json!({ "computed_at": null }),
        Some(r) => json!({
            "computed_at": iso(r.finished_at),
            "window_days": r.window_days,
            "people": r.people,
            "partner_people": r.partner_people,
            "ties": r.ties,
            "sources": r.sources,
            "exact": r.exact,
            "duration_ms": r.duration_ms,
        }),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ConnectorQuery {
    department: Option<String>,
    limit: Option<i64>,
}

pub async fn connectors(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<ConnectorQuery>,
) -> AppResult<Json<Value>> {
    check(&state, &auth)?;
    let ctx = ctx(&state);
    let out = state
        .db
        .run(move |c| {
            let (run, _) = insights::runs(c)?;
            let mut out = run_json(run.as_ref());
            let mut people = Vec::new();
            if let Some(run) = &run {
                let limit = q.limit.unwrap_or(20);
                for (m, a) in insights::connectors(c, run, q.department.as_deref(), limit)? {
                    let mut v = serde_json::to_value(&m).map_err(anyhow::Error::from)?;
                    v["articulation"] = (m.cut_off > 0).into();
                    v["account"] = entities::account(c, &ctx, &a)?;
                    people.push(v);
                }
            }
            out["connectors"] = Value::Array(people);
            Ok::<_, AppError>(out)
        })
        .await?;
    Ok(Json(out))
}

pub async fn silos(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    check(&state, &auth)?;
    let out = state
        .db
        .run(move |c| {
            let (run, previous) = insights::runs(c)?;
            let mut out = run_json(run.as_ref());
            out["previous_computed_at"] = previous
                .as_ref()
                .map(|p| Value::from(iso(p.finished_at)))
                .unwrap_or(Value::Null);
            let map = match &run {
                Some(run) => insights::silos(c, run, previous.as_ref())?,
                None => insights::SiloMap {
                    units: vec![],
                    ties: vec![],
                },
            };
            out["units"] = serde_json::to_value(&map.units).map_err(anyhow::Error::from)?;
            out["ties"] = serde_json::to_value(&map.ties).map_err(anyhow::Error::from)?;
            Ok::<_, AppError>(out)
        })
        .await?;
    Ok(Json(out))
}
