//! Mastodon's conversations: each local participant of a direct post sees
//! it in one conversation per thread and set of other participants, with
//! the latest post and an unread flag (the "direct messages" of the apps).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::Status;
use crate::db::schema::{accounts, conversation_statuses, conversations, mentions};
use crate::db::{DbConn, id, now};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = conversations)]
pub struct Conversation {
    pub id: i64,
    pub account_id: i64,
    pub thread_uri: String,
    pub participant_ids: String,
    pub last_status_id: i64,
    pub unread: bool,
    pub updated_at: NaiveDateTime,
}

impl Conversation {
    /// The other participants, in id order.
    pub fn participants(&self) -> Vec<i64> {
        self.participant_ids
            .split(',')
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

/// Files a newly stored direct post into its local participants'
/// conversations (call after its mentions are stored, in the same
/// transaction). Other posts are left alone.
pub fn record(c: &mut DbConn, status: &Status) -> QueryResult<()> {
    if status.visibility != "direct" || status.reblog_of_id.is_some() {
        return Ok(());
    }
    let mut everyone: Vec<i64> = mentions::table
        .filter(mentions::status_id.eq(status.id))
        .select(mentions::account_id)
        .load(c)?;
    everyone.push(status.account_id);
    everyone.sort_unstable();
    everyone.dedup();
    // Groups relay what they are sent; they read no conversations.
    let owners: Vec<i64> = accounts::table
        .filter(accounts::id.eq_any(&everyone))
        .filter(accounts::domain.is_null())
        .filter(accounts::actor_type.ne("Group"))
        .select(accounts::id)
        .load(c)?;
    let t = now();
    for owner in owners {
        let others: Vec<String> = everyone
            .iter()
            .filter(|a| **a != owner)
            .map(|a| a.to_string())
            .collect();
        let participant_ids = others.join(",");
        let thread_uri = thread_of(c, owner, status)?;
        let unread = owner != status.account_id;
        let existing = conversations::table
            .filter(conversations::account_id.eq(owner))
            .filter(conversations::thread_uri.eq(&thread_uri))
            .filter(conversations::participant_ids.eq(&participant_ids))
            .select(Conversation::as_select())
            .first(c)
            .optional()?;
        let conversation_id = match existing {
            Some(conv) => {
                // A late arrival of an older post does not move the thread.
                if status.id > conv.last_status_id {
                    diesel::update(conversations::table.find(conv.id))
                        .set((
                            conversations::last_status_id.eq(status.id),
                            conversations::unread.eq(unread),
                            conversations::updated_at.eq(t),
                        ))
                        .execute(c)?;
                }
                conv.id
            }
            None => {
                let cid = id::next_id();
                diesel::insert_into(conversations::table)
                    .values((
                        conversations::id.eq(cid),
                        conversations::account_id.eq(owner),
                        conversations::thread_uri.eq(&thread_uri),
                        conversations::participant_ids.eq(&participant_ids),
                        conversations::last_status_id.eq(status.id),
                        conversations::unread.eq(unread),
                        conversations::updated_at.eq(t),
                    ))
                    .execute(c)?;
                cid
            }
        };
        let filed: bool = diesel::select(diesel::dsl::exists(
            conversation_statuses::table
                .filter(conversation_statuses::conversation_id.eq(conversation_id))
                .filter(conversation_statuses::status_id.eq(status.id)),
        ))
        .get_result(c)?;
        if !filed {
            diesel::insert_into(conversation_statuses::table)
                .values((
                    conversation_statuses::conversation_id.eq(conversation_id),
                    conversation_statuses::status_id.eq(status.id),
                ))
                .execute(c)?;
        }
        crate::stream::publish(
            c,
            crate::stream::Signal::Conversation {
                c: conversation_id,
                a: owner,
            },
        )?;
    }
    Ok(())
}

/// The thread a post belongs to for `owner`: its parent's, when the parent
/// is in one of the owner's conversations; else the parent's id (a direct
/// reply to a public post), else the post's own.
fn thread_of(c: &mut DbConn, owner: i64, status: &Status) -> QueryResult<String> {
    if let Some(parent) = status.in_reply_to_id {
        let inherited = conversation_statuses::table
            .inner_join(conversations::table)
            .filter(conversation_statuses::status_id.eq(parent))
            .filter(conversations::account_id.eq(owner))
            .select(conversations::thread_uri)
            .first::<String>(c)
            .optional()?;
        if let Some(t) = inherited {
            return Ok(t);
        }
    }
    Ok(status
        .in_reply_to_uri
        .clone()
        .unwrap_or_else(|| status.uri.clone()))
}

/// Takes a post about to be deleted out of its conversations: each falls
/// back to its previous post, or goes when none is left.
pub fn forget_status(c: &mut DbConn, status_id: i64) -> QueryResult<()> {
    let affected: Vec<i64> = conversation_statuses::table
        .filter(conversation_statuses::status_id.eq(status_id))
        .select(conversation_statuses::conversation_id)
        .load(c)?;
    if affected.is_empty() {
        return Ok(());
    }
    diesel::delete(
        conversation_statuses::table.filter(conversation_statuses::status_id.eq(status_id)),
    )
    .execute(c)?;
    for cid in affected {
        let previous: Option<i64> = conversation_statuses::table
            .filter(conversation_statuses::conversation_id.eq(cid))
            .select(diesel::dsl::max(conversation_statuses::status_id))
            .first(c)?;
        match previous {
            Some(p) => {
                diesel::update(conversations::table.find(cid))
                    .set(conversations::last_status_id.eq(p))
                    .execute(c)?;
            }
            None => {
                diesel::delete(conversations::table.find(cid)).execute(c)?;
            }
        }
    }
    Ok(())
}

/// One of `owner`'s conversations.
pub fn find(c: &mut DbConn, owner: i64, id: i64) -> QueryResult<Option<Conversation>> {
    conversations::table
        .filter(conversations::id.eq(id))
        .filter(conversations::account_id.eq(owner))
        .select(Conversation::as_select())
        .first(c)
        .optional()
}

/// `owner`'s conversations, latest post first, paged by that post's id.
pub fn page(
    c: &mut DbConn,
    owner: i64,
    max_id: Option<i64>,
    since_id: Option<i64>,
    min_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Conversation>> {
    let mut q = conversations::table
        .filter(conversations::account_id.eq(owner))
        .select(Conversation::as_select())
        .into_boxed();
    if let Some(m) = max_id {
        q = q.filter(conversations::last_status_id.lt(m));
    }
    if let Some(s) = since_id {
        q = q.filter(conversations::last_status_id.gt(s));
    }
    if let Some(m) = min_id {
        // The page just after min_id, still shown newest first.
        let mut rows: Vec<Conversation> = q
            .filter(conversations::last_status_id.gt(m))
            .order(conversations::last_status_id.asc())
            .limit(limit)
            .load(c)?;
        rows.reverse();
        return Ok(rows);
    }
    q.order(conversations::last_status_id.desc())
        .limit(limit)
        .load(c)
}

pub fn mark_read(c: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::update(conversations::table.find(id))
        .set(conversations::unread.eq(false))
        .execute(c)
}

/// Removes a conversation from its owner's list (a new post in it brings
/// it back).
pub fn remove(c: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(conversations::table.find(id)).execute(c)
}
