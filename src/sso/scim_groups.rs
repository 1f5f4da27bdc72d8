//! SCIM 2.0 groups (RFC 7643 §4.2): the provider pushes its groups and
//! their members; groups named in `MEETFIELD_SCIM_ROLE_GROUPS` give their
//! members a role (the highest one), recomputed whenever membership changes.

use std::collections::HashSet;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value, json};

use super::scim::{
    ListQuery, MAX_COUNT, ScimAuth, ScimResult, Shape, apply_patch, attr, list_query,
    list_response, parse, parse_filter_raw, project, rfc3339, scim_err, scim_json, text_at,
};
use crate::app::AppState;
use crate::db::schema::{accounts, scim_group_members, scim_groups, users};
use crate::db::{DbConn, id, now};
use crate::error::AppError;
use crate::sso::RoleGroups;

const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/scim/v2/Groups", get(list).post(create))
        .route(
            "/scim/v2/Groups/{id}",
            get(read).put(replace).patch(patch).delete(remove),
        )
}

pub fn resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Groups; some give roles",
        "schema": GROUP_SCHEMA,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/scim/v2/ResourceTypes/Group")},
    })
}

pub fn schema(base: &str) -> Value {
    let mut members = attr("members", "complex", true, false, "none");
    members["subAttributes"] = json!([
        attr("value", "string", false, false, "none"),
        attr("display", "string", false, false, "none"),
        attr("type", "string", false, false, "none"),
    ]);
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_SCHEMA, "name": "Group", "description": "Group",
        "attributes": [attr("displayName", "string", false, true, "server"), members],
        "meta": {"resourceType": "Schema", "location": format!("{base}/scim/v2/Schemas/{GROUP_SCHEMA}")},
    })
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = scim_groups)]
struct GroupRow {
    id: i64,
    display_name: String,
    external_id: Option<String>,
    data: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn location(state: &AppState, gid: i64) -> String {
    format!("{}/scim/v2/Groups/{gid}", state.base_url())
}

fn members_of(c: &mut DbConn, gid: i64) -> QueryResult<Vec<(i64, String)>> {
    scim_group_members::table
        .inner_join(users::table.inner_join(accounts::table))
        .filter(scim_group_members::group_id.eq(gid))
        .order(scim_group_members::user_id)
        .select((scim_group_members::user_id, accounts::username))
        .load(c)
}

fn resource(state: &AppState, g: &GroupRow, members: &[(i64, String)]) -> Value {
    let mut v: Map<String, Value> = serde_json::from_str(&g.data).unwrap_or_default();
    v.insert("schemas".into(), json!([GROUP_SCHEMA]));
    v.insert("id".into(), json!(g.id.to_string()));
    v.insert("displayName".into(), json!(g.display_name));
    match &g.external_id {
        Some(e) => v.insert("externalId".into(), json!(e)),
        None => v.remove("externalId"),
    };
    let base = state.base_url();
    let others = match v.remove("members") {
        Some(Value::Array(o)) => o,
        _ => Vec::new(),
    };
    let mut all: Vec<Value> = members
        .iter()
        .map(|(uid, name)| {
            json!({"value": uid.to_string(), "display": name, "type": "User",
                "$ref": format!("{base}/scim/v2/Users/{uid}")})
        })
        .collect();
    all.extend(others.into_iter().map(|mut o| {
        if let Some(m) = o.as_object_mut() {
            m.retain(|_, x| !x.is_null());
        }
        o
    }));
    if !all.is_empty() {
        v.insert("members".into(), Value::Array(all));
    }
    v.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": rfc3339(g.created_at),
            "lastModified": rfc3339(g.updated_at),
            "location": location(state, g.id),
            "version": format!("W/\"{}\"", g.updated_at.and_utc().timestamp_micros()),
        }),
    );
    Value::Object(v)
}

/// The members a resource names: ids of our users, and the rest as sent
/// (nested groups, people provisioned elsewhere), kept and given back.
fn member_ids(c: &mut DbConn, v: &Value) -> QueryResult<(Vec<i64>, Vec<Value>)> {
    let (mut ours, mut others) = (Vec::new(), Vec::new());
    for m in v
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let raw = m.get("value").and_then(Value::as_str).unwrap_or("");
        let known = match raw.parse::<i64>() {
            Ok(uid) => users::table.find(uid).count().get_result::<i64>(c)? > 0,
            Err(_) => false,
        };
        match raw.parse::<i64>() {
            Ok(uid) if known && !ours.contains(&uid) => ours.push(uid),
            Ok(_) if known => {}
            _ if !raw.is_empty() && !others.iter().any(|o: &Value| o["value"] == raw) => others
                .push(json!({"value": raw, "display": m.get("display"), "type": m.get("type")})),
            _ => {}
        }
    }
    Ok((ours, others))
}

