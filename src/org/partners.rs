//! Partners' directories, without a central host. Each instance publishes
//! its discoverable people as an `OrderedCollection` of actor documents
//! (`/actor/directory`, linked from NodeInfo `metadata.directory` and the instance
//! actor's `meetfield:directory`), served to partner instances only, on a
//! signed fetch; `?since=` lists what changed, with `Tombstone`s for people
//! who left or opted out. Partners pull it on a schedule and on demand and
//! keep the people as remote accounts, indexed for the directory and "who
//! knows X?".

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::models::Account;
use crate::db::schema::{
    accounts, directory_entries, directory_peers, featured_tags, profile_terms, users,
};
use crate::db::{DbConn, now};
use crate::error::{AppError, AppResult};
use crate::federation::FedData;
use crate::federation::protocol::actor::{ActorJson, FeaturedTagsSource};
use crate::federation::protocol::helpers::authority;
use crate::federation::urls;

/// A partner's directory is read to this many pages at most (200,000 people).
const MAX_PAGES: usize = 1000;
/// A full read (which notices who left) at least this often.
const FULL_EVERY: chrono::Duration = chrono::Duration::hours(24);

pub fn collection_url(base: &str) -> String {
    // Beside the instance actor: `/directory` is left to the web page.
    format!("{base}/actor/directory")
}

// ------------------------------------------------------------------ peers

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = directory_peers)]
pub struct Peer {
    pub domain: String,
    pub share: bool,
    pub read: bool,
    pub collection_url: Option<String>,
    pub cursor: Option<String>,
    pub last_full_at: Option<NaiveDateTime>,
    pub last_sync_at: Option<NaiveDateTime>,
    pub last_result: String,
}

/// A partner as `acct` shows it: lower case, host with the port if any.
pub fn normalize_peer(domain: &str) -> AppResult<String> {
    let d = domain.trim().trim_end_matches('/').to_lowercase();
    let d = d
        .strip_prefix("https://")
        .or_else(|| d.strip_prefix("http://"))
        .unwrap_or(&d)
        .to_string();
    let ok = !d.is_empty()
        && url::Url::parse(&format!("https://{d}/"))
            .ok()
            .is_some_and(|u| u.path() == "/" && authority(&u) == d);
    if ok {
        Ok(d)
    } else {
        Err(AppError::Unprocessable(format!(
            "'{domain}' is not a domain"
        )))
    }
}

pub fn peer(c: &mut DbConn, domain: &str) -> QueryResult<Option<Peer>> {
    directory_peers::table
        .find(domain)
        .select(Peer::as_select())
        .first(c)
        .optional()
}

pub fn peers(c: &mut DbConn) -> QueryResult<Vec<Peer>> {
    directory_peers::table
        .order(directory_peers::domain.asc())
        .select(Peer::as_select())
        .load(c)
}

fn ensure_peer(c: &mut DbConn, domain: &str) -> QueryResult<Peer> {
    if let Some(p) = peer(c, domain)? {
        return Ok(p);
    }
    let insert =
        diesel::insert_into(directory_peers::table).values(directory_peers::domain.eq(domain));
    match c {
        DbConn::Sqlite(lite) => insert.on_conflict_do_nothing().execute(lite)?,
        DbConn::Postgres(pg) => insert.on_conflict_do_nothing().execute(pg)?,
    };
    peer(c, domain)?.ok_or(diesel::result::Error::NotFound)
}

/// Whether we serve our directory to (`share`) and read it from (`read`)
/// a partner; returns the peer as it now stands.
pub fn set_peer(
    c: &mut DbConn,
    domain: &str,
    share: Option<bool>,
    read: Option<bool>,
) -> AppResult<Peer> {
    let domain = normalize_peer(domain)?;
    ensure_peer(c, &domain)?;
    if let Some(s) = share {
        diesel::update(directory_peers::table.find(&domain))
            .set(directory_peers::share.eq(s))
            .execute(c)?;
    }
    if let Some(r) = read {
        diesel::update(directory_peers::table.find(&domain))
            .set(directory_peers::read.eq(r))
            .execute(c)?;
    }
    peer(c, &domain)?.ok_or_else(AppError::not_found)
}

/// Whether our directory may go to an instance whose actor signed the
/// request from `host` (no port: as the signature's key id names it).
pub fn shared_with(c: &mut DbConn, host: &str) -> QueryResult<bool> {
    let refused: Vec<String> = directory_peers::table
        .filter(directory_peers::share.eq(false))
        .select(directory_peers::domain)
        .load(c)?;
    Ok(!refused
        .iter()
        .any(|d| d.split(':').next().unwrap_or(d).eq_ignore_ascii_case(host)))
}

