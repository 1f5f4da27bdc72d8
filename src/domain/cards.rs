//! Link preview cards: a post's first link (not a mention or hashtag),
//! shown as the status `card` once the workers have read the page's
//! OpenGraph, Twitter and oEmbed metadata. One card per URL, shared by
//! every post that links it; trending links count those posts.
//!
//! Fetching follows the rules for remote media: no private addresses
//! (outside test setups), not from blocked domains or domains whose media
//! are rejected, redirects followed only after the same checks, pages read
//! to 1 MiB, oEmbed answers to 64 KiB, images to the media limit, 15 s in
//! all. A refusal fails the card at once; network trouble is retried.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::app::AppState;
use crate::db::models::Status;
use crate::db::schema::{media_attachments, polls, preview_cards as pc, status_cards};
use crate::db::{DbConn, id, now};
use crate::error::{AppError, AppResult};

/// The part of a page read for its metadata (the head comes first).
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;
const MAX_OEMBED_BYTES: usize = 64 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_REDIRECTS: usize = 3;
/// Network failures before a card is given up.
const MAX_ATTEMPTS: i32 = 3;
/// A claim older than this is a worker that stopped: another may retry.
const CLAIM_SECS: i64 = 60;
const MAX_URL_CHARS: usize = 2000;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pc)]
pub struct Card {
    pub id: i64,
    pub url: String,
    pub state: String,
    pub card_type: String,
    pub title: String,
    pub description: String,
    pub author_name: String,
    pub author_url: String,
    pub provider_name: String,
    pub provider_url: String,
    pub html: String,
    pub width: i32,
    pub height: i32,
    pub embed_url: String,
    pub image_key: Option<String>,
    pub image_width: Option<i32>,
    pub image_height: Option<i32>,
    pub blurhash: Option<String>,
    pub language: Option<String>,
    pub published_at: Option<NaiveDateTime>,
    pub error: Option<String>,
}

/// Calls `f` for every token of `html`, switching the tokenizer into the
/// raw text states a tree builder would (so `<script>` bodies are not read
/// as markup).
fn each_token(html: &str, f: impl FnMut(&Token)) {
    struct Sink<F>(RefCell<F>);
    impl<F: FnMut(&Token)> TokenSink for Sink<F> {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            let raw = match &token {
                Token::TagToken(t) if t.kind == TagKind::StartTag && !t.self_closing => {
                    match &*t.name {
                        "script" => Some(RawKind::ScriptData),
                        "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
                            Some(RawKind::Rawtext)
                        }
                        "title" | "textarea" => Some(RawKind::Rcdata),
                        _ => None,
                    }
                }
                _ => None,
            };
            (self.0.borrow_mut())(&token);
            match raw {
                Some(kind) => TokenSinkResult::RawData(kind),
                None => TokenSinkResult::Continue,
            }
        }
    }
    let tokenizer = Tokenizer::new(Sink(RefCell::new(f)), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
}

fn attr<'a>(t: &'a html5ever::tokenizer::Tag, name: &str) -> Option<&'a str> {
    t.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
}

/// The first link of a post's (sanitized) HTML that deserves a card: http
/// or https, not a mention or hashtag, not to this instance.
pub fn first_link(content_html: &str, own_host: &str) -> Option<String> {
    // (href, skip) of the anchor being read, and its text so far.
    let mut open: Option<(String, bool, String)> = None;
    let mut found: Option<String> = None;
    each_token(content_html, |token| {
        if found.is_some() {
            return;
        }
        match token {
            Token::TagToken(t) if &*t.name == "a" && t.kind == TagKind::StartTag => {
                let href = attr(t, "href").unwrap_or("").to_string();
                let class = attr(t, "class").unwrap_or("");
                let rel = attr(t, "rel").unwrap_or("");
                let skip = class
                    .split_whitespace()
                    .any(|c| c == "mention" || c == "hashtag")
                    || rel.split_whitespace().any(|r| r == "tag");
                open = Some((href, skip, String::new()));
            }
            Token::TagToken(t) if &*t.name == "a" && t.kind == TagKind::EndTag => {
                if let Some((href, skip, text)) = open.take() {
                    let text = text.trim_start();
                    if !skip && !text.starts_with('#') && !text.starts_with('@') {
                        found = cardable(&href, own_host);
                    }
                }
            }
            Token::CharacterTokens(s) => {
                if let Some((_, _, text)) = open.as_mut() {
                    text.push_str(s);
                }
            }
            _ => {}
        }
    });
    found
}

