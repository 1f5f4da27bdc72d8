//! Polls through the client API: creation in both parameter shapes,
//! validation, voting rules, hidden totals, and the end-of-poll
//! notifications.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

async fn poll_post(api: &Api, token: &str, body: Value) -> Value {
    api.ok("/api/v1/statuses", token, B::Json(body)).await
}

fn counts(poll: &Value) -> Vec<Value> {
    poll["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["votes_count"].clone())
        .collect()
}

/// Moves a poll's end into the past, as time would.
async fn end_now(api: &Api, poll_id: &str) {
    let id: i64 = poll_id.parse().unwrap();
    api.app
        .state
        .db
        .run(move |c| {
            use meetfield::db::schema::polls;
            diesel::update(polls::table.find(id))
                .set(polls::expires_at.eq(meetfield::db::now() - chrono::Duration::seconds(1)))
                .execute(c)
                .map_err(meetfield::error::AppError::from)
        })
        .await
        .unwrap();
}

both_backends!(polls_are_created_and_validated, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_alice, a) = api.user("alice", "read write").await;
    let (_bob, b) = api.user("bob", "read write").await;

    let s = poll_post(
        &api,
        &a,
        json!({"status": "Lunch?", "poll": {"options": ["Pizza", "Salad", "Soup"], "expires_in": 3600}}),
    )
    .await;
    let poll = &s["poll"];
    assert_eq!(poll["multiple"], false);
    assert_eq!(poll["expired"], false);
    assert_eq!(poll["votes_count"], 0);
    assert_eq!(counts(poll), vec![json!(0), json!(0), json!(0)]);
    assert_eq!(poll["options"][1]["title"], "Salad");
    assert!(poll["expires_at"].is_string());
    // The author counts as having voted, as on Mastodon (apps show results).
    assert_eq!(poll["voted"], true);
    let seen_by_bob = api
        .get(
            &format!("/api/v1/statuses/{}", s["id"].as_str().unwrap()),
            Some(&b),
        )
        .await
        .json;
    assert_eq!(seen_by_bob["poll"]["voted"], false);
    assert_eq!(seen_by_bob["poll"]["own_votes"], json!([]));

    // The form shape Mastodon.py and web apps send.
    let r = api
        .post(
            "/api/v1/statuses",
            Some(&a),
            B::Form("status=When%3F&poll[options][]=Mon&poll[options][]=Tue&poll[expires_in]=86400&poll[multiple]=true&poll[hide_totals]=true"),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    assert_eq!(r.json["poll"]["multiple"], true);
    assert_eq!(r.json["poll"]["options"][0]["title"], "Mon");

    for (poll, what) in [
        (
            json!({"options": ["only"], "expires_in": 3600}),
            "one option",
        ),
        (
            json!({"options": (0..11).map(|i| format!("slot {i}")).collect::<Vec<_>>(), "expires_in": 3600}),
            "eleven options",
        ),
        (
            json!({"options": ["a", "a"], "expires_in": 3600}),
            "duplicates",
        ),
        (
            json!({"options": ["a", ""], "expires_in": 3600}),
            "empty option",
        ),
        (
            json!({"options": ["a", "x".repeat(51)], "expires_in": 3600}),
            "long option",
        ),
        (
            json!({"options": ["a", "b"], "expires_in": 60}),
            "too short",
        ),
        (
            json!({"options": ["a", "b"], "expires_in": 99_999_999}),
            "too long",
        ),
        (json!({"options": ["a", "b"]}), "no expiry"),
    ] {
        let r = api
            .post(
                "/api/v1/statuses",
                Some(&a),
                B::Json(json!({"status": "bad", "poll": poll})),
            )
            .await;
        assert_error(&r, 422);
        assert!(
            r.json["error"]
                .as_str()
                .unwrap()
                .starts_with("Validation failed"),
            "{what}"
        );
    }
});

