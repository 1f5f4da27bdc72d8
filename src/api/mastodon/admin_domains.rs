//! `/api/v1/admin/domain_blocks` and `domain_allows`, mapped onto the
//! partner policy: a block with severity `suspend` is a blocked domain,
//! `noop` with `reject_media` only stops its media, an allow is a partner.
//! Ids are derived from the domain, so entries made with the CLI have
//! stable ids too.

use axum::Json;
use axum::extract::{Path, State};
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::admin::perm;
use super::entities::iso;
use crate::api::extract::{Auth, Params};
use crate::app::AppState;
use crate::db::models::DomainPolicy;
use crate::domain::moderation::record;
use crate::domain::policy::{self, PolicyKind};
use crate::error::{AppError, AppResult};

/// A stable positive id for a domain's entry.
fn entry_id(domain: &str) -> String {
    let d = Sha256::digest(domain.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(b) >> 1).to_string()
}

fn check(auth: &Auth, scope: &str) -> AppResult<()> {
    auth.require(scope)?;
    if super::admin::may(auth.user.role(), perm::MANAGE_FEDERATION) {
        Ok(())
    } else {
        Err(AppError::Forbidden("This action is not allowed".into()))
    }
}

struct Block {
    domain: String,
    severity: &'static str,
    reject_media: bool,
    comment: String,
    created_at: chrono::NaiveDateTime,
}

fn block_json(b: &Block) -> Value {
    json!({
        "id": entry_id(&b.domain),
        "domain": b.domain,
        "digest": format!("{:x}", Sha256::digest(b.domain.as_bytes())),
        "created_at": iso(b.created_at),
        "severity": b.severity,
        "reject_media": b.reject_media,
        "reject_reports": false,
        "private_comment": if b.comment.is_empty() { Value::Null } else { Value::String(b.comment.clone()) },
        "public_comment": null,
        "obfuscate": false,
    })
}

async fn blocks(state: &AppState) -> AppResult<Vec<Block>> {
    let media = policy::media_rejections(&state.db).await?;
    let rows = state
        .db
        .run(|c| DomainPolicy::all(c).map_err(AppError::from))
        .await?;
    let mut out: Vec<Block> = rows
        .iter()
        .filter(|r| r.policy == "block")
        .map(|r| Block {
            domain: r.domain.clone(),
            severity: "suspend",
            reject_media: media.contains(&r.domain),
            comment: r.comment.clone(),
            created_at: r.created_at,
        })
        .collect();
    for d in media {
        if !out.iter().any(|b| b.domain == d) {
            out.push(Block {
                domain: d,
                severity: "noop",
                reject_media: true,
                comment: String::new(),
                created_at: crate::db::now(),
            });
        }
    }
    out.sort_by(|a, b| a.domain.cmp(&b.domain));
    Ok(out)
}

async fn find_block(state: &AppState, id: &str) -> AppResult<Block> {
    blocks(state)
        .await?
        .into_iter()
        .find(|b| entry_id(&b.domain) == id)
        .ok_or_else(AppError::not_found)
}

pub async fn blocks_index(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    check(&auth, "admin:read:domain_blocks")?;
    Ok(Json(Value::Array(
        blocks(&state).await?.iter().map(block_json).collect(),
    )))
}

pub async fn block_show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    check(&auth, "admin:read:domain_blocks")?;
    Ok(Json(block_json(&find_block(&state, &id).await?)))
}

#[derive(Debug, Deserialize)]
pub struct BlockForm {
    domain: Option<String>,
    severity: Option<String>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    reject_media: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    reject_reports: Option<bool>,
    private_comment: Option<String>,
}

/// Applies a block's settings to the partner policy.
async fn apply_block(
    state: &AppState,
    domain: &str,
    f: &BlockForm,
    current: Option<&Block>,
) -> AppResult<String> {
    let severity = f
        .severity
        .as_deref()
        .unwrap_or(current.map(|b| b.severity).unwrap_or("suspend"));
    if f.reject_reports == Some(true) {
        return Err(AppError::Unprocessable(
            "Validation failed: reject_reports is not supported; reports from a suspended domain are refused anyway".into(),
        ));
    }
    let comment = f
        .private_comment
        .clone()
        .or_else(|| current.map(|b| b.comment.clone()))
        .unwrap_or_default();
    let reject_media = f
        .reject_media
        .unwrap_or(current.is_some_and(|b| b.reject_media));
    let domain = match severity {
        "suspend" => {
            policy::set_domain_policy(&state.db, domain, PolicyKind::Block, &comment).await?
        }
        "noop" => {
            let d = policy::normalize_domain(domain).map_err(AppError::Unprocessable)?;
            if current.is_some_and(|b| b.severity == "suspend") {
                policy::remove_domain_policy(&state.db, &d).await?;
            }
            if !reject_media {
                return Err(AppError::Unprocessable(
                    "Validation failed: a noop block needs reject_media".into(),
                ));
            }
            d
        }
        "silence" => {
            return Err(AppError::Unprocessable(
                "Validation failed: severity silence is not supported; use suspend, or noop with reject_media".into(),
            ));
        }
        other => {
            return Err(AppError::Unprocessable(format!(
                "Validation failed: unknown severity {other}"
            )));
        }
    };
    policy::set_media_rejection(&state.db, &domain, reject_media).await?;
    state.policy.invalidate();
    Ok(domain)
}

