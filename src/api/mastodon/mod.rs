//! Mastodon client API, one file per resource; routes in [`router`].

pub mod accounts;
pub mod admin;
pub mod admin_domains;
pub mod announcements;
pub mod collections;
pub mod conversations;
pub mod directory;
pub mod entities;
pub mod experts;
pub mod filters;
pub mod groups;
pub mod insights;
pub mod instance;
pub mod lists;
pub mod markers;
pub mod media;
pub mod notifications;
pub mod polls;
pub mod reports;
pub mod search;
pub mod statuses;
pub mod suggestions;
pub mod tags;
pub mod timelines;
pub mod trends;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::routing::{get, post};

use crate::api::oauth;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use entities::Ctx;

/// Routes that take files: their bodies may be as large as the largest
/// upload allowed (the rest of the API keeps the small limit).
pub fn upload_router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/media", post(media::create_v1))
        .route("/api/v2/media", post(media::create_v2))
        .route(
            "/api/v1/accounts/update_credentials",
            axum::routing::patch(accounts::update_credentials),
        )
        .route("/api/v1/groups/{id}", axum::routing::patch(groups::update))
}

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
        .route("/api/v1/accounts", post(accounts::register))
        .route("/api/v1/accounts/lookup", get(accounts::lookup))
        .route("/api/v1/accounts/search", get(search::accounts))
        .route(
            "/api/v1/accounts/familiar_followers",
            get(accounts::familiar_followers),
        )
        .route("/api/v1/accounts/{id}/mute", post(accounts::mute))
        .route("/api/v1/accounts/{id}/unmute", post(accounts::unmute))
        .route(
            "/api/v1/accounts/{id}/remove_from_followers",
            post(accounts::remove_from_followers),
        )
        .route("/api/v1/accounts/{id}/lists", get(lists::of_account))
        .route("/api/v1/lists", get(lists::index).post(lists::create))
        .route(
            "/api/v1/lists/{id}",
            get(lists::show).put(lists::update).delete(lists::delete),
        )
        .route(
            "/api/v1/lists/{id}/accounts",
            get(lists::members)
                .post(lists::add_members)
                .delete(lists::remove_members),
        )
        .route("/api/v1/timelines/list/{id}", get(lists::timeline))
        .route("/api/v1/statuses/{id}/pin", post(statuses::pin))
        .route("/api/v1/statuses/{id}/unpin", post(statuses::unpin))
        .route("/api/v1/markers", get(markers::get).post(markers::save))
        .route("/api/v1/groups", get(groups::index).post(groups::create))
        .route(
            "/api/v1/groups/{id}",
            get(groups::show).delete(groups::delete),
        )
        .route("/api/v1/groups/{id}/members", get(groups::members))
        .route(
            "/api/v1/groups/{id}/members/{account_id}",
            axum::routing::delete(groups::remove_member),
        )
        .route("/api/v1/groups/{id}/requests", get(groups::requests))
        .route(
            "/api/v1/groups/{id}/invites",
            get(groups::invites)
                .post(groups::invite)
                .delete(groups::withdraw_invites),
        )
        .route(
            "/api/v1/groups/{id}/invites/{account_id}",
            axum::routing::delete(groups::withdraw_invite),
        )
        .route(
            "/api/v1/groups/{id}/requests/{account_id}/authorize",
            post(groups::authorize),
        )
        .route(
            "/api/v1/groups/{id}/requests/{account_id}/reject",
            post(groups::reject),
        )
        .route(
            "/api/v1/groups/{id}/moderators/{account_id}",
            post(groups::add_moderator).delete(groups::remove_moderator),
        )
        .route(
            "/api/v1/groups/{id}/statuses/{status_id}",
            axum::routing::delete(groups::remove_status),
        )
        .route(
            "/api/v1/groups/{id}/statuses/{status_id}/pin",
            post(groups::pin),
        )
        .route(
            "/api/v1/groups/{id}/statuses/{status_id}/unpin",
            post(groups::unpin),
        )
        .route("/api/v1/timelines/group/{id}", get(groups::timeline))
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
        .route("/api/v1/directory", get(directory::index))
        .route("/api/v1/meetfield/experts", get(experts::index))
        .route(
            "/api/v1/meetfield/statuses/{id}/accept/{reply_id}",
            post(statuses::accept_answer).delete(statuses::unaccept_answer),
        )
        .route(
            "/api/v1/meetfield/statuses/{id}/accept",
            axum::routing::delete(statuses::unaccept_answer),
        )
        .route("/api/v1/statuses/{id}/history", get(statuses::history))
        .route("/api/v1/statuses/{id}/source", get(statuses::source))
        .route(
            "/api/v1/media/{id}",
            get(media::show).put(media::update).delete(media::delete),
        )
        .route("/api/v1/polls/{id}", get(polls::show))
        .route("/api/v1/polls/{id}/votes", post(polls::vote))
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
        .route(
            "/api/v1/accounts/{id}/followers",
            get(collections::followers),
        )
        .route(
            "/api/v1/accounts/{id}/following",
            get(collections::following),
        )
        .route("/api/v1/blocks", get(collections::blocks_list))
        .route("/api/v1/favourites", get(collections::favourites))
        .route("/api/v1/bookmarks", get(collections::bookmarks))
        .route(
            "/api/v1/statuses/{id}/bookmark",
            post(collections::bookmark),
        )
        .route(
            "/api/v1/statuses/{id}/unbookmark",
            post(collections::unbookmark),
        )
        .route(
            "/api/v1/statuses/{id}/favourited_by",
            get(collections::favourited_by),
        )
        .route(
            "/api/v1/statuses/{id}/reblogged_by",
            get(collections::reblogged_by),
        )
        .route("/api/v1/preferences", get(collections::preferences))
        .route("/api/v1/instance/peers", get(collections::peers))
        .route("/api/v1/custom_emojis", get(collections::empty_list))
        .route("/api/v1/filters", get(filters::index_v1))
        .route("/api/v2/filters", get(filters::index).post(filters::create))
        .route(
            "/api/v2/filters/{id}",
            get(filters::show)
                .put(filters::update)
                .delete(filters::delete),
        )
        .route(
            "/api/v2/filters/{id}/keywords",
            get(filters::keywords).post(filters::add_keyword),
        )
        .route(
            "/api/v2/filters/keywords/{id}",
            get(filters::show_keyword)
                .put(filters::update_keyword)
                .delete(filters::delete_keyword),
        )
        .route(
            "/api/v2/filters/{id}/statuses",
            get(filters::statuses).post(filters::add_status),
        )
        .route(
            "/api/v2/filters/statuses/{id}",
            get(filters::show_status).delete(filters::delete_status),
        )
        .route("/api/v1/announcements", get(announcements::index))
        .route(
            "/api/v1/announcements/{id}/dismiss",
            post(announcements::dismiss),
        )
        .route(
            "/api/v1/announcements/{id}/reactions/{name}",
            axum::routing::put(announcements::react).delete(announcements::unreact),
        )
        .route(
            "/api/v1/admin/announcements",
            get(announcements::admin_index).post(announcements::admin_create),
        )
        .route(
            "/api/v1/admin/announcements/{id}",
            get(announcements::admin_show)
                .put(announcements::admin_update)
                .delete(announcements::admin_delete),
        )
        .route("/api/v1/trends", get(trends::tags))
        .route("/api/v1/trends/tags", get(trends::tags))
        .route("/api/v1/trends/statuses", get(trends::statuses))
        .route("/api/v1/trends/links", get(trends::links))
        .route("/api/v2/suggestions", get(suggestions::index_v2))
        .route("/api/v1/suggestions", get(suggestions::index_v1))
        .route(
            "/api/v1/suggestions/{account_id}",
            axum::routing::delete(suggestions::dismiss),
        )
        .route(
            "/api/v1/meetfield/suggestions/groups",
            get(suggestions::groups),
        )
        .route("/api/v1/followed_tags", get(tags::followed))
        .route("/api/v1/featured_tags", get(tags::mine).post(tags::create))
        .route("/api/v1/featured_tags/suggestions", get(tags::suggestions))
        .route(
            "/api/v1/featured_tags/{id}",
            axum::routing::delete(tags::delete),
        )
        .route("/api/v1/accounts/{id}/featured_tags", get(tags::of_account))
        .route("/api/v1/tags/{name}", get(tags::show))
        .route("/api/v1/tags/{name}/feature", post(tags::feature))
        .route("/api/v1/tags/{name}/unfeature", post(tags::unfeature))
        .route("/api/v1/tags/{name}/follow", post(tags::follow))
        .route("/api/v1/tags/{name}/unfollow", post(tags::unfollow))
        .route("/api/v1/reports", post(reports::create))
        .route("/api/v1/admin/accounts", get(admin::accounts_v1))
        .route("/api/v2/admin/accounts", get(admin::accounts_v2))
        .route(
            "/api/v1/admin/accounts/{id}",
            get(admin::account_show).delete(admin::account_delete),
        )
        .route(
            "/api/v1/admin/accounts/{id}/action",
            post(admin::account_action),
        )
        .route(
            "/api/v1/admin/accounts/{id}/{what}",
            post(admin::account_change),
        )
        .route(
            "/api/v1/admin/domain_blocks",
            get(admin_domains::blocks_index).post(admin_domains::block_create),
        )
        .route(
            "/api/v1/admin/domain_blocks/{id}",
            get(admin_domains::block_show)
                .put(admin_domains::block_update)
                .delete(admin_domains::block_delete),
        )
        .route(
            "/api/v1/admin/domain_allows",
            get(admin_domains::allows_index).post(admin_domains::allow_create),
        )
        .route(
            "/api/v1/admin/domain_allows/{id}",
            get(admin_domains::allow_show).delete(admin_domains::allow_delete),
        )
        .route(
            "/api/v1/admin/meetfield/insights/connectors",
            get(insights::connectors),
        )
        .route(
            "/api/v1/admin/meetfield/insights/silos",
            get(insights::silos),
        )
        .route("/api/v1/admin/reports", get(admin::reports_index))
        .route("/api/v1/admin/reports/{id}", get(admin::report_show))
        .route(
            "/api/v1/admin/reports/{id}/{what}",
            post(admin::report_change),
        )
        .route("/api/v1/conversations", get(conversations::list))
        .route(
            "/api/v1/conversations/{id}",
            axum::routing::delete(conversations::remove),
        )
        .route("/api/v1/conversations/{id}/read", post(conversations::read))
        .route("/api/v1/mutes", get(collections::mutes_list))
        .route("/api/v1/domain_blocks", get(collections::empty_list))
        .route("/api/v1/endorsements", get(collections::empty_list))
        .route("/api/v1/instance/rules", get(collections::empty_list))
        .route("/api/v1/instance/activity", get(collections::empty_list))
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
