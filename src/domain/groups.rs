//! Groups (FEP-1b12): a Group actor whose followers are its members. A
//! member posts by mentioning the group; the group Announces the post to
//! all members on every instance. Moderators approve joins and remove posts
//! and members.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::app::AppState;
use crate::db::models::{Account, Follow, NewAccount, Status};
use crate::db::schema::{accounts, follows, group_moderators, group_posts, group_settings};
use crate::db::{DbConn, id, now};
use crate::domain::statuses::{boost_in, unboost_in};
use crate::domain::users::validate_username;
use crate::error::{AppError, AppResult};
use crate::federation::FedData;
use crate::federation::urls;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = group_settings)]
pub struct GroupSettings {
    pub account_id: i64,
    pub closed: bool,
    pub announcement_only: bool,
    pub owner_account_id: Option<i64>,
    pub moderators_url: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a caller is to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Moderator,
    Member,
    Requested,
    None,
}

impl Role {
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Role::Owner => Some("owner"),
            Role::Moderator => Some("moderator"),
            Role::Member => Some("member"),
            Role::Requested => Some("requested"),
            Role::None => None,
        }
    }

    pub fn moderates(self) -> bool {
        matches!(self, Role::Owner | Role::Moderator)
    }

    pub fn belongs(self) -> bool {
        matches!(self, Role::Owner | Role::Moderator | Role::Member)
    }
}

/// A group, as the API shows it.
#[derive(Debug, Clone)]
pub struct Group {
    pub account: Account,
    pub settings: GroupSettings,
}

pub fn settings(c: &mut DbConn, group_id: i64) -> QueryResult<Option<GroupSettings>> {
    group_settings::table
        .find(group_id)
        .select(GroupSettings::as_select())
        .first(c)
        .optional()
}

/// The group with this account id (local or remote); other accounts are not
/// groups.
pub fn find(c: &mut DbConn, group_id: i64) -> AppResult<Group> {
    let account = Account::by_id(c, group_id)
        .optional()?
        .filter(|a| a.actor_type == "Group" && a.suspended_at.is_none())
        .ok_or_else(|| AppError::NotFound("Record not found".into()))?;
    let settings = match settings(c, group_id)? {
        Some(s) => s,
        // A remote group seen before we kept settings for it.
        None => GroupSettings {
            account_id: group_id,
            closed: account.locked,
            announcement_only: false,
            owner_account_id: None,
            moderators_url: None,
            created_at: account.created_at,
            updated_at: account.updated_at,
        },
    };
    Ok(Group { account, settings })
}

pub fn is_moderator(c: &mut DbConn, group: i64, account: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        group_moderators::table
            .filter(group_moderators::group_id.eq(group))
            .filter(group_moderators::account_id.eq(account)),
    ))
    .get_result(c)
}

pub fn role(c: &mut DbConn, g: &Group, account: i64) -> QueryResult<Role> {
    if g.settings.owner_account_id == Some(account) {
        return Ok(Role::Owner);
    }
    if is_moderator(c, g.account.id, account)? {
        return Ok(Role::Moderator);
    }
    Ok(match Follow::find(c, account, g.account.id)? {
        Some(f) if f.pending => Role::Requested,
        Some(_) => Role::Member,
        None => Role::None,
    })
}

/// What `POST /api/v1/groups` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    pub name: String,
    pub display_name: String,
    pub note: String,
    pub closed: bool,
    pub discoverable: bool,
    pub announcement_only: bool,
}

