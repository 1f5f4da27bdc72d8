//! Announcements: admins publish through the admin API (a Meetfield
//! extension), everyone reads, dismisses and reacts as in Mastodon.

use axum::http::Method;
use meetfield::db::models::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, Res, assert_error};

async fn call(api: &Api, m: Method, path: &str, token: &str, body: B) -> Res {
    api.call(m, path, Some(token), body).await
}

async fn list(api: &Api, token: &str, query: &str) -> Value {
    let r = api
        .get(&format!("/api/v1/announcements{query}"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

both_backends!(
    admins_announce_people_read_dismiss_react,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_boss, admin) = api
            .user_with_role("boss", Role::Admin, "read write admin:read admin:write")
            .await;
        let (_mod, moder) = api
            .user_with_role("mo", Role::Moderator, "read write admin:read admin:write")
            .await;
        let (bob, b) = api.user("bob", "read write").await;
        let (_carol, c) = api.user("carol", "read write").await;
        let post = api
            .ok(
                "/api/v1/statuses",
                &b,
                B::Json(json!({"status": "the plan"})),
            )
            .await;
        let post_url = post["url"].as_str().unwrap().to_string();

        // Only roles with the announcements permission publish.
        let body = || {
            B::Json(json!({
                "text": format!("<b>All hands</b> with @bob about #Roadmap, see {post_url}"),
            }))
        };
        for t in [&moder, &b] {
            let r = call(&api, Method::POST, "/api/v1/admin/announcements", t, body()).await;
            assert_error(&r, 403);
        }
        let created = api.ok("/api/v1/admin/announcements", &admin, body()).await;
        let id = created["id"].as_str().unwrap().to_string();
        assert_eq!(created["published"], true);
        assert!(
            created["text"]
                .as_str()
                .unwrap()
                .starts_with("<b>All hands")
        );

        let seen = list(&api, &c, "").await;
        assert_eq!(ids(&seen), vec![id.clone()]);
        let a = &seen[0];
        let content = a["content"].as_str().unwrap();
        assert!(content.starts_with("<p>&lt;b&gt;All hands"), "{content}");
        assert!(content.contains("class=\"u-url mention\""), "{content}");
        assert_eq!(a["mentions"][0]["id"], bob.id.to_string());
        assert_eq!(a["mentions"][0]["acct"], "bob");
        assert_eq!(a["tags"][0]["name"], "roadmap");
        assert_eq!(a["statuses"][0]["id"], post["id"]);
        assert_eq!(a["read"], false);
        assert_eq!(a["all_day"], false);
        assert!(a["starts_at"].is_null());
        assert_eq!(a["reactions"], json!([]));
        if let Some(comp) = crate::openapi::components() {
            let v = crate::openapi::violations(&comp, "Announcement", a);
            assert!(v.is_empty(), "{v:?}");
        }

        // Reactions: a Unicode emoji, the viewer's own marked, eight at most.
        let react = |t: &str, name: &str, m: Method| {
            let path = format!("/api/v1/announcements/{id}/reactions/{name}");
            let t = t.to_string();
            let api = &api;
            async move { call(api, m, &path, &t, B::None).await }
        };
        assert_eq!(react(&c, "👍", Method::PUT).await.status, 200);
        assert_eq!(react(&c, "👍", Method::PUT).await.status, 200, "idempotent");
        assert_eq!(react(&b, "👍", Method::PUT).await.status, 200);
        assert_error(&react(&c, "notanemoji", Method::PUT).await, 422);
        let mine = list(&api, &c, "").await;
        assert_eq!(
            mine[0]["reactions"],
            json!([{"name": "👍", "count": 2, "me": true}])
        );
        for e in ["😀", "🎉", "❤️", "🚀", "👀", "🙏", "🔥"] {
            let r = react(&c, e, Method::PUT).await;
            assert_eq!(r.status, 200, "{e}: {}", r.json);
        }
        let r = react(&c, "🌟", Method::PUT).await;
        assert_error(&r, 422);
        assert!(
            r.json["error"].as_str().unwrap().contains("Maximum"),
            "{}",
            r.json
        );
        assert_eq!(react(&c, "🔥", Method::DELETE).await.status, 200);
        assert_eq!(react(&c, "🌟", Method::PUT).await.status, 200, "room again");
        let theirs = list(&api, &b, "").await;
        let thumbs = &theirs[0]["reactions"][0];
        assert_eq!(
            (thumbs["count"].clone(), thumbs["me"].clone()),
            (json!(2), json!(true))
        );
        assert_eq!(theirs[0]["reactions"][1]["me"], false);

        // Dismissed: gone from the list, there with `with_dismissed`, marked read.
        let r = call(
            &api,
            Method::POST,
            &format!("/api/v1/announcements/{id}/dismiss"),
            &c,
            B::None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(list(&api, &c, "").await, json!([]));
        let all = list(&api, &c, "?with_dismissed=true").await;
        assert_eq!(all[0]["read"], true);
        assert_eq!(
            list(&api, &b, "").await[0]["read"],
            false,
            "others still see it"
        );

        // Drafts and unknown ids are not there for people.
        let draft = api
            .ok(
                "/api/v1/admin/announcements",
                &admin,
                B::Json(json!({"text": "not yet", "published": false})),
            )
            .await;
        let draft_id = draft["id"].as_str().unwrap();
        assert_eq!(ids(&list(&api, &b, "").await), vec![id.clone()]);
        for path in [
            format!("/api/v1/announcements/{draft_id}/dismiss"),
            "/api/v1/announcements/123/dismiss".to_string(),
            "/api/v1/announcements/nope/dismiss".to_string(),
        ] {
            assert_error(&call(&api, Method::POST, &path, &b, B::None).await, 404);
        }
        // Published by an update; the admin list has both, newest first.
        let r = call(
        &api,
        Method::PUT,
        &format!("/api/v1/admin/announcements/{draft_id}"),
        &admin,
        B::Json(json!({"published": true, "starts_at": "2030-01-02", "ends_at": "2030-01-03", "all_day": true})),
    )
    .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["all_day"], true);
        assert_eq!(r.json["starts_at"], "2030-01-02T00:00:00.000Z");
        let admin_list = api.get("/api/v1/admin/announcements", Some(&admin)).await;
        assert_eq!(
            ids(&admin_list.json),
            vec![draft_id.to_string(), id.clone()]
        );
        assert_eq!(
            ids(&list(&api, &b, "").await),
            vec![id.clone(), draft_id.to_string()],
            "by publication, then by event start"
        );

        // Bad input: clear 422s.
        for bad in [
            json!({"text": ""}),
            json!({"text": "x", "starts_at": "tomorrow", "ends_at": "2030-01-01"}),
            json!({"text": "x", "starts_at": "2030-01-02", "ends_at": "2030-01-01"}),
            json!({"text": "x", "starts_at": "2030-01-02"}),
        ] {
            let r = call(
                &api,
                Method::POST,
                "/api/v1/admin/announcements",
                &admin,
                B::Json(bad.clone()),
            )
            .await;
            assert_error(&r, 422);
            assert!(
                r.json["error"]
                    .as_str()
                    .unwrap()
                    .starts_with("Validation failed"),
                "{bad}: {}",
                r.json
            );
        }

        // Deleted: gone for everyone; its log entry is there.
        let r = call(
            &api,
            Method::DELETE,
            &format!("/api/v1/admin/announcements/{id}"),
            &admin,
            B::None,
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(ids(&list(&api, &b, "").await), vec![draft_id.to_string()]);
        assert_error(
            &call(
                &api,
                Method::GET,
                &format!("/api/v1/admin/announcements/{id}"),
                &admin,
                B::None,
            )
            .await,
            404,
        );
        assert_error(&react(&b, "👍", Method::PUT).await, 404);
        let log = api.get("/api/v1/admin/announcements", Some(&b)).await;
        assert_error(&log, 403);
    }
);

both_backends!(an_announcement_ends_by_itself, |tdb: TestDb| async move {
    use meetfield::domain::announcements::{self as ann, Draft, Site};
    let api = Api::new(tdb).await;
    let (_bob, b) = api.user("bob", "read write").await;
    let t = meetfield::db::now();
    let site = Site {
        base: api.app.state.base_url(),
        domain: api.app.state.config.domain.clone(),
    };
    let a = api
        .app
        .state
        .db
        .transaction(move |c| {
            ann::create(
                c,
                &site,
                None,
                Draft {
                    text: Some("fire drill".into()),
                    starts_at: Some(Some(t - chrono::Duration::hours(1))),
                    ends_at: Some(Some(t + chrono::Duration::milliseconds(1500))),
                    ..Default::default()
                },
            )
        })
        .await
        .unwrap();
    let flush = || async {
        api.app
            .state
            .db
            .transaction(|c| ann::flush(c).map_err(meetfield::error::AppError::from))
            .await
            .unwrap()
    };
    assert_eq!(flush().await, 1, "shown");
    assert_eq!(flush().await, 0, "nothing new");
    assert_eq!(ids(&list(&api, &b, "").await), vec![a.id.to_string()]);
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    assert_eq!(list(&api, &b, "").await, json!([]), "over: taken down");
    assert_eq!(flush().await, 1, "the streams are told it is gone");
    assert_eq!(flush().await, 0, "once");
    let r = call(
        &api,
        Method::POST,
        &format!("/api/v1/announcements/{}/dismiss", a.id),
        &b,
        B::None,
    )
    .await;
    assert_error(&r, 404);
});