fn cardable(href: &str, own_host: &str) -> Option<String> {
    let url = Url::parse(href.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.as_str().len() > MAX_URL_CHARS {
        return None;
    }
    // `own_host` is the configured domain, with its port when it has one.
    let own = Url::parse(&format!("https://{own_host}")).ok();
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    if own.as_ref().and_then(|o| o.host_str()) == Some(host.as_str()) {
        return None;
    }
    let mut url = url;
    url.set_fragment(None);
    Some(url.to_string())
}

/// What a page says about itself.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PageMeta {
    pub title: String,
    pub description: String,
    pub image: Option<Url>,
    pub site_name: String,
    pub author: String,
    pub published_at: Option<NaiveDateTime>,
    pub language: Option<String>,
    pub oembed: Option<Url>,
}

/// Plain text for a card field: no control characters (PostgreSQL refuses
/// NUL), whitespace collapsed, at most `max` characters.
fn clean_text(s: &str, max: usize) -> String {
    let spaced: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<&str> = spaced.split_whitespace().collect();
    words.join(" ").chars().take(max).collect()
}

fn http_url(base: &Url, raw: &str) -> Option<Url> {
    let u = base.join(raw.trim()).ok()?;
    (matches!(u.scheme(), "http" | "https") && u.as_str().len() <= MAX_URL_CHARS).then_some(u)
}

/// The metadata of an HTML page fetched from `page`.
pub fn parse_page(html: &str, page: &Url) -> PageMeta {
    let mut meta: HashMap<String, String> = HashMap::new();
    let mut title: Option<String> = None;
    let mut in_title = false;
    let mut lang: Option<String> = None;
    let mut oembed: Option<Url> = None;
    each_token(html, |token| match token {
        Token::TagToken(t) if t.kind == TagKind::StartTag => match &*t.name {
            "html" if lang.is_none() => lang = attr(t, "lang").map(str::to_string),
            "meta" => {
                let key = attr(t, "property").or_else(|| attr(t, "name"));
                if let (Some(k), Some(v)) = (key, attr(t, "content")) {
                    meta.entry(k.trim().to_ascii_lowercase())
                        .or_insert_with(|| v.to_string());
                }
            }
            "link" if oembed.is_none() => {
                let rel = attr(t, "rel").unwrap_or("").to_ascii_lowercase();
                let kind = attr(t, "type").unwrap_or("").to_ascii_lowercase();
                if rel.split_whitespace().any(|r| r == "alternate")
                    && kind.trim() == "application/json+oembed"
                {
                    oembed = attr(t, "href").and_then(|h| http_url(page, h));
                }
            }
            "title" if title.is_none() => {
                in_title = true;
                title = Some(String::new());
            }
            _ => {}
        },
        Token::TagToken(t) if t.kind == TagKind::EndTag && &*t.name == "title" => in_title = false,
        Token::CharacterTokens(s) if in_title => {
            if let Some(t) = title.as_mut() {
                t.push_str(s);
            }
        }
        _ => {}
    });
    let pick = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| meta.get(*k).filter(|v| !v.trim().is_empty()).cloned())
    };
    let title = pick(&["og:title", "twitter:title"])
        .or(title)
        .unwrap_or_default();
    let image = pick(&[
        "og:image:secure_url",
        "og:image",
        "og:image:url",
        "twitter:image",
        "twitter:image:src",
    ])
    .and_then(|u| http_url(page, &u));
    let published_at = pick(&["article:published_time", "og:published_time"])
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
        .map(|t| t.naive_utc());
    let language = lang
        .or_else(|| pick(&["og:locale"]))
        .map(|l| l.trim().to_ascii_lowercase().replace('_', "-"))
        .and_then(|l| l.split('-').next().map(str::to_string))
        .filter(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()));
    PageMeta {
        title: clean_text(&title, 300),
        description: clean_text(
            &pick(&["og:description", "twitter:description", "description"]).unwrap_or_default(),
            1000,
        ),
        image,
        site_name: clean_text(&pick(&["og:site_name"]).unwrap_or_default(), 200),
        // `article:author` is often a profile URL, not a name.
        author: clean_text(
            &pick(&["author", "article:author", "twitter:creator"])
                .filter(|a| !a.starts_with("http"))
                .unwrap_or_default(),
            200,
        ),
        published_at,
        language,
        oembed,
    }
}

