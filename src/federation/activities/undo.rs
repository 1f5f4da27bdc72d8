//! Undo of a Follow, Like or Announce, by its author only.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::protocol::verification::verify_domains_match;
use activitypub_federation::traits::Activity;
use serde_json::Value;
use url::Url;

use crate::app::AppState;
use crate::domain::{blocks, follows, statuses};
use crate::error::{AppError, AppResult};
use crate::federation::objects::ApubAccount;
use crate::federation::protocol::activities::Undo;
use crate::federation::protocol::helpers::id_of;

#[async_trait::async_trait]
impl Activity for Undo {
    type DataType = AppState;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        self.actor.inner()
    }

    async fn verify(&self, _data: &Data<AppState>) -> AppResult<()> {
        if let Some(inner_actor) = self.object.get("actor").and_then(id_of)
            && inner_actor != *self.actor.inner()
        {
            return Err(AppError::Forbidden(
                "Undo of another actor's activity".into(),
            ));
        }
        if let Some(inner_id) = id_of(&self.object) {
            verify_domains_match(&inner_id, self.actor.inner())?;
        }
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> AppResult<()> {
        let kind = self
            .object
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("");
        let actor = self.actor.dereference(data).await?;
        let inner_id = id_of(&self.object).map(|u| u.to_string());
        let inner_object = self.object.get("object").and_then(id_of);
        match kind {
            "Like" => {
                statuses::receive_unlike(
                    data,
                    &actor,
                    inner_id,
                    inner_object.map(|u| u.to_string()),
                )
                .await
            }
            "Announce" => {
                statuses::receive_unannounce(
                    data,
                    &actor,
                    inner_id,
                    inner_object.map(|u| u.to_string()),
                )
                .await
            }
            "Block" => {
                let target = match inner_object {
                    Some(t) => ObjectId::<ApubAccount>::from(t)
                        .dereference_local(data)
                        .await
                        .ok()
                        .map(|a| a.account),
                    None => None,
                };
                blocks::receive_unblock(data, &actor, target.as_ref(), inner_id).await
            }
            // A bare id is most often a Follow (older software).
            "Follow" | "" => {
                let target = match inner_object {
                    Some(t) => ObjectId::<ApubAccount>::from(t)
                        .dereference_local(data)
                        .await
                        .ok()
                        .map(|a| a.account),
                    None => None,
                };
                follows::receive_unfollow(data, actor.account, inner_id, target).await
            }
            other => {
                tracing::debug!(kind = other, id = %self.id, "ignoring Undo of unsupported activity");
                Ok(())
            }
        }
    }
}
