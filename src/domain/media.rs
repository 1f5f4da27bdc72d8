//! Media attachments: uploads, their processing, attaching them to posts,
//! remote posts' attachments (cached here), and cleaning up.

use diesel::prelude::*;

use crate::app::AppState;
use crate::db::models::Account;
use crate::db::schema::media_attachments as m;
use crate::db::{DbConn, id, now};
use crate::error::{AppError, AppResult};
use crate::media::{self, Kind, Probed};

/// The columns that say where a processed file went (one tuple works as
/// insert values and as a changeset).
macro_rules! stored_files {
    ($s:expr) => {
        (
            m::file_key.eq(Some($s.file_key)),
            m::file_size.eq($s.file_size),
            m::thumb_key.eq($s.thumb_key),
            m::width.eq($s.width),
            m::height.eq($s.height),
            m::thumb_width.eq($s.thumb_width),
            m::thumb_height.eq($s.thumb_height),
        )
    };
}

/// Alt text limit (Mastodon's).
pub const MAX_DESCRIPTION: usize = 1500;
/// Attachments per post.
pub const MAX_PER_STATUS: usize = 4;
/// v2 uploads above this size are processed after the answer (202).
pub const ASYNC_ABOVE_BYTES: usize = 1024 * 1024;
/// Uploads never attached are removed after this long.
pub const ORPHAN_AFTER_HOURS: i64 = 24;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = m)]
pub struct Attachment {
    pub id: i64,
    pub account_id: i64,
    pub status_id: Option<i64>,
    pub kind: String,
    pub content_type: String,
    /// `processing`, `ready`, `failed`, or `remote` (not cached here).
    pub state: String,
    pub file_key: Option<String>,
    pub file_size: i64,
    pub thumb_key: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub thumb_width: Option<i32>,
    pub thumb_height: Option<i32>,
    pub blurhash: Option<String>,
    pub description: String,
    pub focus_x: f64,
    pub focus_y: f64,
    pub remote_url: Option<String>,
    pub error: Option<String>,
    pub position: i32,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

/// What the client sent with a file.
#[derive(Debug, Clone, Default)]
pub struct UploadMeta {
    pub description: Option<String>,
    pub focus: Option<String>,
}

/// `"x,y"` with both in [-1, 1], as Mastodon takes the focal point.
pub fn parse_focus(s: &str) -> AppResult<(f64, f64)> {
    let bad =
        || AppError::Unprocessable("Validation failed: focus must be \"x,y\" within -1..1".into());
    let (x, y) = s.split_once(',').ok_or_else(bad)?;
    let (x, y): (f64, f64) = (
        x.trim().parse().map_err(|_| bad())?,
        y.trim().parse().map_err(|_| bad())?,
    );
    if !(-1.0..=1.0).contains(&x) || !(-1.0..=1.0).contains(&y) {
        return Err(bad());
    }
    Ok((x, y))
}

fn check_description(d: &str) -> AppResult<()> {
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: Description is too long (maximum is {MAX_DESCRIPTION} characters)"
        )));
    }
    Ok(())
}

fn media_err(e: media::MediaError) -> AppError {
    AppError::Unprocessable(e.0)
}

pub fn by_id(c: &mut DbConn, id: i64) -> QueryResult<Attachment> {
    m::table.find(id).select(Attachment::as_select()).first(c)
}

/// One of `owner`'s uploads (404 for anyone else's).
pub fn owned(c: &mut DbConn, owner: i64, id: i64) -> AppResult<Attachment> {
    m::table
        .filter(m::id.eq(id))
        .filter(m::account_id.eq(owner))
        .select(Attachment::as_select())
        .first(c)
        .optional()?
        .ok_or_else(AppError::not_found)
}

fn limit_for(state: &AppState, kind: Kind) -> usize {
    match kind {
        Kind::Image => state.config.media_max_image_bytes,
        Kind::Video | Kind::Audio => state.config.media_max_video_bytes,
    }
}

