//! Signing in through the organization's OpenID provider, as a Mastodon app
//! sends people: `/oauth/authorize` → "Sign in with …" → the real provider
//! (npm `oidc-provider`) → our callback → consent → code → token.
//! A cookie jar plays the browser; our server is called in-process, the
//! provider over loopback HTTP (and our server talks to it the same way).

use std::collections::HashMap;

use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::common::oidc::provider;
use crate::support::{Api, B, Res};

const OUR_ORIGIN: &str = "http://api.localhost:8080";

/// A login unique to this test run (tests share the provider).
fn login(name: &str) -> String {
    format!("{name}-{:08x}", rand::random::<u32>())
}

async fn sso_api(tdb: TestDb, f: impl FnOnce(&mut meetfield::config::Config)) -> Api {
    Api::with_config(tdb, |mut c| {
        c.oidc_issuer = provider().issuer.clone();
        c.oidc_client_id = "meetfield".into();
        c.oidc_client_secret = "meetfield-secret".into();
        c.oidc_display_name = "Example Corp".into();
        f(&mut c);
        c
    })
    .await
}

/// Cookies, by name (a test talks to two hosts with different names).
#[derive(Default)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn take(&mut self, headers: &axum::http::HeaderMap) {
        for v in headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            if val.is_empty() || v.contains("Max-Age=0") {
                self.0.remove(k);
            } else {
                self.0.insert(k.to_string(), val.to_string());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

struct Browser<'a> {
    api: &'a Api,
    ours: Jar,
    theirs: Jar,
    http: reqwest::Client,
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&").replace("&quot;", "\"")
}

fn attr_after<'h>(html: &'h str, marker: &str) -> Option<&'h str> {
    let start = html.find(marker)? + marker.len();
    html[start..].split('"').next()
}

fn form_field(html: &str, name: &str) -> String {
    unescape(
        attr_after(html, &format!("name=\"{name}\" value=\""))
            .unwrap_or_else(|| panic!("no {name} in {html}")),
    )
}

fn location(r: &Res) -> String {
    r.headers["location"].to_str().unwrap().to_string()
}

fn html(r: &Res) -> String {
    String::from_utf8_lossy(&r.bytes).into_owned()
}

/// What a test changes on the way (attacks and accidents).
#[derive(Clone, Copy, PartialEq)]
enum Tamper {
    None,
    Nonce,
    State,
    NoCookie,
    Replay,
}

