//! Relays across instances: alpha and gamma subscribe to a relay; gamma's
//! public posts reach alpha through it (passed on as they were, as
//! pub-relay does, or announced, as LitePub relays do), never as boosts;
//! followers-only posts never go to the relay; a relayed Delete applies
//! only when the origin no longer has the post; leaving the relay stops it.
//!
//! The relay is a small stand-in written here (relay software needs TLS
//! and real domains): it speaks the protocol as the common relays do and
//! signs what it passes on with its own key, over real HTTP.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use bytes::Bytes;
use diesel::prelude::*;
use meetfield::db::models::Status;
use meetfield::db::schema::{deliveries, statuses};
use meetfield::delivery::send::{self, Outcome, Signer};
use meetfield::domain::policy::{PolicyKind, set_domain_policy};
use meetfield::domain::relays;
use meetfield::domain::statuses::{self as posts, PostInput};
use meetfield::federation::protocol::note::Visibility;
use serde_json::{Value, json};

use crate::common::Backend;
use crate::harness::{Instance, eventually, http, trio};
use crate::on_both_backends;

#[derive(Clone)]
struct TestRelay {
    domain: String,
    base: String,
    /// (actor, inbox) of each member.
    members: Arc<Mutex<Vec<(String, String)>>>,
    /// Every activity posted to the relay.
    received: Arc<Mutex<Vec<Value>>>,
    /// Pass posts on as `Announce`s (LitePub) rather than as they came.
    announce: Arc<AtomicBool>,
    key: Arc<aws_lc_rs::signature::RsaKeyPair>,
    signer: Signer,
    n: Arc<AtomicUsize>,
}

impl TestRelay {
    async fn start() -> TestRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let domain = format!("relay.localhost:{port}");
        let keys = activitypub_federation::http_signatures::generate_actor_keypair().unwrap();
        let relay = TestRelay {
            base: format!("http://{domain}"),
            domain,
            members: Arc::default(),
            received: Arc::default(),
            announce: Arc::default(),
            key: Arc::new(send::key_pair(&keys.private_key).unwrap()),
            signer: Signer::start(1),
            n: Arc::default(),
        };
        let actor = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": format!("{}/actor", relay.base),
            "type": "Application",
            "preferredUsername": "relay",
            "inbox": format!("{}/inbox", relay.base),
            "publicKey": {
                "id": format!("{}/actor#main-key", relay.base),
                "owner": format!("{}/actor", relay.base),
                "publicKeyPem": keys.public_key,
            }
        });
        let r = relay.clone();
        let app = axum::Router::new()
            .route(
                "/actor",
                axum::routing::get(move || {
                    let actor = actor.clone();
                    async move {
                        (
                            [("content-type", "application/activity+json")],
                            actor.to_string(),
                        )
                    }
                }),
            )
            .route(
                "/inbox",
                axum::routing::post(move |body: Bytes| {
                    let r = r.clone();
                    async move { r.take(body).await.into_response() }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        relay
    }

    fn inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }

    fn actor(&self) -> String {
        format!("{}/actor", self.base)
    }

    async fn take(&self, body: Bytes) -> StatusCode {
        let Ok(activity) = serde_json::from_slice::<Value>(&body) else {
            return StatusCode::BAD_REQUEST;
        };
        self.received.lock().unwrap().push(activity.clone());
        let actor = activity["actor"].as_str().unwrap_or_default().to_string();
        match activity["type"].as_str().unwrap_or_default() {
            "Follow" => {
                let doc: Value = http()
                    .get(&actor)
                    .header("accept", "application/activity+json")
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let inbox = doc["endpoints"]["sharedInbox"]
                    .as_str()
                    .or(doc["inbox"].as_str())
                    .unwrap()
                    .to_string();
                self.members
                    .lock()
                    .unwrap()
                    .push((actor.clone(), inbox.clone()));
                let accept = json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": format!("{}/accept/{}", self.base, self.n.fetch_add(1, Ordering::SeqCst)),
                    "type": "Accept",
                    "actor": self.actor(),
                    "object": activity,
                });
                let me = self.clone();
                tokio::spawn(async move { me.send(&inbox, &accept).await });
            }
            "Undo" => self.members.lock().unwrap().retain(|(a, _)| *a != actor),
            "Create" | "Update" | "Delete" => {
                let passed = if self.announce.load(Ordering::SeqCst) && activity["type"] == "Create"
                {
                    json!({
                        "@context": "https://www.w3.org/ns/activitystreams",
                        "id": format!("{}/announce/{}", self.base, self.n.fetch_add(1, Ordering::SeqCst)),
                        "type": "Announce",
                        "actor": self.actor(),
                        "object": activity["object"]["id"],
                        "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    })
                } else {
                    activity.clone()
                };
                let sender_host = url::Url::parse(&actor)
                    .ok()
                    .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port()?)));
                let me = self.clone();
                tokio::spawn(async move {
                    for inbox in me.inboxes() {
                        if !sender_host.as_deref().is_some_and(|h| inbox.contains(h)) {
                            me.send(&inbox, &passed).await;
                        }
                    }
                });
            }
            _ => {}
        }
        StatusCode::ACCEPTED
    }

    fn inboxes(&self) -> Vec<String> {
        self.members
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.1.clone())
            .collect()
    }

    fn is_member(&self, instance: &Instance) -> bool {
        self.members
            .lock()
            .unwrap()
            .iter()
            .any(|(a, _)| a.contains(&instance.domain))
    }

    fn saw(&self, uri: &str) -> bool {
        self.received
            .lock()
            .unwrap()
            .iter()
            .any(|a| a.to_string().contains(uri))
    }

    /// Signed as the relay.
    async fn send(&self, inbox: &str, activity: &Value) -> Outcome {
        let client =
            meetfield::federation::client::build_plain_client(true, Duration::from_secs(10))
                .unwrap();
        send::post(
            &client,
            &self.signer,
            &url::Url::parse(inbox).unwrap(),
            &self.actor(),
            self.key.clone(),
            Bytes::from(activity.to_string()),
            Duration::from_secs(10),
        )
        .await
    }
}