/// Takes an upload. Images are checked (type, size, dimensions,
/// truncation) before anything is stored; with `later` a large image is
/// stored as received and processed after the answer (state
/// `processing`), otherwise at once. Nothing is left behind on refusal.
pub async fn upload(
    state: &AppState,
    owner: &Account,
    bytes: Vec<u8>,
    declared: Option<String>,
    meta: UploadMeta,
    later: bool,
) -> AppResult<Attachment> {
    if bytes.is_empty() {
        return Err(AppError::Unprocessable(
            "Validation failed: File is empty".into(),
        ));
    }
    let probed = media::probe(&bytes, declared.as_deref()).map_err(media_err)?;
    let limit = limit_for(state, probed.kind);
    if bytes.len() > limit {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: File size must be less than {} MiB",
            limit / (1024 * 1024)
        )));
    }
    let description = meta.description.unwrap_or_default();
    check_description(&description)?;
    let focus = match meta.focus.as_deref().filter(|f| !f.trim().is_empty()) {
        Some(f) => parse_focus(f)?,
        None => (0.0, 0.0),
    };
    if probed.kind == Kind::Image {
        media::check_image(&bytes, &probed).map_err(media_err)?;
    }
    let aid = id::next_id();
    let t = now();
    let row = (
        m::id.eq(aid),
        m::account_id.eq(owner.id),
        m::kind.eq(probed.kind.as_str()),
        m::content_type.eq(probed.content_type),
        m::description.eq(description),
        m::focus_x.eq(focus.0),
        m::focus_y.eq(focus.1),
        m::created_at.eq(t),
        m::updated_at.eq(t),
    );
    if later && probed.kind == Kind::Image && bytes.len() > ASYNC_ABOVE_BYTES {
        let raw = pending_key(aid);
        let size = bytes.len() as i64;
        state.storage.put(&raw, bytes).await?;
        let inserted = state
            .db
            .transaction(move |c| {
                diesel::insert_into(m::table)
                    .values((
                        row,
                        m::state.eq("processing"),
                        m::file_key.eq(Some(raw)),
                        m::file_size.eq(size),
                    ))
                    .execute(c)?;
                by_id(c, aid).map_err(AppError::from)
            })
            .await;
        let a = inserted?;
        let st = state.clone();
        tokio::spawn(async move {
            if let Err(e) = finish_processing(&st, aid).await {
                tracing::warn!(media = aid, error = %e, "media processing failed");
            }
        });
        return Ok(a);
    }
    let stored = store_processed(state, aid, bytes, probed).await?;
    let res = state
        .db
        .transaction(move |c| {
            diesel::insert_into(m::table)
                .values((
                    row,
                    m::state.eq("ready"),
                    stored_files!(stored),
                    m::blurhash.eq(stored.blurhash),
                ))
                .execute(c)?;
            by_id(c, aid).map_err(AppError::from)
        })
        .await;
    if res.is_err() {
        remove_files(state, aid).await;
    }
    res
}

fn pending_key(id: i64) -> String {
    format!("pending/{id}")
}

/// Where processed files went.
struct Stored {
    file_key: String,
    file_size: i64,
    thumb_key: Option<String>,
    width: Option<i32>,
    height: Option<i32>,
    thumb_width: Option<i32>,
    thumb_height: Option<i32>,
    blurhash: Option<String>,
}

