//! The corpus of ActivityPub documents captured from 33 other servers
//! (../shared/fixtures/activitypub): every document parses; every actor and
//! every post stores and renders, on both backends.

mod common;

use std::path::PathBuf;

use common::TestDb;
use meetfield::db::DbError;
use meetfield::db::models::account::RemoteActorData;
use meetfield::db::models::{Account, Status};
use meetfield::domain::statuses::remote_note_row;
use meetfield::federation::activities::inbox::InboxActivity;
use meetfield::federation::objects::account::remote_actor_row;
use meetfield::federation::protocol::actor::ActorJson;
use meetfield::federation::protocol::note::{NoteJson, POST_TYPES};
use serde_json::Value;

fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/activitypub");
    dir.join("index.json").is_file().then_some(dir)
}

struct Entry {
    file: String,
    kind: String,
    doc: Value,
}

fn load() -> Option<Vec<Entry>> {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIPPED: fixture corpus ../shared/fixtures/activitypub not found");
        return None;
    };
    let index: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    Some(
        index
            .iter()
            .map(|e| {
                let file = e["file"].as_str().unwrap().to_string();
                let text = std::fs::read_to_string(dir.join(&file)).unwrap();
                Entry {
                    kind: e["kind"].as_str().unwrap().to_string(),
                    doc: serde_json::from_str(&text).unwrap_or_else(|err| panic!("{file}: {err}")),
                    file,
                }
            })
            .collect(),
    )
}

/// Objects that are not posts and that we do not store as such.
const NOT_POSTS: &[&str] = &["Tombstone", "Emoji", "ChatMessage"];

fn posts_in(doc: &Value) -> Vec<Value> {
    let t = doc.get("type").and_then(Value::as_str).unwrap_or("");
    if POST_TYPES.contains(&t) {
        return vec![doc.clone()];
    }
    match doc.get("object") {
        Some(o) if o.is_object() => posts_in(o),
        _ => Vec::new(),
    }
}

fn placeholder_author(uri: &str) -> RemoteActorData {
    let url = url::Url::parse(uri).unwrap();
    let t = meetfield::db::now();
    RemoteActorData {
        username: url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .filter(|s| !s.is_empty())
            .unwrap_or("someone")
            .to_string(),
        domain: Some(meetfield::federation::protocol::helpers::authority(&url)),
        actor_type: "Person".into(),
        uri: uri.to_string(),
        url: None,
        display_name: String::new(),
        note: String::new(),
        fields: "[]".into(),
        avatar_url: None,
        header_url: None,
        inbox_url: Some(format!("{uri}/inbox")),
        outbox_url: None,
        shared_inbox_url: None,
        followers_url: None,
        following_url: None,
        public_key_pem: None,
        public_key_id: None,
        locked: false,
        discoverable: false,
        bot: false,
        updated_at: t,
        fetched_at: Some(t),
    }
}

fn assert_clean(file: &str, html: &str) {
    for bad in [
        "<script",
        "onerror=",
        "onclick=",
        "javascript:",
        "<iframe",
        "<style",
    ] {
        assert!(
            !html.to_lowercase().contains(bad),
            "{file}: unsanitized {bad} in {html}"
        );
    }
}

