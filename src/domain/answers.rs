//! Accepted answers (what Viva Engage calls Answers): the author of a
//! question, or a moderator of the group it was posted in, marks one reply
//! as the answer. Stock apps see it as a boost of the answer (by the group
//! or the author) and an "Answered" line under the question; Meetfield
//! clients read `meetfield.accepted_answer`; partners get an `Update` of a
//! local question carrying `acceptedAnswer` (schema.org's term), which
//! other servers ignore. Accepted answers are evidence for "who knows X?".

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::models::{Account, Status};
use crate::db::schema::{accepted_answers, group_posts, statuses};
use crate::db::{DbConn, now};
use crate::domain::groups;
use crate::domain::statuses::{boost_in, unboost_in};
use crate::error::{AppError, AppResult};
use crate::federation::FedData;

/// The answer of each of `ids` that has one: question id → (reply id,
/// reply URL).
pub fn of_statuses(c: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, (i64, String)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64, String, Option<String>)> = accepted_answers::table
        .inner_join(statuses::table.on(statuses::id.eq(accepted_answers::reply_id)))
        .filter(accepted_answers::status_id.eq_any(ids))
        .select((
            accepted_answers::status_id,
            accepted_answers::reply_id,
            statuses::uri,
            statuses::url,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(q, r, uri, url)| (q, (r, url.unwrap_or(uri))))
        .collect())
}

/// The line stock apps show under an answered question.
pub fn answered_line(reply_url: &str) -> String {
    let e = crate::domain::text::escape(reply_url);
    format!(
        "<p>✅ Answered: <a href=\"{e}\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">{e}</a></p>"
    )
}

/// A local question's content as it is shown and sent: with the line
/// when it has an answer. (A remote question's content is its server's,
/// which adds its own line.)
pub fn shown_content(s: &Status, answer: Option<&(i64, String)>) -> String {
    match answer {
        Some((_, url)) if s.local => format!("{}{}", s.content, answered_line(url)),
        _ => s.content.clone(),
    }
}