/// An oEmbed answer (numbers may come as strings).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OEmbed {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: Option<String>,
    pub author_name: Option<String>,
    pub author_url: Option<String>,
    pub provider_name: Option<String>,
    pub provider_url: Option<String>,
    pub html: Option<String>,
    pub width: Option<Value>,
    pub height: Option<Value>,
    pub thumbnail_url: Option<String>,
    pub url: Option<String>,
}

fn dimension(v: &Option<Value>) -> i32 {
    let n = match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    };
    n.clamp(0, 10_000) as i32
}

/// oEmbed markup reduced to one https iframe, or nothing: the page's
/// scripts and styles never reach a client.
pub fn sanitize_embed(html: &str) -> String {
    use std::collections::HashSet;
    let cleaned = ammonia::Builder::empty()
        .add_tags(["iframe"])
        .add_tag_attributes(
            "iframe",
            ["src", "width", "height", "allowfullscreen", "frameborder"],
        )
        .url_schemes(HashSet::from(["https"]))
        .link_rel(None)
        .clean(html)
        .to_string();
    let mut iframe_with_src = false;
    each_token(&cleaned, |t| {
        if let Token::TagToken(tag) = t
            && &*tag.name == "iframe"
            && tag.kind == TagKind::StartTag
            && attr(tag, "src").is_some_and(|s| s.starts_with("https://"))
        {
            iframe_with_src = true;
        }
    });
    if iframe_with_src {
        cleaned.trim().to_string()
    } else {
        String::new()
    }
}

/// A card's fields as found on the web, before storing.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Found {
    pub card_type: String,
    pub title: String,
    pub description: String,
    pub author_name: String,
    pub author_url: String,
    pub provider_name: String,
    pub provider_url: String,
    pub html: String,
    pub width: i32,
    pub height: i32,
    pub embed_url: String,
    pub image: Option<Url>,
    pub language: Option<String>,
    pub published_at: Option<NaiveDateTime>,
}

/// The card a page and its oEmbed answer make, or why there is none.
pub fn combine(page: &PageMeta, oembed: Option<&OEmbed>, page_url: &Url) -> Result<Found, String> {
    let link = |raw: &Option<String>| {
        raw.as_deref()
            .and_then(|u| http_url(page_url, u))
            .map(|u| u.to_string())
            .unwrap_or_default()
    };
    let mut f = Found {
        // A video page without embeddable markup is shown as a link.
        card_type: "link".into(),
        title: page.title.clone(),
        description: page.description.clone(),
        author_name: page.author.clone(),
        provider_name: page.site_name.clone(),
        image: page.image.clone(),
        language: page.language.clone(),
        published_at: page.published_at,
        ..Found::default()
    };
    if let Some(o) = oembed {
        let text = |v: &Option<String>, max| clean_text(v.as_deref().unwrap_or(""), max);
        if f.title.is_empty() {
            f.title = text(&o.title, 300);
        }
        if !text(&o.author_name, 200).is_empty() {
            f.author_name = text(&o.author_name, 200);
            f.author_url = link(&o.author_url);
        }
        if !text(&o.provider_name, 200).is_empty() {
            f.provider_name = text(&o.provider_name, 200);
            f.provider_url = link(&o.provider_url);
        }
        if f.image.is_none() {
            f.image = o
                .thumbnail_url
                .as_deref()
                .and_then(|u| http_url(page_url, u));
        }
        match o.kind.as_str() {
            "video" | "rich" => {
                let html = sanitize_embed(o.html.as_deref().unwrap_or(""));
                if !html.is_empty() {
                    f.card_type = if o.kind == "video" { "video" } else { "rich" }.into();
                    f.html = html;
                    f.width = dimension(&o.width);
                    f.height = dimension(&o.height);
                }
            }
            "photo" => {
                let photo = link(&o.url);
                if !photo.is_empty() {
                    f.card_type = "photo".into();
                    f.embed_url = photo;
                    f.width = dimension(&o.width);
                    f.height = dimension(&o.height);
                }
            }
            _ => {}
        }
    }
    if f.title.is_empty() && f.html.is_empty() {
        return Err("the page has no title".into());
    }
    Ok(f)
}

