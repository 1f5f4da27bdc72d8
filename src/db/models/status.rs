use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{favourites, mentions, status_edits, status_tags, statuses};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, PartialEq)]
#[diesel(table_name = statuses)]
pub struct Status {
    pub id: i64,
    pub uri: String,
    pub url: Option<String>,
    pub account_id: i64,
    pub local: bool,
    pub visibility: String,
    pub text: Option<String>,
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub language: Option<String>,
    pub in_reply_to_id: Option<i64>,
    pub in_reply_to_uri: Option<String>,
    pub in_reply_to_account_id: Option<i64>,
    pub reblog_of_id: Option<i64>,
    pub replies_count: i64,
    pub reblogs_count: i64,
    pub favourites_count: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub edited_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = statuses)]
pub struct NewStatus {
    pub id: i64,
    pub uri: String,
    pub url: Option<String>,
    pub account_id: i64,
    pub local: bool,
    pub visibility: String,
    pub text: Option<String>,
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub language: Option<String>,
    pub in_reply_to_id: Option<i64>,
    pub in_reply_to_uri: Option<String>,
    pub in_reply_to_account_id: Option<i64>,
    pub reblog_of_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = status_edits)]
pub struct StatusEdit {
    pub id: i64,
    pub status_id: i64,
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub created_at: NaiveDateTime,
}

/// Which counter of a status to move.
#[derive(Debug, Clone, Copy)]
pub enum Counter {
    Replies,
    Reblogs,
    Favourites,
}

impl Status {
    pub fn insert(conn: &mut DbConn, new: &NewStatus) -> QueryResult<Status> {
        diesel::insert_into(statuses::table)
            .values(new)
            .execute(conn)?;
        if new.reblog_of_id.is_none() {
            use crate::db::schema::accounts;
            diesel::update(accounts::table.find(new.account_id))
                .set((
                    accounts::statuses_count.eq(accounts::statuses_count + 1),
                    accounts::last_status_at.eq(new.created_at),
                ))
                .execute(conn)?;
        }
        crate::stream::publish(conn, crate::stream::Signal::Update { s: new.id })?;
        Self::by_id(conn, new.id)
    }

    pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Status> {
        statuses::table
            .find(id)
            .select(Status::as_select())
            .first(conn)
    }

    pub fn by_uri(conn: &mut DbConn, uri: &str) -> QueryResult<Option<Status>> {
        statuses::table
            .filter(statuses::uri.eq(uri))
            .select(Status::as_select())
            .first(conn)
            .optional()
    }

