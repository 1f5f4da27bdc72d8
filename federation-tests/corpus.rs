//! The fixture corpus (../shared/fixtures/activitypub) served from loopback
//! hosts as its servers would serve it: every actor and every public post
//! resolves through `GET /api/v2/search?resolve=true`; posts addressed to
//! others stay invisible. Each original host becomes `cN.localhost:PORT`,
//! so nothing leaves this machine.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use meetfield::config::FederationMode;
use meetfield::db::models::Role;
use meetfield::domain::oauth::{Scopes, issue_token};
use meetfield::domain::users::{NewLocalUser, create_local_user};
use meetfield::federation::protocol::note::POST_TYPES;
use serde_json::{Value, json};

use crate::common::Backend;
use crate::harness::{Instance, http};
use crate::on_both_backends;

fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/activitypub");
    dir.join("index.json").is_file().then_some(dir)
}

/// Vocabulary hosts stay as they are: they name terms, not servers.
const VOCABULARY: &[&str] = &["www.w3.org", "w3id.org", "schema.org", "purl.org"];

struct Rewriter {
    port: u16,
    hosts: HashMap<String, String>,
}

impl Rewriter {
    fn url(&mut self, s: &str) -> Option<String> {
        let mut u = url::Url::parse(s).ok()?;
        if !matches!(u.scheme(), "http" | "https") {
            return None;
        }
        let host = u.host_str()?.to_string();
        if VOCABULARY.contains(&host.as_str()) {
            return None;
        }
        let key = match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        let n = self.hosts.len();
        let label = self
            .hosts
            .entry(key)
            .or_insert_with(|| format!("c{n}.localhost"))
            .clone();
        u.set_scheme("http").ok()?;
        u.set_host(Some(&label)).ok()?;
        u.set_port(Some(self.port)).ok()?;
        let mut out = u.to_string();
        // Keep an id that is a bare origin as it was (microblog.pub's actor).
        if u.path() == "/" && !s.ends_with('/') && u.query().is_none() {
            out.pop();
        }
        Some(out)
    }

