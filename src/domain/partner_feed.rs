//! The partner feed: an instance receives an allowed partner's public posts
//! without anyone following their authors, so followed hashtags and trends
//! see partners' posts. The subscriber's instance actor follows the
//! partner's instance actor, as relays are followed; the partner accepts
//! only an instance actor of a domain it explicitly allows, and then sends
//! its public posts (and their updates and deletions) to the subscriber's
//! shared inbox.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::models::{Account, Follow};
use crate::db::schema::{accounts, domain_policies, follows};
use crate::domain::follows as follow_ops;
use crate::domain::instance::INSTANCE_ACTOR_USERNAME;
use crate::error::{AppError, AppResult};
use crate::federation::FedData;

/// Whether `domain` (a host, with a port or not) is a partner an admin
/// allowed by name (whatever the federation mode), as the policy's entries
/// cover hosts: the domain itself or a subdomain.
pub fn is_partner(c: &mut DbConn, domain: &str) -> QueryResult<bool> {
    let Ok(host) = crate::domain::policy::normalize_domain(domain) else {
        return Ok(false);
    };
    let allowed: Vec<String> = domain_policies::table
        .filter(domain_policies::policy.eq("allow"))
        .select(domain_policies::domain)
        .load(c)?;
    Ok(allowed
        .iter()
        .any(|e| crate::domain::policy::covers(e, &host)))
}

/// Whether `a` is this server's instance actor.
pub fn is_our_instance_actor(a: &Account) -> bool {
    a.is_local() && a.username == INSTANCE_ACTOR_USERNAME
}

/// Whether a Follow of our instance actor by `follower` subscribes a
/// partner: an instance actor of an allowed partner.
pub fn may_subscribe(c: &mut DbConn, follower: &Account) -> QueryResult<bool> {
    let Some(domain) = follower.domain.as_deref() else {
        return Ok(false);
    };
    Ok(matches!(follower.actor_type.as_str(), "Application" | "Service") && is_partner(c, domain)?)
}

fn instance_actor(c: &mut DbConn) -> QueryResult<Option<Account>> {
    Account::local_by_username(c, INSTANCE_ACTOR_USERNAME)
}

/// The shared inboxes of the partners subscribed to our public posts.
pub fn subscriber_inboxes(c: &mut DbConn) -> QueryResult<Vec<String>> {
    match instance_actor(c)? {
        Some(me) => Follow::follower_inboxes(c, me.id),
        None => Ok(Vec::new()),
    }
}

/// Subscribes to `domain`'s public posts; answers its instance actor.
pub async fn subscribe(data: &FedData, domain: &str) -> AppResult<Account> {
    // The host checks the policy; the name as given (with a port) is
    // where the partner answers.
    crate::domain::policy::normalize_domain(domain).map_err(AppError::Unprocessable)?;
    let domain = domain.trim().trim_end_matches('/').to_lowercase();
    let d = domain.clone();
    if !data
        .db
        .run(move |c| is_partner(c, &d).map_err(AppError::from))
        .await?
    {
        return Err(AppError::Unprocessable(format!(
            "{domain} is not an allowed partner (meetfield admin domain allow {domain})"
        )));
    }
    let url = format!("{}://{domain}/actor", crate::config::scheme_for(&domain));
    let theirs = crate::federation::resolve::resolve_account(data, &url).await?;
    let me = data
        .db
        .run(|c| {
            instance_actor(c)?
                .ok_or(diesel::result::Error::NotFound)
                .map_err(AppError::from)
        })
        .await?;
    follow_ops::follow(data, &me, &theirs).await?;
    Ok(theirs)
}

/// Ends the subscription to `domain`; whether there was one.
pub async fn unsubscribe(data: &FedData, domain: &str) -> AppResult<bool> {
    let Some((me, theirs)) = find(data, domain).await? else {
        return Ok(false);
    };
    follow_ops::unfollow(data, &me, &theirs).await
}

async fn find(data: &FedData, domain: &str) -> AppResult<Option<(Account, Account)>> {
    let domain = domain.trim().to_lowercase();
    data.db
        .run(move |c| {
            let Some(me) = instance_actor(c)? else {
                return Ok(None);
            };
            let theirs: Option<Account> = accounts::table
                .inner_join(follows::table.on(follows::target_account_id.eq(accounts::id)))
                .filter(follows::account_id.eq(me.id))
                .filter(accounts::domain.eq(&domain))
                .select(Account::as_select())
                .first(c)
                .optional()?;
            Ok::<_, AppError>(theirs.map(|t| (me, t)))
        })
        .await
}

/// Our subscriptions, `(domain, accepted)`, and the partners subscribed to
/// us.
pub type Overview = (Vec<(String, bool)>, Vec<String>);

pub fn overview(c: &mut DbConn) -> QueryResult<Overview> {
    let Some(me) = instance_actor(c)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let ours: Vec<(Option<String>, bool)> = accounts::table
        .inner_join(follows::table.on(follows::target_account_id.eq(accounts::id)))
        .filter(follows::account_id.eq(me.id))
        .order(accounts::domain.asc())
        .select((accounts::domain, follows::pending))
        .load(c)?;
    let theirs: Vec<Option<String>> = accounts::table
        .inner_join(follows::table.on(follows::account_id.eq(accounts::id)))
        .filter(follows::target_account_id.eq(me.id))
        .filter(follows::pending.eq(false))
        .order(accounts::domain.asc())
        .select(accounts::domain)
        .load(c)?;
    Ok((
        ours.into_iter()
            .filter_map(|(d, pending)| d.map(|d| (d, !pending)))
            .collect(),
        theirs.into_iter().flatten().collect(),
    ))
}
