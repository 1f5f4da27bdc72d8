use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{accounts, follows};

use super::Account;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, PartialEq)]
#[diesel(table_name = follows)]
pub struct Follow {
    pub id: i64,
    pub account_id: i64,
    pub target_account_id: i64,
    pub uri: Option<String>,
    pub pending: bool,
    pub show_reblogs: bool,
    pub notify: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Follow {
    pub fn find(conn: &mut DbConn, follower: i64, target: i64) -> QueryResult<Option<Follow>> {
        follows::table
            .filter(follows::account_id.eq(follower))
            .filter(follows::target_account_id.eq(target))
            .select(Follow::as_select())
            .first(conn)
            .optional()
    }

    pub fn by_uri(conn: &mut DbConn, uri: &str) -> QueryResult<Option<Follow>> {
        follows::table
            .filter(follows::uri.eq(uri))
            .select(Follow::as_select())
            .first(conn)
            .optional()
    }

    pub fn insert(
        conn: &mut DbConn,
        follower: i64,
        target: i64,
        uri: Option<&str>,
        pending: bool,
    ) -> QueryResult<Follow> {
        let id = crate::db::id::next_id();
        let t = crate::db::now();
        diesel::insert_into(follows::table)
            .values((
                follows::id.eq(id),
                follows::account_id.eq(follower),
                follows::target_account_id.eq(target),
                follows::uri.eq(uri),
                follows::pending.eq(pending),
                follows::created_at.eq(t),
                follows::updated_at.eq(t),
            ))
            .execute(conn)?;
        if !pending {
            super::account::bump_follow_counts(conn, follower, target, 1)?;
        }
        follows::table
            .find(id)
            .select(Follow::as_select())
            .first(conn)
    }

    pub fn set_accepted(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        let f: Follow = follows::table
            .find(id)
            .select(Follow::as_select())
            .first(conn)?;
        if f.pending {
            super::account::bump_follow_counts(conn, f.account_id, f.target_account_id, 1)?;
        }
        diesel::update(follows::table.find(id))
            .set((
                follows::pending.eq(false),
                follows::updated_at.eq(crate::db::now()),
            ))
            .execute(conn)
    }

    pub fn set_uri(conn: &mut DbConn, id: i64, uri: &str) -> QueryResult<usize> {
        diesel::update(follows::table.find(id))
            .set(follows::uri.eq(uri))
            .execute(conn)
    }

    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        let Some(f) = follows::table
            .find(id)
            .select(Follow::as_select())
            .first::<Follow>(conn)
            .optional()?
        else {
            return Ok(0);
        };
        if !f.pending {
            super::account::bump_follow_counts(conn, f.account_id, f.target_account_id, -1)?;
        }
        // Lists hold only followed accounts.
        use crate::db::schema::{list_accounts, lists};
        let owned: Vec<i64> = lists::table
            .filter(lists::account_id.eq(f.account_id))
            .select(lists::id)
            .load(conn)?;
        if !owned.is_empty() {
            diesel::delete(
                list_accounts::table
                    .filter(list_accounts::list_id.eq_any(owned))
                    .filter(list_accounts::account_id.eq(f.target_account_id)),
            )
            .execute(conn)?;
        }
        diesel::delete(follows::table.find(id)).execute(conn)
    }

    /// Sets what a follower wants from a follow (boosts, post notifications).
    pub fn set_options(
        conn: &mut DbConn,
        id: i64,
        show_reblogs: bool,
        notify: bool,
    ) -> QueryResult<usize> {
        diesel::update(follows::table.find(id))
            .set((
                follows::show_reblogs.eq(show_reblogs),
                follows::notify.eq(notify),
            ))
            .execute(conn)
    }

    /// Every follow from or to an account (to remove them one by one, so
    /// the counters of the other side stay right).
    pub fn involving(conn: &mut DbConn, account: i64) -> QueryResult<Vec<Follow>> {
        follows::table
            .filter(
                follows::account_id
                    .eq(account)
                    .or(follows::target_account_id.eq(account)),
            )
            .select(Follow::as_select())
            .load(conn)
    }

    /// Accepted followers of an account, with their accounts.
    pub fn followers_of(conn: &mut DbConn, target: i64) -> QueryResult<Vec<Account>> {
        follows::table
            .inner_join(accounts::table.on(accounts::id.eq(follows::account_id)))
            .filter(follows::target_account_id.eq(target))
            .filter(follows::pending.eq(false))
            .order(follows::id.desc())
            .select(Account::as_select())
            .load(conn)
    }

    /// Accounts an account follows (accepted).
    pub fn following_of(conn: &mut DbConn, follower: i64) -> QueryResult<Vec<Account>> {
        follows::table
            .inner_join(accounts::table.on(accounts::id.eq(follows::target_account_id)))
            .filter(follows::account_id.eq(follower))
            .filter(follows::pending.eq(false))
            .order(follows::id.desc())
            .select(Account::as_select())
            .load(conn)
    }

    pub fn count_followers(conn: &mut DbConn, target: i64) -> QueryResult<i64> {
        follows::table
            .filter(follows::target_account_id.eq(target))
            .filter(follows::pending.eq(false))
            .count()
            .get_result(conn)
    }

    pub fn count_following(conn: &mut DbConn, follower: i64) -> QueryResult<i64> {
        follows::table
            .filter(follows::account_id.eq(follower))
            .filter(follows::pending.eq(false))
            .count()
            .get_result(conn)
    }

    /// Distinct inboxes (shared where known) of an account's remote followers.
    pub fn follower_inboxes(conn: &mut DbConn, target: i64) -> QueryResult<Vec<String>> {
        let rows: Vec<(Option<String>, Option<String>)> = follows::table
            .inner_join(accounts::table.on(accounts::id.eq(follows::account_id)))
            .filter(follows::target_account_id.eq(target))
            .filter(follows::pending.eq(false))
            .filter(accounts::domain.is_not_null())
            .select((accounts::shared_inbox_url, accounts::inbox_url))
            .load(conn)?;
        let mut inboxes: Vec<String> = rows.into_iter().filter_map(|(s, i)| s.or(i)).collect();
        inboxes.sort();
        inboxes.dedup();
        Ok(inboxes)
    }
}
