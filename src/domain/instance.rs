//! The instance itself: its actor (signs our fetches) and key pairs.

use crate::config::Config;
use crate::db::models::{Account, NewAccount};
use crate::db::{Db, id, now};
use crate::error::{AppError, AppResult};
use crate::federation::urls;

/// Username of the instance actor; reserved for it.
pub const INSTANCE_ACTOR_USERNAME: &str = "instance.actor";

/// A fresh RSA-2048 key pair as (public, private) PEM; generated off the
/// async threads since it takes tens of milliseconds.
pub async fn generate_keypair() -> AppResult<(String, String)> {
    tokio::task::spawn_blocking(|| {
        activitypub_federation::http_signatures::generate_actor_keypair()
            .map(|k| (k.public_key, k.private_key))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("generating key pair: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}

/// The instance actor (type Application), created with its keys on first start.
///
/// When the configured domain differs from the one the database was made
/// with (typically a first start with the defaults, then the real domain),
/// the ids of local accounts and posts move to the new domain.
pub async fn ensure_instance_actor(db: &Db, config: &Config) -> AppResult<Account> {
    let uri = urls::instance_actor_uri(&config.base_url());
    let existing = db
        .run(|c| Account::local_by_username(c, INSTANCE_ACTOR_USERNAME).map_err(AppError::from))
        .await?;
    if let Some(a) = existing {
        if a.uri == uri {
            return Ok(a);
        }
        let old_base = a.uri.trim_end_matches("/actor").to_string();
        let new_base = config.base_url();
        tracing::warn!(
            from = %old_base,
            to = %new_base,
            "MEETFIELD_DOMAIN changed: moving local ids to the new domain; servers that \
             knew the old ids will not recognise them"
        );
        db.transaction(move |c| rebase_local_ids(c, &old_base, &new_base))
            .await?;
        let id = a.id;
        return db
            .run(move |c| Account::by_id(c, id).map_err(AppError::from))
            .await;
    }
    let (public, private) = generate_keypair().await?;
    let base = config.base_url();
    db.transaction(move |c| {
        // Another node may have created it meanwhile.
        if let Some(a) = Account::by_uri(c, &uri)? {
            return Ok(a);
        }
        let t = now();
        Account::insert(
            c,
            &NewAccount {
                id: id::next_id(),
                username: INSTANCE_ACTOR_USERNAME.into(),
                domain: None,
                actor_type: "Application".into(),
                uri: uri.clone(),
                url: Some(format!("{base}/about")),
                display_name: String::new(),
                locked: true,
                discoverable: false,
                bot: true,
                public_key_pem: Some(public),
                private_key_pem: Some(private),
                created_at: t,
                updated_at: t,
            },
        )
        .map_err(AppError::from)
    })
    .await
}

/// Gives every local account without keys a key pair.
pub async fn ensure_local_keys(db: &Db) -> AppResult<usize> {
    let missing = db
        .run(|c| Account::local_without_keys(c).map_err(AppError::from))
        .await?;
    let n = missing.len();
    for account in missing {
        let (public, private) = generate_keypair().await?;
        db.transaction(move |c| {
            Account::set_keys(c, account.id, &public, &private).map_err(AppError::from)
        })
        .await?;
    }
    Ok(n)
}

/// Rewrites the URL prefix of every local account and post.
fn rebase_local_ids(c: &mut crate::db::DbConn, old: &str, new: &str) -> AppResult<()> {
    use crate::db::schema::{accounts, statuses};
    use diesel::prelude::*;
    let swap = |s: &str| format!("{new}{}", s.strip_prefix(old).unwrap_or(s));
    let locals: Vec<(i64, String, Option<String>)> = accounts::table
        .filter(accounts::domain.is_null())
        .select((accounts::id, accounts::uri, accounts::url))
        .load(c)?;
    for (id, uri, url) in locals {
        diesel::update(accounts::table.find(id))
            .set((
                accounts::uri.eq(swap(&uri)),
                accounts::url.eq(url.as_deref().map(swap)),
            ))
            .execute(c)?;
    }
    let posts: Vec<(i64, String, Option<String>)> = statuses::table
        .filter(statuses::local.eq(true))
        .select((statuses::id, statuses::uri, statuses::url))
        .load(c)?;
    for (id, uri, url) in posts {
        diesel::update(statuses::table.find(id))
            .set((
                statuses::uri.eq(swap(&uri)),
                statuses::url.eq(url.as_deref().map(swap)),
            ))
            .execute(c)?;
    }
    Ok(())
}
