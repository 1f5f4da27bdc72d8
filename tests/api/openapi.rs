//! Our entities checked against the Mastodon OpenAPI description in
//! ../shared/mastodon-openapi (skipped, with a message, when it is absent).

use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B};

pub fn components() -> Option<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/mastodon-openapi/schema.json"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("SKIPPED: ../shared/mastodon-openapi/schema.json not found");
        return None;
    };
    let doc: Value = serde_json::from_str(&text).unwrap();
    Some(doc["components"].clone())
}

/// Errors of `instance` against components.schemas.`name`.
pub fn violations(components: &Value, name: &str, instance: &Value) -> Vec<String> {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": components,
    });
    let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name}: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{name} at {}: {e}", e.instance_path()))
        .collect()
}

both_backends!(
    entities_match_the_mastodon_openapi_description,
    |tdb: TestDb| async move {
        let Some(comp) = components() else { return };
        // The check can fail: a wrong shape is reported.
        assert!(!violations(&comp, "Account", &json!({ "id": 1, "username": null })).is_empty());
        let api = Api::new(tdb).await;
        let (alice, a) = api.user("alice", "read write follow").await;
        let (bob, b) = api.user("bob", "read write follow").await;
        api.call(Method::PATCH, "/api/v1/accounts/update_credentials", Some(&a), B::Json(json!({
        "note": "hi #there", "fields_attributes": [{"name": "Team", "value": "https://x.example"}]
    }))).await;
        api.post(
            &format!("/api/v1/accounts/{}/follow", alice.id),
            Some(&b),
            B::None,
        )
        .await;
        let post = api
            .post(
                "/api/v1/statuses",
                Some(&a),
                B::Form("status=hello+%40bob+%23tag&spoiler_text=cw&language=en"),
            )
            .await
            .json;
        let id = post["id"].as_str().unwrap().to_string();
        api.post(
            "/api/v1/statuses",
            Some(&b),
            B::FormOwned(format!("status=%40alice+reply&in_reply_to_id={id}")),
        )
        .await;
        let boost = api
            .post(&format!("/api/v1/statuses/{id}/reblog"), Some(&b), B::None)
            .await
            .json;
        api.post(
            &format!("/api/v1/statuses/{id}/favourite"),
            Some(&b),
            B::None,
        )
        .await;

        let mut errors = Vec::new();
        let mut check = |name: &str, v: &Value| errors.extend(violations(&comp, name, v));
        check(
            "CredentialAccount",
            &api.get("/api/v1/accounts/verify_credentials", Some(&a))
                .await
                .json,
        );
        check(
            "Account",
            &api.get(&format!("/api/v1/accounts/{}", alice.id), None)
                .await
                .json,
        );
        check("Status", &post);
        check("Status", &boost);
        check(
            "Status",
            &api.get(&format!("/api/v1/statuses/{id}"), None).await.json,
        );
        check(
            "Context",
            &api.get(&format!("/api/v1/statuses/{id}/context"), Some(&a))
                .await
                .json,
        );
        for n in api
            .get("/api/v1/notifications", Some(&a))
            .await
            .json
            .as_array()
            .unwrap()
        {
            check("Notification", n);
        }
        for r in api
            .get(
                &format!("/api/v1/accounts/relationships?id[]={}", alice.id),
                Some(&b),
            )
            .await
            .json
            .as_array()
            .unwrap()
        {
            check("Relationship", r);
        }
        check("Instance", &api.get("/api/v2/instance", None).await.json);
        check(
            "Search",
            &api.get("/api/v2/search?q=ali", Some(&a)).await.json,
        );
        check(
            "Preferences",
            &api.get("/api/v1/preferences", Some(&a)).await.json,
        );
        check("Error", &api.get("/api/v1/statuses/0", None).await.json);
        let app = api
            .post(
                "/api/v1/apps",
                None,
                B::Form("client_name=x&redirect_uris=urn:ietf:wg:oauth:2.0:oob"),
            )
            .await
            .json;
        check("CredentialApplication", &app);
        let list = api
            .post("/api/v1/lists", Some(&b), B::Form("title=Team"))
            .await
            .json;
        check("List", &list);
        let markers = api
            .post(
                "/api/v1/markers",
                Some(&a),
                B::Form("home[last_read_id]=1&notifications[last_read_id]=2"),
            )
            .await
            .json;
        check("Marker", &markers["home"]);
        check("Marker", &markers["notifications"]);
        for f in api
            .get(
                &format!("/api/v1/accounts/familiar_followers?id[]={}", alice.id),
                Some(&b),
            )
            .await
            .json
            .as_array()
            .unwrap()
        {
            check("FamiliarFollowers", f);
        }
        for m in api
            .get("/api/v1/accounts/search?q=bo", Some(&a))
            .await
            .json
            .as_array()
            .unwrap()
        {
            check("Account", m);
        }
        let token = api
            .post(
                "/oauth/token",
                None,
                B::Json(json!({
                    "grant_type": "client_credentials",
                    "client_id": app["client_id"],
                    "client_secret": app["client_secret"],
                })),
            )
            .await
            .json;
        check("Token", &token);
        check("V1Instance", &api.get("/api/v1/instance", None).await.json);
        let featured = api
            .post("/api/v1/featured_tags", Some(&a), B::Form("name=tag"))
            .await
            .json;
        check("FeaturedTag", &featured);
        check(
            "Tag",
            &api.post("/api/v1/tags/tag/feature", Some(&a), B::None)
                .await
                .json,
        );
        check("Tag", &api.get("/api/v1/tags/tag", None).await.json);
        check(
            "Application",
            &api.get(
                "/api/v1/apps/verify_credentials",
                token["access_token"].as_str(),
            )
            .await
            .json,
        );
        api.call(
            Method::PUT,
            &format!("/api/v1/statuses/{id}"),
            Some(&a),
            B::Json(json!({ "status": "hello again @bob #tag" })),
        )
        .await;
        for e in api
            .get(&format!("/api/v1/statuses/{id}/history"), Some(&a))
            .await
            .json
            .as_array()
            .unwrap()
        {
            check("StatusEdit", e);
        }
        check(
            "StatusSource",
            &api.get(&format!("/api/v1/statuses/{id}/source"), Some(&a))
                .await
                .json,
        );
        let with_poll = api
            .post(
                "/api/v1/statuses",
                Some(&a),
                B::Json(serde_json::json!({"status": "poll", "poll": {"options": ["x", "y"], "expires_in": 600, "hide_totals": true}})),
            )
            .await
            .json;
        check("Status", &with_poll);
        let pid = with_poll["poll"]["id"].as_str().unwrap().to_string();
        check("Poll", &with_poll["poll"]);
        check(
            "Poll",
            &api.post(
                &format!("/api/v1/polls/{pid}/votes"),
                Some(&b),
                B::Json(serde_json::json!({"choices": [0]})),
            )
            .await
            .json,
        );
        check(
            "Poll",
            &api.get(&format!("/api/v1/polls/{pid}"), None).await.json,
        );
        let filter = api
            .post(
                "/api/v2/filters",
                Some(&b),
                B::Json(serde_json::json!({"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "poll"}]})),
            )
            .await
            .json;
        check("Filter", &filter);
        api.ok(
            "/api/v1/statuses",
            &a,
            B::Json(serde_json::json!({"status": "@bob just us", "visibility": "direct"})),
        )
        .await;
        let convs = api.get("/api/v1/conversations", Some(&b)).await.json;
        assert_eq!(convs.as_array().map(Vec::len), Some(1), "{convs}");
        check("Conversation", &convs[0]);
        // bob moderates: he is notified of reports (admin.report).
        let bid = bob.id;
        api.app
            .state
            .db
            .run(move |c| {
                use diesel::prelude::*;
                use meetfield::db::schema::users;
                diesel::update(users::table.filter(users::account_id.eq(bid)))
                    .set(users::role.eq("admin"))
                    .execute(c)
                    .map_err(meetfield::error::AppError::from)
            })
            .await
            .unwrap();
        check(
            "Report",
            &api.ok(
                "/api/v1/reports",
                &a,
                B::Json(serde_json::json!({"account_id": bob.id.to_string(), "comment": "spam"})),
            )
            .await,
        );
        check(
            "Status",
            &api.get(
                &format!("/api/v1/statuses/{}", with_poll["id"].as_str().unwrap()),
                Some(&b),
            )
            .await
            .json,
        );
        let notes = api.get("/api/v1/notifications", Some(&b)).await.json;
        let report_note = notes
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["type"] == "admin.report")
            .expect("admin.report notification")
            .clone();
        check("Notification", &report_note);
        for m in api
            .get("/api/v1/mutes", Some(&a))
            .await
            .json
            .as_array()
            .unwrap()
        {
            check("Account", m);
        }
        assert!(
            errors.is_empty(),
            "{} violations:\n{}",
            errors.len(),
            errors.join("\n")
        );
    }
);

both_backends!(
    admin_entities_match_the_mastodon_openapi_description,
    |tdb: TestDb| async move {
        let Some(comp) = components() else { return };
        assert!(
            !violations(&comp, "AdminAccount", &json!({ "id": "1", "username": 2 })).is_empty()
        );
        let api = Api::new(tdb).await;
        let (_, root) = api
            .user_with_role(
                "root",
                meetfield::db::models::user::Role::Admin,
                "read write admin:read admin:write",
            )
            .await;
        let (carol, c) = api.user("carol", "read write").await;
        let (bob, b) = api.user("bob", "read write").await;
        let post = api
            .ok(
                "/api/v1/statuses",
                &c,
                B::Json(json!({"status": "reported"})),
            )
            .await;
        let report = api
            .ok(
                "/api/v1/reports",
                &b,
                B::Json(json!({
                    "account_id": carol.id.to_string(),
                    "status_ids": [post["id"]],
                    "comment": "please look",
                    "category": "other"
                })),
            )
            .await;
        let rid = report["id"].as_str().unwrap();
        api.ok(
            &format!("/api/v1/admin/reports/{rid}/assign_to_self"),
            &root,
            B::None,
        )
        .await;
        api.ok(
            &format!("/api/v1/admin/accounts/{}/action", bob.id),
            &root,
            B::Json(json!({"type": "silence"})),
        )
        .await;
        api.ok(
            "/api/v1/admin/domain_blocks",
            &root,
            B::Json(json!({"domain": "bad.example", "reject_media": true})),
        )
        .await;
        api.ok(
            "/api/v1/admin/domain_allows",
            &root,
            B::Json(json!({"domain": "friend.example"})),
        )
        .await;

        let mut errors = Vec::new();
        let mut check = |name: &str, v: &Value| errors.extend(violations(&comp, name, v));
        let list = |path: &'static str| {
            let (api, root) = (&api, root.clone());
            async move {
                let r = api.get(path, Some(&root)).await;
                assert_eq!(r.status, 200, "{path}: {}", r.json);
                r.json.as_array().unwrap().clone()
            }
        };
        let accounts = list("/api/v2/admin/accounts").await;
        assert!(accounts.len() >= 3);
        for a in &accounts {
            check("AdminAccount", a);
            if !a["role"].is_null() {
                check("Role", &a["role"]);
            }
        }
        for a in list("/api/v1/admin/accounts").await {
            check("AdminAccount", &a);
        }
        check(
            "AdminAccount",
            &api.get(&format!("/api/v1/admin/accounts/{}", carol.id), Some(&root))
                .await
                .json,
        );
        let reports = list("/api/v1/admin/reports").await;
        assert_eq!(reports.len(), 1);
        check("AdminReport", &reports[0]);
        check(
            "AdminReport",
            &api.get(&format!("/api/v1/admin/reports/{rid}"), Some(&root))
                .await
                .json,
        );
        let blocks = list("/api/v1/admin/domain_blocks").await;
        assert_eq!(blocks.len(), 1);
        check("AdminDomainBlock", &blocks[0]);
        let allows = list("/api/v1/admin/domain_allows").await;
        assert!(!allows.is_empty());
        for a in &allows {
            check("AdminDomainAllow", a);
        }
        assert!(
            errors.is_empty(),
            "{} violations:\n{}",
            errors.len(),
            errors.join("\n")
        );
    }
);