async fn store_processed(
    state: &AppState,
    aid: i64,
    bytes: Vec<u8>,
    probed: Probed,
) -> AppResult<Stored> {
    let processed = tokio::task::spawn_blocking(move || match probed.kind {
        Kind::Image => media::process_image(bytes, &probed),
        _ => Ok(media::process_other(bytes)),
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(media_err)?;
    let file_key = format!("media/{aid}/original.{}", probed.ext);
    let file_size = processed.original.len() as i64;
    state.storage.put(&file_key, processed.original).await?;
    let mut stored = Stored {
        file_key,
        file_size,
        thumb_key: None,
        width: processed.width.map(|w| w as i32),
        height: processed.height.map(|h| h as i32),
        thumb_width: None,
        thumb_height: None,
        blurhash: processed.blurhash,
    };
    if let Some((thumb, ext, w, h)) = processed.thumb {
        let key = format!("media/{aid}/small.{ext}");
        if let Err(e) = state.storage.put(&key, thumb).await {
            let _ = state.storage.delete(&stored.file_key).await;
            return Err(e.into());
        }
        stored.thumb_key = Some(key);
        stored.thumb_width = Some(w as i32);
        stored.thumb_height = Some(h as i32);
    }
    Ok(stored)
}

/// Processes an upload stored as received; safe to call again after a
/// crash (the raw file stays until the row says `ready`).
pub async fn finish_processing(state: &AppState, aid: i64) -> AppResult<()> {
    let a = state
        .db
        .run(move |c| by_id(c, aid).map_err(AppError::from))
        .await?;
    if a.state != "processing" {
        return Ok(());
    }
    let raw = pending_key(aid);
    let Some(bytes) = state.storage.get(&raw).await? else {
        return fail(state, aid, "the uploaded file is gone").await;
    };
    let probed = match media::probe(&bytes, Some(&a.content_type)) {
        Ok(p) => p,
        Err(e) => return fail(state, aid, &e.0).await,
    };
    let stored = match store_processed(state, aid, bytes, probed).await {
        Ok(s) => s,
        Err(e) => return fail(state, aid, &e.to_string()).await,
    };
    state
        .db
        .transaction(move |c| {
            diesel::update(m::table.find(aid).filter(m::state.eq("processing")))
                .set((
                    m::state.eq("ready"),
                    stored_files!(stored),
                    m::blurhash.eq(stored.blurhash),
                    m::updated_at.eq(now()),
                ))
                .execute(c)
                .map_err(AppError::from)
        })
        .await?;
    state.storage.delete(&raw).await?;
    Ok(())
}

async fn fail(state: &AppState, aid: i64, why: &str) -> AppResult<()> {
    let why = why.to_string();
    state
        .db
        .transaction(move |c| {
            diesel::update(m::table.find(aid))
                .set((
                    m::state.eq("failed"),
                    m::error.eq(Some(why)),
                    m::file_key.eq(None::<String>),
                    m::updated_at.eq(now()),
                ))
                .execute(c)
                .map_err(AppError::from)
        })
        .await?;
    remove_files(state, aid).await;
    Ok(())
}

/// Removes every file an attachment may have.
async fn remove_files(state: &AppState, aid: i64) {
    for ext in [
        "jpg", "png", "gif", "webp", "mp4", "mov", "webm", "ogg", "flac", "wav", "mp3", "m4a",
    ] {
        let _ = state
            .storage
            .delete(&format!("media/{aid}/original.{ext}"))
            .await;
    }
    for ext in ["jpg", "png"] {
        let _ = state
            .storage
            .delete(&format!("media/{aid}/small.{ext}"))
            .await;
    }
    let _ = state.storage.delete(&pending_key(aid)).await;
}

/// Changes alt text and focal point of one's own upload.
pub async fn update(
    state: &AppState,
    owner: &Account,
    aid: i64,
    meta: UploadMeta,
) -> AppResult<Attachment> {
    if let Some(d) = &meta.description {
        check_description(d)?;
    }
    let focus = match meta.focus.as_deref().filter(|f| !f.trim().is_empty()) {
        Some(f) => Some(parse_focus(f)?),
        None => None,
    };
    let owner = owner.id;
    state
        .db
        .transaction(move |c| {
            owned(c, owner, aid)?;
            if let Some(d) = &meta.description {
                diesel::update(m::table.find(aid))
                    .set(m::description.eq(d))
                    .execute(c)?;
            }
            if let Some((x, y)) = focus {
                diesel::update(m::table.find(aid))
                    .set((m::focus_x.eq(x), m::focus_y.eq(y)))
                    .execute(c)?;
            }
            diesel::update(m::table.find(aid))
                .set(m::updated_at.eq(now()))
                .execute(c)?;
            let a = by_id(c, aid)?;
            if let Some(sid) = a.status_id {
                // Alt text is searched with the post.
                crate::domain::search::index_status(c, sid)?;
            }
            Ok::<_, AppError>(a)
        })
        .await
}

/// Deletes an upload that is not attached to a post.
pub async fn delete_unattached(state: &AppState, owner: &Account, aid: i64) -> AppResult<()> {
    let owner = owner.id;
    state
        .db
        .transaction(move |c| {
            let a = owned(c, owner, aid)?;
            if a.status_id.is_some() {
                return Err(AppError::Unprocessable(
                    "Validation failed: Media is attached to a post".into(),
                ));
            }
            diesel::delete(m::table.find(aid)).execute(c)?;
            Ok(())
        })
        .await?;
    remove_files(state, aid).await;
    Ok(())
}

/// Attaches `ids` (the author's unattached, processed uploads) to a new
/// post, in the order given.
pub fn attach(c: &mut DbConn, author: i64, status_id: i64, ids: &[i64]) -> AppResult<()> {
    if ids.len() > MAX_PER_STATUS {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: At most {MAX_PER_STATUS} attachments"
        )));
    }
    for (pos, aid) in ids.iter().enumerate() {
        let a = owned(c, author, *aid)
            .map_err(|_| AppError::Unprocessable("Validation failed: Media not found".into()))?;
        if a.status_id.is_some() {
            return Err(AppError::Unprocessable(
                "Validation failed: Media is already attached to a post".into(),
            ));
        }
        if a.state != "ready" {
            return Err(AppError::Unprocessable(
                "Cannot attach files that have not finished processing. Try again in a moment!"
                    .into(),
            ));
        }
        diesel::update(m::table.find(a.id))
            .set((m::status_id.eq(Some(status_id)), m::position.eq(pos as i32)))
            .execute(c)?;
    }
    Ok(())
}