/// A local account creates a group; it becomes its owner, moderator and
/// first member.
pub async fn create(state: &AppState, owner: &Account, g: NewGroup) -> AppResult<Group> {
    if !owner.is_local() {
        return Err(AppError::Forbidden(
            "only local accounts create groups".into(),
        ));
    }
    validate_username(&g.name)
        .map_err(|e| AppError::Unprocessable(format!("Validation failed: name: {e}")))?;
    let (public_key, private_key) = crate::domain::instance::generate_keypair().await?;
    let base = state.base_url();
    let owner = owner.clone();
    let group_id = state
        .db
        .transaction(move |c| {
            if Account::local_by_username(c, &g.name)?.is_some() {
                return Err(AppError::Unprocessable(format!(
                    "Validation failed: name '{}' is already taken",
                    g.name
                )));
            }
            let t = now();
            let uri = urls::user_uri(&base, &g.name);
            let account = Account::insert(
                c,
                &NewAccount {
                    id: id::next_id(),
                    username: g.name.clone(),
                    domain: None,
                    actor_type: "Group".into(),
                    uri: uri.clone(),
                    url: Some(urls::profile_url(&base, &g.name)),
                    display_name: g.display_name.trim().to_string(),
                    locked: g.closed,
                    discoverable: g.discoverable,
                    bot: false,
                    public_key_pem: Some(public_key),
                    private_key_pem: Some(private_key),
                    created_at: t,
                    updated_at: t,
                },
            )?;
            if !g.note.trim().is_empty() {
                let html = crate::domain::text::render(&g.note, &Default::default(), &base);
                diesel::update(accounts::table.find(account.id))
                    .set(accounts::note.eq(html))
                    .execute(c)?;
            }
            diesel::insert_into(group_settings::table)
                .values((
                    group_settings::account_id.eq(account.id),
                    group_settings::closed.eq(g.closed),
                    group_settings::announcement_only.eq(g.announcement_only),
                    group_settings::owner_account_id.eq(owner.id),
                    group_settings::moderators_url.eq(urls::moderators(&uri)),
                    group_settings::created_at.eq(t),
                    group_settings::updated_at.eq(t),
                ))
                .execute(c)?;
            add_moderator_row(c, account.id, owner.id)?;
            Follow::insert(c, owner.id, account.id, None, false)?;
            Ok::<_, AppError>(account.id)
        })
        .await?;
    state.db.run(move |c| find(c, group_id)).await
}