    fn doc(&mut self, v: &Value) -> Value {
        match v {
            Value::String(s) => self.url(s).map(Value::String).unwrap_or_else(|| v.clone()),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.doc(x)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| {
                        let x = if k == "@context" {
                            x.clone()
                        } else {
                            self.doc(x)
                        };
                        (k.clone(), x)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// Where a document is served: its id as a request reaches the server.
fn id_of(v: &Value) -> Option<String> {
    let mut u = url::Url::parse(v.get("id")?.as_str()?).ok()?;
    u.set_fragment(None);
    Some(u.to_string())
}

fn is_public(post: &Value) -> bool {
    ["to", "cc"].iter().any(|k| {
        let items = match post.get(*k) {
            Some(Value::Array(a)) => a.clone(),
            Some(v) => vec![v.clone()],
            None => vec![],
        };
        items.iter().any(|i| {
            matches!(
                i.as_str(),
                Some("https://www.w3.org/ns/activitystreams#Public" | "as:Public" | "Public")
            )
        })
    })
}

fn author_of(post: &Value) -> Option<String> {
    let a = post.get("attributedTo").or_else(|| post.get("actor"))?;
    let pick = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) if o.get("type").and_then(Value::as_str) != Some("Group") => {
            o.get("id").and_then(Value::as_str).map(str::to_string)
        }
        _ => None,
    };
    match a {
        Value::Array(items) => items.iter().find_map(pick),
        v => pick(v),
    }
}

type Served = Arc<HashMap<String, Value>>;

async fn serve_doc(State(docs): State<Served>, req: Request) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    match docs.get(&format!("http://{host}{pq}")) {
        Some(doc) => (
            [(header::CONTENT_TYPE, "application/activity+json")],
            doc.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

on_both_backends!(
    corpus_resolves_through_search,
    |backend: Backend| async move {
        let Some(dir) = corpus_dir() else {
            eprintln!("SKIPPED: fixture corpus ../shared/fixtures/activitypub not found");
            return;
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut rw = Rewriter {
            port: listener.local_addr().unwrap().port(),
            hosts: HashMap::new(),
        };
        let index: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap())
                .unwrap();
        let mut docs: HashMap<String, Value> = HashMap::new();
        let mut actors: Vec<(String, String)> = Vec::new();
        let mut posts: Vec<(String, String, bool)> = Vec::new();
        for e in &index {
            let file = e["file"].as_str().unwrap().to_string();
            let raw: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join(&file)).unwrap()).unwrap();
            let doc = rw.doc(&raw);
            let mut found = vec![doc.clone()];
            if let Some(o) = doc.get("object").filter(|o| o.is_object()) {
                found.push(o.clone());
            }
            for d in found {
                let Some(id) = id_of(&d) else { continue };
                let t = d.get("type").and_then(Value::as_str).unwrap_or("");
                let raw_id = d["id"].as_str().unwrap_or_default().to_string();
                if e["kind"] == "actor" && d == doc {
                    actors.push((file.clone(), raw_id));
                } else if POST_TYPES.contains(&t) {
                    posts.push((file.clone(), raw_id, is_public(&d)));
                    // Authors outside the corpus: the least an actor can be.
                    if let Some(author) = author_of(&d) {
                        let path = url::Url::parse(&author).unwrap();
                        let name = path
                            .path_segments()
                            .and_then(|mut s| s.next_back().map(str::to_string))
                            .filter(|s| !s.is_empty())
                            .unwrap_or_else(|| "someone".into());
                        docs.entry(author.clone()).or_insert_with(|| {
                            json!({
                                "@context": "https://www.w3.org/ns/activitystreams",
                                "type": "Person",
                                "id": author,
                                "inbox": format!("{author}/inbox"),
                                "preferredUsername": name,
                            })
                        });
                    }
                }
                // A fragment is not fetched on its own (Prismo's `…/83#Create`).
                if d["id"].as_str().is_some_and(|s| s.contains('#')) {
                    continue;
                }
                // Where two files share an id, an actor or post is served
                // before a Tombstone or an activity.
                let servable = |v: &Value| {
                    let t = v.get("type").and_then(Value::as_str).unwrap_or("");
                    POST_TYPES.contains(&t) || v.get("inbox").is_some()
                };
                match docs.get(&id) {
                    Some(old) if servable(old) || !servable(&d) => {}
                    _ => {
                        docs.insert(id, d);
                    }
                }
            }
        }
        let served: Served = Arc::new(docs);
        tokio::spawn(async move {
            let app = axum::Router::new().fallback(serve_doc).with_state(served);
            axum::serve(listener, app).await.unwrap();
        });

        let alpha = Instance::start("alpha", backend, FederationMode::Open).await;
        let (user, _) = create_local_user(
            &alpha.app.state.db,
            &alpha.app.state.config,
            NewLocalUser {
                username: "searcher".into(),
                email: "searcher@alpha.example".into(),
                password: "correct horse battery".into(),
                role: Role::User,
            },
        )
        .await
        .unwrap();
        let (token, _) = issue_token(
            &alpha.app.state.db,
            None,
            Some(user.id),
            Scopes::parse("read").unwrap(),
        )
        .await
        .unwrap();
        let client = http();
        let search = |q: String, kind: &'static str| {
            let (client, base, token) = (client.clone(), alpha.base.clone(), token.clone());
            async move {
                let res = client
                    .get(format!("{base}/api/v2/search"))
                    .query(&[("q", q.as_str()), ("type", kind), ("resolve", "true")])
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                (status, body)
            }
        };

        let mut failures = Vec::new();
        for (file, id) in &actors {
            let (status, body) = search(id.clone(), "accounts").await;
            let want = url::Url::parse(id).ok();
            let found = body["accounts"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|x| x["uri"].as_str().and_then(|u| url::Url::parse(u).ok()) == want)
            });
            if status != 200 || !found {
                let why = meetfield::federation::resolve::resolve_account(&alpha.data(), id)
                    .await
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                failures.push(format!("actor {file} ({id}): {status} {body} {why}"));
            }
        }
        let (mut public, mut private) = (0, 0);
        for (file, id, is_public) in &posts {
            let (status, body) = search(id.clone(), "statuses").await;
            let shown = body["statuses"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["uri"] == id.as_str()));
            if status != 200 {
                failures.push(format!("post {file} ({id}): {status} {body}"));
            } else if *is_public && !shown {
                failures.push(format!("public post {file} ({id}) not found: {body}"));
            } else if !is_public && shown {
                failures.push(format!("post {file} ({id}) addressed to others is visible"));
            }
            if *is_public {
                public += 1;
            } else {
                private += 1;
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} actors and {} posts failed:\n{}",
            failures.len(),
            actors.len(),
            posts.len(),
            failures.join("\n")
        );
        assert!(actors.len() >= 70, "{} actors", actors.len());
        assert!(
            public >= 60 && private >= 1,
            "{public} public, {private} other posts"
        );
    }
);
