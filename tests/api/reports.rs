use serde_json::json;

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

both_backends!(reports_are_filed_and_checked, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_, a) = api.user("alice", "read write follow").await;
    let (bob, b) = api.user("bob", "read write follow").await;
    let (carol, c) = api.user("carol", "read write follow").await;
    let (dave, ro) = api.user("dave", "read").await;
    // dave moderates this instance.
    let did = dave.id;
    api.app
        .state
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use meetfield::db::schema::users;
            diesel::update(users::table.filter(users::account_id.eq(did)))
                .set(users::role.eq("moderator"))
                .execute(c)
                .map_err(meetfield::error::AppError::from)
        })
        .await
        .unwrap();
    let post = |tok: String, text: &'static str| {
        let api = &api;
        async move {
            api.ok("/api/v1/statuses", &tok, B::Json(json!({"status": text})))
                .await["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let s1 = post(b.clone(), "buy cheap watches").await;
    let s2 = post(b.clone(), "more watches").await;
    let carols = post(c.clone(), "unrelated").await;

    // Form parameters as Mastodon.py and the apps send them.
    let r = api
        .post(
            "/api/v1/reports",
            Some(&a),
            B::FormOwned(format!(
                "account_id={}&status_ids[]={s1}&status_ids[]={s2}&comment=spam+again&category=spam&forward=true",
                bob.id
            )),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["target_account"]["id"], bob.id.to_string());
    assert_eq!(r.json["category"], "spam");
    assert_eq!(r.json["comment"], "spam again");
    assert_eq!(r.json["action_taken"], false);
    // bob is local: there is no other server to forward to.
    assert_eq!(r.json["forwarded"], false);
    let mut ids: Vec<String> = r.json["status_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let mut want = vec![s1.clone(), s2.clone()];
    want.sort();
    assert_eq!(ids, want);

    // JSON, no category: `other`, or `violation` when rules are cited.
    let r = api
        .ok(
            "/api/v1/reports",
            &a,
            B::Json(json!({"account_id": carol.id.to_string()})),
        )
        .await;
    assert_eq!(r["category"], "other");
    assert_eq!(r["status_ids"], json!([]));
    let r = api
        .ok(
            "/api/v1/reports",
            &a,
            B::Json(json!({"account_id": carol.id.to_string(), "rule_ids": ["1"]})),
        )
        .await;
    assert_eq!(r["category"], "violation");

    let bad = |body: serde_json::Value| {
        let api = &api;
        let a = a.clone();
        async move { api.post("/api/v1/reports", Some(&a), B::Json(body)).await }
    };
    assert_error(&bad(json!({"account_id": "424242"})).await, 404);
    assert_error(&bad(json!({})).await, 422);
    // Only the reported account's posts can be attached.
    assert_error(
        &bad(json!({"account_id": bob.id.to_string(), "status_ids": [carols]})).await,
        404,
    );
    assert_error(
        &bad(json!({"account_id": bob.id.to_string(), "comment": "x".repeat(1001)})).await,
        422,
    );
    assert_error(
        &bad(json!({"account_id": bob.id.to_string(), "category": "boring"})).await,
        422,
    );
    let me = api
        .get("/api/v1/accounts/verify_credentials", Some(&a))
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_error(&bad(json!({"account_id": me})).await, 422);
    let body = B::Json(json!({"account_id": bob.id.to_string()}));
    assert_error(&api.post("/api/v1/reports", Some(&ro), body).await, 403);
    let body = B::Json(json!({"account_id": bob.id.to_string()}));
    assert_error(&api.post("/api/v1/reports", None, body).await, 401);

    // Moderators are notified of each (admin.report, with the report);
    // others are not.
    let notes = api.get("/api/v1/notifications", Some(&ro)).await.json;
    let reports_seen: Vec<&serde_json::Value> = notes
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "admin.report")
        .collect();
    assert_eq!(reports_seen.len(), 3, "{notes}");
    assert_eq!(reports_seen[2]["report"]["comment"], "spam again");
    assert_eq!(
        reports_seen[2]["report"]["target_account"]["id"],
        bob.id.to_string()
    );
    let carols_notes = api.get("/api/v1/notifications", Some(&c)).await.json;
    assert!(
        carols_notes
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["type"] != "admin.report"),
        "{carols_notes}"
    );

    // Moderators see them (the admin command lists these rows).
    let open = api
        .app
        .state
        .db
        .run(|c| {
            meetfield::domain::reports::list(c, false).map_err(meetfield::error::AppError::from)
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 3);
    assert!(open.iter().all(|r| r.target_account_id != r.account_id));
});