/// Attachments of these posts, in order, by post.
pub fn of_statuses(
    c: &mut DbConn,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, Vec<Attachment>>> {
    let mut out: std::collections::HashMap<i64, Vec<Attachment>> = Default::default();
    if ids.is_empty() {
        return Ok(out);
    }
    for a in m::table
        .filter(m::status_id.eq_any(ids))
        .order((m::status_id.asc(), m::position.asc()))
        .select(Attachment::as_select())
        .load(c)?
    {
        if let Some(s) = a.status_id {
            out.entry(s).or_default().push(a);
        }
    }
    Ok(out)
}

/// Whether a post carries any attachment (for `only_media` and `:media`
/// streams).
pub fn has_media(c: &mut DbConn, status_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        m::table.filter(m::status_id.eq(status_id)),
    ))
    .get_result(c)
}

/// Housekeeping: uploads never attached (older than a day) go with their
/// files; uploads stuck in `processing` (a crash) are processed again.
pub async fn maintain(state: &AppState) -> AppResult<(usize, usize)> {
    let cutoff = now() - chrono::Duration::hours(ORPHAN_AFTER_HOURS);
    let stuck_before = now() - chrono::Duration::seconds(60);
    let (orphans, stuck) = state
        .db
        .run(move |c| {
            let orphans: Vec<i64> = m::table
                .filter(m::status_id.is_null())
                .filter(m::created_at.lt(cutoff))
                .select(m::id)
                .limit(500)
                .load(c)?;
            let stuck: Vec<i64> = m::table
                .filter(m::state.eq("processing"))
                .filter(m::updated_at.lt(stuck_before))
                .select(m::id)
                .limit(20)
                .load(c)?;
            Ok::<_, AppError>((orphans, stuck))
        })
        .await?;
    for aid in &orphans {
        let gone = *aid;
        state
            .db
            .transaction(move |c| {
                diesel::delete(m::table.find(gone).filter(m::status_id.is_null()))
                    .execute(c)
                    .map_err(AppError::from)
            })
            .await?;
        remove_files(state, *aid).await;
    }
    for aid in &stuck {
        if let Err(e) = finish_processing(state, *aid).await {
            tracing::warn!(media = aid, error = %e, "media processing failed again");
        }
    }
    Ok((orphans.len(), stuck.len()))
}

/// Which profile picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileImage {
    Avatar,
    Header,
}

impl ProfileImage {
    /// The size it is cropped to (Mastodon's).
    fn size(self) -> (u32, u32) {
        match self {
            ProfileImage::Avatar => (400, 400),
            ProfileImage::Header => (1500, 500),
        }
    }
}

/// Checks, crops and stores a profile picture for `account`; returns its
/// URL (to set through `accounts::update_profile`). `old` (the URL it
/// replaces) is removed if it was ours.
pub async fn store_profile_image(
    state: &AppState,
    account: &Account,
    which: ProfileImage,
    bytes: Vec<u8>,
    declared: Option<String>,
    old: Option<String>,
) -> AppResult<String> {
    let probed = media::probe(&bytes, declared.as_deref()).map_err(media_err)?;
    if probed.kind != Kind::Image {
        return Err(AppError::Unprocessable(
            "Validation failed: Avatar and header must be images".into(),
        ));
    }
    if bytes.len() > state.config.media_max_image_bytes {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: File size must be less than {} MiB",
            state.config.media_max_image_bytes / (1024 * 1024)
        )));
    }
    let (w, h) = which.size();
    let (out, ext) = tokio::task::spawn_blocking(move || media::crop_image(&bytes, &probed, w, h))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(media_err)?;
    let kind = match which {
        ProfileImage::Avatar => "avatar",
        ProfileImage::Header => "header",
    };
    let key = format!(
        "media/profiles/{}-{kind}-{}.{ext}",
        account.id,
        id::next_id()
    );
    state.storage.put(&key, out).await?;
    let base = state.base_url();
    if let Some(old) = old
        && let Some(k) = old.strip_prefix(&format!("{base}/"))
        && k.starts_with("media/profiles/")
    {
        let _ = state.storage.delete(k).await;
    }
    Ok(format!("{base}/{key}"))
}

