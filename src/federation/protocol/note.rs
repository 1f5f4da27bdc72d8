//! Posts as JSON (Note, and the Page/Article/Question/… others send) and
//! the addressing that carries visibility.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::helpers::{id_of, urls_of};

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// Object types we store as posts.
pub const POST_TYPES: &[&str] = &[
    "Note", "Page", "Article", "Question", "Event", "Video", "Audio", "Image", "Document",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteJson {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributed_to: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_map: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::helpers::lenient_bool"
    )]
    pub sensitive: Option<bool>,
    #[serde(default)]
    pub in_reply_to: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replies: Option<Value>,
    /// Question: single-choice options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Value>,
    /// Question: multiple-choice options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voters_count: Option<Value>,
    /// The reply its author (or group) accepted as the answer: schema.org's
    /// `acceptedAnswer`, a Meetfield extension others ignore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_answer: Option<Value>,
}

impl NoteJson {
    /// The accepted answer's id, a URL or an object with one.
    pub fn accepted_answer_id(&self) -> Option<String> {
        match self.accepted_answer.as_ref()? {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
    }

    /// The author: a URL, or the first Person-like entry of a list
    /// (PeerTube lists the channel Group too).
    pub fn author(&self) -> Option<Url> {
        match self.attributed_to.as_ref()? {
            Value::Array(items) => items
                .iter()
                .find(|i| {
                    i.is_string()
                        || matches!(
                            i.get("type").and_then(Value::as_str),
                            Some("Person" | "Service" | "Application")
                        )
                })
                .or_else(|| items.first())
                .and_then(id_of),
            other => id_of(other),
        }
    }

    /// The poll of a Question, as one JSON object (None for other posts).
    pub fn question(&self) -> Option<Value> {
        if self.one_of.is_none() && self.any_of.is_none() {
            return None;
        }
        Some(serde_json::json!({
            "oneOf": self.one_of,
            "anyOf": self.any_of,
            "endTime": self.end_time,
            "closed": self.closed,
            "votersCount": self.voters_count,
        }))
    }

    pub fn parent(&self) -> Option<Url> {
        self.in_reply_to.as_ref().and_then(id_of)
    }

    /// HTML content, from `content` or the first `contentMap` entry; posts
    /// with a title (Lemmy, Article) get it as a first paragraph.
    pub fn html(&self) -> String {
        let body = self.content.clone().or_else(|| {
            self.content_map
                .as_ref()
                .and_then(Value::as_object)
                .and_then(|m| m.values().find_map(Value::as_str).map(str::to_string))
        });
        let body = body.unwrap_or_default();
        match (&self.name, self.kind.as_str()) {
            // A title (Lemmy, Article), or a name that is all there is.
            (Some(title), kind) if !title.is_empty() && (kind != "Note" || body.is_empty()) => {
                let title = title
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                format!("<p><strong>{title}</strong></p>{body}")
            }
            _ => body,
        }
    }

    pub fn published_at(&self) -> Option<DateTime<Utc>> {
        self.published
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
    }

    /// Tag entries of a type (`Mention`, `Hashtag`) as (href, name); AS2
    /// requires neither, so a mention may come by `href` alone (name empty).
    pub fn tags_of(&self, kind: &str) -> Vec<(Option<String>, String)> {
        let items = match &self.tag {
            Some(Value::Array(a)) => a.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => Vec::new(),
        };
        items
            .iter()
            .filter(|t| t.get("type").and_then(Value::as_str) == Some(kind))
            .filter_map(|t| {
                let name = t.get("name").and_then(Value::as_str).unwrap_or_default();
                let href = t.get("href").and_then(Value::as_str).map(str::to_string);
                (href.is_some() || !name.is_empty()).then(|| (href, name.to_string()))
            })
            .collect()
    }

    pub fn recipients(&self) -> (Vec<String>, Vec<String>) {
        (urls_of(self.to.as_ref()), urls_of(self.cc.as_ref()))
    }
}

fn is_public(v: &str) -> bool {
    v == PUBLIC || v == "as:Public" || v == "Public"
}

/// Visibility as Mastodon names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Unlisted,
    Private,
    Direct,
    /// Never leaves this instance.
    Local,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
            Visibility::Direct => "direct",
            Visibility::Local => "local",
        }
    }

    pub fn parse(s: &str) -> Option<Visibility> {
        Some(match s {
            "public" => Visibility::Public,
            "unlisted" => Visibility::Unlisted,
            "private" => Visibility::Private,
            "direct" => Visibility::Direct,
            "local" => Visibility::Local,
            _ => return None,
        })
    }

    /// Whether anyone (including remote fetches) may see it.
    pub fn is_public_ish(self) -> bool {
        matches!(self, Visibility::Public | Visibility::Unlisted)
    }
}

