//! The Mastodon admin API: accounts (v1 and v2), their moderation, reports;
//! scopes and role permissions on every route; the admin action log.
//! Mastodon.py's admin methods drive the same routes in one scenario.

use axum::http::Method;
use diesel::prelude::*;
use meetfield::db::models::{Account, Role};
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::{Backend, TestDb};
use crate::support::{Api, B, assert_error};

async fn staff(api: &Api, name: &str, role: Role, scopes: &str) -> (Account, String) {
    api.user_with_role(name, role, scopes).await
}

async fn pending_sign_up(api: &Api, name: &str) -> String {
    let (_, _) = staff(api, name, Role::User, "read").await;
    let n = name.to_string();
    api.app
        .state
        .db
        .run(move |c| {
            use meetfield::db::schema::{accounts, users};
            let id: i64 = accounts::table
                .filter(accounts::username.eq(&n))
                .filter(accounts::domain.is_null())
                .select(accounts::id)
                .first(c)?;
            diesel::update(users::table.filter(users::account_id.eq(id)))
                .set(users::approved.eq(false))
                .execute(c)?;
            Ok::<_, meetfield::error::AppError>(id.to_string())
        })
        .await
        .unwrap()
}

fn usernames(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|a| a["username"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

both_backends!(accounts_and_their_moderation, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (admin_acct, admin) = staff(&api, "admin", Role::Admin, "admin:read admin:write").await;
    let (mod_acct, moderator) = staff(
        &api,
        "mod",
        Role::Moderator,
        "admin:read:accounts admin:write:accounts",
    )
    .await;
    let (carol, carol_tok) = api.user("carol", "read write admin:read").await;
    let pending = pending_sign_up(&api, "newbie").await;

    // A user with an admin scope but no role: 403; without the scope: 403.
    assert_error(
        &api.get("/api/v2/admin/accounts", Some(&carol_tok)).await,
        403,
    );
    let (_, plain) = staff(&api, "plainadmin", Role::Admin, "read").await;
    assert_error(&api.get("/api/v2/admin/accounts", Some(&plain)).await, 403);
    assert_error(&api.get("/api/v2/admin/accounts", None).await, 401);

    let all = api
        .get("/api/v2/admin/accounts?origin=local", Some(&admin))
        .await;
    assert_eq!(all.status, 200, "{}", all.json);
    assert_eq!(
        usernames(&all.json),
        ["admin", "carol", "mod", "newbie", "plainadmin"]
    );
    let a = all
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "admin")
        .unwrap()
        .clone();
    for key in [
        "id",
        "username",
        "domain",
        "created_at",
        "email",
        "ip",
        "ips",
        "locale",
        "invite_request",
        "role",
        "confirmed",
        "approved",
        "disabled",
        "silenced",
        "sensitized",
        "suspended",
        "account",
        "created_by_application_id",
        "invited_by_account_id",
    ] {
        assert!(a.get(key).is_some(), "Admin::Account has {key}: {a}");
    }
    assert_eq!(a["role"]["name"], "Admin");
    assert_eq!(a["email"], "admin@org.example");
    assert_eq!(a["account"]["id"], admin_acct.id.to_string());

    let staff_only = api
        .get("/api/v2/admin/accounts?permissions=staff", Some(&moderator))
        .await;
    assert_eq!(usernames(&staff_only.json), ["admin", "mod", "plainadmin"]);
    let p = api
        .get("/api/v2/admin/accounts?status=pending", Some(&admin))
        .await;
    assert_eq!(usernames(&p.json), ["newbie"]);
    let by_name = api
        .get("/api/v1/admin/accounts?username=ca", Some(&admin))
        .await;
    assert_eq!(usernames(&by_name.json), ["carol"]);
    let by_mail = api
        .get("/api/v1/admin/accounts?email=NEWBIE%40", Some(&admin))
        .await;
    assert_eq!(usernames(&by_mail.json), ["newbie"]);
    assert_eq!(
        api.get("/api/v1/admin/accounts?remote=true", Some(&admin))
            .await
            .json,
        json!([])
    );
    assert_eq!(
        api.get("/api/v2/admin/accounts?ip=127.0.0.1", Some(&admin))
            .await
            .json,
        json!([])
    );
    assert_error(
        &api.get("/api/v2/admin/accounts?status=sleepy", Some(&admin))
            .await,
        422,
    );
    let page = api
        .get("/api/v2/admin/accounts?limit=2", Some(&admin))
        .await;
    assert_eq!(page.json.as_array().unwrap().len(), 2);
    assert!(
        page.headers["link"]
            .to_str()
            .unwrap()
            .contains("rel=\"next\"")
    );

    // Approve a sign-up; the moderator may too.
    let r = api
        .post(
            &format!("/api/v1/admin/accounts/{pending}/approve"),
            Some(&moderator),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["approved"], true);
    assert_error(
        &api.post(
            &format!("/api/v1/admin/accounts/{pending}/approve"),
            Some(&admin),
            B::None,
        )
        .await,
        403,
    );

    // Actions and their undoing.
    let cid = carol.id.to_string();
    let act = |kind: &'static str, tok: String| {
        let api = &api;
        let path = format!("/api/v1/admin/accounts/{cid}/action");
        async move {
            api.post(
                &path,
                Some(&tok),
                B::FormOwned(format!("type={kind}&text=why")),
            )
            .await
        }
    };
    assert_eq!(act("silence", moderator.clone()).await.status, 200);
    let show = api
        .get(&format!("/api/v1/admin/accounts/{cid}"), Some(&admin))
        .await
        .json;
    assert_eq!(show["silenced"], true);
    api.post(
        &format!("/api/v1/admin/accounts/{cid}/unsilence"),
        Some(&admin),
        B::None,
    )
    .await;
    assert_eq!(act("sensitive", admin.clone()).await.status, 200);
    let s = api
        .get("/api/v1/admin/accounts?sensitized=true", Some(&admin))
        .await;
    assert_eq!(usernames(&s.json), ["carol"]);
    assert_eq!(act("disable", admin.clone()).await.status, 200);
    assert_error(
        &api.get("/api/v1/accounts/verify_credentials", Some(&carol_tok))
            .await,
        403,
    );
    api.post(
        &format!("/api/v1/admin/accounts/{cid}/enable"),
        Some(&admin),
        B::None,
    )
    .await;
    assert_eq!(
        api.get("/api/v1/accounts/verify_credentials", Some(&carol_tok))
            .await
            .status,
        200
    );
    assert_error(&act("explode", admin.clone()).await, 422);
    // Nobody acts on an admin, nor on themselves.
    let r = api
        .post(
            &format!("/api/v1/admin/accounts/{}/action", admin_acct.id),
            Some(&moderator),
            B::Form("type=suspend"),
        )
        .await;
    assert_error(&r, 403);

    // Deleting data: admins only, and only once suspended.
    assert_error(
        &api.call(
            Method::DELETE,
            &format!("/api/v1/admin/accounts/{cid}"),
            Some(&admin),
            B::None,
        )
        .await,
        403,
    );
    assert_eq!(act("suspend", moderator.clone()).await.status, 200);
    assert_error(
        &api.call(
            Method::DELETE,
            &format!("/api/v1/admin/accounts/{cid}"),
            Some(&moderator),
            B::None,
        )
        .await,
        403,
    );
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/accounts/{cid}"),
            Some(&admin),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_error(
        &api.get("/api/v1/admin/accounts/notanid", Some(&admin))
            .await,
        404,
    );

    // Every change is in the admin action log, with who did it.
    let logged: Vec<(i64, String)> = api
        .app
        .state
        .db
        .run(|c| {
            use meetfield::db::schema::admin_action_logs as l;
            Ok::<_, meetfield::error::AppError>(
                l::table
                    .order(l::id.asc())
                    .select((l::account_id, l::action))
                    .load(c)?,
            )
        })
        .await
        .unwrap();
    let actions: Vec<&str> = logged.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "approve",
            "silence",
            "unsilence",
            "sensitive",
            "disable",
            "enable",
            "suspend",
            "delete"
        ]
    );
    assert_eq!(logged[0].0, mod_acct.id, "the moderator approved");
});

