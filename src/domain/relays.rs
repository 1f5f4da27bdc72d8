//! ActivityPub relays, as Mastodon uses them: the instance actor follows a
//! relay (a `Follow` of `as:Public` sent to the relay's inbox); once the
//! relay accepts, our public posts (and their updates and deletions) are
//! delivered to it too, and what it relays to us is taken in.
//!
//! A relay signs what it passes on with its own key, either the original
//! activity as it was (pub-relay, Activity-Relay) or an `Announce` of the
//! post (LitePub relays). Neither is trusted as it comes: the post is read
//! from its origin (under our federation policy), a relayed `Delete` is
//! applied only when the origin no longer has the post, and nothing a relay
//! sends becomes a boost.

use axum::body::Bytes;
use axum::http::request::Parts;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};
use url::Url;

use crate::db::models::{Account, Status};
use crate::db::schema::relays;
use crate::db::{DbConn, id, now};
use crate::domain::instance::INSTANCE_ACTOR_USERNAME;
use crate::error::{AppError, AppResult};
use crate::federation::FedData;
use crate::federation::protocol::helpers::id_of;
use crate::federation::protocol::note::PUBLIC;

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = relays)]
pub struct Relay {
    pub id: i64,
    pub inbox_url: String,
    pub actor_uri: Option<String>,
    pub state: String,
    pub follow_id: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A relay as admins name it: the URL of its inbox.
pub fn parse_inbox(raw: &str) -> AppResult<Url> {
    let url = Url::parse(raw.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            AppError::Unprocessable(format!(
                "'{raw}' is not a relay's inbox URL (such as https://relay.example/inbox)"
            ))
        })?;
    Ok(url)
}

fn follow_json(r: &Relay, actor: &str) -> Value {
    json!({
        "@context": crate::federation::protocol::context::context(),
        "id": r.follow_id,
        "type": "Follow",
        "actor": actor,
        "object": PUBLIC,
    })
}

fn instance_actor(c: &mut DbConn) -> AppResult<Account> {
    Account::local_by_username(c, INSTANCE_ACTOR_USERNAME)?.ok_or_else(|| {
        AppError::Unprocessable(
            "the instance actor does not exist yet: start the server once".into(),
        )
    })
}

/// Subscribes to a relay (again, if it was added before: the request is
/// sent anew). The workers deliver it.
pub async fn add(data: &FedData, raw: &str) -> AppResult<Relay> {
    let inbox = parse_inbox(raw)?;
    crate::federation::client::check_public_url(&inbox, data.config.federation_insecure_local)
        .map_err(AppError::Unprocessable)?;
    let host = inbox.host_str().unwrap_or_default().to_string();
    if !data.policy.allows(&host).await? {
        return Err(AppError::Unprocessable(format!(
            "{host} is not allowed by the federation policy (meetfield admin domain allow {host})"
        )));
    }
    let base = data.base_url();
    let relay = data
        .db
        .transaction(move |c| {
            let me = instance_actor(c)?;
            let t = now();
            let existing: Option<Relay> = relays::table
                .filter(relays::inbox_url.eq(inbox.as_str()))
                .select(Relay::as_select())
                .first(c)
                .optional()?;
            let rid = match existing {
                Some(r) => {
                    diesel::update(relays::table.find(r.id))
                        .set((relays::state.eq("pending"), relays::updated_at.eq(t)))
                        .execute(c)?;
                    r.id
                }
                None => {
                    let rid = id::next_id();
                    diesel::insert_into(relays::table)
                        .values((
                            relays::id.eq(rid),
                            relays::inbox_url.eq(inbox.as_str()),
                            relays::state.eq("pending"),
                            relays::follow_id.eq(format!("{base}/relays/{rid}/follow")),
                            relays::created_at.eq(t),
                            relays::updated_at.eq(t),
                        ))
                        .execute(c)?;
                    rid
                }
            };
            let relay: Relay = relays::table
                .find(rid)
                .select(Relay::as_select())
                .first(c)?;
            crate::delivery::enqueue(
                c,
                me.id,
                &follow_json(&relay, &me.uri),
                std::slice::from_ref(&relay.inbox_url),
            )?;
            Ok::<_, AppError>(relay)
        })
        .await?;
    data.delivery_wake.notify_one();
    Ok(relay)
}