pub async fn block_create(
    State(state): State<AppState>,
    auth: Auth,
    Params(f): Params<BlockForm>,
) -> AppResult<Json<Value>> {
    check(&auth, "admin:write:domain_blocks")?;
    let raw = f.domain.clone().unwrap_or_default();
    let domain = policy::normalize_domain(&raw).map_err(AppError::Unprocessable)?;
    if blocks(&state).await?.iter().any(|b| b.domain == domain) {
        return Err(AppError::Unprocessable(
            "Validation failed: Domain is already blocked".into(),
        ));
    }
    let d = apply_block(&state, &domain, &f, None).await?;
    let actor = auth.account.id;
    let detail = f.severity.clone().unwrap_or_else(|| "suspend".into());
    record(&state, actor, "block_domain", "domain", &d, &detail).await?;
    Ok(Json(block_json(&find_block(&state, &entry_id(&d)).await?)))
}

pub async fn block_update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(f): Params<BlockForm>,
) -> AppResult<Json<Value>> {
    check(&auth, "admin:write:domain_blocks")?;
    let current = find_block(&state, &id).await?;
    let d = apply_block(&state, &current.domain, &f, Some(&current)).await?;
    let actor = auth.account.id;
    record(&state, actor, "update_domain_block", "domain", &d, "").await?;
    Ok(Json(block_json(&find_block(&state, &entry_id(&d)).await?)))
}

pub async fn block_delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    check(&auth, "admin:write:domain_blocks")?;
    let current = find_block(&state, &id).await?;
    if current.severity == "suspend" {
        policy::remove_domain_policy(&state.db, &current.domain).await?;
    }
    policy::set_media_rejection(&state.db, &current.domain, false).await?;
    state.policy.invalidate();
    let actor = auth.account.id;
    record(
        &state,
        actor,
        "unblock_domain",
        "domain",
        &current.domain,
        "",
    )
    .await?;
    Ok(Json(json!({})))
}

fn allow_json(p: &DomainPolicy) -> Value {
    json!({
        "id": entry_id(&p.domain),
        "domain": p.domain,
        "created_at": iso(p.created_at),
    })
}

async fn allows(state: &AppState) -> AppResult<Vec<DomainPolicy>> {
    Ok(state
        .db
        .run(|c| DomainPolicy::all(c).map_err(AppError::from))
        .await?
        .into_iter()
        .filter(|p| p.policy == "allow")
        .collect())
}

async fn find_allow(state: &AppState, id: &str) -> AppResult<DomainPolicy> {
    allows(state)
        .await?
        .into_iter()
        .find(|p| entry_id(&p.domain) == id)
        .ok_or_else(AppError::not_found)
}

pub async fn allows_index(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    check(&auth, "admin:read:domain_allows")?;
    Ok(Json(Value::Array(
        allows(&state).await?.iter().map(allow_json).collect(),
    )))
}

pub async fn allow_show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    check(&auth, "admin:read:domain_allows")?;
    Ok(Json(allow_json(&find_allow(&state, &id).await?)))
}

#[derive(Debug, Deserialize)]
pub struct AllowForm {
    domain: Option<String>,
}

pub async fn allow_create(
    State(state): State<AppState>,
    auth: Auth,
    Params(f): Params<AllowForm>,
) -> AppResult<Json<Value>> {
    check(&auth, "admin:write:domain_allows")?;
    let raw = f.domain.unwrap_or_default();
    let domain = policy::normalize_domain(&raw).map_err(AppError::Unprocessable)?;
    let existing = state
        .db
        .run({
            let d = domain.clone();
            move |c| {
                use crate::db::schema::domain_policies;
                domain_policies::table
                    .find(d)
                    .select(domain_policies::policy)
                    .first::<String>(c)
                    .optional()
                    .map_err(AppError::from)
            }
        })
        .await?;
    if existing.as_deref() == Some("block") {
        return Err(AppError::Unprocessable(
            "Validation failed: the domain is blocked; remove the block first".into(),
        ));
    }
    let d = policy::set_domain_policy(&state.db, &domain, PolicyKind::Allow, "").await?;
    state.policy.invalidate();
    let actor = auth.account.id;
    record(&state, actor, "allow_domain", "domain", &d, "").await?;
    Ok(Json(allow_json(&find_allow(&state, &entry_id(&d)).await?)))
}

pub async fn allow_delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    check(&auth, "admin:write:domain_allows")?;
    let p = find_allow(&state, &id).await?;
    policy::remove_domain_policy(&state.db, &p.domain).await?;
    state.policy.invalidate();
    let actor = auth.account.id;
    record(&state, actor, "disallow_domain", "domain", &p.domain, "").await?;
    Ok(Json(json!({})))
}
