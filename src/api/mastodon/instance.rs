//! `GET /api/v1/instance` and `/api/v2/instance`.

use axum::Json;
use axum::extract::State;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::config::Registrations;
use crate::db::models::Account;
use crate::db::schema::{accounts, statuses, users};
use crate::domain::statuses::MAX_CHARS;
use crate::error::{AppError, AppResult};

/// Clients enable features by the Mastodon version they see here.
pub const VERSION: &str = concat!(
    "4.3.0 (compatible; Meetfield ",
    env!("CARGO_PKG_VERSION"),
    ")"
);

fn configuration(state: &AppState) -> Value {
    json!({
        "urls": { "streaming": streaming_url(state), "status": null },
        "accounts": {
            "max_featured_tags": crate::domain::tags::MAX_FEATURED,
            "max_pinned_statuses": 5,
            "max_profile_fields": state.config.max_profile_fields,
        },
        "statuses": {
            "max_characters": MAX_CHARS,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23
        },
        "media_attachments": {
            "supported_mime_types": [],
            "image_size_limit": 0,
            "image_matrix_limit": 0,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0
        },
        "polls": {
            "max_options": state.config.poll_max_options,
            "max_characters_per_option": 50,
            "min_expiration": 300,
            "max_expiration": 2629746
        },
        "translation": { "enabled": false }
    })
}

struct Facts {
    users: i64,
    posts: i64,
    domains: i64,
    contact: Value,
}

async fn facts(state: &AppState) -> AppResult<Facts> {
    let ctx = super::ctx(state);
    let contact_name = state.config.contact_account.clone();
    state
        .db
        .run(move |c| {
            let users: i64 = users::table
                .filter(users::disabled.eq(false))
                .filter(users::approved.eq(true))
                .count()
                .get_result(c)?;
            let posts: i64 = statuses::table
                .filter(statuses::local.eq(true))
                .filter(statuses::reblog_of_id.is_null())
                .count()
                .get_result(c)?;
            let domains: i64 = accounts::table
                .filter(accounts::domain.is_not_null())
                .select(diesel::dsl::count(accounts::domain).aggregate_distinct())
                .get_result(c)?;
            let contact = match Account::local_by_username(c, &contact_name)? {
                Some(a) if !contact_name.is_empty() => super::entities::account(c, &ctx, &a)?,
                _ => Value::Null,
            };
            Ok::<_, AppError>(Facts {
                users,
                posts,
                domains,
                contact,
            })
        })
        .await
}

/// Where the streaming API lives: ws:// or wss:// on our own host.
fn streaming_url(state: &AppState) -> String {
    let base = state.base_url();
    match base.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => format!("ws://{}", base.trim_start_matches("http://")),
    }
}

fn title(state: &AppState) -> String {
    if state.config.instance_title.is_empty() {
        state.config.domain.clone()
    } else {
        state.config.instance_title.clone()
    }
}

/// (enabled, approval required, invites enabled) as apps read them.
fn registrations(state: &AppState) -> (bool, bool, bool) {
    if state.config.sso_only {
        return (false, false, false);
    }
    match state.config.registrations {
        Registrations::Closed => (false, false, false),
        Registrations::Invite => (false, false, true),
        Registrations::Approval => (true, true, true),
        Registrations::Open => (true, false, true),
    }
}

pub async fn v1(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let f = facts(&state).await?;
    let (open, approval, invites) = registrations(&state);
    Ok(Json(json!({
        "uri": state.config.domain,
        "title": title(&state),
        "short_description": state.config.instance_description,
        "description": state.config.instance_description,
        "email": state.config.contact_email,
        "version": VERSION,
        "urls": { "streaming_api": streaming_url(&state) },
        "stats": { "user_count": f.users, "status_count": f.posts, "domain_count": f.domains },
        "thumbnail": null,
        "languages": ["en"],
        "registrations": open,
        "approval_required": approval,
        "invites_enabled": invites,
        "configuration": configuration(&state),
        "contact_account": f.contact,
        "rules": [],
    })))
}

pub async fn v2(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let f = facts(&state).await?;
    let (open, approval, _) = registrations(&state);
    Ok(Json(json!({
        "domain": state.config.domain,
        "title": title(&state),
        "version": VERSION,
        "source_url": "",
        "description": state.config.instance_description,
        "usage": { "users": { "active_month": f.users } },
        "thumbnail": { "url": format!("{}/avatars/original/missing.png", state.base_url()) },
        "icon": [],
        "languages": ["en"],
        "configuration": configuration(&state),
        "registrations": { "enabled": open, "approval_required": approval, "message": null, "url": null },
        "api_versions": { "mastodon": 2 },
        "contact": { "email": state.config.contact_email, "account": f.contact },
        "rules": [],
    })))
}
