//! `/auth/sign_in` and `/auth/sign_out`: signing a browser in for the web
//! pages (directory, settings, admin console). Apps sign in through
//! `/oauth/authorize` instead; both start the same kind of [`session`].

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::api::extract::Params;
use crate::app::AppState;
use crate::domain::oauth::random_secret;
use crate::sso::oidc;
use crate::web::session::{self, cookie_value};
use crate::web::{Chrome, csrf_ok, message, render, signed_in};

/// The signed-out form's token (double-submit: cookie and form field).
const CSRF_COOKIE: &str = "mf_csrf_auth";

#[derive(Debug, Deserialize, Default)]
pub struct SignInQuery {
    return_to: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    csrf: Option<String>,
    return_to: Option<String>,
    login: Option<String>,
    password: Option<String>,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn {
    chrome: Chrome,
    error: Option<String>,
    sso: Option<String>,
    sso_link: String,
    password: bool,
    csrf: String,
    return_to: String,
    login: String,
}

fn return_to(r: Option<&str>) -> String {
    match r {
        None | Some("") => "/".into(),
        r => oidc::safe_return(r),
    }
}

fn form(
    state: &AppState,
    status: StatusCode,
    back: &str,
    login: &str,
    error: Option<String>,
) -> Response {
    let csrf = random_secret();
    let page = SignIn {
        chrome: Chrome::new(state, "Sign in", None),
        error,
        sso: oidc::enabled(&state.config).then(|| state.config.oidc_display_name.clone()),
        sso_link: oidc::start_link(back),
        password: !state.config.sso_only,
        csrf: csrf.clone(),
        return_to: back.into(),
        login: login.into(),
    };
    let mut res = render(status, &page);
    let cookie = format!(
        "{CSRF_COOKIE}={csrf}; Path=/auth; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        if state.config.scheme() == "https" {
            "; Secure"
        } else {
            ""
        }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<SignInQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let back = return_to(q.as_ref().ok().and_then(|q| q.return_to.as_deref()));
    if signed_in(&state, &headers).await.is_some() {
        return Redirect::to(&back).into_response();
    }
    form(&state, StatusCode::OK, &back, "", None)
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(f): Params<SignInForm>,
) -> Response {
    let back = return_to(f.return_to.as_deref());
    let login = f.login.clone().unwrap_or_default();
    let expected = cookie_value(&headers, CSRF_COOKIE);
    if expected.is_none() || expected != f.csrf {
        return form(
            &state,
            StatusCode::FORBIDDEN,
            &back,
            &login,
            Some("The form expired. Try again.".into()),
        );
    }
    if state.config.sso_only {
        return form(
            &state,
            StatusCode::FORBIDDEN,
            &back,
            &login,
            Some(format!("Sign in with {}.", state.config.oidc_display_name)),
        );
    }
    let password = f.password.unwrap_or_default();
    let user = match crate::sso::password_sign_in(&state, &login, &password).await {
        Ok((user, _)) => user,
        Err(e) => {
            return form(
                &state,
                StatusCode::UNAUTHORIZED,
                &back,
                &login,
                Some(e.to_string()),
            );
        }
    };
    let cookie = match session::start(&state, user.id, "password").await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let mut res = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(f): Params<CsrfForm>,
) -> Response {
    if !csrf_ok(&state, &headers, f.csrf.as_deref()) {
        return message(
            &state,
            StatusCode::FORBIDDEN,
            None,
            "Not signed out",
            "The form expired or came from elsewhere.",
        );
    }
    if let Err(e) = session::end(&state, &headers).await {
        return e.into_response();
    }
    let mut res = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear(&state)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}
