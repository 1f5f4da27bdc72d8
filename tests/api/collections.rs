use axum::http::Method;

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

fn ids(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

both_backends!(
    account_lists_and_status_audiences,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (alice, a) = api.user("alice", "read write follow").await;
        let (bob, b) = api.user("bob", "read write follow").await;
        let (carol, c) = api.user("carol", "read write follow").await;
        api.post(
            &format!("/api/v1/accounts/{}/follow", alice.id),
            Some(&b),
            B::None,
        )
        .await;
        api.post(
            &format!("/api/v1/accounts/{}/follow", alice.id),
            Some(&c),
            B::None,
        )
        .await;

        let r = api
            .get(
                &format!("/api/v1/accounts/{}/followers?limit=1", alice.id),
                None,
            )
            .await;
        assert_eq!(
            ids(&r.json),
            vec![carol.id.to_string()],
            "newest follower first"
        );
        let link = r.headers["link"].to_str().unwrap().to_string();
        let next = link
            .split('<')
            .nth(1)
            .unwrap()
            .split('>')
            .next()
            .unwrap()
            .replace("http://api.localhost:8080", "");
        assert_eq!(
            ids(&api.get(&next, None).await.json),
            vec![bob.id.to_string()]
        );
        assert_eq!(
            ids(&api
                .get(&format!("/api/v1/accounts/{}/following", bob.id), None)
                .await
                .json),
            vec![alice.id.to_string()]
        );

        let s = api
            .post(
                "/api/v1/statuses",
                Some(&a),
                B::Form("status=pick+a+date+%23offsite"),
            )
            .await
            .json["id"]
            .as_str()
            .unwrap()
            .to_string();
        api.post(
            &format!("/api/v1/statuses/{s}/favourite"),
            Some(&b),
            B::None,
        )
        .await;
        api.post(
            &format!("/api/v1/statuses/{s}/favourite"),
            Some(&c),
            B::None,
        )
        .await;
        api.post(&format!("/api/v1/statuses/{s}/reblog"), Some(&c), B::None)
            .await;
        assert_eq!(
            ids(&api
                .get(&format!("/api/v1/statuses/{s}/favourited_by"), None)
                .await
                .json),
            vec![carol.id.to_string(), bob.id.to_string()]
        );
        assert_eq!(
            ids(&api
                .get(&format!("/api/v1/statuses/{s}/reblogged_by"), None)
                .await
                .json),
            vec![carol.id.to_string()]
        );
        assert_eq!(
            ids(&api.get("/api/v1/favourites", Some(&b)).await.json),
            vec![s.clone()]
        );
        assert_error(&api.get("/api/v1/favourites", None).await, 401);

        let tagged = api.get("/api/v1/timelines/tag/offsite", None).await;
        assert_eq!(ids(&tagged.json), vec![s.clone()]);
        assert!(
            api.get("/api/v1/timelines/tag/elsewhere", None)
                .await
                .json
                .as_array()
                .unwrap()
                .is_empty()
        );

        api.post(
            &format!("/api/v1/accounts/{}/block", bob.id),
            Some(&a),
            B::None,
        )
        .await;
        assert_eq!(
            ids(&api.get("/api/v1/blocks", Some(&a)).await.json),
            vec![bob.id.to_string()]
        );
    }
);

both_backends!(
    idempotency_key_and_startup_endpoints,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_alice, a) = api.user("alice", "read write follow").await;
        let first = api
            .call_with(
                Method::POST,
                "/api/v1/statuses",
                Some(&a),
                &[("idempotency-key", "k-1")],
                B::Form("status=once"),
            )
            .await;
        let again = api
            .call_with(
                Method::POST,
                "/api/v1/statuses",
                Some(&a),
                &[("idempotency-key", "k-1")],
                B::Form("status=once"),
            )
            .await;
        assert_eq!(
            first.json["id"], again.json["id"],
            "a retried post is not posted twice"
        );
        let other = api
            .call_with(
                Method::POST,
                "/api/v1/statuses",
                Some(&a),
                &[("idempotency-key", "k-2")],
                B::Form("status=once"),
            )
            .await;
        assert_ne!(first.json["id"], other.json["id"]);

        for path in [
            "/api/v1/custom_emojis",
            "/api/v1/filters",
            "/api/v2/filters",
            "/api/v1/announcements",
            "/api/v1/trends/tags",
            "/api/v2/suggestions",
            "/api/v1/followed_tags",
            "/api/v1/conversations",
            "/api/v1/mutes",
            "/api/v1/instance/rules",
        ] {
            let r = api.get(path, Some(&a)).await;
            assert_eq!(r.status, 200, "{path}");
            assert!(r.json.is_array(), "{path}");
        }
        assert!(api.get("/api/v1/markers", Some(&a)).await.json.is_object());
        assert_eq!(
            api.get("/api/v1/preferences", Some(&a)).await.json["posting:default:visibility"],
            "public"
        );
        assert!(
            api.get("/api/v1/instance/peers", None)
                .await
                .json
                .is_array()
        );
    }
);

both_backends!(bookmarks_are_private_and_paged, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_alice, a) = api.user("alice", "read write follow").await;
    let (_bob, b) = api.user("bob", "read write follow").await;
    let (_, ro) = api.user("reader", "read").await;
    let s1 = api
        .post("/api/v1/statuses", Some(&a), B::Form("status=one"))
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s2 = api
        .post("/api/v1/statuses", Some(&a), B::Form("status=two"))
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = api
        .post(
            "/api/v1/statuses",
            Some(&a),
            B::Form("status=secret&visibility=direct"),
        )
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .post(
            &format!("/api/v1/statuses/{s1}/bookmark"),
            Some(&b),
            B::None,
        )
        .await;
    assert_eq!(r.json["bookmarked"], true);
    api.post(
        &format!("/api/v1/statuses/{s2}/bookmark"),
        Some(&b),
        B::None,
    )
    .await;
    api.post(
        &format!("/api/v1/statuses/{s2}/bookmark"),
        Some(&b),
        B::None,
    )
    .await;
    assert_error(
        &api.post(
            &format!("/api/v1/statuses/{secret}/bookmark"),
            Some(&b),
            B::None,
        )
        .await,
        404,
    );
    assert_error(
        &api.post(
            &format!("/api/v1/statuses/{s1}/bookmark"),
            Some(&ro),
            B::None,
        )
        .await,
        403,
    );
    let r = api.get("/api/v1/bookmarks?limit=1", Some(&b)).await;
    assert_eq!(ids(&r.json), vec![s2.clone()], "newest bookmark first");
    assert!(r.headers.contains_key("link"));
    assert_eq!(
        ids(&api.get("/api/v1/bookmarks", Some(&b)).await.json),
        vec![s2.clone(), s1.clone()]
    );
    assert!(
        api.get("/api/v1/bookmarks", Some(&a))
            .await
            .json
            .as_array()
            .unwrap()
            .is_empty(),
        "bookmarks are per user"
    );
    assert_eq!(
        api.get(&format!("/api/v1/statuses/{s1}"), Some(&a))
            .await
            .json["bookmarked"],
        false
    );
    let r = api
        .post(
            &format!("/api/v1/statuses/{s1}/unbookmark"),
            Some(&b),
            B::None,
        )
        .await;
    assert_eq!(r.json["bookmarked"], false);
    assert_eq!(
        ids(&api.get("/api/v1/bookmarks", Some(&b)).await.json),
        vec![s2]
    );
});