impl<'a> Browser<'a> {
    fn new(api: &'a Api) -> Browser<'a> {
        Browser {
            api,
            ours: Jar::default(),
            theirs: Jar::default(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn ours(&mut self, method: Method, path: &str, body: B) -> Res {
        let cookie = self.ours.header();
        let headers: Vec<(&str, &str)> = if cookie.is_empty() {
            vec![]
        } else {
            vec![("cookie", cookie.as_str())]
        };
        let r = self.api.call_with(method, path, None, &headers, body).await;
        self.ours.take(&r.headers);
        r
    }

    /// At the provider, signs in as `login` until it sends the browser back
    /// to us; returns that URL.
    async fn at_provider(&mut self, mut url: String, login: &str) -> String {
        for _ in 0..20 {
            if url.starts_with(OUR_ORIGIN) {
                return url;
            }
            let r = self
                .http
                .get(&url)
                .header("cookie", self.theirs.header())
                .send()
                .await
                .unwrap();
            self.theirs.take(r.headers());
            if let Some(l) = r.headers().get("location") {
                url = url::Url::parse(&url)
                    .unwrap()
                    .join(l.to_str().unwrap())
                    .unwrap()
                    .to_string();
                continue;
            }
            let page = r.text().await.unwrap();
            let action = unescape(attr_after(&page, "action=\"").expect("a form at the provider"));
            let prompt = attr_after(&page, "name=\"prompt\" value=\"")
                .unwrap()
                .to_string();
            let form: Vec<(&str, &str)> = if prompt == "login" {
                vec![("prompt", "login"), ("login", login), ("password", "any")]
            } else {
                vec![("prompt", prompt.as_str())]
            };
            let r = self
                .http
                .post(&action)
                .header("cookie", self.theirs.header())
                .form(&form)
                .send()
                .await
                .unwrap();
            self.theirs.take(r.headers());
            url = url::Url::parse(&action)
                .unwrap()
                .join(r.headers()["location"].to_str().unwrap())
                .unwrap()
                .to_string();
        }
        panic!("the provider never sent the browser back");
    }

    /// From the app's authorize URL to our callback's answer.
    async fn sign_in(&mut self, authorize: &str, login: &str, tamper: Tamper) -> Res {
        let page = self.ours(Method::GET, authorize, B::None).await;
        assert_eq!(page.status, 200);
        let page = html(&page);
        let start = unescape(
            attr_after(&page, "id=\"sso\" href=\"")
                .unwrap_or_else(|| panic!("no SSO button: {page}")),
        );
        assert!(page.contains("Sign in with Example Corp"), "{page}");
        let r = self.ours(Method::GET, &start, B::None).await;
        assert_eq!(r.status, 303, "{}", html(&r));
        let set = r.headers["set-cookie"].to_str().unwrap();
        assert!(
            set.contains("SameSite=Lax") && set.contains("HttpOnly"),
            "{set}"
        );
        let mut to_provider = url::Url::parse(&location(&r)).unwrap();
        assert!(to_provider.as_str().starts_with(&provider().issuer));
        let q: HashMap<String, String> = to_provider.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(q["scope"].split(' ').any(|s| s == "groups"), "{q:?}");
        if tamper == Tamper::Nonce {
            let pairs: Vec<(String, String)> = to_provider
                .query_pairs()
                .into_owned()
                .map(|(k, v)| {
                    if k == "nonce" {
                        (k, "forged-nonce".into())
                    } else {
                        (k, v)
                    }
                })
                .collect();
            to_provider.query_pairs_mut().clear().extend_pairs(pairs);
        }
        let back = self.at_provider(to_provider.to_string(), login).await;
        let mut path = back.strip_prefix(OUR_ORIGIN).unwrap().to_string();
        if tamper == Tamper::State {
            let u = url::Url::parse(&back).unwrap();
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .into_owned()
                .map(|(k, v)| {
                    if k == "state" {
                        (k, format!("{v}x"))
                    } else {
                        (k, v)
                    }
                })
                .collect();
            let mut u2 = u.clone();
            u2.query_pairs_mut().clear().extend_pairs(pairs);
            path = format!("{}?{}", u2.path(), u2.query().unwrap());
        }
        if tamper == Tamper::NoCookie {
            self.ours.0.remove("mf_oidc");
        }
        let saved = self.ours.0.clone();
        let r = self.ours(Method::GET, &path, B::None).await;
        if tamper == Tamper::Replay {
            assert_eq!(r.status, 303, "{}", html(&r));
            // The same callback again, from the same browser.
            self.ours.0 = saved;
            return self.ours(Method::GET, &path, B::None).await;
        }
        r
    }
}

/// An app registered the way Mastodon apps do, and its authorize URL.
async fn app(api: &Api) -> (String, String, String) {
    let r = api
        .post(
            "/api/v1/apps",
            None,
            B::Json(json!({"client_name": "Tusky", "redirect_uris": "https://app.example/cb", "scopes": "read write"})),
        )
        .await;
    let cid = r.json["client_id"].as_str().unwrap().to_string();
    let secret = r.json["client_secret"].as_str().unwrap().to_string();
    let authorize = format!(
        "/oauth/authorize?response_type=code&client_id={cid}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=read+write&state=s1"
    );
    (cid, secret, authorize)
}

/// Signs in through the provider and lets the app have its token.
async fn token_for(api: &Api, login: &str) -> String {
    let (cid, secret, authorize) = app(api).await;
    let mut b = Browser::new(api);
    let r = b.sign_in(&authorize, login, Tamper::None).await;
    assert_eq!(r.status, 303, "{}", html(&r));
    let session = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("mf_session="))
        .expect("a session cookie");
    assert!(
        session.contains("SameSite=Lax") && session.contains("HttpOnly"),
        "{session}"
    );
    let back = location(&r);
    assert!(back.starts_with("/oauth/authorize?"), "{back}");
    // The consent step, signed in, with no password asked.
    let consent = b.ours(Method::GET, &back, B::None).await;
    let page = html(&consent);
    assert!(
        page.contains("Signed in as") && !page.contains("type=\"password\""),
        "{page}"
    );
    let form = format!(
        "response_type=code&client_id={cid}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=read+write&state=s1&csrf={}&decision=allow",
        form_field(&page, "csrf")
    );
    let r = b
        .ours(Method::POST, "/oauth/authorize", B::FormOwned(form))
        .await;
    assert_eq!(r.status, 303, "{}", html(&r));
    let to_app = url::Url::parse(&location(&r)).unwrap();
    let q: HashMap<String, String> = to_app.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "s1");
    let r = api
        .post(
            "/oauth/token",
            None,
            B::Json(json!({"grant_type": "authorization_code", "client_id": cid, "client_secret": secret,
                "code": q["code"], "redirect_uri": "https://app.example/cb"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["access_token"].as_str().unwrap().to_string()
}

async fn me(api: &Api, token: &str) -> Value {
    let r = api
        .get("/api/v1/accounts/verify_credentials", Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json
}

fn field_value(me: &Value, name: &str) -> Option<String> {
    me["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .map(|f| f["value"].as_str().unwrap().to_string())
}

async fn user_count(api: &Api) -> i64 {
    use diesel::prelude::*;
    api.app
        .state
        .db
        .run(|c| {
            meetfield::db::schema::users::table
                .count()
                .get_result::<i64>(c)
                .map_err(meetfield::error::AppError::from)
        })
        .await
        .unwrap()
}

both_backends!(
    an_app_signs_in_through_the_provider_with_roles_and_fields,
    |tdb: TestDb| async move {
        let api = sso_api(tdb, |c| {
            c.oidc_allowed_groups = "staff".into();
            c.oidc_role_groups = "admin=it-admins,moderator=comms".into();
            c.oidc_profile_fields = "Department=department,Role=title".into();
        })
        .await;
        let who = login("olivia");
        let p = provider();
        p.set_claims(&who, json!({"preferred_username": format!("Olivia.{}", &who[7..]),
            "name": "Olivia Ng", "groups": ["staff", "comms"], "department": "Research", "title": "Chemist"}))
            .await;
        let token = token_for(&api, &who).await;
        let first = me(&api, &token).await;
        let username = first["username"].as_str().unwrap().to_string();
        assert_eq!(
            username,
            format!("olivia_{}", &who[7..]),
            "cleaned from the claim"
        );
        assert_eq!(first["display_name"], "Olivia Ng");
        assert_eq!(first["role"]["name"], "Moderator", "{first}");
        assert_eq!(
            field_value(&first, "Department").as_deref(),
            Some("Research"),
            "{first}"
        );
        assert_eq!(field_value(&first, "Role").as_deref(), Some("Chemist"));
        // The fields are the organization's now: the user cannot change them.
        let r = api
            .call(
                Method::PATCH,
                "/api/v1/accounts/update_credentials",
                Some(&token),
                B::FormOwned(
                    "fields_attributes[0][name]=Department&fields_attributes[0][value]=Sales"
                        .into(),
                ),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.json);
        assert!(
            r.json["error"].as_str().unwrap().contains("managed"),
            "{}",
            r.json
        );

        // Promotion and a move at the provider show at the next sign-in.
        p.set_claims(
            &who,
            json!({"preferred_username": format!("Olivia.{}", &who[7..]),
            "groups": ["staff", "it-admins"], "department": "Sales", "title": "Chemist"}),
        )
        .await;
        let token2 = token_for(&api, &who).await;
        let second = me(&api, &token2).await;
        assert_eq!(second["id"], first["id"], "the same account");
        assert_eq!(second["role"]["name"], "Admin");
        assert_eq!(field_value(&second, "Department").as_deref(), Some("Sales"));
        // And a demotion.
        p.set_claims(&who, json!({"groups": ["staff"], "department": "Sales"}))
            .await;
        let token3 = token_for(&api, &who).await;
        let third = me(&api, &token3).await;
        assert_eq!(third["id"], first["id"]);
        assert_eq!(third["role"]["name"], "", "{third}");
        assert_eq!(
            field_value(&third, "Role"),
            None,
            "a claim gone empties its field"
        );
        assert_eq!(user_count(&api).await, 1);
    }
);

both_backends!(
    people_outside_the_allowed_groups_are_refused_and_lose_access,
    |tdb: TestDb| async move {
        let api = sso_api(tdb, |c| c.oidc_allowed_groups = "staff, partners".into()).await;
        let before = user_count(&api).await;
        let outsider = login("mallory");
        provider()
            .set_claims(&outsider, json!({"groups": ["contractors"]}))
            .await;
        let (_, _, authorize) = app(&api).await;
        let r = Browser::new(&api)
            .sign_in(&authorize, &outsider, Tamper::None)
            .await;
        assert_eq!(r.status, 403);
        assert!(html(&r).contains("not in a group allowed"), "{}", html(&r));
        assert_eq!(user_count(&api).await, before, "nothing created");

        // Someone who had access and left the group: refused, and their
        // app tokens stop working at once.
        let leaver = login("lee");
        provider()
            .set_claims(&leaver, json!({"groups": ["/Partners"]}))
            .await;
        let token = token_for(&api, &leaver).await;
        me(&api, &token).await;
        provider().set_claims(&leaver, json!({"groups": []})).await;
        let r = Browser::new(&api)
            .sign_in(&authorize, &leaver, Tamper::None)
            .await;
        assert_eq!(r.status, 403);
        let r = api
            .get("/api/v1/accounts/verify_credentials", Some(&token))
            .await;
        assert!(
            matches!(r.status.as_u16(), 401 | 403),
            "{}: {}",
            r.status,
            r.json
        );
        assert!(r.json["error"].is_string());
    }
);

both_backends!(
    forged_or_stale_answers_are_refused,
    |tdb: TestDb| async move {
        let api = sso_api(tdb, |_| {}).await;
        let before = user_count(&api).await;
        let (_, _, authorize) = app(&api).await;
        for (tamper, status, what) in [
            (Tamper::State, 400, "state changed"),
            (Tamper::NoCookie, 400, "another browser"),
            (Tamper::Nonce, 401, "nonce changed"),
        ] {
            let r = Browser::new(&api)
                .sign_in(&authorize, &login("eve"), tamper)
                .await;
            assert_eq!(r.status.as_u16(), status, "{what}: {}", html(&r));
            assert!(
                !r.headers
                    .get_all("set-cookie")
                    .iter()
                    .any(|c| c.to_str().unwrap().starts_with("mf_session=")),
                "{what}"
            );
        }
        assert_eq!(user_count(&api).await, before, "nothing created");
        // The same callback twice: the second finds its sign-in used up.
        let r = Browser::new(&api)
            .sign_in(&authorize, &login("eve"), Tamper::Replay)
            .await;
        assert_eq!(r.status, 400, "{}", html(&r));
        assert_eq!(
            user_count(&api).await,
            before + 1,
            "only the first callback signed in"
        );
        // A direct hit with no state at all.
        let r = api.get("/auth/oidc/callback?code=abc", None).await;
        assert_eq!(r.status, 400);
        // A return address elsewhere is not followed.
        let r = api
            .get("/auth/oidc?return_to=%2F%2Fevil.example%2F", None)
            .await;
        assert_eq!(r.status, 303);
    }
);

both_backends!(an_expired_id_token_is_refused, |tdb: TestDb| async move {
    // The provider signs this client's ID tokens as expired five minutes ago.
    let api = sso_api(tdb, |c| {
        c.oidc_client_id = "expired-meetfield".into();
        c.oidc_client_secret = "expired-meetfield-secret".into();
    })
    .await;
    let before = user_count(&api).await;
    let (_, _, authorize) = app(&api).await;
    let r = Browser::new(&api)
        .sign_in(&authorize, &login("ivan"), Tamper::None)
        .await;
    assert_eq!(r.status, 401, "{}", html(&r));
    assert_eq!(user_count(&api).await, before);
});

both_backends!(a_taken_username_gets_a_number, |tdb: TestDb| async move {
    let who = login("alice");
    let api = sso_api(tdb, |_| {}).await;
    // A local account with the provider's username but another e-mail.
    let plain = who.replace('-', "_");
    api.user(&plain, "read").await;
    let token = token_for(&api, &who).await;
    assert_eq!(me(&api, &token).await["username"], format!("{plain}2"));
});

both_backends!(
    existing_accounts_link_by_email_only_when_allowed,
    |tdb: TestDb| async move {
        let api = sso_api(tdb, |_| {}).await;
        let bob = login("bob");
        let local = bob.replace('-', "_");
        api.user(&local, "read").await;
        provider()
            .set_claims(&bob, json!({"email": format!("{local}@org.example")}))
            .await;
        let (_, _, authorize) = app(&api).await;
        let r = Browser::new(&api)
            .sign_in(&authorize, &bob, Tamper::None)
            .await;
        assert_eq!(r.status, 403);
        assert!(html(&r).contains("exists already"), "{}", html(&r));
    }
);

both_backends!(
    linking_by_verified_email_when_the_admin_allows_it,
    |tdb: TestDb| async move {
        let api = sso_api(tdb, |c| c.oidc_link_existing = true).await;
        let carol = login("carol");
        let local = carol.replace('-', "_");
        let (account, _) = api.user(&local, "read").await;
        provider()
        .set_claims(&carol, json!({"email": format!("{local}@org.example"), "preferred_username": "someone-else"}))
        .await;
        let t = token_for(&api, &carol).await;
        assert_eq!(
            me(&api, &t).await["id"],
            account.id.to_string(),
            "linked by verified e-mail"
        );
        // An unverified address links nothing.
        let dan = login("dan");
        let local = dan.replace('-', "_");
        api.user(&local, "read").await;
        provider()
            .set_claims(
                &dan,
                json!({"email": format!("{local}@org.example"), "email_verified": false}),
            )
            .await;
        let (_, _, authorize) = app(&api).await;
        let r = Browser::new(&api)
            .sign_in(&authorize, &dan, Tamper::None)
            .await;
        assert_eq!(r.status, 403, "{}", html(&r));
    }
);

both_backends!(
    sso_only_hides_passwords_and_sign_up,
    |tdb: TestDb| async move {
        // Sign-up open and the password grant on: single sign-on only wins.
        let api = sso_api(tdb, |c| {
            c.sso_only = true;
            c.registrations = meetfield::config::Registrations::Open;
            c.oauth_password_grant = true;
        })
        .await;
        api.user("pat", "read").await;
        let (cid, _, authorize) = app(&api).await;
        let r = api.get(&authorize, None).await;
        let page = html(&r);
        assert!(
            page.contains("Sign in with Example Corp") && !page.contains("type=\"password\""),
            "{page}"
        );
        // A password posted anyway is refused.
        // No form: a hand-made post with the double-submit token.
        let cookie = r.headers["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let csrf = cookie.split_once('=').unwrap().1.to_string();
        let r = api
        .call_with(Method::POST, "/oauth/authorize", None, &[("cookie", &cookie)],
            B::FormOwned(format!("response_type=code&client_id={cid}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=read&csrf={csrf}&login=pat&password=long+enough+password&decision=allow")))
        .await;
        assert_eq!(r.status, 401);
        assert!(r.headers.get("location").is_none());
        let v2 = api.get("/api/v2/instance", None).await;
        assert_eq!(v2.json["registrations"]["enabled"], false);
        let (app_id, app_secret, _) = app(&api).await;
        let r = api
        .post("/oauth/token", None, B::Json(json!({"grant_type": "client_credentials", "client_id": app_id, "client_secret": app_secret})))
        .await;
        let app_token = r.json["access_token"].as_str().unwrap().to_string();
        let r = api
        .post("/api/v1/accounts", Some(&app_token), B::Json(json!({"username": "newbie", "email": "n@org.example", "password": "long enough password", "agreement": true, "locale": "en"})))
        .await;
        assert_eq!(r.status, 403, "{}", r.json);
        let r = api
        .post("/oauth/token", None, B::Json(json!({"grant_type": "password", "client_id": app_id, "client_secret": app_secret, "username": "pat@org.example", "password": "long enough password"})))
        .await;
        assert!(r.status.is_client_error(), "{}", r.json);
        // The provider is still the way in.
        let token = token_for(&api, &login("sam")).await;
        me(&api, &token).await;
    }
);
