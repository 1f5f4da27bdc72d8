//! Posts: writing, editing, deleting, liking and boosting them, locally or
//! because a remote server told us so.

use std::collections::HashMap;

use activitypub_federation::fetch::object_id::ObjectId;
use diesel::prelude::*;
use serde_json::json;

use crate::app::AppState;
use crate::db::models::status::Counter;
use crate::db::models::{Account, Follow, NewStatus, Status};
use crate::db::{DbConn, id, now};
use crate::delivery;
use crate::domain::notifications;
use crate::domain::text::{self, MentionTarget};
use crate::domain::{groups, html};
use crate::error::{AppError, AppResult};
use crate::federation::FedData;
use crate::federation::objects::note::local_note;
use crate::federation::objects::{ApubAccount, ApubNote};
use crate::federation::protocol::activities::{announce_json, like_json, undo_json, wrap_json};
use crate::federation::protocol::note::{NoteJson, PUBLIC, Visibility, visibility_of};
use crate::federation::resolve::resolve_account;
use crate::federation::urls;

pub const MAX_CHARS: usize = 5000;

#[derive(Debug, Clone)]
pub struct PostInput {
    pub text: String,
    pub visibility: Visibility,
    pub in_reply_to_id: Option<i64>,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub language: Option<String>,
    pub poll: Option<crate::domain::polls::NewPoll>,
    /// The author's uploads to attach, in order.
    pub media_ids: Vec<i64>,
}

impl PostInput {
    pub fn public(text: &str) -> Self {
        PostInput {
            text: text.into(),
            visibility: Visibility::Public,
            in_reply_to_id: None,
            spoiler_text: String::new(),
            sensitive: false,
            language: None,
            poll: None,
            media_ids: Vec::new(),
        }
    }
}

fn visibility(s: &Status) -> Visibility {
    Visibility::parse(&s.visibility).unwrap_or(Visibility::Direct)
}

/// Inbox of an account, preferring its server's shared inbox.
pub(crate) fn inbox_for(a: &Account) -> Option<String> {
    a.shared_inbox_url.clone().or_else(|| a.inbox_url.clone())
}

/// Remote inboxes that must receive activities about a local `status`.
pub(crate) fn audience_inboxes(conn: &mut DbConn, status: &Status) -> AppResult<Vec<String>> {
    let v = visibility(status);
    if v == Visibility::Local {
        return Ok(Vec::new());
    }
    let mut inboxes: Vec<String> = Status::mentioned_ids(conn, status.id)?
        .into_iter()
        .map(|id| Account::by_id(conn, id))
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .filter(|a| !a.is_local())
        .filter_map(inbox_for)
        .collect();
    if v != Visibility::Direct {
        inboxes.extend(Follow::follower_inboxes(conn, status.account_id)?);
    }
    if v == Visibility::Public {
        inboxes.extend(crate::domain::partner_feed::subscriber_inboxes(conn)?);
        inboxes.extend(crate::domain::relays::inboxes(conn)?);
    }
    inboxes.sort();
    inboxes.dedup();
    Ok(inboxes)
}

async fn resolve_mentions(data: &FedData, text_: &str) -> HashMap<String, Account> {
    let mut found = HashMap::new();
    for m in text::mentions_in(text_) {
        let handle = match &m.host {
            Some(h) => format!("{}@{h}", m.user),
            None => m.user.clone(),
        };
        match resolve_account(data, &handle).await {
            Ok(a) => {
                found.insert(m.key(), a);
            }
            Err(e) => tracing::debug!(%handle, error = %e, "mention not resolved"),
        }
    }
    found
}

fn check_text(text_: &str, spoiler: &str, has_media: bool) -> AppResult<()> {
    if text_.trim().is_empty() && !has_media {
        return Err(AppError::Unprocessable(
            "Validation failed: Text can't be blank".into(),
        ));
    }
    if text_.chars().count() + spoiler.chars().count() > MAX_CHARS {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: Text character limit of {MAX_CHARS} exceeded"
        )));
    }
    Ok(())
}

/// HTML of a local post, with its resolved mentions and hashtags.
async fn compose(data: &FedData, text_: &str) -> (String, Vec<Account>, Vec<String>) {
    let mentions = resolve_mentions(data, text_).await;
    let targets: HashMap<String, MentionTarget> = mentions
        .iter()
        .map(|(k, a)| {
            (
                k.clone(),
                MentionTarget {
                    url: a.url.clone().unwrap_or_else(|| a.uri.clone()),
                    username: a.username.clone(),
                },
            )
        })
        .collect();
    let html = text::render(text_, &targets, &data.base_url());
    let mut accounts: Vec<Account> = mentions.into_values().collect();
    accounts.sort_by_key(|a| a.id);
    accounts.dedup_by_key(|a| a.id);
    (html, accounts, text::hashtags_in(text_))
}

