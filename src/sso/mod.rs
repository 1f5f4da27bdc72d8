//! Single sign-on: people who sign in through the organization's identity
//! provider (OpenID Connect in [`oidc`]), their accounts, roles and managed
//! profile fields, and cutting access when the provider withdraws it.

pub mod ldap;
pub mod oidc;
pub mod scim;
pub mod scim_groups;

use diesel::prelude::*;
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::db::models::{Account, Role, User};
use crate::db::schema::{oauth_tokens, profile_fields, user_identities, users, web_sessions};
use crate::db::{DbConn, id, now};
use crate::domain::users::{self as local_users, NewLocalUser, Origin};
use crate::error::{AppError, AppResult};
use crate::org::profile;

/// Items of a comma-separated setting, trimmed, empty ones dropped.
pub fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// `a=b,c=d` → `[(a, b), (c, d)]`.
pub fn pairs(s: &str) -> Result<Vec<(String, String)>, String> {
    list(s)
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(format!("'{p}' is not a name=value pair")),
        })
        .collect()
}

/// Group names compare without case and without a leading `/` (Keycloak
/// sends full group paths).
fn same_group(a: &str, b: &str) -> bool {
    a.trim_start_matches('/')
        .eq_ignore_ascii_case(b.trim_start_matches('/'))
}

/// Which directory groups give which role (`admin=it-admins,moderator=comms`).
#[derive(Debug, Clone, Default)]
pub struct RoleGroups(Vec<(Role, String)>);

