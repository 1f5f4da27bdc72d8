//! Partner policy: which remote domains this instance federates with.
//!
//! `allowlist` (the default for an organization): only listed partner domains
//! federate. `blocklist`: everyone but blocked domains. `open`: everyone.
//! A block always wins, in every mode. Entries cover their subdomains.
//! Entries live in the database so admins change them without a restart;
//! each process re-reads them at most every few seconds.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::config::FederationMode;
use crate::db::models::DomainPolicy;
use crate::db::{Db, DbError};
use crate::error::{AppError, AppResult};

const REFRESH: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Allow,
    Block,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Allow => "allow",
            PolicyKind::Block => "block",
        }
    }
}

/// Lower-case host name without scheme, port, path or trailing dot.
pub fn normalize_domain(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("https://{trimmed}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|_| format!("'{input}' is not a domain"))?;
    let host = url
        .host_str()
        .ok_or_else(|| format!("'{input}' is not a domain"))?
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if host.is_empty() {
        return Err(format!("'{input}' is not a domain"));
    }
    Ok(host)
}

/// Whether an entry for `entry` applies to `host` (itself or a subdomain).
pub(crate) fn covers(entry: &str, host: &str) -> bool {
    host == entry
        || host
            .strip_suffix(entry)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Whether `host` (already normalized) may federate under `mode` and `entries`.
pub fn decide(mode: FederationMode, host: &str, entries: &[(String, PolicyKind)]) -> bool {
    let matching = |kind| entries.iter().any(|(d, k)| *k == kind && covers(d, host));
    if matching(PolicyKind::Block) {
        return false;
    }
    match mode {
        FederationMode::Open | FederationMode::Blocklist => true,
        FederationMode::Allowlist => matching(PolicyKind::Allow),
    }
}

type Entries = Arc<Vec<(String, PolicyKind)>>;

/// The policy with a short-lived in-memory copy of the entries.
#[derive(Clone)]
pub struct Policy {
    db: Db,
    mode: FederationMode,
    cache: Arc<RwLock<Option<(Instant, Entries)>>>,
}

impl Policy {
    pub fn new(db: Db, mode: FederationMode) -> Self {
        Policy {
            db,
            mode,
            cache: Arc::new(RwLock::new(None)),
        }
    }

    pub fn mode(&self) -> FederationMode {
        self.mode
    }

    async fn entries(&self) -> AppResult<Entries> {
        if let Some((at, entries)) = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            && at.elapsed() < REFRESH
        {
            return Ok(entries.clone());
        }
        let rows = self
            .db
            .run(|c| DomainPolicy::all(c).map_err(DbError::from))
            .await?;
        let entries: Arc<Vec<_>> = Arc::new(
            rows.into_iter()
                .map(|r| {
                    let kind = if r.policy == "block" {
                        PolicyKind::Block
                    } else {
                        PolicyKind::Allow
                    };
                    (r.domain, kind)
                })
                .collect(),
        );
        *self.cache.write().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), entries.clone()));
        Ok(entries)
    }

    /// Forget the cached entries (after a change made in this process).
    pub fn invalidate(&self) {
        *self.cache.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Whether this remote host may federate with us.
    pub async fn allows(&self, host: &str) -> AppResult<bool> {
        let host = normalize_domain(host).map_err(AppError::BadRequest)?;
        let entries = self.entries().await?;
        Ok(decide(self.mode, &host, &entries))
    }

    /// Whether an admin blocked this host (or a parent domain), whatever
    /// the mode: what the web pages we fetch for link cards must not be.
    pub async fn blocks(&self, host: &str) -> AppResult<bool> {
        let host = normalize_domain(host).map_err(AppError::BadRequest)?;
        let entries = self.entries().await?;
        Ok(!decide(FederationMode::Open, &host, &entries))
    }
}

/// Sets (or replaces) the policy of a domain; returns the normalized domain.
pub async fn set_domain_policy(
    db: &Db,
    domain: &str,
    kind: PolicyKind,
    comment: &str,
) -> AppResult<String> {
    let domain = normalize_domain(domain).map_err(AppError::Unprocessable)?;
    let (d, c) = (domain.clone(), comment.to_string());
    db.transaction(move |conn| {
        DomainPolicy::put(conn, &d, kind.as_str(), &c)?;
        Ok::<_, AppError>(())
    })
    .await?;
    Ok(domain)
}

