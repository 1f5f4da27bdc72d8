//! SCIM 2.0 provisioning (RFC 7643/7644) of users, for identity providers
//! that push staff changes: `/scim/v2/Users` with a bearer token the admin
//! creates. Deactivating or deleting a user cuts their access at once.
//!
//! The provider's own attributes (names, phone numbers, …) are kept as it
//! sent them and given back; the ones Meetfield uses (userName, e-mail,
//! display name, `active`, the enterprise department, title and manager)
//! also go into the account.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::db::models::{Account, User};
use crate::db::schema::{accounts, scim_tokens, scim_users, user_identities, users};
use crate::db::{DbConn, id, now};
use crate::domain::oauth::{digest, random_secret};
use crate::error::AppError;
use crate::sso::{self, Identity, Rules};

pub const PROVIDER: &str = "scim";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub(super) const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub(super) const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub(super) const MAX_COUNT: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/scim/v2/Users", get(list).post(create))
        .route(
            "/scim/v2/Users/{id}",
            get(read).put(replace).patch(patch).delete(remove),
        )
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(service_provider_config),
        )
        .route("/scim/v2/Users/.search", axum::routing::post(search))
        .route("/scim/v2/.search", axum::routing::post(search_all))
        .route("/scim/v2/ResourceTypes", get(resource_types))
        .route("/scim/v2/ResourceTypes/{id}", get(resource_type))
        .route("/scim/v2/Schemas", get(schemas))
        .route("/scim/v2/Schemas/{id}", get(schema))
        .merge(super::scim_groups::router())
        .route("/scim/v2/{*rest}", axum::routing::any(unknown))
}

async fn unknown() -> ScimError {
    scim_err(StatusCode::NOT_FOUND, None, "No such SCIM endpoint")
}

/// A SCIM error: `status` as a string, `scimType` when one applies.
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

pub(super) fn scim_err(
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: impl Into<String>,
) -> ScimError {
    ScimError {
        status,
        scim_type,
        detail: detail.into(),
    }
}

impl From<AppError> for ScimError {
    fn from(e: AppError) -> Self {
        let status = e.status();
        let scim_type = match &e {
            AppError::Conflict(_) => Some("uniqueness"),
            AppError::Unprocessable(_) | AppError::BadRequest(_) => Some("invalidValue"),
            _ => None,
        };
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        if status.is_server_error() {
            tracing::error!(error = %e, "SCIM request failed");
        }
        scim_err(status, scim_type, e.to_string())
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        scim_json(self.status, body)
    }
}

pub(super) fn scim_json(status: StatusCode, body: Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    res
}

pub(super) type ScimResult = Result<Response, ScimError>;

/// A request carrying a live SCIM token.
pub struct ScimAuth;

impl FromRequestParts<AppState> for ScimAuth {
    type Rejection = ScimError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let denied = || {
            scim_err(
                StatusCode::UNAUTHORIZED,
                None,
                "A valid SCIM bearer token is required",
            )
        };
        let token = crate::api::extract::bearer(parts).ok_or_else(denied)?;
        let hash = digest(&token);
        let found = state
            .db
            .run(move |c| {
                let n = diesel::update(
                    scim_tokens::table
                        .filter(scim_tokens::token_hash.eq(hash))
                        .filter(scim_tokens::revoked_at.is_null()),
                )
                .set(scim_tokens::last_used_at.eq(now()))
                .execute(c)?;
                Ok::<_, AppError>(n == 1)
            })
            .await?;
        if found { Ok(ScimAuth) } else { Err(denied()) }
    }
}

/// `meetfield admin scim token create`: the token, shown once.
pub async fn create_token(db: &crate::db::Db) -> Result<(i64, String), AppError> {
    let token = random_secret();
    let hash = digest(&token);
    let tid = id::next_id();
    db.run(move |c| {
        diesel::insert_into(scim_tokens::table)
            .values((
                scim_tokens::id.eq(tid),
                scim_tokens::token_hash.eq(hash),
                scim_tokens::created_at.eq(now()),
            ))
            .execute(c)
            .map_err(AppError::from)
    })
    .await?;
    Ok((tid, token))
}