both_backends!(corpus_parses_stores_and_renders, |tdb: TestDb| async move {
    let Some(entries) = load() else { return };
    assert_eq!(entries.len(), 270, "index lists 270 documents");
    let db = tdb.open().await;
    let (mut actors, mut posts, mut activities) = (0, 0, 0);
    let (mut attachments, mut polls) = (0usize, 0usize);
    let mut failures: Vec<String> = Vec::new();
    for e in &entries {
        match e.kind.as_str() {
            "actor" => {
                let json: ActorJson = match serde_json::from_value(e.doc.clone()) {
                    Ok(j) => j,
                    Err(err) => {
                        failures.push(format!("{}: actor does not parse: {err}", e.file));
                        continue;
                    }
                };
                let row = match remote_actor_row(&json) {
                    Ok(r) => r,
                    Err(err) => {
                        failures.push(format!("{}: actor row: {err}", e.file));
                        continue;
                    }
                };
                let stored = db
                    .transaction(move |c| Account::upsert_remote(c, &row).map_err(DbError::from))
                    .await
                    .unwrap_or_else(|err| panic!("{}: actor does not store: {err}", e.file));
                assert!(!stored.username.is_empty(), "{}", e.file);
                assert_eq!(stored.uri, json.id.as_str());
                assert_clean(&e.file, &stored.note);
                assert_clean(&e.file, &stored.fields);
                // Rendered back as an actor document with the same id.
                let rendered = meetfield::federation::objects::account::local_actor_json(
                    &stored,
                    None,
                    "https://here.example",
                );
                assert_eq!(rendered.id.as_str(), stored.uri, "{}", e.file);
                actors += 1;
            }
            "activity" => match serde_json::from_value::<InboxActivity>(e.doc.clone()) {
                Ok(_) => activities += 1,
                Err(err) => failures.push(format!("{}: activity does not parse: {err}", e.file)),
            },
            _ => {}
        }
        for p in posts_in(&e.doc) {
            let t = p.get("type").and_then(Value::as_str).unwrap_or("");
            if NOT_POSTS.contains(&t) {
                continue;
            }
            let note: NoteJson = match serde_json::from_value(p.clone()) {
                Ok(n) => n,
                Err(err) => {
                    failures.push(format!("{}: post does not parse: {err}", e.file));
                    continue;
                }
            };
            let author_uri = note
                .author()
                .map(|u| u.to_string())
                .unwrap_or_else(|| panic!("{}: post without author", e.file));
            let file = e.file.clone();
            let stored = db
                .transaction(move |c| {
                    let author = match Account::by_uri(c, &author_uri)? {
                        Some(a) => a,
                        None => Account::upsert_remote(c, &placeholder_author(&author_uri))?,
                    };
                    let (new, _, tags) = remote_note_row(&note, &author, None);
                    let (s, fresh) = match Status::by_uri(c, &new.uri)? {
                        Some(s) => (s, false),
                        None => (Status::insert(c, &new)?, true),
                    };
                    let mut media = 0;
                    if fresh {
                        for t in &tags {
                            Status::add_tag(c, s.id, t)?;
                        }
                        media = meetfield::domain::media::store_remote(
                            c,
                            s.id,
                            author.id,
                            note.attachment.as_ref(),
                        )?;
                        if let Some(q) = note.question() {
                            meetfield::domain::polls::store_remote(c, s.id, &q)?;
                        }
                    }
                    Ok::<_, DbError>((s, media))
                })
                .await
                .unwrap_or_else(|err| panic!("{file}: post does not store: {err}"));
            let (stored, media) = stored;
            // Attachments and polls display as apps expect them.
            let (sid, file) = (stored.id, e.file.clone());
            let rendered = db
                .run(move |c| {
                    let s = Status::by_id(c, sid)?;
                    let ctx = meetfield::api::mastodon::entities::Ctx {
                        base: "https://corpus.example".into(),
                        domain: "corpus.example".into(),
                    };
                    meetfield::api::mastodon::entities::status(c, &ctx, &s, None)
                })
                .await
                .unwrap_or_else(|err| panic!("{file}: post does not render: {err}"));
            let shown = rendered["media_attachments"].as_array().unwrap();
            assert_eq!(shown.len(), media, "{}", e.file);
            for m in shown {
                assert!(
                    m["url"].is_string() && m["remote_url"].is_string(),
                    "{}: {m}",
                    e.file
                );
                assert!(
                    ["image", "video", "audio", "unknown"].contains(&m["type"].as_str().unwrap()),
                    "{}: {m}",
                    e.file
                );
            }
            attachments += media;
            if let Some(poll) = rendered.get("poll").filter(|p| !p.is_null()) {
                assert!(
                    poll["options"].as_array().unwrap().len() >= 2,
                    "{}: {poll}",
                    e.file
                );
                polls += 1;
            }
            assert_clean(&e.file, &stored.content);
            assert!(
                !stored.content.is_empty() || p.get("content").is_none() && p.get("name").is_none(),
                "{}: content lost",
                e.file
            );
            posts += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "corpus: {actors} actors, {posts} posts ({attachments} attachments, {polls} polls), {activities} activities stored or parsed"
    );
    assert!(attachments >= 10, "{attachments} attachments");
    assert!(polls >= 1, "{polls} polls");
    assert_eq!(actors, 78);
    assert!(posts >= 80, "{posts}");
});
