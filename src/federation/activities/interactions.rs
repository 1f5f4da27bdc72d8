//! Like and Announce of posts; Block of accounts.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::traits::Activity;
use serde_json::Value;
use url::Url;

use crate::app::AppState;
use crate::domain::{blocks, statuses};
use crate::error::{AppError, AppResult};
use crate::federation::objects::{ApubAccount, ApubNote};
use crate::federation::protocol::activities::{Announce, Block, Like};
use crate::federation::protocol::helpers::id_of;
use crate::federation::protocol::note::NoteJson;

#[async_trait::async_trait]
impl Activity for Like {
    type DataType = AppState;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        self.actor.inner()
    }

    async fn verify(&self, _data: &Data<AppState>) -> AppResult<()> {
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> AppResult<()> {
        let object = id_of(&self.object)
            .ok_or_else(|| AppError::BadRequest("Like without object".into()))?;
        // Likes of posts we do not have are of no interest here.
        let Ok(note) = ObjectId::<ApubNote>::from(object)
            .dereference_local(data)
            .await
        else {
            return Ok(());
        };
        let actor = self.actor.dereference(data).await?;
        statuses::receive_like(data, &actor, &note.status, self.id.as_str()).await
    }
}

#[async_trait::async_trait]
impl Activity for Announce {
    type DataType = AppState;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        self.actor.inner()
    }

    async fn verify(&self, _data: &Data<AppState>) -> AppResult<()> {
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> AppResult<()> {
        let actor = self.actor.dereference(data).await?;
        let mut object = self.object.clone();
        if actor.account.actor_type == "Group" {
            match relayed_by_group(&object) {
                Relayed::Post(post) => object = post,
                // Lemmy's moderators remove a post with a Delete the group
                // relays: the post leaves the group here too.
                Relayed::Delete(post) => {
                    return statuses::receive_unannounce(
                        data,
                        &actor.account,
                        None,
                        Some(post.to_string()),
                    )
                    .await;
                }
                Relayed::Moderator {
                    person,
                    target,
                    add,
                } => {
                    return crate::domain::groups::receive_moderator_change(
                        data,
                        &actor.account,
                        &person,
                        target.as_str(),
                        add,
                    )
                    .await;
                }
                Relayed::Ignored => return Ok(()),
                Relayed::Object => {}
            }
            if object.is_object() && inline_from_group_accepted(data, &actor, &object).await? {
                let json: NoteJson = serde_json::from_value(object)
                    .map_err(|e| AppError::BadRequest(format!("announced object: {e}")))?;
                let status = statuses::store_remote_note(data, json).await?;
                return statuses::receive_announce(data, &actor, &status, self.id.as_str()).await;
            }
        }
        let object =
            id_of(&object).ok_or_else(|| AppError::BadRequest("Announce without object".into()))?;
        // A boosted post is fetched from its origin, not trusted inline.
        let note = ObjectId::<ApubNote>::from(object).dereference(data).await?;
        statuses::receive_announce(data, &actor, &note.status, self.id.as_str()).await
    }
}

/// What a group's Announce carries.
#[derive(Debug, PartialEq)]
pub enum Relayed {
    /// A post, inline, from an announced Create/Update (Lemmy).
    Post(Value),
    /// A moderator's removal of a post (Lemmy's relayed Delete).
    Delete(Url),
    /// A moderator added to or removed from a collection (`target`).
    Moderator { person: Url, target: Url, add: bool },
    /// Relayed votes, locks, undos, blocks: not applied here.
    Ignored,
    /// A post itself (or its id), as Mastodon-style groups boost.
    Object,
}

const ACTOR_TYPES: &[&str] = &["Person", "Service", "Application", "Group", "Organization"];

