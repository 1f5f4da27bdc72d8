use activitypub_federation::config::Data;
use activitypub_federation::protocol::verification::verify_domains_match;
use activitypub_federation::traits::{Actor, Object};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use url::Url;

use crate::app::AppState;
use crate::db::models::Account;
use crate::db::models::account::RemoteActorData;
use crate::domain::html;
use crate::error::{AppError, AppResult};
use crate::federation::protocol::actor::{ActorJson, FeaturedTagsSource};
use crate::federation::protocol::helpers::{authority, href_of};
use crate::federation::urls;

/// An account as an ActivityPub actor.
#[derive(Debug, Clone)]
pub struct ApubAccount {
    pub account: Account,
    id: Url,
}

impl ApubAccount {
    pub fn new(account: Account) -> AppResult<Self> {
        let id = Url::parse(&account.uri)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("account {} uri: {e}", account.id)))?;
        Ok(ApubAccount { account, id })
    }

    pub fn inbox_url(&self) -> Option<Url> {
        if self.account.is_local() {
            return Url::parse(&urls::inbox(&self.account.uri)).ok();
        }
        self.account
            .inbox_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
    }
}

impl std::ops::Deref for ApubAccount {
    type Target = Account;
    fn deref(&self) -> &Account {
        &self.account
    }
}

#[async_trait::async_trait]
impl Object for ApubAccount {
    type DataType = AppState;
    type Kind = ActorJson;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        if self.account.is_local() {
            return Some(Utc::now());
        }
        self.account.fetched_at.map(|t| t.and_utc())
    }

    async fn read_from_id(object_id: Url, data: &Data<AppState>) -> AppResult<Option<Self>> {
        let uri = object_id.to_string();
        let found = data
            .db
            .run(move |c| Account::by_uri(c, &uri).map_err(AppError::from))
            .await?;
        found.map(ApubAccount::new).transpose()
    }

    async fn into_json(self, data: &Data<AppState>) -> AppResult<ActorJson> {
        let id = self.account.id;
        let group = data
            .db
            .run(move |c| crate::domain::groups::settings(c, id).map_err(AppError::from))
            .await?;
        Ok(local_actor_json(
            &self.account,
            group.as_ref(),
            &data.base_url(),
        ))
    }

    async fn verify(
        json: &ActorJson,
        expected_domain: &Url,
        _data: &Data<AppState>,
    ) -> AppResult<()> {
        verify_domains_match(&json.id, expected_domain)?;
        verify_domains_match(&json.id, &json.inbox)?;
        Ok(())
    }

    async fn from_json(json: ActorJson, data: &Data<AppState>) -> AppResult<Self> {
        let row = remote_actor_row(&json)?;
        let moderators = json.moderators_collection();
        let extra = json.schema_org();
        let tags = json.featured_tags_source();
        let listed = match &tags {
            Some(FeaturedTagsSource::Listed(names)) => Some(names.clone()),
            _ => None,
        };
        let keep = extra.clone();
        let account = data
            .db
            .transaction(move |c| {
                let a = Account::upsert_remote(c, &row)?;
                if let Some(names) = &listed {
                    crate::domain::tags::store_remote(c, a.id, names)?;
                }
                crate::org::profile::reindex_account(c, a.id, &a.fields, &extra)?;
                Ok::<_, AppError>(a)
            })
            .await?;
        if let Some(FeaturedTagsSource::Fetch(collection)) = tags
            && !account.is_local()
        {
            let (data, owner) = (data.reset_request_count(), account.clone());
            tokio::spawn(async move {
                if let Err(e) =
                    crate::domain::tags::sync_remote(&data, &owner, &collection, keep).await
                {
                    tracing::debug!(account = %owner.uri, error = %e, "featured tags not read");
                }
            });
        }
        if let Some(collection) = moderators
            && !account.is_local()
        {
            // Who moderates a remote group, read after the answer.
            let (data, group) = (data.reset_request_count(), account.clone());
            tokio::spawn(async move {
                if let Err(e) =
                    crate::domain::groups::sync_remote_moderators(&data, &group, &collection).await
                {
                    tracing::debug!(group = %group.uri, error = %e, "moderators not read");
                }
            });
        }
        ApubAccount::new(account)
    }
}

impl Actor for ApubAccount {
    fn public_key_pem(&self) -> &str {
        self.account.public_key_pem.as_deref().unwrap_or_default()
    }

    fn private_key_pem(&self) -> Option<String> {
        self.account.private_key_pem.clone()
    }

    fn inbox(&self) -> Url {
        self.inbox_url().unwrap_or_else(|| self.id.clone())
    }

    fn shared_inbox(&self) -> Option<Url> {
        if self.account.is_local() {
            return None;
        }
        self.account
            .shared_inbox_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
    }
}