/// A local account posts.
pub async fn post_status(data: &FedData, author: &Account, input: PostInput) -> AppResult<Status> {
    if !author.is_local() {
        return Err(AppError::Forbidden(
            "only local accounts post from here".into(),
        ));
    }
    check_text(
        &input.text,
        &input.spoiler_text,
        !input.media_ids.is_empty(),
    )?;
    if !input.media_ids.is_empty() && input.poll.is_some() {
        return Err(AppError::Unprocessable(
            "Validation failed: A post cannot have both media and a poll".into(),
        ));
    }
    if let Some(p) = &input.poll {
        p.validate(data.config.poll_max_options)?;
    }
    let (content, mut mentioned, tags) = compose(data, &input.text).await;
    let base = data.base_url();
    let author = author.clone();
    let cards = card_host(data);
    let (status, card) = data
        .db
        .transaction(move |c| {
            let parent = match input.in_reply_to_id {
                Some(pid) => Some(Status::by_id(c, pid).map_err(|_| AppError::not_found())?),
                None => None,
            };
            if let Some(p) = &parent
                && p.account_id != author.id
                && !mentioned.iter().any(|a| a.id == p.account_id)
            {
                // A reply always reaches the author it answers.
                mentioned.push(Account::by_id(c, p.account_id)?);
            }
            if let Some(p) = &parent {
                // A reply in a group's thread goes to the group too.
                for gid in groups::groups_of_parent(c, p.id)? {
                    if gid != author.id && !mentioned.iter().any(|a| a.id == gid) {
                        mentioned.push(Account::by_id(c, gid)?);
                    }
                }
            }
            groups::check_local_author(c, &author, &mentioned)?;
            let sid = id::next_id();
            let t = now();
            let uri = format!("{}/statuses/{sid}", author.uri);
            let status = Status::insert(
                c,
                &NewStatus {
                    id: sid,
                    uri,
                    url: Some(format!(
                        "{}/{sid}",
                        urls::profile_url(&base, &author.username)
                    )),
                    account_id: author.id,
                    local: true,
                    visibility: input.visibility.as_str().into(),
                    text: Some(input.text.clone()),
                    content,
                    spoiler_text: input.spoiler_text.clone(),
                    sensitive: input.sensitive || !input.spoiler_text.is_empty(),
                    language: input.language.clone(),
                    in_reply_to_id: parent.as_ref().map(|p| p.id),
                    in_reply_to_uri: parent.as_ref().map(|p| p.uri.clone()),
                    in_reply_to_account_id: parent.as_ref().map(|p| p.account_id),
                    reblog_of_id: None,
                    created_at: t,
                    updated_at: t,
                },
            )?;
            for a in &mentioned {
                Status::add_mention(c, status.id, a.id)?;
                if input.visibility != Visibility::Local || a.is_local() {
                    notifications::notify(c, a.id, author.id, "mention", Some(status.id))?;
                }
            }
            for tag in &tags {
                Status::add_tag(c, status.id, tag)?;
            }
            if let Some(poll) = &input.poll {
                crate::domain::polls::create(c, status.id, poll)?;
            }
            crate::domain::media::attach(c, author.id, status.id, &input.media_ids)?;
            let card = attach_card(c, &status, cards.as_deref())?;
            crate::domain::search::index_status(c, status.id)?;
            if let Some(p) = &parent {
                Status::bump(c, p.id, Counter::Replies, 1)?;
            }
            notify_subscribers(c, &status)?;
            crate::domain::conversations::record(c, &status)?;
            send_about(c, &status, &author, &base, "Create")?;
            let addressed: Vec<i64> = mentioned.iter().map(|a| a.id).collect();
            groups::distribute(c, &status, &author, &addressed)?;
            Ok::<_, AppError>((status, card))
        })
        .await?;
    data.delivery_wake.notify_one();
    crate::domain::cards::spawn_fetch(data, card);
    Ok(status)
}

/// This instance's host when link cards are made (`MEETFIELD_LINK_PREVIEWS`).
fn card_host(data: &FedData) -> Option<String> {
    data.config
        .link_previews
        .then(|| data.config.domain.clone())
}

fn attach_card(
    c: &mut DbConn,
    status: &Status,
    own_host: Option<&str>,
) -> QueryResult<Option<i64>> {
    match own_host {
        Some(h) => crate::domain::cards::attach(c, status, h),
        None => Ok(None),
    }
}

