use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{accounts, users};
use crate::db::{DbConn, lower};

use super::Account;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Moderator,
    Admin,
    /// The instance's owner (Mastodon's built-in Owner): an admin no other
    /// admin can demote or act on; given with `meetfield admin role`.
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Mastodon's role positions: a role acts only on lower ones.
    pub fn rank(self) -> u32 {
        match self {
            Role::User => 0,
            Role::Moderator => 10,
            Role::Admin => 100,
            Role::Owner => 1000,
        }
    }

    pub fn is_staff(self) -> bool {
        self != Role::User
    }

    /// The stored names of the staff roles (for queries).
    pub const STAFF: [&'static str; 3] = ["moderator", "admin", "owner"];

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "moderator" => Some(Role::Moderator),
            "admin" => Some(Role::Admin),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, PartialEq)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub account_id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub approved: bool,
    pub confirmed_at: Option<NaiveDateTime>,
    pub locale: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_sign_in_at: Option<NaiveDateTime>,
    pub sign_up_reason: Option<String>,
    pub invite_id: Option<i64>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: i64,
    pub account_id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub approved: bool,
    pub confirmed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub sign_up_reason: Option<String>,
    pub invite_id: Option<i64>,
}

impl User {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::User)
    }

    pub fn insert(conn: &mut DbConn, new: &NewUser) -> QueryResult<User> {
        diesel::insert_into(users::table)
            .values(new)
            .execute(conn)?;
        users::table
            .find(new.id)
            .select(User::as_select())
            .first(conn)
    }

    pub fn email_taken(conn: &mut DbConn, email: &str) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            users::table.filter(lower(users::email).eq(email.to_lowercase())),
        ))
        .get_result(conn)
    }

    /// The user and account of a local username, ignoring case.
    pub fn by_username(conn: &mut DbConn, username: &str) -> QueryResult<Option<(User, Account)>> {
        users::table
            .inner_join(accounts::table)
            .filter(lower(accounts::username).eq(username.to_lowercase()))
            .filter(accounts::domain.is_null())
            .select((User::as_select(), Account::as_select()))
            .first(conn)
            .optional()
    }

    /// All local users with their accounts, oldest first.
    pub fn list(conn: &mut DbConn) -> QueryResult<Vec<(User, Account)>> {
        users::table
            .inner_join(accounts::table)
            .order(users::id.asc())
            .select((User::as_select(), Account::as_select()))
            .load(conn)
    }

    pub fn set_password_hash(conn: &mut DbConn, id: i64, hash: &str) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((
                users::password_hash.eq(hash),
                users::updated_at.eq(crate::db::now()),
            ))
            .execute(conn)
    }

    pub fn set_disabled(conn: &mut DbConn, id: i64, disabled: bool) -> QueryResult<usize> {
        let n = diesel::update(users::table.find(id))
            .set((
                users::disabled.eq(disabled),
                users::updated_at.eq(crate::db::now()),
            ))
            .execute(conn)?;
        // The account changed for partners reading our directory.
        let account: i64 = users::table
            .find(id)
            .select(users::account_id)
            .first(conn)?;
        diesel::update(crate::db::schema::accounts::table.find(account))
            .set(crate::db::schema::accounts::updated_at.eq(crate::db::now()))
            .execute(conn)?;
        Ok(n)
    }
}
