//! Mutes, lists, pins, markers, follower removal, familiar followers,
//! account search and the `status`/`update` notifications.

use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

async fn post_status(api: &Api, token: &str, text: &str) -> String {
    let r = api
        .ok(
            "/api/v1/statuses",
            token,
            B::Json(json!({ "status": text })),
        )
        .await;
    r["id"].as_str().unwrap().to_string()
}

both_backends!(
    mutes_hide_posts_and_notifications,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (alice, a) = api.user("alice", "read write follow").await;
        let (bob, b) = api.user("bob", "read write follow").await;
        let (_carol, c) = api.user("carol", "read write follow").await;
        api.ok(&format!("/api/v1/accounts/{}/follow", bob.id), &a, B::None)
            .await;
        let before = post_status(&api, &b, "before the mute").await;
        let boosted = post_status(&api, &c, "carol's post").await;
        api.ok(&format!("/api/v1/statuses/{boosted}/reblog"), &b, B::None)
            .await;

        // Scope: muting needs write:mutes.
        let (_, read_only) = api.user("reader", "read").await;
        let r = api
            .post(
                &format!("/api/v1/accounts/{}/mute", bob.id),
                Some(&read_only),
                B::None,
            )
            .await;
        assert_error(&r, 403);
        assert_error(
            &api.post(
                &format!("/api/v1/accounts/{}/mute", alice.id),
                Some(&a),
                B::None,
            )
            .await,
            422,
        );
        assert_error(
            &api.post("/api/v1/accounts/nope/mute", Some(&a), B::None)
                .await,
            404,
        );

        let rel = api
            .ok(
                &format!("/api/v1/accounts/{}/mute", bob.id),
                &a,
                B::Form("notifications=false"),
            )
            .await;
        assert_eq!(rel["muting"], true);
        assert_eq!(rel["muting_notifications"], false);
        assert_eq!(rel["following"], true, "a mute keeps the follow");

        let bob_id = bob.id.to_string();
        let home = api.get("/api/v1/timelines/home", Some(&a)).await.json;
        assert!(
            !ids(&home).contains(&before),
            "muted author's posts leave home"
        );
        assert!(
            home.as_array()
                .unwrap()
                .iter()
                .all(|s| s["account"]["id"].as_str() != Some(bob_id.as_str())),
            "and their boosts too: {home}"
        );
        let public = api.get("/api/v1/timelines/public", Some(&a)).await.json;
        assert!(!ids(&public).contains(&before));
        assert!(ids(&api.get("/api/v1/timelines/public", None).await.json).contains(&before));

        // notifications=false: mentions from bob still notify alice.
        post_status(&api, &b, "hello @alice").await;
        let n = api.get("/api/v1/notifications", Some(&a)).await.json;
        assert!(n.as_array().unwrap().iter().any(|n| n["type"] == "mention"));

        // Mute again with notifications hidden (the default) and a duration.
        let rel = api
            .ok(
                &format!("/api/v1/accounts/{}/mute", bob.id),
                &a,
                B::Json(json!({ "duration": 3600 })),
            )
            .await;
        assert_eq!(rel["muting_notifications"], true);
        post_status(&api, &b, "again @alice").await;
        let n = api
            .get("/api/v1/notifications?types[]=mention", Some(&a))
            .await
            .json;
        assert_eq!(n.as_array().unwrap().len(), 1, "no new mention: {n}");

        let list = api.get("/api/v1/mutes", Some(&a)).await;
        assert_eq!(ids(&list.json), vec![bob.id.to_string()]);
        assert!(list.json[0]["mute_expires_at"].is_string());

        let rel = api
            .ok(&format!("/api/v1/accounts/{}/unmute", bob.id), &a, B::None)
            .await;
        assert_eq!(rel["muting"], false);
        assert!(ids(&api.get("/api/v1/timelines/home", Some(&a)).await.json).contains(&before));
        assert_eq!(api.get("/api/v1/mutes", Some(&a)).await.json, json!([]));
    }
);

