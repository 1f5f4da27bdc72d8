//! Sign-in with an OpenID provider: authorization code flow with PKCE and
//! a nonce (`openidconnect` checks the ID token: issuer, audience, expiry,
//! signature by the provider's published keys). The state, nonce and PKCE
//! verifier wait on the server; a `SameSite=Lax` cookie binds the browser
//! that left to the one that returns.

use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use diesel::prelude::*;
use futures::future::BoxFuture;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::config::Config;
use crate::db::now;
use crate::db::schema::oidc_logins;
use crate::domain::oauth::digest;
use crate::error::AppError;
use crate::sso::{self, Identity, RoleGroups, Rules};
use crate::web::oauth::{esc, html_page};
use crate::web::session;

pub const CALLBACK_PATH: &str = "/auth/oidc/callback";
const STATE_COOKIE: &str = "mf_oidc";
/// Time a person has at the provider before the sign-in must start again.
const LOGIN_SECS: i64 = 600;
/// Provider metadata and keys are read again after this long (key rotation).
const METADATA_TTL: Duration = Duration::from_secs(600);
/// Largest answer read from the provider.
const MAX_ANSWER: usize = 1024 * 1024;

/// Every claim the provider sends beyond the standard ones (`groups`,
/// `department`, …).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(transparent)]
pub struct ExtraClaims(Map<String, Value>);
impl AdditionalClaims for ExtraClaims {}

type MfIdToken = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// The provider as last discovered, and the HTTP client that talks to it.
pub struct Oidc {
    http: Option<reqwest::Client>,
    meta: tokio::sync::Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl Default for Oidc {
    fn default() -> Self {
        Self::new()
    }
}

impl Oidc {
    pub fn new() -> Oidc {
        // The issuer is the admin's choice and often on the internal network,
        // so private addresses are allowed; redirects are not (the library's
        // advice against SSRF).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(crate::federation::client::USER_AGENT)
            .build()
            .map_err(|e| tracing::error!(error = %e, "no HTTP client for the OpenID provider"))
            .ok();
        Oidc {
            http,
            meta: tokio::sync::Mutex::new(None),
        }
    }

    fn send(
        &self,
    ) -> impl Fn(
        openidconnect::HttpRequest,
    ) -> BoxFuture<'static, Result<openidconnect::HttpResponse, HttpError>>
    + use<> {
        let client = self.http.clone();
        move |req| {
            let client = client.clone();
            Box::pin(async move {
                let client = client.ok_or_else(|| HttpError("no HTTP client".into()))?;
                let (parts, body) = req.into_parts();
                let mut res = client
                    .request(parts.method, parts.uri.to_string())
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| HttpError(e.to_string()))?;
                let status = res.status();
                let headers = res.headers().clone();
                let mut body = Vec::new();
                while let Some(chunk) = res.chunk().await.map_err(|e| HttpError(e.to_string()))? {
                    body.extend_from_slice(&chunk);
                    if body.len() > MAX_ANSWER {
                        return Err(HttpError("the provider's answer is too large".into()));
                    }
                }
                let mut out = axum::http::Response::new(body);
                *out.status_mut() = status;
                *out.headers_mut() = headers;
                Ok(out)
            })
        }
    }

    async fn metadata(&self, config: &Config, fresh: bool) -> Result<CoreProviderMetadata, String> {
        let mut cached = self.meta.lock().await;
        if let Some((at, meta)) = cached.as_ref()
            && !fresh
            && at.elapsed() < METADATA_TTL
        {
            return Ok(meta.clone());
        }
        let issuer = IssuerUrl::new(config.oidc_issuer.trim_end_matches('/').to_string())
            .map_err(|e| format!("MEETFIELD_OIDC_ISSUER: {e}"))?;
        let meta = CoreProviderMetadata::discover_async(issuer, &self.send())
            .await
            .map_err(|e| format!("discovery from {}: {}", config.oidc_issuer, error_chain(&e)))?;
        *cached = Some((Instant::now(), meta.clone()));
        Ok(meta)
    }

