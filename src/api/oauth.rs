//! OAuth 2 for Mastodon apps: app registration, tokens, revocation and the
//! server metadata. (The browser sign-in and consent page is in `web`.)

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::extract::{Params, token_of};
use crate::app::AppState;
use crate::domain::oauth::{self, OOB_REDIRECT, Scopes};
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize)]
pub struct AppForm {
    client_name: Option<String>,
    redirect_uris: Option<String>,
    scopes: Option<String>,
    website: Option<String>,
}

/// `POST /api/v1/apps`
pub async fn create_app(
    State(state): State<AppState>,
    Params(f): Params<AppForm>,
) -> AppResult<Json<Value>> {
    let redirect = f.redirect_uris.unwrap_or_default();
    let created = oauth::create_application(
        &state.db,
        f.client_name.as_deref().unwrap_or(""),
        &redirect,
        f.scopes.as_deref().unwrap_or("read"),
        f.website.as_deref(),
    )
    .await?;
    let app = &created.app;
    Ok(Json(json!({
        "id": app.id.to_string(),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(' ').collect::<Vec<_>>(),
        "redirect_uri": app.redirect_uris.replace('\n', " "),
        "redirect_uris": app.redirect_uri_list(),
        "client_id": app.client_id,
        "client_secret": created.client_secret,
        "client_secret_expires_at": 0,
        "vapid_key": "",
    })))
}

/// `GET /api/v1/apps/verify_credentials`
pub async fn verify_app(State(state): State<AppState>, parts: Parts) -> AppResult<Json<Value>> {
    let token = token_of(&parts, &state)
        .await?
        .ok_or_else(|| AppError::Unauthorized("The access token is invalid".into()))?;
    let app_id = token.application_id;
    let app = state
        .db
        .run(move |c| {
            use crate::db::schema::oauth_applications as a;
            use diesel::prelude::*;
            match app_id {
                Some(id) => a::table
                    .find(id)
                    .select((a::name, a::website, a::scopes, a::redirect_uris))
                    .first::<(String, Option<String>, String, String)>(c)
                    .optional()
                    .map_err(AppError::from),
                None => Ok(None),
            }
        })
        .await?;
    // Tokens made by `meetfield admin create-token` belong to no app.
    let (name, website, scopes, redirects) = app.unwrap_or((
        "meetfield admin".into(),
        None,
        token.scopes.clone(),
        String::new(),
    ));
    let list: Vec<&str> = redirects.split_whitespace().collect();
    Ok(Json(json!({
        "id": app_id.map(|i| i.to_string()).unwrap_or_else(|| "0".into()),
        "name": name,
        "website": website,
        "scopes": scopes.split(' ').collect::<Vec<_>>(),
        "redirect_uri": list.join(" "),
        "redirect_uris": list,
        "vapid_key": "",
    })))
}

/// An RFC 6749 error response.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    scope: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

const INVALID_SCOPE: &str = "The requested scope is invalid, unknown, or malformed.";

/// `POST /oauth/token`
pub async fn token(State(state): State<AppState>, Params(f): Params<TokenForm>) -> Response {
    match token_inner(&state, f).await {
        Ok(v) => Json(v).into_response(),
        Err(AppError::Unauthorized(d)) => {
            oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &d)
        }
        Err(AppError::BadRequest(d)) => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &d),
        Err(AppError::Unprocessable(d)) if d == INVALID_SCOPE => {
            oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &d)
        }
        Err(AppError::Unprocessable(d)) => {
            oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &d)
        }
        Err(AppError::Forbidden(d)) => {
            oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client", &d)
        }
        Err(other) => other.into_response(),
    }
}

async fn token_inner(state: &AppState, f: TokenForm) -> AppResult<Value> {
    let app = oauth::authenticate_client(
        &state.db,
        f.client_id.as_deref().unwrap_or(""),
        f.client_secret.as_deref().unwrap_or(""),
    )
    .await?;
    let registered = Scopes::parse(&app.scopes).map_err(AppError::Unprocessable)?;
    let requested = |s: &Option<String>| -> AppResult<Scopes> {
        let sc = match s {
            Some(x) if !x.trim().is_empty() => Scopes::parse(x).map_err(AppError::Unprocessable)?,
            _ => registered.clone(),
        };
        if !sc.within(&registered) {
            return Err(AppError::Unprocessable(INVALID_SCOPE.into()));
        }
        Ok(sc)
    };
    let (secret, token) = match f.grant_type.as_deref() {
        Some("client_credentials") => {
            oauth::issue_token(&state.db, Some(app.id), None, requested(&f.scope)?).await?
        }
        Some("authorization_code") => {
            let code = f
                .code
                .as_deref()
                .ok_or_else(|| AppError::Unprocessable("code is missing".into()))?;
            let redirect = f.redirect_uri.as_deref().unwrap_or(OOB_REDIRECT);
            oauth::exchange_code(&state.db, &app, code, redirect, f.code_verifier.as_deref())
                .await?
        }
        Some("password") if state.config.oauth_password_grant && !state.config.sso_only => {
            let (user, _) = crate::sso::password_sign_in(
                state,
                f.username.as_deref().unwrap_or(""),
                f.password.as_deref().unwrap_or(""),
            )
            .await
            .map_err(|e| match e {
                AppError::Unavailable(_) => e,
                _ => AppError::BadRequest("Invalid email or password".into()),
            })?;
            oauth::issue_token(&state.db, Some(app.id), Some(user.id), requested(&f.scope)?).await?
        }
        Some("password") => {
            return Err(AppError::Forbidden(
                "The password grant is disabled on this server".into(),
            ));
        }
        _ => {
            return Err(AppError::Unprocessable(
                "The grant type is not supported".into(),
            ));
        }
    };
    Ok(json!({
        "access_token": secret,
        "token_type": "Bearer",
        "scope": token.scopes,
        "created_at": token.created_at.and_utc().timestamp(),
    }))
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    token: Option<String>,
}

/// `POST /oauth/revoke`
pub async fn revoke(State(state): State<AppState>, Params(f): Params<RevokeForm>) -> Response {
    let result = async {
        let app = oauth::authenticate_client(
            &state.db,
            f.client_id.as_deref().unwrap_or(""),
            f.client_secret.as_deref().unwrap_or(""),
        )
        .await?;
        if let Some(t) = f.token.as_deref() {
            oauth::revoke_token(&state.db, t, Some(app.id)).await?;
        }
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Json(json!({})).into_response(),
        Err(AppError::Unauthorized(d)) => {
            oauth_error(StatusCode::FORBIDDEN, "unauthorized_client", &d)
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414)
pub async fn metadata(State(state): State<AppState>) -> Json<Value> {
    let base = state.base_url();
    Json(json!({
        "issuer": format!("{base}/"),
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "app_registration_endpoint": format!("{base}/api/v1/apps"),
        "scopes_supported": ["read", "write", "follow", "push", "profile", "read:accounts", "read:blocks", "read:bookmarks", "read:favourites", "read:filters", "read:follows", "read:lists", "read:mutes", "read:notifications", "read:search", "read:statuses", "write:accounts", "write:blocks", "write:bookmarks", "write:conversations", "write:favourites", "write:filters", "write:follows", "write:lists", "write:media", "write:mutes", "write:notifications", "write:reports", "write:statuses"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": if state.config.oauth_password_grant && !state.config.sso_only {
            json!(["authorization_code", "client_credentials", "password"])
        } else {
            json!(["authorization_code", "client_credentials"])
        },
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    }))
}