/// Tokens: (id, created, last used, revoked).
pub type TokenRow = (
    i64,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

pub async fn tokens(db: &crate::db::Db) -> Result<Vec<TokenRow>, AppError> {
    db.run(|c| {
        scim_tokens::table
            .order(scim_tokens::id)
            .select((
                scim_tokens::id,
                scim_tokens::created_at,
                scim_tokens::last_used_at,
                scim_tokens::revoked_at,
            ))
            .load(c)
            .map_err(AppError::from)
    })
    .await
}

pub async fn revoke_token(db: &crate::db::Db, tid: i64) -> Result<bool, AppError> {
    db.run(move |c| {
        diesel::update(
            scim_tokens::table
                .find(tid)
                .filter(scim_tokens::revoked_at.is_null()),
        )
        .set(scim_tokens::revoked_at.eq(now()))
        .execute(c)
        .map(|n| n == 1)
        .map_err(AppError::from)
    })
    .await
}

/// The SCIM side of a provisioned user.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = scim_users)]
struct ScimRow {
    user_id: i64,
    user_name: String,
    external_id: Option<String>,
    data: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn rules(state: &AppState) -> Rules {
    Rules {
        fields: sso::pairs(&state.config.scim_profile_fields).unwrap_or_default(),
        ..Default::default()
    }
}

fn location(state: &AppState, user_id: i64) -> String {
    format!("{}/scim/v2/Users/{user_id}", state.base_url())
}

pub(super) fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The resource as we give it back: what the provider sent, with what we
/// hold authoritative on top.
fn resource(state: &AppState, row: &ScimRow, user: &User) -> Value {
    let mut v: Map<String, Value> = serde_json::from_str(&row.data).unwrap_or_default();
    v.remove("password");
    let mut schemas = vec![json!(USER_SCHEMA)];
    if v.contains_key(ENTERPRISE) {
        schemas.push(json!(ENTERPRISE));
    }
    v.insert("schemas".into(), Value::Array(schemas));
    v.insert("id".into(), json!(row.user_id.to_string()));
    v.insert("userName".into(), json!(row.user_name));
    match &row.external_id {
        Some(e) => v.insert("externalId".into(), json!(e)),
        None => v.remove("externalId"),
    };
    // Given back only if the provider set it (a PATCH may remove it).
    if v.contains_key("active") {
        v.insert("active".into(), json!(!user.disabled));
    }
    v.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": rfc3339(row.created_at),
            "lastModified": rfc3339(row.updated_at),
            "location": location(state, row.user_id),
            "version": format!("W/\"{}\"", row.updated_at.and_utc().timestamp_micros()),
        }),
    );
    Value::Object(v)
}

pub(super) fn text_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p).or_else(|| {
            // Attribute names are case-insensitive (RFC 7643 §2.1).
            cur.as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(p))
                .map(|(_, v)| v)
        })?;
    }
    cur.as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn primary_email(v: &Value) -> Option<String> {
    let emails = v.get("emails")?.as_array()?;
    emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| emails.first())
        .and_then(|e| text_at(e, &["value"]))
        .map(String::from)
}

fn display_name(v: &Value) -> Option<String> {
    text_at(v, &["displayName"])
        .map(String::from)
        .or_else(|| text_at(v, &["name", "formatted"]).map(String::from))
        .or_else(|| {
            let parts: Vec<&str> = [
                text_at(v, &["name", "givenName"]),
                text_at(v, &["name", "familyName"]),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
}

/// The claims the managed fields are read from: `department`, `title`,
/// `manager` (its display name, else its id), and the rest of the resource.
fn claims(v: &Value) -> Map<String, Value> {
    let mut c = Map::new();
    if let Some(t) = text_at(v, &["title"]) {
        c.insert("title".into(), json!(t));
    }
    if let Some(ent) = v.get(ENTERPRISE) {
        for k in [
            "department",
            "division",
            "organization",
            "employeeNumber",
            "costCenter",
        ] {
            if let Some(t) = text_at(ent, &[k]) {
                c.insert(k.into(), json!(t));
            }
        }
        if let Some(m) = text_at(ent, &["manager", "displayName"])
            .or_else(|| text_at(ent, &["manager", "value"]))
        {
            c.insert("manager".into(), json!(m));
        }
    }
    c
}

fn active_of(v: &Value) -> Result<bool, ScimError> {
    match v.get("active") {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(scim_err(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "active must be a boolean",
        )),
    }
}

pub(super) fn parse(body: &Bytes) -> Result<Value, ScimError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        scim_err(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            format!("not JSON: {e}"),
        )
    })?;
    if !v.is_object() {
        return Err(scim_err(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "a JSON object is expected",
        ));
    }
    Ok(v)
}

fn user_name_of(v: &Value) -> Result<String, ScimError> {
    let name = text_at(v, &["userName"]).ok_or_else(|| {
        scim_err(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "userName is required",
        )
    })?;
    if name.chars().count() > 255 || name.contains('\0') {
        return Err(scim_err(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "userName is too long or invalid",
        ));
    }
    Ok(name.to_string())
}

fn load(c: &mut DbConn, user_id: i64) -> QueryResult<Option<(ScimRow, User, Account)>> {
    scim_users::table
        .inner_join(users::table.inner_join(accounts::table))
        .filter(scim_users::user_id.eq(user_id))
        .select((
            ScimRow::as_select(),
            User::as_select(),
            Account::as_select(),
        ))
        .first(c)
        .optional()
}

