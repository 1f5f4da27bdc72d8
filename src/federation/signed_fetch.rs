//! Authorized fetch (Mastodon's "secure mode"): with
//! `MEETFIELD_AUTHORIZED_FETCH`, actor and object documents are served only
//! to requests signed by an actor of a domain the policy allows.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::federation::http::check_date;
use crate::federation::objects::ApubAccount;

static CONFIG: LazyLock<http_signature_normalization::Config> = LazyLock::new(|| {
    http_signature_normalization::Config::new().set_expiration(Duration::from_secs(3600))
});

/// Ok when authorized fetch is off, or the request is signed by an allowed actor.
pub async fn check(data: &Data<AppState>, parts: &Parts) -> AppResult<()> {
    if !data.config.authorized_fetch {
        return Ok(());
    }
    verify(data, parts).await.map(drop)
}

/// The host of the allowed actor that signed the request (401 unsigned or
/// badly signed, 403 from a domain the policy refuses), whatever the
/// authorized-fetch setting.
pub async fn verify(data: &Data<AppState>, parts: &Parts) -> AppResult<String> {
    let signer = verify_signer(data, parts).await?;
    Ok(url::Url::parse(&signer.account.uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default())
}

/// The allowed actor whose key signed the request (the `keyId` without
/// its fragment), its signature checked; the body's digest is the
/// caller's to check.
pub async fn verify_signer(data: &Data<AppState>, parts: &Parts) -> AppResult<ApubAccount> {
    let unauthorized = |why: &str| AppError::Unauthorized(format!("Request not signed: {why}"));
    let mut headers = BTreeMap::new();
    for (name, value) in &parts.headers {
        if let Ok(v) = value.to_str() {
            headers.insert(name.to_string(), v.to_string());
        }
    }
    headers
        .entry("host".to_string())
        .or_insert_with(|| data.config.domain.clone());
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let unverified = CONFIG
        .begin_verify(parts.method.as_str(), path, headers)
        .map_err(|e| unauthorized(&e.to_string()))?;
    check_date(&parts.headers)?;
    let actor_id = unverified
        .key_id()
        .split('#')
        .next()
        .unwrap_or_default()
        .to_string();
    let actor_url = url::Url::parse(&actor_id).map_err(|_| unauthorized("bad keyId"))?;
    if !data
        .policy
        .allows(actor_url.host_str().unwrap_or_default())
        .await?
    {
        return Err(AppError::Forbidden(format!(
            "{}: {}",
            crate::federation::policy::REFUSED,
            actor_url.host_str().unwrap_or_default()
        )));
    }
    let actor = ObjectId::<ApubAccount>::from(actor_url)
        .dereference(data)
        .await
        .map_err(|_| unauthorized("signer unknown"))?;
    let pem = actor
        .public_key_pem
        .clone()
        .ok_or_else(|| unauthorized("signer has no key"))?;
    let ok = unverified.verify(|signature, signing_string| {
        let Ok(key) = RsaPublicKey::from_public_key_pem(&pem) else {
            return false;
        };
        let Ok(sig) = B64.decode(signature) else {
            return false;
        };
        key.verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signing_string.as_bytes()),
            &sig,
        )
        .is_ok()
    });
    if ok {
        Ok(actor)
    } else {
        Err(AppError::Unauthorized("Invalid signature".into()))
    }
}
