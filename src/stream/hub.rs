//! The streaming connections of this node and the dispatcher that turns
//! signals into per-viewer events for them.
//!
//! Whether a post reaches a stream is decided by the same queries the REST
//! timelines use (asked for that one post), so a stream never shows what
//! the viewer's timeline would not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use tokio::sync::{OnceCell, broadcast, mpsc};

use super::bus::{self, Signal};
use crate::api::mastodon::announcements;
use crate::api::mastodon::entities::{self, Ctx};
use crate::app::AppState;
use crate::db::DbConn;
use crate::db::models::{Account, Follow, Status};
use crate::domain::notifications::Notification;
use crate::domain::timelines::{self, Page};
use crate::error::{AppError, AppResult};

/// One stream a connection listens to, as Mastodon names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Sub {
    User,
    UserNotification,
    Public {
        local: bool,
        remote: bool,
        media: bool,
    },
    Hashtag {
        tag: String,
        local: bool,
    },
    List(i64),
    /// Conversations (direct messages).
    Direct,
}

impl Sub {
    /// Parses a stream name with its `tag` / `list` parameter.
    pub fn parse(
        name: &str,
        tag: Option<&str>,
        list: Option<&str>,
        only_media: bool,
    ) -> Result<Sub, String> {
        let public = |local, remote, media| Sub::Public {
            local,
            remote,
            media: media || only_media,
        };
        let tag = || {
            tag.map(|t| t.trim_start_matches('#').to_lowercase())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| "Missing tag name parameter".to_string())
        };
        Ok(match name {
            "user" => Sub::User,
            "user:notification" => Sub::UserNotification,
            "direct" => Sub::Direct,
            "public" => public(false, false, false),
            "public:media" => public(false, false, true),
            "public:local" => public(true, false, false),
            "public:local:media" => public(true, false, true),
            "public:remote" => public(false, true, false),
            "public:remote:media" => public(false, true, true),
            "hashtag" => Sub::Hashtag {
                tag: tag()?,
                local: false,
            },
            "hashtag:local" => Sub::Hashtag {
                tag: tag()?,
                local: true,
            },
            "list" => Sub::List(
                list.and_then(|l| l.parse().ok())
                    .ok_or_else(|| "Missing list name parameter".to_string())?,
            ),
            _ => return Err("Unknown stream type".into()),
        })
    }

    /// The `stream` array of events, as Mastodon fills it.
    pub fn names(&self) -> Vec<String> {
        let with_media = |base: &str, media: bool| {
            if media {
                format!("{base}:media")
            } else {
                base.to_string()
            }
        };
        match self {
            Sub::User => vec!["user".into()],
            Sub::UserNotification => vec!["user:notification".into()],
            Sub::Public {
                local: true, media, ..
            } => vec![with_media("public:local", *media)],
            Sub::Public {
                remote: true,
                media,
                ..
            } => vec![with_media("public:remote", *media)],
            Sub::Public { media, .. } => vec![with_media("public", *media)],
            Sub::Hashtag { tag, local } => vec![
                if *local { "hashtag:local" } else { "hashtag" }.into(),
                tag.clone(),
            ],
            Sub::List(id) => vec!["list".into(), id.to_string()],
            Sub::Direct => vec!["direct".into()],
        }
    }

    /// The token scope the stream needs (or its parent, `read`).
    pub fn scope(&self) -> &'static str {
        match self {
            Sub::UserNotification => "read:notifications",
            Sub::List(_) => "read:lists",
            _ => "read:statuses",
        }
    }
}

/// One message for one connection.
#[derive(Debug, Clone)]
pub struct Event {
    pub stream: Vec<String>,
    pub event: &'static str,
    /// The entity JSON (or the id for `delete`); None for `filters_changed`.
    pub payload: Option<Arc<str>>,
}

struct Conn {
    account: i64,
    /// The OAuth token it was opened with: revoking it closes the stream.
    token: i64,
    /// Whether the token may read notifications (they ride on `user` too).
    notifications: bool,
    subs: Vec<Sub>,
    tx: mpsc::Sender<Event>,
}

#[derive(Default)]
struct Registry {
    next: u64,
    conns: HashMap<u64, Conn>,
}

impl Registry {
    fn remove(&mut self, id: u64) {
        if self.conns.remove(&id).is_some() {
            crate::metrics::streaming_closed();
        }
    }
}

/// Events a connection may have waiting; a client that falls further behind
/// is disconnected rather than buffered without bound.
pub const QUEUE: usize = 512;

