//! Lists: a user's named selections of accounts it follows, each with its
//! own timeline. Private to the owner and never federated.

use diesel::prelude::*;

use crate::db::models::{Account, Follow};
use crate::db::schema::{list_accounts, lists};
use crate::db::{DbConn, id, now};
use crate::error::{AppError, AppResult};

pub const REPLIES_POLICIES: &[&str] = &["followed", "list", "none"];
const TITLE_MAX: usize = 256;
const LISTS_MAX: i64 = 50;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lists)]
pub struct List {
    pub id: i64,
    pub account_id: i64,
    pub title: String,
    pub replies_policy: String,
    pub exclusive: bool,
    pub created_at: chrono::NaiveDateTime,
}

/// What a create or update may change; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct ListChange {
    pub title: Option<String>,
    pub replies_policy: Option<String>,
    pub exclusive: Option<bool>,
}

fn check(change: &ListChange) -> AppResult<()> {
    if let Some(t) = &change.title {
        if t.trim().is_empty() {
            return Err(AppError::Unprocessable(
                "Validation failed: Title can't be blank".into(),
            ));
        }
        if t.chars().count() > TITLE_MAX {
            return Err(AppError::Unprocessable(format!(
                "Validation failed: Title is too long (maximum is {TITLE_MAX} characters)"
            )));
        }
    }
    if let Some(p) = &change.replies_policy
        && !REPLIES_POLICIES.contains(&p.as_str())
    {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: Replies policy '{p}' is not one of {}",
            REPLIES_POLICIES.join(", ")
        )));
    }
    Ok(())
}

/// The owner's list with this id; someone else's list is not found.
pub fn owned(c: &mut DbConn, owner: i64, list_id: i64) -> AppResult<List> {
    lists::table
        .filter(lists::id.eq(list_id))
        .filter(lists::account_id.eq(owner))
        .select(List::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| AppError::NotFound("Record not found".into()))
}

pub fn all(c: &mut DbConn, owner: i64) -> QueryResult<Vec<List>> {
    lists::table
        .filter(lists::account_id.eq(owner))
        .order(lists::id.asc())
        .select(List::as_select())
        .load(c)
}

pub fn create(c: &mut DbConn, owner: i64, change: ListChange) -> AppResult<List> {
    if change.title.is_none() {
        return Err(AppError::Unprocessable(
            "Validation failed: Title can't be blank".into(),
        ));
    }
    check(&change)?;
    let count: i64 = lists::table
        .filter(lists::account_id.eq(owner))
        .count()
        .get_result(c)?;
    if count >= LISTS_MAX {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: You cannot have more than {LISTS_MAX} lists"
        )));
    }
    let id = id::next_id();
    diesel::insert_into(lists::table)
        .values((
            lists::id.eq(id),
            lists::account_id.eq(owner),
            lists::title.eq(change.title.unwrap_or_default().trim()),
            lists::replies_policy.eq(change.replies_policy.as_deref().unwrap_or("list")),
            lists::exclusive.eq(change.exclusive.unwrap_or(false)),
            lists::created_at.eq(now()),
        ))
        .execute(c)?;
    owned(c, owner, id)
}

pub fn update(c: &mut DbConn, owner: i64, list_id: i64, change: ListChange) -> AppResult<List> {
    check(&change)?;
    let list = owned(c, owner, list_id)?;
    diesel::update(lists::table.filter(lists::id.eq(list.id)))
        .set((
            lists::title.eq(change
                .title
                .map(|t| t.trim().to_string())
                .unwrap_or(list.title)),
            lists::replies_policy.eq(change.replies_policy.unwrap_or(list.replies_policy)),
            lists::exclusive.eq(change.exclusive.unwrap_or(list.exclusive)),
        ))
        .execute(c)?;
    owned(c, owner, list_id)
}

pub fn delete(c: &mut DbConn, owner: i64, list_id: i64) -> AppResult<()> {
    let list = owned(c, owner, list_id)?;
    diesel::delete(lists::table.filter(lists::id.eq(list.id))).execute(c)?;
    Ok(())
}

/// Adds accounts to a list; each must be one the owner follows (as
/// Mastodon requires), and must exist.
pub fn add_members(c: &mut DbConn, owner: i64, list_id: i64, accounts: &[i64]) -> AppResult<()> {
    let list = owned(c, owner, list_id)?;
    for &a in accounts {
        Account::by_id(c, a)
            .optional()?
            .ok_or_else(|| AppError::NotFound("Record not found".into()))?;
        if Follow::find(c, owner, a)?.is_none_or(|f| f.pending) {
            return Err(AppError::Unprocessable(
                "Validation failed: You must follow this account to add it to a list".into(),
            ));
        }
    }
    for &a in accounts {
        let present: bool = diesel::select(diesel::dsl::exists(
            list_accounts::table
                .filter(list_accounts::list_id.eq(list.id))
                .filter(list_accounts::account_id.eq(a)),
        ))
        .get_result(c)?;
        if !present {
            diesel::insert_into(list_accounts::table)
                .values((
                    list_accounts::list_id.eq(list.id),
                    list_accounts::account_id.eq(a),
                    list_accounts::created_at.eq(now()),
                ))
                .execute(c)?;
        }
    }
    Ok(())
}

pub fn remove_members(c: &mut DbConn, owner: i64, list_id: i64, accounts: &[i64]) -> AppResult<()> {
    let list = owned(c, owner, list_id)?;
    diesel::delete(
        list_accounts::table
            .filter(list_accounts::list_id.eq(list.id))
            .filter(list_accounts::account_id.eq_any(accounts)),
    )
    .execute(c)?;
    Ok(())
}

/// The owner's lists that hold `account`.
pub fn containing(c: &mut DbConn, owner: i64, account: i64) -> QueryResult<Vec<List>> {
    lists::table
        .inner_join(list_accounts::table)
        .filter(lists::account_id.eq(owner))
        .filter(list_accounts::account_id.eq(account))
        .order(lists::id.asc())
        .select(List::as_select())
        .load(c)
}