/// The local group a post was taken in, if any.
fn local_group_of(c: &mut DbConn, status: i64) -> QueryResult<Option<Account>> {
    let ids: Vec<i64> = group_posts::table
        .filter(group_posts::status_id.eq(status))
        .select(group_posts::group_id)
        .load(c)?;
    for id in ids {
        let a = Account::by_id(c, id)?;
        if a.is_local() {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

/// Who boosts the answer for `actor`: the question's local group, else the
/// question's author (when that is `actor`); 403 for anyone else.
fn booster(c: &mut DbConn, actor: &Account, question: &Status) -> AppResult<Account> {
    if let Some(g) = local_group_of(c, question.id)?
        && (question.account_id == actor.id || groups::is_moderator(c, g.id, actor.id)?)
    {
        return Ok(g);
    }
    if question.account_id == actor.id {
        return Ok(actor.clone());
    }
    Err(AppError::Forbidden(
        "Only the author or a moderator of its group can accept an answer".into(),
    ))
}

fn send_update(c: &mut DbConn, question: &Status, base: &str) -> AppResult<()> {
    if question.local {
        crate::domain::statuses::send_local_update(c, question, base, "answer", Vec::new())?;
    }
    Ok(())
}

/// Marks `reply_id` as the answer to `question_id` (replacing an earlier
/// one); answers the question.
pub async fn accept(
    data: &FedData,
    actor: &Account,
    question_id: i64,
    reply_id: i64,
) -> AppResult<Status> {
    let (actor, base) = (actor.clone(), data.base_url());
    let q = data
        .db
        .transaction(move |c| {
            let q = Status::by_id(c, question_id)
                .optional()?
                .filter(|s| s.reblog_of_id.is_none())
                .ok_or_else(AppError::not_found)?;
            if !crate::domain::timelines::can_view(c, Some(&actor), &q)? {
                return Err(AppError::not_found());
            }
            let who = booster(c, &actor, &q)?;
            let reply = Status::by_id(c, reply_id)
                .optional()?
                .filter(|r| r.in_reply_to_id == Some(q.id))
                .ok_or_else(|| {
                    AppError::Unprocessable(
                        "Validation failed: the answer must be a reply to the question".into(),
                    )
                })?;
            if reply.account_id == q.account_id {
                return Err(AppError::Unprocessable(
                    "Validation failed: a question's author cannot answer it".into(),
                ));
            }
            if !crate::domain::timelines::can_view(c, Some(&actor), &reply)? {
                return Err(AppError::not_found());
            }
            // The answer before, if another: its boost goes.
            undo_in(c, &base, q.id)?;
            let reply_author = Account::by_id(c, reply.account_id)?;
            let existed = Status::reblog_by(c, who.id, reply.id)?.is_some();
            let public = matches!(reply.visibility.as_str(), "public" | "unlisted")
                && !groups::settings(c, who.id)?.is_some_and(|g| g.closed);
            let boost = if reply.visibility == "direct" && who.actor_type != "Group" {
                None
            } else {
                Some(boost_in(c, &who, &reply, &reply_author, public)?)
            };
            diesel::insert_into(accepted_answers::table)
                .values((
                    accepted_answers::status_id.eq(q.id),
                    accepted_answers::reply_id.eq(reply.id),
                    accepted_answers::accepted_by.eq(Some(actor.id)),
                    accepted_answers::boost_id.eq(boost.filter(|_| !existed).map(|b| b.id)),
                    accepted_answers::created_at.eq(now()),
                ))
                .execute(c)?;
            send_update(c, &q, &base)?;
            crate::stream::bus::publish(c, crate::stream::bus::Signal::Edit { s: q.id })?;
            Ok::<_, AppError>(q)
        })
        .await?;
    data.delivery_wake.notify_one();
    Ok(q)
}

/// Removes the answer of `question`, and the boost made for it.
fn undo_in(c: &mut DbConn, base: &str, question: i64) -> AppResult<bool> {
    let Some((reply_id, boost_id)) = accepted_answers::table
        .find(question)
        .select((accepted_answers::reply_id, accepted_answers::boost_id))
        .first::<(i64, Option<i64>)>(c)
        .optional()?
    else {
        return Ok(false);
    };
    diesel::delete(accepted_answers::table.find(question)).execute(c)?;
    if let Some(b) = boost_id
        && let Some(boost) = Status::by_id(c, b).optional()?
        && let Some(reply) = Status::by_id(c, reply_id).optional()?
    {
        let booster = Account::by_id(c, boost.account_id)?;
        let author = Account::by_id(c, reply.account_id)?;
        unboost_in(c, base, &booster, &reply, &author)?;
    }
    Ok(true)
}

/// Takes the answer back; answers the question.
pub async fn unaccept(data: &FedData, actor: &Account, question_id: i64) -> AppResult<Status> {
    let (actor, base) = (actor.clone(), data.base_url());
    let q = data
        .db
        .transaction(move |c| {
            let q = Status::by_id(c, question_id)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            if !crate::domain::timelines::can_view(c, Some(&actor), &q)? {
                return Err(AppError::not_found());
            }
            booster(c, &actor, &q)?;
            if undo_in(c, &base, q.id)? {
                send_update(c, &q, &base)?;
                crate::stream::bus::publish(c, crate::stream::bus::Signal::Edit { s: q.id })?;
            }
            Ok::<_, AppError>(q)
        })
        .await?;
    data.delivery_wake.notify_one();
    Ok(q)
}

/// What the question's server says its answer is (`acceptedAnswer` on an
/// incoming Note): kept when it names a known reply to that question by
/// another author, cleared when absent.
pub fn receive(c: &mut DbConn, question: &Status, accepted: Option<&str>) -> QueryResult<()> {
    let reply = match accepted {
        Some(uri) => Status::by_uri(c, uri)?.filter(|r| {
            r.in_reply_to_id == Some(question.id) && r.account_id != question.account_id
        }),
        None => None,
    };
    let current: Option<i64> = accepted_answers::table
        .find(question.id)
        .select(accepted_answers::reply_id)
        .first(c)
        .optional()?;
    if current == reply.as_ref().map(|r| r.id) {
        return Ok(());
    }
    diesel::delete(accepted_answers::table.find(question.id)).execute(c)?;
    if let Some(r) = reply {
        diesel::insert_into(accepted_answers::table)
            .values((
                accepted_answers::status_id.eq(question.id),
                accepted_answers::reply_id.eq(r.id),
                accepted_answers::created_at.eq(now()),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Authors of accepted public answers whose question or answer is among
/// `matching` posts (a full-text match for the topic), with how many.
pub fn authors_of_accepted(c: &mut DbConn, matching: &[i64]) -> QueryResult<Vec<(i64, i64)>> {
    if matching.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<i64> = accepted_answers::table
        .inner_join(statuses::table.on(statuses::id.eq(accepted_answers::reply_id)))
        .filter(
            accepted_answers::status_id
                .eq_any(matching)
                .or(accepted_answers::reply_id.eq_any(matching)),
        )
        .filter(statuses::visibility.eq_any(["public", "unlisted"]))
        .filter(statuses::deleted_at.is_null())
        .select(statuses::account_id)
        .load(c)?;
    let mut n: HashMap<i64, i64> = HashMap::new();
    for a in rows {
        *n.entry(a).or_default() += 1;
    }
    Ok(n.into_iter().collect())
}