async fn find(state: &AppState, raw_id: &str) -> Result<(ScimRow, User, Account), ScimError> {
    let not_found = || {
        scim_err(
            StatusCode::NOT_FOUND,
            None,
            format!("User {raw_id} not found"),
        )
    };
    let uid: i64 = raw_id.parse().map_err(|_| not_found())?;
    state
        .db
        .run(move |c| load(c, uid).map_err(AppError::from))
        .await?
        .ok_or_else(not_found)
}

fn user_name_taken(c: &mut DbConn, name: &str, except: Option<i64>) -> QueryResult<bool> {
    let mut q = scim_users::table
        .filter(crate::db::lower(scim_users::user_name).eq(name.to_lowercase()))
        .into_boxed();
    if let Some(e) = except {
        q = q.filter(scim_users::user_id.ne(e));
    }
    Ok(q.count().get_result::<i64>(c)? > 0)
}

/// Brings the account in line with a resource (names, e-mail, fields,
/// `active`), and stores the resource.
async fn store(
    state: &AppState,
    user: &User,
    account: &Account,
    v: &Value,
) -> Result<(), ScimError> {
    let user_name = user_name_of(v)?;
    let external_id = text_at(v, &["externalId"]).map(String::from);
    let active = active_of(v)?;
    let email = primary_email(v);
    if let Some(e) = &email
        && crate::domain::users::validate_email(e).is_err()
    {
        return Err(scim_err(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            format!("'{e}' is not a valid e-mail address"),
        ));
    }
    let mut data = v.as_object().cloned().unwrap_or_default();
    for k in [
        "id",
        "meta",
        "schemas",
        "password",
        "userName",
        "externalId",
    ] {
        data.remove(k);
    }
    let data = Value::Object(data).to_string();
    let (uid, name) = (user.id, user_name.clone());
    state
        .db
        .transaction(move |c| {
            if user_name_taken(c, &name, Some(uid))? {
                return Err(AppError::Conflict(format!("userName {name} is taken")));
            }
            if let Some(e) = &email {
                let clash: i64 = users::table
                    .filter(crate::db::lower(users::email).eq(e.to_lowercase()))
                    .filter(users::id.ne(uid))
                    .count()
                    .get_result(c)?;
                if clash > 0 {
                    return Err(AppError::Conflict(format!(
                        "e-mail {e} belongs to another user"
                    )));
                }
                diesel::update(users::table.find(uid))
                    .set(users::email.eq(e))
                    .execute(c)?;
            }
            diesel::update(scim_users::table.find(uid))
                .set((
                    scim_users::user_name.eq(&name),
                    scim_users::external_id.eq(&external_id),
                    scim_users::data.eq(&data),
                    scim_users::updated_at.eq(now()),
                ))
                .execute(c)?;
            Ok::<_, AppError>(())
        })
        .await?;
    if let Some(n) = display_name(v)
        && n != account.display_name
    {
        crate::domain::accounts::update_profile(
            state,
            account,
            crate::domain::accounts::ProfileChange {
                display_name: Some(n.chars().take(30).collect()),
                ..Default::default()
            },
        )
        .await?;
    }
    let who = Identity {
        provider: PROVIDER.into(),
        subject: user.id.to_string(),
        claims: claims(v),
        ..Default::default()
    };
    let user_now = state
        .db
        .run(move |c| {
            users::table
                .find(uid)
                .select(User::as_select())
                .first(c)
                .map_err(AppError::from)
        })
        .await?;
    sso::apply(state, &rules(state), &who, &user_now, false).await?;
    if !active && !user.disabled {
        sso::deactivate(state, uid).await?;
        tracing::info!(user = uid, "deactivated by SCIM");
    } else if active && user.disabled {
        state
            .db
            .run(move |c| User::set_disabled(c, uid, false).map_err(AppError::from))
            .await?;
        tracing::info!(user = uid, "reactivated by SCIM");
    }
    Ok(())
}