fn add_moderator_row(c: &mut DbConn, group: i64, account: i64) -> QueryResult<()> {
    if !is_moderator(c, group, account)? {
        diesel::insert_into(group_moderators::table)
            .values((
                group_moderators::group_id.eq(group),
                group_moderators::account_id.eq(account),
                group_moderators::created_at.eq(now()),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Loads a local group and checks that `actor` moderates it.
pub(crate) fn moderated(c: &mut DbConn, actor: i64, group_id: i64) -> AppResult<Group> {
    let g = find(c, group_id)?;
    if !g.account.is_local() {
        return Err(AppError::Unprocessable(
            "This group is hosted on another server".into(),
        ));
    }
    if !role(c, &g, actor)?.moderates() {
        return Err(AppError::Forbidden(
            "Only the group's moderators can do this".into(),
        ));
    }
    Ok(g)
}

/// What `PATCH /api/v1/groups/:id` may change.
#[derive(Debug, Clone, Default)]
pub struct GroupChange {
    pub display_name: Option<String>,
    pub note: Option<String>,
    pub closed: Option<bool>,
    pub discoverable: Option<bool>,
    pub announcement_only: Option<bool>,
    /// Hand the group over to another member (owner only).
    pub owner_id: Option<i64>,
    pub avatar_url: Option<String>,
    pub header_url: Option<String>,
}

pub async fn update(
    state: &AppState,
    actor: &Account,
    group_id: i64,
    change: GroupChange,
) -> AppResult<Group> {
    let actor_id = actor.id;
    let g = state
        .db
        .run(move |c| moderated(c, actor_id, group_id))
        .await?;
    if let Some(new_owner) = change.owner_id {
        if g.settings.owner_account_id != Some(actor_id) {
            return Err(AppError::Forbidden(
                "Only the group's owner can hand it over".into(),
            ));
        }
        let gid = g.account.id;
        state
            .db
            .transaction(move |c| {
                let g = find(c, gid)?;
                if !role(c, &g, new_owner)?.belongs() {
                    return Err(AppError::Unprocessable(
                        "Validation failed: the new owner must be a member".into(),
                    ));
                }
                add_moderator_row(c, gid, new_owner)?;
                diesel::update(group_settings::table.find(gid))
                    .set(group_settings::owner_account_id.eq(new_owner))
                    .execute(c)?;
                Ok::<_, AppError>(())
            })
            .await?;
    }
    if change.announcement_only.is_some() || change.closed.is_some() {
        let gid = g.account.id;
        let (ao, closed) = (change.announcement_only, change.closed);
        state
            .db
            .transaction(move |c| {
                let s = settings(c, gid)?.ok_or_else(AppError::not_found)?;
                diesel::update(group_settings::table.find(gid))
                    .set((
                        group_settings::announcement_only.eq(ao.unwrap_or(s.announcement_only)),
                        group_settings::closed.eq(closed.unwrap_or(s.closed)),
                        group_settings::updated_at.eq(now()),
                    ))
                    .execute(c)?;
                Ok::<_, AppError>(())
            })
            .await?;
    }
    // Profile fields go through the same path as a user's (and send Update).
    crate::domain::accounts::update_profile(
        state,
        &g.account,
        crate::domain::accounts::ProfileChange {
            display_name: change.display_name,
            note: change.note,
            locked: change.closed,
            discoverable: change.discoverable,
            avatar_url: change.avatar_url,
            header_url: change.header_url,
            ..Default::default()
        },
    )
    .await?;
    let gid = g.account.id;
    state.db.run(move |c| find(c, gid)).await
}

/// The owner deletes a group; members' servers get `Delete` of the actor.
pub async fn delete(state: &AppState, actor: &Account, group_id: i64) -> AppResult<()> {
    let actor_id = actor.id;
    let g = state
        .db
        .run(move |c| moderated(c, actor_id, group_id))
        .await?;
    if g.settings.owner_account_id != Some(actor_id) {
        return Err(AppError::Forbidden(
            "Only the group's owner can delete it".into(),
        ));
    }
    crate::domain::accounts::delete_local_account(state, &g.account).await
}

/// A moderator removes a member (a remote member's server gets Reject).
pub async fn remove_member(
    state: &AppState,
    actor: &Account,
    group_id: i64,
    member_id: i64,
) -> AppResult<()> {
    let actor_id = actor.id;
    let (g, member) = state
        .db
        .run(move |c| {
            let g = moderated(c, actor_id, group_id)?;
            if g.settings.owner_account_id == Some(member_id) {
                return Err(AppError::Unprocessable(
                    "The owner cannot be removed".into(),
                ));
            }
            let member = Account::by_id(c, member_id).map_err(|_| AppError::not_found())?;
            Ok::<_, AppError>((g, member))
        })
        .await?;
    crate::domain::follows::remove_follower(state, &g.account, &member).await?;
    let (gid, mid) = (g.account.id, member.id);
    state
        .db
        .transaction(move |c| {
            diesel::delete(
                group_moderators::table
                    .filter(group_moderators::group_id.eq(gid))
                    .filter(group_moderators::account_id.eq(mid)),
            )
            .execute(c)?;
            Ok::<_, AppError>(())
        })
        .await
}

/// A moderator approves or refuses a join request. An approved member is
/// welcomed with a direct post from the group (a mention every app shows,
/// on any server).
pub async fn answer_request(
    data: &FedData,
    actor: &Account,
    group_id: i64,
    requester_id: i64,
    accept: bool,
) -> AppResult<()> {
    let actor_id = actor.id;
    let (g, requester) = data
        .db
        .run(move |c| {
            let g = moderated(c, actor_id, group_id)?;
            let r = Account::by_id(c, requester_id).map_err(|_| AppError::not_found())?;
            Ok::<_, AppError>((g, r))
        })
        .await?;
    if !accept {
        return crate::domain::follows::reject_follow_request(data, &g.account, &requester).await;
    }
    crate::domain::follows::authorize_follow_request(data, &g.account, &requester).await?;
    let handle = match &requester.domain {
        Some(d) => format!("@{}@{}", requester.username, d),
        None => format!("@{}", requester.username),
    };
    let name = if g.account.display_name.is_empty() {
        g.account.username.clone()
    } else {
        g.account.display_name.clone()
    };
    let welcome = crate::domain::statuses::PostInput {
        visibility: crate::federation::protocol::note::Visibility::Direct,
        ..crate::domain::statuses::PostInput::public(&format!(
            "{handle} Welcome to {name}: your request to join was approved."
        ))
    };
    crate::domain::statuses::post_status(data, &g.account, welcome).await?;
    Ok(())
}

/// Local groups that `moderator` moderates.
pub fn moderated_by(c: &mut DbConn, moderator: i64) -> QueryResult<Vec<i64>> {
    group_moderators::table
        .inner_join(accounts::table.on(accounts::id.eq(group_moderators::group_id)))
        .filter(group_moderators::account_id.eq(moderator))
        .filter(accounts::domain.is_null())
        .select(group_moderators::group_id)
        .load(c)
}

/// A local group moderated by `moderator` that `requester` asked to join.
pub fn pending_request_for(
    c: &mut DbConn,
    moderator: i64,
    requester: i64,
) -> QueryResult<Option<i64>> {
    let groups = moderated_by(c, moderator)?;
    follows::table
        .filter(follows::account_id.eq(requester))
        .filter(follows::target_account_id.eq_any(groups))
        .filter(follows::pending.eq(true))
        .select(follows::target_account_id)
        .first(c)
        .optional()
}

/// Makes a member a moderator, or no longer one (the owner stays one).
pub async fn set_moderator(
    state: &AppState,
    actor: &Account,
    group_id: i64,
    account_id: i64,
    on: bool,
) -> AppResult<()> {
    let (actor_id, base) = (actor.id, state.base_url());
    state
        .db
        .transaction(move |c| {
            let g = moderated(c, actor_id, group_id)?;
            let was = is_moderator(c, g.account.id, account_id)?;
            if on {
                if !role(c, &g, account_id)?.belongs() {
                    return Err(AppError::Unprocessable(
                        "Validation failed: moderators must be members".into(),
                    ));
                }
                add_moderator_row(c, g.account.id, account_id)?;
            } else {
                if g.settings.owner_account_id == Some(account_id) {
                    return Err(AppError::Unprocessable(
                        "The owner stays a moderator".into(),
                    ));
                }
                diesel::delete(
                    group_moderators::table
                        .filter(group_moderators::group_id.eq(g.account.id))
                        .filter(group_moderators::account_id.eq(account_id)),
                )
                .execute(c)?;
            }
            if was != on {
                announce_moderator(c, &g, account_id, on, &base)?;
            }
            Ok::<_, AppError>(())
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(())
}

/// Members' servers learn of a new or former moderator as Lemmy sends it:
/// Add/Remove on the moderators collection.
fn announce_moderator(
    c: &mut DbConn,
    g: &Group,
    account_id: i64,
    on: bool,
    base: &str,
) -> AppResult<()> {
    let who = Account::by_id(c, account_id)?;
    let activity = serde_json::json!({
        "@context": crate::federation::protocol::context::context(),
        "id": urls::activity(base, id::next_id()),
        "type": if on { "Add" } else { "Remove" },
        "actor": g.account.uri,
        "to": [crate::federation::protocol::note::PUBLIC],
        "cc": [urls::followers(&g.account.uri)],
        "object": who.uri,
        "target": urls::moderators(&g.account.uri),
        "audience": g.account.uri,
    });
    let inboxes = Follow::follower_inboxes(c, g.account.id)?;
    crate::delivery::enqueue(c, g.account.id, &activity, &inboxes)?;
    Ok(())
}

/// An admin hands a local group to another local member (its owner left,
/// or a reorganization): the new owner moderates; the former one stays a
/// moderator until removed.
pub async fn hand_over(state: &AppState, group_id: i64, new_owner: i64) -> AppResult<()> {
    let base = state.base_url();
    state
        .db
        .transaction(move |c| {
            let g = find(c, group_id)?;
            if !g.account.is_local() {
                return Err(AppError::Unprocessable(
                    "Only this server's groups can be handed over".into(),
                ));
            }
            let who = Account::by_id(c, new_owner)
                .optional()?
                .filter(|a| a.is_local() && a.actor_type == "Person")
                .ok_or_else(|| {
                    AppError::Unprocessable("The new owner must be a person on this server".into())
                })?;
            if !role(c, &g, who.id)?.belongs() {
                return Err(AppError::Unprocessable(
                    "The new owner must be a member of the group".into(),
                ));
            }
            let t = now();
            let n = diesel::update(group_settings::table.find(g.account.id))
                .set((
                    group_settings::owner_account_id.eq(who.id),
                    group_settings::updated_at.eq(t),
                ))
                .execute(c)?;
            if n == 0 {
                return Err(AppError::Unprocessable("The group has no settings".into()));
            }
            if !is_moderator(c, g.account.id, who.id)? {
                add_moderator_row(c, g.account.id, who.id)?;
                announce_moderator(c, &g, who.id, true, &base)?;
            }
            Ok::<_, AppError>(())
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(())
}

/// Whether `target` names the moderators collection of `group`: ours
/// (`{group}/moderators`), Lemmy's (`{community}/moderators`), or the one
/// the group's actor names.
pub fn is_moderators_collection(
    group: &Account,
    settings: Option<&GroupSettings>,
    target: &str,
) -> bool {
    target == urls::moderators(&group.uri)
        || settings
            .and_then(|s| s.moderators_url.as_deref())
            .is_some_and(|m| m == target)
}

/// A remote group says someone became (or stopped being) one of its
/// moderators: kept here so members see who moderates. Only the group
/// itself may say so (directly, or announcing its moderator's activity).
pub async fn receive_moderator_change(
    data: &crate::federation::FedData,
    group: &Account,
    person: &url::Url,
    target: &str,
    add: bool,
) -> AppResult<()> {
    if group.actor_type != "Group" || group.is_local() {
        return Ok(());
    }
    let (gid, t) = (group.id, target.to_string());
    let known = data
        .db
        .run(move |c| settings(c, gid).map_err(AppError::from))
        .await?;
    if !is_moderators_collection(group, known.as_ref(), &t) {
        return Ok(());
    }
    use activitypub_federation::fetch::object_id::ObjectId;
    let who = ObjectId::<crate::federation::objects::ApubAccount>::from(person.clone())
        .dereference(data)
        .await?;
    let pid = who.account.id;
    data.db
        .transaction(move |c| {
            if add {
                add_moderator_row(c, gid, pid)?;
            } else {
                diesel::delete(
                    group_moderators::table
                        .filter(group_moderators::group_id.eq(gid))
                        .filter(group_moderators::account_id.eq(pid)),
                )
                .execute(c)?;
            }
            Ok::<_, AppError>(())
        })
        .await
}

/// A remote group's moderators collection (its `moderators` or, as Lemmy
/// names it, `attributedTo`): remembered, and its members stored as the
/// group's moderators.
pub fn store_remote_moderators(
    c: &mut DbConn,
    group: &Account,
    collection: &str,
    moderators: &[i64],
) -> QueryResult<()> {
    let t = now();
    if settings(c, group.id)?.is_none() {
        diesel::insert_into(group_settings::table)
            .values((
                group_settings::account_id.eq(group.id),
                group_settings::closed.eq(group.locked),
                group_settings::announcement_only.eq(false),
                group_settings::moderators_url.eq(collection),
                group_settings::created_at.eq(t),
                group_settings::updated_at.eq(t),
            ))
            .execute(c)?;
    } else {
        diesel::update(group_settings::table.find(group.id))
            .set((
                group_settings::moderators_url.eq(collection),
                group_settings::updated_at.eq(t),
            ))
            .execute(c)?;
    }
    diesel::delete(group_moderators::table.filter(group_moderators::group_id.eq(group.id)))
        .execute(c)?;
    for m in moderators {
        add_moderator_row(c, group.id, *m)?;
    }
    Ok(())
}

/// Actor ids in a moderators collection (`orderedItems` or `items`, as
/// ids or objects), at most 100.
pub fn moderator_uris(collection: &serde_json::Value) -> Vec<url::Url> {
    ["orderedItems", "items"]
        .iter()
        .find_map(|k| collection.get(*k).and_then(serde_json::Value::as_array))
        .map(|items| {
            items
                .iter()
                .filter_map(crate::federation::protocol::helpers::id_of)
                .take(100)
                .collect()
        })
        .unwrap_or_default()
}

/// Reads a remote group's moderators collection and stores who is in it.
pub async fn sync_remote_moderators(
    data: &crate::federation::FedData,
    group: &Account,
    collection: &url::Url,
) -> AppResult<()> {
    use activitypub_federation::fetch::object_id::ObjectId;
    if collection.host_str() != url::Url::parse(&group.uri)?.host_str() {
        return Ok(());
    }
    let fetched = activitypub_federation::fetch::fetch_object_http::<AppState, serde_json::Value>(
        collection, data,
    )
    .await?
    .object;
    let mut ids = Vec::new();
    for uri in moderator_uris(&fetched) {
        match ObjectId::<crate::federation::objects::ApubAccount>::from(uri.clone())
            .dereference(data)
            .await
        {
            Ok(a) => ids.push(a.account.id),
            Err(e) => tracing::debug!(moderator = %uri, error = %e, "moderator not resolved"),
        }
    }
    let (group, collection) = (group.clone(), collection.to_string());
    data.db
        .transaction(move |c| {
            store_remote_moderators(c, &group, &collection, &ids).map_err(AppError::from)
        })
        .await
}

/// Local groups among `mentioned` (and the group of the post replied to)
/// where `author` may post; an announcement-only group refuses members'
/// posts. Checked before a local post is written, so the author is told.
pub fn check_local_author(
    c: &mut DbConn,
    author: &Account,
    mentioned: &[Account],
) -> AppResult<()> {
    for m in mentioned
        .iter()
        .filter(|m| m.actor_type == "Group" && m.is_local())
    {
        let g = find(c, m.id)?;
        let r = role(c, &g, author.id)?;
        if r.belongs() && g.settings.announcement_only && !r.moderates() {
            return Err(AppError::Unprocessable(format!(
                "Only moderators can post to {}",
                m.username
            )));
        }
    }
    Ok(())
}

/// The groups a post belongs to because it answers one of their posts.
pub fn groups_of_parent(c: &mut DbConn, parent: i64) -> QueryResult<Vec<i64>> {
    group_posts::table
        .filter(group_posts::status_id.eq(parent))
        .select(group_posts::group_id)
        .load(c)
}

/// Runs in the transaction that stores a new post (local or remote): each
/// local group it is addressed to takes it in if the author may post there,
/// and Announces it to its members.
pub fn distribute(
    c: &mut DbConn,
    status: &Status,
    author: &Account,
    addressed: &[i64],
) -> AppResult<()> {
    if status.reblog_of_id.is_some() {
        return Ok(());
    }
    let mut targets: Vec<i64> = addressed.to_vec();
    if let Some(p) = status.in_reply_to_id {
        targets.extend(groups_of_parent(c, p)?);
    }
    targets.sort_unstable();
    targets.dedup();
    for gid in targets {
        let Ok(g) = find(c, gid) else { continue };
        if !g.account.is_local() || g.account.id == author.id {
            continue;
        }
        let r = role(c, &g, author.id)?;
        let may_post = r.moderates() || (r.belongs() && !g.settings.announcement_only);
        if !may_post {
            continue;
        }
        let already: bool = diesel::select(diesel::dsl::exists(
            group_posts::table
                .filter(group_posts::status_id.eq(status.id))
                .filter(group_posts::group_id.eq(gid)),
        ))
        .get_result(c)?;
        if already {
            continue;
        }
        let boost = boost_in(c, &g.account, status, author, !g.settings.closed)?;
        notify_subscribers(c, gid, status.id)?;
        diesel::insert_into(group_posts::table)
            .values((
                group_posts::status_id.eq(status.id),
                group_posts::group_id.eq(gid),
                group_posts::announce_id.eq(boost.id),
                group_posts::created_at.eq(now()),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Members who follow the group with `notify` get a `status` notification
/// for each post it takes in.
fn notify_subscribers(c: &mut DbConn, group: i64, status: i64) -> QueryResult<()> {
    let subscribers: Vec<i64> = follows::table
        .filter(follows::target_account_id.eq(group))
        .filter(follows::notify.eq(true))
        .filter(follows::pending.eq(false))
        .select(follows::account_id)
        .load(c)?;
    for s in subscribers {
        crate::domain::notifications::notify(c, s, group, "status", Some(status))?;
    }
    Ok(())
}

/// A remote group Announced a post: remember that it belongs to the group.
pub fn record_remote_post(
    c: &mut DbConn,
    group: &Account,
    status_id: i64,
    announce_id: i64,
) -> QueryResult<()> {
    if group.actor_type != "Group" {
        return Ok(());
    }
    let already: bool = diesel::select(diesel::dsl::exists(
        group_posts::table
            .filter(group_posts::status_id.eq(status_id))
            .filter(group_posts::group_id.eq(group.id)),
    ))
    .get_result(c)?;
    if !already {
        diesel::insert_into(group_posts::table)
            .values((
                group_posts::status_id.eq(status_id),
                group_posts::group_id.eq(group.id),
                group_posts::announce_id.eq(announce_id),
                group_posts::created_at.eq(now()),
            ))
            .execute(c)?;
        notify_subscribers(c, group.id, status_id)?;
    }
    Ok(())
}

/// A remote group withdrew its Announce: the post left the group.
pub fn forget_remote_post(c: &mut DbConn, group: i64, status_id: i64) -> QueryResult<usize> {
    diesel::delete(
        group_posts::table
            .filter(group_posts::status_id.eq(status_id))
            .filter(group_posts::group_id.eq(group)),
    )
    .execute(c)
}

/// A moderator takes a post out of a local group: the group's Announce is
/// undone for every member, on every instance.
pub async fn remove_post(
    state: &AppState,
    actor: &Account,
    group_id: i64,
    status_id: i64,
) -> AppResult<()> {
    let (base, actor_id) = (state.base_url(), actor.id);
    state
        .db
        .transaction(move |c| {
            let g = moderated(c, actor_id, group_id)?;
            let found: bool = diesel::select(diesel::dsl::exists(
                group_posts::table
                    .filter(group_posts::status_id.eq(status_id))
                    .filter(group_posts::group_id.eq(g.account.id)),
            ))
            .get_result(c)?;
            if !found {
                return Err(AppError::NotFound("Record not found".into()));
            }
            let s = Status::by_id(c, status_id)?;
            let author = Account::by_id(c, s.account_id)?;
            unboost_in(c, &base, &g.account, &s, &author)?;
            forget_remote_post(c, g.account.id, status_id)?;
            // Lemmy reads a removal as its moderator's Delete, relayed by the
            // group; Mastodon-style servers read the Undo above.
            let moderator = Account::by_id(c, actor_id)?;
            let followers = urls::followers(&g.account.uri);
            let delete = serde_json::json!({
                "id": urls::activity(&base, id::next_id()),
                "type": "Delete",
                "actor": moderator.uri,
                "object": s.uri,
                "to": [crate::federation::protocol::note::PUBLIC],
                "cc": [g.account.uri],
                "audience": g.account.uri,
                "summary": "Removed by a moderator",
            });
            let announce = serde_json::json!({
                "@context": crate::federation::protocol::context::context(),
                "id": urls::activity(&base, id::next_id()),
                "type": "Announce",
                "actor": g.account.uri,
                "to": [crate::federation::protocol::note::PUBLIC],
                "cc": [followers],
                "audience": g.account.uri,
                "object": delete,
            });
            let inboxes = Follow::follower_inboxes(c, g.account.id)?;
            crate::delivery::enqueue(c, g.account.id, &announce, &inboxes)?;
            Ok::<_, AppError>(())
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(())
}

/// Groups `account` belongs to (accepted follows of Group actors).
pub fn joined(c: &mut DbConn, account: i64) -> QueryResult<Vec<Account>> {
    follows::table
        .inner_join(accounts::table.on(accounts::id.eq(follows::target_account_id)))
        .filter(follows::account_id.eq(account))
        .filter(follows::pending.eq(false))
        .filter(accounts::actor_type.eq("Group"))
        .order(follows::id.desc())
        .select(Account::as_select())
        .load(c)
}

/// Discoverable groups hosted here.
pub fn local_directory(c: &mut DbConn) -> QueryResult<Vec<Account>> {
    accounts::table
        .filter(accounts::domain.is_null())
        .filter(accounts::actor_type.eq("Group"))
        .filter(accounts::discoverable.eq(true))
        .filter(accounts::suspended_at.is_null())
        .order(accounts::username.asc())
        .select(Account::as_select())
        .load(c)
}

/// Moderators of a group, for its `moderators` collection.
pub fn moderators(c: &mut DbConn, group: i64) -> QueryResult<Vec<Account>> {
    group_moderators::table
        .inner_join(accounts::table.on(accounts::id.eq(group_moderators::account_id)))
        .filter(group_moderators::group_id.eq(group))
        .order(group_moderators::created_at.asc())
        .select(Account::as_select())
        .load(c)
}
