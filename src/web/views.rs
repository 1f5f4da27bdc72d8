//! What templates show, built from the Mastodon entities the API already
//! renders (one place decides avatars, media URLs and handles).

use serde_json::Value;

use crate::api::mastodon::entities::{self, Ctx};
use crate::db::DbConn;
use crate::db::models::{Account, Status};
use crate::domain::html;
use crate::error::AppResult;

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

#[derive(Debug, Clone)]
pub struct AuthorView {
    pub name: String,
    pub handle: String,
    pub url: String,
    pub avatar: String,
}

impl AuthorView {
    fn from_entity(a: &Value, domain: &str) -> AuthorView {
        let acct = text(a, "acct");
        let handle = if acct.contains('@') {
            format!("@{acct}")
        } else {
            format!("@{acct}@{domain}")
        };
        let name = match text(a, "display_name") {
            n if n.trim().is_empty() => text(a, "username"),
            n => n,
        };
        AuthorView {
            name,
            handle,
            url: text(a, "url"),
            avatar: text(a, "avatar"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MediaView {
    pub url: String,
    pub preview: String,
    pub alt: String,
}

#[derive(Debug, Clone)]
pub struct PostView {
    pub id: String,
    pub link: String,
    pub author: AuthorView,
    pub spoiler: String,
    /// Sanitized again here: whatever reached the database, a page only
    /// ever carries the tags we allow.
    pub content: String,
    pub plain: String,
    pub media: Vec<MediaView>,
    pub created: String,
    pub created_iso: String,
    pub reply_to: Option<String>,
    pub replies: i64,
    pub boosts: i64,
    pub favourites: i64,
}

/// Posts as pages show them, in the order given.
pub fn posts(c: &mut DbConn, ctx: &Ctx, list: &[Status]) -> AppResult<Vec<PostView>> {
    let rendered = entities::statuses(c, ctx, list, None)?;
    Ok(list
        .iter()
        .zip(rendered)
        .map(|(s, v)| post_view(ctx, s, &v))
        .collect())
}

fn post_view(ctx: &Ctx, s: &Status, v: &Value) -> PostView {
    let media = v["media_attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| MediaView {
            url: text(m, "url"),
            preview: m["preview_url"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| text(m, "url")),
            alt: text(m, "description"),
        })
        .collect();
    let link = v["url"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| s.uri.clone());
    PostView {
        id: s.id.to_string(),
        link,
        author: AuthorView::from_entity(&v["account"], &ctx.domain),
        spoiler: s.spoiler_text.clone(),
        content: html::sanitize(&s.content),
        plain: html::strip_tags(&s.content),
        media,
        created: s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        created_iso: entities::iso(s.created_at),
        reply_to: s.in_reply_to_uri.clone(),
        replies: s.replies_count,
        boosts: s.reblogs_count,
        favourites: s.favourites_count,
    }
}

#[derive(Debug, Clone)]
pub struct PersonView {
    pub name: String,
    pub handle: String,
    pub url: String,
    pub avatar: String,
    pub note: String,
    pub plain_note: String,
    /// (name, sanitized value HTML), links marked `rel=me` as Mastodon does
    /// so that sites the person links to can verify the link back.
    pub fields: Vec<(String, String)>,
    pub bot: bool,
    pub locked: bool,
    pub posts: i64,
    pub followers: i64,
    pub following: i64,
    pub reasons: String,
}

pub fn person(c: &mut DbConn, ctx: &Ctx, a: &Account) -> AppResult<PersonView> {
    let v = entities::account(c, ctx, a)?;
    let author = AuthorView::from_entity(&v, &ctx.domain);
    let fields = v["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| (text(f, "name"), html::sanitize_rel_me(&text(f, "value"))))
        .collect();
    Ok(PersonView {
        name: author.name,
        handle: author.handle,
        url: author.url,
        avatar: author.avatar,
        note: html::sanitize(&a.note),
        plain_note: html::strip_tags(&a.note),
        fields,
        bot: a.bot,
        locked: a.locked,
        posts: a.statuses_count,
        followers: a.followers_count,
        following: a.following_count,
        reasons: String::new(),
    })
}
