use axum::http::Method;
use serde_json::json;

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

both_backends!(
    post_read_edit_delete_in_every_encoding,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (alice, a) = api.user("alice", "read write follow").await;
        let (_bob, b) = api.user("bob", "read write follow").await;

        let r = api
            .post(
                "/api/v1/statuses",
                Some(&a),
                B::Form("status=Hello+%23team+%40bob&visibility=public&language=en"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        let s = r.json.clone();
        assert!(
            s["content"]
                .as_str()
                .unwrap()
                .contains("class=\"mention hashtag\""),
            "{s}"
        );
        assert!(
            s["content"]
                .as_str()
                .unwrap()
                .contains("class=\"u-url mention\""),
            "{s}"
        );
        assert_eq!(s["mentions"][0]["acct"], "bob");
        assert_eq!(s["tags"][0]["name"], "team");
        assert_eq!(s["account"]["id"], alice.id.to_string());
        assert_eq!(s["language"], "en");
        assert_eq!(s["visibility"], "public");
        assert_eq!(s["favourited"], false);
        let id = s["id"].as_str().unwrap().to_string();

        let r = api
            .post(
                "/api/v1/statuses",
                Some(&a),
                B::Json(json!({"status": "json body", "sensitive": true, "spoiler_text": "cw"})),
            )
            .await;
        assert_eq!(r.json["sensitive"], true);
        assert_eq!(r.json["spoiler_text"], "cw");
        let r = api
            .post(
                "/api/v1/statuses",
                Some(&a),
                B::Multipart(vec![
                    ("status", "multipart body".into()),
                    ("in_reply_to_id", id.clone()),
                ]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["in_reply_to_id"], id);
        assert_eq!(r.json["in_reply_to_account_id"], alice.id.to_string());
        let reply_id = r.json["id"].as_str().unwrap().to_string();
        let r = api
            .post("/api/v1/statuses?status=query+string", Some(&a), B::None)
            .await;
        assert_eq!(r.status, 200, "{}", r.json);

        // Bad input.
        assert_error(
            &api.post("/api/v1/statuses", Some(&a), B::Form("status="))
                .await,
            422,
        );
        assert_error(
            &api.post(
                "/api/v1/statuses",
                Some(&a),
                B::Form("status=x&visibility=galaxy"),
            )
            .await,
            422,
        );
        assert_error(
            &api.post(
                "/api/v1/statuses",
                Some(&a),
                B::FormOwned(format!("status={}", "a".repeat(5001))),
            )
            .await,
            422,
        );
        assert_error(
            &api.post(
                "/api/v1/statuses",
                Some(&a),
                B::Form("status=x&in_reply_to_id=123456"),
            )
            .await,
            404,
        );
        let r = api
            .call(
                Method::POST,
                "/api/v1/statuses",
                Some(&a),
                B::FormOwned("{not json".into()),
            )
            .await;
        assert!(r.status.is_client_error());

        let r = api.get(&format!("/api/v1/statuses/{id}"), None).await;
        assert_eq!(r.json["replies_count"], 1);
        let r = api
            .get(&format!("/api/v1/statuses/{reply_id}/context"), Some(&b))
            .await;
        assert_eq!(r.json["ancestors"][0]["id"], id);
        let r = api
            .get(&format!("/api/v1/statuses/{id}/context"), Some(&b))
            .await;
        assert_eq!(r.json["descendants"][0]["id"], reply_id);

        // Edit with history and source.
        let r = api
            .call(
                Method::PUT,
                &format!("/api/v1/statuses/{id}"),
                Some(&a),
                B::Json(json!({"status": "Hello #team, edited"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert!(r.json["edited_at"].is_string());
        assert_eq!(
            api.get(&format!("/api/v1/statuses/{id}/history"), None)
                .await
                .json
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            api.get(&format!("/api/v1/statuses/{id}/source"), Some(&a))
                .await
                .json["text"],
            "Hello #team, edited"
        );
        assert_error(
            &api.call(
                Method::PUT,
                &format!("/api/v1/statuses/{id}"),
                Some(&b),
                B::Json(json!({"status": "hijack"})),
            )
            .await,
            404,
        );

        // Someone else cannot delete it; the author gets the source back.
        assert_error(
            &api.call(
                Method::DELETE,
                &format!("/api/v1/statuses/{id}"),
                Some(&b),
                B::None,
            )
            .await,
            404,
        );
        let r = api
            .call(
                Method::DELETE,
                &format!("/api/v1/statuses/{id}"),
                Some(&a),
                B::None,
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["text"], "Hello #team, edited");
        assert_error(&api.get(&format!("/api/v1/statuses/{id}"), None).await, 404);
        assert_error(&api.get("/api/v1/statuses/abc", None).await, 404);
    }
);

both_backends!(visibility_on_the_api, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (alice, a) = api.user("alice", "read write follow").await;
    let (_bob, b) = api.user("bob", "read write follow").await;
    let (_carol, c) = api.user("carol", "read write follow").await;
    // bob follows alice; carol does not.
    api.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&b),
        B::None,
    )
    .await;

    let private = api
        .post(
            "/api/v1/statuses",
            Some(&a),
            B::Form("status=team+only&visibility=private"),
        )
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_string();
    let direct = api
        .post(
            "/api/v1/statuses",
            Some(&a),
            B::Form("status=%40carol+secret&visibility=direct"),
        )
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_string();
    let local = api
        .post(
            "/api/v1/statuses",
            Some(&a),
            B::Form("status=canteen&visibility=local"),
        )
        .await;
    assert_eq!(local.json["visibility"], "public");
    assert_eq!(local.json["local_only"], true);
    let local = local.json["id"].as_str().unwrap().to_string();

    assert_eq!(
        api.get(&format!("/api/v1/statuses/{private}"), Some(&b))
            .await
            .status,
        200
    );
    assert_error(
        &api.get(&format!("/api/v1/statuses/{private}"), Some(&c))
            .await,
        404,
    );
    assert_error(
        &api.get(&format!("/api/v1/statuses/{private}"), None).await,
        404,
    );
    assert_eq!(
        api.get(&format!("/api/v1/statuses/{direct}"), Some(&c))
            .await
            .status,
        200
    );
    assert_error(
        &api.get(&format!("/api/v1/statuses/{direct}"), Some(&b))
            .await,
        404,
    );
    assert_eq!(
        api.get(&format!("/api/v1/statuses/{local}"), Some(&c))
            .await
            .status,
        200
    );
    assert_error(
        &api.get(&format!("/api/v1/statuses/{local}"), None).await,
        404,
    );

    let ids = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let home_b = ids(&api.get("/api/v1/timelines/home", Some(&b)).await.json);
    assert!(
        home_b.contains(&private) && home_b.contains(&local) && !home_b.contains(&direct),
        "{home_b:?}"
    );
    let home_c = ids(&api.get("/api/v1/timelines/home", Some(&c)).await.json);
    assert_eq!(
        home_c,
        vec![direct.clone()],
        "a DM reaches its recipient's home"
    );
    let public_anon = ids(&api.get("/api/v1/timelines/public", None).await.json);
    assert!(public_anon.is_empty(), "{public_anon:?}");
    let local_tl = ids(&api
        .get("/api/v1/timelines/public?local=true", Some(&c))
        .await
        .json);
    assert_eq!(local_tl, vec![local.clone()]);
    let acct_c = ids(&api
        .get(&format!("/api/v1/accounts/{}/statuses", alice.id), Some(&c))
        .await
        .json);
    assert_eq!(acct_c, vec![local.clone()]);
    let acct_b = ids(&api
        .get(&format!("/api/v1/accounts/{}/statuses", alice.id), Some(&b))
        .await
        .json);
    assert_eq!(acct_b.len(), 2, "followers see followers-only posts");
    // Only public posts can be boosted.
    assert_error(
        &api.post(
            &format!("/api/v1/statuses/{private}/reblog"),
            Some(&b),
            B::None,
        )
        .await,
        422,
    );
});

both_backends!(
    timelines_paginate_with_link_headers,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_alice, a) = api.user("alice", "read write").await;
        let mut ids = Vec::new();
        for i in 0..7 {
            let r = api
                .post(
                    "/api/v1/statuses",
                    Some(&a),
                    B::FormOwned(format!("status=post+{i}")),
                )
                .await;
            ids.push(r.json["id"].as_str().unwrap().to_string());
        }
        let r = api.get("/api/v1/timelines/home?limit=3", Some(&a)).await;
        let page: Vec<String> = r
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(page, vec![ids[6].clone(), ids[5].clone(), ids[4].clone()]);
        let link = r.headers["link"].to_str().unwrap().to_string();
        assert_eq!(
            link,
            format!(
                "<http://api.localhost:8080/api/v1/timelines/home?max_id={}>; rel=\"next\", <http://api.localhost:8080/api/v1/timelines/home?min_id={}>; rel=\"prev\"",
                ids[4], ids[6]
            )
        );
        let r = api
            .get(
                &format!("/api/v1/timelines/home?limit=3&max_id={}", ids[4]),
                Some(&a),
            )
            .await;
        assert_eq!(r.json[0]["id"], ids[3]);
        let r = api
            .get(
                &format!("/api/v1/timelines/home?since_id={}", ids[4]),
                Some(&a),
            )
            .await;
        assert_eq!(r.json.as_array().unwrap().len(), 2);
        assert_eq!(r.json[0]["id"], ids[6], "since_id: newest first");
        let r = api
            .get(
                &format!("/api/v1/timelines/home?min_id={}&limit=2", ids[1]),
                Some(&a),
            )
            .await;
        assert_eq!(
            r.json[0]["id"], ids[3],
            "min_id: the page just above, newest first"
        );
        assert_eq!(r.json[1]["id"], ids[2]);
        let r = api.get("/api/v1/timelines/home?limit=1000", Some(&a)).await;
        assert_eq!(r.json.as_array().unwrap().len(), 7);
        let r = api
            .get("/api/v1/timelines/public?local=true&limit=2", None)
            .await;
        assert!(
            r.headers["link"]
                .to_str()
                .unwrap()
                .contains("local=true&max_id=")
        );
    }
);

both_backends!(favourites_and_boosts, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (alice, a) = api.user("alice", "read write follow").await;
    let (_bob, b) = api.user("bob", "read write follow").await;
    api.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&b),
        B::None,
    )
    .await;
    let id = api
        .post("/api/v1/statuses", Some(&a), B::Form("status=vote"))
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .post(
            &format!("/api/v1/statuses/{id}/favourite"),
            Some(&b),
            B::None,
        )
        .await;
    assert_eq!(r.json["favourited"], true);
    assert_eq!(r.json["favourites_count"], 1);
    let r = api
        .post(
            &format!("/api/v1/statuses/{id}/favourite"),
            Some(&b),
            B::None,
        )
        .await;
    assert_eq!(r.json["favourites_count"], 1, "idempotent");
    let r = api
        .post(&format!("/api/v1/statuses/{id}/reblog"), Some(&b), B::None)
        .await;
    assert_eq!(r.json["reblog"]["id"], id);
    assert_eq!(r.json["reblog"]["reblogs_count"], 1);
    assert_eq!(r.json["reblogged"], true);
    let home = api.get("/api/v1/timelines/home", Some(&b)).await;
    assert_eq!(
        home.json[0]["reblog"]["id"], id,
        "the boost is on bob's home"
    );
    let r = api
        .post(
            &format!("/api/v1/statuses/{id}/unreblog"),
            Some(&b),
            B::None,
        )
        .await;
    assert_eq!(r.json["reblogs_count"], 0);
    assert_eq!(r.json["reblogged"], false);
    let r = api
        .post(
            &format!("/api/v1/statuses/{id}/unfavourite"),
            Some(&b),
            B::None,
        )
        .await;
    assert_eq!(r.json["favourites_count"], 0);
});

