//! `/oauth/authorize`: the sign-in and consent page apps send people to.
//! Server-rendered, no JavaScript; CSRF-protected with a double-submit
//! cookie (random token in an HttpOnly, SameSite=Strict cookie and in the form).
//! Someone already signed in on this browser (a [`session`], e.g. after the
//! organization's sign-in) only sees the consent step.

use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::api::extract::Params;
use crate::app::AppState;
use crate::db::models::{Account, User};
use crate::domain::oauth::{self, Application, OOB_REDIRECT, Scopes};
use crate::sso::oidc;
use crate::web::session::{self, cookie_value};

const CSRF_COOKIE: &str = "mf_csrf";

#[derive(Debug, Deserialize, Default, Clone)]
pub struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AuthorizeForm {
    #[serde(flatten)]
    params: AuthorizeParams,
    csrf: Option<String>,
    login: Option<String>,
    password: Option<String>,
    decision: Option<String>,
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(crate) fn html_page(
    status: StatusCode,
    title: &str,
    body: &str,
    cookie: Option<&str>,
) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>\
         <link rel=\"stylesheet\" href=\"/assets/style.css\">\
         </head><body><main class=\"narrow\">{}</main></body></html>",
        esc(title),
        body
    );
    let mut res = (status, Html(html)).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    // Never framed: no clickjacking of the consent button.
    res.headers_mut()
        .insert("x-frame-options", header::HeaderValue::from_static("DENY"));
    if let Some(c) = cookie
        && let Ok(v) = header::HeaderValue::from_str(c)
    {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

fn error_page(msg: &str) -> Response {
    html_page(
        StatusCode::BAD_REQUEST,
        "Authorization error",
        &format!(
            "<h1>Authorization error</h1><p class=\"error\">{}</p>",
            esc(msg)
        ),
        None,
    )
}

/// The app, redirect URI and scopes of a request, if they are acceptable.
async fn validate(
    state: &AppState,
    p: &AuthorizeParams,
) -> Result<(Application, String, Scopes), String> {
    if p.response_type.as_deref() != Some("code") {
        return Err("response_type must be \"code\"".into());
    }
    let app = oauth::application_by_client_id(&state.db, p.client_id.as_deref().unwrap_or(""))
        .await
        .map_err(|e| e.to_string())?
        .ok_or("Client authentication failed: unknown client")?;
    let redirect = p.redirect_uri.clone().unwrap_or_else(|| {
        app.redirect_uri_list()
            .first()
            .unwrap_or(&OOB_REDIRECT)
            .to_string()
    });
    if !app.redirect_uri_list().contains(&redirect.as_str()) {
        return Err("The redirect URI included is not valid for this application".into());
    }
    let registered = Scopes::parse(&app.scopes)?;
    let scopes = match p.scope.as_deref() {
        Some(s) if !s.trim().is_empty() => Scopes::parse(s)?,
        _ => registered.clone(),
    };
    if !scopes.within(&registered) {
        return Err("The requested scope is invalid, unknown, or malformed".into());
    }
    if let Some(m) = &p.code_challenge_method
        && m != "S256"
    {
        return Err("Only the S256 code challenge method is supported".into());
    }
    Ok((app, redirect, scopes))
}

/// Who the page is for: someone signed in on this browser, or someone to
/// sign in (with the password form unless single sign-on is the only way).
enum Viewer<'a> {
    SignedIn(&'a Account),
    SignIn { login: &'a str, back: &'a str },
}

fn form_html(
    state: &AppState,
    p: &AuthorizeParams,
    app: &Application,
    scopes: &Scopes,
    csrf: &str,
    error: Option<&str>,
    viewer: Viewer<'_>,
) -> String {
    let hidden = |name: &str, v: &Option<String>| {
        v.as_ref()
            .map(|v| {
                format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    esc(v)
                )
            })
            .unwrap_or_default()
    };
    let hiddens = [
        hidden("response_type", &p.response_type),
        hidden("client_id", &p.client_id),
        hidden("redirect_uri", &p.redirect_uri),
        hidden("scope", &p.scope),
        hidden("state", &p.state),
        hidden("code_challenge", &p.code_challenge),
        hidden("code_challenge_method", &p.code_challenge_method),
    ]
    .concat();
    let error = error
        .map(|e| format!("<p class=\"error\">{}</p>", esc(e)))
        .unwrap_or_default();
    let asks = format!(
        "<p>{} asks for access with these permissions: <strong>{}</strong>.</p>",
        esc(&app.name),
        esc(&scopes.as_string())
    );
    match viewer {
        Viewer::SignedIn(account) => format!(
            "<h1>Authorize {}</h1>{asks}{error}\
             <p>Signed in as <strong>@{}@{}</strong>.</p>\
             <form method=\"post\" action=\"/oauth/authorize\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">{hiddens}\
             <button type=\"submit\" name=\"decision\" value=\"allow\">Authorize</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
             </form>\
             <form method=\"post\" action=\"/oauth/sign_out\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">{hiddens}\
             <button type=\"submit\">Not you? Sign out</button></form>",
            esc(&app.name),
            esc(&account.username),
            esc(&state.config.domain),
            esc(csrf),
            esc(csrf),
        ),
        Viewer::SignIn { login, back } => {
            let sso = if oidc::enabled(&state.config) {
                format!(
                    "<p><a class=\"button\" id=\"sso\" href=\"{}\">Sign in with {}</a></p>",
                    esc(&oidc::start_link(back)),
                    esc(&state.config.oidc_display_name)
                )
            } else {
                String::new()
            };
            let password = if state.config.sso_only {
                String::new()
            } else {
                format!(
                    "<form method=\"post\" action=\"/oauth/authorize\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{}\">{hiddens}\
                     <label for=\"login\">Username or email</label><input type=\"text\" id=\"login\" name=\"login\" value=\"{}\" autocomplete=\"username\" required>\
                     <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
                     <button type=\"submit\" name=\"decision\" value=\"allow\">Authorize</button>\
                     <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button>\
                     </form>",
                    esc(csrf),
                    esc(login),
                )
            };
            format!(
                "<h1>Sign in to authorize {}</h1>{asks}{error}{sso}{password}",
                esc(&app.name)
            )
        }
    }
}

