//! OAuth 2 applications, access tokens and authorization codes. Secrets are
//! random, shown once, and stored only as SHA-256 digests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::schema::{oauth_applications, oauth_codes, oauth_tokens};
use crate::db::{Db, DbConn, id, now};
use crate::error::{AppError, AppResult};

pub const OOB_REDIRECT: &str = "urn:ietf:wg:oauth:2.0:oob";
const CODE_LIFETIME_MINUTES: i64 = 10;

const TOP_SCOPES: &[&str] = &["read", "write", "follow", "push", "profile"];
const GRANULAR: &[&str] = &[
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
    "admin:read",
    "admin:write",
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_allows",
    "admin:read:domain_blocks",
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_allows",
    "admin:write:domain_blocks",
];

/// A space-separated scope set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses and validates; empty means `read` (Mastodon's default).
    pub fn parse(s: &str) -> Result<Scopes, String> {
        let mut out: Vec<String> = Vec::new();
        for sc in s.split([' ', '+', ',']).filter(|x| !x.is_empty()) {
            if !TOP_SCOPES.contains(&sc) && !GRANULAR.contains(&sc) {
                return Err(format!("unknown scope '{sc}'"));
            }
            if !out.iter().any(|x| x == sc) {
                out.push(sc.to_string());
            }
        }
        if out.is_empty() {
            out.push("read".into());
        }
        Ok(Scopes(out))
    }

    pub fn as_string(&self) -> String {
        self.0.join(" ")
    }

    /// Whether a token with these scopes may do what `required` names.
    pub fn allows(&self, required: &str) -> bool {
        let (top, _) = required.split_once(':').unwrap_or((required, ""));
        // A scope covers its finer forms: `admin:read` covers `admin:read:accounts`.
        self.0.iter().any(|s| {
            s == required
                || s == top
                || required
                    .strip_prefix(s.as_str())
                    .is_some_and(|r| r.starts_with(':'))
        }) || (matches!(
            required,
            "read:follows"
                | "write:follows"
                | "read:blocks"
                | "write:blocks"
                | "read:mutes"
                | "write:mutes"
        ) && self.0.iter().any(|s| s == "follow"))
    }

    /// Every scope here is within `granted` (an app may not exceed its registration).
    pub fn within(&self, granted: &Scopes) -> bool {
        self.0.iter().all(|s| granted.allows(s))
    }
}

pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oauth_applications)]
pub struct Application {
    pub id: i64,
    pub name: String,
    pub website: Option<String>,
    pub redirect_uris: String,
    pub scopes: String,
    pub client_id: String,
    pub client_secret_hash: String,
    pub created_at: NaiveDateTime,
}

impl Application {
    pub fn redirect_uri_list(&self) -> Vec<&str> {
        self.redirect_uris.split_whitespace().collect()
    }
}

/// A registered app with its secret, shown once.
pub struct NewApplication {
    pub app: Application,
    pub client_secret: String,
}

pub async fn create_application(
    db: &Db,
    name: &str,
    redirect_uris: &str,
    scopes: &str,
    website: Option<&str>,
) -> AppResult<NewApplication> {
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(AppError::Unprocessable(
            "Validation failed: Application name can't be blank".into(),
        ));
    }
    let uris: Vec<&str> = redirect_uris.split_whitespace().collect();
    if uris.is_empty() {
        return Err(AppError::Unprocessable(
            "Validation failed: Redirect URI can't be blank".into(),
        ));
    }
    for u in &uris {
        if *u != OOB_REDIRECT && url::Url::parse(u).is_err() {
            return Err(AppError::Unprocessable(
                "Validation failed: Redirect URI must be an absolute URI.".into(),
            ));
        }
    }
    let scopes = Scopes::parse(scopes)
        .map_err(|e| AppError::Unprocessable(format!("Validation failed: {e}")))?;
    let secret = random_secret();
    let (client_id, secret_hash) = (random_secret(), digest(&secret));
    let (uris, website) = (uris.join("\n"), website.map(str::to_string));
    let app = db
        .transaction(move |c| {
            let id = id::next_id();
            diesel::insert_into(oauth_applications::table)
                .values((
                    oauth_applications::id.eq(id),
                    oauth_applications::name.eq(&name),
                    oauth_applications::website.eq(&website),
                    oauth_applications::redirect_uris.eq(&uris),
                    oauth_applications::scopes.eq(scopes.as_string()),
                    oauth_applications::client_id.eq(&client_id),
                    oauth_applications::client_secret_hash.eq(&secret_hash),
                    oauth_applications::created_at.eq(now()),
                ))
                .execute(c)?;
            Ok::<_, AppError>(
                oauth_applications::table
                    .find(id)
                    .select(Application::as_select())
                    .first(c)?,
            )
        })
        .await?;
    Ok(NewApplication {
        app,
        client_secret: secret,
    })
}

