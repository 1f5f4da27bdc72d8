//! Mastodon client API, one file per resource; routes in [`router`].

pub mod accounts;
pub mod entities;
pub mod instance;
pub mod lists;
pub mod notifications;
pub mod search;
pub mod statuses;
pub mod timelines;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::routing::{get, post};

use crate::api::oauth;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use entities::Ctx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/instance", get(instance::v1))
        .route("/api/v2/instance", get(instance::v2))
        .route("/api/v1/apps", post(oauth::create_app))
        .route("/api/v1/apps/verify_credentials", get(oauth::verify_app))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        .route(
            "/api/v1/accounts/verify_credentials",
            get(accounts::verify_credentials),
        )
        .route(
            "/api/v1/accounts/update_credentials",
            axum::routing::patch(accounts::update_credentials),
        )
        .route("/api/v1/accounts/lookup", get(accounts::lookup))
        .route(
            "/api/v1/accounts/relationships",
            get(accounts::relationships),
        )
        .route("/api/v1/accounts/{id}", get(accounts::show))
        .route("/api/v1/accounts/{id}/statuses", get(accounts::statuses))
        .route("/api/v1/accounts/{id}/follow", post(accounts::follow))
        .route("/api/v1/accounts/{id}/unfollow", post(accounts::unfollow))
        .route("/api/v1/accounts/{id}/block", post(accounts::block))
        .route("/api/v1/accounts/{id}/unblock", post(accounts::unblock))
        .route("/api/v1/follow_requests", get(accounts::follow_requests))
        .route(
            "/api/v1/follow_requests/{id}/authorize",
            post(accounts::authorize_request),
        )
        .route(
            "/api/v1/follow_requests/{id}/reject",
            post(accounts::reject_request),
        )
        .route("/api/v1/statuses", post(statuses::create))
        .route(
            "/api/v1/statuses/{id}",
            get(statuses::show)
                .delete(statuses::delete)
                .put(statuses::edit),
        )
        .route("/api/v1/statuses/{id}/context", get(statuses::context))
        .route("/api/v1/statuses/{id}/history", get(statuses::history))
        .route("/api/v1/statuses/{id}/source", get(statuses::source))
        .route("/api/v1/statuses/{id}/favourite", post(statuses::favourite))
        .route(
            "/api/v1/statuses/{id}/unfavourite",
            post(statuses::unfavourite),
        )
        .route("/api/v1/statuses/{id}/reblog", post(statuses::reblog))
        .route("/api/v1/statuses/{id}/unreblog", post(statuses::unreblog))
        .route("/api/v1/timelines/home", get(timelines::home))
        .route("/api/v1/timelines/public", get(timelines::public))
        .route("/api/v1/timelines/tag/{tag}", get(timelines::tag))
        .route("/api/v2/search", get(search::search))
        .route("/api/v1/accounts/{id}/followers", get(lists::followers))
        .route("/api/v1/accounts/{id}/following", get(lists::following))
        .route("/api/v1/blocks", get(lists::blocks_list))
        .route("/api/v1/favourites", get(lists::favourites))
        .route("/api/v1/bookmarks", get(lists::bookmarks))
        .route("/api/v1/statuses/{id}/bookmark", post(lists::bookmark))
        .route("/api/v1/statuses/{id}/unbookmark", post(lists::unbookmark))
        .route(
            "/api/v1/statuses/{id}/favourited_by",
            get(lists::favourited_by),
        )
        .route(
            "/api/v1/statuses/{id}/reblogged_by",
            get(lists::reblogged_by),
        )
        .route("/api/v1/preferences", get(lists::preferences))
        .route("/api/v1/instance/peers", get(lists::peers))
        .route("/api/v1/markers", get(lists::empty_object))
        .route("/api/v1/custom_emojis", get(lists::empty_list))
        .route("/api/v1/filters", get(lists::empty_list))
        .route("/api/v2/filters", get(lists::empty_list))
        .route("/api/v1/announcements", get(lists::empty_list))
        .route("/api/v1/trends/tags", get(lists::empty_list))
        .route("/api/v1/trends/statuses", get(lists::empty_list))
        .route("/api/v1/trends/links", get(lists::empty_list))
        .route("/api/v2/suggestions", get(lists::empty_list))
        .route("/api/v1/followed_tags", get(lists::empty_list))
        .route("/api/v1/featured_tags", get(lists::empty_list))
        .route(
            "/api/v1/accounts/{id}/featured_tags",
            get(lists::empty_list),
        )
        .route("/api/v1/conversations", get(lists::empty_list))
        .route("/api/v1/mutes", get(lists::empty_list))
        .route("/api/v1/domain_blocks", get(lists::empty_list))
        .route("/api/v1/endorsements", get(lists::empty_list))
        .route("/api/v1/instance/rules", get(lists::empty_list))
        .route("/api/v1/instance/activity", get(lists::empty_list))
        .route("/api/v1/notifications", get(notifications::list))
        .route("/api/v1/notifications/clear", post(notifications::clear))
        .route("/api/v1/notifications/{id}", get(notifications::show))
        .route(
            "/api/v1/notifications/{id}/dismiss",
            post(notifications::dismiss),
        )
}

pub fn ctx(state: &AppState) -> Ctx {
    Ctx {
        base: state.base_url(),
        domain: state.config.domain.clone(),
    }
}

/// Mastodon ids are strings of digits; anything else is not found.
pub fn parse_id(s: &str) -> AppResult<i64> {
    s.parse::<i64>().map_err(|_| AppError::not_found())
}

/// `Link` header for a page of items with these ids (newest first).
pub fn link_header(state: &AppState, path: &str, extra: &str, ids: &[i64]) -> HeaderMap {
    let mut h = HeaderMap::new();
    let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
        return h;
    };
    let base = state.base_url();
    let sep = if extra.is_empty() {
        String::new()
    } else {
        format!("{extra}&")
    };
    let value = format!(
        "<{base}{path}?{sep}max_id={last}>; rel=\"next\", <{base}{path}?{sep}min_id={first}>; rel=\"prev\""
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert(header::LINK, v);
    }
    h
}
