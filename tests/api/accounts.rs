use serde_json::json;

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

both_backends!(credentials_lookup_and_profiles, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (alice, tok) = api.user("alice", "read write follow").await;
    let r = api
        .get("/api/v1/accounts/verify_credentials", Some(&tok))
        .await;
    assert_eq!(r.status, 200);
    let me = &r.json;
    assert_eq!(me["id"], alice.id.to_string());
    assert_eq!(me["acct"], "alice");
    assert_eq!(me["url"], "http://api.localhost:8080/@alice");
    assert_eq!(me["source"]["privacy"], "public");
    assert_eq!(me["group"], false);
    for key in [
        "avatar",
        "avatar_static",
        "header",
        "header_static",
        "created_at",
        "note",
        "display_name",
    ] {
        assert!(me[key].is_string(), "{key} in {me}");
    }
    for key in ["followers_count", "following_count", "statuses_count"] {
        assert!(me[key].is_i64(), "{key}");
    }
    let r = api
        .get(&format!("/api/v1/accounts/{}", alice.id), None)
        .await;
    assert_eq!(r.json["username"], "alice");
    assert!(r.json.get("source").is_none(), "source only for oneself");
    assert_eq!(
        api.get("/api/v1/accounts/lookup?acct=alice", None)
            .await
            .json["id"],
        alice.id.to_string()
    );
    assert_eq!(
        api.get(
            "/api/v1/accounts/lookup?acct=alice@api.localhost:8080",
            None
        )
        .await
        .json["id"],
        alice.id.to_string()
    );
    assert_error(
        &api.get("/api/v1/accounts/lookup?acct=nobody", None).await,
        404,
    );
    assert_error(&api.get("/api/v1/accounts/999999", None).await, 404);
    assert_error(&api.get("/api/v1/accounts/not-a-number", None).await, 404);
    // The instance actor is not an account for clients.
    let r = api
        .get("/api/v1/accounts/lookup?acct=instance.actor", None)
        .await;
    assert_error(&r, 404);
    let r = api
        .get("/api/v2/search?q=ali&type=accounts", Some(&tok))
        .await;
    assert_eq!(r.json["accounts"][0]["acct"], "alice");
});

