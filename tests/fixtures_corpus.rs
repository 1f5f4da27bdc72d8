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
        indexable: false,
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

fn corpus_doc(file: &str) -> Option<Value> {
    let dir = corpus_dir()?;
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    Some(serde_json::from_str(&text).unwrap())
}

/// Lemmy's own community documents, read as a member's server reads them:
/// the community actor (its moderators collection is `attributedTo`), the
/// moderators collection, and what the community announces (a post's
/// Create, a moderator's Add/Remove, a removal, votes and locks).
#[test]
fn lemmy_community_documents() {
    use meetfield::federation::activities::interactions::{Relayed, relayed_by_group};
    let Some(group) = corpus_doc("lemmy/actor_group.json") else {
        eprintln!("SKIPPED: fixture corpus ../shared/fixtures/activitypub not found");
        return;
    };
    let actor: ActorJson = serde_json::from_value(group).unwrap();
    assert_eq!(actor.kind, "Group");
    assert_eq!(actor.posting_restricted_to_mods, Some(false));
    let collection = actor
        .moderators_collection()
        .expect("moderators collection");
    assert_eq!(
        collection.as_str(),
        "https://enterprise.lemmy.ml/c/tenforward/moderators"
    );
    let mods = corpus_doc("lemmy/collection_group_moderators.json").unwrap();
    assert_eq!(
        meetfield::domain::groups::moderator_uris(&mods)
            .iter()
            .map(|u| u.as_str())
            .collect::<Vec<_>>(),
        vec!["https://enterprise.lemmy.ml/u/picard"]
    );
    // What the community Announces: a post arrives inline...
    let announce = corpus_doc("lemmy/activity_community_announce_create_page.json").unwrap();
    match relayed_by_group(&announce["object"]) {
        Relayed::Post(post) => {
            let note: NoteJson = serde_json::from_value(post).unwrap();
            assert_eq!(note.kind, "Page");
            assert!(note.html().contains("<strong>"), "Lemmy's title kept");
        }
        other => panic!("{other:?}"),
    }
    // ...moderator changes name the person and the collection...
    for (file, add) in [
        ("lemmy/activity_community_add_mod.json", true),
        ("lemmy/activity_community_remove_mod.json", false),
    ] {
        let inner = corpus_doc(file).unwrap();
        match relayed_by_group(&inner) {
            Relayed::Moderator {
                person,
                target,
                add: a,
            } => {
                assert_eq!(a, add, "{file}");
                assert_eq!(person.as_str(), "http://ds9.lemmy.ml/u/lemmy_alpha");
                assert_eq!(
                    target.as_str(),
                    "http://enterprise.lemmy.ml/c/main/moderators"
                );
            }
            other => panic!("{file}: {other:?}"),
        }
        // Sent directly, the same document is an Add/Remove activity.
        let direct: meetfield::federation::protocol::activities::AddRemove =
            serde_json::from_value(inner).unwrap();
        assert_eq!(
            direct.kind == meetfield::federation::protocol::activities::AddRemoveType::Add,
            add
        );
    }
    // ...a moderator's removal takes the post out; votes and locks do not
    // touch anything here.
    let removal = corpus_doc("lemmy/activity_deletion_remove_note.json").unwrap();
    assert_eq!(
        relayed_by_group(&removal),
        Relayed::Delete(url::Url::parse("http://ds9.lemmy.ml/comment/1").unwrap())
    );
    for file in [
        "lemmy/activity_voting_like_note.json",
        "lemmy/activity_voting_dislike_page.json",
        "lemmy/activity_community_lock_page.json",
        "lemmy/activity_voting_undo_like_note.json",
    ] {
        assert_eq!(
            relayed_by_group(&corpus_doc(file).unwrap()),
            Relayed::Ignored,
            "{file}"
        );
    }
}