async fn respond(state: &AppState, status: StatusCode, user_id: i64) -> ScimResult {
    let (row, user, _) = find(state, &user_id.to_string()).await?;
    let mut res = scim_json(status, resource(state, &row, &user));
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&location(state, user_id))
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// `POST /scim/v2/Users`.
async fn create(State(state): State<AppState>, _: ScimAuth, body: Bytes) -> ScimResult {
    let v = parse(&body)?;
    let user_name = user_name_of(&v)?;
    let name = user_name.clone();
    if state
        .db
        .run(move |c| user_name_taken(c, &name, None).map_err(AppError::from))
        .await?
    {
        return Err(scim_err(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!("userName {user_name} is taken"),
        ));
    }
    let who = Identity {
        provider: PROVIDER.into(),
        subject: format!("pending:{}", random_secret()),
        username: Some(user_name.clone()),
        email: primary_email(&v),
        email_verified: true,
        display_name: display_name(&v),
        ..Default::default()
    };
    let (user, account) = sso::create(&state, &who).await.map_err(|e| match e {
        AppError::Forbidden(m) => AppError::Conflict(m),
        e => e,
    })?;
    let (uid, subject, name) = (user.id, who.subject.clone(), user_name.clone());
    state
        .db
        .transaction(move |c| {
            let t = now();
            // The link is the user id: userName may change, the id does not.
            diesel::update(
                user_identities::table
                    .filter(user_identities::provider.eq(PROVIDER))
                    .filter(user_identities::subject.eq(subject)),
            )
            .set(user_identities::subject.eq(uid.to_string()))
            .execute(c)?;
            diesel::insert_into(scim_users::table)
                .values((
                    scim_users::user_id.eq(uid),
                    scim_users::user_name.eq(name),
                    scim_users::data.eq("{}"),
                    scim_users::created_at.eq(t),
                    scim_users::updated_at.eq(t),
                ))
                .execute(c)?;
            Ok::<_, AppError>(())
        })
        .await?;
    store(&state, &user, &account, &v).await?;
    respond(&state, StatusCode::CREATED, uid).await
}

/// `attributes` / `excludedAttributes` of a read.
#[derive(Debug, Deserialize, Default)]
pub(super) struct Shape {
    pub(super) attributes: Option<String>,
    #[serde(rename = "excludedAttributes")]
    pub(super) excluded_attributes: Option<String>,
}

async fn read(
    State(state): State<AppState>,
    _: ScimAuth,
    Path(raw): Path<String>,
    Query(shape): Query<Shape>,
) -> ScimResult {
    let (row, user, _) = find(&state, &raw).await?;
    Ok(scim_json(
        StatusCode::OK,
        project(
            resource(&state, &row, &user),
            shape.attributes.as_deref(),
            shape.excluded_attributes.as_deref(),
        ),
    ))
}

/// A list request, from the query string or a `.search` body (where
/// `attributes` may be arrays).
#[derive(Debug, Deserialize, Default)]
pub(super) struct ListQuery {
    pub(super) filter: Option<String>,
    #[serde(rename = "startIndex")]
    pub(super) start_index: Option<i64>,
    pub(super) count: Option<i64>,
    #[serde(default, deserialize_with = "names")]
    pub(super) attributes: Option<String>,
    #[serde(default, rename = "excludedAttributes", deserialize_with = "names")]
    pub(super) excluded_attributes: Option<String>,
}

pub(super) fn names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    })
}

/// `POST /scim/v2/Users/.search`.
/// The list request a `.search` body holds.
pub(super) fn list_query(v: &Value) -> Result<ListQuery, ScimError> {
    serde_json::from_value(v.clone()).map_err(|e| {
        scim_err(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            e.to_string(),
        )
    })
}

/// `POST /scim/v2/Users/.search`.
async fn search(State(state): State<AppState>, _: ScimAuth, body: Bytes) -> ScimResult {
    let q = list_query(&parse(&body)?)?;
    Ok(scim_json(StatusCode::OK, list_json(&state, q).await?))
}

/// A ListResponse (RFC 7644 §3.4.2).
pub(super) fn list_response(total: i64, start: i64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// `POST /scim/v2/.search`: users and groups alike (RFC 7644 §3.4.3);
/// each resource type answers the filters it knows, the others nothing.
async fn search_all(State(state): State<AppState>, _: ScimAuth, body: Bytes) -> ScimResult {
    let v = parse(&body)?;
    let users = match list_query(&v) {
        Ok(q) => list_json(&state, q).await,
        Err(e) => Err(e),
    };
    let groups = super::scim_groups::search_body(&state, &v).await;
    let mut resources = Vec::new();
    let mut total = 0;
    for part in [users.ok(), groups.ok()].into_iter().flatten() {
        total += part["totalResults"].as_i64().unwrap_or(0);
        if let Some(r) = part["Resources"].as_array() {
            resources.extend(r.iter().cloned());
        }
    }
    let count = v
        .get("count")
        .and_then(Value::as_i64)
        .unwrap_or(100)
        .clamp(0, MAX_COUNT) as usize;
    resources.truncate(count);
    let start = v.get("startIndex").and_then(Value::as_i64).unwrap_or(1);
    Ok(scim_json(
        StatusCode::OK,
        list_response(total, start, resources),
    ))
}

/// `attribute eq "value"`, any attribute (inside PATCH paths).
pub(super) fn parse_filter_raw(f: &str) -> Result<(String, String), ()> {
    let f = f.trim();
    let (attr, rest) = f.split_once(char::is_whitespace).ok_or(())?;
    let (op, value) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or(())?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(());
    }
    let value: String = serde_json::from_str(value.trim()).map_err(|_| ())?;
    Ok((attr.to_string(), value))
}