impl RoleGroups {
    pub fn parse(s: &str) -> Result<RoleGroups, String> {
        pairs(s)?
            .into_iter()
            .map(|(role, group)| {
                Role::parse(&role.to_lowercase())
                    // The owner is one person, named with the CLI.
                    .filter(|r| *r != Role::Owner)
                    .map(|r| (r, group))
                    .ok_or_else(|| format!("unknown role '{role}' (admin, moderator or user)"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(RoleGroups)
    }

    /// The highest role the groups give; `None` when no mapping is set (the
    /// roles admins give stay as they are).
    pub fn role_for(&self, groups: &[String]) -> Option<Role> {
        if self.0.is_empty() {
            return None;
        }
        Some(
            self.0
                .iter()
                .filter(|(_, g)| groups.iter().any(|m| same_group(m, g)))
                .map(|(r, _)| *r)
                .max_by_key(|r| r.rank())
                .unwrap_or(Role::User),
        )
    }
}

/// What an identity provider says about the person signing in.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// `oidc:<issuer>`, `ldap`, `scim`.
    pub provider: String,
    /// The provider's stable id for the person.
    pub subject: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub display_name: Option<String>,
    pub groups: Vec<String>,
    /// Every claim or attribute, for the managed profile fields.
    pub claims: Map<String, Value>,
}

/// The rules one provider's settings give.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub allowed_groups: Vec<String>,
    pub roles: RoleGroups,
    /// `(profile field, claim)` pairs.
    pub fields: Vec<(String, String)>,
    pub link_existing: bool,
}

impl Rules {
    pub fn allows(&self, groups: &[String]) -> bool {
        self.allowed_groups.is_empty()
            || groups
                .iter()
                .any(|g| self.allowed_groups.iter().any(|a| same_group(a, g)))
    }
}

/// A claim as a field value: strings as they are, lists joined.
fn claim_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// A username made from what the provider calls the person: lower case,
/// `[a-z0-9_]`, at most 30 characters.
pub fn clean_username(raw: &str) -> String {
    let raw = raw.split('@').next().unwrap_or(raw);
    let mut out = String::new();
    for c in raw.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '_'
        };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    let out: String = out
        .trim_matches('_')
        .chars()
        .take(local_users::USERNAME_MAX)
        .collect();
    let out = out.trim_end_matches('_').to_string();
    if out.is_empty() || local_users::validate_username(&out).is_err() {
        "user".into()
    } else {
        out
    }
}

fn username_candidate(base: &str, n: u32) -> String {
    if n == 1 {
        return base.to_string();
    }
    let suffix = n.to_string();
    let keep = local_users::USERNAME_MAX - suffix.len();
    format!(
        "{}{suffix}",
        base.chars()
            .take(keep)
            .collect::<String>()
            .trim_end_matches('_')
    )
}

fn refused(msg: &str) -> AppError {
    AppError::Forbidden(msg.to_string())
}

/// Signs a person in through a provider: finds their account (or links or
/// creates it), applies the allowed groups, the role and the managed fields.
/// A person the provider no longer lets in loses access at once.
pub async fn sign_in(
    state: &AppState,
    rules: &Rules,
    who: &Identity,
) -> AppResult<(User, Account)> {
    let provider = who.provider.clone();
    let subject = who.subject.clone();
    let linked = state
        .db
        .run(move |c| linked_user(c, &provider, &subject))
        .await?;
    if !rules.allows(&who.groups) {
        if let Some((user, _)) = &linked {
            deactivate(state, user.id).await?;
            tracing::info!(
                user = user.id,
                "sign-in refused: no longer in an allowed group; account disabled"
            );
        }
        return Err(refused(
            "Your organization's sign-in does not give you access here: you are not in a group allowed to use this server.",
        ));
    }
    let (user, _) = match linked {
        Some(found) => found,
        None => match link_by_email(state, rules, who).await? {
            Some(found) => found,
            None => create(state, who).await?,
        },
    };
    if user.disabled {
        return Err(refused("Your login is currently disabled"));
    }
    apply(state, rules, who, &user, true).await
}

/// What the provider says now, applied to a person's account: the role and
/// the managed fields (and, at a sign-in, its time).
pub(crate) async fn apply(
    state: &AppState,
    rules: &Rules,
    who: &Identity,
    user: &User,
    signing_in: bool,
) -> AppResult<(User, Account)> {
    // The owner is named by an admin with the CLI, never by a group.
    let role = rules
        .roles
        .role_for(&who.groups)
        .filter(|_| user.role() != Role::Owner);
    if let Some(r) = role
        && r.as_str() != user.role
    {
        tracing::info!(user = user.id, from = %user.role, to = r.as_str(), "role set from the identity provider");
    }
    let (uid, aid) = (user.id, user.account_id);
    let (provider, subject) = (who.provider.clone(), who.subject.clone());
    state
        .db
        .transaction(move |c| {
            let t = now();
            if signing_in {
                diesel::update(users::table.find(uid))
                    .set((users::approved.eq(true), users::last_sign_in_at.eq(t)))
                    .execute(c)?;
            }
            if let Some(r) = role {
                diesel::update(users::table.find(uid))
                    .set(users::role.eq(r.as_str()))
                    .execute(c)?;
            }
            diesel::update(
                user_identities::table
                    .filter(user_identities::provider.eq(&provider))
                    .filter(user_identities::subject.eq(&subject)),
            )
            .set(user_identities::last_seen_at.eq(t))
            .execute(c)?;
            Ok::<_, AppError>(())
        })
        .await?;
    let account = sync_fields(state, rules, who, aid).await?;
    let user = state
        .db
        .run(move |c| {
            users::table
                .find(uid)
                .select(User::as_select())
                .first(c)
                .map_err(AppError::from)
        })
        .await?;
    Ok((user, account))
}

/// A username (or e-mail) and password: the directory's when LDAP is set
/// up and knows the login, else a local account's.
pub async fn password_sign_in(
    state: &AppState,
    login: &str,
    password: &str,
) -> AppResult<(User, Account)> {
    if ldap::enabled(&state.config) {
        match ldap::sign_in(state, login, password).await {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => {}
            // With the directory down, local accounts (admins') still work.
            Err(AppError::Unavailable(m)) => {
                return local_users::authenticate(&state.db, login, password)
                    .await
                    .map_err(|_| AppError::Unavailable(m));
            }
            Err(e) => return Err(e),
        }
    }
    local_users::authenticate(&state.db, login, password).await
}

/// The users linked to `provider` who may still sign in, with their subjects.
pub(crate) async fn linked_users(
    state: &AppState,
    provider: &str,
) -> AppResult<Vec<(User, String)>> {
    let provider = provider.to_string();
    state
        .db
        .run(move |c| {
            user_identities::table
                .inner_join(users::table)
                .filter(user_identities::provider.eq(provider))
                .filter(users::disabled.eq(false))
                .select((User::as_select(), user_identities::subject))
                .load(c)
                .map_err(AppError::from)
        })
        .await
}

fn linked_user(
    c: &mut DbConn,
    provider: &str,
    subject: &str,
) -> AppResult<Option<(User, Account)>> {
    use crate::db::schema::accounts;
    Ok(user_identities::table
        .inner_join(users::table.inner_join(accounts::table))
        .filter(user_identities::provider.eq(provider))
        .filter(user_identities::subject.eq(subject))
        .select((User::as_select(), Account::as_select()))
        .first(c)
        .optional()?)
}

fn link(c: &mut DbConn, user_id: i64, provider: &str, subject: &str) -> QueryResult<()> {
    let t = now();
    diesel::insert_into(user_identities::table)
        .values((
            user_identities::id.eq(id::next_id()),
            user_identities::user_id.eq(user_id),
            user_identities::provider.eq(provider),
            user_identities::subject.eq(subject),
            user_identities::created_at.eq(t),
            user_identities::last_seen_at.eq(t),
        ))
        .execute(c)?;
    Ok(())
}

/// An existing account with the same verified e-mail, when the admin allows
/// linking (off by default: whoever controls that address at the provider
/// would take the account over).
async fn link_by_email(
    state: &AppState,
    rules: &Rules,
    who: &Identity,
) -> AppResult<Option<(User, Account)>> {
    let Some(email) = who.email.clone().filter(|_| who.email_verified) else {
        return Ok(None);
    };
    if !rules.link_existing {
        return Ok(None);
    }
    let (provider, subject) = (who.provider.clone(), who.subject.clone());
    state
        .db
        .transaction(move |c| {
            use crate::db::schema::accounts;
            let found: Option<(User, Account)> = users::table
                .inner_join(accounts::table)
                .filter(crate::db::lower(users::email).eq(email.to_lowercase()))
                .select((User::as_select(), Account::as_select()))
                .first(c)
                .optional()?;
            if let Some((u, _)) = &found {
                link(c, u.id, &provider, &subject)?;
                tracing::info!(user = u.id, "existing account linked by verified e-mail");
            }
            Ok(found)
        })
        .await
}

/// A new account for someone the provider vouches for, whatever the
/// registration setting; a taken username gets a number.
pub(crate) async fn create(state: &AppState, who: &Identity) -> AppResult<(User, Account)> {
    let email = who.email.clone().unwrap_or_default();
    let email_exists = {
        let e = email.clone();
        state
            .db
            .run(move |c| User::email_taken(c, &e).map_err(AppError::from))
            .await?
    };
    if !email.is_empty() && email_exists {
        return Err(refused(
            "An account with your e-mail address exists already. Ask an administrator to link it to your organization sign-in.",
        ));
    }
    let email = if email.is_empty() || local_users::validate_email(&email).is_err() {
        let digest = crate::domain::oauth::digest(&format!("{}\n{}", who.provider, who.subject));
        format!("{}@sso.invalid", &digest[..24])
    } else {
        email
    };
    let base = clean_username(
        who.username
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or(&who.subject),
    );
    for n in 1..=100u32 {
        let username = username_candidate(&base, n);
        let new = NewLocalUser {
            username: username.clone(),
            email: email.clone(),
            password: String::new(),
            role: Role::User,
        };
        let origin = Origin {
            external: true,
            ..Default::default()
        };
        match local_users::create_user(&state.db, &state.config, new, origin).await {
            Ok((user, account)) => {
                let (provider, subject, uid) = (who.provider.clone(), who.subject.clone(), user.id);
                state
                    .db
                    .transaction(move |c| {
                        link(c, uid, &provider, &subject)?;
                        Ok::<_, AppError>(())
                    })
                    .await?;
                tracing::info!(user = uid, username = %username, "account created on first sign-in");
                let account = match who.display_name.as_deref().map(str::trim) {
                    Some(name) if !name.is_empty() => {
                        let name: String = name.chars().take(30).collect();
                        crate::domain::accounts::update_profile(
                            state,
                            &account,
                            crate::domain::accounts::ProfileChange {
                                display_name: Some(name),
                                ..Default::default()
                            },
                        )
                        .await?
                    }
                    _ => account,
                };
                return Ok((user, account));
            }
            Err(AppError::Unprocessable(m)) if m.contains("already taken") => continue,
            Err(e) => return Err(e),
        }
    }
    Err(AppError::Conflict(format!(
        "no free username near '{base}'"
    )))
}

/// The managed profile fields follow the provider's claims; a field named in
/// the mapping becomes managed (and is added to the schema if missing).
async fn sync_fields(
    state: &AppState,
    rules: &Rules,
    who: &Identity,
    account_id: i64,
) -> AppResult<Account> {
    let account = state
        .db
        .run(move |c| Account::by_id(c, account_id).map_err(AppError::from))
        .await?;
    if rules.fields.is_empty() {
        return Ok(account);
    }
    let values: Vec<(String, String, bool)> = rules
        .fields
        .iter()
        .map(|(field, claim)| {
            let v = who.claims.get(claim);
            (
                field.clone(),
                claim_text(v),
                matches!(v, Some(Value::Array(_))),
            )
        })
        .collect();
    let wanted = values.clone();
    state
        .db
        .transaction(move |c| {
            let schema = profile::schema(c)?;
            for (field, _, is_list) in &wanted {
                match schema.iter().find(|f| f.name.eq_ignore_ascii_case(field)) {
                    Some(f) if !f.managed => {
                        diesel::update(profile_fields::table.find(f.id))
                            .set(profile_fields::managed.eq(true))
                            .execute(c)?;
                    }
                    Some(_) => {}
                    None => {
                        let kind = if *is_list {
                            profile::FieldKind::List
                        } else {
                            profile::FieldKind::Text
                        };
                        profile::add_field(c, field, kind, &[], true)?;
                    }
                }
            }
            Ok::<_, AppError>(())
        })
        .await?;
    let pairs: Vec<(String, String)> = values.into_iter().map(|(f, v, _)| (f, v)).collect();
    crate::domain::accounts::set_fields_as_admin(state, &account, &pairs).await
}

/// Cuts a person's access at once: the account is disabled, every app token
/// and browser session ends, open streams close (on every node). Posts stay.
pub async fn deactivate(state: &AppState, user_id: i64) -> AppResult<()> {
    state
        .db
        .transaction(move |c| {
            let user: User = users::table
                .find(user_id)
                .select(User::as_select())
                .first(c)?;
            User::set_disabled(c, user_id, true)?;
            diesel::update(
                oauth_tokens::table
                    .filter(oauth_tokens::user_id.eq(user_id))
                    .filter(oauth_tokens::revoked_at.is_null()),
            )
            .set(oauth_tokens::revoked_at.eq(now()))
            .execute(c)?;
            diesel::delete(web_sessions::table.filter(web_sessions::user_id.eq(user_id)))
                .execute(c)?;
            crate::stream::bus::publish(
                c,
                crate::stream::bus::Signal::Disconnect { a: user.account_id },
            )?;
            Ok::<_, AppError>(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_groups() {
        let r = RoleGroups::parse("admin=it-admins, moderator=comms").unwrap();
        let g = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(r.role_for(&g(&["staff"])), Some(Role::User));
        assert_eq!(r.role_for(&g(&["comms"])), Some(Role::Moderator));
        assert_eq!(r.role_for(&g(&["comms", "/IT-Admins"])), Some(Role::Admin));
        assert_eq!(RoleGroups::parse("").unwrap().role_for(&g(&["x"])), None);
        assert!(RoleGroups::parse("owner=x").is_err());
        assert!(RoleGroups::parse("admin").is_err());
        assert!(RoleGroups::parse("owner=it").is_err());
    }

    #[test]
    fn usernames_are_cleaned() {
        assert_eq!(clean_username("Jane.Doe"), "jane_doe");
        assert_eq!(clean_username("jane@corp.example"), "jane");
        assert_eq!(clean_username("--Ünïcode--"), "n_code");
        assert_eq!(clean_username("***"), "user");
        assert_eq!(clean_username(&"a".repeat(40)).len(), 30);
        assert_eq!(username_candidate("jane", 1), "jane");
        assert_eq!(username_candidate("jane", 2), "jane2");
        assert_eq!(username_candidate(&"a".repeat(30), 12).len(), 30);
    }

    #[test]
    fn claims_as_text() {
        assert_eq!(claim_text(Some(&serde_json::json!(" R&D "))), "R&D");
        assert_eq!(
            claim_text(Some(&serde_json::json!(["Rust", "Go"]))),
            "Rust, Go"
        );
        assert_eq!(claim_text(None), "");
    }
}