async fn status_at(i: &Instance, uri: &str) -> Option<Status> {
    let uri = uri.to_string();
    i.query(move |c| Status::by_uri(c, &uri)).await
}

async fn relay_state(i: &Instance, inbox: &str) -> Option<String> {
    let inbox = inbox.to_string();
    i.query(relays::list)
        .await
        .into_iter()
        .find(|r| r.inbox_url == inbox)
        .map(|r| r.state)
}

on_both_backends!(
    public_posts_travel_through_a_relay,
    |backend: Backend| async move {
        let relay = TestRelay::start().await;
        let (alpha, _beta, gamma) = trio(backend).await;

        // A relay must be a domain the policy allows, named by its inbox.
        let err = relays::add(&alpha.data(), &relay.inbox())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not allowed"), "{err}");
        let err = relays::add(&alpha.data(), "ftp://relay.example/inbox")
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        for i in [&alpha, &gamma] {
            set_domain_policy(&i.app.state.db, &relay.domain, PolicyKind::Allow, "")
                .await
                .unwrap();
            i.app.state.policy.invalidate();
            relays::add(&i.data(), &relay.inbox()).await.unwrap();
        }
        for i in [&alpha, &gamma] {
            eventually("the relay accepts", || async {
                relay_state(i, &relay.inbox()).await.as_deref() == Some("accepted")
            })
            .await;
        }

        let gus = gamma.create_user("gus").await;
        let relayed_boosts = || async {
            alpha
                .query(|c| {
                    statuses::table
                        .filter(statuses::reblog_of_id.is_not_null())
                        .count()
                        .get_result::<i64>(c)
                })
                .await
        };
        // Passed on as it came: alpha reads the post from gamma.
        let p1 = posts::post_status(&gamma.data(), &gus, PostInput::public("through the relay"))
            .await
            .unwrap();
        eventually("alpha has the relayed post", || async {
            status_at(&alpha, &p1.uri).await.is_some()
        })
        .await;
        // Announced by the relay: the post, not a boost by the relay.
        relay.announce.store(true, Ordering::SeqCst);
        let p2 = posts::post_status(&gamma.data(), &gus, PostInput::public("announced"))
            .await
            .unwrap();
        eventually("alpha has the announced post", || async {
            status_at(&alpha, &p2.uri).await.is_some()
        })
        .await;
        assert_eq!(relayed_boosts().await, 0);
        assert!(
            status_at(&alpha, &p2.uri)
                .await
                .unwrap()
                .content
                .contains("announced")
        );

        // Followers-only posts are never queued for the relay.
        let mut private = PostInput::public("followers only");
        private.visibility = Visibility::Private;
        let p3 = posts::post_status(&gamma.data(), &gus, private)
            .await
            .unwrap();
        let (host, pattern) = (relay.domain.clone(), format!("%{}%", p3.uri));
        let queued = gamma
            .query(move |c| {
                deliveries::table
                    .filter(deliveries::host.eq(host))
                    .filter(deliveries::payload.like(pattern))
                    .count()
                    .get_result::<i64>(c)
            })
            .await;
        assert_eq!(queued, 0);

        // A relay cannot invent: a post its origin does not have is refused
        // whatever the relay says it contains.
        let forged_uri = format!("{}/statuses/1", gus.uri);
        let forged = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{forged_uri}/activity"),
            "type": "Create",
            "actor": gus.uri,
            "object": {"id": forged_uri, "type": "Note", "attributedTo": gus.uri,
                "content": "forged", "to": ["https://www.w3.org/ns/activitystreams#Public"]},
        });
        let alpha_inbox = format!("{}/inbox", alpha.base);
        let outcome = relay.send(&alpha_inbox, &forged).await;
        assert!(matches!(outcome, Outcome::Rejected(..)), "{outcome:?}");
        assert!(status_at(&alpha, &forged_uri).await.is_none());
        // Nor delete what the origin still has.
        let lie = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}#delete", p2.uri),
            "type": "Delete",
            "actor": gus.uri,
            "object": p2.uri,
        });
        let outcome = relay.send(&alpha_inbox, &lie).await;
        assert!(matches!(outcome, Outcome::Delivered(_)), "{outcome:?}");
        assert!(status_at(&alpha, &p2.uri).await.is_some());
        // A real deletion, relayed, is applied.
        posts::delete_status(&gamma.app.state, &gus, p1.id)
            .await
            .unwrap();
        eventually("alpha applies the relayed Delete", || async {
            status_at(&alpha, &p1.uri).await.is_none()
        })
        .await;

        // Leaving: the relay is told, and the row is gone.
        assert!(relays::remove(&alpha.data(), &relay.inbox()).await.unwrap());
        eventually("the relay lets alpha go", || async {
            !relay.is_member(&alpha)
        })
        .await;
        assert!(relay_state(&alpha, &relay.inbox()).await.is_none());
        assert!(!relays::remove(&alpha.data(), &relay.inbox()).await.unwrap());
        assert!(relay.saw(&p2.uri));
    }
);