/// Attachments of a remote post, from its `attachment` list: stored as
/// `remote` (shown from their origin until cached). At most four.
pub fn store_remote(
    c: &mut DbConn,
    status_id: i64,
    account_id: i64,
    attachment: Option<&serde_json::Value>,
) -> QueryResult<usize> {
    use serde_json::Value;
    let items: Vec<&Value> = match attachment {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    };
    let t = now();
    let mut stored = 0;
    for item in items {
        if stored == MAX_PER_STATUS {
            break;
        }
        let Some(url) = item
            .get("url")
            .and_then(crate::federation::protocol::helpers::href_of)
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        else {
            continue;
        };
        let media_type = item
            .get("mediaType")
            .and_then(Value::as_str)
            .or_else(|| {
                item.get("url")
                    .and_then(|u| u.get("mediaType"))
                    .and_then(Value::as_str)
            })
            .unwrap_or("")
            .to_ascii_lowercase();
        let kind = match (
            media_type.split('/').next().unwrap_or(""),
            item.get("type").and_then(Value::as_str),
        ) {
            ("image", _) | ("", Some("Image")) => "image",
            ("video", _) | ("", Some("Video")) => "video",
            ("audio", _) | ("", Some("Audio")) => "audio",
            _ => "unknown",
        };
        let int = |k: &str| {
            item.get(k)
                .and_then(Value::as_i64)
                .and_then(|v| i32::try_from(v).ok())
        };
        let focal: Vec<f64> = item
            .get("focalPoint")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let (fx, fy) = match focal.as_slice() {
            [x, y] if (-1.0..=1.0).contains(x) && (-1.0..=1.0).contains(y) => (*x, *y),
            _ => (0.0, 0.0),
        };
        let description: String = item
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(MAX_DESCRIPTION)
            .collect();
        diesel::insert_into(m::table)
            .values((
                m::id.eq(id::next_id()),
                m::account_id.eq(account_id),
                m::status_id.eq(Some(status_id)),
                m::kind.eq(kind),
                m::content_type.eq(if media_type.is_empty() {
                    "application/octet-stream".to_string()
                } else {
                    media_type.clone()
                }),
                m::state.eq("remote"),
                m::width.eq(int("width")),
                m::height.eq(int("height")),
                m::blurhash.eq(item
                    .get("blurhash")
                    .and_then(Value::as_str)
                    .map(|b| b.chars().take(100).collect::<String>())),
                m::description.eq(description),
                m::focus_x.eq(fx),
                m::focus_y.eq(fy),
                m::remote_url.eq(Some(url)),
                m::position.eq(stored as i32),
                m::created_at.eq(t),
                m::updated_at.eq(t),
            ))
            .execute(c)?;
        stored += 1;
    }
    Ok(stored)
}

/// Fetches and caches a remote post's attachments: only from hosts the
/// partner policy allows, through the client that refuses private
/// addresses, within the size limits. A refusal is recorded (`error`) and
/// the attachment keeps pointing at its origin.
pub async fn cache_remote(state: &AppState, status_id: i64) -> AppResult<usize> {
    let pending: Vec<Attachment> = state
        .db
        .run(move |c| {
            m::table
                .filter(m::status_id.eq(status_id))
                .filter(m::state.eq("remote"))
                .filter(m::error.is_null())
                .select(Attachment::as_select())
                .load(c)
                .map_err(AppError::from)
        })
        .await?;
    let mut cached = 0;
    for a in pending {
        match fetch_remote(state, &a).await {
            Ok(bytes) => match cache_one(state, &a, bytes).await {
                Ok(()) => cached += 1,
                Err(e) => note_error(state, a.id, &e.to_string()).await?,
            },
            Err(why) => note_error(state, a.id, &why).await?,
        }
    }
    Ok(cached)
}

async fn note_error(state: &AppState, aid: i64, why: &str) -> AppResult<()> {
    tracing::debug!(media = aid, %why, "remote media not cached");
    let why: String = why.chars().take(500).collect();
    state
        .db
        .transaction(move |c| {
            diesel::update(m::table.find(aid))
                .set((m::error.eq(Some(why)), m::updated_at.eq(now())))
                .execute(c)
                .map_err(AppError::from)
        })
        .await?;
    Ok(())
}

