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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::helpers::optional_string"
    )]
    pub preferred_username: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::helpers::optional_string"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::helpers::optional_string"
    )]
    pub summary: Option<String>,
    pub inbox: Url,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::helpers::optional_url"
    )]
    pub outbox: Option<Url>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::helpers::optional_url"
    )]
    pub followers: Option<Url>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::helpers::optional_url"
    )]
    pub following: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub featured: Option<Value>,
    /// On a Meetfield instance actor: the organization's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<Value>,
    /// Mastodon's featured hashtags: a collection, by id or embedded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub featured_tags: Option<Value>,
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
    /// Mastodon's opt-in to search of one's public posts.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::helpers::lenient_bool"
    )]
    pub indexable: Option<bool>,
    /// schema.org terms beside the fields, for partners that read them.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::helpers::optional_string"
    )]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knows_about: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub works_for: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_of: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FeaturedTagsSource {
    Listed(Vec<String>),
    Fetch(url::Url),
}

/// Names (without '#') of the `Hashtag`s in a collection document.
pub fn hashtag_names(collection: &Value) -> Vec<String> {
    collection
        .get("orderedItems")
        .or_else(|| collection.get("items"))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter(|i| i.get("type").and_then(Value::as_str) == Some("Hashtag"))
                .filter_map(|i| i.get("name").and_then(Value::as_str))
                .map(|n| n.trim_start_matches('#').to_string())
                .collect()
        })
        .unwrap_or_default()
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

    /// The first public key the actor owns, whichever shape it came in. A
    /// key owned by another actor (GNU social's groups publish their
    /// creator's) is no key of this one: the actor is shown, but nothing
    /// signed for it verifies.
    pub fn public_key(&self) -> Option<PublicKeyJson> {
        let keys = match self.public_key.as_ref()? {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        keys.into_iter()
            .filter_map(|k| serde_json::from_value::<PublicKeyJson>(k).ok())
            .find(|k| k.owner == self.id)
    }

    pub fn shared_inbox(&self) -> Option<Url> {
        let ep = self.endpoints.as_ref()?;
        ep.get("sharedInbox")
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok())
    }

    /// The schema.org terms, read leniently: strings, or objects with a
    /// `name` (a DefinedTerm, an Organization).
    /// The featured hashtags: listed in the document when the collection is
    /// embedded, else the collection to fetch.
    pub fn featured_tags_source(&self) -> Option<FeaturedTagsSource> {
        let v = self.featured_tags.as_ref()?;
        if v.get("items").is_some() || v.get("orderedItems").is_some() {
            return Some(FeaturedTagsSource::Listed(hashtag_names(v)));
        }
        super::helpers::id_of(v).map(FeaturedTagsSource::Fetch)
    }

    pub fn schema_org(&self) -> crate::org::profile::SchemaOrg {
        let names = |v: Option<&Value>| -> Vec<String> {
            let items = match v {
                Some(Value::Array(a)) => a.clone(),
                Some(v) => vec![v.clone()],
                None => Vec::new(),
            };
            items
                .iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
                    _ => None,
                })
                .map(|s| crate::domain::html::strip_tags(&s).trim().to_string())
                .filter(|s| !s.is_empty())
                .take(50)
                .collect()
        };
        crate::org::profile::SchemaOrg {
            job_title: self
                .job_title
                .as_deref()
                .map(crate::domain::html::strip_tags)
                .filter(|s| !s.trim().is_empty()),
            knows_about: names(self.knows_about.as_ref()),
            member_of: names(self.member_of.as_ref()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_optional_fields_and_foreign_keys_do_not_fail_the_actor() {
        let a: ActorJson = serde_json::from_value(serde_json::json!({
            "type": "Group",
            "id": "https://g.example/actor/21",
            "inbox": "https://g.example/actor/21/inbox",
            "outbox": "not a url",
            "followers": {"no": "id"},
            "name": {"en": "Hackers"},
            "alsoKnownAs": ["example@elsewhere.com"],
            "publicKey": [
                {"id": "https://g.example/actor/2#k", "owner": "https://g.example/actor/2", "publicKeyPem": "P2"},
                {"id": "https://g.example/actor/21#k", "owner": "https://g.example/actor/21", "publicKeyPem": "P21"}
            ]
        }))
        .unwrap();
        assert!(a.outbox.is_none() && a.followers.is_none() && a.name.is_none());
        assert_eq!(a.public_key().unwrap().public_key_pem, "P21");
        let only_foreign: ActorJson = serde_json::from_value(serde_json::json!({
            "type": "Group",
            "id": "https://g.example/actor/21",
            "inbox": "https://g.example/actor/21/inbox",
            "publicKey": {"id": "https://g.example/actor/2#k", "owner": "https://g.example/actor/2", "publicKeyPem": "P2"}
        }))
        .unwrap();
        assert!(only_foreign.public_key().is_none());
    }

    #[test]
    fn schema_org_terms_as_strings_or_named_objects() {
        let a: ActorJson = serde_json::from_value(serde_json::json!({
            "type": "Person",
            "id": "https://p.example/u/al",
            "inbox": "https://p.example/u/al/inbox",
            "jobTitle": "Head of <b>Ops</b>",
            "knowsAbout": ["Kubernetes", {"type": "DefinedTerm", "name": "Go"}, 3],
            "memberOf": {"type": "Organization", "name": "Platform"}
        }))
        .unwrap();
        let t = a.schema_org();
        assert_eq!(t.job_title.as_deref(), Some("Head of Ops"));
        assert_eq!(t.knows_about, ["Kubernetes", "Go"]);
        assert_eq!(t.member_of, ["Platform"]);
    }
}
