//! What other servers fetch from us: WebFinger, actors, NodeInfo,
//! host-meta, outbox pages; and authorized fetch.

use meetfield::config::FederationMode;
use meetfield::domain::statuses::{self as posts, PostInput};
use meetfield::error::AppError;
use meetfield::federation::protocol::note::Visibility;
use meetfield::federation::resolve::resolve_account;
use serde_json::Value;

use crate::common::Backend;
use crate::harness::{Instance, eventually, http};
use crate::on_both_backends;

async fn get_json(url: &str, accept: &str) -> (u16, Value) {
    let res = http()
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

const AP: &str = "application/activity+json";

on_both_backends!(
    webfinger_actor_nodeinfo_hostmeta,
    |backend: Backend| async move {
        let alpha = Instance::start("alpha", backend, FederationMode::Allowlist).await;
        let alice = alpha.create_user("alice").await;
        posts::post_status(&alpha.data(), &alice, PostInput::public("hello"))
            .await
            .unwrap();

        let (status, wf) = get_json(
            &format!(
                "{}/.well-known/webfinger?resource=acct:alice@{}",
                alpha.base, alpha.domain
            ),
            "application/jrd+json",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(wf["subject"], format!("acct:alice@{}", alpha.domain));
        let this = wf["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "self")
            .unwrap();
        assert_eq!(this["type"], AP);
        assert_eq!(this["href"], alice.uri);
        // By actor URL too; unknown users and other domains are 404.
        let (s, _) = get_json(
            &format!(
                "{}/.well-known/webfinger?resource={}",
                alpha.base, alice.uri
            ),
            "application/jrd+json",
        )
        .await;
        assert_eq!(s, 200);
        let (s, _) = get_json(
            &format!(
                "{}/.well-known/webfinger?resource=acct:nobody@{}",
                alpha.base, alpha.domain
            ),
            "*/*",
        )
        .await;
        assert_eq!(s, 404);
        let (s, _) = get_json(
            &format!(
                "{}/.well-known/webfinger?resource=acct:alice@elsewhere.example",
                alpha.base
            ),
            "*/*",
        )
        .await;
        assert_eq!(s, 404);

        // The actor validates as ActivityStreams.
        let (s, actor) = get_json(&alice.uri, AP).await;
        assert_eq!(s, 200);
        assert_eq!(actor["id"], alice.uri);
        assert_eq!(actor["type"], "Person");
        assert_eq!(actor["preferredUsername"], "alice");
        for f in ["inbox", "outbox", "followers", "following"] {
            assert!(actor[f].as_str().unwrap().starts_with(&alice.uri), "{f}");
        }
        assert_eq!(
            actor["endpoints"]["sharedInbox"],
            format!("{}/inbox", alpha.base)
        );
        assert_eq!(actor["publicKey"]["owner"], alice.uri);
        assert_eq!(actor["publicKey"]["id"], format!("{}#main-key", alice.uri));
        assert!(
            actor["publicKey"]["publicKeyPem"]
                .as_str()
                .unwrap()
                .contains("BEGIN PUBLIC KEY")
        );
        assert!(
            actor["@context"]
                .to_string()
                .contains("https://www.w3.org/ns/activitystreams")
        );
        // ld+json with the profile works as well; a browser is sent to the profile page.
        let (s, _) = get_json(
            &alice.uri,
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
        )
        .await;
        assert_eq!(s, 200);
        let res = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(std::sync::Arc::new(
                meetfield::federation::client::LocalDevResolver,
            ))
            .build()
            .unwrap()
            .get(&alice.uri)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection());
        assert_eq!(res.headers()["location"], format!("{}/@alice", alpha.base));
        // The instance actor exists for signed fetches.
        let (s, app) = get_json(&format!("{}/actor", alpha.base), AP).await;
        assert_eq!(s, 200);
        assert_eq!(app["type"], "Application");

        let (_, links) = get_json(
            &format!("{}/.well-known/nodeinfo", alpha.base),
            "application/json",
        )
        .await;
        let href = links["links"][1]["href"].as_str().unwrap().to_string();
        assert!(href.ends_with("/nodeinfo/2.1"));
        let (s, ni) = get_json(&href, "application/json").await;
        assert_eq!(s, 200);
        assert_eq!(ni["software"]["name"], "meetfield");
        assert_eq!(ni["protocols"][0], "activitypub");
        assert_eq!(ni["usage"]["users"]["total"], 1);
        assert_eq!(ni["usage"]["localPosts"], 1);
        let (s, ni20) = get_json(&format!("{}/nodeinfo/2.0", alpha.base), "application/json").await;
        assert_eq!(s, 200);
        assert_eq!(ni20["version"], "2.0");

        let hm = http()
            .get(format!("{}/.well-known/host-meta", alpha.base))
            .send()
            .await
            .unwrap();
        assert_eq!(hm.status(), 200);
        assert!(hm.text().await.unwrap().contains("rel=\"lrdd\""));
    }
);

on_both_backends!(
    outbox_pages_public_activities_only,
    |backend: Backend| async move {
        let alpha = Instance::start("alpha", backend, FederationMode::Allowlist).await;
        let alice = alpha.create_user("alice").await;
        let mut public = Vec::new();
        for i in 0..24 {
            public.push(
                posts::post_status(
                    &alpha.data(),
                    &alice,
                    PostInput::public(&format!("post {i}")),
                )
                .await
                .unwrap(),
            );
        }
        let secret = posts::post_status(
            &alpha.data(),
            &alice,
            PostInput {
                visibility: Visibility::Private,
                ..PostInput::public("followers only")
            },
        )
        .await
        .unwrap();
        let local = posts::post_status(
            &alpha.data(),
            &alice,
            PostInput {
                visibility: Visibility::Local,
                ..PostInput::public("local only")
            },
        )
        .await
        .unwrap();
        let boost = posts::reblog(&alpha.app.state, &alice, public[0].id)
            .await
            .unwrap();

        let outbox = format!("{}/outbox", alice.uri);
        let (s, coll) = get_json(&outbox, AP).await;
        assert_eq!(s, 200);
        assert_eq!(coll["type"], "OrderedCollection");
        assert_eq!(coll["totalItems"], 25, "24 posts and one boost");
        let (_, p1) = get_json(coll["first"].as_str().unwrap(), AP).await;
        assert_eq!(p1["type"], "OrderedCollectionPage");
        let items = p1["orderedItems"].as_array().unwrap();
        assert_eq!(items.len(), 20);
        assert_eq!(items[0]["type"], "Announce", "newest first");
        assert_eq!(items[0]["id"], boost.uri);
        assert_eq!(items[1]["type"], "Create");
        assert_eq!(items[1]["object"]["id"], public[23].uri);
        let (_, p2) = get_json(p1["next"].as_str().unwrap(), AP).await;
        let items2 = p2["orderedItems"].as_array().unwrap();
        assert_eq!(items2.len(), 5);
        assert!(p2.get("next").is_none());
        let all = format!("{p1}{p2}");
        assert!(
            !all.contains(&secret.uri) && !all.contains(&local.uri),
            "only public activities"
        );
    }
);

on_both_backends!(
    authorized_fetch_requires_allowed_signatures,
    |backend: Backend| async move {
        let alpha = Instance::start_with("alpha", backend, FederationMode::Allowlist, |c| {
            c.authorized_fetch = true
        })
        .await;
        let beta = Instance::start("beta", backend, FederationMode::Open).await;
        let gamma = Instance::start("gamma", backend, FederationMode::Open).await;
        alpha.allow(&beta).await;
        let alice = alpha.create_user("alice").await;
        let s = posts::post_status(
            &alpha.data(),
            &alice,
            PostInput::public("signed readers only"),
        )
        .await
        .unwrap();

        for url in [
            alice.uri.clone(),
            s.uri.clone(),
            format!("{}/outbox", alice.uri),
            format!("{}/followers", alice.uri),
        ] {
            let (status, _) = get_json(&url, AP).await;
            assert_eq!(status, 401, "unsigned GET of {url}");
        }
        let (status, _) = get_json(&format!("{}/actor", alpha.base), AP).await;
        assert_eq!(status, 200, "the instance actor stays public");

        // beta's fetches are signed by its instance actor and beta is a partner.
        let at_beta = resolve_account(&beta.data(), &alice.uri).await.unwrap();
        assert_eq!(at_beta.uri, alice.uri);
        // gamma signs too, but is not on alpha's allowlist.
        match resolve_account(&gamma.data(), &alice.uri).await {
            Err(
                AppError::BadRequest(_)
                | AppError::Forbidden(_)
                | AppError::NotFound(_)
                | AppError::BadGateway(_),
            ) => {}
            other => panic!("gamma fetched from alpha: {other:?}"),
        }
        assert!(gamma.account_by_uri(&alice.uri).await.is_none());
    }
);

/// Without the development switch, nothing is fetched from loopback
/// addresses or over plain http: a partner cannot point us at internal
/// services. (Only loopback targets are tried here, never other ranges.)
#[tokio::test]
async fn private_addresses_are_refused_in_normal_operation() {
    let alpha = Instance::start_with("alpha", Backend::Sqlite, FederationMode::Open, |c| {
        c.federation_insecure_local = false;
    })
    .await;
    // A listener that would notice any request reaching it.
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = trap.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((_s, _)) = trap.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    for target in [
        format!("https://127.0.0.1:{port}/users/x"),
        format!("https://localhost:{port}/users/x"),
        format!("http://127.0.0.1:{port}/users/x"),
        "https://127.0.0.1/users/x".to_string(),
        "https://[::1]/users/x".to_string(),
        "https://localhost/users/x".to_string(),
        format!("user@localhost:{port}"),
    ] {
        let res = resolve_account(&alpha.data(), &target).await;
        assert!(res.is_err(), "{target} was fetched: {res:?}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a refused fetch still connected"
    );
}

on_both_backends!(
    profile_fields_federate_and_partners_find_by_skill,
    |backend: Backend| async move {
        use meetfield::domain::accounts::{ProfileChange, update_profile};
        let alpha = Instance::start("alpha", backend, FederationMode::Open).await;
        let beta = Instance::start("beta", backend, FederationMode::Open).await;
        let alice = alpha.create_user("alice").await;
        let alice = update_profile(
            &alpha.app.state,
            &alice,
            ProfileChange {
                discoverable: Some(true),
                indexable: Some(true),
                fields: Some(vec![
                    ("Department".into(), "Research".into()),
                    ("Role".into(), "Data engineer".into()),
                    ("Skills".into(), "Kubernetes, Rust".into()),
                ]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let (who, base) = (alice.clone(), alpha.app.state.base_url());
        alpha
            .app
            .state
            .db
            .transaction(move |c| {
                meetfield::domain::tags::feature(c, &who, "#Terraform", false, &base)
            })
            .await
            .unwrap();

        // Fields stay PropertyValues; schema.org terms ride alongside.
        let (status, doc) = get_json(&alice.uri, AP).await;
        assert_eq!(status, 200);
        assert_eq!(doc["attachment"][0]["type"], "PropertyValue");
        assert_eq!(doc["attachment"][0]["name"], "Department");
        assert_eq!(doc["jobTitle"], "Data engineer");
        assert_eq!(doc["knowsAbout"], serde_json::json!(["Kubernetes", "Rust"]));
        assert_eq!(doc["memberOf"][0]["name"], "Research");
        assert_eq!(doc["indexable"], true);
        assert_eq!(doc["discoverable"], true);
        // Featured tags as Mastodon publishes them.
        let tags_url = doc["featuredTags"].as_str().unwrap().to_string();
        let (status, tags) = get_json(&tags_url, AP).await;
        assert_eq!(status, 200);
        assert_eq!(tags["type"], "Collection");
        assert_eq!(tags["items"][0]["type"], "Hashtag");
        assert_eq!(tags["items"][0]["name"], "#Terraform");

        // Once beta knows alice, its directory finds her by skill and department.
        resolve_account(&beta.data(), &alice.uri).await.unwrap();
        let at_beta = beta.account_by_uri(&alice.uri).await.unwrap();
        assert!(at_beta.indexable && at_beta.discoverable);
        let own = beta.domain.clone();
        for q in [
            meetfield::org::directory::DirectoryQuery {
                skill: Some("kubernetes".into()),
                ..Default::default()
            },
            meetfield::org::directory::DirectoryQuery {
                department: Some("research".into()),
                domain: Some(alpha.domain.clone()),
                ..Default::default()
            },
        ] {
            let (own, q2) = (own.clone(), q.clone());
            let found = beta
                .query(move |c| meetfield::org::directory::list(c, None, &own, &q2))
                .await;
            assert_eq!(
                found.iter().map(|a| a.uri.as_str()).collect::<Vec<_>>(),
                [alice.uri.as_str()],
                "{q:?}"
            );
        }
        // And "who knows X?" there, with the reason, typo and all.
        let own = beta.domain.clone();
        let experts = beta
            .query(move |c| {
                meetfield::org::expertise::find(
                    c,
                    None,
                    &own,
                    &meetfield::org::expertise::ExpertQuery {
                        q: Some("kubernets".into()),
                        ..Default::default()
                    },
                )
            })
            .await;
        assert_eq!(experts.len(), 1);
        assert_eq!(experts[0].account.uri, alice.uri);
        assert_eq!(experts[0].reasons[0].kind, "skill");
        assert_eq!(experts[0].reasons[0].detail, "Kubernetes");

        // Her featured tags are read from the collection after the actor.
        let own = beta.domain.clone();
        let uri = alice.uri.clone();
        let at = &beta;
        eventually("beta finds alice by her featured tag", || {
            let own = own.clone();
            let uri = uri.clone();
            async move {
                let found = at
                    .query(move |c| {
                        meetfield::org::expertise::find(
                            c,
                            None,
                            &own,
                            &meetfield::org::expertise::ExpertQuery {
                                q: Some("terraform".into()),
                                ..Default::default()
                            },
                        )
                    })
                    .await;
                found.len() == 1
                    && found[0].account.uri == uri
                    && found[0].reasons[0].kind == "featured_tag"
                    && found[0].reasons[0].detail == "#Terraform"
            }
        })
        .await;
    }
);

on_both_backends!(
    partner_posts_are_searched_once_stored,
    |backend: Backend| async move {
        use meetfield::domain::accounts::{ProfileChange, update_profile};
        let alpha = Instance::start("alpha", backend, FederationMode::Open).await;
        let beta = Instance::start("beta", backend, FederationMode::Open).await;
        let reader = alpha.create_user("reader").await;
        let bea = beta.create_user("bea").await;
        let bea = update_profile(
            &beta.app.state,
            &bea,
            ProfileChange {
                indexable: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        crate::harness::follow(&alpha, &reader, &bea).await;
        let note = posts::post_status(
            &beta.data(),
            &bea,
            PostInput::public("the quarterly logistics review is done"),
        )
        .await
        .unwrap();
        let private = posts::post_status(
            &beta.data(),
            &bea,
            PostInput {
                visibility: Visibility::Private,
                ..PostInput::public("logistics for followers")
            },
        )
        .await
        .unwrap();
        let (uri, private_uri) = (note.uri.clone(), private.uri.clone());
        let at = &alpha;
        eventually("both posts reach alpha", || {
            let (u, p) = (uri.clone(), private_uri.clone());
            async move {
                at.query(move |c| {
                    Ok(meetfield::db::models::Status::by_uri(c, &u)?.is_some()
                        && meetfield::db::models::Status::by_uri(c, &p)?.is_some())
                })
                .await
            }
        })
        .await;
        let own = alpha.domain.clone();
        let r = reader.clone();
        let found = alpha
            .app
            .state
            .db
            .run(move |c| meetfield::domain::search::statuses(c, &r, &own, "logistic", None, 20, 0))
            .await
            .unwrap();
        let mut got: Vec<String> = found.into_iter().map(|s| s.uri).collect();
        got.sort();
        let mut want = vec![note.uri.clone(), private.uri.clone()];
        want.sort();
        assert_eq!(got, want, "the follower finds both, stemmed");
        // Someone on alpha who does not follow bea finds only the public one.
        let other = alpha.create_user("other").await;
        let own = alpha.domain.clone();
        let found = alpha
            .app
            .state
            .db
            .run(move |c| {
                meetfield::domain::search::statuses(c, &other, &own, "logistics", None, 20, 0)
            })
            .await
            .unwrap();
        assert_eq!(
            found.into_iter().map(|s| s.uri).collect::<Vec<_>>(),
            [note.uri]
        );
    }
);
