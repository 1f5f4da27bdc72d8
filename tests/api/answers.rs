//! Accepted answers: the asker (or a moderator of the group the question was
//! posted in) marks a reply; stock apps see a boost and an "Answered" line,
//! Meetfield clients `meetfield.accepted_answer`; it counts as expertise.

use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

async fn post(api: &Api, token: &str, body: Value) -> Value {
    api.ok("/api/v1/statuses", token, B::Json(body)).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

both_backends!(the_asker_accepts_a_reply, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_alice, a) = api.user("alice", "read write").await;
    let (bob, b) = api.user("bob", "read write").await;
    let (_carol, c) = api.user("carol", "read write").await;
    for t in [&a, &b, &c] {
        let r = api
            .call(
                Method::PATCH,
                "/api/v1/accounts/update_credentials",
                Some(t),
                B::Json(json!({"discoverable": true})),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let q = post(
        &api,
        &a,
        json!({"status": "How do we rotate the #kubernetes certificates?"}),
    )
    .await;
    let qid = id(&q);
    let bobs = post(&api, &b, json!({"status": "kubeadm certs renew all, then restart the control plane", "in_reply_to_id": qid})).await;
    let carols = post(
        &api,
        &c,
        json!({"status": "Ask ops", "in_reply_to_id": qid}),
    )
    .await;
    let own = post(&api, &a, json!({"status": "bump", "in_reply_to_id": qid})).await;
    let other = post(&api, &c, json!({"status": "unrelated"})).await;
    let accept = |who: &str, reply: &str, m: Method| {
        let (api, who, path) = (
            &api,
            who.to_string(),
            format!("/api/v1/meetfield/statuses/{qid}/accept/{reply}"),
        );
        async move { api.call(m, &path, Some(&who), B::None).await }
    };

    // Only the asker; only a reply by someone else.
    assert_error(&accept(&c, &id(&bobs), Method::POST).await, 403);
    assert_error(&accept(&a, &id(&other), Method::POST).await, 422);
    assert_error(&accept(&a, &id(&own), Method::POST).await, 422);
    assert_error(&accept(&a, "12345", Method::POST).await, 422);
    assert_error(
        &api.post(
            &format!("/api/v1/meetfield/statuses/999/accept/{}", id(&bobs)),
            Some(&a),
            B::None,
        )
        .await,
        404,
    );

    let r = accept(&a, &id(&bobs), Method::POST).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["meetfield"]["accepted_answer"]["id"], id(&bobs));
    let content = r.json["content"].as_str().unwrap();
    assert!(content.contains("✅ Answered: <a href=\""), "{content}");
    assert!(content.contains(bobs["url"].as_str().unwrap()), "{content}");
    // Stock apps: alice boosted the answer; bob hears of it.
    let notes = api
        .get("/api/v1/notifications?types[]=reblog", Some(&b))
        .await
        .json;
    assert_eq!(notes[0]["status"]["id"], id(&bobs), "{notes}");
    assert_eq!(notes[0]["account"]["username"], "alice");
    let seen = api
        .get(&format!("/api/v1/statuses/{qid}"), Some(&c))
        .await
        .json;
    assert_eq!(seen["meetfield"]["accepted_answer"]["id"], id(&bobs));

    // Counted in "who knows X?".
    let r = api
        .get("/api/v1/meetfield/experts?q=kubernetes", Some(&c))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let bob_entry = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["account"]["username"] == "bob")
        .unwrap_or_else(|| panic!("bob is not an expert: {}", r.json));
    assert!(
        bob_entry["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["kind"] == "accepted_answer"),
        "{bob_entry}"
    );

    // Another answer replaces it: the boost of the first goes.
    let r = accept(&a, &id(&carols), Method::POST).await;
    assert_eq!(r.json["meetfield"]["accepted_answer"]["id"], id(&carols));
    let bob_post = api
        .get(&format!("/api/v1/statuses/{}", id(&bobs)), Some(&b))
        .await
        .json;
    assert_eq!(bob_post["reblogs_count"], 0, "{bob_post}");

    // Undone: nothing left.
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/meetfield/statuses/{qid}/accept"),
            Some(&a),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json.get("meetfield").is_none(), "{}", r.json);
    assert!(!r.json["content"].as_str().unwrap().contains("Answered"));
    let carol_post = api
        .get(&format!("/api/v1/statuses/{}", id(&carols)), Some(&c))
        .await
        .json;
    assert_eq!(carol_post["reblogs_count"], 0);
    let _ = bob;
});

both_backends!(
    a_group_moderator_accepts_in_the_group,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_mo, m) = api.user("mo", "read write follow").await;
        let (_ann, a) = api.user("ann", "read write follow").await;
        let (_ben, b) = api.user("ben", "read write follow").await;
        let g = api
            .ok("/api/v1/groups", &m, B::Json(json!({"name": "sre"})))
            .await;
        let gid = id(&g);
        for t in [&a, &b] {
            api.ok(&format!("/api/v1/accounts/{gid}/follow"), t, B::None)
                .await;
        }
        let q = post(&api, &a, json!({"status": "@sre who owns the pager rota?"})).await;
        let reply = post(
            &api,
            &b,
            json!({"status": "@sre @ann the SRE lead, see the wiki", "in_reply_to_id": id(&q)}),
        )
        .await;
        let path = format!(
            "/api/v1/meetfield/statuses/{}/accept/{}",
            id(&q),
            id(&reply)
        );
        let r = api.post(&path, Some(&m), B::None).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["meetfield"]["accepted_answer"]["id"], id(&reply));
        // The group's boost shows it to every member.
        let tl = api
            .get(&format!("/api/v1/timelines/group/{gid}"), Some(&a))
            .await;
        assert_eq!(tl.status, 200);
        let boosts = api
            .get(&format!("/api/v1/accounts/{gid}/statuses"), Some(&a))
            .await
            .json;
        assert!(
            boosts
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["reblog"]["id"] == id(&reply)),
            "{boosts}"
        );
        // A member who did not ask cannot.
        let r = api.call(Method::DELETE, &path, Some(&b), B::None).await;
        assert_error(&r, 403);
        let r = api.call(Method::DELETE, &path, Some(&m), B::None).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert!(r.json.get("meetfield").is_none());
    }
);
