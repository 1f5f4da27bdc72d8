//! Like and Announce of posts; Block of accounts.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::traits::Activity;
use url::Url;

use crate::app::AppState;
use crate::domain::{blocks, statuses};
use crate::error::{AppError, AppResult};
use crate::federation::objects::{ApubAccount, ApubNote};
use crate::federation::protocol::activities::{Announce, Block, Like};
use crate::federation::protocol::helpers::id_of;

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
        let object = id_of(&self.object)
            .ok_or_else(|| AppError::BadRequest("Announce without object".into()))?;
        // The boosted post is fetched from its origin, never trusted inline.
        let note = ObjectId::<ApubNote>::from(object).dereference(data).await?;
        let actor = self.actor.dereference(data).await?;
        statuses::receive_announce(data, &actor, &note.status, self.id.as_str()).await
    }
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
