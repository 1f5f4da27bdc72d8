//! Extractors for the client API: who is asking (bearer token and scopes)
//! and what they sent (JSON, form, multipart or query, as Mastodon accepts).

use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::db::models::{Account, User};
use crate::domain::oauth::{self, Token};
use crate::error::{AppError, AppResult};

/// A signed-in user, by bearer token.
#[derive(Debug, Clone)]
pub struct Auth {
    pub user: User,
    pub account: Account,
    pub token: Token,
}

impl Auth {
    /// 403 unless the token carries `scope` (or its parent).
    pub fn require(&self, scope: &str) -> AppResult<()> {
        if self.token.scopes().allows(scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "This action is outside the authorized scopes".into(),
            ))
        }
    }
}

pub fn bearer(parts: &Parts) -> Option<String> {
    let h = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (kind, token) = h.split_once(' ')?;
    kind.eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn invalid_token() -> AppError {
    AppError::Unauthorized("The access token is invalid".into())
}

/// The token of the request, if it sent one; an invalid one is an error.
pub async fn token_of(parts: &Parts, state: &AppState) -> AppResult<Option<Token>> {
    let Some(secret) = bearer(parts) else {
        return Ok(None);
    };
    oauth::find_token(&state.db, &secret)
        .await?
        .map(Some)
        .ok_or_else(invalid_token)
}

async fn auth_of(parts: &Parts, state: &AppState) -> AppResult<Option<Auth>> {
    let Some(token) = token_of(parts, state).await? else {
        return Ok(None);
    };
    auth_for(state, token).await.map(Some)
}

/// The signed-in user of a token secret that came some other way than the
/// Authorization header (the streaming API also takes it from the query).
pub async fn auth_with_secret(state: &AppState, secret: &str) -> AppResult<Auth> {
    let token = oauth::find_token(&state.db, secret)
        .await?
        .ok_or_else(invalid_token)?;
    auth_for(state, token).await
}

async fn auth_for(state: &AppState, token: Token) -> AppResult<Auth> {
    let Some(user_id) = token.user_id else {
        return Err(AppError::Unprocessable(
            "This method requires an authenticated user".into(),
        ));
    };
    let (user, account) = state
        .db
        .run(move |c| {
            use crate::db::schema::{accounts, users};
            use diesel::prelude::*;
            users::table
                .inner_join(accounts::table)
                .filter(users::id.eq(user_id))
                .select((User::as_select(), Account::as_select()))
                .first::<(User, Account)>(c)
                .map_err(AppError::from)
        })
        .await
        .map_err(|_| invalid_token())?;
    if user.disabled {
        return Err(AppError::Forbidden(
            "Your login is currently disabled".into(),
        ));
    }
    if !user.approved {
        return Err(AppError::Forbidden(
            "Your login is currently pending approval".into(),
        ));
    }
    Ok(Auth {
        user,
        account,
        token,
    })
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        auth_of(parts, state).await?.ok_or_else(invalid_token)
    }
}

/// Signed in or not; a token that is sent must still be valid.
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<Auth>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        Ok(MaybeAuth(auth_of(parts, state).await?))
    }
}

impl MaybeAuth {
    pub fn viewer(&self) -> Option<&Account> {
        self.0.as_ref().map(|a| &a.account)
    }
}

/// Request parameters from the query string and the body, whatever its type.
#[derive(Debug, Clone)]
pub struct Params<T>(pub T);

fn unprocessable(e: impl std::fmt::Display) -> AppError {
    AppError::Unprocessable(format!("Validation failed: {e}"))
}

fn nul_refused(name: &str) -> AppError {
    AppError::Unprocessable(format!("Validation failed: {name} contains a NUL byte"))
}

/// NUL bytes are refused before any parameter reaches a query: PostgreSQL
/// cannot store them in text and would fail the request with a 500.
pub fn refuse_nul_pairs(pairs: &[(String, String)]) -> AppResult<()> {
    match pairs
        .iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        Some((k, _)) => Err(nul_refused(k)),
        None => Ok(()),
    }
}