/// Leaves a relay (an `Undo` of the Follow is delivered); whether it was one.
pub async fn remove(data: &FedData, raw: &str) -> AppResult<bool> {
    let inbox = parse_inbox(raw)?;
    let removed = data
        .db
        .transaction(move |c| {
            let Some(r) = relays::table
                .filter(relays::inbox_url.eq(inbox.as_str()))
                .select(Relay::as_select())
                .first::<Relay>(c)
                .optional()?
            else {
                return Ok::<_, AppError>(false);
            };
            let me = instance_actor(c)?;
            let undo = crate::federation::protocol::activities::undo_json(
                &format!("{}#undo", r.follow_id),
                &me.uri,
                follow_json(&r, &me.uri),
            );
            crate::delivery::enqueue(c, me.id, &undo, std::slice::from_ref(&r.inbox_url))?;
            diesel::delete(relays::table.find(r.id)).execute(c)?;
            Ok(true)
        })
        .await?;
    data.delivery_wake.notify_one();
    Ok(removed)
}

pub fn list(c: &mut DbConn) -> QueryResult<Vec<Relay>> {
    relays::table
        .order(relays::inbox_url.asc())
        .select(Relay::as_select())
        .load(c)
}

/// Where our public posts go besides their audience: accepted relays.
pub fn inboxes(c: &mut DbConn) -> QueryResult<Vec<String>> {
    relays::table
        .filter(relays::state.eq("accepted"))
        .select(relays::inbox_url)
        .load(c)
}

/// Takes in an inbox POST signed by a relay we subscribe to (or the answer
/// of one we asked); false when the request is not a relay's, for the
/// ordinary path.
pub async fn intercept(data: &FedData, parts: &Parts, body: &Bytes) -> AppResult<bool> {
    let Some(key_id) = crate::federation::http::signature_key_id(&parts.headers) else {
        return Ok(false);
    };
    let signer = key_id.split('#').next().unwrap_or_default().to_string();
    // One small read per inbox POST; the body is parsed again only for a
    // relay's traffic.
    let s = signer.clone();
    let candidates: Vec<Relay> = data
        .db
        .run(move |c| {
            relays::table
                .filter(relays::actor_uri.eq(&s).or(relays::state.eq("pending")))
                .select(Relay::as_select())
                .load(c)
                .map_err(AppError::from)
        })
        .await?;
    if candidates.is_empty() {
        return Ok(false);
    }
    let Ok(activity) = serde_json::from_slice::<Value>(body) else {
        return Ok(false);
    };
    let kind = activity
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let object_id = activity
        .get("object")
        .and_then(id_of)
        .map(|u| u.to_string());
    let answer = matches!(kind.as_str(), "Accept" | "Reject");
    let by_signer = candidates
        .iter()
        .find(|r| r.state == "accepted" && r.actor_uri.as_deref() == Some(signer.as_str()));
    // An answer to our Follow: the relay's actor may not be known yet.
    let by_follow = || {
        candidates
            .iter()
            .find(|r| answer && object_id.as_deref() == Some(r.follow_id.as_str()))
    };
    let Some(relay) = by_signer.or_else(by_follow).cloned() else {
        return Ok(false);
    };
    if answer && host_of(&signer) != host_of(&relay.inbox_url) {
        return Err(AppError::Unauthorized(format!(
            "{signer} does not speak for the relay at {}",
            relay.inbox_url
        )));
    }
    let verified = crate::federation::signed_fetch::verify_signer(data, parts).await?;
    check_digest(parts, body)?;
    if verified.account.uri != signer {
        return Err(AppError::Unauthorized(format!(
            "the key of {signer} belongs to {}",
            verified.account.uri
        )));
    }
    match kind.as_str() {
        "Accept" | "Reject" => {
            let (rid, state, actor) = (
                relay.id,
                if kind == "Accept" {
                    "accepted"
                } else {
                    "rejected"
                },
                signer.clone(),
            );
            data.db
                .transaction(move |c| {
                    diesel::update(relays::table.find(rid))
                        .set((
                            relays::state.eq(state),
                            relays::actor_uri.eq(Some(actor)),
                            relays::updated_at.eq(now()),
                        ))
                        .execute(c)
                        .map_err(AppError::from)
                })
                .await?;
            tracing::info!(relay = %relay.inbox_url, %state, "relay answered");
        }
        "Create" | "Update" | "Announce" => {
            let target = relayed_object(&activity)
                .ok_or_else(|| AppError::BadRequest(format!("relayed {kind} without an object")))?;
            take_in(data, &target).await?;
        }
        "Delete" => {
            let target = relayed_object(&activity)
                .ok_or_else(|| AppError::BadRequest("relayed Delete without an object".into()))?;
            relayed_delete(data, &target).await?;
        }
        // Follows, undos and the rest are not ours to act on from a relay.
        other => {
            tracing::debug!(relay = %relay.inbox_url, kind = other, "relayed activity ignored")
        }
    }
    Ok(true)
}