both_backends!(
    follow_options_and_post_notifications,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_alice, a) = api.user("alice", "read write follow").await;
        let (bob, b) = api.user("bob", "read write follow").await;
        let (_carol, c) = api.user("carol", "read write follow").await;
        let rel = api
            .ok(
                &format!("/api/v1/accounts/{}/follow", bob.id),
                &a,
                B::Form("reblogs=false&notify=true"),
            )
            .await;
        assert_eq!(rel["showing_reblogs"], false);
        assert_eq!(rel["notifying"], true);

        let own = post_status(&api, &b, "news from bob").await;
        let reply = {
            let carol_post = post_status(&api, &c, "carol asks").await;
            api.ok(
                "/api/v1/statuses",
                &b,
                B::Json(json!({ "status": "@carol an answer", "in_reply_to_id": carol_post })),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let carol_post = post_status(&api, &c, "boost me").await;
        api.ok(
            &format!("/api/v1/statuses/{carol_post}/reblog"),
            &b,
            B::None,
        )
        .await;

        let n = api
            .get("/api/v1/notifications?types[]=status", Some(&a))
            .await
            .json;
        let notified: Vec<&str> = n
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["status"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            notified,
            vec![own.as_str()],
            "replies to others do not notify"
        );
        assert!(!notified.contains(&reply.as_str()));

        let home = api.get("/api/v1/timelines/home", Some(&a)).await.json;
        assert!(ids(&home).contains(&own));
        assert!(
            home.as_array()
                .unwrap()
                .iter()
                .all(|s| s["reblog"].is_null()),
            "boosts hidden with reblogs=false: {home}"
        );

        // Following again changes only what is sent.
        let rel = api
            .ok(
                &format!("/api/v1/accounts/{}/follow", bob.id),
                &a,
                B::Json(json!({ "reblogs": true })),
            )
            .await;
        assert_eq!(rel["showing_reblogs"], true);
        assert_eq!(rel["notifying"], true);
        let home = api.get("/api/v1/timelines/home", Some(&a)).await.json;
        assert!(
            home.as_array()
                .unwrap()
                .iter()
                .any(|s| !s["reblog"].is_null())
        );

        // An edit notifies those who boosted the post.
        api.call(
            Method::PUT,
            &format!("/api/v1/statuses/{carol_post}"),
            Some(&c),
            B::Json(json!({ "status": "boost me, edited" })),
        )
        .await;
        let n = api
            .get("/api/v1/notifications?types[]=update", Some(&b))
            .await
            .json;
        assert_eq!(n[0]["type"], "update", "{n}");
        assert_eq!(n[0]["status"]["id"], carol_post.as_str());
    }
);

