//! NodeInfo 2.0 and 2.1 with real usage counts.

use activitypub_federation::config::Data;
use axum::Json;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::db::schema::{accounts, statuses, users};
use crate::error::{AppError, AppResult};

pub async fn links(data: Data<AppState>) -> Json<Value> {
    let base = data.base_url();
    Json(json!({
        "links": [
            { "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": format!("{base}/nodeinfo/2.0") },
            { "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": format!("{base}/nodeinfo/2.1") }
        ]
    }))
}

struct Usage {
    total: i64,
    month: i64,
    halfyear: i64,
    posts: i64,
}

async fn usage(data: &Data<AppState>) -> AppResult<Usage> {
    data.db
        .run(|c| {
            let now = crate::db::now();
            let active_since = |days: i64, c: &mut crate::db::DbConn| -> QueryResult<i64> {
                let since = now - chrono::Duration::days(days);
                users::table
                    .filter(users::disabled.eq(false))
                    .filter(
                        users::last_sign_in_at
                            .ge(since)
                            .or(users::created_at.ge(since)),
                    )
                    .count()
                    .get_result(c)
            };
            let total = users::table
                .filter(users::disabled.eq(false))
                .count()
                .get_result(c)?;
            let month = active_since(30, c)?;
            let halfyear = active_since(180, c)?;
            let posts = statuses::table
                .inner_join(accounts::table)
                .filter(statuses::local.eq(true))
                .filter(statuses::reblog_of_id.is_null())
                .filter(statuses::deleted_at.is_null())
                .count()
                .get_result(c)?;
            Ok::<_, AppError>(Usage {
                total,
                month,
                halfyear,
                posts,
            })
        })
        .await
}

pub async fn nodeinfo(Path(version): Path<String>, data: Data<AppState>) -> AppResult<Response> {
    if version != "2.0" && version != "2.1" {
        return Err(AppError::not_found());
    }
    let u = usage(&data).await?;
    let software = json!({ "name": "meetfield", "version": env!("CARGO_PKG_VERSION") });
    let body = json!({
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": { "inbound": [], "outbound": [] },
        "openRegistrations": false,
        "usage": {
            "users": { "total": u.total, "activeMonth": u.month, "activeHalfyear": u.halfyear },
            "localPosts": u.posts
        },
        "metadata": {
            "nodeName": data.config.domain,
            "federationMode": data.config.federation_mode.as_str(),
            // Meetfield partners read the organization's directory here.
            "directory": crate::org::partners::collection_url(&data.base_url())
        }
    });
    let profile = format!(
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\""
    );
    Ok(([(header::CONTENT_TYPE, profile)], body.to_string()).into_response())
}