/// `attribute eq "value"` for the attributes providers look users up by.
fn parse_filter(f: &str) -> Result<(String, String), ScimError> {
    let bad = || {
        scim_err(
            StatusCode::BAD_REQUEST,
            Some("invalidFilter"),
            "Supported filters: userName, externalId, id or emails.value eq \"…\"",
        )
    };
    let f = f.trim();
    let (attr, rest) = f.split_once(char::is_whitespace).ok_or_else(bad)?;
    let rest = rest.trim_start();
    let (op, value) = rest.split_once(char::is_whitespace).ok_or_else(bad)?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(bad());
    }
    let value = value.trim();
    let value: String = serde_json::from_str(value).map_err(|_| bad())?;
    let attr = attr
        .strip_prefix(&format!("{USER_SCHEMA}:"))
        .unwrap_or(attr);
    let attr = match attr.to_ascii_lowercase().as_str() {
        "username" => "userName",
        "externalid" => "externalId",
        "id" => "id",
        "emails.value" | "emails" => "emails",
        _ => return Err(bad()),
    };
    Ok((attr.to_string(), value))
}

async fn list(
    State(state): State<AppState>,
    _: ScimAuth,
    Query(q): Query<ListQuery>,
) -> ScimResult {
    Ok(scim_json(StatusCode::OK, list_json(&state, q).await?))
}

async fn list_json(state: &AppState, q: ListQuery) -> Result<Value, ScimError> {
    let filter = q
        .filter
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(parse_filter)
        .transpose()?;
    let start = q.start_index.unwrap_or(1).max(1);
    let count = q.count.unwrap_or(100).clamp(0, MAX_COUNT);
    let (total, rows) = state
        .db
        .run(move |c| {
            let base = || {
                let mut b = scim_users::table
                    .inner_join(users::table.inner_join(accounts::table))
                    .into_boxed();
                if let Some((attr, value)) = &filter {
                    b = match attr.as_str() {
                        "userName" => b.filter(
                            crate::db::lower(scim_users::user_name).eq(value.to_lowercase()),
                        ),
                        "externalId" => b.filter(scim_users::external_id.eq(value.clone())),
                        "id" => {
                            b.filter(scim_users::user_id.eq(value.parse::<i64>().unwrap_or(-1)))
                        }
                        _ => b.filter(crate::db::lower(users::email).eq(value.to_lowercase())),
                    };
                }
                b
            };
            let total: i64 = base().count().get_result(c)?;
            let rows: Vec<(ScimRow, User, Account)> = base()
                .order(scim_users::user_id)
                .offset(start - 1)
                .limit(count)
                .select((
                    ScimRow::as_select(),
                    User::as_select(),
                    Account::as_select(),
                ))
                .load(c)?;
            Ok::<_, AppError>((total, rows))
        })
        .await?;
    let resources: Vec<Value> = rows
        .iter()
        .map(|(r, u, _)| {
            project(
                resource(state, r, u),
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
    let (_, user, account) = find(&state, &raw).await?;
    let v = parse(&body)?;
    store(&state, &user, &account, &v).await?;
    respond(&state, StatusCode::OK, user.id).await
}

/// `urn:…:User:department` → `department` (URNs compare without case).
pub(super) fn strip_urn<'p>(path: &'p str, urn: &str) -> Option<&'p str> {
    let head = path.get(..urn.len())?;
    (head.eq_ignore_ascii_case(urn) && path[urn.len()..].starts_with(':'))
        .then(|| &path[urn.len() + 1..])
}

/// Only the attributes asked for (`attributes`), or all but some
/// (`excludedAttributes`); `id` and `schemas` always (RFC 7644 §3.9).
pub(super) fn project(v: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let names = |s: Option<&str>| -> Vec<String> {
        s.map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| strip_urn(a, USER_SCHEMA).unwrap_or(a).to_string())
                .collect()
        })
        .unwrap_or_default()
    };
    let (keep, drop) = (names(attributes), names(excluded));
    let Value::Object(mut m) = v else { return v };
    let top = |a: &str| -> String {
        if strip_urn(a, ENTERPRISE).is_some() || a.eq_ignore_ascii_case(ENTERPRISE) {
            ENTERPRISE.to_string()
        } else {
            a.split('.').next().unwrap_or(a).to_string()
        }
    };
    if !keep.is_empty() {
        let wanted: Vec<String> = keep.iter().map(|a| top(a)).collect();
        m.retain(|k, _| {
            k == "id" || k == "schemas" || wanted.iter().any(|w| w.eq_ignore_ascii_case(k))
        });
    }
    for a in &drop {
        if let Some(sub) = strip_urn(a, ENTERPRISE) {
            if let Some(Value::Object(e)) = m.get_mut(ENTERPRISE) {
                e.retain(|k, _| !k.eq_ignore_ascii_case(sub));
            }
        } else if let Some((parent, sub)) = a.split_once('.') {
            if let Some(Value::Object(p)) = m
                .iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case(parent))
                .map(|(_, v)| v)
            {
                p.retain(|k, _| !k.eq_ignore_ascii_case(sub));
            }
        } else if a != "id" && a != "schemas" {
            m.retain(|k, _| !k.eq_ignore_ascii_case(&top(a)));
        }
    }
    Value::Object(m)
}