    /// The boost of `status_id` by `account_id`, if any.
    pub fn reblog_by(
        conn: &mut DbConn,
        account_id: i64,
        status_id: i64,
    ) -> QueryResult<Option<Status>> {
        statuses::table
            .filter(statuses::account_id.eq(account_id))
            .filter(statuses::reblog_of_id.eq(status_id))
            .select(Status::as_select())
            .first(conn)
            .optional()
    }

    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        use crate::db::schema::accounts;
        let Some(s) = statuses::table
            .find(id)
            .select(Status::as_select())
            .first::<Status>(conn)
            .optional()?
        else {
            return Ok(0);
        };
        if s.reblog_of_id.is_none() {
            diesel::update(accounts::table.find(s.account_id))
                .set(accounts::statuses_count.eq(accounts::statuses_count - 1))
                .execute(conn)?;
        }
        let mentioned: Vec<i64> = mentions::table
            .filter(mentions::status_id.eq(id))
            .select(mentions::account_id)
            .load(conn)?;
        crate::stream::publish(
            conn,
            crate::stream::Signal::Delete {
                s: id,
                a: s.account_id,
                v: s.visibility.clone(),
                m: mentioned,
            },
        )?;
        crate::domain::conversations::forget_status(conn, id)?;
        diesel::delete(statuses::table.find(id)).execute(conn)
    }

    pub fn bump(conn: &mut DbConn, id: i64, counter: Counter, by: i64) -> QueryResult<usize> {
        let q = diesel::update(statuses::table.find(id));
        match counter {
            Counter::Replies => q
                .set(statuses::replies_count.eq(statuses::replies_count + by))
                .execute(conn),
            Counter::Reblogs => q
                .set(statuses::reblogs_count.eq(statuses::reblogs_count + by))
                .execute(conn),
            Counter::Favourites => q
                .set(statuses::favourites_count.eq(statuses::favourites_count + by))
                .execute(conn),
        }
    }

    /// Keeps the current version in the history, then stores the new one.
    pub fn edit(
        conn: &mut DbConn,
        current: &Status,
        text: Option<&str>,
        content: &str,
        spoiler_text: &str,
        sensitive: bool,
    ) -> QueryResult<Status> {
        let t = crate::db::now();
        diesel::insert_into(status_edits::table)
            .values((
                status_edits::id.eq(crate::db::id::next_id()),
                status_edits::status_id.eq(current.id),
                status_edits::content.eq(&current.content),
                status_edits::spoiler_text.eq(&current.spoiler_text),
                status_edits::sensitive.eq(current.sensitive),
                status_edits::created_at.eq(current.edited_at.unwrap_or(current.created_at)),
            ))
            .execute(conn)?;
        diesel::update(statuses::table.find(current.id))
            .set((
                statuses::text.eq(text),
                statuses::content.eq(content),
                statuses::spoiler_text.eq(spoiler_text),
                statuses::sensitive.eq(sensitive),
                statuses::edited_at.eq(t),
                statuses::updated_at.eq(t),
            ))
            .execute(conn)?;
        crate::stream::publish(conn, crate::stream::Signal::Edit { s: current.id })?;
        Self::by_id(conn, current.id)
    }

    pub fn edits(conn: &mut DbConn, status_id: i64) -> QueryResult<Vec<StatusEdit>> {
        status_edits::table
            .filter(status_edits::status_id.eq(status_id))
            .order(status_edits::id.asc())
            .select(StatusEdit::as_select())
            .load(conn)
    }

    pub fn add_mention(conn: &mut DbConn, status_id: i64, account_id: i64) -> QueryResult<()> {
        let exists: bool = diesel::select(diesel::dsl::exists(
            mentions::table
                .filter(mentions::status_id.eq(status_id))
                .filter(mentions::account_id.eq(account_id)),
        ))
        .get_result(conn)?;
        if !exists {
            diesel::insert_into(mentions::table)
                .values((
                    mentions::id.eq(crate::db::id::next_id()),
                    mentions::status_id.eq(status_id),
                    mentions::account_id.eq(account_id),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    pub fn mentioned_ids(conn: &mut DbConn, status_id: i64) -> QueryResult<Vec<i64>> {
        mentions::table
            .filter(mentions::status_id.eq(status_id))
            .order(mentions::id.asc())
            .select(mentions::account_id)
            .load(conn)
    }

    pub fn add_tag(conn: &mut DbConn, status_id: i64, tag: &str) -> QueryResult<()> {
        let exists: bool = diesel::select(diesel::dsl::exists(
            status_tags::table
                .filter(status_tags::status_id.eq(status_id))
                .filter(status_tags::tag.eq(tag)),
        ))
        .get_result(conn)?;
        if !exists {
            diesel::insert_into(status_tags::table)
                .values((
                    status_tags::status_id.eq(status_id),
                    status_tags::tag.eq(tag),
                ))
                .execute(conn)?;
            tag_id(conn, tag)?;
        }
        Ok(())
    }

    pub fn tags(conn: &mut DbConn, status_id: i64) -> QueryResult<Vec<String>> {
        status_tags::table
            .filter(status_tags::status_id.eq(status_id))
            .order(status_tags::tag.asc())
            .select(status_tags::tag)
            .load(conn)
    }

    /// Adds a favourite; false if it existed already.
    pub fn add_favourite(
        conn: &mut DbConn,
        account_id: i64,
        status_id: i64,
        uri: Option<&str>,
    ) -> QueryResult<bool> {
        let exists: bool = diesel::select(diesel::dsl::exists(
            favourites::table
                .filter(favourites::account_id.eq(account_id))
                .filter(favourites::status_id.eq(status_id)),
        ))
        .get_result(conn)?;
        if exists {
            return Ok(false);
        }
        diesel::insert_into(favourites::table)
            .values((
                favourites::id.eq(crate::db::id::next_id()),
                favourites::account_id.eq(account_id),
                favourites::status_id.eq(status_id),
                favourites::uri.eq(uri),
                favourites::created_at.eq(crate::db::now()),
            ))
            .execute(conn)?;
        Self::bump(conn, status_id, Counter::Favourites, 1)?;
        Ok(true)
    }

    /// Removes a favourite; returns its uri if there was one.
    pub fn remove_favourite(
        conn: &mut DbConn,
        account_id: i64,
        status_id: i64,
    ) -> QueryResult<Option<Option<String>>> {
        let found: Option<(i64, Option<String>)> = favourites::table
            .filter(favourites::account_id.eq(account_id))
            .filter(favourites::status_id.eq(status_id))
            .select((favourites::id, favourites::uri))
            .first(conn)
            .optional()?;
        let Some((id, uri)) = found else {
            return Ok(None);
        };
        diesel::delete(favourites::table.find(id)).execute(conn)?;
        Self::bump(conn, status_id, Counter::Favourites, -1)?;
        Ok(Some(uri))
    }

    /// The favourite recorded under an activity id (for Undo by id).
    pub fn favourite_by_uri(conn: &mut DbConn, uri: &str) -> QueryResult<Option<(i64, i64)>> {
        favourites::table
            .filter(favourites::uri.eq(uri))
            .select((favourites::account_id, favourites::status_id))
            .first(conn)
            .optional()
    }
}

/// The id of a hashtag (lower case, no '#'), created on first use; two
/// writers racing on a new tag both get the one row.
pub fn tag_id(conn: &mut DbConn, name: &str) -> QueryResult<i64> {
    use crate::db::schema::tags;
    let find = |conn: &mut DbConn| {
        tags::table
            .filter(tags::name.eq(name))
            .select(tags::id)
            .first::<i64>(conn)
            .optional()
    };
    if let Some(id) = find(conn)? {
        return Ok(id);
    }
    let insert = diesel::insert_into(tags::table).values((
        tags::id.eq(crate::db::id::next_id()),
        tags::name.eq(name),
        tags::created_at.eq(crate::db::now()),
    ));
    match conn {
        DbConn::Sqlite(c) => insert.on_conflict_do_nothing().execute(c)?,
        DbConn::Postgres(c) => insert.on_conflict_do_nothing().execute(c)?,
    };
    find(conn)?.ok_or(diesel::result::Error::NotFound)
}
