//! SCIM 2.0 provisioning, as an identity provider pushes staff changes.

use axum::http::Method;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, Res};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn scim(api: &Api, method: Method, path: &str, token: &str, body: Option<Value>) -> Res {
    let body = match body {
        Some(v) => B::Json(v),
        None => B::None,
    };
    api.call(method, path, Some(token), body).await
}

fn assert_scim_error(r: &Res, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "{}", r.json);
    assert_eq!(
        r.json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{}",
        r.json
    );
    assert_eq!(r.json["status"], status.to_string());
    if let Some(t) = scim_type {
        assert_eq!(r.json["scimType"], t, "{}", r.json);
    }
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/scim+json")
    );
}

fn bjensen() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "bjensen@example.com",
        "externalId": "701984",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        "title": "Chemist",
        "active": true,
        ENTERPRISE: {"department": "Research", "manager": {"value": "26118915", "displayName": "John Smith"}},
    })
}

async fn account(api: &Api, username: &str) -> Value {
    let (_, t) = api
        .user(&format!("viewer{}", rand::random::<u16>()), "read")
        .await;
    let r = api
        .get(
            &format!("/api/v1/accounts/lookup?acct={username}"),
            Some(&t),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json
}

fn field(a: &Value, name: &str) -> Option<String> {
    a["fields"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)
        .map(|f| f["value"].as_str().unwrap().to_string())
}

both_backends!(tokens_guard_the_endpoint, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let r = api.get("/scim/v2/Users", None).await;
    assert_scim_error(&r, 401, None);
    let r = api.get("/scim/v2/Users", Some("not-a-token")).await;
    assert_scim_error(&r, 401, None);
    // A Mastodon app token is not a SCIM token.
    let (_, app_token) = api.user("alice", "read write").await;
    assert_scim_error(
        &api.get("/scim/v2/Users", Some(&app_token)).await,
        401,
        None,
    );
    let (id, token) = meetfield::sso::scim::create_token(&api.app.state.db)
        .await
        .unwrap();
    assert_eq!(api.get("/scim/v2/Users", Some(&token)).await.status, 200);
    assert!(
        meetfield::sso::scim::revoke_token(&api.app.state.db, id)
            .await
            .unwrap()
    );
    assert_scim_error(&api.get("/scim/v2/Users", Some(&token)).await, 401, None);
    // Discovery, as compliance checkers read it.
    let (_, token) = meetfield::sso::scim::create_token(&api.app.state.db)
        .await
        .unwrap();
    let spc = api
        .get("/scim/v2/ServiceProviderConfig", Some(&token))
        .await;
    assert_eq!(spc.json["patch"]["supported"], true);
    let rt = api.get("/scim/v2/ResourceTypes", Some(&token)).await;
    assert_eq!(rt.json["Resources"][0]["endpoint"], "/Users");
    let s = api.get("/scim/v2/Schemas", Some(&token)).await;
    assert_eq!(s.json["totalResults"], 3);
});