/// Applies a PATCH request (RFC 7644 §3.5.2) to a resource's JSON.
pub(super) fn apply_patch(doc: &mut Map<String, Value>, req: &Value) -> Result<(), ScimError> {
    let syntax = |m: String| scim_err(StatusCode::BAD_REQUEST, Some("invalidSyntax"), m);
    if !req["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|x| x == PATCH_SCHEMA))
    {
        return Err(syntax(format!("schemas must hold {PATCH_SCHEMA}")));
    }
    let ops = req
        .get("Operations")
        .or_else(|| req.get("operations"))
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("Operations is required".into()))?;
    for o in ops {
        let op = o.get("op").and_then(Value::as_str).unwrap_or("");
        if !["add", "replace", "remove"].contains(&op.to_ascii_lowercase().as_str()) {
            return Err(syntax(format!("unknown op '{op}'")));
        }
        apply_op(
            doc,
            op,
            o.get("path").and_then(Value::as_str),
            o.get("value"),
        )?;
    }
    Ok(())
}

/// Applies one PATCH operation to the resource's JSON.
pub(super) fn apply_op(
    doc: &mut Map<String, Value>,
    op: &str,
    path: Option<&str>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let invalid = |m: &str| scim_err(StatusCode::BAD_REQUEST, Some("invalidPath"), m.to_string());
    let op = op.to_ascii_lowercase();
    let Some(path) = path.map(str::trim).filter(|p| !p.is_empty()) else {
        // No path: the value is a partial resource.
        if op == "remove" {
            return Err(scim_err(
                StatusCode::BAD_REQUEST,
                Some("noTarget"),
                "remove needs a path",
            ));
        }
        let Some(Value::Object(m)) = value else {
            return Err(scim_err(
                StatusCode::BAD_REQUEST,
                Some("invalidValue"),
                "an object value is expected",
            ));
        };
        for (k, v) in m {
            if let (Some(Value::Object(old)), Value::Object(new)) = (doc.get_mut(k), v) {
                for (k2, v2) in new {
                    old.insert(k2.clone(), v2.clone());
                }
            } else {
                doc.insert(k.clone(), v.clone());
            }
        }
        return Ok(());
    };
    // `emails[type eq "work"].value` and the like: the primary (or first) entry.
    if let Some((attr, rest)) = path.split_once('[') {
        let (cond, sub) = match rest.split_once("].") {
            Some((c, s)) => (c, Some(s)),
            None => (rest.trim_end_matches(']'), None),
        };
        // `type eq "work"`: which entries the operation is about.
        let matcher: Option<(String, String)> = parse_filter_raw(cond).ok();
        let list = doc.entry(attr.to_string()).or_insert_with(|| json!([]));
        let items = list
            .as_array_mut()
            .ok_or_else(|| invalid("not a multi-valued attribute"))?;
        let matches = |i: &Value| match &matcher {
            Some((k, v)) => i
                .as_object()
                .and_then(|o| o.iter().find(|(kk, _)| kk.eq_ignore_ascii_case(k)))
                .and_then(|(_, x)| x.as_str())
                .is_some_and(|x| x.eq_ignore_ascii_case(v)),
            None => false,
        };
        if op == "remove" && sub.is_none() {
            items.retain(|i| !matches(i));
            return Ok(());
        }
        let mut hit: Vec<usize> = (0..items.len()).filter(|n| matches(&items[*n])).collect();
        if hit.is_empty() {
            if op == "remove" {
                return Ok(());
            }
            // Nothing of that kind yet: the primary (or first) entry, or a new one.
            let at = items
                .iter()
                .position(|i| i.get("primary") == Some(&json!(true)))
                .unwrap_or(0);
            if items.is_empty() {
                let mut fresh = Map::new();
                if let Some((k, v)) = &matcher {
                    fresh.insert(k.clone(), json!(v));
                }
                items.push(Value::Object(fresh));
            }
            hit.push(at.min(items.len() - 1));
        }
        for n in hit {
            let item = &mut items[n];
            match (sub, op.as_str()) {
                (Some(s), "remove") => {
                    if let Some(o) = item.as_object_mut() {
                        o.remove(s);
                    }
                }
                (Some(s), _) => item[s] = value.cloned().unwrap_or(Value::Null),
                (None, _) => {
                    if let Some(Value::Object(m)) = value {
                        for (k, v) in m {
                            item[k.as_str()] = v.clone();
                        }
                    }
                }
            }
        }
        return Ok(());
    }
    // The extension itself: its attributes at once.
    if path.eq_ignore_ascii_case(ENTERPRISE) {
        if op == "remove" {
            doc.remove(ENTERPRISE);
            return Ok(());
        }
        let Some(Value::Object(m)) = value else {
            return Err(scim_err(
                StatusCode::BAD_REQUEST,
                Some("invalidValue"),
                "an object value is expected",
            ));
        };
        let mut m = m.clone();
        m.remove("schemas");
        match (op.as_str(), doc.get_mut(ENTERPRISE)) {
            ("add", Some(Value::Object(old))) => old.extend(m),
            _ => {
                doc.insert(ENTERPRISE.into(), Value::Object(m));
            }
        }
        return Ok(());
    }
    // An extension attribute: `urn:…:User:department`.
    let (container, key) = match strip_urn(path, ENTERPRISE) {
        Some(k) => (Some(ENTERPRISE), k),
        None => (None, strip_urn(path, USER_SCHEMA).unwrap_or(path)),
    };
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().ok_or_else(|| invalid("empty path"))?;
    let mut cur: &mut Map<String, Value> = doc;
    if let Some(c) = container {
        cur = cur
            .entry(c.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or_else(|| invalid("not an object"))?;
    }
    for p in parts {
        let key = cur
            .keys()
            .find(|k| k.eq_ignore_ascii_case(p))
            .cloned()
            .unwrap_or_else(|| p.to_string());
        cur = cur
            .entry(key)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or_else(|| invalid("not an object"))?;
    }
    let key = cur
        .keys()
        .find(|k| k.eq_ignore_ascii_case(last))
        .cloned()
        .unwrap_or_else(|| last.to_string());
    if op == "remove" {
        cur.remove(&key);
    } else if let (true, Some(Value::Array(old)), Some(Value::Array(new))) =
        (op == "add", cur.get_mut(&key), value)
    {
        // Adding to a multi-valued attribute appends (without repeats).
        for v in new {
            if !old.contains(v) {
                old.push(v.clone());
            }
        }
    } else {
        let v = value.cloned().ok_or_else(|| {
            scim_err(
                StatusCode::BAD_REQUEST,
                Some("invalidValue"),
                "a value is needed",
            )
        })?;
        cur.insert(key, v);
    }
    Ok(())
}

async fn patch(
    State(state): State<AppState>,
    _: ScimAuth,
    Path(raw): Path<String>,
    body: Bytes,
) -> ScimResult {
    let (row, user, account) = find(&state, &raw).await?;
    let mut doc = match resource(&state, &row, &user) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    apply_patch(&mut doc, &parse(&body)?)?;
    store(&state, &user, &account, &Value::Object(doc)).await?;
    respond(&state, StatusCode::OK, user.id).await
}

/// `DELETE`: the person leaves; their account is disabled (posts stay) and
/// SCIM knows them no more.
async fn remove(State(state): State<AppState>, _: ScimAuth, Path(raw): Path<String>) -> ScimResult {
    let (_, user, _) = find(&state, &raw).await?;
    sso::deactivate(&state, user.id).await?;
    let uid = user.id;
    state
        .db
        .transaction(move |c| {
            diesel::delete(scim_users::table.find(uid)).execute(c)?;
            diesel::delete(
                user_identities::table
                    .filter(user_identities::provider.eq(PROVIDER))
                    .filter(user_identities::user_id.eq(uid)),
            )
            .execute(c)?;
            Ok::<_, AppError>(())
        })
        .await?;
    tracing::info!(user = uid, "deprovisioned by SCIM");
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn service_provider_config(State(state): State<AppState>) -> Response {
    scim_json(
        StatusCode::OK,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://meetfield.dev/docs/scim",
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_COUNT},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A token from `meetfield admin scim token create`",
                "primary": true,
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{}/scim/v2/ServiceProviderConfig", state.base_url())},
        }),
    )
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "Staff accounts",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": ENTERPRISE, "required": false}],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/scim/v2/ResourceTypes/User")},
    })
}