/// `to` and `cc` for a post of `visibility` by an actor with `followers`.
pub fn addressing(
    visibility: Visibility,
    followers: &str,
    mentions: &[String],
) -> (Vec<String>, Vec<String>) {
    let m = mentions.to_vec();
    match visibility {
        Visibility::Public => (vec![PUBLIC.into()], [vec![followers.into()], m].concat()),
        Visibility::Unlisted => (vec![followers.into()], [vec![PUBLIC.into()], m].concat()),
        Visibility::Private => (vec![followers.into()], m),
        Visibility::Direct => (m, Vec::new()),
        Visibility::Local => (Vec::new(), Vec::new()),
    }
}

/// The visibility that `to`/`cc` express; `followers` is the author's
/// followers collection when known.
pub fn visibility_of(to: &[String], cc: &[String], followers: Option<&str>) -> Visibility {
    if to.iter().any(|v| is_public(v)) {
        return Visibility::Public;
    }
    if cc.iter().any(|v| is_public(v)) {
        return Visibility::Unlisted;
    }
    let is_followers = |v: &String| match followers {
        Some(f) => v == f,
        None => v.ends_with("/followers"),
    };
    if to.iter().chain(cc).any(is_followers) {
        return Visibility::Private;
    }
    Visibility::Direct
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addressing_round_trips() {
        let f = "https://a.example/users/x/followers";
        let m = vec!["https://b.example/users/y".to_string()];
        for v in [
            Visibility::Public,
            Visibility::Unlisted,
            Visibility::Private,
            Visibility::Direct,
        ] {
            let (to, cc) = addressing(v, f, &m);
            assert_eq!(visibility_of(&to, &cc, Some(f)), v, "{v:?}");
            assert_eq!(
                visibility_of(&to, &cc, None),
                v,
                "{v:?} without followers url"
            );
        }
        let (to, cc) = addressing(Visibility::Local, f, &m);
        assert!(to.is_empty() && cc.is_empty());
        assert_eq!(
            visibility_of(&["as:Public".into()], &[], None),
            Visibility::Public
        );
    }

    #[test]
    fn lenient_fields() {
        let n: NoteJson = serde_json::from_value(serde_json::json!({
            "id": "https://p.example/videos/1",
            "type": "Video",
            "name": "A <talk>",
            "content": "<p>x</p>",
            "attributedTo": [
                {"type": "Group", "id": "https://p.example/c/chan"},
                {"type": "Person", "id": "https://p.example/a/joe"}
            ],
            "published": "2024-01-02T03:04:05.678Z",
            "tag": {"type": "Hashtag", "name": "#t", "href": "https://p.example/tags/t"}
        }))
        .unwrap();
        assert_eq!(n.author().unwrap().as_str(), "https://p.example/a/joe");
        assert_eq!(n.html(), "<p><strong>A &lt;talk&gt;</strong></p><p>x</p>");
        assert!(n.published_at().is_some());
        assert_eq!(n.tags_of("Hashtag").len(), 1);
    }

    #[test]
    fn mention_by_href_alone() {
        let n: NoteJson = serde_json::from_value(serde_json::json!({
            "id": "https://p.example/notes/1",
            "type": "Note",
            "content": "hi",
            "tag": [
                {"type": "Mention", "href": "https://q.example/users/al"},
                {"type": "Mention"}
            ]
        }))
        .unwrap();
        assert_eq!(
            n.tags_of("Mention"),
            vec![(
                Some("https://q.example/users/al".to_string()),
                String::new()
            )]
        );
    }
}