pub struct Hub {
    registry: Mutex<Registry>,
    started: OnceCell<()>,
    per_user: usize,
}

impl Hub {
    pub fn new(per_user: usize) -> Hub {
        Hub {
            registry: Mutex::new(Registry::default()),
            started: OnceCell::new(),
            per_user,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Open connections (for metrics and tests).
    pub fn connections(&self) -> usize {
        self.lock().conns.len()
    }

    /// Adds a connection of `account`; the dispatcher (and on PostgreSQL the
    /// listener) starts with the first one.
    pub async fn register(
        state: &AppState,
        account: i64,
        token: i64,
        notifications: bool,
    ) -> AppResult<Registration> {
        let hub = &state.stream;
        hub.started.get_or_try_init(|| start(state.clone())).await?;
        hub.attach(account, token, notifications)
    }

    /// Adds a connection without starting anything (the dispatcher runs).
    fn attach(
        self: &Arc<Hub>,
        account: i64,
        token: i64,
        notifications: bool,
    ) -> AppResult<Registration> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut reg = self.lock();
        let open = reg.conns.values().filter(|c| c.account == account).count();
        if open >= self.per_user {
            return Err(AppError::TooManyRequests(
                "Too many streaming connections for this account".into(),
            ));
        }
        reg.next += 1;
        let id = reg.next;
        reg.conns.insert(
            id,
            Conn {
                account,
                token,
                notifications,
                subs: Vec::new(),
                tx,
            },
        );
        crate::metrics::streaming_opened();
        drop(reg);
        Ok(Registration {
            hub: self.clone(),
            id,
            rx,
        })
    }

    fn deliver(&self, out: Vec<(u64, Event)>) {
        let mut reg = self.lock();
        for (id, event) in out {
            let Some(conn) = reg.conns.get(&id) else {
                continue;
            };
            match conn.tx.try_send(event) {
                Ok(()) => crate::metrics::streaming_event(),
                Err(e) => {
                    if matches!(e, mpsc::error::TrySendError::Full(_)) {
                        tracing::info!(conn = id, "streaming client too slow; disconnecting");
                        crate::metrics::streaming_dropped();
                    }
                    // Dropping the sender ends the connection's task.
                    reg.remove(id);
                }
            }
        }
    }

    /// Closes every connection of `account` (dropping a sender ends its task).
    pub fn disconnect(&self, account: i64) {
        self.close_where(|c| c.account == account);
    }

    /// Closes the connections opened with token `token`.
    pub fn disconnect_token(&self, token: i64) {
        self.close_where(|c| c.token == token);
    }

    fn close_where(&self, pick: impl Fn(&Conn) -> bool) {
        let mut reg = self.lock();
        let ids: Vec<u64> = reg
            .conns
            .iter()
            .filter(|(_, c)| pick(c))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            reg.remove(id);
        }
    }

    /// Who listens, and to what: the dispatcher's snapshot.
    fn snapshot(&self) -> Vec<Listener> {
        self.lock()
            .conns
            .iter()
            .filter(|(_, c)| !c.subs.is_empty())
            .map(|(id, c)| Listener {
                conn: *id,
                account: c.account,
                notifications: c.notifications,
                subs: c.subs.clone(),
            })
            .collect()
    }
}

/// A registered connection; dropping it unregisters.
pub struct Registration {
    hub: Arc<Hub>,
    id: u64,
    pub rx: mpsc::Receiver<Event>,
}

impl Registration {
    pub fn subscribe(&self, sub: Sub) {
        if let Some(c) = self.hub.lock().conns.get_mut(&self.id)
            && !c.subs.contains(&sub)
        {
            c.subs.push(sub);
        }
    }