/// Records the card of a post written or edited in `c`'s transaction:
/// none for direct posts, boosts, posts behind a content warning or with
/// media or a poll. Answers the card to fetch, when it is new.
pub fn attach(c: &mut DbConn, status: &Status, own_host: &str) -> QueryResult<Option<i64>> {
    diesel::delete(status_cards::table.find(status.id)).execute(c)?;
    if status.visibility == "direct"
        || status.reblog_of_id.is_some()
        || status.deleted_at.is_some()
        || !status.spoiler_text.is_empty()
    {
        return Ok(None);
    }
    let with_media: bool = diesel::select(diesel::dsl::exists(
        media_attachments::table.filter(media_attachments::status_id.eq(status.id)),
    ))
    .get_result(c)?;
    let with_poll: bool = diesel::select(diesel::dsl::exists(
        polls::table.filter(polls::status_id.eq(status.id)),
    ))
    .get_result(c)?;
    if with_media || with_poll {
        return Ok(None);
    }
    let Some(url) = first_link(&status.content, own_host) else {
        return Ok(None);
    };
    let insert = diesel::insert_into(pc::table).values((
        pc::id.eq(id::next_id()),
        pc::url.eq(&url),
        pc::state.eq("pending"),
        pc::created_at.eq(now()),
    ));
    match c {
        DbConn::Sqlite(l) => insert.on_conflict_do_nothing().execute(l)?,
        DbConn::Postgres(p) => insert.on_conflict_do_nothing().execute(p)?,
    };
    let (card_id, state): (i64, String) = pc::table
        .filter(pc::url.eq(&url))
        .select((pc::id, pc::state))
        .first(c)?;
    diesel::insert_into(status_cards::table)
        .values((
            status_cards::status_id.eq(status.id),
            status_cards::card_id.eq(card_id),
        ))
        .execute(c)?;
    Ok((state == "pending").then_some(card_id))
}

/// Fetches a card in the background, after the post's transaction.
pub fn spawn_fetch(state: &AppState, card: Option<i64>) {
    let Some(card_id) = card else { return };
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = fetch(&state, card_id).await {
            tracing::warn!(card = card_id, error = %e, "link card not fetched");
        }
    });
}

/// Ready cards of posts, by post id. Two primary-key reads (most pages
/// have no card at all: then one).
pub fn of_statuses(c: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, Card>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let links: Vec<(i64, i64)> = status_cards::table
        .filter(status_cards::status_id.eq_any(ids))
        .select((status_cards::status_id, status_cards::card_id))
        .load(c)?;
    if links.is_empty() {
        return Ok(HashMap::new());
    }
    let mut card_ids: Vec<i64> = links.iter().map(|l| l.1).collect();
    card_ids.sort_unstable();
    card_ids.dedup();
    let cards = by_ids(c, &card_ids)?;
    Ok(links
        .into_iter()
        .filter_map(|(sid, cid)| Some((sid, cards.get(&cid)?.clone())))
        .collect())
}

