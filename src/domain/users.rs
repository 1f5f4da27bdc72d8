//! Local users: creation, passwords, disabling.

use diesel::prelude::*;

use crate::config::Config;
use crate::db::models::{Account, NewAccount, NewUser, Role, User};
use crate::db::{Db, id, now};
use crate::domain::password;
use crate::error::{AppError, AppResult};
use crate::federation::urls;

pub const USERNAME_MAX: usize = 30;

/// What it takes to create a local user.
#[derive(Debug, Clone)]
pub struct NewLocalUser {
    pub username: String,
    pub email: String,
    pub password: String,
    pub role: Role,
}

/// Letters, digits and `_`, with `.` or `-` only inside, as Mastodon allows.
pub fn validate_username(name: &str) -> Result<(), String> {
    if name.eq_ignore_ascii_case(crate::domain::instance::INSTANCE_ACTOR_USERNAME) {
        return Err("username is reserved".into());
    }
    if name.is_empty() || name.chars().count() > USERNAME_MAX {
        return Err(format!("username must be 1 to {USERNAME_MAX} characters"));
    }
    let edge_ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let inner_ok = |c: char| edge_ok(c) || c == '.' || c == '-';
    let first = name.chars().next().unwrap_or('.');
    let last = name.chars().last().unwrap_or('.');
    if !edge_ok(first) || !edge_ok(last) || !name.chars().all(inner_ok) {
        return Err(
            "username may contain only letters, digits and underscores (dots and dashes inside)"
                .into(),
        );
    }
    Ok(())
}

pub fn validate_email(email: &str) -> Result<(), String> {
    let ok = match email.split_once('@') {
        Some((local, host)) => {
            !local.is_empty()
                && host.contains('.')
                && !host.starts_with('.')
                && !host.ends_with('.')
                && !email.chars().any(char::is_whitespace)
                && !host.contains('@')
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("'{email}' is not a valid email address"))
    }
}

/// Creates a local user and its Person account, ready to sign in.
pub async fn create_local_user(
    db: &Db,
    config: &Config,
    new: NewLocalUser,
) -> AppResult<(User, Account)> {
    create_user(db, config, new, Origin::default()).await
}

/// How a user came to be: by an admin (default), or by signing up.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// Signed up and waits for an admin's approval.
    pub needs_approval: bool,
    pub reason: Option<String>,
    /// An invite code, checked and used up in the same transaction.
    pub invite_code: Option<String>,
    pub locale: Option<String>,
    /// Signs in through an identity provider: no password of its own, and
    /// no approval (the provider vouches for the person).
    pub external: bool,
}

pub async fn create_user(
    db: &Db,
    config: &Config,
    new: NewLocalUser,
    origin: Origin,
) -> AppResult<(User, Account)> {
    validate_username(&new.username).map_err(AppError::Unprocessable)?;
    validate_email(&new.email).map_err(AppError::Unprocessable)?;
    let hash = if origin.external {
        // Not a PHC string: no password ever verifies against it.
        String::new()
    } else {
        password::check_strength(&new.password).map_err(AppError::Unprocessable)?;
        let pw = new.password.clone();
        tokio::task::spawn_blocking(move || password::hash(&pw))
            .await
            .map_err(|e| AppError::Internal(e.into()))??
    };
    let (public_key, private_key) = crate::domain::instance::generate_keypair().await?;
    let base = config.base_url();
    db.transaction(move |conn| {
        if Account::local_by_username(conn, &new.username)?.is_some() {
            return Err(AppError::Unprocessable(format!(
                "username '{}' is already taken",
                new.username
            )));
        }
        if User::email_taken(conn, &new.email)? {
            return Err(AppError::Unprocessable(format!(
                "email '{}' is already in use",
                new.email
            )));
        }
        let invite_id = match &origin.invite_code {
            Some(code) => Some(crate::domain::registrations::use_invite(conn, code)?),
            None => None,
        };
        let t = now();
        let account = Account::insert(
            conn,
            &NewAccount {
                id: id::next_id(),
                username: new.username.clone(),
                domain: None,
                actor_type: "Person".into(),
                uri: urls::user_uri(&base, &new.username),
                url: Some(urls::profile_url(&base, &new.username)),
                display_name: String::new(),
                locked: false,
                discoverable: true,
                bot: false,
                public_key_pem: Some(public_key),
                private_key_pem: Some(private_key),
                created_at: t,
                updated_at: t,
            },
        )?;
        let user = User::insert(
            conn,
            &NewUser {
                id: id::next_id(),
                account_id: account.id,
                email: new.email.clone(),
                password_hash: hash,
                role: new.role.as_str().into(),
                approved: !origin.needs_approval,
                // No e-mail is sent, so there is nothing to confirm.
                confirmed_at: Some(t),
                created_at: t,
                updated_at: t,
                sign_up_reason: origin.reason.clone(),
                invite_id,
            },
        )?;
        if let Some(locale) = &origin.locale {
            use crate::db::schema::users;
            diesel::update(users::table.find(user.id))
                .set(users::locale.eq(locale))
                .execute(conn)?;
        }
        let user = User::by_username(conn, &new.username)?
            .map(|(u, _)| u)
            .unwrap_or(user);
        Ok((user, account))
    })
    .await
}

