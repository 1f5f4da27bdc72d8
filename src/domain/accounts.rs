//! Accounts as a whole: what happens when one goes away.

use diesel::prelude::*;

use crate::app::AppState;
use crate::db::DbConn;
use crate::db::models::Account;
use crate::db::schema::{accounts, follows, statuses};
use crate::error::{AppError, AppResult};
use crate::federation::objects::ApubAccount;
use crate::org::profile::{self, Editor, FieldValue};

/// A remote actor deleted itself: its posts and relations go; the row stays
/// (suspended) so its id is not taken over by a later fetch.
pub async fn receive_actor_deleted(state: &AppState, actor: &ApubAccount) -> AppResult<()> {
    let account: Account = actor.account.clone();
    if account.is_local() {
        return Err(AppError::Forbidden("Delete of a local actor".into()));
    }
    let id = account.id;
    state
        .db
        .transaction(move |c| {
            diesel::delete(statuses::table.filter(statuses::account_id.eq(id))).execute(c)?;
            diesel::delete(
                follows::table.filter(
                    follows::account_id
                        .eq(id)
                        .or(follows::target_account_id.eq(id)),
                ),
            )
            .execute(c)?;
            diesel::update(accounts::table.find(id))
                // updated_at: partners reading our directory see who left.
                .set((
                    accounts::suspended_at.eq(crate::db::now()),
                    accounts::updated_at.eq(crate::db::now()),
                ))
                .execute(c)?;
            Ok::<_, AppError>(())
        })
        .await
}

/// What a local user may change on their profile.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub display_name: Option<String>,
    pub note: Option<String>,
    pub locked: Option<bool>,
    pub discoverable: Option<bool>,
    pub indexable: Option<bool>,
    pub bot: Option<bool>,
    /// `(name, value)` pairs in plain text, the whole list (see
    /// `org::profile::merge_fields`).
    pub fields: Option<Vec<(String, String)>>,
    /// An admin may fill the organization's managed fields; a user may not.
    pub editor: Editor,
    /// URLs of newly stored profile pictures (see `media::store_profile_image`).
    pub avatar_url: Option<String>,
    pub header_url: Option<String>,
}

/// An admin, a directory or an identity provider sets some fields (an
/// empty value removes one); the rest of the profile stays as it is.
/// Returns the account, unchanged when every value was already so.
pub async fn set_fields_as_admin(
    state: &AppState,
    account: &Account,
    values: &[(String, String)],
) -> AppResult<Account> {
    let mut fields: Vec<(String, String)> = profile::stored_fields(&account.fields)
        .into_iter()
        .map(|(n, v)| (n, crate::domain::html::strip_tags(&v)))
        .collect();
    let before = fields.clone();
    for (name, value) in values {
        match fields
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        {
            Some(f) => f.1 = value.clone(),
            None if !value.trim().is_empty() => fields.push((name.clone(), value.clone())),
            None => {}
        }
    }
    if fields == before {
        return Ok(account.clone());
    }
    update_profile(
        state,
        account,
        ProfileChange {
            fields: Some(fields),
            editor: Editor::Admin,
            ..Default::default()
        },
    )
    .await
}

const DISPLAY_NAME_MAX: usize = 30;
const NOTE_MAX: usize = 500;

/// Plain text → the HTML we store for a bio or a field value.
fn bio_html(text: &str, base: &str) -> String {
    crate::domain::text::render(text, &std::collections::HashMap::new(), base)
}