pub fn by_ids(c: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, Card>> {
    Ok(pc::table
        .filter(pc::id.eq_any(ids))
        .filter(pc::state.eq("ready"))
        .select(Card::as_select())
        .load::<Card>(c)?
        .into_iter()
        .map(|k| (k.id, k))
        .collect())
}

pub fn by_url(c: &mut DbConn, url: &str) -> QueryResult<Option<Card>> {
    pc::table
        .filter(pc::url.eq(url))
        .select(Card::as_select())
        .first(c)
        .optional()
}

/// The PreviewCard entity.
pub fn card_json(base: &str, k: &Card) -> Value {
    let image = k
        .image_key
        .as_ref()
        .filter(|key| key.starts_with("media/"))
        .map(|key| format!("{base}/{key}"));
    // A card with an image is as large as its image, as Mastodon says.
    let (width, height) = if k.html.is_empty() && k.embed_url.is_empty() {
        (k.image_width.unwrap_or(0), k.image_height.unwrap_or(0))
    } else {
        (k.width, k.height)
    };
    let authors = if k.author_name.is_empty() {
        json!([])
    } else {
        json!([{ "name": k.author_name, "url": k.author_url, "account": null }])
    };
    json!({
        "url": k.url,
        "title": k.title,
        "description": k.description,
        "language": k.language,
        "type": k.card_type,
        "author_name": k.author_name,
        "author_url": k.author_url,
        "authors": authors,
        "provider_name": k.provider_name,
        "provider_url": k.provider_url,
        "html": k.html,
        "width": width,
        "height": height,
        "image": image,
        "image_description": "",
        "embed_url": k.embed_url,
        "blurhash": k.blurhash,
        "published_at": k.published_at.map(crate::api::mastodon::entities::iso),
    })
}

enum Failure {
    /// Not to be tried again (a refusal, a page that is not one).
    Refused(String),
    /// Network trouble: tried again later.
    Retry(String),
}

impl Failure {
    fn text(&self) -> &str {
        match self {
            Failure::Refused(s) | Failure::Retry(s) => s,
        }
    }
}

/// Whether we may fetch `url`: public addresses, partner policy, media
/// rejections.
async fn check_url(state: &AppState, url: &Url) -> Result<(), Failure> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Failure::Refused(format!("{} is not a web address", url)));
    }
    crate::federation::client::check_public_url(url, state.config.federation_insecure_local)
        .map_err(Failure::Refused)?;
    let host = url
        .host_str()
        .ok_or_else(|| Failure::Refused("no host".into()))?
        .to_string();
    if state
        .policy
        .blocks(&host)
        .await
        .map_err(|e| Failure::Retry(e.to_string()))?
    {
        return Err(Failure::Refused(format!(
            "{host} is blocked by this instance"
        )));
    }
    let checked = host.clone();
    let rejected = state
        .db
        .run(move |c| crate::domain::policy::media_rejected(c, &checked).map_err(AppError::from))
        .await
        .map_err(|e| Failure::Retry(e.to_string()))?;
    if rejected {
        return Err(Failure::Refused(format!(
            "media from {host} are rejected by this instance"
        )));
    }
    Ok(())
}

/// GET with redirects followed (each hop checked), the type accepted by
/// `wanted`, the body read to `limit` bytes (`truncate`: the first `limit`
/// bytes are enough; otherwise a larger body is refused).
async fn get(
    state: &AppState,
    start: Url,
    accept: &'static str,
    wanted: fn(&str) -> bool,
    limit: usize,
    truncate: bool,
) -> Result<(Url, Vec<u8>), Failure> {
    let client = state
        .media_client
        .as_ref()
        .ok_or_else(|| Failure::Retry("no HTTP client".into()))?;
    let mut url = start;
    for _ in 0..=MAX_REDIRECTS {
        check_url(state, &url).await?;
        let mut res = client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        let status = res.status();
        if status.is_redirection() {
            let next = res
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| Failure::Refused(format!("answered {status} without a Location")))?;
            url = next;
            continue;
        }
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(Failure::Retry(format!("answered {status}")));
        }
        if !status.is_success() {
            return Err(Failure::Refused(format!("answered {status}")));
        }
        let ctype = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !wanted(&ctype) {
            return Err(Failure::Refused(format!(
                "is {ctype:?}, not what a card needs"
            )));
        }
        if !truncate && res.content_length().is_some_and(|n| n as usize > limit) {
            return Err(Failure::Refused("larger than the size limit".into()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?
        {
            if body.len() + chunk.len() > limit {
                if truncate {
                    body.extend_from_slice(&chunk[..limit - body.len()]);
                    break;
                }
                return Err(Failure::Refused("larger than the size limit".into()));
            }
            body.extend_from_slice(&chunk);
        }
        return Ok((url, body));
    }
    Err(Failure::Refused("too many redirects".into()))
}

struct Image {
    key: String,
    width: i32,
    height: i32,
    blurhash: Option<String>,
}

async fn store_image(state: &AppState, card_id: i64, url: Url) -> Result<Image, String> {
    let limit = state.config.media_max_image_bytes;
    let (_, bytes) = get(state, url, "image/*", |_| true, limit, false)
        .await
        .map_err(|f| f.text().to_string())?;
    // What the bytes are decides, whatever the server said.
    let probed = crate::media::probe(&bytes, None).map_err(|e| e.0)?;
    if probed.kind != crate::media::Kind::Image {
        return Err("not an image".into());
    }
    let processed =
        tokio::task::spawn_blocking(move || crate::media::process_image(bytes, &probed))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.0)?;
    let (bytes, ext, w, h) = match processed.thumb {
        Some((thumb, ext, w, h)) => (thumb, ext, w, h),
        None => (
            processed.original,
            probed.ext,
            processed.width.unwrap_or(0),
            processed.height.unwrap_or(0),
        ),
    };
    let key = format!("media/cards/{card_id}/image.{ext}");
    state
        .storage
        .put(&key, bytes)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Image {
        key,
        width: w as i32,
        height: h as i32,
        blurhash: processed.blurhash,
    })
}

