//! The one inbox dispatch: every activity we accept, in one enum.

use activitypub_federation::config::Data;
use activitypub_federation::traits::Activity;
use diesel::prelude::*;
use serde::Deserialize;
use url::Url;

use crate::app::AppState;
use crate::db::schema::received_activities;
use crate::error::{AppError, AppResult};
use crate::federation::protocol::activities::{
    Accept, AddRemove, Announce, Block, Create, Delete, Flag, Follow, Like, Reject, Undo,
    Unsupported, Update,
};

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum InboxActivity {
    Follow(Follow),
    Accept(Accept),
    Reject(Reject),
    Undo(Undo),
    Create(Create),
    Update(Update),
    Delete(Delete),
    Like(Like),
    Announce(Announce),
    Block(Block),
    AddRemove(AddRemove),
    Flag(Flag),
    /// Must stay last: matches any activity with an id and an actor.
    Unsupported(Unsupported),
}

impl InboxActivity {
    fn kind(&self) -> String {
        match self {
            InboxActivity::Follow(_) => "Follow".into(),
            InboxActivity::Accept(_) => "Accept".into(),
            InboxActivity::Reject(_) => "Reject".into(),
            InboxActivity::Undo(_) => "Undo".into(),
            InboxActivity::Block(_) => "Block".into(),
            InboxActivity::AddRemove(a) => format!("{:?}", a.kind),
            InboxActivity::Announce(_) => "Announce".into(),
            InboxActivity::Like(_) => "Like".into(),
            InboxActivity::Delete(_) => "Delete".into(),
            InboxActivity::Update(_) => "Update".into(),
            InboxActivity::Create(_) => "Create".into(),
            InboxActivity::Flag(_) => "Flag".into(),
            InboxActivity::Unsupported(u) => u.kind.to_string(),
        }
    }
}

/// Notes that activity `id` has been applied (duplicates are refused for a
/// month); called in the transaction that records the outcome.
pub fn remember(c: &mut crate::db::DbConn, id: &str) -> diesel::QueryResult<()> {
    let seen: bool = diesel::select(diesel::dsl::exists(
        received_activities::table.filter(received_activities::ap_id.eq(id)),
    ))
    .get_result(c)?;
    if !seen {
        diesel::insert_into(received_activities::table)
            .values((
                received_activities::ap_id.eq(id),
                received_activities::received_at.eq(crate::db::now()),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Whether activity `id` was applied already (within the last month).
pub fn already_received(c: &mut crate::db::DbConn, id: &str) -> diesel::QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        received_activities::table.filter(received_activities::ap_id.eq(id)),
    ))
    .get_result(c)
}

#[async_trait::async_trait]
impl Activity for InboxActivity {
    type DataType = AppState;
    type Error = AppError;

    fn id(&self) -> &Url {
        match self {
            InboxActivity::Follow(a) => a.id(),
            InboxActivity::Accept(a) => a.id(),
            InboxActivity::Reject(a) => a.id(),
            InboxActivity::Undo(a) => a.id(),
            InboxActivity::Block(a) => a.id(),
            InboxActivity::AddRemove(a) => a.id(),
            InboxActivity::Announce(a) => a.id(),
            InboxActivity::Like(a) => a.id(),
            InboxActivity::Delete(a) => a.id(),
            InboxActivity::Update(a) => a.id(),
            InboxActivity::Create(a) => a.id(),
            InboxActivity::Flag(a) => a.id(),
            InboxActivity::Unsupported(a) => &a.id,
        }
    }

    fn actor(&self) -> &Url {
        match self {
            InboxActivity::Follow(a) => a.actor(),
            InboxActivity::Accept(a) => a.actor(),
            InboxActivity::Reject(a) => a.actor(),
            InboxActivity::Undo(a) => a.actor(),
            InboxActivity::Block(a) => a.actor(),
            InboxActivity::AddRemove(a) => a.actor(),
            InboxActivity::Announce(a) => a.actor(),
            InboxActivity::Like(a) => a.actor(),
            InboxActivity::Delete(a) => a.actor(),
            InboxActivity::Update(a) => a.actor(),
            InboxActivity::Create(a) => a.actor(),
            InboxActivity::Flag(a) => a.actor(),
            InboxActivity::Unsupported(a) => &a.actor,
        }
    }

    async fn verify(&self, data: &Data<AppState>) -> AppResult<()> {
        match self {
            InboxActivity::Follow(a) => a.verify(data).await,
            InboxActivity::Accept(a) => a.verify(data).await,
            InboxActivity::Reject(a) => a.verify(data).await,
            InboxActivity::Undo(a) => a.verify(data).await,
            InboxActivity::Block(a) => a.verify(data).await,
            InboxActivity::AddRemove(a) => a.verify(data).await,
            InboxActivity::Announce(a) => a.verify(data).await,
            InboxActivity::Like(a) => a.verify(data).await,
            InboxActivity::Delete(a) => a.verify(data).await,
            InboxActivity::Update(a) => a.verify(data).await,
            InboxActivity::Create(a) => a.verify(data).await,
            InboxActivity::Flag(a) => a.verify(data).await,
            InboxActivity::Unsupported(_) => Ok(()),
        }
    }

    /// Accepts the activity: refuses one already received, persists it,
    /// then processes it (see [`crate::federation::inbound`]).
    async fn receive(self, data: &Data<AppState>) -> AppResult<()> {
        crate::federation::inbound::accept(data, self).await
    }
}

impl InboxActivity {
    /// Applies the activity (called once it is persisted; the caller
    /// [`remember`]s it).
    pub async fn dispatch(self, data: &Data<AppState>) -> AppResult<()> {
        tracing::debug!(id = %self.id(), kind = %self.kind(), "receiving activity");
        match self {
            InboxActivity::Follow(a) => a.receive(data).await?,
            InboxActivity::Accept(a) => a.receive(data).await?,
            InboxActivity::Reject(a) => a.receive(data).await?,
            InboxActivity::Undo(a) => a.receive(data).await?,
            InboxActivity::Block(a) => a.receive(data).await?,
            InboxActivity::AddRemove(a) => a.receive(data).await?,
            InboxActivity::Announce(a) => a.receive(data).await?,
            InboxActivity::Like(a) => a.receive(data).await?,
            InboxActivity::Delete(a) => a.receive(data).await?,
            InboxActivity::Update(a) => a.receive(data).await?,
            InboxActivity::Create(a) => a.receive(data).await?,
            InboxActivity::Flag(a) => a.receive(data).await?,
            InboxActivity::Unsupported(a) => {
                tracing::debug!(id = %a.id, kind = %a.kind, "unsupported activity ignored");
            }
        }
        Ok(())
    }
}
