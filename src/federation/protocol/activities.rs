//! Activities as they travel. Builders for what we send; structs for what we accept.

use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::kinds::activity::{AcceptType, FollowType, RejectType, UndoType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::context::context;
use crate::federation::objects::ApubAccount;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Follow {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: FollowType,
    pub actor: ObjectId<ApubAccount>,
    pub object: ObjectId<ApubAccount>,
}

/// Accept of a Follow; `object` is the Follow, embedded or by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accept {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: AcceptType,
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reject {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: RejectType,
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
}

/// Undo of an earlier activity, embedded or by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Undo {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: UndoType,
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
}

/// Any other activity: accepted (so senders do not retry) and ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unsupported {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: Value,
    pub actor: Url,
}

pub fn follow_json(id: &str, actor: &str, object: &str) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": "Follow",
        "actor": actor,
        "object": object,
    })
}

fn follow_inner(id: &str, actor: &str, object: &str) -> Value {
    json!({ "id": id, "type": "Follow", "actor": actor, "object": object })
}

/// `kind` is Accept or Reject; `follow` names the Follow being answered.
pub fn answer_follow_json(
    kind: &str,
    id: &str,
    actor: &str,
    follow_id: &str,
    follower: &str,
) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": kind,
        "actor": actor,
        "object": follow_inner(follow_id, follower, actor),
    })
}

pub fn undo_follow_json(id: &str, actor: &str, follow_id: &str, target: &str) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": "Undo",
        "actor": actor,
        "object": follow_inner(follow_id, actor, target),
    })
}