fn host_of(url: &str) -> Option<String> {
    let u = Url::parse(url).ok()?;
    Some(format!("{}:{:?}", u.host_str()?, u.port_or_known_default()))
}

/// The post a relayed activity is about: the object of a Create or Update,
/// or what an Announce carries (a post, or an activity about one).
fn relayed_object(activity: &Value) -> Option<Url> {
    let object = activity.get("object")?;
    if activity.get("type").and_then(Value::as_str) == Some("Announce")
        && let Some(inner) = object.get("object")
        && matches!(
            object.get("type").and_then(Value::as_str),
            Some("Create" | "Update" | "Delete")
        )
    {
        return id_of(inner);
    }
    id_of(object)
}

/// Reads a relayed post from its origin (the policy decides whether we may)
/// and stores it if it is new.
async fn take_in(data: &FedData, target: &Url) -> AppResult<()> {
    use activitypub_federation::fetch::object_id::ObjectId;
    if host_of(target.as_str()) == host_of(&data.base_url()) {
        return Ok(());
    }
    let host = target.host_str().unwrap_or_default();
    if !data.policy.allows(host).await? {
        return Err(AppError::Forbidden(format!(
            "{}: {host}",
            crate::federation::policy::REFUSED
        )));
    }
    ObjectId::<crate::federation::objects::ApubNote>::from(target.clone())
        .dereference(data)
        .await?;
    Ok(())
}

/// A relayed Delete: the post goes only if its origin says it is gone.
async fn relayed_delete(data: &FedData, target: &Url) -> AppResult<()> {
    let uri = target.to_string();
    let lookup = uri.clone();
    let Some(status) = data
        .db
        .run(move |c| Status::by_uri(c, &lookup).map_err(AppError::from))
        .await?
    else {
        return Ok(());
    };
    if status.local {
        return Ok(());
    }
    crate::federation::client::check_public_url(target, data.config.federation_insecure_local)
        .map_err(AppError::BadRequest)?;
    let client = data
        .media_client
        .as_ref()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no HTTP client")))?;
    let res = client
        .get(target.clone())
        .header(reqwest::header::ACCEPT, "application/activity+json")
        .send()
        .await
        .map_err(|e| AppError::BadRequest(format!("cannot check {uri}: {e}")))?;
    let gone = match res.status().as_u16() {
        404 | 410 => true,
        200 => res
            .json::<Value>()
            .await
            .ok()
            .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_string))
            .is_some_and(|t| t == "Tombstone"),
        _ => false,
    };
    if !gone {
        tracing::info!(%uri, "relayed Delete ignored: the origin still has the post");
        return Ok(());
    }
    let author = {
        let aid = status.account_id;
        data.db
            .run(move |c| Account::by_id(c, aid).map_err(AppError::from))
            .await?
    };
    crate::domain::statuses::receive_delete(data, &author, &uri).await
}

/// The body is the one signed: `Digest` (SHA-256) must match.
fn check_digest(parts: &Parts, body: &Bytes) -> AppResult<()> {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let expected = format!(
        "SHA-256={}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
    );
    let ok = parts
        .headers
        .get("digest")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|d| d.split(',').any(|p| p.trim() == expected));
    if ok {
        Ok(())
    } else {
        Err(AppError::Unauthorized("Digest missing or wrong".into()))
    }
}