    pub fn unsubscribe(&self, sub: &Sub) {
        if let Some(c) = self.hub.lock().conns.get_mut(&self.id) {
            c.subs.retain(|s| s != sub);
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.lock().remove(self.id);
    }
}

#[derive(Debug, Clone)]
struct Listener {
    conn: u64,
    account: i64,
    notifications: bool,
    subs: Vec<Sub>,
}

/// Starts the dispatcher; on PostgreSQL first the LISTEN connection, and
/// waits until it listens so nothing committed after `register` is missed.
async fn start(state: AppState) -> AppResult<()> {
    let rx = state.db.signals().subscribe();
    if let crate::config::DatabaseUrl::Postgres(url) = state.db.url() {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        bus::spawn_pg_listener(url.clone(), Arc::downgrade(state.db.signals()), ready_tx);
        tokio::time::timeout(std::time::Duration::from_secs(10), ready_rx)
            .await
            .map_err(|_| AppError::Unavailable("Streaming is not available now".into()))?
            .map_err(|_| AppError::Unavailable("Streaming is not available now".into()))?;
    }
    tokio::spawn(dispatch(state, rx));
    Ok(())
}

async fn dispatch(state: AppState, mut rx: broadcast::Receiver<Signal>) {
    let ctx = crate::api::mastodon::ctx(&state);
    loop {
        let signal = match rx.recv().await {
            Ok(s) => s,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "stream dispatcher fell behind; events dropped");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match signal {
            Signal::Disconnect { a } => {
                state.stream.disconnect(a);
                continue;
            }
            Signal::Revoked { t } => {
                state.stream.disconnect_token(t);
                continue;
            }
            _ => {}
        }
        let listeners = state.stream.snapshot();
        if listeners.is_empty() {
            continue;
        }
        let ctx = ctx.clone();
        let out = state
            .db
            .run(move |c| route(c, &ctx, &signal, &listeners))
            .await;
        match out {
            Ok(out) => state.stream.deliver(out),
            Err(e) => tracing::warn!(error = %e, "stream event not rendered"),
        }
    }
}

/// The page holding exactly post `id`, to ask a timeline query about it.
fn only(id: i64) -> Page {
    Page {
        max_id: Some(id + 1),
        since_id: Some(id - 1),
        min_id: None,
        limit: 1,
    }
}

/// Whether post `s` belongs on the tag or list stream `sub` of `viewer`
/// (the home and public streams are decided for all viewers at once in
/// [`route`]).
fn shows(c: &mut DbConn, viewer: &Account, sub: &Sub, s: &Status) -> AppResult<bool> {
    let rows = match sub {
        Sub::Hashtag { tag, local } => timelines::tag(c, Some(viewer), tag, *local, only(s.id))?,
        Sub::List(id) => match crate::domain::lists::owned(c, viewer.id, *id) {
            Ok(list) => timelines::list(c, viewer, &list, only(s.id))?,
            Err(_) => return Ok(false),
        },
        Sub::User | Sub::UserNotification | Sub::Public { .. } | Sub::Direct => return Ok(false),
    };
    Ok(!rows.is_empty())
}

/// Whether a post carries media (for the `…:media` streams).
fn has_media(c: &mut DbConn, s: &Status) -> AppResult<bool> {
    Ok(crate::domain::media::has_media(c, s.id)?)
}

fn route(
    c: &mut DbConn,
    ctx: &Ctx,
    signal: &Signal,
    listeners: &[Listener],
) -> AppResult<Vec<(u64, Event)>> {
    let mut out = Vec::new();
    match signal {
        Signal::Update { s } | Signal::Edit { s } => {
            let Some(status) = Status::by_id(c, *s).optional()? else {
                return Ok(out);
            };
            let event = if matches!(signal, Signal::Update { .. }) {
                "update"
            } else {
                "status.update"
            };
            // Which (account, stream) pairs get the post: batched for the
            // home and public streams, per viewer for tags and lists.
            let mut by_sub: HashMap<Sub, Vec<i64>> = HashMap::new();
            for l in listeners {
                for sub in &l.subs {
                    if !matches!(sub, Sub::UserNotification | Sub::Direct) {
                        by_sub.entry(sub.clone()).or_default().push(l.account);
                    }
                }
            }
            let mut yes: std::collections::HashSet<(i64, Sub)> = Default::default();
            let media = has_media(c, &status)?;
            for (sub, mut accounts) in by_sub {
                accounts.sort_unstable();
                accounts.dedup();
                let audience: Vec<i64> = match &sub {
                    Sub::User => timelines::home_audience(c, &status, &accounts)?
                        .into_iter()
                        .collect(),
                    Sub::Public {
                        local,
                        remote,
                        media: only_media,
                    } => {
                        if *only_media && !media {
                            Vec::new()
                        } else {
                            timelines::public_audience(c, &status, &accounts, *local, *remote)?
                                .into_iter()
                                .collect()
                        }
                    }
                    _ => {
                        let mut found = Vec::new();
                        for a in &accounts {
                            if let Some(viewer) = Account::by_id(c, *a).optional()?
                                && shows(c, &viewer, &sub, &status)?
                            {
                                found.push(*a);
                            }
                        }
                        found
                    }
                };
                for a in audience {
                    yes.insert((a, sub.clone()));
                }
            }
            if yes.is_empty() {
                return Ok(out);
            }
            let mut viewers: Vec<i64> = yes.iter().map(|(a, _)| *a).collect();
            viewers.sort_unstable();
            viewers.dedup();
            let payloads: HashMap<i64, Arc<str>> =
                entities::status_for_viewers(c, ctx, &status, &viewers)?
                    .into_iter()
                    .map(|(v, json)| (v, Arc::from(json.to_string())))
                    .collect();
            for l in listeners {
                for sub in &l.subs {
                    if !yes.contains(&(l.account, sub.clone())) {
                        continue;
                    }
                    if let Some(p) = payloads.get(&l.account) {
                        out.push((
                            l.conn,
                            Event {
                                stream: sub.names(),
                                event,
                                payload: Some(p.clone()),
                            },
                        ));
                    }
                }
            }
        }
        Signal::Delete { s, a, v, m } => {
            let payload: Arc<str> = s.to_string().into();
            let mut may_have_seen: HashMap<i64, bool> = HashMap::new();
            for l in listeners {
                let seen = match may_have_seen.get(&l.account) {
                    Some(x) => *x,
                    None => {
                        let x = match v.as_str() {
                            "public" | "unlisted" | "local" => true,
                            _ if l.account == *a || m.contains(&l.account) => true,
                            "private" => {
                                Follow::find(c, l.account, *a)?.is_some_and(|f| !f.pending)
                            }
                            _ => false,
                        };
                        may_have_seen.insert(l.account, x);
                        x
                    }
                };
                if !seen {
                    continue;
                }
                for sub in l.subs.iter().filter(|s| **s != Sub::UserNotification) {
                    out.push((
                        l.conn,
                        Event {
                            stream: sub.names(),
                            event: "delete",
                            payload: Some(payload.clone()),
                        },
                    ));
                }
            }
        }
        Signal::Notification { n, a } => {
            let mine: Vec<&Listener> = listeners
                .iter()
                .filter(|l| l.account == *a && l.notifications)
                .collect();
            if mine.is_empty() {
                return Ok(out);
            }
            let Some(row) = crate::domain::notifications::by_id(c, *n)? else {
                return Ok(out);
            };
            let payload: Arc<str> = render_notification(c, ctx, &row, *a)?.into();
            for l in mine {
                for sub in l
                    .subs
                    .iter()
                    .filter(|s| matches!(s, Sub::User | Sub::UserNotification))
                {
                    out.push((
                        l.conn,
                        Event {
                            stream: sub.names(),
                            event: "notification",
                            payload: Some(payload.clone()),
                        },
                    ));
                }
            }
        }
        Signal::Conversation { c: cid, a } => {
            let mine: Vec<&Listener> = listeners
                .iter()
                .filter(|l| l.account == *a && l.subs.contains(&Sub::Direct))
                .collect();
            if mine.is_empty() {
                return Ok(out);
            }
            let Some(conv) = crate::domain::conversations::find(c, *a, *cid)? else {
                return Ok(out);
            };
            let payload: Arc<str> = entities::conversations(c, ctx, &[conv], *a)?
                .into_iter()
                .next()
                .map(|v| v.to_string())
                .unwrap_or_default()
                .into();
            for l in mine {
                out.push((
                    l.conn,
                    Event {
                        stream: Sub::Direct.names(),
                        event: "conversation",
                        payload: Some(payload.clone()),
                    },
                ));
            }
        }
        Signal::FiltersChanged { a } => {
            for l in listeners.iter().filter(|l| l.account == *a) {
                if l.subs.contains(&Sub::User) {
                    out.push((
                        l.conn,
                        Event {
                            stream: Sub::User.names(),
                            event: "filters_changed",
                            payload: None,
                        },
                    ));
                }
            }
        }
        Signal::Announcement { i } => {
            let users: Vec<&Listener> = listeners
                .iter()
                .filter(|l| l.subs.contains(&Sub::User))
                .collect();
            if users.is_empty() {
                return Ok(out);
            }
            let Some(a) = crate::domain::announcements::live(c, *i).ok() else {
                return Ok(out);
            };
            let rendered = announcements::render(c, ctx, std::slice::from_ref(&a))?;
            let Some(r) = rendered.first() else {
                return Ok(out);
            };
            let mut viewers: Vec<i64> = users.iter().map(|l| l.account).collect();
            viewers.sort_unstable();
            viewers.dedup();
            let read = crate::domain::announcements::dismissed(c, &viewers, &[a.id])?;
            let mut payloads: HashMap<i64, Arc<str>> = HashMap::new();
            for l in users {
                let p = payloads
                    .entry(l.account)
                    .or_insert_with(|| {
                        announcements::for_viewer(r, l.account, read.contains(&(a.id, l.account)))
                            .to_string()
                            .into()
                    })
                    .clone();
                out.push((l.conn, user_event("announcement", p)));
            }
        }
        Signal::AnnouncementReaction { i, n } => {
            let count = crate::domain::announcements::count_of(c, *i, n)?;
            let p: Arc<str> = serde_json::json!({
                "name": n,
                "count": count,
                "announcement_id": i.to_string(),
            })
            .to_string()
            .into();
            for l in listeners.iter().filter(|l| l.subs.contains(&Sub::User)) {
                out.push((l.conn, user_event("announcement.reaction", p.clone())));
            }
        }
        Signal::AnnouncementDelete { i } => {
            let p: Arc<str> = i.to_string().into();
            for l in listeners.iter().filter(|l| l.subs.contains(&Sub::User)) {
                out.push((l.conn, user_event("announcement.delete", p.clone())));
            }
        }
        // Handled by the dispatcher before any rendering.
        Signal::Disconnect { .. } | Signal::Revoked { .. } => {}
    }
    Ok(out)
}

fn user_event(event: &'static str, payload: Arc<str>) -> Event {
    Event {
        stream: Sub::User.names(),
        event,
        payload: Some(payload),
    }
}

fn render_notification(
    c: &mut DbConn,
    ctx: &Ctx,
    n: &Notification,
    viewer: i64,
) -> AppResult<String> {
    Ok(entities::notification(c, ctx, n, viewer)?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            stream: Sub::User.names(),
            event: "update",
            payload: Some("{}".into()),
        }
    }

