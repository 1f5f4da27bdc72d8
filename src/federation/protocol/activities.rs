//! Activities as they travel. Builders for what we send; structs for what we accept.

use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::kinds::activity::{
    AcceptType, AnnounceType, BlockType, CreateType, DeleteType, FlagType, FollowType, LikeType,
    RejectType, UndoType, UpdateType,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::context::context;
use super::helpers::{lenient_id, lenient_url};
use crate::federation::objects::ApubAccount;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Follow {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: FollowType,
    #[serde(deserialize_with = "lenient_id")]
    pub actor: ObjectId<ApubAccount>,
    #[serde(deserialize_with = "lenient_id")]
    pub object: ObjectId<ApubAccount>,
}

/// Accept of a Follow; `object` is the Follow, embedded or by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accept {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: AcceptType,
    #[serde(deserialize_with = "lenient_id")]
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reject {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: RejectType,
    #[serde(deserialize_with = "lenient_id")]
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
    #[serde(deserialize_with = "lenient_id")]
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
}

/// Create of a post; the object may be embedded or only its id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Create {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: CreateType,
    #[serde(deserialize_with = "lenient_id")]
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
}

/// Update of a post or of the actor itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: UpdateType,
    #[serde(deserialize_with = "lenient_id")]
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
}

/// Delete of a post (id or Tombstone) or of the actor itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delete {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: DeleteType,
    #[serde(deserialize_with = "lenient_id")]
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Like {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: LikeType,
    #[serde(deserialize_with = "lenient_id")]
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Announce {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: AnnounceType,
    #[serde(deserialize_with = "lenient_id")]
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Block {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: BlockType,
    #[serde(deserialize_with = "lenient_id")]
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
}

/// A report from another server (Mastodon sends it from its instance
/// actor; `object` names the accounts and posts, `content` the reason).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: FlagType,
    #[serde(deserialize_with = "lenient_id")]
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
    #[serde(default)]
    pub content: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddRemoveType {
    Add,
    Remove,
}

/// `Add`/`Remove` of an object to/from a collection (`target`): a group's
/// moderators (FEP-1b12, Lemmy) or someone's featured posts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddRemove {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: AddRemoveType,
    #[serde(deserialize_with = "lenient_id")]
    pub actor: ObjectId<ApubAccount>,
    pub object: Value,
    pub target: Value,
}

/// Any other activity: accepted (so senders do not retry) and ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unsupported {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: Value,
    #[serde(deserialize_with = "lenient_url")]
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

/// Wraps an object in an activity addressed like the object.
pub fn wrap_json(
    kind: &str,
    id: &str,
    actor: &str,
    object: Value,
    to: &Value,
    cc: &Value,
) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": kind,
        "actor": actor,
        "to": to,
        "cc": cc,
        "object": object,
    })
}

pub fn like_json(id: &str, actor: &str, object: &str) -> Value {
    json!({ "@context": context(), "id": id, "type": "Like", "actor": actor, "object": object })
}

pub fn announce_json(
    id: &str,
    actor: &str,
    object: &str,
    to: Vec<String>,
    cc: Vec<String>,
    published: &str,
) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": "Announce",
        "actor": actor,
        "published": published,
        "to": to,
        "cc": cc,
        "object": object,
    })
}

/// Undo of `inner` (an activity without its @context).
pub fn undo_json(id: &str, actor: &str, mut inner: Value) -> Value {
    if let Some(m) = inner.as_object_mut() {
        m.remove("@context");
    }
    json!({ "@context": context(), "id": id, "type": "Undo", "actor": actor, "object": inner })
}

pub fn block_json(id: &str, actor: &str, object: &str) -> Value {
    json!({ "@context": context(), "id": id, "type": "Block", "actor": actor, "object": object })
}