async fn scrape(
    state: &AppState,
    card_id: i64,
    url: Url,
) -> Result<(Found, Option<Image>), Failure> {
    let (page_url, body) = get(
        state,
        url,
        "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
        |t| t == "text/html" || t == "application/xhtml+xml",
        MAX_PAGE_BYTES,
        true,
    )
    .await?;
    let page = parse_page(&String::from_utf8_lossy(&body), &page_url);
    let oembed = match page.oembed.clone() {
        Some(o) => match get(
            state,
            o,
            "application/json",
            |t| t == "application/json" || t == "text/json" || t == "application/json+oembed",
            MAX_OEMBED_BYTES,
            false,
        )
        .await
        {
            Ok((_, b)) => serde_json::from_slice::<OEmbed>(&b).ok(),
            // The page alone still makes a card.
            Err(f) => {
                tracing::debug!(card = card_id, why = f.text(), "oEmbed not read");
                None
            }
        },
        None => None,
    };
    let found = combine(&page, oembed.as_ref(), &page_url).map_err(Failure::Refused)?;
    let image = match found.image.clone() {
        Some(u) => match store_image(state, card_id, u).await {
            Ok(i) => Some(i),
            Err(why) => {
                tracing::debug!(card = card_id, %why, "card image not stored");
                None
            }
        },
        None => None,
    };
    Ok((found, image))
}

/// Fetches a pending card if no other worker holds it; whether it was ours.
pub async fn fetch(state: &AppState, card_id: i64) -> AppResult<bool> {
    let t = now();
    let stale = t - chrono::Duration::seconds(CLAIM_SECS);
    let claimed = state
        .db
        .transaction(move |c| {
            let n = diesel::update(
                pc::table
                    .find(card_id)
                    .filter(pc::state.eq("pending"))
                    .filter(pc::claimed_at.is_null().or(pc::claimed_at.lt(stale))),
            )
            .set(pc::claimed_at.eq(Some(t)))
            .execute(c)?;
            if n == 0 {
                return Ok::<_, AppError>(None);
            }
            Ok(Some(
                pc::table
                    .find(card_id)
                    .select((pc::url, pc::attempts))
                    .first::<(String, i32)>(c)?,
            ))
        })
        .await?;
    let Some((url, attempts)) = claimed else {
        return Ok(false);
    };
    let outcome = match Url::parse(&url) {
        Ok(u) => tokio::time::timeout(FETCH_TIMEOUT, scrape(state, card_id, u))
            .await
            .unwrap_or_else(|_| Err(Failure::Retry("timed out".into()))),
        Err(e) => Err(Failure::Refused(e.to_string())),
    };
    let t = now();
    match outcome {
        Ok((f, image)) => {
            state
                .db
                .transaction(move |c| {
                    diesel::update(pc::table.find(card_id))
                        .set((
                            pc::state.eq("ready"),
                            pc::card_type.eq(f.card_type),
                            pc::title.eq(f.title),
                            pc::description.eq(f.description),
                            pc::author_name.eq(f.author_name),
                            pc::author_url.eq(f.author_url),
                            pc::provider_name.eq(f.provider_name),
                            pc::provider_url.eq(f.provider_url),
                            pc::html.eq(f.html),
                            pc::width.eq(f.width),
                            pc::height.eq(f.height),
                            pc::embed_url.eq(f.embed_url),
                            pc::image_key.eq(image.as_ref().map(|i| i.key.clone())),
                            pc::image_width.eq(image.as_ref().map(|i| i.width)),
                            pc::image_height.eq(image.as_ref().map(|i| i.height)),
                            pc::blurhash.eq(image.and_then(|i| i.blurhash)),
                            pc::language.eq(f.language),
                            pc::published_at.eq(f.published_at),
                            pc::error.eq(None::<String>),
                            pc::attempts.eq(attempts + 1),
                            pc::fetched_at.eq(Some(t)),
                        ))
                        .execute(c)
                        .map_err(AppError::from)
                })
                .await?;
        }
        Err(failure) => {
            let give_up = matches!(failure, Failure::Refused(_)) || attempts + 1 >= MAX_ATTEMPTS;
            let why: String = failure.text().chars().take(500).collect();
            tracing::debug!(card = card_id, %url, %why, give_up, "link card not made");
            state
                .db
                .transaction(move |c| {
                    diesel::update(pc::table.find(card_id))
                        .set((
                            pc::state.eq(if give_up { "failed" } else { "pending" }),
                            pc::error.eq(Some(why)),
                            pc::attempts.eq(attempts + 1),
                            // A retry waits for the claim to go stale.
                            pc::claimed_at.eq(Some(t)),
                            pc::fetched_at.eq(Some(t)),
                        ))
                        .execute(c)
                        .map_err(AppError::from)
                })
                .await?;
        }
    }
    Ok(true)
}