async fn find_user(db: &Db, username: &str) -> AppResult<(User, Account)> {
    let name = username.to_string();
    db.run(move |conn| User::by_username(conn, &name).map_err(AppError::from))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no local user '{username}'")))
}

pub async fn set_password(db: &Db, username: &str, new_password: &str) -> AppResult<()> {
    password::check_strength(new_password).map_err(AppError::Unprocessable)?;
    let (user, _) = find_user(db, username).await?;
    let pw = new_password.to_string();
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    db.transaction(move |conn| {
        User::set_password_hash(conn, user.id, &hash)?;
        Ok::<_, AppError>(())
    })
    .await
}

pub async fn set_disabled(db: &Db, username: &str, disabled: bool) -> AppResult<()> {
    let (user, _) = find_user(db, username).await?;
    db.transaction(move |conn| {
        User::set_disabled(conn, user.id, disabled)?;
        if disabled {
            // Its tokens are refused from now on; open streams end too.
            crate::stream::bus::publish(
                conn,
                crate::stream::bus::Signal::Disconnect { a: user.account_id },
            )?;
        }
        Ok::<_, AppError>(())
    })
    .await
}

/// Gives a local user one of the built-in roles.
pub async fn set_role(db: &Db, username: &str, role: Role) -> AppResult<()> {
    let (user, _) = find_user(db, username).await?;
    db.run(move |conn| {
        use crate::db::schema::users;
        diesel::update(users::table.find(user.id))
            .set((
                users::role.eq(role.as_str()),
                users::updated_at.eq(crate::db::now()),
            ))
            .execute(conn)?;
        Ok::<_, AppError>(())
    })
    .await
}

/// The user behind a username or email and password, if they may sign in.
pub async fn authenticate(
    db: &Db,
    login: &str,
    password_given: &str,
) -> AppResult<(User, Account)> {
    let login = login.to_string();
    let found = db
        .run(move |conn| -> AppResult<Option<(User, Account)>> {
            if login.contains('@') {
                use crate::db::schema::{accounts, users};
                Ok(users::table
                    .inner_join(accounts::table)
                    .filter(crate::db::lower(users::email).eq(login.to_lowercase()))
                    .select((User::as_select(), Account::as_select()))
                    .first(conn)
                    .optional()?)
            } else {
                Ok(User::by_username(conn, &login)?)
            }
        })
        .await?;
    let invalid = || AppError::Unauthorized("Invalid email or password".into());
    let (user, account) = found.ok_or_else(invalid)?;
    let hash = user.password_hash.clone();
    let pw = password_given.to_string();
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &hash))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    if !ok {
        return Err(invalid());
    }
    if user.disabled {
        return Err(AppError::Forbidden(
            "Your login is currently disabled".into(),
        ));
    }
    if !user.approved {
        return Err(AppError::Forbidden(
            "Your login is currently pending approval".into(),
        ));
    }
    Ok((user, account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["alice", "a", "bob_smith", "jo.doe", "x-y", "A1"] {
            assert!(validate_username(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".alice",
            "alice.",
            "al ice",
            "al@ice",
            "élise",
            &"a".repeat(31),
        ] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(validate_email("a@b.example").is_ok());
        for bad in [
            "",
            "a",
            "a@b",
            "@b.example",
            "a b@c.example",
            "a@.example",
            "a@b@c.example",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }
}
