//! `/api/v1/groups…` on one instance: lifecycle, membership, moderation
//! and posting through the Mastodon endpoints.

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

async fn create(api: &Api, token: &str, body: Value) -> Value {
    api.ok("/api/v1/groups", token, B::Json(body)).await
}

both_backends!(lifecycle_and_membership, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (alice, a) = api.user("alice", "read write follow").await;
    let (bob, b) = api.user("bob", "read write follow").await;
    let (carol, c) = api.user("carol", "read write follow").await;

    let g = create(
        &api,
        &a,
        json!({ "name": "launch", "display_name": "Launch team", "note": "Ship it" }),
    )
    .await;
    assert_eq!(g["group"], true);
    assert_eq!(g["acct"], "launch");
    assert_eq!(g["display_name"], "Launch team");
    assert_eq!(g["meetfield_group"]["role"], "owner");
    assert_eq!(g["meetfield_group"]["member_count"], 1);
    assert_eq!(g["meetfield_group"]["closed"], false);
    let gid = g["id"].as_str().unwrap().to_string();

    // Names share the namespace of users; bad names are refused.
    assert_error(
        &api.post(
            "/api/v1/groups",
            Some(&b),
            B::Json(json!({ "name": "alice" })),
        )
        .await,
        422,
    );
    assert_error(
        &api.post(
            "/api/v1/groups",
            Some(&b),
            B::Json(json!({ "name": "no spaces" })),
        )
        .await,
        422,
    );
    let (_, read_only) = api.user("reader", "read").await;
    assert_error(
        &api.post(
            "/api/v1/groups",
            Some(&read_only),
            B::Json(json!({ "name": "x" })),
        )
        .await,
        403,
    );

    // Joining is following (open group: at once).
    let rel = api
        .ok(&format!("/api/v1/accounts/{gid}/follow"), &b, B::None)
        .await;
    assert_eq!(rel["following"], true);
    let mine = api.get("/api/v1/groups", Some(&b)).await.json;
    assert_eq!(ids(&mine), vec![gid.clone()]);
    assert_eq!(mine[0]["meetfield_group"]["role"], "member");
    let dir = api.get("/api/v1/groups?local=true", Some(&c)).await.json;
    assert_eq!(ids(&dir), vec![gid.clone()]);
    let members = api
        .get(&format!("/api/v1/groups/{gid}/members"), Some(&c))
        .await
        .json;
    let mut m = ids(&members);
    m.sort();
    let mut want = vec![alice.id.to_string(), bob.id.to_string()];
    want.sort();
    assert_eq!(m, want);

    // A member's post mentioning the group reaches every member's home as
    // the group's boost, and shows in the group timeline; members who asked
    // to be notified are.
    api.ok(
        &format!("/api/v1/accounts/{gid}/follow"),
        &c,
        B::Form("notify=true"),
    )
    .await;
    let post = api
        .ok(
            "/api/v1/statuses",
            &b,
            B::Json(json!({ "status": "@launch venue booked" })),
        )
        .await;
    let pid = post["id"].as_str().unwrap().to_string();
    let home = api.get("/api/v1/timelines/home", Some(&c)).await.json;
    let boost = home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["reblog"]["id"] == pid.as_str())
        .unwrap_or_else(|| panic!("no group boost in carol's home: {home}"));
    assert_eq!(boost["account"]["id"], gid.as_str());
    assert_eq!(boost["account"]["group"], true);
    let tl = api
        .get(&format!("/api/v1/timelines/group/{gid}"), Some(&c))
        .await
        .json;
    assert_eq!(ids(&tl), vec![pid.clone()]);
    let n = api
        .get("/api/v1/notifications?types[]=status", Some(&c))
        .await
        .json;
    assert_eq!(n[0]["status"]["id"], pid.as_str(), "{n}");
    assert_eq!(n[0]["account"]["id"], gid.as_str());

    // Moderators pin announcements on the group's profile.
    assert_error(
        &api.post(
            &format!("/api/v1/groups/{gid}/statuses/{pid}/pin"),
            Some(&c),
            B::None,
        )
        .await,
        403,
    );
    api.ok(
        &format!("/api/v1/groups/{gid}/statuses/{pid}/pin"),
        &a,
        B::None,
    )
    .await;
    let pinned = api
        .get(
            &format!("/api/v1/accounts/{gid}/statuses?pinned=true"),
            Some(&c),
        )
        .await
        .json;
    assert_eq!(ids(&pinned), vec![pid.clone()]);
    api.ok(
        &format!("/api/v1/groups/{gid}/statuses/{pid}/unpin"),
        &a,
        B::None,
    )
    .await;
    let pinned = api
        .get(
            &format!("/api/v1/accounts/{gid}/statuses?pinned=true"),
            Some(&c),
        )
        .await
        .json;
    assert_eq!(pinned, json!([]));

    // A reply in the thread belongs to the group too.
    let reply = api
        .ok(
            "/api/v1/statuses",
            &c,
            B::Json(json!({ "status": "great", "in_reply_to_id": pid })),
        )
        .await;
    let tl = api
        .get(&format!("/api/v1/timelines/group/{gid}"), Some(&a))
        .await
        .json;
    assert_eq!(
        ids(&tl),
        vec![reply["id"].as_str().unwrap().to_string(), pid.clone()]
    );

    // Only moderators moderate.
    assert_error(
        &api.call(
            Method::DELETE,
            &format!("/api/v1/groups/{gid}/statuses/{pid}"),
            Some(&c),
            B::None,
        )
        .await,
        403,
    );
    assert_error(
        &api.call(
            Method::PATCH,
            &format!("/api/v1/groups/{gid}"),
            Some(&c),
            B::Json(json!({ "display_name": "mine" })),
        )
        .await,
        403,
    );
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/groups/{gid}/statuses/{pid}"),
            Some(&a),
            B::None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    let home = api.get("/api/v1/timelines/home", Some(&c)).await.json;
    assert!(
        home.as_array()
            .unwrap()
            .iter()
            .all(|s| s["reblog"]["id"] != pid.as_str())
    );
    let tl = api
        .get(&format!("/api/v1/timelines/group/{gid}"), Some(&c))
        .await
        .json;
    assert!(!ids(&tl).contains(&pid));
    assert_error(
        &api.call(
            Method::DELETE,
            &format!("/api/v1/groups/{gid}/statuses/{pid}"),
            Some(&a),
            B::None,
        )
        .await,
        404,
    );

    // Moderators: members only; the new moderator may moderate.
    let (dan, _) = api.user("dan", "read").await;
    assert_error(
        &api.post(
            &format!("/api/v1/groups/{gid}/moderators/{}", dan.id),
            Some(&a),
            B::None,
        )
        .await,
        422,
    );
    let g = api
        .ok(
            &format!("/api/v1/groups/{gid}/moderators/{}", bob.id),
            &a,
            B::None,
        )
        .await;
    assert_eq!(g["id"], gid.as_str());
    let g = api
        .call(
            Method::PATCH,
            &format!("/api/v1/groups/{gid}"),
            Some(&b),
            B::Json(json!({ "display_name": "Launch!", "announcement_only": true })),
        )
        .await;
    assert_eq!(g.json["display_name"], "Launch!");
    assert_eq!(g.json["meetfield_group"]["announcement_only"], true);
    assert_eq!(g.json["meetfield_group"]["role"], "moderator");

    // Announcement-only: members' posts are refused, moderators' go out.
    let r = api
        .post(
            "/api/v1/statuses",
            Some(&c),
            B::Json(json!({ "status": "@launch me too" })),
        )
        .await;
    assert_error(&r, 422);
    api.ok(
        "/api/v1/statuses",
        &b,
        B::Json(json!({ "status": "@launch news" })),
    )
    .await;
    let home = api.get("/api/v1/timelines/home", Some(&c)).await.json;
    assert!(
        home.as_array()
            .unwrap()
            .iter()
            .any(|s| s["account"]["id"] == gid.as_str())
    );

    // Removing a member ends the membership.
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/groups/{gid}/members/{}", carol.id),
            Some(&b),
            B::None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    assert_eq!(api.get("/api/v1/groups", Some(&c)).await.json, json!([]));
    assert_error(
        &api.call(
            Method::DELETE,
            &format!("/api/v1/groups/{gid}/members/{}", alice.id),
            Some(&b),
            B::None,
        )
        .await,
        422,
    );

    // Ownership is handed over by the owner only; the owner deletes.
    assert_error(
        &api.call(
            Method::PATCH,
            &format!("/api/v1/groups/{gid}"),
            Some(&b),
            B::Json(json!({ "owner_id": bob.id.to_string() })),
        )
        .await,
        403,
    );
    let g = api
        .call(
            Method::PATCH,
            &format!("/api/v1/groups/{gid}"),
            Some(&a),
            B::Json(json!({ "owner_id": bob.id.to_string() })),
        )
        .await;
    assert_eq!(g.json["meetfield_group"]["owner_id"], bob.id.to_string());
    assert_error(
        &api.call(
            Method::DELETE,
            &format!("/api/v1/groups/{gid}"),
            Some(&a),
            B::None,
        )
        .await,
        403,
    );
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/groups/{gid}"),
            Some(&b),
            B::None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    assert_error(
        &api.get(&format!("/api/v1/groups/{gid}"), Some(&b)).await,
        404,
    );
    // Bad ids and accounts that are not groups.
    assert_error(&api.get("/api/v1/groups/xyz", Some(&b)).await, 404);
    assert_error(
        &api.get(&format!("/api/v1/groups/{}", alice.id), Some(&b))
            .await,
        404,
    );
});