/// A local user edits their profile; followers' servers get `Update`.
pub async fn update_profile(
    state: &AppState,
    account: &Account,
    change: ProfileChange,
) -> AppResult<Account> {
    if let Some(n) = &change.display_name
        && n.chars().count() > DISPLAY_NAME_MAX
    {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: Display name is too long (maximum is {DISPLAY_NAME_MAX} characters)"
        )));
    }
    if let Some(n) = &change.note
        && n.chars().count() > NOTE_MAX
    {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: Note is too long (maximum is {NOTE_MAX} characters)"
        )));
    }
    let max_fields = state.config.max_profile_fields;
    let base = state.base_url();
    let id = account.id;
    let updated = state
        .db
        .transaction(move |c| {
            let t = crate::db::now();
            if let Some(n) = &change.display_name {
                diesel::update(accounts::table.find(id))
                    .set(accounts::display_name.eq(n.trim()))
                    .execute(c)?;
            }
            if let Some(n) = &change.note {
                let html = if n.trim().is_empty() {
                    String::new()
                } else {
                    bio_html(n, &base)
                };
                diesel::update(accounts::table.find(id))
                    .set(accounts::note.eq(html))
                    .execute(c)?;
            }
            if let Some(v) = change.locked {
                diesel::update(accounts::table.find(id))
                    .set(accounts::locked.eq(v))
                    .execute(c)?;
            }
            if let Some(v) = change.discoverable {
                diesel::update(accounts::table.find(id))
                    .set(accounts::discoverable.eq(v))
                    .execute(c)?;
            }
            if let Some(v) = change.indexable {
                diesel::update(accounts::table.find(id))
                    .set(accounts::indexable.eq(v))
                    .execute(c)?;
            }
            if let Some(u) = &change.avatar_url {
                diesel::update(accounts::table.find(id))
                    .set(accounts::avatar_url.eq(Some(u)))
                    .execute(c)?;
            }
            if let Some(u) = &change.header_url {
                diesel::update(accounts::table.find(id))
                    .set(accounts::header_url.eq(Some(u)))
                    .execute(c)?;
            }
            if let Some(v) = change.bot {
                diesel::update(accounts::table.find(id))
                    .set(accounts::bot.eq(v))
                    .execute(c)?;
            }
            if let Some(fields) = &change.fields {
                let schema = profile::schema(c)?;
                let current = Account::by_id(c, id)?;
                let merged = profile::merge_fields(
                    &schema,
                    &profile::stored_fields(&current.fields),
                    fields,
                    change.editor,
                    max_fields,
                )?;
                let json: Vec<serde_json::Value> = merged
                    .iter()
                    .map(|(n, v)| {
                        let value = match v {
                            FieldValue::Stored(html) => html.clone(),
                            // Values keep their links, like Mastodon's profile fields.
                            FieldValue::Plain(text) => {
                                let html = bio_html(text, &base);
                                html.strip_prefix("<p>")
                                    .and_then(|h| h.strip_suffix("</p>"))
                                    .unwrap_or(&html)
                                    .to_string()
                            }
                        };
                        serde_json::json!({ "name": n, "value": value })
                    })
                    .collect();
                let fields_json = serde_json::Value::Array(json).to_string();
                diesel::update(accounts::table.find(id))
                    .set(accounts::fields.eq(&fields_json))
                    .execute(c)?;
                profile::reindex_account(c, id, &fields_json, &Default::default())?;
            }
            diesel::update(accounts::table.find(id))
                .set(accounts::updated_at.eq(t))
                .execute(c)?;
            let account = send_actor_update(c, id, &base)?;
            Ok::<_, AppError>(account)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(updated)
}

/// Tells the followers' servers that a local actor changed (`Update` of
/// the actor document), in the caller's transaction. Wake the delivery
/// workers after it commits.
pub fn send_actor_update(c: &mut DbConn, id: i64, base: &str) -> AppResult<Account> {
    let account = Account::by_id(c, id)?;
    let group = crate::domain::groups::settings(c, id)?;
    let actor =
        crate::federation::objects::account::local_actor_json(&account, group.as_ref(), base);
    let activity = crate::federation::protocol::activities::wrap_json(
        "Update",
        &format!("{}#updates/{}", account.uri, crate::db::id::next_id()),
        &account.uri,
        serde_json::to_value(&actor).map_err(|e| AppError::Internal(e.into()))?,
        &serde_json::json!([crate::federation::protocol::note::PUBLIC]),
        &serde_json::json!([crate::federation::urls::followers(&account.uri)]),
    );
    let inboxes = crate::db::models::Follow::follower_inboxes(c, id)?;
    crate::delivery::enqueue(c, id, &activity, &inboxes)?;
    Ok(account)
}

/// An admin deletes a local account: its posts and relations go, the
/// account stays suspended (so its name is not reused), and the servers of
/// its followers and followees are told with `Delete` of the actor.
pub async fn delete_local_account(state: &AppState, account: &Account) -> AppResult<()> {
    if !account.is_local() {
        return Err(AppError::Unprocessable("not a local account".into()));
    }
    let (id, uri) = (account.id, account.uri.clone());
    state
        .db
        .transaction(move |c| {
            let mut inboxes = crate::db::models::Follow::follower_inboxes(c, id)?;
            let following: Vec<Account> = crate::db::models::Follow::following_of(c, id)?;
            inboxes.extend(
                following
                    .iter()
                    .filter(|a| !a.is_local())
                    .filter_map(|a| a.shared_inbox_url.clone().or_else(|| a.inbox_url.clone())),
            );
            inboxes.sort();
            inboxes.dedup();
            let activity = crate::federation::protocol::activities::wrap_json(
                "Delete",
                &format!("{uri}#delete"),
                &uri,
                serde_json::Value::String(uri.clone()),
                &serde_json::json!([crate::federation::protocol::note::PUBLIC]),
                &serde_json::json!([]),
            );
            crate::delivery::enqueue(c, id, &activity, &inboxes)?;
            diesel::delete(statuses::table.filter(statuses::account_id.eq(id))).execute(c)?;
            diesel::delete(
                follows::table.filter(
                    follows::account_id
                        .eq(id)
                        .or(follows::target_account_id.eq(id)),
                ),
            )
            .execute(c)?;
            diesel::update(accounts::table.find(id))
                // updated_at: partners reading our directory see who left.
                .set((
                    accounts::suspended_at.eq(crate::db::now()),
                    accounts::updated_at.eq(crate::db::now()),
                ))
                .execute(c)?;
            diesel::update(
                crate::db::schema::users::table.filter(crate::db::schema::users::account_id.eq(id)),
            )
            .set(crate::db::schema::users::disabled.eq(true))
            .execute(c)?;
            Ok::<_, AppError>(())
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(())
}
