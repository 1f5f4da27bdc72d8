//! WebFinger (`acct:user@domain` or actor URL → actor) and host-meta.

use activitypub_federation::FEDERATION_CONTENT_TYPE;
use activitypub_federation::config::Data;
use activitypub_federation::fetch::webfinger::{Webfinger, WebfingerLink};
use axum::extract::Query;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use url::Url;

use crate::app::AppState;
use crate::db::models::Account;
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

async fn find_local(data: &Data<AppState>, resource: &str) -> AppResult<Account> {
    let domain = data.config.domain.to_ascii_lowercase();
    let res = resource.trim();
    let account = if res.starts_with("http://") || res.starts_with("https://") {
        let uri = res.to_string();
        let base = data.base_url();
        // Profile URLs (/@name) resolve as well as actor ids.
        let by_profile = uri.strip_prefix(&format!("{base}/@")).map(str::to_string);
        data.db
            .run(move |c| {
                match by_profile {
                    Some(name) => Account::local_by_username(c, &name),
                    None => Account::by_uri(c, &uri),
                }
                .map_err(AppError::from)
            })
            .await?
    } else {
        let acct = res.strip_prefix("acct:").unwrap_or(res);
        let (user, host) = acct
            .rsplit_once('@')
            .ok_or_else(|| AppError::BadRequest("resource must be acct:user@domain".into()))?;
        if host.to_ascii_lowercase() != domain {
            return Err(AppError::NotFound(format!("{host} is not this instance")));
        }
        let user = user.trim_start_matches('@').to_string();
        data.db
            .run(move |c| Account::local_by_username(c, &user).map_err(AppError::from))
            .await?
    };
    account
        .filter(|a| a.is_local() && a.suspended_at.is_none())
        .ok_or_else(AppError::not_found)
}

pub async fn webfinger(
    Query(q): Query<WebfingerQuery>,
    data: Data<AppState>,
) -> AppResult<impl IntoResponse> {
    let resource = q
        .resource
        .filter(|r| !r.is_empty())
        .ok_or_else(|| AppError::BadRequest("resource parameter is required".into()))?;
    let account = find_local(&data, &resource).await?;
    let id = Url::parse(&account.uri)?;
    let mut links = Vec::new();
    if let Some(profile) = account.url.as_deref().and_then(|u| Url::parse(u).ok()) {
        links.push(WebfingerLink {
            rel: Some("http://webfinger.net/rel/profile-page".into()),
            kind: Some("text/html".into()),
            href: Some(profile),
            ..Default::default()
        });
    }
    links.push(WebfingerLink {
        rel: Some("self".into()),
        kind: Some(FEDERATION_CONTENT_TYPE.to_string()),
        href: Some(id.clone()),
        ..Default::default()
    });
    let mut aliases = vec![id];
    if let Some(profile) = account.url.as_deref().and_then(|u| Url::parse(u).ok()) {
        aliases.push(profile);
    }
    let body = Webfinger {
        subject: format!("acct:{}@{}", account.username, data.config.domain),
        links,
        aliases,
        properties: Default::default(),
    };
    Ok((
        [(header::CONTENT_TYPE, "application/jrd+json; charset=utf-8")],
        serde_json::to_string(&body).map_err(|e| AppError::Internal(e.into()))?,
    ))
}

pub async fn host_meta(data: Data<AppState>) -> impl IntoResponse {
    let base = data.base_url();
    (
        [(header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8")],
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
             <Link rel=\"lrdd\" template=\"{base}/.well-known/webfinger?resource={{uri}}\"/>\n\
             </XRD>\n"
        ),
    )
}