/// Removes a domain's entry; false if there was none.
pub async fn remove_domain_policy(db: &Db, domain: &str) -> AppResult<bool> {
    let domain = normalize_domain(domain).map_err(AppError::Unprocessable)?;
    db.transaction(move |conn| Ok::<_, AppError>(DomainPolicy::remove(conn, &domain)? > 0))
        .await
}

/// Whether media from `host` (or a parent domain) are not downloaded here.
pub fn media_rejected(c: &mut crate::db::DbConn, host: &str) -> diesel::QueryResult<bool> {
    use crate::db::schema::domain_media_rejections as r;
    use diesel::prelude::*;
    let host = normalize_domain(host).unwrap_or_else(|_| host.to_ascii_lowercase());
    let domains: Vec<String> = r::table.select(r::domain).load(c)?;
    Ok(domains.iter().any(|d| covers(d, &host)))
}

/// Starts (`reject`) or stops rejecting a domain's media; returns the
/// normalized domain and whether anything changed.
pub async fn set_media_rejection(db: &Db, domain: &str, reject: bool) -> AppResult<(String, bool)> {
    use crate::db::schema::domain_media_rejections as r;
    use diesel::prelude::*;
    let domain = normalize_domain(domain).map_err(AppError::Unprocessable)?;
    let d = domain.clone();
    let changed = db
        .transaction(move |c| {
            let n = if reject {
                let exists: bool =
                    diesel::select(diesel::dsl::exists(r::table.find(&d))).get_result(c)?;
                if exists {
                    0
                } else {
                    diesel::insert_into(r::table)
                        .values((r::domain.eq(&d), r::created_at.eq(crate::db::now())))
                        .execute(c)?
                }
            } else {
                diesel::delete(r::table.find(&d)).execute(c)?
            };
            Ok::<_, AppError>(n > 0)
        })
        .await?;
    Ok((domain, changed))
}

/// The domains whose media are rejected, sorted.
pub async fn media_rejections(db: &Db) -> AppResult<Vec<String>> {
    use crate::db::schema::domain_media_rejections as r;
    use diesel::prelude::*;
    db.run(|c| {
        r::table
            .select(r::domain)
            .order(r::domain.asc())
            .load::<String>(c)
            .map_err(AppError::from)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<(String, PolicyKind)> {
        vec![
            ("partner.example".into(), PolicyKind::Allow),
            ("bad.example".into(), PolicyKind::Block),
            ("spam.partner.example".into(), PolicyKind::Block),
        ]
    }

    #[test]
    fn allowlist_admits_only_listed_domains_and_subdomains() {
        let e = entries();
        assert!(decide(FederationMode::Allowlist, "partner.example", &e));
        assert!(decide(
            FederationMode::Allowlist,
            "social.partner.example",
            &e
        ));
        assert!(!decide(FederationMode::Allowlist, "notpartner.example", &e));
        assert!(!decide(FederationMode::Allowlist, "other.example", &e));
        assert!(
            !decide(FederationMode::Allowlist, "spam.partner.example", &e),
            "block wins"
        );
    }

    #[test]
    fn blocklist_and_open() {
        let e = entries();
        assert!(decide(FederationMode::Blocklist, "other.example", &e));
        assert!(!decide(FederationMode::Blocklist, "bad.example", &e));
        assert!(!decide(FederationMode::Blocklist, "x.bad.example", &e));
        assert!(decide(FederationMode::Open, "other.example", &e));
        assert!(
            !decide(FederationMode::Open, "bad.example", &e),
            "blocks hold in open mode"
        );
    }

    #[test]
    fn normalizes_domains() {
        assert_eq!(
            normalize_domain("Partner.Example").unwrap(),
            "partner.example"
        );
        assert_eq!(
            normalize_domain("https://partner.example/users/x").unwrap(),
            "partner.example"
        );
        assert_eq!(
            normalize_domain("beta.localhost:8080").unwrap(),
            "beta.localhost"
        );
        assert_eq!(
            normalize_domain("partner.example.").unwrap(),
            "partner.example"
        );
        assert!(normalize_domain("").is_err());
        assert!(normalize_domain("a b").is_err());
    }
}
