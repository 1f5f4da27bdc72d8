//! The HTTP client for everything we fetch and deliver.
//!
//! In normal operation host names that resolve to private, loopback or
//! link-local addresses are refused (SSRF protection, the crate's validating
//! resolver). `MEETFIELD_FEDERATION_INSECURE_LOCAL` swaps in a resolver that
//! maps `*.localhost` to 127.0.0.1 so tests can run several instances on one
//! machine without editing /etc/hosts.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use activitypub_federation::resolver::ValidatingDnsResolver;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

pub const USER_AGENT: &str = concat!("Meetfield/", env!("CARGO_PKG_VERSION"));

/// Development resolver: `localhost` and `*.localhost` are 127.0.0.1, the rest
/// goes to the system resolver unchecked.
#[derive(Debug, Clone)]
pub struct LocalDevResolver;

impl Resolve for LocalDevResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            if host == "localhost" || host.ends_with(".localhost") {
                let addrs: Addrs =
                    Box::new(std::iter::once(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))));
                return Ok(addrs);
            }
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

pub fn build_client(
    insecure_local: bool,
    timeout: Duration,
) -> reqwest::Result<ClientWithMiddleware> {
    Ok(ClientBuilder::new(build_plain_client(insecure_local, timeout)?).build())
}

/// The same client without middleware (deliveries sign their own requests).
pub fn build_plain_client(
    insecure_local: bool,
    timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        // Redirects cannot be validated against the policy, so none are followed.
        .redirect(Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(USER_AGENT);
    let builder = if insecure_local {
        builder.dns_resolver(Arc::new(LocalDevResolver))
    } else {
        builder.dns_resolver(Arc::new(ValidatingDnsResolver::new(vec![], true)))
    };
    builder.build()
}
