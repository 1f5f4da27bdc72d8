//! `/oauth/authorize`: the sign-in and consent page apps send people to.
//! Server-rendered, no JavaScript; CSRF-protected with a double-submit
//! cookie (random token in an HttpOnly, SameSite=Strict cookie and in the form).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::api::extract::Params;
use crate::app::AppState;
use crate::domain::oauth::{self, Application, OOB_REDIRECT, Scopes};
use crate::domain::users;

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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html_page(status: StatusCode, title: &str, body: &str, cookie: Option<&str>) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}}\
         label{{display:block;margin:.8rem 0 .2rem}}input[type=text],input[type=password]{{width:100%;padding:.4rem}}\
         .error{{color:#b00}}button{{margin:1rem .5rem 0 0;padding:.5rem 1rem}}code{{font-size:1.2rem}}</style>\
         </head><body>{}</body></html>",
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

fn form_html(
    p: &AuthorizeParams,
    app: &Application,
    scopes: &Scopes,
    csrf: &str,
    error: Option<&str>,
    login: &str,
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
    format!(
        "<h1>Sign in to authorize {}</h1>\
         <p>{} asks for access with these permissions: <strong>{}</strong>.</p>{}\
         <form method=\"post\" action=\"/oauth/authorize\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">{}{}{}{}{}{}{}\
         <label for=\"login\">Username or email</label><input type=\"text\" id=\"login\" name=\"login\" value=\"{}\" autocomplete=\"username\" required>\
         <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Authorize</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button>\
         </form>",
        esc(&app.name),
        esc(&app.name),
        esc(&scopes.as_string()),
        error
            .map(|e| format!("<p class=\"error\">{}</p>", esc(e)))
            .unwrap_or_default(),
        esc(csrf),
        hidden("response_type", &p.response_type),
        hidden("client_id", &p.client_id),
        hidden("redirect_uri", &p.redirect_uri),
        hidden("scope", &p.scope),
        hidden("state", &p.state),
        hidden("code_challenge", &p.code_challenge),
        hidden("code_challenge_method", &p.code_challenge_method),
        esc(login),
    )
}

fn csrf_cookie(token: &str, secure: bool) -> String {
    format!(
        "{CSRF_COOKIE}={token}; Path=/oauth; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        if secure { "; Secure" } else { "" }
    )
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub async fn show(State(state): State<AppState>, Query(p): Query<AuthorizeParams>) -> Response {
    let (app, _, scopes) = match validate(&state, &p).await {
        Ok(v) => v,
        Err(e) => return error_page(&e),
    };
    let csrf = oauth::random_secret();
    let secure = state.config.scheme() == "https";
    html_page(
        StatusCode::OK,
        "Authorize",
        &form_html(&p, &app, &scopes, &csrf, None, ""),
        Some(&csrf_cookie(&csrf, secure)),
    )
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
        return html_page(
            StatusCode::FORBIDDEN,
            "Authorization error",
            "<h1>Authorization error</h1><p class=\"error\">The form expired or came from elsewhere. Go back to the app and try again.</p>",
            None,
        );
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
    let user =
        match users::authenticate(&state.db, &login, f.password.as_deref().unwrap_or("")).await {
            Ok((user, _)) => user,
            Err(e) => {
                let csrf = oauth::random_secret();
                let secure = state.config.scheme() == "https";
                return html_page(
                    StatusCode::UNAUTHORIZED,
                    "Authorize",
                    &form_html(
                        &f.params,
                        &app,
                        &scopes,
                        &csrf,
                        Some(&e.to_string()),
                        &login,
                    ),
                    Some(&csrf_cookie(&csrf, secure)),
                );
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
    if redirect == OOB_REDIRECT {
        return html_page(
            StatusCode::OK,
            "Authorization code",
            &format!(
                "<h1>Authorization code</h1><p>Copy this code into {}:</p><p><code id=\"code\">{}</code></p>",
                esc(&app.name),
                esc(&code)
            ),
            None,
        );
    }
    let mut pairs = vec![("code", code.as_str())];
    if !st.is_empty() {
        pairs.push(("state", &st));
    }
    redirect_with(&redirect, &pairs)
}