/// `status` notifications for followers who asked for them ("notify"):
/// top-level posts and self-replies their followers may see.
fn notify_subscribers(c: &mut DbConn, status: &Status) -> QueryResult<()> {
    use crate::db::schema::follows;
    if status.reblog_of_id.is_some()
        || status.visibility == "direct"
        || status
            .in_reply_to_account_id
            .is_some_and(|a| a != status.account_id)
    {
        return Ok(());
    }
    let subscribers: Vec<i64> = follows::table
        .filter(follows::target_account_id.eq(status.account_id))
        .filter(follows::notify.eq(true))
        .filter(follows::pending.eq(false))
        .select(follows::account_id)
        .load(c)?;
    for s in subscribers {
        notifications::notify(c, s, status.account_id, "status", Some(status.id))?;
    }
    Ok(())
}

/// `update` notifications, as Mastodon sends them: to those who boosted
/// the post that changed.
fn notify_boosters_of_edit(c: &mut DbConn, status: &Status) -> QueryResult<()> {
    use crate::db::schema::statuses;
    let boosters: Vec<i64> = statuses::table
        .filter(statuses::reblog_of_id.eq(status.id))
        .select(statuses::account_id)
        .load(c)?;
    for b in boosters {
        notifications::notify(c, b, status.account_id, "update", Some(status.id))?;
    }
    Ok(())
}

/// Queues Create/Update/Delete of a local status to its audience.
fn send_about(
    c: &mut DbConn,
    status: &Status,
    author: &Account,
    base: &str,
    kind: &str,
) -> AppResult<()> {
    let inboxes = audience_inboxes(c, status)?;
    if inboxes.is_empty() {
        return Ok(());
    }
    let note = local_note(c, status, author, base)?;
    let (to, cc) = (
        note.to.clone().unwrap_or_default(),
        note.cc.clone().unwrap_or_default(),
    );
    let (id, object) = match kind {
        "Create" => (
            format!("{}/activity", status.uri),
            serde_json::to_value(&note).map_err(|e| AppError::Internal(e.into()))?,
        ),
        "Update" => (
            format!(
                "{}#updates/{}",
                status.uri,
                status
                    .edited_at
                    .map(|t| t.and_utc().timestamp())
                    .unwrap_or_default()
            ),
            serde_json::to_value(&note).map_err(|e| AppError::Internal(e.into()))?,
        ),
        _ => (
            format!("{}#delete", status.uri),
            json!({ "id": status.uri, "type": "Tombstone" }),
        ),
    };
    let activity = wrap_json(kind, &id, &author.uri, object, &to, &cc);
    delivery::enqueue(c, author.id, &activity, &inboxes)?;
    Ok(())
}

/// Queues an Update of a local post that changed without an edit (its
/// poll's counts, its accepted answer) to its audience and `also`: an id
/// of its own (`#updates/<why>-<n>`), so receivers do not take it for an
/// Update they already had.
pub(crate) fn send_local_update(
    c: &mut DbConn,
    status: &Status,
    base: &str,
    why: &str,
    also: Vec<String>,
) -> AppResult<()> {
    let author = Account::by_id(c, status.account_id)?;
    let mut inboxes = audience_inboxes(c, status)?;
    inboxes.extend(also);
    inboxes.sort();
    inboxes.dedup();
    if inboxes.is_empty() {
        return Ok(());
    }
    let note = local_note(c, status, &author, base)?;
    let (to, cc) = (
        note.to.clone().unwrap_or_default(),
        note.cc.clone().unwrap_or_default(),
    );
    let id = format!("{}#updates/{why}-{}", status.uri, id::next_id());
    let object = serde_json::to_value(&note).map_err(|e| AppError::Internal(e.into()))?;
    let activity = wrap_json("Update", &id, &author.uri, object, &to, &cc);
    delivery::enqueue(c, author.id, &activity, &inboxes)?;
    Ok(())
}

fn own_status(c: &mut DbConn, author: &Account, status_id: i64) -> AppResult<Status> {
    let s = Status::by_id(c, status_id).map_err(|_| AppError::not_found())?;
    if s.account_id != author.id || s.reblog_of_id.is_some() {
        return Err(AppError::not_found());
    }
    Ok(s)
}

