//! Create, Update and Delete: posts (and, for Update/Delete, actors).

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::protocol::verification::verify_domains_match;
use activitypub_federation::traits::{Activity, Object};

use serde_json::Value;
use url::Url;

use crate::app::AppState;
use crate::domain::statuses;
use crate::error::{AppError, AppResult};
use crate::federation::objects::{ApubAccount, ApubNote};
use crate::federation::protocol::activities::{Create, Delete, Update};
use crate::federation::protocol::actor::ActorJson;
use crate::federation::protocol::helpers::id_of;
use crate::federation::protocol::note::{NoteJson, POST_TYPES};

fn object_type(v: &Value) -> Option<&str> {
    v.get("type").and_then(Value::as_str)
}

const ACTOR_TYPES: &[&str] = &["Person", "Group", "Service", "Application", "Organization"];

/// The post an activity carries embedded, if it is one; its id must be on
/// the actor's host. (Posts given only by id are fetched by the caller.)
fn post_of(object: &Value, actor: &Url) -> AppResult<Option<NoteJson>> {
    match object_type(object) {
        Some(t) if POST_TYPES.contains(&t) => {
            let note: NoteJson = serde_json::from_value(object.clone())
                .map_err(|e| AppError::BadRequest(format!("cannot read object: {e}")))?;
            verify_domains_match(&note.id, actor)?;
            Ok(Some(note))
        }
        _ => Ok(None),
    }
}

#[async_trait::async_trait]
impl Activity for Create {
    type DataType = AppState;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        self.actor.inner()
    }

    async fn verify(&self, _data: &Data<AppState>) -> AppResult<()> {
        if let Some(id) = id_of(&self.object) {
            verify_domains_match(&id, self.actor.inner())?;
        }
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> AppResult<()> {
        if self.object.is_string() {
            let id =
                id_of(&self.object).ok_or_else(|| AppError::BadRequest("bad object".into()))?;
            ObjectId::<ApubNote>::from(id).dereference(data).await?;
            return Ok(());
        }
        let Some(note) = post_of(&self.object, self.actor.inner())? else {
            tracing::debug!(id = %self.id, "Create of an unsupported object type ignored");
            return Ok(());
        };
        if note.author().as_ref() != Some(self.actor.inner()) {
            return Err(AppError::Forbidden(
                "Create of a post by another actor".into(),
            ));
        }
        let actor = self.actor.dereference(data).await?;
        if crate::domain::polls::receive_vote(data, &actor.account, &note).await? {
            return Ok(());
        }
        statuses::store_remote_note(data, note).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Activity for Update {
    type DataType = AppState;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        self.actor.inner()
    }

    async fn verify(&self, _data: &Data<AppState>) -> AppResult<()> {
        let id = id_of(&self.object)
            .ok_or_else(|| AppError::BadRequest("Update without object id".into()))?;
        verify_domains_match(&id, self.actor.inner())?;
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> AppResult<()> {
        match object_type(&self.object) {
            Some(t) if ACTOR_TYPES.contains(&t) => {
                let json: ActorJson = serde_json::from_value(self.object.clone())
                    .map_err(|e| AppError::BadRequest(format!("cannot read actor: {e}")))?;
                if json.id != *self.actor.inner() {
                    return Err(AppError::Forbidden("Update of another actor".into()));
                }
                ApubAccount::verify(&json, self.actor.inner(), data).await?;
                ApubAccount::from_json(json, data).await?;
                Ok(())
            }
            Some(t) if POST_TYPES.contains(&t) => {
                let actor = self.actor.dereference(data).await?;
                let Some(note) = post_of(&self.object, self.actor.inner())? else {
                    return Ok(());
                };
                statuses::receive_note_update(data, &actor, note).await
            }
            _ => Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl Activity for Delete {
    type DataType = AppState;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        self.actor.inner()
    }

    async fn verify(&self, _data: &Data<AppState>) -> AppResult<()> {
        let id = id_of(&self.object)
            .ok_or_else(|| AppError::BadRequest("Delete without object id".into()))?;
        verify_domains_match(&id, self.actor.inner())?;
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> AppResult<()> {
        let id = id_of(&self.object)
            .ok_or_else(|| AppError::BadRequest("Delete without object id".into()))?;
        let Some(actor) = ObjectId::<ApubAccount>::from(self.actor.inner().clone())
            .dereference_local(data)
            .await
            .ok()
        else {
            // An actor we never stored deleted something: nothing to do
            // (and fetching a deleted actor would fail anyway).
            return Ok(());
        };
        if id == *self.actor.inner() {
            return crate::domain::accounts::receive_actor_deleted(data, &actor).await;
        }
        statuses::receive_delete(data, &actor, id.as_str()).await
    }
}