/// Sorts what a group announced (the object of its Announce).
pub fn relayed_by_group(object: &Value) -> Relayed {
    let inner = |k: &str| object.get(k).and_then(id_of);
    match object.get("type").and_then(Value::as_str) {
        Some("Create" | "Update") => {
            Relayed::Post(object.get("object").cloned().unwrap_or(Value::Null))
        }
        Some("Delete") => inner("object").map_or(Relayed::Ignored, Relayed::Delete),
        // Only people join or leave a collection of moderators; an inline
        // post (a pin) or relationship (FEP-5219, Mitra) is something else.
        Some("Add" | "Remove")
            if object
                .get("object")
                .and_then(|o| o.get("type"))
                .and_then(Value::as_str)
                .is_some_and(|t| !ACTOR_TYPES.contains(&t)) =>
        {
            Relayed::Ignored
        }
        Some(k @ ("Add" | "Remove")) => match (inner("object"), inner("target")) {
            (Some(person), Some(target)) => Relayed::Moderator {
                person,
                target,
                add: k == "Add",
            },
            _ => Relayed::Ignored,
        },
        Some("Like" | "Dislike" | "Undo" | "Block" | "Lock" | "Flag") => Relayed::Ignored,
        _ => Relayed::Object,
    }
}

/// A group's inline post is taken as the group hands it over when someone
/// here belongs to the group and the post is addressed to it: members'
/// servers cannot fetch posts meant for a closed group's members only.
async fn inline_from_group_accepted(
    data: &Data<AppState>,
    group: &ApubAccount,
    object: &Value,
) -> AppResult<bool> {
    let uri = group.account.uri.clone();
    let addressed = ["to", "cc", "audience"]
        .iter()
        .any(|k| match object.get(*k) {
            Some(Value::String(s)) => *s == uri,
            Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(&uri)),
            _ => false,
        });
    if !addressed {
        return Ok(false);
    }
    let gid = group.account.id;
    data.db
        .run(move |c| {
            use crate::db::schema::follows;
            use diesel::prelude::*;
            Ok::<_, AppError>(
                diesel::select(diesel::dsl::exists(
                    follows::table
                        .filter(follows::target_account_id.eq(gid))
                        .filter(follows::pending.eq(false)),
                ))
                .get_result::<bool>(c)?,
            )
        })
        .await
}

#[async_trait::async_trait]
impl Activity for Block {
    type DataType = AppState;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        self.actor.inner()
    }

    async fn verify(&self, _data: &Data<AppState>) -> AppResult<()> {
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> AppResult<()> {
        let object = id_of(&self.object)
            .ok_or_else(|| AppError::BadRequest("Block without object".into()))?;
        let Ok(target) = ObjectId::<ApubAccount>::from(object)
            .dereference_local(data)
            .await
        else {
            return Ok(());
        };
        let blocker = self.actor.dereference(data).await?;
        blocks::receive_block(data, &blocker, &target, self.id.as_str()).await
    }
}

#[async_trait::async_trait]
impl Activity for crate::federation::protocol::activities::AddRemove {
    type DataType = AppState;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        self.actor.inner()
    }

    async fn verify(&self, _data: &Data<AppState>) -> AppResult<()> {
        Ok(())
    }

    /// A group's own Add/Remove on its moderators (what our groups send);
    /// anything else (someone's featured posts) is ignored.
    async fn receive(self, data: &Data<AppState>) -> AppResult<()> {
        let (Some(person), Some(target)) = (id_of(&self.object), id_of(&self.target)) else {
            return Ok(());
        };
        let actor = self.actor.dereference(data).await?;
        if actor.account.actor_type != "Group" {
            return Ok(());
        }
        let add = self.kind == crate::federation::protocol::activities::AddRemoveType::Add;
        crate::domain::groups::receive_moderator_change(
            data,
            &actor.account,
            &person,
            target.as_str(),
            add,
        )
        .await
    }
}

#[async_trait::async_trait]
impl Activity for crate::federation::protocol::activities::Flag {
    type DataType = AppState;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        self.actor.inner()
    }

    async fn verify(&self, _data: &Data<AppState>) -> AppResult<()> {
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> AppResult<()> {
        let reporter = self.actor.dereference(data).await?;
        let objects: Vec<String> = match &self.object {
            Value::Array(items) => items.iter().filter_map(id_of).map(String::from).collect(),
            other => id_of(other).map(String::from).into_iter().collect(),
        };
        let (uri, comment) = (self.id.to_string(), self.content.unwrap_or_default());
        let account = reporter.account;
        let made = data
            .db
            .transaction(move |c| {
                Ok::<_, AppError>(crate::domain::reports::receive_flag(
                    c, &uri, &account, &objects, &comment,
                )?)
            })
            .await?;
        if let Some(id) = made {
            tracing::info!(report = id, "report received from another server");
        }
        Ok(())
    }
}