both_backends!(
    follow_unfollow_locked_requests_block,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (alice, a) = api.user("alice", "read write follow").await;
        let (bob, b) = api.user("bob", "read write follow").await;
        let (_, readonly) = api.user("carol", "read").await;

        let r = api
            .post(
                &format!("/api/v1/accounts/{}/follow", bob.id),
                Some(&a),
                B::None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["following"], true);
        assert_eq!(r.json["requested"], false);
        let r = api
            .get(
                &format!("/api/v1/accounts/relationships?id[]={}&id[]=424242", bob.id),
                Some(&a),
            )
            .await;
        assert_eq!(r.json.as_array().unwrap().len(), 1);
        assert_eq!(r.json[0]["following"], true);
        let r = api
            .get(
                &format!("/api/v1/accounts/relationships?id={}", alice.id),
                Some(&b),
            )
            .await;
        assert_eq!(r.json[0]["followed_by"], true);
        assert_eq!(
            api.get(&format!("/api/v1/accounts/{}", bob.id), None)
                .await
                .json["followers_count"],
            1
        );
        assert_error(
            &api.post(
                &format!("/api/v1/accounts/{}/follow", alice.id),
                Some(&readonly),
                B::None,
            )
            .await,
            403,
        );
        assert_error(
            &api.post(
                &format!("/api/v1/accounts/{}/follow", alice.id),
                Some(&a),
                B::None,
            )
            .await,
            422,
        );

        let r = api
            .post(
                &format!("/api/v1/accounts/{}/unfollow", bob.id),
                Some(&a),
                B::None,
            )
            .await;
        assert_eq!(r.json["following"], false);

        // bob locks his account: the follow waits for approval.
        let bid = bob.id;
        api.app
            .state
            .db
            .run(move |c| {
                use diesel::prelude::*;
                use meetfield::db::schema::accounts;
                diesel::update(accounts::table.find(bid))
                    .set(accounts::locked.eq(true))
                    .execute(c)
                    .map_err(meetfield::db::DbError::from)
            })
            .await
            .unwrap();
        let r = api
            .post(
                &format!("/api/v1/accounts/{}/follow", bob.id),
                Some(&a),
                B::None,
            )
            .await;
        assert_eq!(r.json["requested"], true);
        assert_eq!(r.json["following"], false);
        let r = api.get("/api/v1/follow_requests", Some(&b)).await;
        assert_eq!(r.json[0]["id"], alice.id.to_string());
        assert_eq!(
            api.get("/api/v1/accounts/verify_credentials", Some(&b))
                .await
                .json["source"]["follow_requests_count"],
            1
        );
        let r = api
            .post(
                &format!("/api/v1/follow_requests/{}/authorize", alice.id),
                Some(&b),
                B::None,
            )
            .await;
        assert_eq!(r.json["followed_by"], true);
        assert_error(
            &api.post(
                &format!("/api/v1/follow_requests/{}/authorize", alice.id),
                Some(&b),
                B::None,
            )
            .await,
            404,
        );

        // Blocking ends the follow and refuses a new one.
        let r = api
            .post(
                &format!("/api/v1/accounts/{}/block", alice.id),
                Some(&b),
                B::None,
            )
            .await;
        assert_eq!(r.json["blocking"], true);
        assert_eq!(r.json["followed_by"], false);
        assert_error(
            &api.post(
                &format!("/api/v1/accounts/{}/follow", bob.id),
                Some(&a),
                B::None,
            )
            .await,
            403,
        );
        let r = api
            .post(
                &format!("/api/v1/accounts/{}/unblock", alice.id),
                Some(&b),
                B::Json(json!({})),
            )
            .await;
        assert_eq!(r.json["blocking"], false);
    }
);

both_backends!(update_credentials_form_and_json, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_alice, a) = api.user("alice", "read write").await;
    let r = api
        .call(
            axum::http::Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&a),
            B::Form("display_name=Alice+A.&note=Works+on+%23energy+at+https%3A%2F%2Flab.example&locked=true&fields_attributes%5B0%5D%5Bname%5D=Team&fields_attributes%5B0%5D%5Bvalue%5D=Grid&fields_attributes%5B1%5D%5Bname%5D=Site&fields_attributes%5B1%5D%5Bvalue%5D=https%3A%2F%2Flab.example"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["display_name"], "Alice A.");
    assert_eq!(r.json["locked"], true);
    assert!(
        r.json["note"]
            .as_str()
            .unwrap()
            .contains("<a href=\"https://lab.example\""),
        "{}",
        r.json["note"]
    );
    assert_eq!(
        r.json["source"]["note"],
        "Works on #energy at https://lab.example"
    );
    assert_eq!(r.json["fields"][0]["name"], "Team");
    assert_eq!(r.json["fields"][0]["value"], "Grid");
    assert!(
        r.json["fields"][1]["value"]
            .as_str()
            .unwrap()
            .contains("href=\"https://lab.example\"")
    );
    let r = api
        .call(
            axum::http::Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&a),
            B::Json(json!({
                "locked": false,
                "fields_attributes": [{"name": "Only", "value": "one"}]
            })),
        )
        .await;
    assert_eq!(r.json["locked"], false);
    assert_eq!(r.json["display_name"], "Alice A.", "untouched fields stay");
    assert_eq!(r.json["fields"].as_array().unwrap().len(), 1);
    let r = api
        .call(
            axum::http::Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&a),
            B::Json(json!({"display_name": "x".repeat(31)})),
        )
        .await;
    assert_error(&r, 422);
    let (_, ro) = api.user("reader", "read").await;
    assert_error(
        &api.call(
            axum::http::Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&ro),
            B::Json(json!({"note": "x"})),
        )
        .await,
        403,
    );
});
