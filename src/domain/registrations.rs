//! Sign-up from apps, as `MEETFIELD_REGISTRATIONS` allows it: invite codes
//! and the admins' approval queue.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::app::AppState;
use crate::config::Registrations;
use crate::db::models::{Account, Role, User};
use crate::db::schema::{invites, users};
use crate::db::{Db, DbConn, id, now};
use crate::domain::users::{NewLocalUser, Origin, create_user};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invites)]
pub struct Invite {
    pub id: i64,
    pub code: String,
    pub created_by: Option<i64>,
    pub max_uses: Option<i32>,
    pub uses: i32,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl Invite {
    pub fn usable(&self) -> bool {
        self.revoked_at.is_none()
            && self.expires_at.is_none_or(|t| t > now())
            && self.max_uses.is_none_or(|m| self.uses < m)
    }
}

fn invalid_invite() -> AppError {
    AppError::Unprocessable("Validation failed: Invite code is invalid or used up".into())
}

/// Counts one use of an invite; fails if it cannot be used.
pub fn use_invite(c: &mut DbConn, code: &str) -> AppResult<i64> {
    let invite: Invite = invites::table
        .filter(invites::code.eq(code.trim()))
        .select(Invite::as_select())
        .first(c)
        .optional()?
        .ok_or_else(invalid_invite)?;
    if !invite.usable() {
        return Err(invalid_invite());
    }
    diesel::update(invites::table.find(invite.id))
        .set(invites::uses.eq(invites::uses + 1))
        .execute(c)?;
    Ok(invite.id)
}

pub async fn create_invite(
    db: &Db,
    created_by: Option<i64>,
    max_uses: Option<i32>,
    expires_in: Option<Duration>,
) -> AppResult<Invite> {
    if max_uses.is_some_and(|m| m < 1) {
        return Err(AppError::Unprocessable(
            "max uses must be at least 1".into(),
        ));
    }
    // Short enough to read out; 48 bits of randomness.
    let code: String = crate::domain::oauth::random_secret()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    db.transaction(move |c| {
        let id = id::next_id();
        diesel::insert_into(invites::table)
            .values((
                invites::id.eq(id),
                invites::code.eq(&code),
                invites::created_by.eq(created_by),
                invites::max_uses.eq(max_uses),
                invites::expires_at.eq(expires_in.map(|d| now() + d)),
                invites::created_at.eq(now()),
            ))
            .execute(c)?;
        Ok::<_, AppError>(
            invites::table
                .find(id)
                .select(Invite::as_select())
                .first(c)?,
        )
    })
    .await
}

pub async fn list_invites(db: &Db) -> AppResult<Vec<Invite>> {
    db.run(|c| {
        Ok::<_, AppError>(
            invites::table
                .order(invites::id.desc())
                .select(Invite::as_select())
                .load(c)?,
        )
    })
    .await
}

pub async fn revoke_invite(db: &Db, code: &str) -> AppResult<()> {
    let code = code.to_string();
    db.transaction(move |c| {
        let n = diesel::update(invites::table.filter(invites::code.eq(&code)))
            .set(invites::revoked_at.eq(now()))
            .execute(c)?;
        if n == 0 {
            return Err(AppError::NotFound(format!("no invite '{code}'")));
        }
        Ok(())
    })
    .await
}

/// What an app sends to `POST /api/v1/accounts`.
#[derive(Debug, Clone)]
pub struct SignUp {
    pub username: String,
    pub email: String,
    pub password: String,
    pub agreement: bool,
    pub locale: Option<String>,
    pub reason: Option<String>,
    pub invite_code: Option<String>,
}

/// Creates the user if the instance's registration mode allows it. With an
/// invite it needs no approval (as on Mastodon).
pub async fn sign_up(state: &AppState, s: SignUp) -> AppResult<(User, Account)> {
    let mode = state.config.registrations;
    let invite = s.invite_code.clone().filter(|c| !c.trim().is_empty());
    let allowed = match mode {
        Registrations::Closed => false,
        Registrations::Invite => invite.is_some(),
        Registrations::Approval | Registrations::Open => true,
    };
    // With single sign-on only, accounts come from the identity provider.
    if !allowed || state.config.sso_only {
        return Err(AppError::Forbidden("This action is not allowed".into()));
    }
    if !s.agreement {
        return Err(AppError::Unprocessable(
            "Validation failed: Agreement must be accepted".into(),
        ));
    }
    let needs_approval = mode == Registrations::Approval && invite.is_none();
    if needs_approval && s.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(AppError::Unprocessable(
            "Validation failed: Reason can't be blank".into(),
        ));
    }
    create_user(
        &state.db,
        &state.config,
        NewLocalUser {
            username: s.username,
            email: s.email,
            password: s.password,
            role: Role::User,
        },
        Origin {
            needs_approval,
            reason: s.reason,
            invite_code: invite,
            locale: s.locale.filter(|l| !l.is_empty() && l.len() <= 16),
            external: false,
        },
    )
    .await
}

/// Sign-ups waiting for approval, oldest first.
pub async fn pending(db: &Db) -> AppResult<Vec<(User, Account)>> {
    db.run(|c| {
        use crate::db::schema::accounts;
        Ok::<_, AppError>(
            users::table
                .inner_join(accounts::table)
                .filter(users::approved.eq(false))
                .order(users::id.asc())
                .select((User::as_select(), Account::as_select()))
                .load(c)?,
        )
    })
    .await
}

async fn pending_user(db: &Db, username: &str) -> AppResult<(User, Account)> {
    let name = username.to_string();
    db.run(move |c| Ok::<_, AppError>(User::by_username(c, &name)?))
        .await?
        .filter(|(u, _)| !u.approved)
        .ok_or_else(|| {
            AppError::NotFound(format!("no sign-up from '{username}' waits for approval"))
        })
}

pub async fn approve(db: &Db, username: &str) -> AppResult<()> {
    let (user, _) = pending_user(db, username).await?;
    db.transaction(move |c| {
        diesel::update(users::table.find(user.id))
            .set((users::approved.eq(true), users::updated_at.eq(now())))
            .execute(c)?;
        Ok(())
    })
    .await
}

/// Refuses a sign-up: the user and its account are removed (nothing was
/// ever published from it).
pub async fn reject(db: &Db, username: &str) -> AppResult<()> {
    let (user, account) = pending_user(db, username).await?;
    db.transaction(move |c| {
        use crate::db::schema::{accounts, oauth_tokens};
        diesel::delete(oauth_tokens::table.filter(oauth_tokens::user_id.eq(user.id))).execute(c)?;
        diesel::delete(users::table.find(user.id)).execute(c)?;
        diesel::delete(accounts::table.find(account.id)).execute(c)?;
        Ok(())
    })
    .await
}
