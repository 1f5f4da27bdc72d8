//! Actors (Person, Group, Service, Application, Organization) as JSON.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_inbox: Option<Url>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyJson {
    pub id: String,
    pub owner: Url,
    pub public_key_pem: String,
}

/// An actor document. Foreign servers vary, so everything but `id`, `type`
/// and `inbox` is optional and odd shapes are kept as raw JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorJson {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub inbox: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub following: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub featured: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Value>,
    /// Usually an object; a few servers send a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::helpers::lenient_bool"
    )]
    pub manually_approves_followers: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::helpers::lenient_bool"
    )]
    pub discoverable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::helpers::lenient_bool"
    )]
    pub posting_restricted_to_mods: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderators: Option<Value>,
    /// Lemmy names a community's moderators collection here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributed_to: Option<Value>,
}

impl ActorJson {
    /// A group's moderators collection: `moderators`, or `attributedTo`
    /// when it names a collection (Lemmy's `…/moderators`, Mitra's
    /// `…/administrators`; a person there would be the creator, not a list).
    pub fn moderators_collection(&self) -> Option<url::Url> {
        if self.kind != "Group" {
            return None;
        }
        self.moderators
            .as_ref()
            .and_then(super::helpers::id_of)
            .or_else(|| {
                self.attributed_to
                    .as_ref()
                    .and_then(super::helpers::id_of)
                    .filter(|u| {
                        u.path().ends_with("/moderators") || u.path().ends_with("/administrators")
                    })
            })
    }

    /// The first public key, whichever shape it came in.
    pub fn public_key(&self) -> Option<PublicKeyJson> {
        let v = self.public_key.as_ref()?;
        let one = match v {
            Value::Array(a) => a.first()?,
            other => other,
        };
        serde_json::from_value(one.clone()).ok()
    }

    pub fn shared_inbox(&self) -> Option<Url> {
        let ep = self.endpoints.as_ref()?;
        ep.get("sharedInbox")
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok())
    }

    /// `name: value` profile fields (Mastodon's PropertyValue attachments).
    pub fn fields(&self) -> Vec<(String, String)> {
        let items = match &self.attachment {
            Some(Value::Array(a)) => a.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => Vec::new(),
        };
        items
            .iter()
            .filter(|i| i.get("type").and_then(Value::as_str) == Some("PropertyValue"))
            .filter_map(|i| {
                Some((
                    i.get("name")?.as_str()?.to_string(),
                    i.get("value")?.as_str()?.to_string(),
                ))
            })
            .collect()
    }
}