/// The author edits a local post; the old version stays in the history.
pub async fn edit_status(
    data: &FedData,
    author: &Account,
    status_id: i64,
    new_text: &str,
    spoiler_text: &str,
    sensitive: bool,
) -> AppResult<Status> {
    check_text(new_text, spoiler_text, false)?;
    let (content, mentioned, tags) = compose(data, new_text).await;
    let (base, author) = (data.base_url(), author.clone());
    let (new_text, spoiler_text) = (new_text.to_string(), spoiler_text.to_string());
    let cards = card_host(data);
    let (status, card) = data
        .db
        .transaction(move |c| {
            let current = own_status(c, &author, status_id)?;
            let updated = Status::edit(
                c,
                &current,
                Some(&new_text),
                &content,
                &spoiler_text,
                sensitive || !spoiler_text.is_empty(),
            )?;
            for a in &mentioned {
                Status::add_mention(c, updated.id, a.id)?;
            }
            for tag in &tags {
                Status::add_tag(c, updated.id, tag)?;
            }
            let card = attach_card(c, &updated, cards.as_deref())?;
            crate::domain::search::index_status(c, updated.id)?;
            notify_boosters_of_edit(c, &updated)?;
            send_about(c, &updated, &author, &base, "Update")?;
            Ok::<_, AppError>((updated, card))
        })
        .await?;
    data.delivery_wake.notify_one();
    crate::domain::cards::spawn_fetch(data, card);
    Ok(status)
}