async fn resource_type(State(state): State<AppState>, Path(id): Path<String>) -> ScimResult {
    match id.as_str() {
        "User" => Ok(scim_json(
            StatusCode::OK,
            user_resource_type(&state.base_url()),
        )),
        "Group" => Ok(scim_json(
            StatusCode::OK,
            super::scim_groups::resource_type(&state.base_url()),
        )),
        _ => Err(scim_err(
            StatusCode::NOT_FOUND,
            None,
            format!("No resource type {id}"),
        )),
    }
}

async fn schema(State(state): State<AppState>, Path(id): Path<String>) -> ScimResult {
    all_schemas(&state.base_url())
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(&id))
        })
        .map(|s| scim_json(StatusCode::OK, s))
        .ok_or_else(|| scim_err(StatusCode::NOT_FOUND, None, format!("No schema {id}")))
}

async fn resource_types(State(state): State<AppState>) -> Response {
    let types = vec![
        user_resource_type(&state.base_url()),
        super::scim_groups::resource_type(&state.base_url()),
    ];
    scim_json(StatusCode::OK, list_response(types.len() as i64, 1, types))
}

pub(super) fn attr(name: &str, kind: &str, multi: bool, required: bool, uniqueness: &str) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": multi, "required": required,
        "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": uniqueness,
    })
}