/// The app with this client id and secret.
pub async fn authenticate_client(
    db: &Db,
    client_id: &str,
    client_secret: &str,
) -> AppResult<Application> {
    let (cid, hash) = (client_id.to_string(), digest(client_secret));
    db.run(move |c| {
        oauth_applications::table
            .filter(oauth_applications::client_id.eq(cid))
            .filter(oauth_applications::client_secret_hash.eq(hash))
            .select(Application::as_select())
            .first(c)
            .optional()
            .map_err(AppError::from)
    })
    .await?
    .ok_or_else(|| AppError::Unauthorized("Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.".into()))
}

pub async fn application_by_client_id(db: &Db, client_id: &str) -> AppResult<Option<Application>> {
    let cid = client_id.to_string();
    db.run(move |c| {
        oauth_applications::table
            .filter(oauth_applications::client_id.eq(cid))
            .select(Application::as_select())
            .first(c)
            .optional()
            .map_err(AppError::from)
    })
    .await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oauth_tokens)]
pub struct Token {
    pub id: i64,
    pub token_hash: String,
    pub application_id: Option<i64>,
    pub user_id: Option<i64>,
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl Token {
    pub fn scopes(&self) -> Scopes {
        Scopes::parse(&self.scopes).unwrap_or_else(|_| Scopes(vec![]))
    }
}

fn insert_token(
    c: &mut DbConn,
    app: Option<i64>,
    user: Option<i64>,
    scopes: &Scopes,
) -> QueryResult<(String, Token)> {
    let secret = random_secret();
    let id = id::next_id();
    diesel::insert_into(oauth_tokens::table)
        .values((
            oauth_tokens::id.eq(id),
            oauth_tokens::token_hash.eq(digest(&secret)),
            oauth_tokens::application_id.eq(app),
            oauth_tokens::user_id.eq(user),
            oauth_tokens::scopes.eq(scopes.as_string()),
            oauth_tokens::created_at.eq(now()),
        ))
        .execute(c)?;
    let t = oauth_tokens::table
        .find(id)
        .select(Token::as_select())
        .first(c)?;
    Ok((secret, t))
}

/// A new access token; returns the secret (shown once) and the row.
pub async fn issue_token(
    db: &Db,
    app: Option<i64>,
    user: Option<i64>,
    scopes: Scopes,
) -> AppResult<(String, Token)> {
    db.transaction(move |c| insert_token(c, app, user, &scopes).map_err(AppError::from))
        .await
}

/// How stale a token's `last_used_at` may get: it is written at most this
/// often, so reading a token stays a read.
const LAST_USED_PRECISION: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The live token behind a bearer secret; notes when it was last used (for
/// the sessions page and the dashboard's active people), within the hour.
pub async fn find_token(db: &Db, secret: &str) -> AppResult<Option<Token>> {
    let hash = digest(secret);
    let token = db
        .run(move |c| {
            oauth_tokens::table
                .filter(oauth_tokens::token_hash.eq(hash))
                .filter(oauth_tokens::revoked_at.is_null())
                .select(Token::as_select())
                .first(c)
                .optional()
                .map_err(AppError::from)
        })
        .await?;
    if let Some(t) = &token {
        let t_now = now();
        if t.last_used_at
            .is_none_or(|u| t_now - u > LAST_USED_PRECISION)
        {
            let id = t.id;
            let touched = db
                .run(move |c| {
                    diesel::update(oauth_tokens::table.find(id))
                        .set(oauth_tokens::last_used_at.eq(t_now))
                        .execute(c)
                        .map_err(AppError::from)
                })
                .await;
            if let Err(e) = touched {
                tracing::debug!(error = %e, "token use not recorded");
            }
        }
    }
    Ok(token)
}

/// Revokes a token of this app (or any token if `app` is None); unknown tokens are fine (RFC 7009).
pub async fn revoke_token(db: &Db, secret: &str, app: Option<i64>) -> AppResult<()> {
    let hash = digest(secret);
    db.transaction(move |c| {
        let mut q = oauth_tokens::table
            .filter(oauth_tokens::token_hash.eq(hash))
            .filter(oauth_tokens::revoked_at.is_null())
            .select(oauth_tokens::id)
            .into_boxed();
        if let Some(a) = app {
            q = q.filter(oauth_tokens::application_id.eq(a));
        }
        for t in q.load::<i64>(c)? {
            revoke(c, t)?;
        }
        Ok::<_, AppError>(())
    })
    .await
}

/// Revokes token `token_id` of `user_id` (a settings page's button); false
/// if it is not theirs or already revoked.
pub async fn revoke_user_token(db: &Db, user_id: i64, token_id: i64) -> AppResult<bool> {
    db.transaction(move |c| {
        let live = oauth_tokens::table
            .filter(oauth_tokens::id.eq(token_id))
            .filter(oauth_tokens::user_id.eq(user_id))
            .filter(oauth_tokens::revoked_at.is_null())
            .count()
            .get_result::<i64>(c)?;
        if live == 0 {
            return Ok(false);
        }
        revoke(c, token_id)?;
        Ok::<_, AppError>(true)
    })
    .await
}

/// Marks a token revoked and closes the streams opened with it, on every node.
fn revoke(c: &mut DbConn, token_id: i64) -> AppResult<()> {
    diesel::update(oauth_tokens::table.find(token_id))
        .set(oauth_tokens::revoked_at.eq(now()))
        .execute(c)?;
    crate::stream::bus::publish(c, crate::stream::bus::Signal::Revoked { t: token_id })?;
    Ok(())
}

/// A new authorization code for the consent page; returns the code.
pub async fn issue_code(
    db: &Db,
    app: &Application,
    user_id: i64,
    redirect_uri: &str,
    scopes: &Scopes,
    challenge: Option<(String, String)>,
) -> AppResult<String> {
    let code = random_secret();
    let (hash, app_id, redirect, scopes) = (
        digest(&code),
        app.id,
        redirect_uri.to_string(),
        scopes.as_string(),
    );
    db.transaction(move |c| {
        let t = now();
        diesel::insert_into(oauth_codes::table)
            .values((
                oauth_codes::id.eq(id::next_id()),
                oauth_codes::code_hash.eq(hash),
                oauth_codes::application_id.eq(app_id),
                oauth_codes::user_id.eq(user_id),
                oauth_codes::redirect_uri.eq(redirect),
                oauth_codes::scopes.eq(scopes),
                oauth_codes::code_challenge.eq(challenge.as_ref().map(|c| c.0.clone())),
                oauth_codes::code_challenge_method.eq(challenge.as_ref().map(|c| c.1.clone())),
                oauth_codes::expires_at.eq(t + chrono::Duration::minutes(CODE_LIFETIME_MINUTES)),
                oauth_codes::created_at.eq(t),
            ))
            .execute(c)?;
        Ok::<_, AppError>(())
    })
    .await?;
    Ok(code)
}

fn invalid_grant() -> AppError {
    AppError::BadRequest("The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.".into())
}

/// Exchanges a code (once) for a token, checking redirect URI and PKCE.
pub async fn exchange_code(
    db: &Db,
    app: &Application,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> AppResult<(String, Token)> {
    type CodeRow = (
        i64,
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        NaiveDateTime,
    );
    let (hash, app_id, redirect) = (digest(code), app.id, redirect_uri.to_string());
    let verifier = verifier.map(str::to_string);
    db.transaction(move |c| {
        let row: Option<CodeRow> = oauth_codes::table
            .filter(oauth_codes::code_hash.eq(&hash))
            .filter(oauth_codes::application_id.eq(app_id))
            .select((
                oauth_codes::id,
                oauth_codes::user_id,
                oauth_codes::redirect_uri,
                oauth_codes::scopes,
                oauth_codes::code_challenge,
                oauth_codes::code_challenge_method,
                oauth_codes::expires_at,
            ))
            .first(c)
            .optional()?;
        let Some((id, user_id, stored_redirect, scopes, challenge, method, expires)) = row else {
            return Err(invalid_grant());
        };
        // Single use, whatever happens next.
        diesel::delete(oauth_codes::table.find(id)).execute(c)?;
        if expires < now() || stored_redirect != redirect {
            return Err(invalid_grant());
        }
        if let Some(ch) = challenge {
            let v = verifier.ok_or_else(invalid_grant)?;
            let ok = match method.as_deref() {
                Some("S256") | None => URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == ch,
                Some("plain") => v == ch,
                _ => false,
            };
            if !ok {
                return Err(invalid_grant());
            }
        }
        let scopes = Scopes::parse(&scopes).map_err(AppError::BadRequest)?;
        Ok(insert_token(c, Some(app_id), Some(user_id), &scopes)?)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_rules() {
        let s = Scopes::parse("read write:statuses follow").unwrap();
        assert!(s.allows("read:accounts"));
        assert!(s.allows("write:statuses"));
        assert!(!s.allows("write:favourites"));
        assert!(s.allows("write:follows"), "follow grants write:follows");
        assert!(!s.allows("admin:read"));
        assert!(Scopes::parse("read bogus").is_err());
        assert_eq!(Scopes::parse("").unwrap().as_string(), "read");
        assert!(
            Scopes::parse("read:statuses")
                .unwrap()
                .within(&Scopes::parse("read write").unwrap())
        );
        assert!(
            !Scopes::parse("write")
                .unwrap()
                .within(&Scopes::parse("read").unwrap())
        );
    }

    #[test]
    fn secrets_are_random_and_digested() {
        let (a, b) = (random_secret(), random_secret());
        assert_ne!(a, b);
        assert!(a.len() >= 43);
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), a);
    }
}