fn csrf_cookie(token: &str, secure: bool) -> String {
    format!(
        "{CSRF_COOKIE}={token}; Path=/oauth; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Where this page is, to come back to after the organization's sign-in.
fn here(query: Option<&str>) -> String {
    match query {
        Some(q) if !q.is_empty() => format!("/oauth/authorize?{q}"),
        _ => "/oauth/authorize".into(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(p): Query<AuthorizeParams>,
) -> Response {
    let (app, _, scopes) = match validate(&state, &p).await {
        Ok(v) => v,
        Err(e) => return error_page(&e),
    };
    let csrf = oauth::random_secret();
    let secure = state.config.scheme() == "https";
    let signed_in = session::current(&state, &headers).await;
    let back = here(raw.as_deref());
    let viewer = match &signed_in {
        Some((_, account)) => Viewer::SignedIn(account),
        None => Viewer::SignIn {
            login: "",
            back: &back,
        },
    };
    html_page(
        StatusCode::OK,
        "Authorize",
        &form_html(&state, &p, &app, &scopes, &csrf, None, viewer),
        Some(&csrf_cookie(&csrf, secure)),
    )
}

fn csrf_refused() -> Response {
    html_page(
        StatusCode::FORBIDDEN,
        "Authorization error",
        "<h1>Authorization error</h1><p class=\"error\">The form expired or came from elsewhere. Go back to the app and try again.</p>",
        None,
    )
}

/// The query string of the authorize request a form carried.
fn params_query(p: &AuthorizeParams) -> String {
    let mut u = url::Url::parse("http://x/").expect("static URL");
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in [
            ("response_type", &p.response_type),
            ("client_id", &p.client_id),
            ("redirect_uri", &p.redirect_uri),
            ("scope", &p.scope),
            ("state", &p.state),
            ("code_challenge", &p.code_challenge),
            ("code_challenge_method", &p.code_challenge_method),
        ] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
    }
    u.query().unwrap_or_default().to_string()
}

/// `POST /oauth/sign_out`: "not you?" on the consent step.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(f): Params<AuthorizeForm>,
) -> Response {
    let expected = cookie_value(&headers, CSRF_COOKIE);
    if expected.is_none() || expected != f.csrf {
        return csrf_refused();
    }
    if let Err(e) = session::end(&state, &headers).await {
        return e.into_response();
    }
    let mut res = Redirect::to(&here(Some(&params_query(&f.params)))).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&session::clear(&state)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn redirect_with(redirect: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect) else {
        return error_page("invalid redirect URI");
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Redirect::to(url.as_str()).into_response()
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(f): Params<AuthorizeForm>,
) -> Response {
    let expected = cookie_value(&headers, CSRF_COOKIE);
    if expected.is_none() || expected != f.csrf {
        return csrf_refused();
    }
    let (app, redirect, scopes) = match validate(&state, &f.params).await {
        Ok(v) => v,
        Err(e) => return error_page(&e),
    };
    let st = f.params.state.clone().unwrap_or_default();
    if f.decision.as_deref() == Some("deny") {
        if redirect == OOB_REDIRECT {
            return html_page(
                StatusCode::OK,
                "Denied",
                "<h1>Access denied</h1><p>You can close this page.</p>",
                None,
            );
        }
        let mut pairs = vec![("error", "access_denied")];
        if !st.is_empty() {
            pairs.push(("state", &st));
        }
        return redirect_with(&redirect, &pairs);
    }
    let login = f.login.clone().unwrap_or_default();
    let password_given = f.password.as_deref().is_some_and(|p| !p.is_empty());
    let mut new_session = None;
    let user: User = match session::current(&state, &headers).await {
        Some((user, _)) if !password_given => user,
        _ => {
            let refused = |msg: &str, state: &AppState| {
                let csrf = oauth::random_secret();
                let secure = state.config.scheme() == "https";
                let back = here(Some(&params_query(&f.params)));
                html_page(
                    StatusCode::UNAUTHORIZED,
                    "Authorize",
                    &form_html(
                        state,
                        &f.params,
                        &app,
                        &scopes,
                        &csrf,
                        Some(msg),
                        Viewer::SignIn {
                            login: &login,
                            back: &back,
                        },
                    ),
                    Some(&csrf_cookie(&csrf, secure)),
                )
            };
            if state.config.sso_only {
                return refused(
                    &format!("Sign in with {}.", state.config.oidc_display_name),
                    &state,
                );
            }
            match crate::sso::password_sign_in(&state, &login, f.password.as_deref().unwrap_or(""))
                .await
            {
                Ok((user, _)) => {
                    match session::start(&state, user.id, "password").await {
                        Ok(c) => new_session = Some(c),
                        Err(e) => return e.into_response(),
                    }
                    user
                }
                Err(e) => return refused(&e.to_string(), &state),
            }
        }
    };
    let challenge = f
        .params
        .code_challenge
        .clone()
        .filter(|c| !c.is_empty())
        .map(|c| {
            (
                c,
                f.params
                    .code_challenge_method
                    .clone()
                    .unwrap_or_else(|| "S256".into()),
            )
        });
    let code =
        match oauth::issue_code(&state.db, &app, user.id, &redirect, &scopes, challenge).await {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        };
    let mut res = if redirect == OOB_REDIRECT {
        html_page(
            StatusCode::OK,
            "Authorization code",
            &format!(
                "<h1>Authorization code</h1><p>Copy this code into {}:</p><p><code id=\"code\">{}</code></p>",
                esc(&app.name),
                esc(&code)
            ),
            None,
        )
    } else {
        let mut pairs = vec![("code", code.as_str())];
        if !st.is_empty() {
            pairs.push(("state", &st));
        }
        redirect_with(&redirect, &pairs)
    };
    if let Some(c) = new_session
        && let Ok(v) = header::HeaderValue::from_str(&c)
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}
