//! `GET /api/v1/instance` and `/api/v2/instance`.

use axum::Json;
use axum::extract::State;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::db::schema::{statuses, users};
use crate::domain::statuses::MAX_CHARS;
use crate::error::{AppError, AppResult};

/// Clients enable features by the Mastodon version they see here.
pub const VERSION: &str = concat!(
    "4.3.0 (compatible; Meetfield ",
    env!("CARGO_PKG_VERSION"),
    ")"
);

fn configuration() -> Value {
    json!({
        "urls": { "streaming": null, "status": null },
        "accounts": { "max_featured_tags": 0, "max_pinned_statuses": 5 },
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
            "max_options": 4,
            "max_characters_per_option": 50,
            "min_expiration": 300,
            "max_expiration": 2629746
        },
        "translation": { "enabled": false }
    })
}

async fn counts(state: &AppState) -> AppResult<(i64, i64)> {
    state
        .db
        .run(|c| {
            let u: i64 = users::table
                .filter(users::disabled.eq(false))
                .count()
                .get_result(c)?;
            let s: i64 = statuses::table
                .filter(statuses::local.eq(true))
                .filter(statuses::reblog_of_id.is_null())
                .count()
                .get_result(c)?;
            Ok::<_, AppError>((u, s))
        })
        .await
}

pub async fn v1(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let (users, posts) = counts(&state).await?;
    Ok(Json(json!({
        "uri": state.config.domain,
        "title": state.config.domain,
        "short_description": "",
        "description": "",
        "email": "",
        "version": VERSION,
        "urls": { "streaming_api": null },
        "stats": { "user_count": users, "status_count": posts, "domain_count": 0 },
        "thumbnail": null,
        "languages": ["en"],
        "registrations": false,
        "approval_required": false,
        "invites_enabled": false,
        "configuration": configuration(),
        "contact_account": null,
        "rules": [],
    })))
}

pub async fn v2(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let (users, _) = counts(&state).await?;
    Ok(Json(json!({
        "domain": state.config.domain,
        "title": state.config.domain,
        "version": VERSION,
        "source_url": "",
        "description": "",
        "usage": { "users": { "active_month": users } },
        "thumbnail": { "url": format!("{}/avatars/original/missing.png", state.base_url()) },
        "icon": [],
        "languages": ["en"],
        "configuration": configuration(),
        "registrations": { "enabled": false, "approval_required": false, "message": null, "url": null },
        "api_versions": { "mastodon": 2 },
        "contact": { "email": "", "account": null },
        "rules": [],
    })))
}
