//! The pages people open in a browser: the landing page, profiles, posts,
//! groups, tags, the directory, sign-in and the OAuth consent page
//! ([`oauth`]). Server-rendered with askama templates (`templates/`),
//! escaped by default, one stylesheet, no scripts.

pub mod admin;
pub mod auth;
pub mod oauth;
pub mod pages;
pub mod people;
pub mod session;
pub mod settings;
pub mod views;

use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::app::AppState;
use crate::db::models::{Account, User};
use crate::domain::oauth::digest;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::landing))
        .route("/assets/style.css", get(stylesheet))
        .route("/avatars/original/missing.png", get(missing_image))
        .route("/headers/original/missing.png", get(missing_image))
        .route("/@{username}", get(pages::profile))
        .route("/@{username}/{id}", get(pages::post))
        .route("/groups/{name}", get(pages::group))
        .route("/tags/{name}", get(pages::tag))
        .route("/directory", get(people::directory))
        .route("/experts", get(people::experts))
        .route("/settings", get(settings::show))
        .route("/settings/password", post(settings::change_password))
        .route("/settings/sessions", get(settings::sessions))
        .route("/settings/sessions/{id}/end", post(settings::end_session))
        .route("/settings/apps/{id}/revoke", post(settings::revoke_app))
        .route("/settings/export", get(settings::export))
        .route("/settings/export/outbox.json", get(settings::export_outbox))
        .route("/settings/export/{file}", get(settings::export_csv))
        .route("/auth/sign_in", get(auth::show).post(auth::submit))
        .route("/auth/sign_out", post(auth::sign_out))
        .route("/oauth/authorize", get(oauth::show).post(oauth::submit))
        .route("/auth/oidc", get(crate::sso::oidc::start))
        .route(
            crate::sso::oidc::CALLBACK_PATH,
            get(crate::sso::oidc::callback),
        )
        .route("/oauth/sign_out", post(oauth::sign_out))
        .merge(admin::router())
}

const STYLESHEET: &str = include_str!("../../assets/style.css");

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// The picture of everyone without an avatar or header: the API names it
/// (as Mastodon does), so apps and pages load it.
async fn missing_image() -> Response {
    static PNG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let png = PNG.get_or_init(|| {
        let img = image::RgbImage::from_pixel(120, 120, image::Rgb([0xc9, 0xce, 0xd8]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .expect("encoding a PNG in memory");
        out.into_inner()
    });
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        png.clone(),
    )
        .into_response()
}

/// The signed-in person as every page's header shows them.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub username: String,
    pub staff: bool,
    /// The token forms of this session carry (see [`csrf_ok`]).
    pub csrf: String,
}

/// Who is signed in on this browser, with what the pages need.
pub async fn signed_in(state: &AppState, headers: &HeaderMap) -> Option<(User, Account, Viewer)> {
    let (user, account) = session::current(state, headers).await?;
    let csrf = session_csrf(headers)?;
    let viewer = Viewer {
        username: account.username.clone(),
        staff: user.role().is_staff(),
        csrf,
    };
    Some((user, account, viewer))
}

/// A session's form token: derived from its secret cookie, so a page on
/// another site can neither read nor guess it.
fn session_csrf(headers: &HeaderMap) -> Option<String> {
    session::cookie_value(headers, session::COOKIE)
        .filter(|t| !t.is_empty())
        .map(|t| digest(&format!("csrf:{t}")))
}

/// Whether a form posted by a signed-in browser came from our own pages.
pub fn csrf_ok(state: &AppState, headers: &HeaderMap, token: Option<&str>) -> bool {
    let same_origin = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(o) => o == state.base_url(),
        None => true,
    };
    same_origin && token.is_some() && session_csrf(headers).as_deref() == token
}

/// What every page's `<head>` and header carry.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    pub title: String,
    pub instance: String,
    pub domain: String,
    pub description: Option<String>,
    /// OpenGraph `property` metadata.
    pub og: Vec<(String, String)>,
    /// Twitter card `name` metadata.
    pub twitter: Vec<(String, String)>,
    pub alternate: Option<String>,
    pub canonical: Option<String>,
    pub noindex: bool,
    pub wide: bool,
    pub viewer: Option<Viewer>,
}

impl Chrome {
    pub fn new(state: &AppState, title: impl Into<String>, viewer: Option<Viewer>) -> Chrome {
        Chrome {
            title: title.into(),
            instance: state.config.instance_title.clone(),
            domain: state.config.domain.clone(),
            viewer,
            ..Chrome::default()
        }
    }

    /// OpenGraph and Twitter card metadata for a shared link.
    pub fn card(&mut self, kind: &str, url: &str, title: &str, text: &str, image: Option<&str>) {
        let text: String = text.chars().take(300).collect();
        self.og = vec![
            ("og:type".into(), kind.into()),
            ("og:site_name".into(), self.instance.clone()),
            ("og:url".into(), url.into()),
            ("og:title".into(), title.into()),
            ("og:description".into(), text.clone()),
        ];
        self.twitter = vec![
            ("twitter:card".into(), "summary".into()),
            ("twitter:title".into(), title.into()),
            ("twitter:description".into(), text.clone()),
        ];
        if let Some(img) = image {
            self.og.push(("og:image".into(), img.into()));
            self.twitter.push(("twitter:image".into(), img.into()));
        }
        self.description = Some(text);
        self.canonical = Some(url.into());
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message {
    chrome: Chrome,
    heading: String,
    text: String,
    is_error: bool,
    link: Option<(String, String)>,
}

/// A page from a template, with the headers every page has: never framed,
/// no scripts or foreign styles (CSP), different for each signed-in browser.
pub fn render(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => {
            let mut res = (status, html).into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self' https: http: data:; \
                     media-src 'self' https: http:; form-action 'self'; frame-ancestors 'none'; \
                     base-uri 'none'",
                ),
            );
            h.insert("x-frame-options", HeaderValue::from_static("DENY"));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            );
            h.insert(header::VARY, HeaderValue::from_static("Cookie"));
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "page could not be rendered",
            )
                .into_response()
        }
    }
}

/// A page that only says something (not found, refused, done).
pub fn message(
    state: &AppState,
    status: StatusCode,
    viewer: Option<Viewer>,
    heading: &str,
    text: &str,
) -> Response {
    render(
        status,
        &Message {
            chrome: Chrome::new(state, heading, viewer),
            heading: heading.into(),
            text: text.into(),
            is_error: status.is_client_error() || status.is_server_error(),
            link: None,
        },
    )
}

pub fn not_found(state: &AppState, viewer: Option<Viewer>) -> Response {
    message(
        state,
        StatusCode::NOT_FOUND,
        viewer,
        "Not found",
        "There is nothing here, or it is not public.",
    )
}

/// Off to the sign-in page, coming back to `back` afterwards.
pub fn to_sign_in(back: &str) -> Response {
    let mut u = url::Url::parse("http://x/auth/sign_in").expect("static URL");
    u.query_pairs_mut().append_pair("return_to", back);
    axum::response::Redirect::to(&format!("/auth/sign_in?{}", u.query().unwrap_or_default()))
        .into_response()
}