async fn schemas(State(state): State<AppState>) -> Response {
    let all = all_schemas(&state.base_url());
    scim_json(StatusCode::OK, list_response(all.len() as i64, 1, all))
}

fn all_schemas(base: &str) -> Vec<Value> {
    let mut name = attr("name", "complex", false, false, "none");
    name["subAttributes"] = json!([
        attr("formatted", "string", false, false, "none"),
        attr("familyName", "string", false, false, "none"),
        attr("givenName", "string", false, false, "none"),
    ]);
    let mut emails = attr("emails", "complex", true, false, "none");
    emails["subAttributes"] = json!([
        attr("value", "string", false, false, "none"),
        attr("type", "string", false, false, "none"),
        attr("primary", "boolean", false, false, "none"),
    ]);
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA, "name": "User", "description": "User Account",
        "attributes": [
            attr("userName", "string", false, true, "server"),
            name,
            attr("displayName", "string", false, false, "none"),
            attr("title", "string", false, false, "none"),
            attr("active", "boolean", false, false, "none"),
            emails,
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/scim/v2/Schemas/{USER_SCHEMA}")},
    });
    let mut manager = attr("manager", "complex", false, false, "none");
    manager["subAttributes"] = json!([
        attr("value", "string", false, false, "none"),
        attr("displayName", "string", false, false, "none"),
    ]);
    let enterprise = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": ENTERPRISE, "name": "EnterpriseUser", "description": "Enterprise User",
        "attributes": [
            attr("employeeNumber", "string", false, false, "none"),
            attr("department", "string", false, false, "none"),
            attr("division", "string", false, false, "none"),
            attr("organization", "string", false, false, "none"),
            manager,
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/scim/v2/Schemas/{ENTERPRISE}")},
    });
    vec![user, enterprise, super::scim_groups::schema(base)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(
            parse_filter("userName eq \"bjensen\"").ok().map(|f| f.1),
            Some("bjensen".into())
        );
        assert_eq!(
            parse_filter("externalId eq \"x 1\"").ok().map(|f| f.0),
            Some("externalId".into())
        );
        assert!(parse_filter("userName co \"b\"").is_err());
        assert!(parse_filter("password eq \"x\"").is_err());
        assert!(parse_filter("userName eq bjensen").is_err());
    }

    #[test]
    fn patch_paths() {
        let mut doc = serde_json::from_value::<Map<String, Value>>(json!({"name": {"givenName": "B"}, "emails": [{"value": "a@x.example", "primary": true}]})).unwrap();
        apply_op(
            &mut doc,
            "replace",
            Some("name.familyName"),
            Some(&json!("Jensen")),
        )
        .unwrap();
        apply_op(
            &mut doc,
            "replace",
            Some("emails[type eq \"work\"].value"),
            Some(&json!("b@x.example")),
        )
        .unwrap();
        apply_op(
            &mut doc,
            "add",
            Some(&format!("{ENTERPRISE}:department")),
            Some(&json!("Sales")),
        )
        .unwrap();
        apply_op(&mut doc, "replace", None, Some(&json!({"active": false}))).unwrap();
        let v = Value::Object(doc);
        assert_eq!(v["name"]["familyName"], "Jensen");
        assert_eq!(v["name"]["givenName"], "B");
        assert_eq!(primary_email(&v).as_deref(), Some("b@x.example"));
        assert_eq!(v[ENTERPRISE]["department"], "Sales");
        assert_eq!(v["active"], false);
    }
}