// ---------------------------------------------------------------- serving

/// The collection document (no items: they are on the pages).
pub fn collection(c: &mut DbConn, base: &str, since: Option<NaiveDateTime>) -> QueryResult<Value> {
    let total: i64 = listed(since).count().get_result(c)?;
    let id = page_url(base, since, None, false);
    Ok(json!({
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
        // Our clock now: the partner asks `since` this next time.
        "updated": crate::api::mastodon::entities::iso(now()),
        "first": page_url(base, since, None, true),
    }))
}

fn page_url(base: &str, since: Option<NaiveDateTime>, after: Option<i64>, page: bool) -> String {
    let mut q: Vec<String> = Vec::new();
    if page {
        q.push("page=true".into());
    }
    if let Some(s) = since {
        q.push(format!(
            "since={}",
            crate::api::mastodon::entities::iso(s).replace(':', "%3A")
        ));
    }
    if let Some(a) = after {
        q.push(format!("after={a}"));
    }
    let url = collection_url(base);
    if q.is_empty() {
        url
    } else {
        format!("{url}?{}", q.join("&"))
    }
}

type Listed<'a> = accounts::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend>;

/// Local people the directory lists: everyone who changed since `since`
/// (to say who left), else the discoverable ones.
fn listed(since: Option<NaiveDateTime>) -> Listed<'static> {
    let q = accounts::table
        .filter(accounts::domain.is_null())
        .filter(accounts::actor_type.eq("Person"))
        .into_boxed();
    match since {
        Some(t) => q.filter(accounts::updated_at.gt(t)),
        None => q
            .filter(accounts::discoverable.eq(true))
            .filter(accounts::suspended_at.is_null())
            .filter(
                accounts::id.eq_any(
                    users::table
                        .filter(users::disabled.eq(false))
                        .select(users::account_id),
                ),
            ),
    }
}

/// One page: actor documents of listed people (featured tags embedded,
/// `updated` set), `Tombstone`s for people who changed into not listed.
pub fn page(
    c: &mut DbConn,
    base: &str,
    since: Option<NaiveDateTime>,
    after: Option<i64>,
    page_size: i64,
) -> AppResult<Value> {
    let mut q = listed(since)
        .order(accounts::id.asc())
        .limit(page_size)
        .select(Account::as_select());
    if let Some(a) = after {
        q = q.filter(accounts::id.gt(a));
    }
    let people: Vec<Account> = q.load(c)?;
    let ids: Vec<i64> = people.iter().map(|a| a.id).collect();
    let disabled: Vec<i64> = users::table
        .filter(users::account_id.eq_any(&ids))
        .filter(users::disabled.eq(true))
        .select(users::account_id)
        .load(c)?;
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    for (account, name) in featured_tags::table
        .filter(featured_tags::account_id.eq_any(&ids))
        .order(featured_tags::id.asc())
        .select((featured_tags::account_id, featured_tags::display_name))
        .load::<(i64, String)>(c)?
    {
        tags.entry(account).or_default().push(name);
    }
    let mut items = Vec::with_capacity(people.len());
    for a in &people {
        let shown = a.discoverable && a.suspended_at.is_none() && !disabled.contains(&a.id);
        if !shown {
            items.push(json!({
                "type": "Tombstone",
                "id": a.uri,
                "formerType": "Person",
                "deleted": crate::api::mastodon::entities::iso(a.updated_at),
            }));
            continue;
        }
        let actor = crate::federation::objects::account::local_actor_json(a, None, base);
        let mut v = serde_json::to_value(&actor).map_err(|e| AppError::Internal(e.into()))?;
        let names = tags.remove(&a.id).unwrap_or_default();
        v["featuredTags"] = json!({
            "id": urls::featured_tags(&a.uri),
            "type": "Collection",
            "totalItems": names.len(),
            "items": names.iter().map(|n| json!({
                "type": "Hashtag",
                "name": format!("#{n}"),
                "href": format!("{base}/@{}/tagged/{}", a.username, n.to_lowercase()),
            })).collect::<Vec<_>>(),
        });
        v["updated"] = json!(crate::api::mastodon::entities::iso(a.updated_at));
        items.push(v);
    }
    let mut out = json!({
        "id": page_url(base, since, after, true),
        "type": "OrderedCollectionPage",
        "partOf": page_url(base, since, None, false),
        "orderedItems": items,
    });
    if people.len() as i64 == page_size
        && let Some(last) = people.last()
    {
        out["next"] = json!(page_url(base, since, Some(last.id), true));
    }
    Ok(out)
}

