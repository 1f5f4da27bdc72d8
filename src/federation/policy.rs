//! Plugs the partner policy into every URL the federation library touches:
//! ids of received activities, fetches, webfinger lookups and inboxes we
//! deliver to.

use activitypub_federation::config::UrlVerifier;
use activitypub_federation::error::Error;
use url::Url;

use crate::domain::policy::Policy;

/// Prefix of the error a refused domain produces (mapped to 403).
pub const REFUSED: &str = "Domain refused by federation policy";
/// Prefix of the error when the policy cannot be read (mapped to 503).
pub const UNAVAILABLE: &str = "Federation policy unavailable";

#[derive(Clone)]
pub struct PolicyVerifier(pub Policy);

#[async_trait::async_trait]
impl UrlVerifier for PolicyVerifier {
    async fn verify(&self, url: &Url) -> Result<(), Error> {
        let host = url.host_str().unwrap_or_default();
        match self.0.allows(host).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::Other(format!("{REFUSED}: {host}"))),
            Err(e) => Err(Error::Other(format!("{UNAVAILABLE}: {e}"))),
        }
    }
}