both_backends!(
    provision_update_deactivate_delete,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_, token) = meetfield::sso::scim::create_token(&api.app.state.db)
            .await
            .unwrap();

        // Create: 201, Location, the resource back as sent (plus id and meta).
        let r = scim(
            &api,
            Method::POST,
            "/scim/v2/Users",
            &token,
            Some(bjensen()),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let id = r.json["id"].as_str().unwrap().to_string();
        assert_eq!(
            r.headers["location"].to_str().unwrap(),
            r.json["meta"]["location"]
        );
        assert_eq!(r.json["userName"], "bjensen@example.com");
        assert_eq!(r.json["externalId"], "701984");
        assert_eq!(r.json["name"]["familyName"], "Jensen");
        assert_eq!(r.json["phoneNumbers"][0]["value"], "555-555-8377");
        assert_eq!(r.json["active"], true);
        assert_eq!(r.json["meta"]["resourceType"], "User");
        assert_eq!(r.json[ENTERPRISE]["department"], "Research");
        // The account: a username from userName, the display name, the managed fields.
        let a = account(&api, "bjensen").await;
        assert_eq!(a["display_name"], "Babs Jensen");
        assert_eq!(field(&a, "Department").as_deref(), Some("Research"), "{a}");
        assert_eq!(field(&a, "Role").as_deref(), Some("Chemist"));
        assert_eq!(field(&a, "Manager").as_deref(), Some("John Smith"));
        // The same userName again (any case): a conflict.
        let mut again = bjensen();
        again["userName"] = json!("BJensen@Example.com");
        let r = scim(&api, Method::POST, "/scim/v2/Users", &token, Some(again)).await;
        assert_scim_error(&r, 409, Some("uniqueness"));
        // No userName, not JSON: 400.
        let r = scim(
            &api,
            Method::POST,
            "/scim/v2/Users",
            &token,
            Some(json!({"schemas": []})),
        )
        .await;
        assert_scim_error(&r, 400, Some("invalidValue"));

        // Read and filter.
        assert_eq!(
            scim(
                &api,
                Method::GET,
                &format!("/scim/v2/Users/{id}"),
                &token,
                None
            )
            .await
            .json["id"],
            id
        );
        assert_scim_error(
            &scim(&api, Method::GET, "/scim/v2/Users/12345", &token, None).await,
            404,
            None,
        );
        assert_scim_error(
            &scim(&api, Method::GET, "/scim/v2/Users/nonsense", &token, None).await,
            404,
            None,
        );
        for f in [
            "userName%20eq%20%22bjensen%40example.com%22",
            "externalId%20eq%20%22701984%22",
            "userName%20eq%20%22BJENSEN%40example.com%22",
        ] {
            let r = scim(
                &api,
                Method::GET,
                &format!("/scim/v2/Users?filter={f}"),
                &token,
                None,
            )
            .await;
            assert_eq!(r.json["totalResults"], 1, "{f}: {}", r.json);
            assert_eq!(r.json["Resources"][0]["id"], id);
        }
        let r = scim(
            &api,
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22nobody%22",
            &token,
            None,
        )
        .await;
        assert_eq!(r.json["totalResults"], 0);
        let r = scim(
            &api,
            Method::GET,
            "/scim/v2/Users?filter=title%20sw%20%22C%22",
            &token,
            None,
        )
        .await;
        assert_scim_error(&r, 400, Some("invalidFilter"));

        // PATCH: a move to another department, as Entra sends it.
        let r = scim(&api, Method::PATCH, &format!("/scim/v2/Users/{id}"), &token, Some(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Sales"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com"},
        ]
    }))).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json[ENTERPRISE]["department"], "Sales");
        assert_eq!(
            field(&account(&api, "bjensen").await, "Department").as_deref(),
            Some("Sales")
        );

        // The person posts and uses an app.
        let uid: i64 = id.parse().unwrap();
        let (app_token, _) = meetfield::domain::oauth::issue_token(
            &api.app.state.db,
            None,
            Some(uid),
            meetfield::domain::oauth::Scopes::parse("read write").unwrap(),
        )
        .await
        .unwrap();
        let post = api
            .ok(
                "/api/v1/statuses",
                &app_token,
                B::Json(json!({"status": "lab notes"})),
            )
            .await;
        let post_id = post["id"].as_str().unwrap().to_string();

        // Deactivation: the token stops working at once.
        let r = scim(
            &api,
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            &token,
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}]
            })),
        )
        .await;
        assert_eq!(r.json["active"], false, "{}", r.json);
        assert_eq!(
            api.get("/api/v1/accounts/verify_credentials", Some(&app_token))
                .await
                .status,
            401
        );
        // PUT with active: back in (with a new token: the old ones stay revoked).
        let mut back = bjensen();
        back["active"] = json!(true);
        let r = scim(
            &api,
            Method::PUT,
            &format!("/scim/v2/Users/{id}"),
            &token,
            Some(back),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.json["active"].clone()),
            (200, json!(true)),
            "{}",
            r.json
        );
        assert_eq!(
            api.get("/api/v1/accounts/verify_credentials", Some(&app_token))
                .await
                .status,
            401
        );

        // DELETE: gone from SCIM, the account disabled, the posts kept.
        let r = scim(
            &api,
            Method::DELETE,
            &format!("/scim/v2/Users/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(r.status, 204);
        assert_scim_error(
            &scim(
                &api,
                Method::GET,
                &format!("/scim/v2/Users/{id}"),
                &token,
                None,
            )
            .await,
            404,
            None,
        );
        let disabled: bool = api
            .app
            .state
            .db
            .run(move |c| {
                meetfield::db::schema::users::table
                    .find(uid)
                    .select(meetfield::db::schema::users::disabled)
                    .first(c)
                    .map_err(meetfield::error::AppError::from)
            })
            .await
            .unwrap();
        assert!(disabled);
        let (_, viewer) = api.user("reader", "read").await;
        assert_eq!(
            api.get(&format!("/api/v1/statuses/{post_id}"), Some(&viewer))
                .await
                .status,
            200
        );
        // The userName is free again.
        let mut rehired = bjensen();
        rehired["emails"] = json!([{"value": "b.jensen@example.com", "primary": true}]);
        let r = scim(&api, Method::POST, "/scim/v2/Users", &token, Some(rehired)).await;
        assert_eq!(r.status, 201, "{}", r.json);
        assert_ne!(r.json["id"], id);
    }
);