both_backends!(lists_crud_members_and_timeline, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_alice, a) = api.user("alice", "read write follow").await;
    let (bob, b) = api.user("bob", "read write follow").await;
    let (carol, c) = api.user("carol", "read write follow").await;
    let (_mallory, m) = api.user("mallory", "read write follow").await;
    api.ok(&format!("/api/v1/accounts/{}/follow", bob.id), &a, B::None)
        .await;
    api.ok(
        &format!("/api/v1/accounts/{}/follow", carol.id),
        &a,
        B::None,
    )
    .await;

    assert_error(
        &api.post("/api/v1/lists", Some(&a), B::Json(json!({})))
            .await,
        422,
    );
    assert_error(
        &api.post(
            "/api/v1/lists",
            Some(&a),
            B::Json(json!({ "title": "x", "replies_policy": "everyone" })),
        )
        .await,
        422,
    );
    let list = api
        .ok(
            "/api/v1/lists",
            &a,
            B::Form("title=Partners&replies_policy=list"),
        )
        .await;
    assert_eq!(list["title"], "Partners");
    assert_eq!(list["replies_policy"], "list");
    assert_eq!(list["exclusive"], false);
    let id = list["id"].as_str().unwrap().to_string();

    // Others cannot see or change it.
    assert_error(
        &api.get(&format!("/api/v1/lists/{id}"), Some(&m)).await,
        404,
    );
    assert_error(
        &api.call(
            Method::DELETE,
            &format!("/api/v1/lists/{id}"),
            Some(&m),
            B::None,
        )
        .await,
        404,
    );

    // Members must be followed.
    let (stranger, _) = api.user("stranger", "read").await;
    assert_error(
        &api.post(
            &format!("/api/v1/lists/{id}/accounts"),
            Some(&a),
            B::FormOwned(format!("account_ids[]={}", stranger.id)),
        )
        .await,
        422,
    );
    api.ok(
        &format!("/api/v1/lists/{id}/accounts"),
        &a,
        B::FormOwned(format!("account_ids[]={}", bob.id)),
    )
    .await;
    let members = api
        .get(&format!("/api/v1/lists/{id}/accounts"), Some(&a))
        .await;
    assert_eq!(ids(&members.json), vec![bob.id.to_string()]);
    let of_bob = api
        .get(&format!("/api/v1/accounts/{}/lists", bob.id), Some(&a))
        .await;
    assert_eq!(ids(&of_bob.json), vec![id.clone()]);

    let from_bob = post_status(&api, &b, "in the list").await;
    let from_carol = post_status(&api, &c, "not in the list").await;
    let reply_to_stranger = api
        .ok(
            "/api/v1/statuses",
            &b,
            B::Json(json!({ "status": "@mallory hi", "in_reply_to_id": post_status(&api, &m, "mallory").await })),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let tl = api
        .get(&format!("/api/v1/timelines/list/{id}"), Some(&a))
        .await
        .json;
    assert_eq!(
        ids(&tl),
        vec![from_bob.clone()],
        "replies to non-members hidden"
    );
    assert!(!ids(&tl).contains(&from_carol) && !ids(&tl).contains(&reply_to_stranger));
    assert_error(
        &api.get(&format!("/api/v1/timelines/list/{id}"), Some(&m))
            .await,
        404,
    );

    // Exclusive lists take their members out of home.
    let updated = api
        .call(
            Method::PUT,
            &format!("/api/v1/lists/{id}"),
            Some(&a),
            B::Json(json!({ "title": "Partners!", "exclusive": true })),
        )
        .await;
    assert_eq!(updated.json["exclusive"], true);
    assert_eq!(updated.json["title"], "Partners!");
    let home = api.get("/api/v1/timelines/home", Some(&a)).await.json;
    assert!(!ids(&home).contains(&from_bob));
    assert!(ids(&home).contains(&from_carol));

    // Unfollowing takes bob off the list.
    api.ok(
        &format!("/api/v1/accounts/{}/unfollow", bob.id),
        &a,
        B::None,
    )
    .await;
    let members = api
        .get(&format!("/api/v1/lists/{id}/accounts"), Some(&a))
        .await;
    assert_eq!(members.json, json!([]));

    let all = api.get("/api/v1/lists", Some(&a)).await.json;
    assert_eq!(ids(&all), vec![id.clone()]);
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/lists/{id}"),
            Some(&a),
            B::None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(api.get("/api/v1/lists", Some(&a)).await.json, json!([]));
});