pub fn refuse_nul_json(v: &serde_json::Value, name: &str) -> AppResult<()> {
    use serde_json::Value;
    match v {
        Value::String(s) if s.contains('\0') => Err(nul_refused(name)),
        Value::Array(items) => items.iter().try_for_each(|i| refuse_nul_json(i, name)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            if k.contains('\0') {
                return Err(nul_refused(k));
            }
            refuse_nul_json(v, k)
        }),
        _ => Ok(()),
    }
}

impl<S, T> FromRequest<S> for Params<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> AppResult<Self> {
        let query = req.uri().query().unwrap_or("").to_string();
        let ctype = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ctype.starts_with("multipart/form-data") {
            let mut mp = Multipart::from_request(req, state)
                .await
                .map_err(|e| AppError::BadRequest(e.body_text()))?;
            let mut pairs: Vec<(String, String)> =
                serde_html_form::from_str(&query).unwrap_or_default();
            while let Some(field) = mp
                .next_field()
                .await
                .map_err(|e| AppError::BadRequest(e.body_text()))?
            {
                let name = field.name().unwrap_or_default().to_string();
                if field.file_name().is_some() {
                    continue;
                }
                let value = field
                    .text()
                    .await
                    .map_err(|e| AppError::BadRequest(e.body_text()))?;
                pairs.push((name, value));
            }
            refuse_nul_pairs(&pairs)?;
            let encoded = serde_html_form::to_string(&pairs).map_err(unprocessable)?;
            return serde_html_form::from_str(&encoded)
                .map(Params)
                .map_err(unprocessable);
        }
        let body = axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .map_err(|_| AppError::PayloadTooLarge("Request body too large".into()))?;
        if ctype.starts_with("application/json") && !body.is_empty() {
            let mut value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                AppError::BadRequest(format!(
                    "Error occurred while parsing request parameters: {e}"
                ))
            })?;
            // Query parameters fill in what the JSON body does not say.
            if let Some(obj) = value.as_object_mut() {
                for (k, v) in
                    serde_html_form::from_str::<Vec<(String, String)>>(&query).unwrap_or_default()
                {
                    obj.entry(k).or_insert(serde_json::Value::String(v));
                }
            }
            refuse_nul_json(&value, "body")?;
            return serde_json::from_value(value)
                .map(Params)
                .map_err(unprocessable);
        }
        let body = std::str::from_utf8(&body)
            .map_err(|_| AppError::BadRequest("Request body is not UTF-8".into()))?;
        let combined = match (query.is_empty(), body.is_empty()) {
            (true, _) => body.to_string(),
            (false, true) => query,
            (false, false) => format!("{query}&{body}"),
        };
        if combined.contains("%00") || combined.contains('\0') {
            let pairs: Vec<(String, String)> =
                serde_html_form::from_str(&combined).unwrap_or_default();
            refuse_nul_pairs(&pairs)?;
        }
        serde_html_form::from_str(&combined)
            .map(Params)
            .map_err(unprocessable)
    }
}

/// Any valid bearer token, an app's own (client credentials) included.
#[derive(Debug, Clone)]
pub struct AnyToken(pub Token);

impl FromRequestParts<AppState> for AnyToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        token_of(parts, state)
            .await?
            .map(AnyToken)
            .ok_or_else(invalid_token)
    }
}

/// Booleans as clients send them: `true`/`false`, `1`/`0`, `on`/`off`,
/// JSON booleans or numbers (Mastodon.py sends `1` and `0`).
pub fn lenient_bool<'de, D>(d: D) -> Result<Option<bool>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    use serde_json::Value;
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(Value::Number(n)) => Some(n.as_f64() != Some(0.0)),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "on" | "yes" | "t" => Some(true),
            "false" | "0" | "off" | "no" | "f" | "" => Some(false),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "'{other}' is not a boolean"
                )));
            }
        },
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "{other} is not a boolean"
            )));
        }
    })
}
