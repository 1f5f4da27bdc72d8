//! ActivityPub: actors, inboxes, discovery, and the library's configuration.

pub mod activities;
pub mod client;
pub mod http;
pub mod inbound;
pub mod nodeinfo;
pub mod objects;
pub mod policy;
pub mod protocol;
pub mod resolve;
pub mod signed_fetch;
pub mod urls;
pub mod webfinger;

use std::time::Duration;

use activitypub_federation::config::{Data, FederationConfig};

use crate::app::AppState;
use crate::federation::objects::ApubAccount;

pub type FedData = Data<AppState>;

/// Timeout of every outgoing request (signatures are short-lived too).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The library's configuration for this instance: our domain, our client,
/// the partner policy on every URL, and the instance actor signing fetches.
pub async fn federation_config(
    state: AppState,
    instance_actor: &ApubAccount,
) -> anyhow::Result<FederationConfig<AppState>> {
    let insecure = state.config.federation_insecure_local;
    let client = client::build_client(insecure, REQUEST_TIMEOUT)?;
    let verifier = policy::PolicyVerifier(state.policy.clone());
    let config = FederationConfig::builder()
        .domain(state.config.domain.clone())
        .client(client)
        // debug mode is what permits http:// and explicit ports; it is
        // only ever on with MEETFIELD_FEDERATION_INSECURE_LOCAL.
        .debug(insecure)
        .allow_http_urls(insecure)
        .request_timeout(REQUEST_TIMEOUT)
        .url_verifier(Box::new(verifier))
        .signed_fetch_actor(instance_actor)
        .app_data(state)
        .build()
        .await?;
    Ok(config)
}