    #[test]
    fn a_client_that_falls_behind_is_dropped_not_buffered() {
        let hub = Arc::new(Hub::new(4));
        let mut slow = hub.attach(1, 1, true).unwrap();
        let mut fine = hub.attach(2, 2, true).unwrap();
        slow.subscribe(Sub::User);
        for _ in 0..QUEUE {
            hub.deliver(vec![(slow.id, event()), (fine.id, event())]);
            assert!(fine.rx.try_recv().is_ok());
        }
        assert_eq!(hub.connections(), 2);
        hub.deliver(vec![(slow.id, event())]);
        assert_eq!(hub.connections(), 1, "the full queue disconnects");
        let mut queued = 0;
        while slow.rx.try_recv().is_ok() {
            queued += 1;
        }
        assert_eq!(queued, QUEUE);
        assert!(matches!(
            slow.rx.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        hub.deliver(vec![(fine.id, event())]);
        assert!(fine.rx.try_recv().is_ok(), "others keep their stream");
    }

    #[test]
    fn connections_per_account_are_capped() {
        let hub = Arc::new(Hub::new(2));
        let a = hub.attach(1, 1, true).unwrap();
        let _b = hub.attach(1, 1, true).unwrap();
        assert!(matches!(
            hub.attach(1, 1, true),
            Err(AppError::TooManyRequests(_))
        ));
        assert!(
            hub.attach(2, 2, true).is_ok(),
            "another account is not affected"
        );
        drop(a);
        assert!(hub.attach(1, 1, true).is_ok());
    }

    #[test]
    fn stream_names_parse_and_print_as_mastodon_does() {
        for name in [
            "user",
            "user:notification",
            "public",
            "public:media",
            "public:local",
            "public:local:media",
            "public:remote",
            "public:remote:media",
        ] {
            assert_eq!(
                Sub::parse(name, None, None, false).unwrap().names(),
                vec![name]
            );
        }
        assert_eq!(
            Sub::parse("public:local", None, None, true)
                .unwrap()
                .names(),
            vec!["public:local:media"]
        );
        assert_eq!(
            Sub::parse("hashtag:local", Some("#Rust"), None, false)
                .unwrap()
                .names(),
            vec!["hashtag:local", "rust"]
        );
        assert!(Sub::parse("hashtag", None, None, false).is_err());
        assert!(Sub::parse("list", None, Some("x"), false).is_err());
        assert!(Sub::parse("direct:everything", None, None, false).is_err());
        assert_eq!(
            Sub::parse("direct", None, None, false).unwrap().names(),
            vec!["direct"]
        );
    }
}
