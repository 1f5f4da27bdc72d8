//! Finding accounts by handle or URL, locally or over the network.

use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::fetch::webfinger::webfinger_resolve_actor;

use crate::db::models::Account;
use crate::error::{AppError, AppResult};
use crate::federation::FedData;
use crate::federation::objects::ApubAccount;

/// `user`, `@user`, `user@host`, `@user@host` or an actor URL.
pub async fn resolve_account(data: &FedData, handle: &str) -> AppResult<Account> {
    let h = handle.trim().trim_start_matches('@');
    if h.starts_with("http://") || h.starts_with("https://") {
        let id: ObjectId<ApubAccount> = ObjectId::parse(h)?;
        return Ok(id.dereference(data).await?.account);
    }
    let (user, host) = match h.split_once('@') {
        Some((u, host)) => (u, Some(host)),
        None => (h, None),
    };
    let local_host = host.is_none_or(|x| x.eq_ignore_ascii_case(&data.config.domain));
    if local_host {
        let name = user.to_string();
        return data
            .db
            .run(move |c| Account::local_by_username(c, &name).map_err(AppError::from))
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no account {handle}")));
    }
    let actor: ApubAccount = webfinger_resolve_actor(h, data).await?;
    Ok(actor.account)
}
