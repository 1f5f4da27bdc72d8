//! Sign-in against the organization's LDAP directory, and the sync that
//! makes accounts follow it (people who left, or left the allowed groups,
//! are disabled; roles and managed fields follow their entries).
//!
//! The server searches with its own account (or anonymously), then binds as
//! the person found to check the password; the typed login is escaped
//! before it goes into the filter.

use std::collections::HashMap;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry, ldap_escape};
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::config::Config;
use crate::db::models::{Account, User};
use crate::error::{AppError, AppResult};
use crate::sso::{self, Identity, RoleGroups, Rules};

pub const PROVIDER: &str = "ldap";
const TIMEOUT: Duration = Duration::from_secs(10);
/// Longest login looked up (a directory's own limits are far below).
const LOGIN_MAX: usize = 256;
/// LDAP result code for wrong credentials.
const INVALID_CREDENTIALS: u32 = 49;

pub fn enabled(config: &Config) -> bool {
    !config.ldap_url.is_empty()
}

pub fn rules(config: &Config) -> Rules {
    Rules {
        allowed_groups: sso::list(&config.ldap_allowed_groups),
        roles: RoleGroups::parse(&config.ldap_role_groups).unwrap_or_default(),
        fields: sso::pairs(&config.ldap_profile_fields).unwrap_or_default(),
        link_existing: false,
    }
}

fn describe(e: &LdapError) -> String {
    e.to_string()
}

async fn open(config: &Config) -> Result<Ldap, String> {
    let settings = LdapConnSettings::new()
        .set_starttls(config.ldap_starttls)
        .set_conn_timeout(TIMEOUT);
    let (conn, ldap) = LdapConnAsync::with_settings(settings, &config.ldap_url)
        .await
        .map_err(|e| format!("cannot reach {}: {}", config.ldap_url, describe(&e)))?;
    ldap3::drive!(conn);
    Ok(ldap)
}

/// A connection bound as the server's own account.
async fn service(config: &Config) -> Result<Ldap, String> {
    let mut ldap = open(config).await?;
    if !config.ldap_bind_dn.is_empty() {
        ldap.with_timeout(TIMEOUT)
            .simple_bind(&config.ldap_bind_dn, &config.ldap_bind_password)
            .await
            .and_then(|r| r.success())
            .map_err(|e| format!("bind as MEETFIELD_LDAP_BIND_DN failed: {}", describe(&e)))?;
    }
    Ok(ldap)
}

/// An attribute's values, whatever case the server spells its name in.
fn values<'a>(attrs: &'a HashMap<String, Vec<String>>, name: &str) -> &'a [String] {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
        .unwrap_or(&[])
}

/// `cn=it-admins,ou=groups,…` → `it-admins`.
fn group_name(dn: &str) -> String {
    let first = dn.split(',').next().unwrap_or(dn);
    match first.split_once('=') {
        Some((_, v)) => v.trim().to_string(),
        None => dn.to_string(),
    }
}

struct Person {
    dn: String,
    identity: Identity,
}

/// The one entry `login` names, with its groups (from `memberOf`, or a
/// search of the groups naming it as a member).
async fn find(ldap: &mut Ldap, config: &Config, login: &str) -> Result<Option<Person>, String> {
    let filter = config
        .ldap_user_filter
        .replace("{login}", &ldap_escape(login));
    let mut attrs: Vec<String> = vec![
        config.ldap_uid_attr.clone(),
        config.ldap_mail_attr.clone(),
        "cn".into(),
        "displayName".into(),
        "memberOf".into(),
    ];
    attrs.extend(
        sso::pairs(&config.ldap_profile_fields)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, a)| a),
    );
    let (entries, _) = ldap
        .with_timeout(TIMEOUT)
        .search(&config.ldap_base, Scope::Subtree, &filter, attrs)
        .await
        .and_then(|r| r.success())
        .map_err(|e| format!("search failed: {}", describe(&e)))?;
    if entries.len() > 1 {
        return Err(format!(
            "{} entries match one login: the filter is too broad",
            entries.len()
        ));
    }
    let Some(entry) = entries.into_iter().next() else {
        return Ok(None);
    };
    let e = SearchEntry::construct(entry);
    let mut groups: Vec<String> = values(&e.attrs, "memberOf")
        .iter()
        .map(|g| group_name(g))
        .collect();
    if groups.is_empty() {
        let filter = format!(
            "(|(&(objectClass=groupOfNames)(member={dn}))(&(objectClass=groupOfUniqueNames)(uniqueMember={dn})))",
            dn = ldap_escape(&e.dn)
        );
        if let Ok(r) = ldap
            .with_timeout(TIMEOUT)
            .search(&config.ldap_base, Scope::Subtree, &filter, vec!["cn"])
            .await
            .and_then(|r| r.success())
        {
            groups =
                r.0.into_iter()
                    .map(SearchEntry::construct)
                    .filter_map(|g| values(&g.attrs, "cn").first().cloned())
                    .collect();
        }
    }
    let first = |name: &str| {
        values(&e.attrs, name)
            .first()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let Some(uid) = first(&config.ldap_uid_attr) else {
        return Err(format!("{} has no {}", e.dn, config.ldap_uid_attr));
    };
    let mut claims = Map::new();
    for (k, v) in &e.attrs {
        let v = if v.len() == 1 {
            Value::String(v[0].clone())
        } else {
            Value::Array(v.iter().cloned().map(Value::String).collect())
        };
        claims.insert(k.clone(), v.clone());
        // Attribute names are case-insensitive: the mapping finds them either way.
        claims.insert(k.to_lowercase(), v);
    }
    let mail = first(&config.ldap_mail_attr);
    Ok(Some(Person {
        dn: e.dn.clone(),
        identity: Identity {
            provider: PROVIDER.into(),
            subject: uid.to_lowercase(),
            username: Some(uid),
            email_verified: mail.is_some(),
            email: mail,
            display_name: first("displayName").or_else(|| first("cn")),
            groups,
            claims,
        },
    }))
}