both_backends!(
    profile_and_post_pages_for_browsers,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (alice, a) = api.user("alice", "read write").await;
        let public = api
            .post(
                "/api/v1/statuses",
                Some(&a),
                B::Form("status=%3Cscript%3Ealert(1)%3C%2Fscript%3E+hello+world"),
            )
            .await
            .json;
        let private = api
            .post(
                "/api/v1/statuses",
                Some(&a),
                B::Form("status=secret+plans&visibility=private"),
            )
            .await
            .json;
        let page = |path: String| {
            let router = api.router.clone();
            async move {
                use tower::ServiceExt;
                let res = router
                    .oneshot(
                        axum::http::Request::get(path)
                            .body(axum::body::Body::empty())
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                let status = res.status();
                let body = http_body_util::BodyExt::collect(res.into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                (status, String::from_utf8_lossy(&body).into_owned())
            }
        };
        let (s, html) = page("/@alice".into()).await;
        assert_eq!(s, 200);
        assert!(
            html.contains("hello world") && !html.contains("secret plans"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "escaped: {html}");
        assert!(
            html.contains(&format!("href=\"{}\"", alice.uri)),
            "alternate link to the actor"
        );
        let (s, html) = page(format!("/@alice/{}", public["id"].as_str().unwrap())).await;
        assert_eq!(s, 200);
        assert!(html.contains("hello world"));
        assert_eq!(
            page(format!("/@alice/{}", private["id"].as_str().unwrap()))
                .await
                .0,
            404
        );
        assert_eq!(page("/@nobody".into()).await.0, 404);
    }
);