both_backends!(voting_rules, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_alice, a) = api.user("alice", "read write").await;
    let (_bob, b) = api.user("bob", "read write").await;
    let (_carol, c) = api.user("carol", "read write").await;
    let single = poll_post(
        &api,
        &a,
        json!({"status": "Pick one", "poll": {"options": ["A", "B", "C"], "expires_in": 3600, "hide_totals": true}}),
    )
    .await;
    let pid = single["poll"]["id"].as_str().unwrap().to_string();
    let votes = format!("/api/v1/polls/{pid}/votes");

    assert_error(
        &api.post(&votes, Some(&b), B::Json(json!({"choices": [0, 1]})))
            .await,
        422,
    );
    assert_error(
        &api.post(&votes, Some(&b), B::Json(json!({"choices": [7]})))
            .await,
        422,
    );
    assert_error(
        &api.post(&votes, Some(&b), B::Json(json!({"choices": []})))
            .await,
        422,
    );
    assert_error(
        &api.post(&votes, Some(&a), B::Json(json!({"choices": [0]})))
            .await,
        422,
    );
    let (_, read_only) = api.user("reader", "read").await;
    assert_error(
        &api.post(&votes, Some(&read_only), B::Json(json!({"choices": [0]})))
            .await,
        403,
    );
    assert_error(
        &api.post(
            "/api/v1/polls/123/votes",
            Some(&b),
            B::Json(json!({"choices": [0]})),
        )
        .await,
        404,
    );

    let r = api.post(&votes, Some(&b), B::Form("choices[]=1")).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    assert_eq!(r.json["voted"], true);
    assert_eq!(r.json["own_votes"], json!([1]));
    assert_eq!(r.json["votes_count"], 1);
    assert_eq!(r.json["voters_count"], 1);
    // hide_totals: per-option counts hidden from voters until the end…
    assert_eq!(counts(&r.json), vec![Value::Null, Value::Null, Value::Null]);
    // …but not from the author.
    let mine = api
        .get(&format!("/api/v1/polls/{pid}"), Some(&a))
        .await
        .json;
    assert_eq!(counts(&mine), vec![json!(0), json!(1), json!(0)]);
    let again = api
        .post(&votes, Some(&b), B::Json(json!({"choices": [2]})))
        .await;
    assert_error(&again, 422);
    assert!(
        again.json["error"]
            .as_str()
            .unwrap()
            .contains("already voted")
    );

    let multi = poll_post(
        &api,
        &a,
        json!({"status": "Pick any", "poll": {"options": ["A", "B", "C"], "expires_in": 3600, "multiple": true}}),
    )
    .await;
    let mid = multi["poll"]["id"].as_str().unwrap().to_string();
    let r = api
        .post(
            &format!("/api/v1/polls/{mid}/votes"),
            Some(&c),
            B::Json(json!({"choices": ["0", "2"]})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    assert_eq!(
        (
            r.json["votes_count"].clone(),
            r.json["voters_count"].clone()
        ),
        (json!(2), json!(1))
    );
    assert_eq!(counts(&r.json), vec![json!(1), json!(0), json!(1)]);

    // Ended: no more votes, totals shown to all.
    end_now(&api, &pid).await;
    let r = api
        .post(&votes, Some(&c), B::Json(json!({"choices": [0]})))
        .await;
    assert_error(&r, 422);
    let ended = api
        .get(&format!("/api/v1/polls/{pid}"), Some(&b))
        .await
        .json;
    assert_eq!(ended["expired"], true);
    assert_eq!(counts(&ended), vec![json!(0), json!(1), json!(0)]);

    // A poll on a followers-only post is as invisible as the post.
    let hidden = poll_post(
        &api,
        &a,
        json!({"status": "inner circle", "visibility": "private", "poll": {"options": ["x", "y"], "expires_in": 3600}}),
    )
    .await;
    let hid = hidden["poll"]["id"].as_str().unwrap();
    assert_error(
        &api.get(&format!("/api/v1/polls/{hid}"), Some(&c)).await,
        404,
    );
    assert_error(
        &api.post(
            &format!("/api/v1/polls/{hid}/votes"),
            Some(&c),
            B::Json(json!({"choices": [0]})),
        )
        .await,
        404,
    );
});

both_backends!(
    ended_polls_notify_voters_and_author_once,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_alice, a) = api.user("alice", "read write").await;
        let (_bob, b) = api.user("bob", "read write").await;
        let (_carol, c) = api.user("carol", "read write").await;
        let s = poll_post(
        &api,
        &a,
        json!({"status": "Offsite: Tuesday or Thursday?", "poll": {"options": ["Tue", "Thu"], "expires_in": 300}}),
    )
    .await;
        let pid = s["poll"]["id"].as_str().unwrap().to_string();
        api.ok(
            &format!("/api/v1/polls/{pid}/votes"),
            &b,
            B::Json(json!({"choices": [1]})),
        )
        .await;
        let data = api.app.data();
        assert_eq!(
            meetfield::domain::polls::close_ended_polls(&data)
                .await
                .unwrap(),
            0,
            "nothing ended yet"
        );
        end_now(&api, &pid).await;
        assert_eq!(
            meetfield::domain::polls::close_ended_polls(&data)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            meetfield::domain::polls::close_ended_polls(&data)
                .await
                .unwrap(),
            0
        );

        let poll_notes = |token: String| {
            let api = &api;
            async move {
                let r = api
                    .get("/api/v1/notifications?types[]=poll", Some(&token))
                    .await;
                assert_eq!(r.status.as_u16(), 200, "{}", r.json);
                r.json.as_array().unwrap().clone()
            }
        };
        let bobs = poll_notes(b.clone()).await;
        assert_eq!(bobs.len(), 1, "{bobs:?}");
        assert_eq!(bobs[0]["type"], "poll");
        assert_eq!(bobs[0]["status"]["id"], s["id"]);
        assert_eq!(bobs[0]["status"]["poll"]["expired"], true);
        let alices = poll_notes(a.clone()).await;
        assert_eq!(
            alices.len(),
            1,
            "the author hears of the end too: {alices:?}"
        );
        assert!(poll_notes(c.clone()).await.is_empty(), "carol did not vote");
    }
);

both_backends!(poll_option_limit_is_a_setting, |tdb: TestDb| async move {
    let api = Api::with_config(tdb, |c| meetfield::config::Config {
        poll_max_options: 6,
        ..c
    })
    .await;
    let (_alice, a) = api.user("alice", "read write").await;
    let v2 = api.get("/api/v2/instance", None).await.json;
    assert_eq!(v2["configuration"]["polls"]["max_options"], 6);
    let slots = |n: usize| (0..n).map(|i| format!("{}:00", 9 + i)).collect::<Vec<_>>();
    let s = poll_post(
        &api,
        &a,
        json!({"status": "Which slot works?", "poll": {"options": slots(6), "expires_in": 86400, "multiple": true}}),
    )
    .await;
    assert_eq!(s["poll"]["options"].as_array().unwrap().len(), 6);
    assert_eq!(s["poll"]["multiple"], true);
    let r = api
        .post(
            "/api/v1/statuses",
            Some(&a),
            B::Json(json!({"status": "x", "poll": {"options": slots(7), "expires_in": 86400}})),
        )
        .await;
    assert_error(&r, 422);
    assert_eq!(
        r.json["error"],
        "Validation failed: Poll can't contain more than 6 items"
    );
});