both_backends!(closed_group_requests, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_alice, a) = api.user("alice", "read write follow").await;
    let (bob, b) = api.user("bob", "read write follow").await;
    let (carol, c) = api.user("carol", "read write follow").await;
    let g = create(&api, &a, json!({ "name": "board", "closed": true })).await;
    assert_eq!(g["locked"], true);
    let gid = g["id"].as_str().unwrap().to_string();

    let rel = api
        .ok(&format!("/api/v1/accounts/{gid}/follow"), &b, B::None)
        .await;
    assert_eq!(rel["requested"], true);
    api.ok(&format!("/api/v1/accounts/{gid}/follow"), &c, B::None)
        .await;
    assert_error(
        &api.get(&format!("/api/v1/groups/{gid}/requests"), Some(&b))
            .await,
        403,
    );
    assert_error(
        &api.get(&format!("/api/v1/groups/{gid}/members"), Some(&b))
            .await,
        404,
    );
    let reqs = api
        .get(&format!("/api/v1/groups/{gid}/requests"), Some(&a))
        .await
        .json;
    assert_eq!(ids(&reqs).len(), 2);

    // Moderators see join requests where stock apps look: notifications
    // and follow requests.
    let n = api
        .get("/api/v1/notifications?types[]=follow_request", Some(&a))
        .await
        .json;
    assert_eq!(n.as_array().unwrap().len(), 2, "{n}");
    let fr = api.get("/api/v1/follow_requests", Some(&a)).await.json;
    let mut got = ids(&fr);
    got.sort();
    let mut want = vec![bob.id.to_string(), carol.id.to_string()];
    want.sort();
    assert_eq!(got, want);

    let g = api
        .ok(
            &format!("/api/v1/groups/{gid}/requests/{}/authorize", bob.id),
            &a,
            B::None,
        )
        .await;
    assert_eq!(g["meetfield_group"]["member_count"], 2);
    // The new member is welcomed with a direct post from the group.
    let n = api
        .get("/api/v1/notifications?types[]=mention", Some(&b))
        .await
        .json;
    assert_eq!(n[0]["account"]["id"], gid.as_str(), "{n}");
    assert!(
        n[0]["status"]["content"]
            .as_str()
            .unwrap()
            .contains("approved")
    );
    assert_eq!(n[0]["status"]["visibility"], "direct");
    // Refusing from the stock follow-request endpoint works for groups too.
    let r = api
        .ok(
            &format!("/api/v1/follow_requests/{}/reject", carol.id),
            &a,
            B::None,
        )
        .await;
    assert_eq!(r["id"], carol.id.to_string());
    let n = api
        .get("/api/v1/notifications?types[]=follow_request", Some(&a))
        .await
        .json;
    assert_eq!(n, json!([]), "answered requests leave the notifications");
    assert_eq!(
        api.get(&format!("/api/v1/groups/{gid}/requests"), Some(&a))
            .await
            .json,
        json!([])
    );
    let mine = api
        .get(&format!("/api/v1/groups/{gid}"), Some(&b))
        .await
        .json;
    assert_eq!(mine["meetfield_group"]["role"], "member");
    let theirs = api
        .get(&format!("/api/v1/groups/{gid}"), Some(&c))
        .await
        .json;
    assert_eq!(theirs["meetfield_group"]["role"], Value::Null);
    assert_error(
        &api.get(&format!("/api/v1/timelines/group/{gid}"), Some(&c))
            .await,
        404,
    );
    assert_error(
        &api.post(
            &format!("/api/v1/groups/{gid}/requests/{}/authorize", carol.id),
            Some(&a),
            B::None,
        )
        .await,
        404,
    );
});