both_backends!(
    pins_on_profile_and_featured_collection,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (alice, a) = api.user("alice", "read write follow").await;
        let (_bob, b) = api.user("bob", "read write follow").await;
        let first = post_status(&api, &a, "pin me").await;
        let second = post_status(&api, &a, "pin me too").await;
        let bobs = post_status(&api, &b, "not yours").await;
        let dm = api
            .ok(
                "/api/v1/statuses",
                &a,
                B::Json(json!({ "status": "@bob secret", "visibility": "direct" })),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();

        assert_error(
            &api.post(&format!("/api/v1/statuses/{bobs}/pin"), Some(&a), B::None)
                .await,
            422,
        );
        assert_error(
            &api.post(&format!("/api/v1/statuses/{dm}/pin"), Some(&a), B::None)
                .await,
            422,
        );
        let s = api
            .ok(&format!("/api/v1/statuses/{first}/pin"), &a, B::None)
            .await;
        assert_eq!(s["pinned"], true);
        api.ok(&format!("/api/v1/statuses/{second}/pin"), &a, B::None)
            .await;
        // Others see no `pinned` on posts that are not theirs.
        let seen_by_bob = api
            .get(&format!("/api/v1/statuses/{first}"), Some(&b))
            .await
            .json;
        assert!(seen_by_bob.get("pinned").is_none(), "{seen_by_bob}");

        let pinned = api
            .get(
                &format!("/api/v1/accounts/{}/statuses?pinned=true", alice.id),
                None,
            )
            .await
            .json;
        assert_eq!(ids(&pinned), vec![second.clone(), first.clone()]);

        // The featured collection lists them for other servers.
        let r = api
            .call_with(
                Method::GET,
                "/users/alice/collections/featured",
                None,
                &[("accept", "application/activity+json")],
                B::None,
            )
            .await;
        assert_eq!(r.json["type"], "OrderedCollection");
        assert_eq!(r.json["totalItems"], 2);
        let actor = api
            .call_with(
                Method::GET,
                "/users/alice",
                None,
                &[("accept", "application/activity+json")],
                B::None,
            )
            .await;
        assert_eq!(
            actor.json["featured"],
            "http://api.localhost:8080/users/alice/collections/featured"
        );

        for i in 0..3 {
            let id = post_status(&api, &a, &format!("more {i}")).await;
            api.ok(&format!("/api/v1/statuses/{id}/pin"), &a, B::None)
                .await;
        }
        let sixth = post_status(&api, &a, "one too many").await;
        let r = api
            .post(&format!("/api/v1/statuses/{sixth}/pin"), Some(&a), B::None)
            .await;
        assert_error(&r, 422);

        let s = api
            .ok(&format!("/api/v1/statuses/{first}/unpin"), &a, B::None)
            .await;
        assert_eq!(s["pinned"], false);
        let pinned = api
            .get(
                &format!("/api/v1/accounts/{}/statuses?pinned=true", alice.id),
                Some(&a),
            )
            .await
            .json;
        assert!(!ids(&pinned).contains(&first));
        assert_eq!(ids(&pinned).len(), 4);
    }
);

both_backends!(markers_save_and_read, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_alice, a) = api.user("alice", "read write").await;
    let (_bob, b) = api.user("bob", "read write").await;
    let r = api
        .get(
            "/api/v1/markers?timeline[]=home&timeline[]=notifications",
            Some(&a),
        )
        .await;
    assert_eq!(r.json, json!({}));
    let saved = api
        .ok("/api/v1/markers", &a, B::Form("home[last_read_id]=1234"))
        .await;
    assert_eq!(saved["home"]["last_read_id"], "1234");
    assert_eq!(saved["home"]["version"], 0);
    let saved = api
        .ok(
            "/api/v1/markers",
            &a,
            B::Json(json!({ "home": { "last_read_id": "1300" }, "notifications": { "last_read_id": "7" } })),
        )
        .await;
    assert_eq!(saved["home"]["version"], 1);
    assert_eq!(saved["notifications"]["last_read_id"], "7");
    let r = api
        .get(
            "/api/v1/markers?timeline[]=home&timeline[]=notifications",
            Some(&a),
        )
        .await
        .json;
    assert_eq!(r["home"]["last_read_id"], "1300");
    assert!(r["home"]["updated_at"].is_string());
    assert_eq!(
        api.get("/api/v1/markers?timeline[]=home", Some(&b))
            .await
            .json,
        json!({}),
        "markers are per user"
    );
    assert_error(
        &api.post(
            "/api/v1/markers",
            Some(&a),
            B::Form("home[last_read_id]=abc"),
        )
        .await,
        422,
    );
    assert_error(&api.get("/api/v1/markers", None).await, 401);
});

