//! Follow, Accept and Reject.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::traits::Activity;
use serde_json::Value;
use url::Url;

use crate::app::AppState;
use crate::domain::follows;
use crate::error::{AppError, AppResult};
use crate::federation::objects::ApubAccount;
use crate::federation::protocol::activities::{Accept, Follow, Reject};
use crate::federation::protocol::helpers::id_of;

#[async_trait::async_trait]
impl Activity for Follow {
    type DataType = AppState;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        self.actor.inner()
    }

    async fn verify(&self, data: &Data<AppState>) -> AppResult<()> {
        if !self.object.is_local(data) {
            return Err(AppError::BadRequest(
                "Follow of an actor not hosted here".into(),
            ));
        }
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> AppResult<()> {
        let follower = self.actor.dereference(data).await?;
        let target = self.object.dereference_local(data).await?;
        follows::receive_follow(data, follower.account, target.account, self.id.to_string()).await
    }
}

/// The Follow an Accept/Reject answers: its id (or just the id, as Mitra
/// sends it), and the follower it names (Friendica once sent a database
/// number as the id; the follower still finds the follow).
pub fn answered_follow(object: &Value) -> (Option<String>, Option<Url>) {
    let id = id_of(object).map(|u| u.to_string());
    let follower = object.get("actor").and_then(id_of);
    (id, follower)
}

#[async_trait::async_trait]
impl Activity for Accept {
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
        let target = self.actor.dereference(data).await?;
        let (follow_id, follower) = answered_follow(&self.object);
        let follower = match follower {
            Some(f) => Some(
                ObjectId::<ApubAccount>::from(f)
                    .dereference_local(data)
                    .await?,
            ),
            None => None,
        };
        follows::receive_follow_answer(
            data,
            target.account,
            follow_id,
            follower.map(|f| f.account),
            true,
        )
        .await
    }
}

#[async_trait::async_trait]
impl Activity for Reject {
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
        let target = self.actor.dereference(data).await?;
        let (follow_id, follower) = answered_follow(&self.object);
        let follower = match follower {
            Some(f) => Some(
                ObjectId::<ApubAccount>::from(f)
                    .dereference_local(data)
                    .await?,
            ),
            None => None,
        };
        follows::receive_follow_answer(
            data,
            target.account,
            follow_id,
            follower.map(|f| f.account),
            false,
        )
        .await
    }
}
