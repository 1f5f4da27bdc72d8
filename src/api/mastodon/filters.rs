//! Filters: `/api/v2/filters` (filters, their keywords and posts) and the
//! read-only v1 view.

use axum::Json;
use axum::body::to_bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header;
use serde_json::{Map, Value, json};

use super::parse_id;
use crate::api::extract::Auth;
use crate::app::AppState;
use crate::domain::filters::{self, FilterChange, KeywordChange};
use crate::error::{AppError, AppResult};

/// Parameters as Rails reads them: JSON as is; forms and queries with
/// `a[]=x` arrays and `a[][k]=v` / `a[0][k]=v` arrays of objects (a
/// repeated key starts the next object).
pub struct RailsParams(pub Value);

fn insert_pair(root: &mut Map<String, Value>, key: &str, value: String) {
    let Some((name, rest)) = key.split_once('[') else {
        root.insert(key.to_string(), Value::String(value));
        return;
    };
    let rest = format!("[{rest}");
    let parts: Vec<&str> = rest
        .split('[')
        .skip(1)
        .map(|p| p.trim_end_matches(']'))
        .collect();
    match parts.as_slice() {
        [""] => {
            let arr = root
                .entry(name.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = arr {
                a.push(Value::String(value));
            }
        }
        [index, field] => {
            let arr = root
                .entry(name.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(a) = arr else { return };
            let slot = match index.parse::<usize>() {
                Ok(i) => {
                    while a.len() <= i {
                        a.push(Value::Object(Map::new()));
                    }
                    i
                }
                Err(_) => {
                    if a.last().is_none_or(|l| l.get(*field).is_some()) {
                        a.push(Value::Object(Map::new()));
                    }
                    a.len() - 1
                }
            };
            if let Value::Object(o) = &mut a[slot] {
                o.insert(field.to_string(), Value::String(value));
            }
        }
        _ => {
            root.insert(key.to_string(), Value::String(value));
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for RailsParams {
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> AppResult<Self> {
        let query = req.uri().query().unwrap_or("").to_string();
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let body = to_bytes(req.into_body(), usize::MAX)
            .await
            .map_err(|_| AppError::PayloadTooLarge("Request body too large".into()))?;
        if json && !body.is_empty() {
            let v: Value = serde_json::from_slice(&body).map_err(|e| {
                AppError::BadRequest(format!(
                    "Error occurred while parsing request parameters: {e}"
                ))
            })?;
            return Ok(RailsParams(v));
        }
        let body = std::str::from_utf8(&body)
            .map_err(|_| AppError::BadRequest("Request body is not UTF-8".into()))?;
        let mut root = Map::new();
        for text in [query.as_str(), body] {
            let pairs: Vec<(String, String)> = serde_html_form::from_str(text).unwrap_or_default();
            for (k, v) in pairs {
                insert_pair(&mut root, &k, v);
            }
        }
        Ok(RailsParams(Value::Object(root)))
    }
}

fn text(v: &Value, k: &str) -> Option<String> {
    match v.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn flag(v: &Value, k: &str) -> Option<bool> {
    match v.get(k)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(matches!(s.as_str(), "true" | "1" | "on")),
        Value::Number(n) => Some(n.as_i64() == Some(1)),
        _ => None,
    }
}

fn change_of(p: &Value) -> AppResult<FilterChange> {
    let context = match p.get("context") {
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        Some(Value::String(s)) => Some(vec![s.clone()]),
        _ => None,
    };
    let expires_in = match p.get("expires_in") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.is_empty() => Some(None),
        Some(v) => {
            let secs = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .filter(|s| *s > 0)
                .ok_or_else(|| {
                    AppError::Unprocessable("Validation failed: expires_in is invalid".into())
                })?;
            Some(Some(secs))
        }
    };
    let keywords = match p.get("keywords_attributes") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|k| {
                Ok(KeywordChange {
                    id: match text(k, "id") {
                        Some(s) => Some(parse_id(&s)?),
                        None => None,
                    },
                    keyword: text(k, "keyword"),
                    whole_word: flag(k, "whole_word"),
                    destroy: flag(k, "_destroy").unwrap_or(false),
                })
            })
            .collect::<AppResult<Vec<_>>>()?,
        _ => Vec::new(),
    };
    Ok(FilterChange {
        title: text(p, "title"),
        context,
        action: text(p, "filter_action"),
        expires_in,
        keywords,
    })
}

async fn render(state: &AppState, owner: i64, fid: i64) -> AppResult<Json<Value>> {
    state
        .db
        .run(move |c| {
            let f = filters::owned(c, owner, fid)?;
            let kws = filters::keywords(c, &[fid])?;
            let sts = filters::statuses(c, &[fid])?;
            Ok(Json(filters::entity(&f, &kws, &sts, true)))
        })
        .await
}

pub async fn index(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    auth.require("read:filters")?;
    let owner = auth.account.id;
    state
        .db
        .run(move |c| {
            let list = filters::list(c, owner)?;
            let ids: Vec<i64> = list.iter().map(|f| f.id).collect();
            let kws = filters::keywords(c, &ids)?;
            let sts = filters::statuses(c, &ids)?;
            Ok(Json(Value::Array(
                list.iter()
                    .map(|f| filters::entity(f, &kws, &sts, true))
                    .collect(),
            )))
        })
        .await
}

pub async fn index_v1(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    auth.require("read:filters")?;
    let owner = auth.account.id;
    state
        .db
        .run(move |c| Ok(Json(Value::Array(filters::v1_entities(c, owner)?))))
        .await
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("read:filters")?;
    render(&state, auth.account.id, parse_id(&id)?).await
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    RailsParams(p): RailsParams,
) -> AppResult<Json<Value>> {
    auth.require("write:filters")?;
    let change = change_of(&p)?;
    let owner = auth.account.id;
    let f = state
        .db
        .transaction(move |c| filters::create(c, owner, &change))
        .await?;
    render(&state, owner, f.id).await
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    RailsParams(p): RailsParams,
) -> AppResult<Json<Value>> {
    auth.require("write:filters")?;
    let change = change_of(&p)?;
    let (owner, fid) = (auth.account.id, parse_id(&id)?);
    state
        .db
        .transaction(move |c| filters::update(c, owner, fid, &change))
        .await?;
    render(&state, owner, fid).await
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:filters")?;
    let (owner, fid) = (auth.account.id, parse_id(&id)?);
    state
        .db
        .transaction(move |c| filters::delete(c, owner, fid))
        .await?;
    Ok(Json(json!({})))
}

pub async fn keywords(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("read:filters")?;
    let (owner, fid) = (auth.account.id, parse_id(&id)?);
    state
        .db
        .run(move |c| {
            filters::owned(c, owner, fid)?;
            Ok(Json(Value::Array(
                filters::keywords(c, &[fid])?
                    .iter()
                    .map(filters::keyword_entity)
                    .collect(),
            )))
        })
        .await
}

pub async fn add_keyword(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    RailsParams(p): RailsParams,
) -> AppResult<Json<Value>> {
    auth.require("write:filters")?;
    let (owner, fid) = (auth.account.id, parse_id(&id)?);
    let keyword = text(&p, "keyword").unwrap_or_default();
    let whole_word = flag(&p, "whole_word").unwrap_or(true);
    state
        .db
        .transaction(move |c| {
            filters::owned(c, owner, fid)?;
            let k = filters::add_keyword(c, fid, &keyword, whole_word)?;
            crate::stream::publish(c, crate::stream::Signal::FiltersChanged { a: owner })?;
            Ok(Json(filters::keyword_entity(&k)))
        })
        .await
}

pub async fn show_keyword(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("read:filters")?;
    let (owner, kid) = (auth.account.id, parse_id(&id)?);
    state
        .db
        .run(move |c| {
            Ok(Json(filters::keyword_entity(
                &filters::owned_keyword(c, owner, kid)?.0,
            )))
        })
        .await
}

pub async fn update_keyword(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    RailsParams(p): RailsParams,
) -> AppResult<Json<Value>> {
    auth.require("write:filters")?;
    let (owner, kid) = (auth.account.id, parse_id(&id)?);
    let keyword = text(&p, "keyword");
    let whole_word = flag(&p, "whole_word");
    state
        .db
        .transaction(move |c| {
            let k = filters::update_keyword(c, owner, kid, keyword.as_deref(), whole_word)?;
            Ok(Json(filters::keyword_entity(&k)))
        })
        .await
}

pub async fn delete_keyword(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:filters")?;
    let (owner, kid) = (auth.account.id, parse_id(&id)?);
    state
        .db
        .transaction(move |c| filters::delete_keyword(c, owner, kid))
        .await?;
    Ok(Json(json!({})))
}

pub async fn statuses(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("read:filters")?;
    let (owner, fid) = (auth.account.id, parse_id(&id)?);
    state
        .db
        .run(move |c| {
            filters::owned(c, owner, fid)?;
            Ok(Json(Value::Array(
                filters::statuses(c, &[fid])?
                    .iter()
                    .map(filters::status_entity)
                    .collect(),
            )))
        })
        .await
}

pub async fn add_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    RailsParams(p): RailsParams,
) -> AppResult<Json<Value>> {
    auth.require("write:filters")?;
    let (owner, fid) = (auth.account.id, parse_id(&id)?);
    let sid = parse_id(&text(&p, "status_id").unwrap_or_default())
        .map_err(|_| AppError::Unprocessable("Validation failed: Status can't be blank".into()))?;
    state
        .db
        .transaction(move |c| {
            let s = filters::add_status(c, owner, fid, sid)?;
            Ok(Json(filters::status_entity(&s)))
        })
        .await
}

pub async fn show_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("read:filters")?;
    let (owner, id) = (auth.account.id, parse_id(&id)?);
    state
        .db
        .run(move |c| {
            Ok(Json(filters::status_entity(&filters::owned_status(
                c, owner, id,
            )?)))
        })
        .await
}

pub async fn delete_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:filters")?;
    let (owner, id) = (auth.account.id, parse_id(&id)?);
    state
        .db
        .transaction(move |c| filters::delete_status(c, owner, id))
        .await?;
    Ok(Json(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rails_style_pairs() {
        let mut m = Map::new();
        for (k, v) in [
            ("title", "t"),
            ("context[]", "home"),
            ("context[]", "public"),
            ("keywords_attributes[][keyword]", "a"),
            ("keywords_attributes[][whole_word]", "false"),
            ("keywords_attributes[][keyword]", "b"),
            ("x[3][keyword]", "d"),
        ] {
            insert_pair(&mut m, k, v.to_string());
        }
        let v = Value::Object(m);
        assert_eq!(v["context"], json!(["home", "public"]));
        assert_eq!(
            v["keywords_attributes"],
            json!([{"keyword": "a", "whole_word": "false"}, {"keyword": "b"}])
        );
        assert_eq!(v["x"][3]["keyword"], "d");
    }
}
