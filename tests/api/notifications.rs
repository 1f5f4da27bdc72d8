use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

both_backends!(
    notifications_for_follows_mentions_likes_boosts,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (alice, a) = api.user("alice", "read write follow").await;
        let (bob, b) = api.user("bob", "read write follow").await;
        let (_, ro) = api.user("carol", "read").await;

        api.post(
            &format!("/api/v1/accounts/{}/follow", alice.id),
            Some(&b),
            B::None,
        )
        .await;
        let post = api
            .post(
                "/api/v1/statuses",
                Some(&b),
                B::Form("status=%40alice+lunch%3F"),
            )
            .await
            .json;
        let pid = post["id"].as_str().unwrap().to_string();
        let mine = api
            .post("/api/v1/statuses", Some(&a), B::Form("status=my+post"))
            .await
            .json;
        let mid = mine["id"].as_str().unwrap().to_string();
        api.post(
            &format!("/api/v1/statuses/{mid}/favourite"),
            Some(&b),
            B::None,
        )
        .await;
        api.post(&format!("/api/v1/statuses/{mid}/reblog"), Some(&b), B::None)
            .await;

        let r = api.get("/api/v1/notifications", Some(&a)).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let kinds: Vec<&str> = r
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            vec!["reblog", "favourite", "mention", "follow"],
            "newest first"
        );
        for n in r.json.as_array().unwrap() {
            assert_eq!(n["account"]["id"], bob.id.to_string());
        }
        assert_eq!(r.json[2]["status"]["id"], pid);
        assert_eq!(r.json[0]["status"]["id"], mid);
        assert!(r.headers.contains_key("link"));

        let only = api
            .get("/api/v1/notifications?types[]=mention", Some(&a))
            .await;
        assert_eq!(only.json.as_array().unwrap().len(), 1);
        let without = api
            .get(
                "/api/v1/notifications?exclude_types[]=follow&exclude_types[]=mention",
                Some(&a),
            )
            .await;
        assert_eq!(without.json.as_array().unwrap().len(), 2);
        // Undoing the like takes its notification away.
        api.post(
            &format!("/api/v1/statuses/{mid}/unfavourite"),
            Some(&b),
            B::None,
        )
        .await;
        assert_eq!(
            api.get("/api/v1/notifications", Some(&a))
                .await
                .json
                .as_array()
                .unwrap()
                .len(),
            3
        );

        let first = r.json[0]["id"].as_str().unwrap().to_string();
        assert_eq!(
            api.get(&format!("/api/v1/notifications/{first}"), Some(&a))
                .await
                .json["type"],
            "reblog"
        );
        assert_error(
            &api.get(&format!("/api/v1/notifications/{first}"), Some(&b))
                .await,
            404,
        );
        assert_error(
            &api.post(
                &format!("/api/v1/notifications/{first}/dismiss"),
                Some(&ro),
                B::None,
            )
            .await,
            403,
        );
        assert_eq!(
            api.post(
                &format!("/api/v1/notifications/{first}/dismiss"),
                Some(&a),
                B::None
            )
            .await
            .status,
            200
        );
        assert_error(
            &api.get(&format!("/api/v1/notifications/{first}"), Some(&a))
                .await,
            404,
        );
        assert_eq!(
            api.post("/api/v1/notifications/clear", Some(&a), B::None)
                .await
                .status,
            200
        );
        assert!(
            api.get("/api/v1/notifications", Some(&a))
                .await
                .json
                .as_array()
                .unwrap()
                .is_empty()
        );
        // No notification about one's own actions.
        assert!(
            api.get("/api/v1/notifications", Some(&b))
                .await
                .json
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
);
