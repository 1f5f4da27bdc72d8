//! Polls: local ones (created with a status, voted on here and remotely)
//! and remote Questions (counts as their origin reports them).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::models::{Account, Status};
use crate::db::schema::{poll_options, poll_votes, polls};
use crate::db::{DbConn, id, now};
use crate::delivery;
use crate::domain::{notifications, statuses};
use crate::error::{AppError, AppResult};
use crate::federation::FedData;
use crate::federation::protocol::activities::wrap_json;
use crate::federation::protocol::note::NoteJson;

/// Limits, as `/api/v2/instance` announces them (Mastodon's defaults; the
/// number of options is `MEETFIELD_POLL_MAX_OPTIONS`, 10 by default, room
/// for "which slot works?").
pub const MAX_OPTION_CHARS: usize = 50;
pub const MIN_EXPIRATION: i64 = 300;
pub const MAX_EXPIRATION: i64 = 2_629_746;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = polls)]
pub struct Poll {
    pub id: i64,
    pub status_id: i64,
    pub expires_at: Option<NaiveDateTime>,
    pub multiple: bool,
    pub hide_totals: bool,
    pub votes_count: i64,
    pub voters_count: i64,
    pub ended_notified: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Poll {
    pub fn expired(&self) -> bool {
        self.expires_at.is_some_and(|t| t <= now())
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = poll_options)]
pub struct PollOption {
    pub poll_id: i64,
    pub idx: i32,
    pub title: String,
    pub votes_count: i64,
}

/// A poll as a client asks for it.
#[derive(Debug, Clone)]
pub struct NewPoll {
    pub options: Vec<String>,
    pub expires_in: i64,
    pub multiple: bool,
    pub hide_totals: bool,
}

impl NewPoll {
    /// Mastodon's validation, with its messages; at most `max_options`.
    pub fn validate(&self, max_options: usize) -> AppResult<()> {
        let bad = |m: &str| Err(AppError::Unprocessable(format!("Validation failed: {m}")));
        if self.options.len() < 2 {
            return bad("Poll must have at least 2 options");
        }
        if self.options.len() > max_options {
            return bad(&format!("Poll can't contain more than {max_options} items"));
        }
        if self
            .options
            .iter()
            .any(|o| o.trim().is_empty() || o.chars().count() > MAX_OPTION_CHARS)
        {
            return bad(&format!(
                "Poll options must be between 1 and {MAX_OPTION_CHARS} characters"
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if !self.options.iter().all(|o| seen.insert(o.trim())) {
            return bad("Poll contains duplicate options");
        }
        if self.expires_in < MIN_EXPIRATION {
            return bad("Poll duration is too short");
        }
        if self.expires_in > MAX_EXPIRATION {
            return bad("Poll duration is too long");
        }
        Ok(())
    }
}

fn insert_options(c: &mut DbConn, poll_id: i64, titles: &[(String, i64)]) -> QueryResult<()> {
    for (i, (title, count)) in titles.iter().enumerate() {
        diesel::insert_into(poll_options::table)
            .values((
                poll_options::poll_id.eq(poll_id),
                poll_options::idx.eq(i as i32),
                poll_options::title.eq(title),
                poll_options::votes_count.eq(count),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// The poll of a new local status.
pub fn create(c: &mut DbConn, status_id: i64, p: &NewPoll) -> QueryResult<Poll> {
    let t = now();
    let pid = id::next_id();
    diesel::insert_into(polls::table)
        .values((
            polls::id.eq(pid),
            polls::status_id.eq(status_id),
            polls::expires_at.eq(Some(t + chrono::Duration::seconds(p.expires_in))),
            polls::multiple.eq(p.multiple),
            polls::hide_totals.eq(p.hide_totals),
            polls::created_at.eq(t),
            polls::updated_at.eq(t),
        ))
        .execute(c)?;
    let titles: Vec<(String, i64)> = p
        .options
        .iter()
        .map(|o| (o.trim().to_string(), 0))
        .collect();
    insert_options(c, pid, &titles)?;
    by_id(c, pid)
}

pub fn by_id(c: &mut DbConn, id: i64) -> QueryResult<Poll> {
    polls::table.find(id).select(Poll::as_select()).first(c)
}

pub fn of_status(c: &mut DbConn, status_id: i64) -> QueryResult<Option<Poll>> {
    polls::table
        .filter(polls::status_id.eq(status_id))
        .select(Poll::as_select())
        .first(c)
        .optional()
}

pub fn options(c: &mut DbConn, poll_id: i64) -> QueryResult<Vec<PollOption>> {
    poll_options::table
        .filter(poll_options::poll_id.eq(poll_id))
        .order(poll_options::idx.asc())
        .select(PollOption::as_select())
        .load(c)
}

pub fn own_votes(c: &mut DbConn, poll_id: i64, account: i64) -> QueryResult<Vec<i32>> {
    poll_votes::table
        .filter(poll_votes::poll_id.eq(poll_id))
        .filter(poll_votes::account_id.eq(account))
        .order(poll_votes::choice.asc())
        .select(poll_votes::choice)
        .load(c)
}

/// Records `account`'s votes and moves the counts. Refuses an ended poll,
/// a second ballot, several choices in a single-choice poll and unknown
/// options. Returns the vote ids (one per choice).
pub fn record_votes(
    c: &mut DbConn,
    poll: &Poll,
    account: i64,
    choices: &[i32],
) -> AppResult<Vec<i64>> {
    let bad = |m: &str| Err(AppError::Unprocessable(format!("Validation failed: {m}")));
    if poll.expired() {
        return bad("The poll has already ended");
    }
    lock(c, poll.id)?;
    if !own_votes(c, poll.id, account)?.is_empty() {
        return bad("You have already voted on this poll");
    }
    let mut choices = choices.to_vec();
    choices.sort_unstable();
    choices.dedup();
    if choices.is_empty() {
        return bad("Choices can't be blank");
    }
    if !poll.multiple && choices.len() > 1 {
        return bad("You can only choose one option in this poll");
    }
    let count = options(c, poll.id)?.len() as i32;
    if choices.iter().any(|&i| i < 0 || i >= count) {
        return bad("Choice is not one of the options");
    }
    let mut ids = Vec::new();
    for choice in &choices {
        ids.push(record(c, poll, account, *choice, None)?);
    }
    bump_voters(c, poll.id)?;
    Ok(ids)
}

fn record(
    c: &mut DbConn,
    poll: &Poll,
    account: i64,
    choice: i32,
    uri: Option<&str>,
) -> QueryResult<i64> {
    let vid = id::next_id();
    diesel::insert_into(poll_votes::table)
        .values((
            poll_votes::id.eq(vid),
            poll_votes::poll_id.eq(poll.id),
            poll_votes::account_id.eq(account),
            poll_votes::choice.eq(choice),
            poll_votes::uri.eq(uri),
            poll_votes::created_at.eq(now()),
        ))
        .execute(c)?;
    diesel::update(
        poll_options::table
            .filter(poll_options::poll_id.eq(poll.id))
            .filter(poll_options::idx.eq(choice)),
    )
    .set(poll_options::votes_count.eq(poll_options::votes_count + 1))
    .execute(c)?;
    diesel::update(polls::table.find(poll.id))
        .set((
            polls::votes_count.eq(polls::votes_count + 1),
            polls::updated_at.eq(now()),
        ))
        .execute(c)?;
    Ok(vid)
}

/// Takes the poll's row lock for the rest of the transaction: ballots of
/// one voter arriving at once (a multiple-choice vote from another server
/// is one activity per option) then see each other, so the voter counts
/// once and a single-choice poll takes one ballot.
fn lock(c: &mut DbConn, poll_id: i64) -> QueryResult<()> {
    diesel::update(polls::table.find(poll_id))
        .set(polls::updated_at.eq(now()))
        .execute(c)?;
    Ok(())
}

fn bump_voters(c: &mut DbConn, poll_id: i64) -> QueryResult<()> {
    diesel::update(polls::table.find(poll_id))
        .set(polls::voters_count.eq(polls::voters_count + 1))
        .execute(c)?;
    Ok(())
}

/// A remote voter's answer (a Note with the option's `name`) to a local
/// poll. Counted once per voter and option; a single-choice poll takes one
/// option per voter. Returns whether it counted.
pub fn record_remote_vote(
    c: &mut DbConn,
    poll: &Poll,
    voter: i64,
    name: &str,
    uri: &str,
) -> QueryResult<bool> {
    if poll.expired() {
        return Ok(false);
    }
    let Some(option) = options(c, poll.id)?
        .into_iter()
        .find(|o| o.title == name.trim())
    else {
        return Ok(false);
    };
    lock(c, poll.id)?;
    let before = own_votes(c, poll.id, voter)?;
    if before.contains(&option.idx) || (!poll.multiple && !before.is_empty()) {
        return Ok(false);
    }
    record(c, poll, voter, option.idx, Some(uri))?;
    if before.is_empty() {
        bump_voters(c, poll.id)?;
    }
    Ok(true)
}

/// Stores or refreshes the poll of a remote status from its Question.
/// Changed options reset the votes, as Mastodon does.
pub fn store_remote(c: &mut DbConn, status_id: i64, q: &Value) -> QueryResult<()> {
    let (multiple, items) = match (q.get("oneOf"), q.get("anyOf")) {
        (_, Some(Value::Array(a))) if !a.is_empty() => (true, a),
        (Some(Value::Array(a)), _) => (false, a),
        _ => return Ok(()),
    };
    let titles: Vec<(String, i64)> = items
        .iter()
        .filter_map(|o| {
            let name = o.get("name").and_then(Value::as_str)?.to_string();
            let count = o
                .get("replies")
                .and_then(|r| r.get("totalItems"))
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .max(0);
            Some((name, count))
        })
        .collect();
    if titles.is_empty() {
        return Ok(());
    }
    let time = |k: &str| {
        q.get(k)
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.naive_utc())
    };
    let expires_at = time("endTime").or_else(|| time("closed"));
    let votes: i64 = titles.iter().map(|(_, n)| n).sum();
    let voters = q
        .get("votersCount")
        .and_then(Value::as_i64)
        .unwrap_or(if multiple { 0 } else { votes })
        .max(0);
    let t = now();
    match of_status(c, status_id)? {
        Some(existing) => {
            let old: Vec<String> = options(c, existing.id)?
                .into_iter()
                .map(|o| o.title)
                .collect();
            let new: Vec<String> = titles.iter().map(|(n, _)| n.clone()).collect();
            if old != new {
                diesel::delete(poll_options::table.filter(poll_options::poll_id.eq(existing.id)))
                    .execute(c)?;
                diesel::delete(poll_votes::table.filter(poll_votes::poll_id.eq(existing.id)))
                    .execute(c)?;
                insert_options(c, existing.id, &titles)?;
            } else {
                for (i, (_, n)) in titles.iter().enumerate() {
                    diesel::update(
                        poll_options::table
                            .filter(poll_options::poll_id.eq(existing.id))
                            .filter(poll_options::idx.eq(i as i32)),
                    )
                    .set(poll_options::votes_count.eq(n))
                    .execute(c)?;
                }
            }
            diesel::update(polls::table.find(existing.id))
                .set((
                    polls::expires_at.eq(expires_at),
                    polls::multiple.eq(multiple),
                    polls::votes_count.eq(votes),
                    polls::voters_count.eq(voters),
                    polls::updated_at.eq(t),
                ))
                .execute(c)?;
        }
        None => {
            let pid = id::next_id();
            diesel::insert_into(polls::table)
                .values((
                    polls::id.eq(pid),
                    polls::status_id.eq(status_id),
                    polls::expires_at.eq(expires_at),
                    polls::multiple.eq(multiple),
                    polls::votes_count.eq(votes),
                    polls::voters_count.eq(voters),
                    polls::created_at.eq(t),
                    polls::updated_at.eq(t),
                ))
                .execute(c)?;
            insert_options(c, pid, &titles)?;
        }
    }
    Ok(())
}

/// The Question fields of a local poll for its Note: `oneOf`/`anyOf` with
/// counts, `endTime`, `closed` once ended, `votersCount`.
pub fn question_fields(c: &mut DbConn, status_id: i64) -> QueryResult<Option<Value>> {
    let Some(poll) = of_status(c, status_id)? else {
        return Ok(None);
    };
    let items: Vec<Value> = options(c, poll.id)?
        .into_iter()
        .map(|o| {
            json!({
                "type": "Note",
                "name": o.title,
                "replies": { "type": "Collection", "totalItems": o.votes_count },
            })
        })
        .collect();
    let key = if poll.multiple { "anyOf" } else { "oneOf" };
    let end = poll.expires_at.map(|t| {
        t.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    });
    let mut v = json!({ key: items, "votersCount": poll.voters_count });
    if let Some(e) = &end {
        v["endTime"] = json!(e);
        if poll.expired() {
            v["closed"] = json!(e);
        }
    }
    Ok(Some(v))
}

/// Polls that ended and whose end was not yet announced; each is marked so
/// it is handled once. Returns (poll, status id, local voters).
pub fn take_ended(c: &mut DbConn, limit: i64) -> QueryResult<Vec<(Poll, Vec<i64>)>> {
    let ended: Vec<Poll> = polls::table
        .filter(polls::ended_notified.eq(false))
        .filter(polls::expires_at.le(now()))
        .order(polls::expires_at.asc())
        .limit(limit)
        .select(Poll::as_select())
        .load(c)?;
    let mut out = Vec::new();
    for p in ended {
        let n = diesel::update(
            polls::table
                .find(p.id)
                .filter(polls::ended_notified.eq(false)),
        )
        .set(polls::ended_notified.eq(true))
        .execute(c)?;
        if n == 0 {
            continue; // another node took it
        }
        use crate::db::schema::accounts;
        let mut voters: Vec<i64> = poll_votes::table
            .inner_join(accounts::table.on(accounts::id.eq(poll_votes::account_id)))
            .filter(poll_votes::poll_id.eq(p.id))
            .filter(accounts::domain.is_null())
            .select(poll_votes::account_id)
            .load(c)?;
        voters.sort_unstable();
        voters.dedup();
        out.push((p, voters));
    }
    Ok(out)
}

/// Inboxes of remote accounts that voted in a poll (they get its updates).
pub fn remote_voter_inboxes(c: &mut DbConn, poll_id: i64) -> QueryResult<Vec<String>> {
    use crate::db::schema::accounts;
    let rows: Vec<(Option<String>, Option<String>)> = poll_votes::table
        .inner_join(accounts::table.on(accounts::id.eq(poll_votes::account_id)))
        .filter(poll_votes::poll_id.eq(poll_id))
        .filter(accounts::domain.is_not_null())
        .select((accounts::shared_inbox_url, accounts::inbox_url))
        .load(c)?;
    let mut inboxes: Vec<String> = rows.into_iter().filter_map(|(s, i)| s.or(i)).collect();
    inboxes.sort();
    inboxes.dedup();
    Ok(inboxes)
}

/// A poll with its options and the viewer's own choices.
pub type Rendered = (Poll, Vec<PollOption>, Vec<i32>);

/// Polls of these statuses (by status id) with the viewer's own votes.
pub fn for_statuses(
    c: &mut DbConn,
    status_ids: &[i64],
    viewer: Option<i64>,
) -> QueryResult<HashMap<i64, Rendered>> {
    let found: Vec<Poll> = polls::table
        .filter(polls::status_id.eq_any(status_ids))
        .select(Poll::as_select())
        .load(c)?;
    if found.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = found.iter().map(|p| p.id).collect();
    let mut opts: HashMap<i64, Vec<PollOption>> = HashMap::new();
    for o in poll_options::table
        .filter(poll_options::poll_id.eq_any(&ids))
        .order((poll_options::poll_id.asc(), poll_options::idx.asc()))
        .select(PollOption::as_select())
        .load(c)?
    {
        opts.entry(o.poll_id).or_default().push(o);
    }
    let mut mine: HashMap<i64, Vec<i32>> = HashMap::new();
    if let Some(v) = viewer {
        for (pid, choice) in poll_votes::table
            .filter(poll_votes::poll_id.eq_any(&ids))
            .filter(poll_votes::account_id.eq(v))
            .order(poll_votes::choice.asc())
            .select((poll_votes::poll_id, poll_votes::choice))
            .load::<(i64, i32)>(c)?
        {
            mine.entry(pid).or_default().push(choice);
        }
    }
    Ok(found
        .into_iter()
        .map(|p| {
            let o = opts.remove(&p.id).unwrap_or_default();
            let m = mine.remove(&p.id).unwrap_or_default();
            (p.status_id, (p, o, m))
        })
        .collect())
}

/// Queues an Update of a local poll's Question (new counts, or its end) to
/// the post's audience and to remote voters.
fn send_poll_update(c: &mut DbConn, status: &Status, base: &str) -> AppResult<()> {
    let Some(poll) = of_status(c, status.id)? else {
        return Ok(());
    };
    let voters = remote_voter_inboxes(c, poll.id)?;
    statuses::send_local_update(c, status, base, "poll", voters)
}

/// A local user votes. On a local poll the counts change here and the
/// new Question goes out; on a remote poll the votes go to its author as
/// Notes naming the chosen options (counts change when it answers with an
/// Update). Returns the poll's status.
pub async fn vote(
    data: &FedData,
    voter: &Account,
    poll_id: i64,
    choices: Vec<i32>,
) -> AppResult<Status> {
    let base = data.base_url();
    let voter = voter.clone();
    let status = data
        .db
        .transaction(move |c| {
            let poll = by_id(c, poll_id).map_err(|_| AppError::not_found())?;
            let status = Status::by_id(c, poll.status_id)?;
            if !crate::domain::timelines::can_view(c, Some(&voter), &status)? {
                return Err(AppError::not_found());
            }
            if status.account_id == voter.id {
                return Err(AppError::Unprocessable(
                    "Validation failed: You cannot vote in your own poll".into(),
                ));
            }
            let vote_ids = record_votes(c, &poll, voter.id, &choices)?;
            if status.local {
                send_poll_update(c, &status, &base)?;
                return Ok(status);
            }
            let author = Account::by_id(c, status.account_id)?;
            let Some(inbox) = author
                .inbox_url
                .clone()
                .or_else(|| statuses::inbox_for(&author))
            else {
                return Ok(status);
            };
            let titles = options(c, poll.id)?;
            for (vid, choice) in vote_ids.iter().zip(choices_sorted(&choices)) {
                let Some(option) = titles.iter().find(|o| o.idx == choice) else {
                    continue;
                };
                let note_id = format!("{}#votes/{vid}", voter.uri);
                let to = json!([author.uri]);
                let note = json!({
                    "id": note_id,
                    "type": "Note",
                    "name": option.title,
                    "attributedTo": voter.uri,
                    "inReplyTo": status.uri,
                    "to": to,
                });
                let activity = wrap_json(
                    "Create",
                    &format!("{note_id}/activity"),
                    &voter.uri,
                    note,
                    &to,
                    &json!([]),
                );
                delivery::enqueue(c, voter.id, &activity, std::slice::from_ref(&inbox))?;
            }
            Ok(status)
        })
        .await?;
    data.delivery_wake.notify_one();
    Ok(status)
}

fn choices_sorted(choices: &[i32]) -> Vec<i32> {
    let mut c = choices.to_vec();
    c.sort_unstable();
    c.dedup();
    c
}

/// A Note that answers a local poll (a `name`, no content, in reply to the
/// Question) is a vote, not a post. Returns whether `json` was one.
pub async fn receive_vote(data: &FedData, voter: &Account, json: &NoteJson) -> AppResult<bool> {
    let (Some(name), Some(parent)) = (json.name.clone(), json.parent()) else {
        return Ok(false);
    };
    if json
        .content
        .as_deref()
        .is_some_and(|c| !c.trim().is_empty())
    {
        return Ok(false);
    }
    let (voter_id, parent, uri, base) = (
        voter.id,
        parent.to_string(),
        json.id.to_string(),
        data.base_url(),
    );
    let handled = data
        .db
        .transaction(move |c| {
            let Some(status) = Status::by_uri(c, &parent)? else {
                return Ok(false);
            };
            if !status.local {
                return Ok(false);
            }
            let Some(poll) = of_status(c, status.id)? else {
                return Ok(false);
            };
            if record_remote_vote(c, &poll, voter_id, &name, &uri)? {
                send_poll_update(c, &status, &base)?;
            }
            Ok::<_, AppError>(true)
        })
        .await?;
    if handled {
        data.delivery_wake.notify_one();
    }
    Ok(handled)
}

/// Announces ended polls: `poll` notifications to local voters and to a
/// local author, and the closed Question to a local poll's audience.
pub async fn close_ended_polls(data: &FedData) -> AppResult<usize> {
    let base = data.base_url();
    let n = data
        .db
        .transaction(move |c| {
            let ended = take_ended(c, 100)?;
            for (poll, voters) in &ended {
                let Some(status) = Status::by_id(c, poll.status_id).optional()? else {
                    continue;
                };
                for v in voters {
                    notifications::notify(c, *v, status.account_id, "poll", Some(status.id))?;
                }
                if status.local {
                    notifications::notify_self(c, status.account_id, "poll", Some(status.id))?;
                    send_poll_update(c, &status, &base)?;
                }
            }
            Ok::<_, AppError>(ended.len())
        })
        .await?;
    if n > 0 {
        data.delivery_wake.notify_one();
    }
    Ok(n)
}