both_backends!(
    followers_removed_familiar_and_search,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (alice, a) = api.user("alice", "read write follow").await;
        let (bob, b) = api.user("bob", "read write follow").await;
        let (carol, c) = api.user("carol", "read write follow").await;
        api.ok(
            &format!("/api/v1/accounts/{}/follow", alice.id),
            &b,
            B::None,
        )
        .await;
        api.ok(
            &format!("/api/v1/accounts/{}/follow", carol.id),
            &b,
            B::None,
        )
        .await;
        api.ok(&format!("/api/v1/accounts/{}/follow", bob.id), &c, B::None)
            .await;

        // Alice follows carol; carol's follower bob is... not followed by alice.
        api.ok(
            &format!("/api/v1/accounts/{}/follow", carol.id),
            &a,
            B::None,
        )
        .await;
        let fam = api
            .get(
                &format!("/api/v1/accounts/familiar_followers?id[]={}", bob.id),
                Some(&a),
            )
            .await
            .json;
        assert_eq!(fam[0]["id"], bob.id.to_string());
        assert_eq!(ids(&fam[0]["accounts"]), vec![carol.id.to_string()]);

        let rel = api
            .ok(
                &format!("/api/v1/accounts/{}/remove_from_followers", bob.id),
                &a,
                B::None,
            )
            .await;
        assert_eq!(rel["followed_by"], false);
        let bobs_view = api
            .get(
                &format!("/api/v1/accounts/relationships?id[]={}", alice.id),
                Some(&b),
            )
            .await
            .json;
        assert_eq!(bobs_view[0]["following"], false);

        api.call(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&c),
            B::Json(json!({ "display_name": "Carol Jones" })),
        )
        .await;
        let found = api
            .get("/api/v1/accounts/search?q=car", Some(&a))
            .await
            .json;
        assert_eq!(ids(&found), vec![carol.id.to_string()]);
        let found = api
            .get("/api/v1/accounts/search?q=jones", Some(&a))
            .await
            .json;
        assert_eq!(
            ids(&found),
            vec![carol.id.to_string()],
            "display names match"
        );
        let found = api
            .get("/api/v1/accounts/search?q=b&following=true", Some(&a))
            .await
            .json;
        assert_eq!(found, json!([]), "alice follows no b…");
        let found = api
            .get("/api/v1/accounts/search?q=carol@api.localhost:8080", None)
            .await
            .json;
        assert_eq!(ids(&found), vec![carol.id.to_string()]);
        assert_eq!(
            api.get("/api/v1/accounts/search?q=", Some(&a)).await.json,
            json!([])
        );
    }
);

both_backends!(blocks_hide_posts_both_ways, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_carol, c) = api.user("carol", "read write follow").await;
    let (dave, d) = api.user("dave", "read write follow").await;
    let from_dave = post_status(&api, &d, "dave speaks").await;
    let from_carol = post_status(&api, &c, "carol speaks").await;
    api.ok(&format!("/api/v1/accounts/{}/block", dave.id), &c, B::None)
        .await;
    let carol_sees = ids(&api.get("/api/v1/timelines/public", Some(&c)).await.json);
    assert!(!carol_sees.contains(&from_dave) && carol_sees.contains(&from_carol));
    let dave_sees = ids(&api.get("/api/v1/timelines/public", Some(&d)).await.json);
    assert!(!dave_sees.contains(&from_carol) && dave_sees.contains(&from_dave));
    let anyone = ids(&api.get("/api/v1/timelines/public", None).await.json);
    assert!(anyone.contains(&from_carol) && anyone.contains(&from_dave));
});