/// The scim2-tester compliance checker (PyPI), installed by scripts/test.sh
/// into the test virtualenv, against the endpoint on a loopback port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compliance_checker_passes() {
    let Ok(python) = std::env::var("MEETFIELD_TEST_PYTHON") else {
        panic!("MEETFIELD_TEST_PYTHON is not set: run scripts/test.sh (it installs scim2-tester)");
    };
    let api = Api::new(TestDb::new(crate::common::Backend::Sqlite)).await;
    let addr = api.serve().await;
    let (_, token) = meetfield::sso::scim::create_token(&api.app.state.db)
        .await
        .unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/federation-tests/scim/check.py"
    );
    let out = tokio::process::Command::new(python)
        .arg(script)
        .arg(format!("http://{addr}/scim/v2"))
        .arg(&token)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" checks, 0 failed"), "{stdout}");
}

async fn role(api: &Api, token: &str) -> Value {
    api.get("/api/v1/accounts/verify_credentials", Some(token))
        .await
        .json["role"]["name"]
        .clone()
}

both_backends!(groups_give_roles, |tdb: TestDb| async move {
    let api = Api::with_config(tdb, |mut c| {
        c.scim_role_groups = "admin=IT Admins,moderator=Comms".into();
        c
    })
    .await;
    let (_, token) = meetfield::sso::scim::create_token(&api.app.state.db)
        .await
        .unwrap();
    let r = scim(
        &api,
        Method::POST,
        "/scim/v2/Users",
        &token,
        Some(bjensen()),
    )
    .await;
    let uid = r.json["id"].as_str().unwrap().to_string();
    let (app_token, _) = meetfield::domain::oauth::issue_token(
        &api.app.state.db,
        None,
        Some(uid.parse().unwrap()),
        meetfield::domain::oauth::Scopes::parse("read").unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(role(&api, &app_token).await, "");

    let r = scim(
        &api,
        Method::POST,
        "/scim/v2/Groups",
        &token,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "IT Admins", "externalId": "g-1",
            "members": [{"value": uid, "display": "Babs"}],
        })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let gid = r.json["id"].as_str().unwrap().to_string();
    assert_eq!(r.json["members"][0]["value"], uid);
    assert_eq!(role(&api, &app_token).await, "Admin");
    // The same name again: a conflict; an unknown member: refused.
    let r = scim(
        &api,
        Method::POST,
        "/scim/v2/Groups",
        &token,
        Some(json!({"displayName": "it admins"})),
    )
    .await;
    assert_scim_error(&r, 409, Some("uniqueness"));
    let r = scim(
        &api,
        Method::POST,
        "/scim/v2/Groups",
        &token,
        Some(json!({"displayName": "Other", "members": [{"value": "ext-999"}]})),
    )
    .await;
    // A member we do not know (a nested group, someone elsewhere): kept as sent.
    assert_eq!(r.json["members"][0]["value"], "ext-999", "{}", r.json);
    let r = scim(
        &api,
        Method::GET,
        "/scim/v2/Groups?filter=displayName%20eq%20%22IT%20Admins%22",
        &token,
        None,
    )
    .await;
    assert_eq!(r.json["totalResults"], 1);

    // Membership moves: out of IT Admins, into Comms.
    let r = scim(
        &api,
        Method::PATCH,
        &format!("/scim/v2/Groups/{gid}"),
        &token,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": format!("members[value eq \"{uid}\"]")}],
        })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json.get("members").is_none(), "{}", r.json);
    assert_eq!(role(&api, &app_token).await, "");
    let r = scim(
        &api,
        Method::POST,
        "/scim/v2/Groups",
        &token,
        Some(json!({"displayName": "Comms"})),
    )
    .await;
    let comms = r.json["id"].as_str().unwrap().to_string();
    let r = scim(
        &api,
        Method::PATCH,
        &format!("/scim/v2/Groups/{comms}"),
        &token,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}],
        })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(role(&api, &app_token).await, "Moderator");
    // Deleting the group takes its role away.
    assert_eq!(
        scim(
            &api,
            Method::DELETE,
            &format!("/scim/v2/Groups/{comms}"),
            &token,
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(role(&api, &app_token).await, "");
    assert_scim_error(
        &scim(
            &api,
            Method::GET,
            &format!("/scim/v2/Groups/{comms}"),
            &token,
            None,
        )
        .await,
        404,
        None,
    );
});