/// A document from `tests/fixtures/groups` (FEP examples and a Friendica
/// capture that the shared corpus does not have; see its README).
fn group_fixture(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/groups")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// FEP-1b12's own examples: the group names its moderators collection in
/// `attributedTo`, announces a member's Create whole, and announces a
/// moderator's Add to that collection.
#[test]
fn fep_1b12_examples() {
    use meetfield::federation::activities::interactions::{Relayed, relayed_by_group};
    let mut group = group_fixture("spec/fep-1b12/group_actor_with_moderators.json");
    // The example leaves out what every actor has.
    group["inbox"] = Value::from("https://example.org/my-forum/inbox");
    let actor: ActorJson = serde_json::from_value(group).unwrap();
    assert_eq!(
        actor.moderators_collection().unwrap().as_str(),
        "https://example.org/my-forum/moderators"
    );
    let mods = group_fixture("spec/fep-1b12/moderators_collection.json");
    assert_eq!(
        meetfield::domain::groups::moderator_uris(&mods)
            .iter()
            .map(|u| u.as_str())
            .collect::<Vec<_>>(),
        vec!["https://example.org/picard", "https://example.org/riker"]
    );
    let announce = group_fixture("spec/fep-1b12/announce_create_page.json");
    match relayed_by_group(&announce["object"]) {
        Relayed::Post(post) => {
            let page: NoteJson = serde_json::from_value(post).unwrap();
            assert_eq!(page.kind, "Page");
            assert!(page.html().contains("Hello forum!"));
        }
        other => panic!("{other:?}"),
    }
    let announce = group_fixture("spec/fep-1b12/announce_add_moderator.json");
    assert_eq!(
        relayed_by_group(&announce["object"]),
        Relayed::Moderator {
            person: url::Url::parse("http://example.org/data").unwrap(),
            target: url::Url::parse("https://example.org/my-forum/moderators").unwrap(),
            add: true,
        }
    );
}

/// Mitra's groups (shapes its own tests assert: `attributedTo` is an
/// `…/administrators` collection; the group's Announce carries the member's
/// whole activity with `audience` set to the group; roles change through
/// FEP-5219 `Relationship`s), with Mitra's captured documents from the corpus.
#[test]
fn mitra_groups() {
    use meetfield::federation::activities::follow::answered_follow;
    use meetfield::federation::activities::interactions::{Relayed, relayed_by_group};
    let actor: ActorJson = serde_json::from_value(serde_json::json!({
        "id": "https://mitra.example/users/team",
        "type": "Group",
        "preferredUsername": "team",
        "inbox": "https://mitra.example/users/team/inbox",
        "attributedTo": "https://mitra.example/ap/actors/0190363a-4fcf/administrators",
        "affiliations": "https://mitra.example/ap/actors/0190363a-4fcf/affiliations",
    }))
    .unwrap();
    assert_eq!(
        actor.moderators_collection().unwrap().as_str(),
        "https://mitra.example/ap/actors/0190363a-4fcf/administrators"
    );
    // A creator named in attributedTo is not a moderators list.
    let person_attributed: ActorJson = serde_json::from_value(serde_json::json!({
        "id": "https://other.example/g/team", "type": "Group",
        "inbox": "https://other.example/g/team/inbox",
        "attributedTo": "https://other.example/users/alice",
    }))
    .unwrap();
    assert_eq!(person_attributed.moderators_collection(), None);
    // A Relationship added to `affiliations` is not a moderator change.
    let affiliation = group_fixture("spec/fep-5219/add_affiliation.json");
    assert_eq!(relayed_by_group(&affiliation), Relayed::Ignored);

    let Some(create) = corpus_doc("mitra/activity_create_post.json") else {
        eprintln!(
            "SKIPPED (captured Mitra documents): fixture corpus ../shared/fixtures/activitypub not found"
        );
        return;
    };
    // Mitra's group relays a member's Create as is; the post names the group
    // as its audience, which is how it reaches a group here without a mention.
    let announce = serde_json::json!({
        "type": "Announce",
        "id": "https://mitra.example/activities/announce/1",
        "actor": "https://voyager.lemmy.ml/c/pubtest0906",
        "object": create,
        "audience": "https://voyager.lemmy.ml/c/pubtest0906",
    });
    match relayed_by_group(&announce["object"]) {
        Relayed::Post(post) => {
            let note: NoteJson = serde_json::from_value(post).unwrap();
            assert_eq!(
                note.audience.as_ref().and_then(Value::as_str),
                Some("https://voyager.lemmy.ml/c/pubtest0906")
            );
            assert!(note.html().contains("Remote post 5"));
        }
        other => panic!("{other:?}"),
    }
    // Mitra's Accept names the Follow by id only.
    let accept = corpus_doc("mitra/activity_accept.json").unwrap();
    let parsed: meetfield::federation::protocol::activities::Accept =
        serde_json::from_value(accept.clone()).unwrap();
    assert_eq!(
        answered_follow(&parsed.object),
        (
            Some(
                "https://voyager.lemmy.ml/activities/follow/7d782f02-b91d-4455-b6c0-772540f00c2d"
                    .to_string()
            ),
            None
        )
    );
}

/// Friendica's groups: a group Announce names the post by its id (fetched
/// like a Mastodon boost); an Accept from a Friendica group whose Follow id
/// was a database number still names the follower.
#[test]
fn friendica_groups() {
    use meetfield::federation::activities::follow::answered_follow;
    use meetfield::federation::activities::interactions::{Relayed, relayed_by_group};
    let accept = group_fixture("friendica/accept_follow_by_group_partial.json");
    let parsed: meetfield::federation::protocol::activities::Accept =
        serde_json::from_value(accept).unwrap();
    assert_eq!(
        answered_follow(&parsed.object),
        (
            None,
            Some(url::Url::parse("http://localhost:7575/users/Carson").unwrap())
        )
    );
    let Some(note) = corpus_doc("friendica/object_note_1.json") else {
        eprintln!(
            "SKIPPED (captured Friendica documents): fixture corpus ../shared/fixtures/activitypub not found"
        );
        return;
    };
    assert_eq!(relayed_by_group(&note["id"]), Relayed::Object);
    assert_eq!(relayed_by_group(&note), Relayed::Object);
    // Friendica users post into groups with the group in `audience`/`to`.
    for file in [
        "friendica/activity_create_page_2.json",
        "friendica/activity_create_note.json",
    ] {
        let create = corpus_doc(file).unwrap();
        let note: NoteJson = serde_json::from_value(create["object"].clone()).unwrap();
        let (to, cc) = note.recipients();
        let addressed: Vec<String> = to
            .into_iter()
            .chain(cc)
            .chain(
                note.audience
                    .as_ref()
                    .and_then(Value::as_str)
                    .map(String::from),
            )
            .collect();
        assert!(
            addressed.iter().any(|u| u.contains("/c/")),
            "{file}: the Lemmy group is addressed: {addressed:?}"
        );
    }
}