// ---------------------------------------------------------------- reading

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncReport {
    pub domain: String,
    pub full: bool,
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    /// Items the partner sent that were not taken (wrong host, unreadable).
    pub skipped: usize,
    pub pages: usize,
}

impl std::fmt::Display for SyncReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} sync, {} added, {} changed, {} removed",
            self.domain,
            if self.full { "full" } else { "incremental" },
            self.added,
            self.changed,
            self.removed
        )?;
        if self.skipped > 0 {
            write!(f, ", {} skipped", self.skipped)?;
        }
        Ok(())
    }
}

/// Takes a person out of the directory here: no longer discoverable, no
/// indexed terms, no entry.
fn drop_person(c: &mut DbConn, account_id: i64) -> QueryResult<()> {
    diesel::update(accounts::table.find(account_id))
        .set(accounts::discoverable.eq(false))
        .execute(c)?;
    diesel::delete(profile_terms::table.filter(profile_terms::account_id.eq(account_id)))
        .execute(c)?;
    diesel::delete(directory_entries::table.find(account_id)).execute(c)?;
    Ok(())
}

/// Stores one page's people (one transaction), counting into `report`.
fn apply_page(
    c: &mut DbConn,
    domain: &str,
    items: &[Value],
    seen_at: NaiveDateTime,
    report: &mut SyncReport,
) -> AppResult<()> {
    for item in items {
        let is_tombstone = item.get("type").and_then(Value::as_str) == Some("Tombstone");
        let from_partner = |u: &url::Url| authority(u) == domain;
        if is_tombstone {
            let Some(uri) = item.get("id").and_then(Value::as_str) else {
                report.skipped += 1;
                continue;
            };
            if !url::Url::parse(uri).is_ok_and(|u| from_partner(&u)) {
                report.skipped += 1;
                continue;
            }
            if let Some(a) = Account::by_uri(c, uri)?
                && !a.is_local()
            {
                if a.discoverable
                    || directory_entries::table
                        .find(a.id)
                        .count()
                        .get_result::<i64>(c)?
                        > 0
                {
                    report.removed += 1;
                }
                drop_person(c, a.id)?;
            }
            continue;
        }
        let Ok(json) = serde_json::from_value::<ActorJson>(item.clone()) else {
            report.skipped += 1;
            continue;
        };
        if !from_partner(&json.id) || !from_partner(&json.inbox) || json.kind != "Person" {
            report.skipped += 1;
            continue;
        }
        let Ok(row) = crate::federation::objects::account::remote_actor_row(&json) else {
            report.skipped += 1;
            continue;
        };
        let before = Account::by_uri(c, &row.uri)?;
        if before.as_ref().is_some_and(Account::is_local) {
            report.skipped += 1;
            continue;
        }
        if !row.discoverable {
            if let Some(b) = &before {
                if b.discoverable {
                    report.removed += 1;
                }
                drop_person(c, b.id)?;
            }
            continue;
        }
        let a = Account::upsert_remote(c, &row)?;
        if let Some(FeaturedTagsSource::Listed(names)) = json.featured_tags_source() {
            crate::domain::tags::store_remote(c, a.id, &names)?;
        }
        crate::org::profile::reindex_account(c, a.id, &a.fields, &json.schema_org())?;
        let entry = diesel::insert_into(directory_entries::table).values((
            directory_entries::account_id.eq(a.id),
            directory_entries::domain.eq(domain),
            directory_entries::seen_at.eq(seen_at),
        ));
        let upsert = (
            directory_entries::domain.eq(domain),
            directory_entries::seen_at.eq(seen_at),
        );
        match c {
            DbConn::Sqlite(lite) => entry
                .on_conflict(directory_entries::account_id)
                .do_update()
                .set(upsert)
                .execute(lite)?,
            DbConn::Postgres(pg) => entry
                .on_conflict(directory_entries::account_id)
                .do_update()
                .set(upsert)
                .execute(pg)?,
        };
        match before {
            None => report.added += 1,
            Some(b)
                if b.fields != a.fields
                    || b.note != a.note
                    || b.display_name != a.display_name
                    || !b.discoverable =>
            {
                report.changed += 1
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Where a partner publishes its directory: NodeInfo `metadata.directory`.
async fn discover(data: &FedData, domain: &str) -> AppResult<String> {
    let client = data
        .media_client
        .as_ref()
        .ok_or_else(|| AppError::Unavailable("no HTTP client".into()))?;
    let scheme = if data.config.federation_insecure_local {
        "http"
    } else {
        "https"
    };
    let get = |url: String| async move {
        let res = client
            .get(&url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| AppError::BadGateway(format!("{url}: {e}")))?;
        if !res.status().is_success() {
            return Err(AppError::BadGateway(format!(
                "{url} answered {}",
                res.status()
            )));
        }
        if res.content_length().is_some_and(|n| n > 1 << 20) {
            return Err(AppError::BadGateway(format!("{url}: too large")));
        }
        res.json::<Value>()
            .await
            .map_err(|e| AppError::BadGateway(format!("{url}: {e}")))
    };
    let links = get(format!("{scheme}://{domain}/.well-known/nodeinfo")).await?;
    let href = links["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["href"].as_str())
        .filter(|h| h.contains("/nodeinfo/2."))
        .max()
        .map(str::to_string)
        .ok_or_else(|| AppError::NotFound(format!("{domain} publishes no NodeInfo")))?;
    let same_host = |u: &str| url::Url::parse(u).is_ok_and(|u| authority(&u) == domain);
    if !same_host(&href) {
        return Err(AppError::BadGateway(format!(
            "{domain}: NodeInfo on another host"
        )));
    }
    let info = get(href).await?;
    match info["metadata"]["directory"].as_str() {
        Some(d) if same_host(d) => Ok(d.to_string()),
        Some(_) => Err(AppError::BadGateway(format!(
            "{domain}: directory on another host"
        ))),
        None => Err(AppError::NotFound(format!(
            "{domain} publishes no directory (not a Meetfield instance?)"
        ))),
    }
}

async fn fetch(data: &FedData, url: &str) -> AppResult<Value> {
    let u = url::Url::parse(url)?;
    // A refusal (401, 403) comes back as JSON, which the library reports
    // as a wrong content type: say what it most likely means.
    // Each page is its own request chain: the library's per-request fetch
    // limit would stop a long directory after a few dozen pages.
    let data = data.reset_request_count();
    activitypub_federation::fetch::fetch_object_http::<crate::app::AppState, Value>(&u, &data)
        .await
        .map(|r| r.object)
        .map_err(|e| {
            AppError::BadGateway(format!(
                "reading the directory at {url} failed (refused: are we its partner, and does it share with us?): {e}"
            ))
        })
}

/// Reads a partner's directory (all of it when `full`, when never read, or
/// when the last full read is a day old; else what changed since the last
/// read) and stores its people. Returns when done.
pub async fn sync(data: &FedData, domain: &str, full: bool) -> AppResult<SyncReport> {
    let domain = normalize_peer(domain)?;
    let host = domain.split(':').next().unwrap_or(&domain).to_string();
    if !data.policy.allows(&host).await? {
        return Err(AppError::Forbidden(format!(
            "{domain} is not a partner (federation policy)"
        )));
    }
    let d = domain.clone();
    let peer = data
        .db
        .transaction(move |c| Ok::<_, AppError>(ensure_peer(c, &d)?))
        .await?;
    if !peer.read {
        return Err(AppError::Forbidden(format!(
            "reading {domain}'s directory is turned off (meetfield admin domain directory {domain} read)"
        )));
    }
    let collection = match &peer.collection_url {
        Some(u) => u.clone(),
        None => discover(data, &domain).await?,
    };
    let full =
        full || peer.cursor.is_none() || peer.last_full_at.is_none_or(|t| now() - t > FULL_EVERY);
    let started = now();
    let first_url = match (&peer.cursor, full) {
        (Some(since), false) => format!("{collection}?since={}", since.replace(':', "%3A")),
        _ => collection.clone(),
    };
    let head = fetch(data, &first_url).await?;
    let cursor = head["updated"].as_str().map(str::to_string);
    let mut next = head["first"].as_str().map(str::to_string);
    let mut report = SyncReport {
        domain: domain.clone(),
        full,
        ..Default::default()
    };
    let same_host = |u: &str| url::Url::parse(u).is_ok_and(|u| authority(&u) == domain);
    while let Some(url) = next.take() {
        if report.pages >= MAX_PAGES || !same_host(&url) {
            break;
        }
        let page = fetch(data, &url).await?;
        report.pages += 1;
        let items: Vec<Value> = page["orderedItems"]
            .as_array()
            .or_else(|| page["items"].as_array())
            .cloned()
            .unwrap_or_default();
        let (d, mut r) = (domain.clone(), report.clone());
        report = data
            .db
            .transaction(move |c| {
                apply_page(c, &d, &items, started, &mut r)?;
                Ok::<_, AppError>(r)
            })
            .await?;
        next = page["next"].as_str().map(str::to_string);
    }
    // After a full read, whoever was not seen has left.
    let (d, mut r) = (domain.clone(), report);
    let summary_collection = collection.clone();
    let report = data
        .db
        .transaction(move |c| {
            if r.full {
                let gone: Vec<i64> = directory_entries::table
                    .filter(directory_entries::domain.eq(&d))
                    .filter(directory_entries::seen_at.lt(started))
                    .select(directory_entries::account_id)
                    .load(c)?;
                for id in gone {
                    drop_person(c, id)?;
                    r.removed += 1;
                }
            }
            diesel::update(directory_peers::table.find(&d))
                .set((
                    directory_peers::collection_url.eq(Some(&summary_collection)),
                    directory_peers::last_sync_at.eq(Some(now())),
                    directory_peers::last_result.eq(r.to_string()),
                ))
                .execute(c)?;
            if let Some(cur) = &cursor {
                diesel::update(directory_peers::table.find(&d))
                    .set(directory_peers::cursor.eq(Some(cur)))
                    .execute(c)?;
            }
            if r.full {
                diesel::update(directory_peers::table.find(&d))
                    .set(directory_peers::last_full_at.eq(Some(started)))
                    .execute(c)?;
            }
            Ok::<_, AppError>(r)
        })
        .await?;
    Ok(report)
}

/// The partners to read: peers left readable, and the allowlist's domains.
pub async fn partners(data: &FedData) -> AppResult<Vec<String>> {
    data.db
        .run(|c| {
            let mut out: Vec<String> = directory_peers::table
                .filter(directory_peers::read.eq(true))
                .select(directory_peers::domain)
                .load(c)?;
            let off: Vec<String> = directory_peers::table
                .filter(directory_peers::read.eq(false))
                .select(directory_peers::domain)
                .load(c)?;
            for p in crate::db::models::DomainPolicy::all(c)? {
                if p.policy == "allow"
                    && !out
                        .iter()
                        .chain(&off)
                        .any(|d| d.split(':').next() == Some(p.domain.as_str()))
                {
                    out.push(p.domain);
                }
            }
            out.sort();
            out.dedup();
            Ok::<_, AppError>(out)
        })
        .await
}

/// Reads every partner's directory; one failing does not stop the others.
pub async fn sync_all(data: &FedData, full: bool) -> Vec<(String, AppResult<SyncReport>)> {
    let mut out = Vec::new();
    let domains = match partners(data).await {
        Ok(d) => d,
        Err(e) => return vec![(String::new(), Err(e))],
    };
    for d in domains {
        let r = sync(data, &d, full).await;
        if let Err(e) = &r {
            let (dd, msg) = (d.clone(), format!("failed: {e}"));
            let _ = data
                .db
                .transaction(move |c| {
                    diesel::update(directory_peers::table.find(&dd))
                        .set((
                            directory_peers::last_sync_at.eq(Some(now())),
                            directory_peers::last_result.eq(msg),
                        ))
                        .execute(c)
                        .map_err(AppError::from)
                })
                .await;
        }
        out.push((d, r));
    }
    out
}

/// `since` as a partner sends it (RFC 3339).
pub fn parse_since(s: &str) -> AppResult<NaiveDateTime> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc).naive_utc())
        .map_err(|_| AppError::BadRequest(format!("since: not an RFC 3339 time: {s}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_names() {
        assert_eq!(normalize_peer("Beta.Example").unwrap(), "beta.example");
        assert_eq!(
            normalize_peer("https://beta.localhost:8443/").unwrap(),
            "beta.localhost:8443"
        );
        for bad in ["", "a b", "beta.example/path", "user@beta.example"] {
            assert!(normalize_peer(bad).is_err(), "{bad}");
        }
        assert!(parse_since("2026-12-01T10:00:00.000Z").is_ok());
        assert!(parse_since("yesterday").is_err());
    }
}