/// Cards still pending (a process stopped before, or the network failed):
/// fetched now, a few per turn.
pub async fn retry_pending(state: &AppState) -> AppResult<usize> {
    let t = now();
    let (young, stale) = (
        t - chrono::Duration::seconds(30),
        t - chrono::Duration::seconds(CLAIM_SECS),
    );
    let ids: Vec<i64> = state
        .db
        .run(move |c| {
            pc::table
                .filter(pc::state.eq("pending"))
                .filter(pc::created_at.lt(young))
                .filter(pc::claimed_at.is_null().or(pc::claimed_at.lt(stale)))
                .order(pc::created_at.asc())
                .limit(10)
                .select(pc::id)
                .load(c)
                .map_err(AppError::from)
        })
        .await?;
    let mut n = 0;
    for card in ids {
        if fetch(state, card).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// Cards no post links any more (deleted or edited away), kept a week
/// for a post that might link them again: their rows and images removed.
pub const UNUSED_CARD_DAYS: i64 = 7;

pub async fn prune(state: &AppState) -> AppResult<usize> {
    let before = now() - chrono::Duration::days(UNUSED_CARD_DAYS);
    let unused = move || {
        pc::table
            .filter(pc::created_at.lt(before))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                status_cards::table.filter(status_cards::card_id.eq(pc::id)),
            )))
    };
    // Read first: the write slot only when there is something to remove.
    let found: Vec<i64> = state
        .db
        .run(move |c| {
            unused()
                .select(pc::id)
                .limit(500)
                .load(c)
                .map_err(AppError::from)
        })
        .await?;
    if found.is_empty() {
        return Ok(0);
    }
    let keys: Vec<Option<String>> = state
        .db
        .transaction(move |c| {
            let gone: Vec<(i64, Option<String>)> = unused()
                .filter(pc::id.eq_any(&found))
                .select((pc::id, pc::image_key))
                .load(c)?;
            let ids: Vec<i64> = gone.iter().map(|g| g.0).collect();
            diesel::delete(pc::table.filter(pc::id.eq_any(&ids))).execute(c)?;
            Ok::<_, AppError>(gone.into_iter().map(|g| g.1).collect())
        })
        .await?;
    // Rows first: a file left behind is harmless, a card without its image is not.
    for key in keys.iter().flatten() {
        if let Err(e) = state.storage.delete(key).await {
            tracing::warn!(%key, error = %e, "card image not removed");
        }
    }
    Ok(keys.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_link_skips_mentions_hashtags_and_own_host() {
        let html = r#"<p><span class="h-card"><a href="https://partner.example/@ana" class="u-url mention">@<span>ana</span></a></span> see <a href="https://here.example/@bob/1">a post</a> <a href="https://here.example/tags/rust" class="mention hashtag" rel="tag">#<span>rust</span></a> <a href="https://news.example/story?id=1#top">https://news.example/story</a> and <a href="https://b.example/">b</a></p>"#;
        assert_eq!(
            first_link(html, "here.example:8080").as_deref(),
            Some("https://news.example/story?id=1")
        );
        assert_eq!(
            first_link(r#"<a href="mailto:x@y.example">mail</a>"#, "h"),
            None
        );
        assert_eq!(
            first_link(r##"<a href="https://t.example/x">#tag</a>"##, "h"),
            None
        );
        assert_eq!(first_link("<p>no links</p>", "h"), None);
    }

    #[test]
    fn page_metadata_prefers_opengraph_and_ignores_scripts() {
        let html = r#"<!doctype html><html lang="de-AT"><head>
            <title>Fallback &amp; title</title>
            <script>var s = '<meta property="og:title" content="from a script">';</script>
            <meta property="og:title" content="Quarterly &amp; results">
            <meta name="description" content="plain">
            <meta property="og:description" content="Line one
              line two">
            <meta property="og:image" content="/img/cover.png">
            <meta property="og:site_name" content="Example News">
            <meta name="author" content="Ana Silva">
            <meta property="article:published_time" content="2026-11-30T08:00:00+01:00">
            <link rel="alternate" type="application/json+oembed" href="/oembed?u=1">
            </head><body><title>not this</title></body></html>"#;
        let page = Url::parse("https://news.example/a/b").unwrap();
        let m = parse_page(html, &page);
        assert_eq!(m.title, "Quarterly & results");
        assert_eq!(m.description, "Line one line two");
        assert_eq!(
            m.image.unwrap().as_str(),
            "https://news.example/img/cover.png"
        );
        assert_eq!(m.site_name, "Example News");
        assert_eq!(m.author, "Ana Silva");
        assert_eq!(m.language.as_deref(), Some("de"));
        assert_eq!(
            m.oembed.unwrap().as_str(),
            "https://news.example/oembed?u=1"
        );
        assert_eq!(m.published_at.unwrap().to_string(), "2026-11-30 07:00:00");
        let bare = parse_page("<title> Only\u{7}a\u{0}title </title>", &page);
        // NUL never reaches the database (the tokenizer makes it U+FFFD).
        assert_eq!(bare.title, "Only a\u{fffd}title");
    }

    #[test]
    fn embeds_keep_one_https_iframe_and_nothing_else() {
        let html = r#"<iframe src="https://video.example/embed/1" width="560" height="315" onload="x()" allowfullscreen></iframe><script>alert(1)</script><img src=x onerror=alert(1)>"#;
        let clean = sanitize_embed(html);
        assert!(clean.starts_with("<iframe"), "{clean}");
        assert!(clean.contains(r#"src="https://video.example/embed/1""#));
        for bad in ["script", "onload", "onerror", "<img"] {
            assert!(!clean.contains(bad), "{bad} in {clean}");
        }
        assert_eq!(
            sanitize_embed(r#"<iframe src="http://plain.example/"></iframe>"#),
            ""
        );
        assert_eq!(sanitize_embed("<div>text</div>"), "");
    }

    #[test]
    fn oembed_video_makes_a_video_card_and_a_titleless_page_none() {
        let page_url = Url::parse("https://video.example/watch/1").unwrap();
        let page = PageMeta {
            title: "A talk".into(),
            ..PageMeta::default()
        };
        let o: OEmbed = serde_json::from_value(json!({
            "type": "video", "html": "<iframe src=\"https://video.example/embed/1\"></iframe>",
            "width": "640", "height": 360, "provider_name": "Video", "provider_url": "https://video.example/",
            "author_name": "Ana", "author_url": "https://video.example/ana"
        }))
        .unwrap();
        let f = combine(&page, Some(&o), &page_url).unwrap();
        assert_eq!(f.card_type, "video");
        assert_eq!((f.width, f.height), (640, 360));
        assert_eq!(f.author_url, "https://video.example/ana");
        assert!(combine(&PageMeta::default(), None, &page_url).is_err());
    }
}
