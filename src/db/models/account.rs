use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::accounts;
use crate::db::{DbConn, lower};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, PartialEq)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub domain: Option<String>,
    pub actor_type: String,
    pub uri: String,
    pub url: Option<String>,
    pub display_name: String,
    pub note: String,
    pub fields: String,
    pub avatar_url: Option<String>,
    pub header_url: Option<String>,
    pub inbox_url: Option<String>,
    pub outbox_url: Option<String>,
    pub shared_inbox_url: Option<String>,
    pub followers_url: Option<String>,
    pub following_url: Option<String>,
    pub public_key_pem: Option<String>,
    pub private_key_pem: Option<String>,
    pub public_key_id: Option<String>,
    pub locked: bool,
    pub discoverable: bool,
    pub bot: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub fetched_at: Option<NaiveDateTime>,
    pub suspended_at: Option<NaiveDateTime>,
    pub silenced_at: Option<NaiveDateTime>,
    pub statuses_count: i64,
    pub followers_count: i64,
    pub following_count: i64,
    pub last_status_at: Option<NaiveDateTime>,
    pub indexable: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount {
    pub id: i64,
    pub username: String,
    pub domain: Option<String>,
    pub actor_type: String,
    pub uri: String,
    pub url: Option<String>,
    pub display_name: String,
    pub locked: bool,
    pub discoverable: bool,
    pub bot: bool,
    pub public_key_pem: Option<String>,
    pub private_key_pem: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Account {
    pub fn is_local(&self) -> bool {
        self.domain.is_none()
    }

    pub fn insert(conn: &mut DbConn, new: &NewAccount) -> QueryResult<Account> {
        diesel::insert_into(accounts::table)
            .values(new)
            .execute(conn)?;
        Self::by_id(conn, new.id)
    }

    pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Account> {
        accounts::table
            .find(id)
            .select(Account::as_select())
            .first(conn)
    }

    /// A local account by username, ignoring case.
    pub fn local_by_username(conn: &mut DbConn, username: &str) -> QueryResult<Option<Account>> {
        accounts::table
            .filter(lower(accounts::username).eq(username.to_lowercase()))
            .filter(accounts::domain.is_null())
            .select(Account::as_select())
            .first(conn)
            .optional()
    }

    pub fn count_local(conn: &mut DbConn) -> QueryResult<i64> {
        accounts::table
            .filter(accounts::domain.is_null())
            .count()
            .get_result(conn)
    }
}

/// What we learn about a remote actor each time we fetch it.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = accounts, treat_none_as_null = true)]
pub struct RemoteActorData {
    pub username: String,
    pub domain: Option<String>,
    pub actor_type: String,
    pub uri: String,
    pub url: Option<String>,
    pub display_name: String,
    pub note: String,
    pub fields: String,
    pub avatar_url: Option<String>,
    pub header_url: Option<String>,
    pub inbox_url: Option<String>,
    pub outbox_url: Option<String>,
    pub shared_inbox_url: Option<String>,
    pub followers_url: Option<String>,
    pub following_url: Option<String>,
    pub public_key_pem: Option<String>,
    pub public_key_id: Option<String>,
    pub locked: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub bot: bool,
    pub updated_at: NaiveDateTime,
    pub fetched_at: Option<NaiveDateTime>,
}

impl Account {
    pub fn by_uri(conn: &mut DbConn, uri: &str) -> QueryResult<Option<Account>> {
        accounts::table
            .filter(accounts::uri.eq(uri))
            .select(Account::as_select())
            .first(conn)
            .optional()
    }

    /// Creates or refreshes a remote actor, keyed by its ActivityPub id; a
    /// new id for a known `user@domain` takes that account over (as Mastodon
    /// does when a server recreates an actor).
    pub fn upsert_remote(conn: &mut DbConn, data: &RemoteActorData) -> QueryResult<Account> {
        let existing = match Self::by_uri(conn, &data.uri)? {
            Some(a) => Some(a),
            // Spelled as the unique index is, so the lookup stays on it
            // (by domain alone it would read every account of the host).
            None => accounts::table
                .filter(lower(accounts::username).eq(data.username.to_lowercase()))
                .filter(
                    diesel::dsl::sql::<diesel::sql_types::Text>("COALESCE(domain, '')")
                        .eq(data.domain.clone().unwrap_or_default()),
                )
                .select(Account::as_select())
                .first(conn)
                .optional()?,
        };
        if let Some(existing) = existing {
            diesel::update(accounts::table.find(existing.id))
                .set(data)
                .execute(conn)?;
            return Self::by_id(conn, existing.id);
        }
        let id = crate::db::id::next_id();
        diesel::insert_into(accounts::table)
            .values((
                accounts::id.eq(id),
                accounts::created_at.eq(data.updated_at),
                data,
            ))
            .execute(conn)?;
        Self::by_id(conn, id)
    }

    pub fn set_keys(conn: &mut DbConn, id: i64, public: &str, private: &str) -> QueryResult<usize> {
        diesel::update(accounts::table.find(id))
            .set((
                accounts::public_key_pem.eq(public),
                accounts::private_key_pem.eq(private),
            ))
            .execute(conn)
    }

    /// Local accounts that have no key pair yet.
    pub fn local_without_keys(conn: &mut DbConn) -> QueryResult<Vec<Account>> {
        accounts::table
            .filter(accounts::domain.is_null())
            .filter(accounts::private_key_pem.is_null())
            .select(Account::as_select())
            .load(conn)
    }
}

/// Moves an account's follower/following counters.
pub fn bump_follow_counts(
    conn: &mut DbConn,
    follower: i64,
    target: i64,
    by: i64,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(follower))
        .set(accounts::following_count.eq(accounts::following_count + by))
        .execute(conn)?;
    diesel::update(accounts::table.find(target))
        .set(accounts::followers_count.eq(accounts::followers_count + by))
        .execute(conn)?;
    Ok(())
}