both_backends!(reports_queue, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_, admin) = staff(&api, "admin", Role::Admin, "admin:read admin:write").await;
    let (_, moderator) = staff(
        &api,
        "mod",
        Role::Moderator,
        "admin:read:reports admin:write:reports",
    )
    .await;
    let (_, reporter) = api.user("rita", "read write").await;
    let (spammer, sp) = api.user("spam", "read write").await;
    let post = api
        .ok(
            "/api/v1/statuses",
            &sp,
            B::Json(json!({"status": "buy now"})),
        )
        .await;
    let report = api
        .ok(
            "/api/v1/reports",
            &reporter,
            B::Json(json!({"account_id": spammer.id.to_string(), "status_ids": [post["id"]], "comment": "spam"})),
        )
        .await;
    let rid = report["id"].as_str().unwrap().to_string();
    let open = api.get("/api/v1/admin/reports", Some(&moderator)).await;
    assert_eq!(open.status, 200, "{}", open.json);
    let r = &open.json[0];
    assert_eq!(r["id"], rid.as_str());
    assert_eq!(r["account"]["username"], "rita");
    assert_eq!(r["target_account"]["username"], "spam");
    assert_eq!(r["statuses"][0]["id"], post["id"]);
    assert_eq!(r["assigned_account"], Value::Null);
    let r = api
        .post(
            &format!("/api/v1/admin/reports/{rid}/assign_to_self"),
            Some(&moderator),
            B::None,
        )
        .await
        .json;
    assert_eq!(r["assigned_account"]["username"], "mod");
    let r = api
        .post(
            &format!("/api/v1/admin/reports/{rid}/resolve"),
            Some(&moderator),
            B::None,
        )
        .await
        .json;
    assert_eq!(r["action_taken"], true);
    assert_eq!(r["action_taken_by_account"]["username"], "mod");
    assert_eq!(
        api.get("/api/v1/admin/reports", Some(&admin)).await.json,
        json!([])
    );
    let done = api
        .get("/api/v1/admin/reports?resolved=true", Some(&admin))
        .await
        .json;
    assert_eq!(done.as_array().unwrap().len(), 1);
    let r = api
        .post(
            &format!("/api/v1/admin/reports/{rid}/reopen"),
            Some(&admin),
            B::None,
        )
        .await
        .json;
    assert_eq!(r["action_taken"], false);
    let by_target = api
        .get(
            &format!("/api/v1/admin/reports?target_account_id={}", spammer.id),
            Some(&admin),
        )
        .await
        .json;
    assert_eq!(by_target.as_array().unwrap().len(), 1);
    assert_error(
        &api.post(
            &format!("/api/v1/admin/reports/{rid}/explode"),
            Some(&admin),
            B::None,
        )
        .await,
        404,
    );
    assert_error(
        &api.get("/api/v1/admin/reports/12345", Some(&admin)).await,
        404,
    );
    // The moderator's token reads reports, not accounts.
    assert_error(
        &api.get("/api/v2/admin/accounts", Some(&moderator)).await,
        403,
    );
    assert_error(
        &api.get("/api/v1/admin/reports", Some(&reporter)).await,
        403,
    );
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_py_admin_methods() {
    let Ok(python) = std::env::var("MEETFIELD_TEST_PYTHON") else {
        panic!("MEETFIELD_TEST_PYTHON is not set: run scripts/test.sh (it installs Mastodon.py)");
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let api = Api::with_config(TestDb::new(Backend::Sqlite), |mut c| {
        c.domain = format!("127.0.0.1:{port}");
        c
    })
    .await;
    let router = api.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let (_, admin) = staff(
        &api,
        "admin",
        Role::Admin,
        "read write admin:read admin:write",
    )
    .await;
    let (_, moderator) = staff(&api, "mod", Role::Moderator, "read admin:read admin:write").await;
    let (_, user) = staff(&api, "user", Role::User, "read write admin:read").await;
    let (carol, carol_tok) = api.user("carol", "read write").await;
    let pending = pending_sign_up(&api, "newbie").await;
    let post = api
        .ok(
            "/api/v1/statuses",
            &carol_tok,
            B::Json(json!({"status": "buy now"})),
        )
        .await;
    let report = api
        .ok(
            "/api/v1/reports",
            &user,
            B::Json(json!({"account_id": carol.id.to_string(), "status_ids": [post["id"]]})),
        )
        .await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/api/scripts/admin_mastodon_py.py"
    );
    let out = tokio::process::Command::new(python)
        .arg(script)
        .args([
            format!("http://127.0.0.1:{port}"),
            admin,
            moderator,
            user,
            pending,
            carol.id.to_string(),
            report["id"].as_str().unwrap().to_string(),
        ])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim() == "ok",
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

both_backends!(domain_blocks_and_allows, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_, admin) = staff(&api, "admin", Role::Admin, "admin:read admin:write").await;
    let (_, moderator) = staff(&api, "mod", Role::Moderator, "admin:read admin:write").await;
    // Federation is the admins' business.
    assert_error(
        &api.get("/api/v1/admin/domain_blocks", Some(&moderator))
            .await,
        403,
    );
    assert_error(
        &api.post(
            "/api/v1/admin/domain_blocks",
            Some(&moderator),
            B::Form("domain=spam.example"),
        )
        .await,
        403,
    );

    let r = api
        .post(
            "/api/v1/admin/domain_blocks",
            Some(&admin),
            B::Form("domain=Spam.Example&severity=suspend&reject_media=true&private_comment=flood"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let b = r.json.clone();
    assert_eq!(b["domain"], "spam.example");
    assert_eq!(b["severity"], "suspend");
    assert_eq!(b["reject_media"], true);
    assert_eq!(b["private_comment"], "flood");
    for key in [
        "id",
        "digest",
        "created_at",
        "reject_reports",
        "public_comment",
        "obfuscate",
    ] {
        assert!(b.get(key).is_some(), "DomainBlock has {key}");
    }
    let id = b["id"].as_str().unwrap().to_string();
    assert!(
        !api.app.state.policy.allows("spam.example").await.unwrap(),
        "the block is in force"
    );
    assert!(
        !api.app
            .state
            .policy
            .allows("sub.spam.example")
            .await
            .unwrap()
    );
    assert_error(
        &api.post(
            "/api/v1/admin/domain_blocks",
            Some(&admin),
            B::Form("domain=spam.example"),
        )
        .await,
        422,
    );
    assert_error(
        &api.post(
            "/api/v1/admin/domain_blocks",
            Some(&admin),
            B::Form("domain=other.example&severity=silence"),
        )
        .await,
        422,
    );
    assert_error(
        &api.post(
            "/api/v1/admin/domain_blocks",
            Some(&admin),
            B::Form("domain="),
        )
        .await,
        422,
    );
    assert_eq!(
        api.get(&format!("/api/v1/admin/domain_blocks/{id}"), Some(&admin))
            .await
            .json,
        b
    );

    // Down to media only: federation resumes, media stay out.
    let r = api
        .call(
            Method::PUT,
            &format!("/api/v1/admin/domain_blocks/{id}"),
            Some(&admin),
            B::Form("severity=noop"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["severity"], "noop");
    assert_eq!(r.json["reject_media"], true);
    let rows = api
        .app
        .state
        .db
        .run(|c| {
            meetfield::db::models::DomainPolicy::all(c).map_err(meetfield::error::AppError::from)
        })
        .await
        .unwrap();
    assert!(
        rows.iter().all(|r| r.domain != "spam.example"),
        "no longer blocked"
    );
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/domain_blocks/{id}"),
            Some(&admin),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        api.get("/api/v1/admin/domain_blocks", Some(&admin))
            .await
            .json,
        json!([])
    );
    assert_error(
        &api.get(&format!("/api/v1/admin/domain_blocks/{id}"), Some(&admin))
            .await,
        404,
    );

    // Allows are the partner list.
    let r = api
        .post(
            "/api/v1/admin/domain_allows",
            Some(&admin),
            B::Form("domain=partner.example"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["domain"], "partner.example");
    let aid = r.json["id"].as_str().unwrap().to_string();
    let all = api
        .get("/api/v1/admin/domain_allows", Some(&admin))
        .await
        .json;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let listed = meetfield::domain::policy::media_rejections(&api.app.state.db)
        .await
        .unwrap();
    assert!(listed.is_empty());
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/domain_allows/{aid}"),
            Some(&admin),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        api.get("/api/v1/admin/domain_allows", Some(&admin))
            .await
            .json,
        json!([])
    );
});