/// The author deletes a local post; returns it (apps offer to redraft).
pub async fn delete_status(
    state: &AppState,
    author: &Account,
    status_id: i64,
) -> AppResult<Status> {
    let (base, author) = (state.base_url(), author.clone());
    let status = state
        .db
        .transaction(move |c| {
            let s = own_status(c, &author, status_id)?;
            // Queue before deleting: the audience is read from the rows.
            send_about(c, &s, &author, &base, "Delete")?;
            remove_status(c, &s)?;
            Ok::<_, AppError>(s)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(status)
}

/// A moderator removes a post: a local one is deleted as its author would
/// (other servers are told); a remote one only leaves this server.
pub async fn remove_by_moderator(state: &AppState, status_id: i64) -> AppResult<()> {
    let base = state.base_url();
    state
        .db
        .transaction(move |c| {
            let s = Status::by_id(c, status_id)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            let author = Account::by_id(c, s.account_id)?;
            if author.is_local() {
                send_about(c, &s, &author, &base, "Delete")?;
            }
            remove_status(c, &s)?;
            Ok::<_, AppError>(())
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(())
}

fn remove_status(c: &mut DbConn, s: &Status) -> AppResult<()> {
    if let Some(parent) = s.in_reply_to_id {
        Status::bump(c, parent, Counter::Replies, -1)?;
    }
    if let Some(orig) = s.reblog_of_id {
        Status::bump(c, orig, Counter::Reblogs, -1)?;
    }
    Status::delete(c, s.id)?;
    Ok(())
}

fn visible_status(c: &mut DbConn, status_id: i64) -> AppResult<(Status, Account)> {
    let s = Status::by_id(c, status_id).map_err(|_| AppError::not_found())?;
    let s = match s.reblog_of_id {
        Some(orig) => Status::by_id(c, orig)?,
        None => s,
    };
    let author = Account::by_id(c, s.account_id)?;
    Ok((s, author))
}

/// A local account likes a post.
pub async fn favourite(state: &AppState, account: &Account, status_id: i64) -> AppResult<Status> {
    let (base, account) = (state.base_url(), account.clone());
    let s = state
        .db
        .transaction(move |c| {
            let (s, author) = visible_status(c, status_id)?;
            let uri = urls::activity(&base, id::next_id());
            let added = Status::add_favourite(c, account.id, s.id, Some(&uri))?;
            if added {
                notifications::notify(c, author.id, account.id, "favourite", Some(s.id))?;
            }
            if added
                && !author.is_local()
                && let Some(inbox) = author.inbox_url.clone()
            {
                delivery::enqueue(
                    c,
                    account.id,
                    &like_json(&uri, &account.uri, &s.uri),
                    &[inbox],
                )?;
            }
            Ok::<_, AppError>(Status::by_id(c, s.id)?)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(s)
}

pub async fn unfavourite(state: &AppState, account: &Account, status_id: i64) -> AppResult<Status> {
    let (base, account) = (state.base_url(), account.clone());
    let s = state
        .db
        .transaction(move |c| {
            let (s, author) = visible_status(c, status_id)?;
            notifications::retract(c, author.id, account.id, "favourite", Some(s.id))?;
            if let Some(like_uri) = Status::remove_favourite(c, account.id, s.id)?
                && !author.is_local()
                && let Some(inbox) = author.inbox_url.clone()
            {
                let like_uri = like_uri.unwrap_or_else(|| urls::activity(&base, id::next_id()));
                let undo = undo_json(
                    &urls::activity(&base, id::next_id()),
                    &account.uri,
                    like_json(&like_uri, &account.uri, &s.uri),
                );
                delivery::enqueue(c, account.id, &undo, &[inbox])?;
            }
            Ok::<_, AppError>(Status::by_id(c, s.id)?)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(s)
}

fn announce_audience(
    c: &mut DbConn,
    account: &Account,
    author: &Account,
) -> AppResult<Vec<String>> {
    let mut inboxes = Follow::follower_inboxes(c, account.id)?;
    if !author.is_local()
        && let Some(i) = inbox_for(author)
    {
        inboxes.push(i);
    }
    Ok(inboxes)
}

/// A local account boosts a public post; returns the boost.
pub async fn reblog(state: &AppState, account: &Account, status_id: i64) -> AppResult<Status> {
    let account = account.clone();
    let boost = state
        .db
        .transaction(move |c| {
            let (s, author) = visible_status(c, status_id)?;
            if !visibility(&s).is_public_ish() {
                return Err(AppError::Unprocessable(
                    "This status cannot be boosted".into(),
                ));
            }
            boost_in(c, &account, &s, &author, true)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(boost)
}

/// Writes a local account's boost of `s` and queues its Announce to the
/// booster's followers (and the remote author); `public` addresses it to
/// everyone, else to the followers only (a closed group's members).
pub(crate) fn boost_in(
    c: &mut DbConn,
    account: &Account,
    s: &Status,
    author: &Account,
    public: bool,
) -> AppResult<Status> {
    if let Some(existing) = Status::reblog_by(c, account.id, s.id)? {
        return Ok(existing);
    }
    let rid = id::next_id();
    let t = now();
    let uri = format!("{}/statuses/{rid}/activity", account.uri);
    let boost = Status::insert(
        c,
        &NewStatus {
            id: rid,
            uri: uri.clone(),
            url: None,
            account_id: account.id,
            local: true,
            visibility: if public { "public" } else { "private" }.into(),
            text: None,
            content: String::new(),
            spoiler_text: String::new(),
            sensitive: false,
            language: None,
            in_reply_to_id: None,
            in_reply_to_uri: None,
            in_reply_to_account_id: None,
            reblog_of_id: Some(s.id),
            created_at: t,
            updated_at: t,
        },
    )?;
    Status::bump(c, s.id, Counter::Reblogs, 1)?;
    notifications::notify(c, author.id, account.id, "reblog", Some(s.id))?;
    let followers = urls::followers(&account.uri);
    let (to, cc) = if public {
        (vec![PUBLIC.into()], vec![author.uri.clone(), followers])
    } else {
        (vec![followers], vec![author.uri.clone()])
    };
    let activity = announce_json(
        &uri,
        &account.uri,
        &s.uri,
        to,
        cc,
        &t.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let inboxes = announce_audience(c, account, author)?;
    if account.actor_type == "Group" {
        // Lemmy reads a group's Announce only with the Create inside; it
        // also carries the post to members' servers that could not fetch
        // it (closed groups, docs/FEDERATION.md). Mastodon reads only the
        // plain Announce, so open groups send both (receivers dedupe).
        let base = url::Url::parse(&account.uri)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        let mut note = serde_json::to_value(local_note(c, s, author, &base)?)
            .map_err(|e| AppError::Internal(e.into()))?;
        note["audience"] = json!(account.uri);
        let create = json!({
            "id": format!("{uri}/create"),
            "type": "Create",
            "actor": author.uri,
            "to": note["to"],
            "cc": note["cc"],
            "audience": account.uri,
            "object": note,
        });
        let mut wrapped = activity.clone();
        if public {
            wrapped["id"] = json!(format!("{uri}/lemmy"));
        }
        wrapped["object"] = create;
        delivery::enqueue(c, account.id, &wrapped, &inboxes)?;
        if !public {
            return Ok(boost);
        }
    }
    delivery::enqueue(c, account.id, &activity, &inboxes)?;
    Ok(boost)
}

pub async fn unreblog(state: &AppState, account: &Account, status_id: i64) -> AppResult<Status> {
    let (base, account) = (state.base_url(), account.clone());
    let s = state
        .db
        .transaction(move |c| {
            let (s, author) = visible_status(c, status_id)?;
            unboost_in(c, &base, &account, &s, &author)?;
            Ok::<_, AppError>(Status::by_id(c, s.id)?)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(s)
}

/// Removes a local account's boost of `s`, telling those who got it.
pub(crate) fn unboost_in(
    c: &mut DbConn,
    base: &str,
    account: &Account,
    s: &Status,
    author: &Account,
) -> AppResult<bool> {
    let Some(boost) = Status::reblog_by(c, account.id, s.id)? else {
        return Ok(false);
    };
    notifications::retract(c, author.id, account.id, "reblog", Some(s.id))?;
    let inboxes = announce_audience(c, account, author)?;
    let inner = announce_json(
        &boost.uri,
        &account.uri,
        &s.uri,
        vec![PUBLIC.into()],
        vec![],
        "",
    );
    let undo = undo_json(&urls::activity(base, id::next_id()), &account.uri, inner);
    delivery::enqueue(c, account.id, &undo, &inboxes)?;
    remove_status(c, &boost)?;
    Ok(true)
}

/// Stores (or returns) a remote post; fetches its author and, when unknown,
/// the post it replies to.
pub async fn store_remote_note(data: &FedData, json: NoteJson) -> AppResult<Status> {
    let uri = json.id.to_string();
    let lookup = uri.clone();
    if let Some(existing) = data
        .db
        .run(move |c| Status::by_uri(c, &lookup).map_err(AppError::from))
        .await?
    {
        return Ok(existing);
    }
    let author_id = json
        .author()
        .ok_or_else(|| AppError::BadRequest(format!("{uri} has no author")))?;
    let author = ObjectId::<ApubAccount>::from(author_id)
        .dereference(data)
        .await?;
    let parent = match json.parent() {
        Some(p) => match ObjectId::<ApubNote>::from(p.clone())
            .dereference(data)
            .await
        {
            Ok(n) => Some(n.status),
            Err(e) => {
                // The thread stays readable without its parent.
                tracing::debug!(parent = %p, error = %e, "reply parent unavailable");
                None
            }
        },
        None => None,
    };
    let (new, mention_uris, tags) = remote_note_row(&json, &author.account, parent.as_ref());
    let question = json.question();
    let accepted = json.accepted_answer_id();
    let attachment = json.attachment.clone();
    let has_attachments = matches!(&attachment, Some(serde_json::Value::Array(a)) if !a.is_empty())
        || matches!(&attachment, Some(serde_json::Value::Object(_)));
    // Groups may be addressed without a Mention (FEP-1b12 `audience`, Lemmy's `to`).
    let addressed_uris: Vec<String> = {
        let (to, cc) = json.recipients();
        let mut all: Vec<String> = to.into_iter().chain(cc).collect();
        all.extend(
            json.audience
                .as_ref()
                .and_then(crate::federation::protocol::helpers::id_of)
                .map(|u| u.to_string()),
        );
        all
    };
    let cards = card_host(data);
    let (status, card) = data
        .db
        .transaction(move |c| {
            // Another delivery may have stored it meanwhile.
            if let Some(existing) = Status::by_uri(c, &new.uri)? {
                return Ok((existing, None));
            }
            let status = Status::insert(c, &new)?;
            let mut addressed = Vec::new();
            for m in &mention_uris {
                if let Some(a) = Account::by_uri(c, m)? {
                    Status::add_mention(c, status.id, a.id)?;
                    notifications::notify(c, a.id, status.account_id, "mention", Some(status.id))?;
                    addressed.push(a.id);
                }
            }
            for u in &addressed_uris {
                if let Some(a) = Account::by_uri(c, u)?
                    && a.actor_type == "Group"
                    && a.is_local()
                {
                    addressed.push(a.id);
                }
            }
            for tag in &tags {
                Status::add_tag(c, status.id, tag)?;
            }
            if let Some(q) = &question {
                crate::domain::polls::store_remote(c, status.id, q)?;
            }
            if accepted.is_some() {
                crate::domain::answers::receive(c, &status, accepted.as_deref())?;
            }
            crate::domain::media::store_remote(
                c,
                status.id,
                status.account_id,
                attachment.as_ref(),
            )?;
            let card = attach_card(c, &status, cards.as_deref())?;
            crate::domain::search::index_status(c, status.id)?;
            if let Some(p) = status.in_reply_to_id {
                Status::bump(c, p, Counter::Replies, 1)?;
            }
            notify_subscribers(c, &status)?;
            crate::domain::conversations::record(c, &status)?;
            let author = Account::by_id(c, status.account_id)?;
            groups::distribute(c, &status, &author, &addressed)?;
            Ok::<_, AppError>((status, card))
        })
        .await?;
    crate::domain::cards::spawn_fetch(data, card);
    if has_attachments {
        // Cached after the answer: the sender does not wait for our fetch.
        let (state, sid) = ((**data).clone(), status.id);
        tokio::spawn(async move {
            if let Err(e) = crate::domain::media::cache_remote(&state, sid).await {
                tracing::warn!(status = sid, error = %e, "remote media not cached");
            }
        });
    }
    Ok(status)
}

/// The row, mentioned actor ids and hashtags of a remote post, without
/// touching the network or the database.
pub fn remote_note_row(
    json: &NoteJson,
    author: &Account,
    parent: Option<&Status>,
) -> (NewStatus, Vec<String>, Vec<String>) {
    let uri = json.id.to_string();
    let (to, cc) = json.recipients();
    let vis = visibility_of(&to, &cc, author.followers_url.as_deref());
    let mention_uris: Vec<String> = json
        .tags_of("Mention")
        .into_iter()
        .filter_map(|(href, _)| href)
        .collect();
    let tags: Vec<String> = json
        .tags_of("Hashtag")
        .into_iter()
        .map(|(_, name)| name.trim_start_matches('#').to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    let content = html::sanitize(&json.html());
    let created = json
        .published_at()
        .map(|d| d.naive_utc())
        .unwrap_or_else(now);
    let t = now();
    let new = NewStatus {
        id: id::next_id(),
        uri: uri.clone(),
        url: json
            .url
            .as_ref()
            .and_then(crate::federation::protocol::helpers::href_of),
        account_id: author.id,
        local: false,
        visibility: vis.as_str().into(),
        text: None,
        content,
        spoiler_text: json
            .summary
            .as_deref()
            .map(html::strip_tags)
            .unwrap_or_default(),
        sensitive: json.sensitive.unwrap_or(false),
        language: json
            .content_map
            .as_ref()
            .and_then(|m| m.as_object())
            .and_then(|m| m.keys().next().cloned()),
        in_reply_to_id: parent.as_ref().map(|p| p.id),
        in_reply_to_uri: json.parent().map(|p| p.to_string()),
        in_reply_to_account_id: parent.as_ref().map(|p| p.account_id),
        reblog_of_id: None,
        created_at: created.min(t),
        updated_at: t,
    };
    (new, mention_uris, tags)
}

/// A remote author edited a post we have.
pub async fn receive_note_update(data: &FedData, actor: &Account, json: NoteJson) -> AppResult<()> {
    let uri = json.id.to_string();
    let existing = {
        let uri = uri.clone();
        data.db
            .run(move |c| Status::by_uri(c, &uri).map_err(AppError::from))
            .await?
    };
    let Some(current) = existing else {
        store_remote_note(data, json).await?;
        return Ok(());
    };
    if current.account_id != actor.id {
        return Err(AppError::Forbidden("Update of another actor's post".into()));
    }
    let content = html::sanitize(&json.html());
    let spoiler = json
        .summary
        .as_deref()
        .map(html::strip_tags)
        .unwrap_or_default();
    let sensitive = json.sensitive.unwrap_or(false);
    {
        let (q, accepted) = (current.clone(), json.accepted_answer_id());
        data.db
            .transaction(move |c| {
                crate::domain::answers::receive(c, &q, accepted.as_deref()).map_err(AppError::from)
            })
            .await?;
    }
    if let Some(q) = json.question() {
        let sid = current.id;
        data.db
            .transaction(move |c| {
                crate::domain::polls::store_remote(c, sid, &q)?;
                crate::domain::search::index_status(c, sid).map_err(AppError::from)
            })
            .await?;
    }
    if content == current.content
        && spoiler == current.spoiler_text
        && sensitive == current.sensitive
    {
        return Ok(());
    }
    let cards = card_host(data);
    let card = data
        .db
        .transaction(move |c| {
            let updated = Status::edit(c, &current, None, &content, &spoiler, sensitive)?;
            let card = attach_card(c, &updated, cards.as_deref())?;
            crate::domain::search::index_status(c, updated.id)?;
            notify_boosters_of_edit(c, &updated)?;
            Ok::<_, AppError>(card)
        })
        .await?;
    crate::domain::cards::spawn_fetch(data, card);
    Ok(())
}

/// A remote actor deleted one of its posts (or boosts).
pub async fn receive_delete(state: &AppState, actor: &Account, object_uri: &str) -> AppResult<()> {
    let (actor_id, uri) = (actor.id, object_uri.to_string());
    state
        .db
        .transaction(move |c| {
            if let Some(s) = Status::by_uri(c, &uri)? {
                if s.account_id != actor_id {
                    return Err(AppError::Forbidden("Delete of another actor's post".into()));
                }
                remove_status(c, &s)?;
            }
            Ok(())
        })
        .await
}

pub async fn receive_like(
    state: &AppState,
    actor: &Account,
    status: &Status,
    activity_id: &str,
) -> AppResult<()> {
    let (actor_id, status_id, uri) = (actor.id, status.id, activity_id.to_string());
    state
        .db
        .transaction(move |c| {
            if Status::add_favourite(c, actor_id, status_id, Some(&uri))? {
                let author = Status::by_id(c, status_id)?.account_id;
                notifications::notify(c, author, actor_id, "favourite", Some(status_id))?;
            }
            Ok::<_, AppError>(())
        })
        .await
}

/// Undo of a Like, found by the Like's id or by actor and post.
pub async fn receive_unlike(
    state: &AppState,
    actor: &Account,
    like_uri: Option<String>,
    status_uri: Option<String>,
) -> AppResult<()> {
    let actor_id = actor.id;
    state
        .db
        .transaction(move |c| {
            let mut status_id = None;
            if let Some(u) = &like_uri
                && let Some((acc, sid)) = Status::favourite_by_uri(c, u)?
                && acc == actor_id
            {
                status_id = Some(sid);
            }
            if status_id.is_none()
                && let Some(u) = &status_uri
            {
                status_id = Status::by_uri(c, u)?.map(|s| s.id);
            }
            if let Some(sid) = status_id {
                Status::remove_favourite(c, actor_id, sid)?;
                let author = Status::by_id(c, sid)?.account_id;
                notifications::retract(c, author, actor_id, "favourite", Some(sid))?;
            }
            Ok::<_, AppError>(())
        })
        .await
}

pub async fn receive_announce(
    state: &AppState,
    actor: &Account,
    original: &Status,
    activity_id: &str,
) -> AppResult<()> {
    let (actor_id, orig, uri) = (actor.id, original.clone(), activity_id.to_string());
    let actor = actor.clone();
    state
        .db
        .transaction(move |c| {
            if Status::by_uri(c, &uri)?.is_some()
                || Status::reblog_by(c, actor_id, orig.id)?.is_some()
            {
                return Ok(());
            }
            let t = now();
            Status::insert(
                c,
                &NewStatus {
                    id: id::next_id(),
                    uri: uri.clone(),
                    url: None,
                    account_id: actor_id,
                    local: false,
                    visibility: "public".into(),
                    text: None,
                    content: String::new(),
                    spoiler_text: String::new(),
                    sensitive: false,
                    language: None,
                    in_reply_to_id: None,
                    in_reply_to_uri: None,
                    in_reply_to_account_id: None,
                    reblog_of_id: Some(orig.id),
                    created_at: t,
                    updated_at: t,
                },
            )?;
            Status::bump(c, orig.id, Counter::Reblogs, 1)?;
            notifications::notify(c, orig.account_id, actor_id, "reblog", Some(orig.id))?;
            if actor.actor_type == "Group" {
                let boost = Status::by_uri(c, &uri)?.ok_or_else(AppError::not_found)?;
                groups::record_remote_post(c, &actor, orig.id, boost.id)?;
            }
            Ok::<_, AppError>(())
        })
        .await
}

/// Undo of an Announce, by the Announce's id or by actor and post.
pub async fn receive_unannounce(
    state: &AppState,
    actor: &Account,
    announce_uri: Option<String>,
    status_uri: Option<String>,
) -> AppResult<()> {
    let actor_id = actor.id;
    state
        .db
        .transaction(move |c| {
            let mut boost = match &announce_uri {
                Some(u) => Status::by_uri(c, u)?
                    .filter(|b| b.account_id == actor_id && b.reblog_of_id.is_some()),
                None => None,
            };
            if boost.is_none()
                && let Some(u) = &status_uri
                && let Some(orig) = Status::by_uri(c, u)?
            {
                boost = Status::reblog_by(c, actor_id, orig.id)?;
            }
            if let Some(b) = boost {
                if let Some(orig) = b.reblog_of_id {
                    let author = Status::by_id(c, orig)?.account_id;
                    notifications::retract(c, author, actor_id, "reblog", Some(orig))?;
                    groups::forget_remote_post(c, actor_id, orig)?;
                }
                remove_status(c, &b)?;
            }
            Ok::<_, AppError>(())
        })
        .await
}

/// The earlier versions of a post, oldest first (for edit history).
pub async fn history(
    state: &AppState,
    status_id: i64,
) -> AppResult<Vec<crate::db::models::status::StatusEdit>> {
    state
        .db
        .run(move |c| Status::edits(c, status_id).map_err(AppError::from))
        .await
}
