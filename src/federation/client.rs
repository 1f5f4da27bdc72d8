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

/// Refuses URLs whose host is a private, loopback, link-local or otherwise
/// non-public IP address written out: the validating resolver only sees
/// names, so `http://10.0.0.1/` would reach the inside network.
pub fn check_public_url(url: &url::Url, insecure_local: bool) -> Result<(), String> {
    if insecure_local {
        return Ok(());
    }
    let public = match url.host() {
        Some(url::Host::Ipv4(ip)) => public_v4(ip),
        Some(url::Host::Ipv6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => {
                let s = ip.segments();
                !(ip.is_loopback()
                    || ip.is_unspecified()
                    || ip.is_multicast()
                    || (s[0] & 0xfe00) == 0xfc00
                    || (s[0] & 0xffc0) == 0xfe80
                    || (s[0] == 0x2001 && s[1] == 0x0db8)
                    || (s[0] == 0x64 && s[1] == 0xff9b))
            }
        },
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d != "localhost" && !d.ends_with(".localhost")
        }
        None => false,
    };
    if public {
        Ok(())
    } else {
        Err(format!(
            "{} is not a public address",
            url.host_str().unwrap_or("")
        ))
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64)
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 198 && (o[1] & 0xfe) == 18)
        || o[0] >= 240)
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

#[cfg(test)]
mod tests {
    use super::check_public_url;

    #[test]
    fn ip_literals_inside_the_network_are_refused() {
        for bad in [
            "http://127.0.0.1/",
            "http://10.1.2.3:8080/x",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:3000/",
            "http://api.localhost/",
        ] {
            let u = url::Url::parse(bad).unwrap();
            assert!(check_public_url(&u, false).is_err(), "{bad} passed");
            assert!(check_public_url(&u, true).is_ok(), "{bad} refused in tests");
        }
        for good in [
            "https://93.184.215.14/",
            "https://[2606:4700::1111]/",
            "https://example.org/",
        ] {
            let u = url::Url::parse(good).unwrap();
            assert!(check_public_url(&u, false).is_ok(), "{good} refused");
        }
    }
}
