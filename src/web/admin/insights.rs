//! `/admin/insights`: connector insight in the console (the same data as
//! `/api/v1/admin/meetfield/insights/*`, for admins only): who holds the
//! organization together, and which units are islands. Counts and measures,
//! never content; people who opted out of discovery are not listed.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::{Nav, chrome, failed, nav, page, staff, when};
use crate::app::AppState;
use crate::domain::moderation::perm;
use crate::error::AppError;
use crate::org::insights::{self, Run, SiloMap, unit_label};
use crate::web::message;

/// People shown per page of connectors.
const CONNECTORS: i64 = 50;
/// Ties between two different units shown.
const BETWEEN: usize = 40;

pub struct ConnectorRow {
    pub username: String,
    pub name: String,
    pub department: String,
    pub degree: i64,
    pub betweenness: String,
    pub bridging: String,
    pub participation_department: String,
    pub participation_instance: String,
    pub constraint: String,
    pub effective_size: String,
    pub cut_off: i64,
}

pub struct UnitRow {
    pub unit: String,
    pub people: i64,
    pub internal: i64,
    pub external: i64,
    pub share: String,
    external_share: f64,
    /// "was 12%" when the run before knew the unit.
    pub before: String,
    pub island: bool,
}

pub struct TieRow {
    pub kind: &'static str,
    pub a: String,
    pub b: String,
    pub ties: i64,
    pub before: String,
}

pub struct Summary {
    pub computed_at: String,
    pub previous_at: String,
    pub window_days: i64,
    pub people: i64,
    pub partner_people: i64,
    pub ties: i64,
    pub method: String,
    pub seconds: String,
}

#[derive(Template)]
#[template(path = "admin/insights.html")]
struct InsightPage {
    chrome: crate::web::Chrome,
    nav: Nav,
    notice: Option<String>,
    summary: Option<Summary>,
    every_hours: u64,
    department: String,
    departments: Vec<String>,
    connectors: Vec<ConnectorRow>,
    departments_map: Vec<UnitRow>,
    instances_map: Vec<UnitRow>,
    between: Vec<TieRow>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    department: Option<String>,
}

fn share(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn units(map: &SiloMap, kind: &str) -> Vec<UnitRow> {
    let mut rows: Vec<UnitRow> = map
        .units
        .iter()
        .filter(|u| u.kind == kind)
        .map(|u| UnitRow {
            unit: unit_label(&u.unit).to_string(),
            people: u.people,
            internal: u.internal_ties,
            external: u.external_ties,
            share: share(u.external_share),
            external_share: u.external_share,
            before: u
                .previous_external_share
                .map(|p| format!("was {}", share(p)))
                .unwrap_or_default(),
            island: u.island,
        })
        .collect();
    // Islands first, then the units whose ties leave them least.
    rows.sort_by(|x, y| {
        y.island
            .cmp(&x.island)
            .then(x.external_share.total_cmp(&y.external_share))
            .then(x.unit.cmp(&y.unit))
    });
    rows
}

fn summary(run: &Run, previous: Option<&Run>) -> Summary {
    Summary {
        computed_at: when(run.finished_at),
        previous_at: previous.map(|p| when(p.finished_at)).unwrap_or_default(),
        window_days: run.window_days,
        people: run.people,
        partner_people: run.partner_people,
        ties: run.ties,
        method: if run.exact {
            "exact".into()
        } else {
            format!("sampled from {} people", run.sources)
        },
        seconds: format!("{:.1}", run.duration_ms as f64 / 1000.0),
    }
}

pub async fn insights_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match staff(&state, &headers, "/admin/insights").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = s.m.check(perm::VIEW_INSIGHTS) {
        return failed(&state, &s.viewer, e);
    }
    if !state.config.insights {
        return message(
            &state,
            StatusCode::NOT_FOUND,
            Some(s.viewer),
            "Insight is off",
            "Connector insight is turned off on this server (MEETFIELD_INSIGHTS=false).",
        );
    }
    let department = q
        .ok()
        .and_then(|q| q.0.department)
        .map(|d| d.trim().to_string())
        .unwrap_or_default();
    let d = department.clone();
    let loaded = state
        .db
        .run(move |c| {
            let (run, previous) = insights::runs(c)?;
            let Some(run) = run else {
                return Ok::<_, AppError>(None);
            };
            let people = insights::connectors(c, &run, Some(&d), CONNECTORS)?;
            let map = insights::silos(c, &run, previous.as_ref())?;
            Ok(Some((summary(&run, previous.as_ref()), people, map)))
        })
        .await;
    let (summary, people, map) = match loaded {
        Ok(Some((s, p, m))) => (Some(s), p, m),
        Ok(None) => (
            None,
            vec![],
            SiloMap {
                units: vec![],
                ties: vec![],
            },
        ),
        Err(e) => return failed(&state, &s.viewer, e),
    };
    let f3 = |x: f64| format!("{x:.3}");
    let connectors = people
        .into_iter()
        .map(|(m, a)| ConnectorRow {
            name: if a.display_name.trim().is_empty() {
                a.username.clone()
            } else {
                a.display_name.clone()
            },
            username: a.username,
            department: unit_label(&m.department).to_string(),
            degree: m.degree,
            betweenness: format!("{:.4}", m.betweenness),
            bridging: format!("{:.4}", m.bridging),
            participation_department: f3(m.participation_department),
            participation_instance: f3(m.participation_instance),
            constraint: m.constraint_score.map(f3).unwrap_or_else(|| "–".into()),
            effective_size: format!("{:.1}", m.effective_size),
            cut_off: m.cut_off,
        })
        .collect();
    let mut departments: Vec<String> = map
        .units
        .iter()
        .filter(|u| u.kind == "department" && !u.unit.is_empty())
        .map(|u| u.unit.clone())
        .collect();
    departments.sort_by_key(|d| d.to_lowercase());
    let mut between: Vec<&insights::Ties> = map.ties.iter().filter(|t| t.a != t.b).collect();
    between.sort_by(|x, y| y.ties.cmp(&x.ties).then(x.a.cmp(&y.a)));
    let between = between
        .into_iter()
        .take(BETWEEN)
        .map(|t| TieRow {
            kind: if t.kind == "instance" {
                "instances"
            } else {
                "departments"
            },
            a: unit_label(&t.a).to_string(),
            b: unit_label(&t.b).to_string(),
            ties: t.ties,
            before: t
                .previous_ties
                .map(|p| format!("was {p}"))
                .unwrap_or_default(),
        })
        .collect();
    page(&InsightPage {
        chrome: chrome(&state, "Insight", &s.viewer),
        nav: nav(&state, &s.m),
        notice: None,
        summary,
        every_hours: state.config.insights_secs / 3600,
        department,
        departments,
        connectors,
        departments_map: units(&map, "department"),
        instances_map: units(&map, "instance"),
        between,
    })
}
