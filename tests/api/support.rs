//! A test instance with users and tokens, and a way to call it.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use meetfield::app::App;
use meetfield::db::models::{Account, Role};
use meetfield::domain::oauth::{Scopes, issue_token};
use meetfield::domain::users::{NewLocalUser, create_local_user};
use serde_json::Value;
use tower::ServiceExt;

use crate::common::TestDb;

pub struct Api {
    pub app: App,
    pub router: Router,
    _tdb: TestDb,
}

pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub bytes: Vec<u8>,
}

pub enum B {
    None,
    Json(Value),
    Form(&'static str),
    FormOwned(String),
    Multipart(Vec<(&'static str, String)>),
    /// Multipart with files: (field, file name and type if a file, bytes).
    Files(Vec<Part>),
}

pub struct Part {
    pub name: &'static str,
    pub file: Option<(&'static str, &'static str)>,
    pub data: Vec<u8>,
}

impl Part {
    pub fn file(
        name: &'static str,
        filename: &'static str,
        ctype: &'static str,
        data: Vec<u8>,
    ) -> Part {
        Part {
            name,
            file: Some((filename, ctype)),
            data,
        }
    }
    pub fn text(name: &'static str, value: &str) -> Part {
        Part {
            name,
            file: None,
            data: value.as_bytes().to_vec(),
        }
    }
}

impl Api {
    pub async fn new(tdb: TestDb) -> Api {
        Api::with_config(tdb, |c| c).await
    }

    /// An instance with settings changed by `f`.
    pub async fn with_config(
        tdb: TestDb,
        f: impl FnOnce(meetfield::config::Config) -> meetfield::config::Config,
    ) -> Api {
        let db = tdb.open().await;
        let config = f(meetfield::config::Config {
            domain: "api.localhost:8080".into(),
            ..tdb.config()
        });
        let app = App::new(config, db).await.unwrap();
        let router = app.router();
        Api {
            app,
            router,
            _tdb: tdb,
        }
    }

    /// Serves the app on a loopback port (for clients that need a socket:
    /// WebSocket, SSE); the server stops with the test's runtime.
    pub async fn serve(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = self.router.clone();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        addr
    }

    /// A user and a token with `scopes`.
    pub async fn user(&self, name: &str, scopes: &str) -> (Account, String) {
        self.user_with_role(name, Role::User, scopes).await
    }

    /// A user with `role` and a token with `scopes`.
    pub async fn user_with_role(&self, name: &str, role: Role, scopes: &str) -> (Account, String) {
        let (user, account) = create_local_user(
            &self.app.state.db,
            &self.app.state.config,
            NewLocalUser {
                username: name.into(),
                email: format!("{name}@org.example"),
                password: "long enough password".into(),
                role,
            },
        )
        .await
        .unwrap();
        let (token, _) = issue_token(
            &self.app.state.db,
            None,
            Some(user.id),
            Scopes::parse(scopes).unwrap(),
        )
        .await
        .unwrap();
        (account, token)
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: B) -> Res {
        self.call_with(method, path, token, &[], body).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: B,
    ) -> Res {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            B::None => req.body(Body::empty()),
            B::Json(v) => req.header("content-type", "application/json").body(Body::from(v.to_string())),
            B::Form(f) => req.header("content-type", "application/x-www-form-urlencoded").body(Body::from(f)),
            B::FormOwned(f) => req.header("content-type", "application/x-www-form-urlencoded").body(Body::from(f)),
            B::Multipart(fields) => {
                let boundary = "XmeetfieldX";
                let mut s = String::new();
                for (k, v) in fields {
                    s.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"));
                }
                s.push_str(&format!("--{boundary}--\r\n"));
                req.header("content-type", format!("multipart/form-data; boundary={boundary}")).body(Body::from(s))
            }
            B::Files(parts) => {
                let boundary = "XmeetfieldFilesX";
                let mut body: Vec<u8> = Vec::new();
                for p in parts {
                    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
                    match p.file {
                        Some((filename, ctype)) => body.extend_from_slice(
                            format!("Content-Disposition: form-data; name=\"{}\"; filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n", p.name).as_bytes(),
                        ),
                        None => body.extend_from_slice(
                            format!("Content-Disposition: form-data; name=\"{}\"\r\n\r\n", p.name).as_bytes(),
                        ),
                    }
                    body.extend_from_slice(&p.data);
                    body.extend_from_slice(b"\r\n");
                }
                body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
                req.header("content-type", format!("multipart/form-data; boundary={boundary}")).body(Body::from(body))
            }
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            Value::Null
        } else if !headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|t| t.contains("json"))
        {
            // Files and pages: the caller reads them through `raw`.
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("{path}: not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        assert!(
            status != StatusCode::INTERNAL_SERVER_ERROR,
            "{path}: 500 {json}"
        );
        Res {
            status,
            headers,
            json,
            bytes: bytes.to_vec(),
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Res {
        self.call(Method::GET, path, token, B::None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: B) -> Res {
        self.call(Method::POST, path, token, body).await
    }

    /// POST that must answer 200; returns the JSON.
    pub async fn ok(&self, path: &str, token: &str, body: B) -> Value {
        let r = self.post(path, Some(token), body).await;
        assert_eq!(r.status.as_u16(), 200, "{path}: {}", r.json);
        r.json
    }
}

/// Asserts a Mastodon-style error: status and a string `error`.
pub fn assert_error(r: &Res, status: u16) {
    assert_eq!(r.status.as_u16(), status, "{}", r.json);
    assert!(r.json["error"].is_string(), "{}", r.json);
}