/// Roles of `people` from the role groups they are in now.
fn recompute_roles(c: &mut DbConn, roles: &RoleGroups, people: &[i64]) -> QueryResult<()> {
    for uid in people {
        let groups: Vec<String> = scim_group_members::table
            .inner_join(scim_groups::table)
            .filter(scim_group_members::user_id.eq(uid))
            .select(scim_groups::display_name)
            .load(c)?;
        if let Some(role) = roles.role_for(&groups) {
            diesel::update(users::table.find(uid))
                .set(users::role.eq(role.as_str()))
                .execute(c)?;
        }
    }
    Ok(())
}

/// Writes a group from a resource: name, external id, members; roles follow.
async fn store(
    state: &AppState,
    gid: i64,
    v: &Value,
    creating: bool,
) -> Result<(), super::scim::ScimError> {
    let name = text_at(v, &["displayName"])
        .ok_or_else(|| {
            scim_err(
                StatusCode::BAD_REQUEST,
                Some("invalidValue"),
                "displayName is required",
            )
        })?
        .to_string();
    let external = text_at(v, &["externalId"]).map(String::from);
    let mut data = v.as_object().cloned().unwrap_or_default();
    for k in [
        "id",
        "meta",
        "schemas",
        "displayName",
        "externalId",
        "members",
    ] {
        data.remove(k);
    }
    let roles = RoleGroups::parse(&state.config.scim_role_groups).unwrap_or_default();
    let v = v.clone();
    state
        .db
        .transaction(move |c| {
            let taken: i64 = scim_groups::table
                .filter(crate::db::lower(scim_groups::display_name).eq(name.to_lowercase()))
                .filter(scim_groups::id.ne(gid))
                .count()
                .get_result(c)?;
            if taken > 0 {
                return Err(AppError::Conflict(format!("group {name} exists")));
            }
            let (members, others) = member_ids(c, &v)?;
            let mut data = data.clone();
            if !others.is_empty() {
                data.insert("members".into(), Value::Array(others));
            }
            let data = Value::Object(data).to_string();
            let t = now();
            if creating {
                diesel::insert_into(scim_groups::table)
                    .values((
                        scim_groups::id.eq(gid),
                        scim_groups::display_name.eq(&name),
                        scim_groups::external_id.eq(&external),
                        scim_groups::data.eq(&data),
                        scim_groups::created_at.eq(t),
                        scim_groups::updated_at.eq(t),
                    ))
                    .execute(c)?;
            } else {
                diesel::update(scim_groups::table.find(gid))
                    .set((
                        scim_groups::display_name.eq(&name),
                        scim_groups::external_id.eq(&external),
                        scim_groups::data.eq(&data),
                        scim_groups::updated_at.eq(t),
                    ))
                    .execute(c)?;
            }
            let before: Vec<i64> = scim_group_members::table
                .filter(scim_group_members::group_id.eq(gid))
                .select(scim_group_members::user_id)
                .load(c)?;
            diesel::delete(scim_group_members::table.filter(scim_group_members::group_id.eq(gid)))
                .execute(c)?;
            for uid in &members {
                diesel::insert_into(scim_group_members::table)
                    .values((
                        scim_group_members::group_id.eq(gid),
                        scim_group_members::user_id.eq(uid),
                    ))
                    .execute(c)?;
            }
            let touched: HashSet<i64> = before.into_iter().chain(members).collect();
            recompute_roles(c, &roles, &touched.into_iter().collect::<Vec<_>>())?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(())
}

async fn find(
    state: &AppState,
    raw: &str,
) -> Result<(GroupRow, Vec<(i64, String)>), super::scim::ScimError> {
    let not_found = || {
        scim_err(
            StatusCode::NOT_FOUND,
            None,
            format!("Group {raw} not found"),
        )
    };
    let gid: i64 = raw.parse().map_err(|_| not_found())?;
    state
        .db
        .run(move |c| {
            let g: Option<GroupRow> = scim_groups::table
                .find(gid)
                .select(GroupRow::as_select())
                .first(c)
                .optional()?;
            match g {
                Some(g) => Ok::<_, AppError>(Some((g, members_of(c, gid)?))),
                None => Ok(None),
            }
        })
        .await?
        .ok_or_else(not_found)
}

async fn respond(state: &AppState, status: StatusCode, gid: i64) -> ScimResult {
    let (g, members) = find(state, &gid.to_string()).await?;
    let mut res = scim_json(status, resource(state, &g, &members));
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&location(state, gid))
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

async fn create(State(state): State<AppState>, _: ScimAuth, body: Bytes) -> ScimResult {
    let v = parse(&body)?;
    let gid = id::next_id();
    store(&state, gid, &v, true).await?;
    respond(&state, StatusCode::CREATED, gid).await
}

async fn read(
    State(state): State<AppState>,
    _: ScimAuth,
    Path(raw): Path<String>,
    Query(shape): Query<Shape>,
) -> ScimResult {
    let (g, members) = find(&state, &raw).await?;
    Ok(scim_json(
        StatusCode::OK,
        project(
            resource(&state, &g, &members),
            shape.attributes.as_deref(),
            shape.excluded_attributes.as_deref(),
        ),
    ))
}

/// A group search from a `.search` body (for the root `/.search`).
pub async fn search_body(state: &AppState, v: &Value) -> Result<Value, super::scim::ScimError> {
    list_json(state, list_query(v)?).await
}

async fn list(
    State(state): State<AppState>,
    _: ScimAuth,
    Query(q): Query<ListQuery>,
) -> ScimResult {
    Ok(scim_json(StatusCode::OK, list_json(&state, q).await?))
}

async fn list_json(state: &AppState, q: ListQuery) -> Result<Value, super::scim::ScimError> {
    let filter = match q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        Some(f) => {
            let (a, v) = parse_filter_raw(f).map_err(|_| {
                scim_err(
                    StatusCode::BAD_REQUEST,
                    Some("invalidFilter"),
                    "Supported filters: displayName, externalId or id eq \"…\"",
                )
            })?;
            let a = a.to_ascii_lowercase();
            if !["displayname", "externalid", "id"].contains(&a.as_str()) {
                return Err(scim_err(
                    StatusCode::BAD_REQUEST,
                    Some("invalidFilter"),
                    "Supported filters: displayName, externalId or id eq \"…\"",
                ));
            }
            Some((a, v))
        }
        None => None,
    };
    let start = q.start_index.unwrap_or(1).max(1);
    let count = q.count.unwrap_or(100).clamp(0, MAX_COUNT);
    let (total, groups) = state
        .db
        .run(move |c| {
            let base = || {
                let mut b = scim_groups::table.into_boxed();
                if let Some((a, v)) = &filter {
                    b = match a.as_str() {
                        "displayname" => b.filter(
                            crate::db::lower(scim_groups::display_name).eq(v.to_lowercase()),
                        ),
                        "externalid" => b.filter(scim_groups::external_id.eq(v.clone())),
                        _ => b.filter(scim_groups::id.eq(v.parse::<i64>().unwrap_or(-1))),
                    };
                }
                b
            };
            let total: i64 = base().count().get_result(c)?;
            let rows: Vec<GroupRow> = base()
                .order(scim_groups::id)
                .offset(start - 1)
                .limit(count)
                .select(GroupRow::as_select())
                .load(c)?;
            let mut out = Vec::new();
            for g in rows {
                let m = members_of(c, g.id)?;
                out.push((g, m));
            }
            Ok::<_, AppError>((total, out))
        })
        .await?;
    let resources: Vec<Value> = groups
        .iter()
        .map(|(g, m)| {
            project(
                resource(state, g, m),
                q.attributes.as_deref(),
                q.excluded_attributes.as_deref(),
            )
        })
        .collect();
    Ok(list_response(total, start, resources))
}

async fn replace(
    State(state): State<AppState>,
    _: ScimAuth,
    Path(raw): Path<String>,
    body: Bytes,
) -> ScimResult {
    let (g, _) = find(&state, &raw).await?;
    let v = parse(&body)?;
    store(&state, g.id, &v, false).await?;
    respond(&state, StatusCode::OK, g.id).await
}

async fn patch(
    State(state): State<AppState>,
    _: ScimAuth,
    Path(raw): Path<String>,
    body: Bytes,
) -> ScimResult {
    let (g, members) = find(&state, &raw).await?;
    let mut doc = match resource(&state, &g, &members) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    apply_patch(&mut doc, &parse(&body)?)?;
    store(&state, g.id, &Value::Object(doc), false).await?;
    respond(&state, StatusCode::OK, g.id).await
}

async fn remove(State(state): State<AppState>, _: ScimAuth, Path(raw): Path<String>) -> ScimResult {
    let (g, members) = find(&state, &raw).await?;
    let roles = RoleGroups::parse(&state.config.scim_role_groups).unwrap_or_default();
    let gid = g.id;
    let people: Vec<i64> = members.iter().map(|(u, _)| *u).collect();
    state
        .db
        .transaction(move |c| {
            diesel::delete(scim_groups::table.find(gid)).execute(c)?;
            recompute_roles(c, &roles, &people)?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