/// The actor document of a local account.
/// A local actor's document; groups also carry their FEP-1b12 properties.
pub fn local_actor_json(
    a: &Account,
    group: Option<&crate::domain::groups::GroupSettings>,
    base: &str,
) -> ActorJson {
    let id = Url::parse(&a.uri).expect("local account URIs are valid");
    let fields: Vec<Value> = serde_json::from_str::<Vec<Value>>(&a.fields)
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            json!({
                "type": "PropertyValue",
                "name": f.get("name").cloned().unwrap_or_default(),
                "value": f.get("value").cloned().unwrap_or_default(),
            })
        })
        .collect();
    let image = |url: &Option<String>| url.as_ref().map(|u| json!({ "type": "Image", "url": u }));
    // Fields by facet, for the schema.org terms (well-known field names).
    let terms = crate::org::profile::terms_of(
        &[],
        &crate::org::profile::stored_fields(&a.fields),
        &Default::default(),
    );
    let facet = |f: &str| -> Vec<String> {
        terms
            .iter()
            .filter(|(k, _)| k == f)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let is_instance = a.actor_type == "Application";
    ActorJson {
        kind: a.actor_type.clone(),
        id: id.clone(),
        preferred_username: Some(a.username.clone()),
        name: Some(a.display_name.clone()).filter(|n| !n.is_empty()),
        summary: Some(a.note.clone()),
        inbox: Url::parse(&urls::inbox(&a.uri)).expect("valid"),
        outbox: Url::parse(&urls::outbox(&a.uri)).ok(),
        followers: (!is_instance)
            .then(|| Url::parse(&urls::followers(&a.uri)).ok())
            .flatten(),
        following: (!is_instance)
            .then(|| Url::parse(&urls::following(&a.uri)).ok())
            .flatten(),
        featured: (!is_instance).then(|| json!(urls::featured(&a.uri))),
        featured_tags: (!is_instance).then(|| json!(urls::featured_tags(&a.uri))),
        directory: is_instance.then(|| json!(crate::org::partners::collection_url(base))),
        endpoints: Some(json!({ "sharedInbox": urls::shared_inbox(base) })),
        public_key: a.public_key_pem.as_ref().map(|pem| {
            json!({
                "id": urls::main_key(&a.uri),
                "owner": a.uri,
                "publicKeyPem": pem,
            })
        }),
        icon: image(&a.avatar_url),
        image: image(&a.header_url),
        attachment: (!fields.is_empty()).then(|| Value::Array(fields)),
        manually_approves_followers: Some(a.locked),
        discoverable: Some(a.discoverable),
        published: Some(a.created_at.and_utc()),
        url: a.url.clone().map(Value::String),
        posting_restricted_to_mods: group.map(|g| g.announcement_only),
        moderators: group.map(|_| json!(urls::moderators(&a.uri))),
        attributed_to: None,
        indexable: (!is_instance).then_some(a.indexable),
        job_title: facet(crate::org::profile::ROLE).into_iter().next(),
        knows_about: Some(facet(crate::org::profile::SKILLS))
            .filter(|s| !s.is_empty())
            .map(|s| json!(s)),
        works_for: (a.actor_type == "Person")
            .then(|| json!({ "type": "Organization", "url": base })),
        member_of: Some(facet(crate::org::profile::DEPARTMENT))
            .filter(|d| !d.is_empty())
            .map(|d| {
                json!(
                    d.iter()
                        .map(|name| json!({ "type": "Organization", "name": name }))
                        .collect::<Vec<_>>()
                )
            }),
    }
}

/// What we store of a remote actor document.
pub fn remote_actor_row(json: &ActorJson) -> AppResult<RemoteActorData> {
    // Markup goes through the sanitizer (which drops NULs); the name does not.
    let username = json
        .preferred_username
        .as_ref()
        .map(|u| u.replace('\0', ""))
        .filter(|u| !u.trim().is_empty())
        .or_else(|| {
            json.id
                .path_segments()
                .and_then(|mut s| s.next_back().map(str::to_string))
        })
        .filter(|u| !u.is_empty())
        .ok_or_else(|| AppError::BadRequest(format!("actor {} has no username", json.id)))?;
    let key = json.public_key();
    let fields: Vec<Value> = json
        .fields()
        .into_iter()
        .map(|(name, value)| json!({ "name": html::strip_tags(&name), "value": html::sanitize(&value) }))
        .collect();
    let now = crate::db::now();
    Ok(RemoteActorData {
        username,
        domain: Some(authority(&json.id)),
        actor_type: json.kind.clone(),
        uri: json.id.to_string(),
        url: json.url.as_ref().and_then(href_of),
        display_name: json
            .name
            .as_deref()
            .map(html::strip_tags)
            .unwrap_or_default(),
        note: json
            .summary
            .as_deref()
            .map(html::sanitize)
            .unwrap_or_default(),
        fields: Value::Array(fields).to_string(),
        avatar_url: json.icon.as_ref().and_then(href_of),
        header_url: json.image.as_ref().and_then(href_of),
        inbox_url: Some(json.inbox.to_string()),
        outbox_url: json.outbox.as_ref().map(Url::to_string),
        shared_inbox_url: json.shared_inbox().map(|u| u.to_string()),
        followers_url: json.followers.as_ref().map(Url::to_string),
        following_url: json.following.as_ref().map(Url::to_string),
        public_key_pem: key.as_ref().map(|k| k.public_key_pem.clone()),
        public_key_id: key.as_ref().map(|k| k.id.clone()),
        locked: json.manually_approves_followers.unwrap_or(false),
        discoverable: json.discoverable.unwrap_or(false),
        indexable: json.indexable.unwrap_or(false),
        bot: matches!(json.kind.as_str(), "Service" | "Application"),
        updated_at: now,
        fetched_at: Some(now),
    })
}