fn lowercase_mapping(rules: &mut Rules) {
    for (_, attr) in rules.fields.iter_mut() {
        *attr = attr.to_lowercase();
    }
}

/// What the directory says of a login and password.
pub enum Check {
    /// Nobody in the directory has this login.
    Unknown,
    WrongPassword,
    Verified(Box<Identity>),
}

pub async fn check(config: &Config, login: &str, password: &str) -> Result<Check, String> {
    let login = login.trim();
    if login.is_empty() || login.chars().count() > LOGIN_MAX {
        return Ok(Check::Unknown);
    }
    let mut ldap = service(config).await?;
    let found = find(&mut ldap, config, login).await;
    let _ = ldap.unbind().await;
    let Some(person) = found? else {
        return Ok(Check::Unknown);
    };
    // An empty password would be an anonymous bind, which "succeeds".
    if password.is_empty() {
        return Ok(Check::WrongPassword);
    }
    let mut user = open(config).await?;
    let bound = user
        .with_timeout(TIMEOUT)
        .simple_bind(&person.dn, password)
        .await
        .map_err(|e| describe(&e))?;
    let _ = user.unbind().await;
    match bound.rc {
        0 => Ok(Check::Verified(Box::new(person.identity))),
        INVALID_CREDENTIALS => Ok(Check::WrongPassword),
        rc => Err(format!(
            "bind as {} answered {rc}: {}",
            person.dn, bound.text
        )),
    }
}

/// Signs in with a directory login and password; `None` when the directory
/// does not know the login (the caller may try the local accounts).
pub async fn sign_in(
    state: &AppState,
    login: &str,
    password: &str,
) -> AppResult<Option<(User, Account)>> {
    match check(&state.config, login, password).await {
        Ok(Check::Verified(who)) => {
            let mut rules = rules(&state.config);
            lowercase_mapping(&mut rules);
            sso::sign_in(state, &rules, &who).await.map(Some)
        }
        Ok(Check::WrongPassword) => Err(AppError::Unauthorized("Invalid email or password".into())),
        Ok(Check::Unknown) => Ok(None),
        Err(e) => {
            tracing::warn!(error = %e, "LDAP sign-in failed");
            Err(AppError::Unavailable(
                "The organization's directory cannot be reached right now".into(),
            ))
        }
    }
}

/// What a sync did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub checked: usize,
    pub disabled: usize,
}

impl std::fmt::Display for SyncReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ldap: {} checked, {} disabled",
            self.checked, self.disabled
        )
    }
}

/// Every account from the directory, checked against it.
pub async fn sync(state: &AppState) -> Result<SyncReport, String> {
    let config = &state.config;
    let mut rules = rules(config);
    lowercase_mapping(&mut rules);
    let people = sso::linked_users(state, PROVIDER)
        .await
        .map_err(|e| e.to_string())?;
    let mut ldap = service(config).await?;
    let mut report = SyncReport::default();
    for (user, subject) in people {
        report.checked += 1;
        let found = find(&mut ldap, config, &subject).await?;
        match found {
            Some(p) if p.identity.subject == subject && rules.allows(&p.identity.groups) => {
                sso::apply(state, &rules, &p.identity, &user, false)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            _ => {
                sso::deactivate(state, user.id)
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::info!(user = user.id, %subject, "left the directory or its allowed groups: disabled");
                report.disabled += 1;
            }
        }
    }
    let _ = ldap.unbind().await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_from_dns() {
        assert_eq!(
            group_name("cn=it-admins,ou=groups,dc=example,dc=org"),
            "it-admins"
        );
        assert_eq!(group_name("staff"), "staff");
    }

    #[test]
    fn logins_are_escaped_in_filters() {
        let f = "(|(uid={login})(mail={login}))".replace("{login}", &ldap_escape("*)(uid=*"));
        assert!(!f.contains("*)(uid=*"), "{f}");
        assert!(f.contains("\\2a\\29\\28uid=\\2a"), "{f}");
    }
}