async fn fetch_remote(state: &AppState, a: &Attachment) -> Result<Vec<u8>, String> {
    let url = a.remote_url.clone().ok_or("no URL")?;
    let parsed = url::Url::parse(&url).map_err(|e| e.to_string())?;
    crate::federation::client::check_public_url(&parsed, state.config.federation_insecure_local)?;
    let host = parsed.host_str().ok_or("no host")?;
    if !state.policy.allows(host).await.map_err(|e| e.to_string())? {
        return Err(format!("{host} is not a federating partner"));
    }
    let checked = host.to_string();
    let rejected = state
        .db
        .run(move |c| {
            crate::domain::policy::media_rejected(c, &checked).map_err(crate::error::AppError::from)
        })
        .await
        .map_err(|e| e.to_string())?;
    if rejected {
        return Err(format!("media from {host} are rejected by this instance"));
    }
    let client = state.media_client.as_ref().ok_or("no HTTP client")?;
    let limit = match a.kind.as_str() {
        "image" | "unknown" => state.config.media_max_image_bytes,
        _ => state.config.media_max_video_bytes,
    };
    let mut res = client.get(parsed).send().await.map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("answered {}", res.status()));
    }
    if res.content_length().is_some_and(|n| n as usize > limit) {
        return Err("larger than the size limit".into());
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > limit {
            return Err("larger than the size limit".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn cache_one(state: &AppState, a: &Attachment, bytes: Vec<u8>) -> AppResult<()> {
    // What the bytes are decides, whatever the remote said.
    let probed = media::probe(&bytes, None).map_err(media_err)?;
    let aid = a.id;
    let remote_hash = a.blurhash.clone();
    let stored = store_processed(state, aid, bytes, probed).await?;
    let res = state
        .db
        .transaction(move |c| {
            diesel::update(m::table.find(aid).filter(m::state.eq("remote")))
                .set((
                    m::state.eq("ready"),
                    m::kind.eq(probed.kind.as_str()),
                    m::content_type.eq(probed.content_type),
                    stored_files!(stored),
                    m::blurhash.eq(stored.blurhash.or(remote_hash)),
                    m::updated_at.eq(now()),
                ))
                .execute(c)
                .map_err(AppError::from)
        })
        .await;
    if res.is_err() {
        remove_files(state, aid).await;
    }
    res.map(|_| ())
}

/// Remote posts whose attachments were never tried (the process stopped
/// before): cache them now.
pub async fn retry_uncached(state: &AppState) -> AppResult<usize> {
    let before = now() - chrono::Duration::seconds(60);
    let statuses: Vec<Option<i64>> = state
        .db
        .run(move |c| {
            m::table
                .filter(m::state.eq("remote"))
                .filter(m::error.is_null())
                .filter(m::created_at.lt(before))
                .select(m::status_id)
                .distinct()
                .limit(20)
                .load(c)
                .map_err(AppError::from)
        })
        .await?;
    let mut n = 0;
    for s in statuses.into_iter().flatten() {
        n += cache_remote(state, s).await?;
    }
    Ok(n)
}

/// The Note `attachment` list of a local post.
pub fn note_attachments(
    c: &mut DbConn,
    base: &str,
    status_id: i64,
) -> QueryResult<serde_json::Value> {
    let list = of_statuses(c, &[status_id])?
        .remove(&status_id)
        .unwrap_or_default();
    Ok(serde_json::Value::Array(
        list.iter()
            .filter_map(|a| {
                let key = a.file_key.as_ref()?;
                let mut v = serde_json::json!({
                    "type": "Document",
                    "mediaType": a.content_type,
                    "url": format!("{base}/{key}"),
                    "name": if a.description.is_empty() { serde_json::Value::Null } else { serde_json::json!(a.description) },
                });
                if let Some(b) = &a.blurhash {
                    v["blurhash"] = serde_json::json!(b);
                }
                if let (Some(w), Some(h)) = (a.width, a.height) {
                    v["width"] = serde_json::json!(w);
                    v["height"] = serde_json::json!(h);
                }
                if a.kind == "image" {
                    v["focalPoint"] = serde_json::json!([a.focus_x, a.focus_y]);
                }
                Some(v)
            })
            .collect(),
    ))
}
