//! The admin console (`/admin`): who may open which page, and each action
//! through its form, on both backends. The browser test
//! (browser.rs) clicks through the same console in Chromium.

use axum::http::Method;
use meetfield::db::models::user::Role;
use serde_json::json;

use crate::both_backends;
use crate::common::TestDb;
use crate::pages::{html, page, sign_in};
use crate::support::{Api, B, Res};

/// The form token a page carries.
fn csrf(r: &Res) -> String {
    let body = html(r);
    let key = "name=\"csrf\" value=\"";
    let at = body.find(key).expect("a form token on the page") + key.len();
    body[at..at + body[at..].find('"').unwrap()].to_string()
}

async fn form(api: &Api, path: impl Into<String>, cookie: &str, body: String) -> Res {
    let path = path.into();
    api.call_with(
        Method::POST,
        &path,
        None,
        &[("cookie", cookie)],
        B::FormOwned(body),
    )
    .await
}

async fn pending_user(api: &Api, name: &str) -> i64 {
    let (_, a) = meetfield::domain::users::create_user(
        &api.app.state.db,
        &api.app.state.config,
        meetfield::domain::users::NewLocalUser {
            username: name.into(),
            email: format!("{name}@org.example"),
            password: "long enough password".into(),
            role: Role::User,
        },
        meetfield::domain::users::Origin {
            needs_approval: true,
            reason: Some("I work here".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    a.id
}

both_backends!(who_may_open_the_console, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    api.user_with_role("root", Role::Admin, "read").await;
    api.user_with_role("mod", Role::Moderator, "read").await;
    api.user("carol", "read").await;

    let r = page(&api, "/admin", None).await;
    assert_eq!(r.status, 303);
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/sign_in?return_to=%2Fadmin")
    );
    let carol = sign_in(&api, "carol").await;
    for path in ["/admin", "/admin/people", "/admin/reports", "/admin/log"] {
        assert_eq!(page(&api, path, Some(&carol)).await.status, 403, "{path}");
    }
    assert!(
        !html(&page(&api, "/", Some(&carol)).await).contains("href=\"/admin\""),
        "no Admin link for a user"
    );

    let m = sign_in(&api, "mod").await;
    for path in [
        "/admin",
        "/admin/people",
        "/admin/reports",
        "/admin/groups",
        "/admin/log",
    ] {
        let r = page(&api, path, Some(&m)).await;
        assert_eq!(r.status, 200, "{path}: {}", html(&r));
        assert_eq!(r.headers["cache-control"], "no-store");
        assert!(html(&r).contains("noindex"));
    }
    for path in ["/admin/partners", "/admin/invites"] {
        assert_eq!(
            page(&api, path, Some(&m)).await.status,
            403,
            "{path} is for admins"
        );
    }
    let people = html(&page(&api, "/admin/people", Some(&m)).await);
    assert!(!people.contains("Reset password"), "not for moderators");
    assert!(!people.contains("Set role"));
    assert!(!html(&page(&api, "/admin", Some(&m)).await).contains("/admin/partners"));

    let root = sign_in(&api, "root").await;
    let r = page(&api, "/admin", Some(&root)).await;
    assert_eq!(r.status, 200);
    let body = html(&r);
    assert!(body.contains("<strong id=\"people\">3</strong>"), "{body}");
    assert!(
        body.contains("<strong id=\"active\">3</strong>"),
        "three signed in this month: {body}"
    );
    assert!(body.contains("/admin/partners"));
    assert_eq!(page(&api, "/admin/partners", Some(&root)).await.status, 200);
});

both_backends!(people_and_invites, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    api.user_with_role("root", Role::Admin, "read").await;
    let (_, mod_token) = api.user_with_role("mod", Role::Moderator, "read").await;
    let (carol, carol_token) = api.user("carol", "read write").await;
    api.call(
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Some(&carol_token),
        B::Json(json!({"display_name": "<script>alert(1)</script>Carol"})),
    )
    .await;
    let newbie = pending_user(&api, "newbie").await;
    let root = sign_in(&api, "root").await;

    let r = page(&api, "/admin", Some(&root)).await;
    assert!(
        html(&r).contains(">1</a></strong>sign-ups waiting"),
        "{}",
        html(&r)
    );
    let r = page(&api, "/admin/people?status=pending", Some(&root)).await;
    let body = html(&r);
    assert!(body.contains("id=\"person-newbie\""));
    assert!(!body.contains("id=\"person-carol\""), "only those waiting");
    let t = csrf(&r);
    let r = page(&api, "/admin/people?q=newbie%40org", Some(&root)).await;
    assert!(html(&r).contains("id=\"person-newbie\""), "by e-mail");
    let r = page(&api, "/admin/people?q=zz%25", Some(&root)).await;
    assert!(html(&r).contains("Nobody matches."), "a % is no wildcard");
    let r = page(&api, "/admin/people?q=%40CAROL", Some(&root)).await;
    let body = html(&r);
    assert!(body.contains("&#60;script&#62;alert(1)&#60;/script&#62;Carol"));
    assert!(!body.contains("<script>alert"));

    // Forms need the session's token.
    let r = form(
        &api,
        &format!("/admin/people/{newbie}/approve"),
        &root,
        "csrf=nope".into(),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = form(
        &api,
        &format!("/admin/people/{newbie}/approve"),
        &root,
        format!("csrf={t}"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", html(&r));
    assert_eq!(r.headers["location"], "/admin/people?done=approve");
    assert!(
        meetfield::domain::users::authenticate(&api.app.state.db, "newbie", "long enough password")
            .await
            .is_ok(),
        "approved: may sign in"
    );
    assert!(
        html(&page(&api, "/admin/people?done=approve", Some(&root)).await)
            .contains("Sign-up approved.")
    );

    // Disable, and the person's app is refused; enable again.
    let r = form(
        &api,
        &format!("/admin/people/{}/disable", carol.id),
        &root,
        format!("csrf={t}"),
    )
    .await;
    assert_eq!(r.status, 303);
    let v = api
        .get("/api/v1/accounts/verify_credentials", Some(&carol_token))
        .await;
    assert_eq!(v.status, 403);
    form(
        &api,
        &format!("/admin/people/{}/enable", carol.id),
        &root,
        format!("csrf={t}"),
    )
    .await;
    assert_eq!(
        api.get("/api/v1/accounts/verify_credentials", Some(&carol_token))
            .await
            .status,
        200
    );

    // Roles and passwords: admins only.
    let r = form(
        &api,
        &format!("/admin/people/{}/role", carol.id),
        &root,
        format!("csrf={t}&role=overlord"),
    )
    .await;
    assert_eq!(r.status, 422);
    let r = form(
        &api,
        &format!("/admin/people/{}/role", carol.id),
        &root,
        format!("csrf={t}&role=moderator"),
    )
    .await;
    assert_eq!(r.status, 303);
    let v = api
        .get("/api/v1/accounts/verify_credentials", Some(&carol_token))
        .await;
    assert_eq!(v.json["role"]["name"], "Moderator");
    let r = form(
        &api,
        &format!("/admin/people/{}/password", carol.id),
        &root,
        format!("csrf={t}"),
    )
    .await;
    assert_eq!(r.status, 200);
    let body = html(&r);
    let at = body.find("is <code>").expect("the new password is shown") + "is <code>".len();
    let pw = &body[at..at + body[at..].find('<').unwrap()];
    assert!(
        meetfield::domain::users::authenticate(&api.app.state.db, "carol", pw)
            .await
            .is_ok()
    );
    let m = sign_in(&api, "mod").await;
    let mt = csrf(&page(&api, "/admin/people", Some(&m)).await);
    let r = form(
        &api,
        &format!("/admin/people/{newbie}/password"),
        &m,
        format!("csrf={mt}"),
    )
    .await;
    assert_eq!(r.status, 403, "a moderator resets no passwords");
    drop(mod_token);

    // Deleting asks for the username first.
    let r = page(&api, &format!("/admin/people/{newbie}/delete"), Some(&root)).await;
    assert_eq!(r.status, 200);
    assert!(html(&r).contains("Delete @newbie?"));
    let r = form(
        &api,
        &format!("/admin/people/{newbie}/delete"),
        &root,
        format!("csrf={t}&confirm=someone"),
    )
    .await;
    assert_eq!(r.status, 422);
    let r = form(
        &api,
        &format!("/admin/people/{newbie}/delete"),
        &root,
        format!("csrf={t}&confirm=newbie"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", html(&r));
    let body = html(&page(&api, "/admin/people?status=suspended", Some(&root)).await);
    let row = &body[body.find("id=\"person-newbie\"").expect("kept, suspended")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("disabled suspended"), "{row}");

    // Invites.
    let r = form(
        &api,
        "/admin/invites",
        &root,
        format!("csrf={t}&max_uses=0"),
    )
    .await;
    assert_eq!(r.status, 422);
    let r = form(
        &api,
        "/admin/invites",
        &root,
        format!("csrf={t}&max_uses=5&expires_days=7"),
    )
    .await;
    assert_eq!(r.status, 303);
    let invites = meetfield::domain::registrations::list_invites(&api.app.state.db)
        .await
        .unwrap();
    assert_eq!(invites.len(), 1);
    assert_eq!(invites[0].max_uses, Some(5));
    let body = html(&page(&api, "/admin/invites", Some(&root)).await);
    assert!(body.contains(&invites[0].code));
    assert!(body.contains("0 of 5"));
    let r = form(
        &api,
        &format!("/admin/invites/{}/revoke", invites[0].code),
        &root,
        format!("csrf={t}"),
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(html(&page(&api, "/admin/invites", Some(&root)).await).contains("no longer usable"));

    // Everything above is in the log.
    let log = html(&page(&api, "/admin/log", Some(&root)).await);
    for action in [
        "approve",
        "disable",
        "enable",
        "change_role",
        "reset_password",
        "delete",
        "create_invite",
        "revoke_invite",
    ] {
        assert!(
            log.contains(&format!("<td>{action}</td>")),
            "{action}: {log}"
        );
    }
    assert!(log.contains("@root@api.localhost:8080"));
});

both_backends!(reports_partners_and_groups, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    api.user_with_role("root", Role::Admin, "read").await;
    let (_, alice) = api.user("alice", "read write follow").await;
    let (bob, bob_token) = api.user("bob", "read write follow").await;
    let (carol, carol_token) = api.user("carol", "read write").await;
    let post = api
        .ok(
            "/api/v1/statuses",
            &carol_token,
            B::Json(json!({"status": "buy <b>cheap</b> things"})),
        )
        .await;
    let post_id = post["id"].as_str().unwrap().to_string();
    let report = api
        .ok(
            "/api/v1/reports",
            &bob_token,
            B::Json(json!({
                "account_id": carol.id.to_string(),
                "status_ids": [post_id],
                "comment": "spam <i>again</i>",
                "category": "spam"
            })),
        )
        .await;
    let rid = report["id"].as_str().unwrap().to_string();
    let root = sign_in(&api, "root").await;

    let r = page(&api, "/admin/reports", Some(&root)).await;
    let body = html(&r);
    assert!(body.contains(&format!("/admin/reports/{rid}")));
    assert!(body.contains("spam &#60;i&#62;again&#60;/i&#62;"), "{body}");
    let r = page(&api, &format!("/admin/reports/{rid}"), Some(&root)).await;
    assert_eq!(r.status, 200);
    let body = html(&r);
    assert!(
        body.contains("buy &lt;b&gt;cheap&lt;/b&gt; things"),
        "the post, as text: {body}"
    );
    assert!(body.contains("@carol@api.localhost:8080"));
    assert!(!body.contains("id=\"forward\""), "carol is local");
    let t = csrf(&r);
    let act = |what: &str| {
        form(
            &api,
            format!("/admin/reports/{rid}/{what}"),
            &root,
            format!("csrf={t}"),
        )
    };
    assert_eq!(act("assign_to_self").await.status, 303);
    assert!(
        html(&page(&api, &format!("/admin/reports/{rid}"), Some(&root)).await)
            .contains("<dt>Assigned</dt><dd>@root@api.localhost:8080</dd>")
    );
    assert_eq!(act("forward").await.status, 422, "nothing to forward to");
    let r = act("delete_posts").await;
    assert_eq!(r.status, 303);
    assert_eq!(
        api.get(&format!("/api/v1/statuses/{post_id}"), Some(&alice))
            .await
            .status,
        404,
        "the reported post is gone"
    );
    let body = html(&page(&api, &format!("/admin/reports/{rid}"), Some(&root)).await);
    assert!(body.contains("<dd id=\"state\">resolved"), "{body}");
    assert!(html(&page(&api, "/admin/reports", Some(&root)).await).contains("id=\"no-reports\""));
    assert_eq!(act("reopen").await.status, 303);
    assert_eq!(act("suspend").await.status, 303);
    let suspended = api
        .app
        .state
        .db
        .run(move |c| {
            meetfield::db::models::Account::by_id(c, carol.id)
                .map_err(meetfield::error::AppError::from)
        })
        .await
        .unwrap()
        .suspended_at;
    assert!(suspended.is_some(), "carol is suspended");
    assert_eq!(act("nonsense").await.status, 404);

    // Partners: block, reject media, share the directory.
    let pt = csrf(&page(&api, "/admin/partners", Some(&root)).await);
    let partner = |domain: &str, action: &str| {
        form(
            &api,
            "/admin/partners",
            &root,
            format!("csrf={pt}&domain={domain}&action={action}"),
        )
    };
    assert_eq!(partner("bad.example", "block").await.status, 303);
    assert_eq!(partner("friend.example", "allow").await.status, 303);
    assert_eq!(partner("friend.example", "share").await.status, 303);
    assert_eq!(partner("pics.example", "reject_media").await.status, 303);
    assert_eq!(partner("not a domain", "allow").await.status, 422);
    assert_eq!(partner("x.example", "destroy").await.status, 422);
    let state = &api.app.state;
    assert!(!state.policy.allows("bad.example").await.unwrap());
    assert!(state.policy.allows("friend.example").await.unwrap());
    let body = html(&page(&api, "/admin/partners", Some(&root)).await);
    assert!(body.contains("id=\"partner-bad.example\""));
    assert!(body.contains("<td>block</td>"));
    assert!(body.contains("<td>rejected</td>"));
    let row = &body[body.find("id=\"partner-friend.example\"").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<td>allow</td>"), "{row}");
    assert!(row.contains("<td>shared"), "{row}");
    assert_eq!(partner("bad.example", "remove").await.status, 303);
    assert!(!html(&page(&api, "/admin/partners", Some(&root)).await).contains("<td>block</td>"));

    // Groups: hand over to a member, then delete.
    let g = api
        .ok(
            "/api/v1/groups",
            &alice,
            B::Json(json!({"name": "launch", "display_name": "Launch"})),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_string();
    let gt = csrf(&page(&api, "/admin/groups", Some(&root)).await);
    let r = form(
        &api,
        &format!("/admin/groups/{gid}/hand_over"),
        &root,
        format!("csrf={gt}&owner=bob"),
    )
    .await;
    assert_eq!(r.status, 422, "bob is no member yet");
    api.ok(
        &format!("/api/v1/accounts/{gid}/follow"),
        &bob_token,
        B::None,
    )
    .await;
    let r = form(
        &api,
        &format!("/admin/groups/{gid}/hand_over"),
        &root,
        format!("csrf={gt}&owner=%40bob"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", html(&r));
    let body = html(&page(&api, "/admin/groups", Some(&root)).await);
    let row = &body[body.find("id=\"group-launch\"").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<td>@bob@api.localhost:8080</td>"), "{row}");
    assert!(
        row.contains("@alice@api.localhost:8080"),
        "alice still moderates: {row}"
    );
    let owner = api
        .app
        .state
        .db
        .run({
            let gid: i64 = gid.parse().unwrap();
            move |c| meetfield::domain::groups::find(c, gid)
        })
        .await
        .unwrap()
        .settings
        .owner_account_id;
    assert_eq!(owner, Some(bob.id));
    let r = page(&api, &format!("/admin/groups/{gid}/delete"), Some(&root)).await;
    assert!(html(&r).contains("Delete the group launch?"));
    let r = form(
        &api,
        &format!("/admin/groups/{gid}/delete"),
        &root,
        format!("csrf={gt}&confirm=launch"),
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(
        html(&page(&api, "/admin/groups", Some(&root)).await).contains("No groups on this server.")
    );

    let log = html(&page(&api, "/admin/log", Some(&root)).await);
    for action in [
        "assign_to_self",
        "delete_posts",
        "resolve",
        "reopen",
        "suspend",
        "block_domain",
        "share_domain",
        "reject_media_domain",
        "hand_over",
        "delete_group",
    ] {
        assert!(
            log.contains(&format!("<td>{action}</td>")),
            "{action}: {log}"
        );
    }
});

both_backends!(roles_act_only_on_lower_roles, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (boss, boss_token) = api
        .user_with_role("boss", Role::Owner, "read admin:read admin:write")
        .await;
    let (_, root_token) = api
        .user_with_role("root", Role::Admin, "read admin:read admin:write")
        .await;
    let (mod1, mod_token) = api
        .user_with_role("mod", Role::Moderator, "read admin:read admin:write")
        .await;
    let (mod2, _) = api.user_with_role("mod2", Role::Moderator, "read").await;
    let (user, _) = api.user("u", "read").await;

    let v = api
        .get("/api/v1/accounts/verify_credentials", Some(&boss_token))
        .await;
    assert_eq!(v.json["role"]["name"], "Owner");
    assert_eq!(
        v.json["role"]["permissions"],
        ((1u64 << 20) - 1).to_string()
    );
    let v = api
        .get("/api/v1/accounts/verify_credentials", Some(&mod_token))
        .await;
    assert_eq!(v.json["role"]["name"], "Moderator");

    let action = |token: &str, target: i64, kind: &str| {
        let token = token.to_string();
        let path = format!("/api/v1/admin/accounts/{target}/action");
        let kind = kind.to_string();
        let api = &api;
        async move {
            api.post(&path, Some(&token), B::Json(json!({ "type": kind })))
                .await
                .status
        }
    };
    assert_eq!(
        action(&root_token, boss.id, "disable").await,
        403,
        "no one acts on the owner"
    );
    assert_eq!(
        action(&mod_token, mod2.id, "silence").await,
        403,
        "nor on an equal"
    );
    assert_eq!(action(&mod_token, user.id, "silence").await, 200);
    assert_eq!(action(&root_token, mod2.id, "silence").await, 200);

    // Roles in the console: an admin gives only lower roles, the owner any.
    let root = sign_in(&api, "root").await;
    let r = page(&api, "/admin/people", Some(&root)).await;
    let t = csrf(&r);
    let body = html(&r);
    let row = &body[body.find("id=\"person-boss\"").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        !row.contains("Disable") && !row.contains("Set role"),
        "{row}"
    );
    let set = |cookie: String, target: i64, role: &'static str, t: String| {
        let api = &api;
        async move {
            form(
                api,
                format!("/admin/people/{target}/role"),
                &cookie,
                format!("csrf={t}&role={role}"),
            )
            .await
            .status
        }
    };
    assert_eq!(set(root.clone(), boss.id, "user", t.clone()).await, 403);
    assert_eq!(set(root.clone(), mod1.id, "admin", t.clone()).await, 403);
    assert_eq!(
        set(root.clone(), user.id, "moderator", t.clone()).await,
        303
    );
    let owner = sign_in(&api, "boss").await;
    let ot = csrf(&page(&api, "/admin/people", Some(&owner)).await);
    assert_eq!(set(owner.clone(), mod1.id, "admin", ot.clone()).await, 303);
    let v = api
        .get("/api/v1/accounts/verify_credentials", Some(&mod_token))
        .await;
    assert_eq!(v.json["role"]["name"], "Admin");
    // The owner is still not someone others act on.
    assert_eq!(action(&mod_token, boss.id, "suspend").await, 403);
});

both_backends!(announcements_in_the_console, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    api.user_with_role("root", Role::Admin, "read").await;
    api.user_with_role("mod", Role::Moderator, "read").await;
    let (_, reader) = api.user("carol", "read write").await;
    let m = sign_in(&api, "mod").await;
    assert_eq!(
        page(&api, "/admin/announcements", Some(&m)).await.status,
        403
    );
    assert!(!html(&page(&api, "/admin", Some(&m)).await).contains("/admin/announcements"));

    let root = sign_in(&api, "root").await;
    let r = page(&api, "/admin/announcements", Some(&root)).await;
    assert_eq!(r.status, 200);
    assert!(html(&r).contains("No announcements."));
    let t = csrf(&r);
    let bad = form(
        &api,
        "/admin/announcements",
        &root,
        format!("csrf={t}&text=Drill&starts_at=soon&ends_at=2030-01-01"),
    )
    .await;
    assert_eq!(bad.status, 422);
    assert!(html(&bad).contains("Starts at is not a valid date"));
    let forged = form(
        &api,
        "/admin/announcements",
        &root,
        "csrf=nope&text=x".into(),
    )
    .await;
    assert_eq!(forged.status, 403);
    let r = form(
        &api,
        "/admin/announcements",
        &root,
        format!("csrf={t}&text=%3Cscript%3Ex%3C%2Fscript%3E+Town+hall+%23Q3&starts_at=2030-01-02&ends_at=2030-01-03&all_day=on"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", html(&r));
    let body = html(&page(&api, "/admin/announcements?done=announce", Some(&root)).await);
    assert!(body.contains("Announcement published."));
    assert!(
        body.contains("&lt;script&gt;x&lt;/script&gt; Town hall"),
        "escaped: {body}"
    );
    assert!(!body.contains("<script>x"));
    assert!(body.contains("2030-01-02 – 2030-01-03"));
    let listed = api.get("/api/v1/announcements", Some(&reader)).await.json;
    assert_eq!(listed[0]["all_day"], true, "{listed}");
    let id = listed[0]["id"].as_str().unwrap().to_string();

    let r = form(
        &api,
        format!("/admin/announcements/{id}/delete"),
        &root,
        format!("csrf={t}"),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        api.get("/api/v1/announcements", Some(&reader)).await.json,
        json!([])
    );
    let log = html(&page(&api, "/admin/log", Some(&root)).await);
    assert!(
        log.contains("create_announcement") && log.contains("destroy_announcement"),
        "{log}"
    );
});

both_backends!(trends_in_the_console, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    api.user_with_role("mod", Role::Moderator, "read").await;
    api.user("pat", "read").await;
    let mut ids = Vec::new();
    for name in ["ana", "ben"] {
        let (_, t) = api.user(name, "read write").await;
        let r = api
            .call(
                Method::PATCH,
                "/api/v1/accounts/update_credentials",
                Some(&t),
                B::Json(json!({"discoverable": true})),
            )
            .await;
        assert_eq!(r.status, 200);
        let s = api
            .ok(
                "/api/v1/statuses",
                &t,
                B::Json(json!({"status": "#Launch day"})),
            )
            .await;
        ids.push(s["id"].as_str().unwrap().parse::<i64>().unwrap());
    }
    // A link both posts share, as the workers would have carded it.
    api.app
        .state
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use meetfield::db::schema::{preview_cards as pc, status_cards as sc};
            diesel::insert_into(pc::table)
                .values((
                    pc::id.eq(7),
                    pc::url.eq("https://news.example/q4"),
                    pc::state.eq("ready"),
                    pc::title.eq("Q4 <plan>"),
                    pc::created_at.eq(meetfield::db::now()),
                ))
                .execute(c)?;
            for s in &ids {
                diesel::insert_into(sc::table)
                    .values((sc::status_id.eq(*s), sc::card_id.eq(7)))
                    .execute(c)?;
            }
            Ok::<_, meetfield::db::DbError>(())
        })
        .await
        .unwrap();
    meetfield::domain::trends::compute(&api.app.state.db)
        .await
        .unwrap();

    let pat = sign_in(&api, "pat").await;
    assert_eq!(page(&api, "/admin/trends", Some(&pat)).await.status, 403);
    let m = sign_in(&api, "mod").await;
    assert!(html(&page(&api, "/admin", Some(&m)).await).contains("/admin/trends"));
    let r = page(&api, "/admin/trends", Some(&m)).await;
    assert_eq!(r.status, 200);
    let body = html(&r);
    assert!(body.contains("id=\"tag-launch\""), "{body}");
    assert!(
        body.contains("Q4 &#60;plan&#62;") && !body.contains("<plan>"),
        "escaped: {body}"
    );
    assert!(body.contains("Nothing is hidden."));
    let t = csrf(&r);

    assert_eq!(
        form(
            &api,
            "/admin/trends",
            &m,
            "csrf=nope&action=hide&target=launch".into()
        )
        .await
        .status,
        403
    );
    let bad = form(
        &api,
        "/admin/trends",
        &m,
        format!("csrf={t}&action=burn&target=launch"),
    )
    .await;
    assert_eq!(bad.status, 422);
    let bad = form(
        &api,
        "/admin/trends",
        &m,
        format!("csrf={t}&action=hide&target=no-dash!"),
    )
    .await;
    assert_eq!(bad.status, 422);
    for target in ["launch", "https%3A%2F%2Fnews.example%2Fq4"] {
        let r = form(
            &api,
            "/admin/trends",
            &m,
            format!("csrf={t}&action=hide&target={target}"),
        )
        .await;
        assert_eq!(r.status, 303, "{}", html(&r));
    }
    assert_eq!(api.get("/api/v1/trends/tags", None).await.json, json!([]));
    assert_eq!(api.get("/api/v1/trends/links", None).await.json, json!([]));
    let body = html(&page(&api, "/admin/trends?done=trend_hide", Some(&m)).await);
    assert!(body.contains("Hidden from trends."));
    assert!(body.contains("No trending tags.") && body.contains("No trending links."));
    assert!(
        body.contains("<td>#launch</td>") && body.contains("<td>https://news.example/q4</td>"),
        "{body}"
    );
    let r = form(
        &api,
        "/admin/trends",
        &m,
        format!("csrf={t}&action=allow&target=%23Launch"),
    )
    .await;
    assert_eq!(r.status, 303);
    meetfield::domain::trends::compute(&api.app.state.db)
        .await
        .unwrap();
    assert_eq!(
        api.get("/api/v1/trends/tags", None).await.json[0]["name"],
        "launch"
    );
    let root = sign_in(&api, "mod").await;
    let log = html(&page(&api, "/admin/log", Some(&root)).await);
    assert!(
        log.contains("hide_trend") && log.contains("allow_trend"),
        "{log}"
    );
});