both_backends!(
    invitations_let_people_into_closed_groups,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_alice, a) = api.user("alice", "read write follow").await;
        let (bob, b) = api.user("bob", "read write follow").await;
        let (carol, c) = api.user("carol", "read write follow").await;
        let (dan, d) = api.user("dan", "read write follow").await;
        let (eve, e) = api.user("eve", "read write follow").await;

        // A team formed in one call, from a "who knows X?" answer.
        let form = format!(
            "name=incident42&display_name=Incident+42&closed=true&invite_account_ids[]={}&invite_account_ids[]={}",
            bob.id, carol.id
        );
        let g = api.ok("/api/v1/groups", &a, B::FormOwned(form)).await;
        assert_eq!(g["meetfield_group"]["closed"], true);
        let gid = g["id"].as_str().unwrap().to_string();
        let invites = format!("/api/v1/groups/{gid}/invites");
        let listed = api.get(&invites, Some(&a)).await;
        assert_eq!(
            ids(&listed.json),
            vec![bob.id.to_string(), carol.id.to_string()]
        );
        assert_error(&api.get(&invites, Some(&b)).await, 403);

        // bob's direct post from the group says how to join.
        let notes = api
            .get("/api/v1/notifications?types[]=mention", Some(&b))
            .await
            .json;
        let text = notes[0]["status"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(text.contains("invited you to join Incident 42"), "{notes}");
        assert!(text.contains("without waiting for approval"), "{text}");
        assert_eq!(notes[0]["status"]["visibility"], "direct");
        assert_eq!(notes[0]["account"]["id"], gid);

        // The invitee follows: a member at once. A non-invitee waits.
        let rel = api
            .ok(&format!("/api/v1/accounts/{gid}/follow"), &b, B::None)
            .await;
        assert_eq!(
            (rel["following"].clone(), rel["requested"].clone()),
            (json!(true), json!(false))
        );
        let rel = api
            .ok(&format!("/api/v1/accounts/{gid}/follow"), &d, B::None)
            .await;
        assert_eq!(
            (rel["following"].clone(), rel["requested"].clone()),
            (json!(false), json!(true))
        );
        assert_eq!(
            ids(&api.get(&invites, Some(&a)).await.json),
            vec![carol.id.to_string()]
        );

        // Inviting someone who asked already lets them in; members are skipped.
        let r = api
            .ok(
                &invites,
                &a,
                B::Json(json!({"account_ids": [dan.id.to_string(), bob.id.to_string()]})),
            )
            .await;
        assert_eq!(ids(&r), vec![dan.id.to_string()]);
        let rel = api
            .get(
                &format!("/api/v1/accounts/relationships?id[]={gid}"),
                Some(&d),
            )
            .await
            .json;
        assert_eq!(rel[0]["following"], true, "{rel}");

        // Withdrawn: carol is back to asking.
        let r = api
            .call(
                Method::DELETE,
                &format!("{invites}/{}", carol.id),
                Some(&a),
                B::None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_error(
            &api.call(
                Method::DELETE,
                &format!("{invites}/{}", carol.id),
                Some(&a),
                B::None,
            )
            .await,
            404,
        );
        let rel = api
            .ok(&format!("/api/v1/accounts/{gid}/follow"), &c, B::None)
            .await;
        assert_eq!(rel["requested"], true);

        // Bad input: clear 4xx.
        api.ok(&format!("/api/v1/accounts/{}/block", eve.id), &a, B::None)
            .await;
        let r = api
            .post(
                &invites,
                Some(&a),
                B::Json(json!({"account_ids": [eve.id.to_string()]})),
            )
            .await;
        assert_error(&r, 422);
        assert!(
            r.json["error"].as_str().unwrap().contains("blocked"),
            "{}",
            r.json
        );
        assert_error(
            &api.post(&invites, Some(&a), B::Json(json!({"account_ids": ["999"]})))
                .await,
            404,
        );
        assert_error(
            &api.post(&invites, Some(&a), B::Json(json!({"account_ids": []})))
                .await,
            422,
        );
        assert_error(
            &api.post(
                &invites,
                Some(&a),
                B::Json(json!({"account_ids": [gid.clone()]})),
            )
            .await,
            422,
        );
        assert_error(
            &api.post(
                &invites,
                Some(&b),
                B::Json(json!({"account_ids": [eve.id.to_string()]})),
            )
            .await,
            403,
        );
        assert_error(
            &api.post(
                "/api/v1/groups/123/invites",
                Some(&a),
                B::Json(json!({"account_ids": [eve.id.to_string()]})),
            )
            .await,
            404,
        );
        let _ = e;
    }
);