    async fn client(&self, state: &AppState, fresh: bool) -> Result<Client, String> {
        let c = &state.config;
        let meta = self.metadata(c, fresh).await?;
        let secret = Some(c.oidc_client_secret.clone())
            .filter(|s| !s.is_empty())
            .map(ClientSecret::new);
        let redirect = RedirectUrl::new(format!("{}{CALLBACK_PATH}", state.base_url()))
            .map_err(|e| e.to_string())?;
        Ok(CoreClient::from_provider_metadata(
            meta,
            ClientId::new(c.oidc_client_id.clone()),
            secret,
        )
        .set_redirect_uri(redirect))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

pub fn enabled(config: &Config) -> bool {
    !config.oidc_issuer.is_empty()
}

pub fn rules(config: &Config) -> Rules {
    Rules {
        allowed_groups: sso::list(&config.oidc_allowed_groups),
        roles: RoleGroups::parse(&config.oidc_role_groups).unwrap_or_default(),
        fields: sso::pairs(&config.oidc_profile_fields).unwrap_or_default(),
        link_existing: config.oidc_link_existing,
    }
}

/// The link that starts a sign-in and comes back to `return_to`.
pub fn start_link(return_to: &str) -> String {
    let mut u = url::Url::parse("http://x/auth/oidc").expect("static URL");
    u.query_pairs_mut().append_pair("return_to", return_to);
    format!("/auth/oidc?{}", u.query().unwrap_or_default())
}

/// Only a path on this server (never `//host` or a scheme).
pub(crate) fn safe_return(r: Option<&str>) -> String {
    match r {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.chars().any(char::is_control) =>
        {
            p.to_string()
        }
        _ => "/auth/oidc/done".into(),
    }
}

fn page(status: StatusCode, title: &str, msg: &str) -> Response {
    html_page(
        status,
        title,
        &format!(
            "<h1>{}</h1><p class=\"error\">{}</p><p>Go back to your app and try again.</p>",
            esc(title),
            esc(msg)
        ),
        None,
    )
}

#[derive(Debug, Deserialize)]
pub struct StartParams {
    return_to: Option<String>,
}

/// `GET /auth/oidc`: off to the provider.
pub async fn start(State(state): State<AppState>, Query(p): Query<StartParams>) -> Response {
    if !enabled(&state.config) {
        return page(
            StatusCode::NOT_FOUND,
            "Single sign-on is not set up",
            "This server has no sign-in provider.",
        );
    }
    let client = match state.oidc.client(&state, false).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "OpenID provider unreachable");
            return page(
                StatusCode::BAD_GATEWAY,
                "Sign-in unavailable",
                "The organization's sign-in service cannot be reached right now.",
            );
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in state
        .config
        .oidc_scopes
        .split_whitespace()
        .filter(|s| *s != "openid")
    {
        req = req.add_scope(Scope::new(s.to_string()));
    }
    let (url, csrf, nonce) = req.set_pkce_challenge(challenge).url();
    let return_to = safe_return(p.return_to.as_deref());
    let row = (
        digest(csrf.secret()),
        nonce.secret().clone(),
        verifier.secret().clone(),
        return_to,
    );
    let stored = state
        .db
        .transaction(move |c| {
            let t = now();
            diesel::delete(oidc_logins::table.filter(oidc_logins::expires_at.lt(t))).execute(c)?;
            diesel::insert_into(oidc_logins::table)
                .values((
                    oidc_logins::state_hash.eq(row.0),
                    oidc_logins::nonce.eq(row.1),
                    oidc_logins::pkce_verifier.eq(row.2),
                    oidc_logins::return_to.eq(row.3),
                    oidc_logins::expires_at.eq(t + chrono::Duration::seconds(LOGIN_SECS)),
                ))
                .execute(c)?;
            Ok::<_, AppError>(())
        })
        .await;
    if let Err(e) = stored {
        return e.into_response();
    }
    let secure = if state.config.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{STATE_COOKIE}={}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={LOGIN_SECS}{secure}",
        csrf.secret()
    );
    let mut res = Redirect::to(url.as_str()).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

struct Login {
    nonce: String,
    pkce_verifier: String,
    return_to: String,
}

/// The sign-in `state` names, once: a second use (a replayed callback)
/// finds nothing.
async fn take_login(state: &AppState, st: &str) -> Option<Login> {
    let hash = digest(st);
    state
        .db
        .transaction(move |c| {
            let row: Option<(String, String, String)> = oidc_logins::table
                .find(&hash)
                .filter(oidc_logins::expires_at.gt(now()))
                .select((
                    oidc_logins::nonce,
                    oidc_logins::pkce_verifier,
                    oidc_logins::return_to,
                ))
                .first(c)
                .optional()?;
            let gone = diesel::delete(oidc_logins::table.find(&hash)).execute(c)?;
            Ok::<_, AppError>(
                row.filter(|_| gone == 1)
                    .map(|(nonce, pkce_verifier, return_to)| Login {
                        nonce,
                        pkce_verifier,
                        return_to,
                    }),
            )
        })
        .await
        .ok()
        .flatten()
}

/// `GET /auth/oidc/callback`: the provider sends the browser back.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<CallbackParams>,
) -> Response {
    let expired = || {
        page(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in expired, was already used, or was started in another browser.",
        )
    };
    let Some(st) = p.state.filter(|s| !s.is_empty()) else {
        return expired();
    };
    // The browser that left for the provider must be the one returning.
    if session::cookie_value(&headers, STATE_COOKIE).as_deref() != Some(st.as_str()) {
        tracing::info!("OpenID callback refused: state does not match this browser's");
        return expired();
    }
    let Some(login) = take_login(&state, &st).await else {
        tracing::info!("OpenID callback refused: unknown, used or expired state");
        return expired();
    };
    if let Some(e) = p.error {
        let detail = p.error_description.unwrap_or_default();
        tracing::info!(error = %e, detail = %detail, "OpenID provider refused the sign-in");
        return page(
            StatusCode::FORBIDDEN,
            "Sign-in cancelled",
            &format!("The sign-in service answered: {e}. {detail}"),
        );
    }
    let Some(code) = p.code.filter(|c| !c.is_empty()) else {
        return expired();
    };
    let who = match verify(&state, code, &login).await {
        Ok(who) => who,
        Err(e) => {
            tracing::warn!(reason = %e, "OpenID sign-in refused");
            return page(
                StatusCode::UNAUTHORIZED,
                "Sign-in failed",
                "The answer from the sign-in service could not be verified.",
            );
        }
    };
    let rules = rules(&state.config);
    let (user, account) = match sso::sign_in(&state, &rules, &who).await {
        Ok(found) => found,
        Err(AppError::Forbidden(m)) => {
            tracing::info!(subject = %who.subject, reason = %m, "OpenID sign-in refused");
            return page(StatusCode::FORBIDDEN, "Access refused", &m);
        }
        Err(e) => return e.into_response(),
    };
    let cookie = match session::start(&state, user.id, "oidc").await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    tracing::info!(user = user.id, username = %account.username, "signed in with OpenID");
    let mut res = if login.return_to == "/auth/oidc/done" {
        html_page(
            StatusCode::OK,
            "Signed in",
            &format!(
                "<h1>Signed in</h1><p>You are signed in as @{}@{}.</p>",
                esc(&account.username),
                esc(&state.config.domain)
            ),
            None,
        )
    } else {
        Redirect::to(&login.return_to).into_response()
    };
    for c in [
        cookie,
        format!("{STATE_COOKIE}=; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=0"),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// Exchanges the code and checks what comes back; the claims of the ID
/// token and of userinfo, merged (providers put `groups` in either).
async fn verify(state: &AppState, code: String, login: &Login) -> Result<Identity, String> {
    let send = state.oidc.send();
    let mut client = state.oidc.client(state, false).await?;
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| e.to_string())?
        .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier.clone()))
        .request_async(&send)
        .await
        .map_err(|e| format!("token request: {}", error_chain(&e)))?;
    let raw = token
        .id_token()
        .ok_or("the provider sent no ID token")?
        .to_string();
    let id_token: MfIdToken = raw.parse().map_err(|e| format!("ID token: {e}"))?;
    let nonce = Nonce::new(login.nonce.clone());
    let mut claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .cloned();
    if let Err(ClaimsVerificationError::SignatureVerification(_)) = &claims {
        // Perhaps the provider rotated its keys since we read them.
        client = state.oidc.client(state, true).await?;
        claims = id_token
            .claims(&client.id_token_verifier(), &nonce)
            .cloned();
    }
    let claims = claims.map_err(|e| format!("ID token: {e}"))?;
    if let Some(expected) = claims.access_token_hash() {
        let verifier = client.id_token_verifier();
        let actual = AccessTokenHash::from_token(
            token.access_token(),
            id_token.signing_alg().map_err(|e| e.to_string())?,
            id_token.signing_key(&verifier).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        if actual != *expected {
            return Err("the access token does not match the ID token".into());
        }
    }
    let mut all = match serde_json::to_value(&claims) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Ok(req) = client.user_info(token.access_token().clone(), Some(claims.subject().clone()))
    {
        let info: UserInfoClaims<ExtraClaims, CoreGenderClaim> = req
            .request_async(&send)
            .await
            .map_err(|e| format!("userinfo: {}", error_chain(&e)))?;
        if let Ok(Value::Object(m)) = serde_json::to_value(&info) {
            for (k, v) in m {
                if !v.is_null() {
                    all.insert(k, v);
                }
            }
        }
    }
    Ok(identity(&state.config, claims.subject().as_str(), all))
}

fn identity(config: &Config, subject: &str, claims: Map<String, Value>) -> Identity {
    let text = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let groups = match claims.get("groups") {
        Some(Value::Array(v)) => v
            .iter()
            .filter_map(|g| g.as_str().map(String::from))
            .collect(),
        Some(Value::String(s)) => sso::list(s),
        _ => Vec::new(),
    };
    Identity {
        provider: format!("oidc:{}", config.oidc_issuer.trim_end_matches('/')),
        subject: subject.to_string(),
        username: text(&config.oidc_username_claim).or_else(|| text("preferred_username")),
        email: text("email"),
        email_verified: verified || config.oidc_assume_email_verified,
        display_name: text("name"),
        groups,
        claims,
    }
}
