//! HTML that reaches our database or a client passes through here first.
//! Uses ammonia (html5ever-based, maintained) with the subset of tags and
//! classes that Mastodon keeps for remote content.

use std::collections::HashSet;
use std::sync::OnceLock;

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static B: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    B.get_or_init(|| {
        let mut b = ammonia::Builder::empty();
        b.add_tags([
            "p",
            "br",
            "a",
            "span",
            "strong",
            "b",
            "em",
            "i",
            "u",
            "del",
            "s",
            "pre",
            "code",
            "blockquote",
            "ul",
            "ol",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
        ])
        .add_tag_attributes("a", ["href", "class", "translate"])
        .add_tag_attributes("span", ["class", "translate"])
        .add_tag_attributes("ol", ["start", "reversed"])
        .add_tag_attributes("li", ["value"])
        .url_schemes(HashSet::from(["http", "https", "mailto", "xmpp", "matrix"]))
        .link_rel(Some("nofollow noopener noreferrer"))
        .attribute_filter(|element, attribute, value| {
            if attribute == "class" {
                // Keep only the microformat and Mastodon classes clients style.
                let kept: Vec<&str> = value
                    .split_whitespace()
                    .filter(|c| {
                        c.starts_with("h-")
                            || c.starts_with("u-")
                            || c.starts_with("p-")
                            || c.starts_with("dt-")
                            || c.starts_with("e-")
                            || matches!(*c, "mention" | "hashtag" | "ellipsis" | "invisible")
                    })
                    .collect();
                let _ = element;
                return if kept.is_empty() {
                    None
                } else {
                    Some(kept.join(" ").into())
                };
            }
            Some(value.into())
        });
        b
    })
}

/// Sanitized HTML, safe to store and to send to clients.
pub fn sanitize(html: &str) -> String {
    sanitizer().clean(html).to_string()
}

/// Sanitized profile-field HTML whose links say `rel="me"`, as Mastodon's
/// profile pages do, so a site the person links to can verify the link back.
pub fn sanitize_rel_me(html: &str) -> String {
    sanitize(html).replace(
        "rel=\"nofollow noopener noreferrer\"",
        "rel=\"me nofollow noopener noreferrer\"",
    )
}

/// Text without markup, for places that show plain text (names, previews).
pub fn strip_tags(html: &str) -> String {
    let cleaned = ammonia::Builder::empty().clean(html).to_string();
    // ammonia escapes text; undo the common entities for a plain-text view.
    cleaned
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_scripts_handlers_and_foreign_classes() {
        let dirty = r#"<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:alert(1)">x</a>
            <a href="https://ok.example/" class="mention u-url evil">@ok</a><img src=x onerror=y></p>"#;
        let clean = sanitize(dirty);
        assert!(!clean.contains("script"), "{clean}");
        assert!(!clean.contains("onclick"), "{clean}");
        assert!(!clean.contains("javascript"), "{clean}");
        assert!(!clean.contains("<img"), "{clean}");
        assert!(!clean.contains("evil"), "{clean}");
        assert!(clean.contains(r#"class="mention u-url""#), "{clean}");
        assert!(clean.contains("nofollow"), "{clean}");
    }

    #[test]
    fn strips_to_text() {
        assert_eq!(strip_tags("<p>a &amp; <b>b</b></p>"), "a & b");
    }
}
