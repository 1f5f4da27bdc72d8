//! Plain text as typed in an app → the HTML we store and federate, with
//! links, mentions and hashtags marked up the way Mastodon clients expect.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

/// `@user` or `@user@host[:port]` not preceded by a word character or `/`.
static MENTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\w/@])@([A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?)(?:@([A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?(?::\d+)?))?")
        .expect("mention regex")
});
static HASHTAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^\w&/#])#(\w*[^\W\d_]\w*)").expect("hashtag regex"));
static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"https?://[^\s<>\x22]+[^\s<>\x22.,;:!?)\]']|@[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?(?:@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?(?::\d+)?)?|#\w+")
        .expect("token regex")
});

/// A mention as written: user and optional host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MentionRef {
    pub user: String,
    pub host: Option<String>,
}

impl MentionRef {
    /// Lower-case key `user` or `user@host`.
    pub fn key(&self) -> String {
        match &self.host {
            Some(h) => format!("{}@{}", self.user, h).to_lowercase(),
            None => self.user.to_lowercase(),
        }
    }
}

pub fn mentions_in(text: &str) -> Vec<MentionRef> {
    let mut out: Vec<MentionRef> = Vec::new();
    for c in MENTION.captures_iter(text) {
        let m = MentionRef {
            user: c[1].to_string(),
            host: c.get(2).map(|h| h.as_str().to_lowercase()),
        };
        if !out.iter().any(|x| x.key() == m.key()) {
            out.push(m);
        }
    }
    out
}

/// Hashtags, lower-cased, in order of first use.
pub fn hashtags_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in HASHTAG.captures_iter(text) {
        let t = c[1].to_lowercase();
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Links, as the renderer marks them up, in order of first use.
pub fn links_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in TOKEN.find_iter(text) {
        let t = m.as_str();
        if t.starts_with("http") && !out.iter().any(|x| x == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// Text as HTML text or attribute value.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A resolved mention: where it links and how it is shown.
#[derive(Debug, Clone)]
pub struct MentionTarget {
    pub url: String,
    pub username: String,
}

fn render_line(line: &str, mentions: &HashMap<String, MentionTarget>, base: &str) -> String {
    let mut out = String::new();
    let mut last = 0;
    for m in TOKEN.find_iter(line) {
        let tok = m.as_str();
        // Tokens glued to a word (e.g. an email address) stay text.
        let glued = line[..m.start()]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '/' || c == '&');
        let html = if glued {
            None
        } else if tok.starts_with("http") {
            let e = escape(tok);
            Some(format!(
                "<a href=\"{e}\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">{e}</a>"
            ))
        } else if let Some(rest) = tok.strip_prefix('@') {
            mentions.get(&rest.to_lowercase()).map(|t| {
                format!(
                    "<span class=\"h-card\" translate=\"no\"><a href=\"{}\" class=\"u-url mention\">@<span>{}</span></a></span>",
                    escape(&t.url),
                    escape(&t.username)
                )
            })
        } else if let Some(tag) = tok.strip_prefix('#') {
            (tag.chars().any(|c| !c.is_ascii_digit() && c != '_')).then(|| {
                format!(
                    "<a href=\"{base}/tags/{}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
                    escape(&tag.to_lowercase()),
                    escape(tag)
                )
            })
        } else {
            None
        };
        if let Some(h) = html {
            out.push_str(&escape(&line[last..m.start()]));
            out.push_str(&h);
            last = m.end();
        }
    }
    out.push_str(&escape(&line[last..]));
    out
}

/// Paragraphs on blank lines, `<br>` on single newlines.
pub fn render(text: &str, mentions: &HashMap<String, MentionTarget>, base: &str) -> String {
    let normalized = text.replace("\r\n", "\n");
    normalized
        .split("\n\n")
        .map(|p| p.trim_matches('\n'))
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p
                .split('\n')
                .map(|l| render_line(l, mentions, base))
                .collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mentions_and_tags() {
        let t = "hi @bob and @Carol@Beta.localhost:8001, not mail@x.example. #Rust #rust #2024 #a1";
        let m = mentions_in(t);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(m[0].key(), "bob");
        assert_eq!(m[1].key(), "carol@beta.localhost:8001");
        assert_eq!(hashtags_in(t), vec!["rust", "a1"]);
        assert_eq!(
            links_in(
                "see https://a.example/@bob/1. and (https://b.example/x) https://a.example/@bob/1"
            ),
            vec!["https://a.example/@bob/1", "https://b.example/x"]
        );
    }

    #[test]
    fn renders_escaped_linked_html() {
        let mut m = HashMap::new();
        m.insert(
            "bob".to_string(),
            MentionTarget {
                url: "https://a.example/@bob".into(),
                username: "bob".into(),
            },
        );
        let html = render(
            "<b>hi</b> @bob see https://x.example/a?b=1&c=2.\nnext #Tag\n\n@ghost p2",
            &m,
            "https://a.example",
        );
        assert!(html.starts_with("<p>&lt;b&gt;hi&lt;/b&gt; "), "{html}");
        assert!(
            html.contains(
                r#"<a href="https://a.example/@bob" class="u-url mention">@<span>bob</span></a>"#
            ),
            "{html}"
        );
        assert!(
            html.contains(r#"href="https://x.example/a?b=1&amp;c=2""#),
            "{html}"
        );
        assert!(
            html.contains(">https://x.example/a?b=1&amp;c=2</a>.<br>"),
            "{html}"
        );
        assert!(html.contains(r#"<a href="https://a.example/tags/tag" class="mention hashtag" rel="tag">#<span>Tag</span></a>"#), "{html}");
        assert!(
            html.contains("</p><p>@ghost p2</p>"),
            "unresolved mention stays text: {html}"
        );
    }
}
