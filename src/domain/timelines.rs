//! Who may see a post, and the timelines built from that rule.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::models::{Account, Follow, Status};
use crate::db::schema::{follows, mentions, statuses};
use crate::domain::{blocks, mutes};

/// Pagination as Mastodon does it: `max_id` and `since_id` page newest
/// first; `min_id` pages from the oldest side.
#[derive(Debug, Clone, Copy, Default)]
pub struct Page {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub min_id: Option<i64>,
    pub limit: i64,
}

impl Page {
    pub fn new(
        max_id: Option<i64>,
        since_id: Option<i64>,
        min_id: Option<i64>,
        limit: Option<i64>,
        default: i64,
        max: i64,
    ) -> Page {
        Page {
            max_id,
            since_id,
            min_id,
            limit: limit.unwrap_or(default).clamp(1, max),
        }
    }
}

/// Whether `viewer` (None: anonymous) may see `s`.
pub fn can_view(c: &mut DbConn, viewer: Option<&Account>, s: &Status) -> QueryResult<bool> {
    if let Some(v) = viewer
        && v.id != s.account_id
        && blocks::blocked_either_way(c, v.id, s.account_id)?
    {
        return Ok(false);
    }
    let mentioned = |c: &mut DbConn, v: &Account| -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            mentions::table
                .filter(mentions::status_id.eq(s.id))
                .filter(mentions::account_id.eq(v.id)),
        ))
        .get_result(c)
    };
    let by_rule = match (s.visibility.as_str(), viewer) {
        ("public" | "unlisted", _) => true,
        ("local", Some(v)) => v.is_local(),
        ("private", Some(v)) => {
            v.id == s.account_id
                || Follow::find(c, v.id, s.account_id)?.is_some_and(|f| !f.pending)
                || mentioned(c, v)?
        }
        ("direct", Some(v)) => v.id == s.account_id || mentioned(c, v)?,
        _ => false,
    };
    if by_rule {
        return Ok(true);
    }
    // Members of a group see what it took in, whatever the addressing.
    match viewer {
        Some(v) => member_of_group_of(c, v.id, s.id),
        None => Ok(false),
    }
}

/// Whether `account` belongs to a group that took in post `status`.
pub fn member_of_group_of(c: &mut DbConn, account: i64, status: i64) -> QueryResult<bool> {
    use crate::db::schema::group_posts;
    let groups: Vec<i64> = group_posts::table
        .filter(group_posts::status_id.eq(status))
        .select(group_posts::group_id)
        .load(c)?;
    if groups.is_empty() {
        return Ok(false);
    }
    diesel::select(diesel::dsl::exists(
        follows::table
            .filter(follows::account_id.eq(account))
            .filter(follows::target_account_id.eq_any(groups))
            .filter(follows::pending.eq(false)),
    ))
    .get_result(c)
}

type Boxed<'a> = statuses::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend>;

fn page_of(mut q: Boxed<'_>, page: Page, c: &mut DbConn) -> QueryResult<Vec<Status>> {
    if let Some(m) = page.max_id {
        q = q.filter(statuses::id.lt(m));
    }
    if let Some(s) = page.since_id {
        q = q.filter(statuses::id.gt(s));
    }
    if let Some(m) = page.min_id {
        let mut rows: Vec<Status> = q
            .filter(statuses::id.gt(m))
            .order(statuses::id.asc())
            .limit(page.limit)
            .select(Status::as_select())
            .load(c)?;
        rows.reverse();
        return Ok(rows);
    }
    q.order(statuses::id.desc())
        .limit(page.limit)
        .select(Status::as_select())
        .load(c)
}

/// Drops boosts of posts whose authors the viewer does not want to see.
fn drop_hidden_boosts(
    c: &mut DbConn,
    rows: Vec<Status>,
    hidden: &[i64],
) -> QueryResult<Vec<Status>> {
    let boosted: Vec<i64> = rows.iter().filter_map(|s| s.reblog_of_id).collect();
    if boosted.is_empty() || hidden.is_empty() {
        return Ok(rows);
    }
    let bad: std::collections::HashSet<i64> = statuses::table
        .filter(statuses::id.eq_any(&boosted))
        .filter(statuses::account_id.eq_any(hidden))
        .select(statuses::id)
        .load::<i64>(c)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .filter(|s| s.reblog_of_id.is_none_or(|o| !bad.contains(&o)))
        .collect())
}

/// Posts and boosts of the accounts `viewer` follows, and its own; minus
/// muted and blocked accounts, boosts of accounts followed without them,
/// and members of the viewer's exclusive lists.
pub fn home(c: &mut DbConn, viewer: &Account, page: Page) -> QueryResult<Vec<Status>> {
    use crate::db::schema::{list_accounts, lists};
    let followed: Vec<(i64, bool)> = follows::table
        .filter(follows::account_id.eq(viewer.id))
        .filter(follows::pending.eq(false))
        .select((follows::target_account_id, follows::show_reblogs))
        .load(c)?;
    let hidden = mutes::hidden_authors(c, viewer.id)?;
    let exclusive: Vec<i64> = list_accounts::table
        .inner_join(lists::table)
        .filter(lists::account_id.eq(viewer.id))
        .filter(lists::exclusive.eq(true))
        .select(list_accounts::account_id)
        .load(c)?;
    let mut authors: Vec<i64> = followed
        .iter()
        .map(|(a, _)| *a)
        .filter(|a| !hidden.contains(a) && !exclusive.contains(a))
        .collect();
    authors.push(viewer.id);
    let no_boosts: Vec<i64> = followed
        .iter()
        .filter(|(_, show)| !show)
        .map(|(a, _)| *a)
        .collect();
    // Subqueries do not box through the multi-backend connection, so the
    // ids of posts that mention the viewer are read first.
    let mentioning_viewer: Vec<i64> = mentions::table
        .filter(mentions::account_id.eq(viewer.id))
        .select(mentions::status_id)
        .load(c)?;
    let q: Boxed<'_> = statuses::table
        .filter(
            statuses::account_id
                .eq_any(authors)
                .and(
                    statuses::visibility
                        .ne("direct")
                        .or(statuses::account_id.eq(viewer.id))
                        .or(statuses::id.eq_any(mentioning_viewer.clone())),
                )
                .and(
                    statuses::reblog_of_id
                        .is_null()
                        .or(statuses::account_id.ne_all(no_boosts)),
                ),
        )
        .or_filter(
            statuses::visibility
                .eq("direct")
                .and(statuses::id.eq_any(mentioning_viewer))
                .and(statuses::account_id.ne_all(hidden.clone())),
        )
        .into_boxed();
    let mut rows = page_of(q, page, c)?;
    let tags = crate::domain::tags::followed_names(c, viewer.id)?;
    if !tags.is_empty() {
        let tagged = followed_tag_posts(c, &tags, &hidden, page)?;
        // The page of the merge: the newest `limit` ids of both (or, paged
        // from `min_id`, the oldest above it); only tagged posts that make
        // it are read.
        let mut ids: Vec<i64> = rows.iter().map(|s| s.id).chain(tagged).collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        let limit = page.limit as usize;
        if ids.len() > limit {
            if page.min_id.is_some() {
                ids.drain(..ids.len() - limit);
            } else {
                ids.truncate(limit);
            }
        }
        let have: HashSet<i64> = rows.iter().map(|s| s.id).collect();
        let missing: Vec<i64> = ids.iter().copied().filter(|i| !have.contains(i)).collect();
        if !missing.is_empty() {
            let keep: HashSet<i64> = ids.iter().copied().collect();
            rows.retain(|s| keep.contains(&s.id));
            rows.extend(
                statuses::table
                    .filter(statuses::id.eq_any(&missing))
                    .select(Status::as_select())
                    .load(c)?,
            );
            rows.sort_by_key(|s| std::cmp::Reverse(s.id));
        }
    }
    drop_hidden_boosts(c, rows, &hidden)
}

/// Ids of public and local-only original posts carrying one of `tags`
/// within `page`, by authors not in `hidden`, newest first (oldest first
/// from `min_id`), at most the page's size: one index range of
/// `status_tags` per tag, each cut at the page size. PostgreSQL walks the
/// tags with a lateral join (one small plan); SQLite with a union.
fn followed_tag_posts(
    c: &mut DbConn,
    tags: &[String],
    hidden: &[i64],
    page: Page,
) -> QueryResult<Vec<i64>> {
    use diesel::sql_types::{Array, BigInt, Text};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let order = if page.min_id.is_some() { "ASC" } else { "DESC" };
    let limit = page.limit;
    let mut bounds: Vec<(&str, i64)> = Vec::new();
    if let Some(m) = page.max_id {
        bounds.push(("<", m));
    }
    if let Some(m) = page.since_id {
        bounds.push((">", m));
    }
    if let Some(m) = page.min_id {
        bounds.push((">", m));
    }
    const POST: &str = "s.visibility IN ('public', 'local') AND s.reblog_of_id IS NULL \
                        AND s.deleted_at IS NULL";
    let rows = match c {
        DbConn::Postgres(pg) => {
            let mut cond = String::new();
            for (i, (op, _)) in bounds.iter().enumerate() {
                cond += &format!(" AND st.status_id {op} ${}", i + 3);
            }
            let sql = format!(
                "SELECT DISTINCT x.id FROM unnest($1::text[]) AS t(tag) CROSS JOIN LATERAL \
                 (SELECT st.status_id AS id FROM status_tags st JOIN statuses s ON s.id = st.status_id \
                  WHERE st.tag = t.tag AND {POST} AND NOT (s.account_id = ANY($2)){cond} \
                  ORDER BY st.status_id {order} LIMIT {limit}) x ORDER BY x.id {order} LIMIT {limit}"
            );
            let mut q = diesel::sql_query(sql)
                .into_boxed::<diesel::pg::Pg>()
                .bind::<Array<Text>, _>(tags.to_vec())
                .bind::<Array<BigInt>, _>(hidden.to_vec());
            for (_, v) in bounds {
                q = q.bind::<BigInt, _>(v);
            }
            q.load::<Row>(pg)?
        }
        DbConn::Sqlite(lite) => {
            // The hidden authors once, as a JSON array, for every part.
            let hide = if hidden.is_empty() {
                ""
            } else {
                " AND s.account_id NOT IN (SELECT value FROM json_each(?))"
            };
            let cond: String = bounds
                .iter()
                .map(|(op, _)| format!(" AND st.status_id {op} ?"))
                .collect();
            let one = format!(
                "SELECT id FROM (SELECT st.status_id AS id FROM status_tags st \
                 JOIN statuses s ON s.id = st.status_id WHERE st.tag = ? AND {POST}{hide}{cond} \
                 ORDER BY st.status_id {order} LIMIT {limit})"
            );
            let sql = format!(
                "SELECT DISTINCT id FROM ({}) ORDER BY id {order} LIMIT {limit}",
                vec![one.as_str(); tags.len()].join(" UNION ALL ")
            );
            let hidden_json = serde_json::to_string(hidden).unwrap_or_else(|_| "[]".into());
            let mut q = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
            for t in tags {
                q = q.bind::<Text, _>(t.clone());
                if !hidden.is_empty() {
                    q = q.bind::<Text, _>(hidden_json.clone());
                }
                for (_, v) in &bounds {
                    q = q.bind::<BigInt, _>(*v);
                }
            }
            q.load::<Row>(lite)?
        }
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Posts of a list's members (the owner sees what it may see of them);
/// replies as the list's `replies_policy` says.
pub fn list(
    c: &mut DbConn,
    viewer: &Account,
    list: &crate::domain::lists::List,
    page: Page,
) -> QueryResult<Vec<Status>> {
    use crate::db::schema::list_accounts;
    let hidden = mutes::hidden_authors(c, viewer.id)?;
    let members: Vec<i64> = list_accounts::table
        .filter(list_accounts::list_id.eq(list.id))
        .select(list_accounts::account_id)
        .load::<i64>(c)?
        .into_iter()
        .filter(|a| !hidden.contains(a))
        .collect();
    // Members are accounts the owner follows, so their followers-only
    // posts are visible too.
    let mut q: Boxed<'_> = statuses::table
        .filter(statuses::account_id.eq_any(members.clone()))
        .filter(statuses::visibility.eq_any(["public", "unlisted", "private", "local"]))
        .into_boxed();
    match list.replies_policy.as_str() {
        "none" => q = q.filter(statuses::in_reply_to_id.is_null()),
        "followed" => {
            let mut followed: Vec<i64> = follows::table
                .filter(follows::account_id.eq(viewer.id))
                .filter(follows::pending.eq(false))
                .select(follows::target_account_id)
                .load(c)?;
            followed.push(viewer.id);
            q = q.filter(
                statuses::in_reply_to_account_id
                    .is_null()
                    .or(statuses::in_reply_to_account_id.eq_any(followed)),
            );
        }
        _ => {
            let mut allowed = members;
            allowed.push(viewer.id);
            q = q.filter(
                statuses::in_reply_to_account_id
                    .is_null()
                    .or(statuses::in_reply_to_account_id.eq_any(allowed)),
            );
        }
    }
    let rows = page_of(q, page, c)?;
    drop_hidden_boosts(c, rows, &hidden)
}

/// Public posts (no boosts): local ones, remote ones, or both. Local-only
/// posts show in the local timeline to signed-in local users.
pub fn public(
    c: &mut DbConn,
    viewer: Option<&Account>,
    local: bool,
    remote: bool,
    page: Page,
) -> QueryResult<Vec<Status>> {
    let include_local_only = viewer.is_some_and(|v| v.is_local()) && !remote;
    let mut q = statuses::table
        .filter(statuses::reblog_of_id.is_null())
        .into_boxed();
    q = if include_local_only {
        q.filter(statuses::visibility.eq_any(["public", "local"]))
    } else {
        q.filter(statuses::visibility.eq("public"))
    };
    if local {
        q = q.filter(statuses::local.eq(true));
    } else if remote {
        q = q.filter(statuses::local.eq(false));
    }
    if let Some(v) = viewer {
        q = q.filter(statuses::account_id.ne_all(mutes::hidden_authors(c, v.id)?));
    }
    page_of(q, page, c)
}

/// Which of an account's posts to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountFilter<'a> {
    pub exclude_replies: bool,
    pub exclude_reblogs: bool,
    pub tagged: Option<&'a str>,
    pub only_media: bool,
}

/// An account's posts that `viewer` may see.
pub fn account_statuses(
    c: &mut DbConn,
    viewer: Option<&Account>,
    account: &Account,
    filter: AccountFilter<'_>,
    page: Page,
) -> QueryResult<Vec<Status>> {
    let AccountFilter {
        exclude_replies,
        exclude_reblogs,
        tagged,
        only_media,
    } = filter;
    let mut q = statuses::table
        .filter(statuses::account_id.eq(account.id))
        .into_boxed();
    if only_media {
        use crate::db::schema::media_attachments;
        let with_media: Vec<i64> = media_attachments::table
            .filter(media_attachments::account_id.eq(account.id))
            .filter(media_attachments::status_id.is_not_null())
            .select(media_attachments::status_id)
            .distinct()
            .load::<Option<i64>>(c)?
            .into_iter()
            .flatten()
            .collect();
        q = q.filter(statuses::id.eq_any(with_media));
    }
    if let Some(tag) = tagged {
        use crate::db::schema::status_tags;
        let tagged_ids: Vec<i64> = status_tags::table
            .inner_join(statuses::table)
            .filter(statuses::account_id.eq(account.id))
            .filter(status_tags::tag.eq(tag.trim_start_matches('#').to_lowercase()))
            .select(status_tags::status_id)
            .load(c)?;
        q = q.filter(statuses::id.eq_any(tagged_ids));
    }
    if exclude_replies {
        q = q.filter(statuses::in_reply_to_id.is_null());
    }
    if exclude_reblogs {
        q = q.filter(statuses::reblog_of_id.is_null());
    }
    let mut visible = vec!["public", "unlisted"];
    if let Some(v) = viewer {
        if v.is_local() {
            visible.push("local");
        }
        if v.id == account.id || Follow::find(c, v.id, account.id)?.is_some_and(|f| !f.pending) {
            visible.push("private");
        }
        if v.id == account.id {
            visible.push("direct");
        }
    }
    q = q.filter(statuses::visibility.eq_any(visible));
    page_of(q, page, c)
}

/// Public posts with a hashtag, newest first (no boosts).
pub fn tag(
    c: &mut DbConn,
    viewer: Option<&Account>,
    tag: &str,
    local: bool,
    page: Page,
) -> QueryResult<Vec<Status>> {
    use crate::db::schema::status_tags;
    let include_local_only = viewer.is_some_and(|v| v.is_local());
    let mut q = status_tags::table
        .inner_join(statuses::table)
        .filter(status_tags::tag.eq(tag.trim_start_matches('#').to_lowercase()))
        .filter(statuses::reblog_of_id.is_null())
        .into_boxed();
    q = if include_local_only {
        q.filter(statuses::visibility.eq_any(["public", "local"]))
    } else {
        q.filter(statuses::visibility.eq("public"))
    };
    if local {
        q = q.filter(statuses::local.eq(true));
    }
    if let Some(v) = viewer {
        q = q.filter(statuses::account_id.ne_all(mutes::hidden_authors(c, v.id)?));
    }
    if let Some(m) = page.max_id {
        q = q.filter(statuses::id.lt(m));
    }
    if let Some(s) = page.since_id {
        q = q.filter(statuses::id.gt(s));
    }
    if let Some(m) = page.min_id {
        let mut rows: Vec<Status> = q
            .filter(statuses::id.gt(m))
            .order(statuses::id.asc())
            .limit(page.limit)
            .select(Status::as_select())
            .load(c)?;
        rows.reverse();
        return Ok(rows);
    }
    q.order(statuses::id.desc())
        .limit(page.limit)
        .select(Status::as_select())
        .load(c)
}

/// Posts a group took in (the posts themselves, not the group's boosts),
/// newest first, as far as `viewer` may see them.
pub fn group(
    c: &mut DbConn,
    viewer: Option<&Account>,
    group_id: i64,
    page: Page,
) -> QueryResult<Vec<Status>> {
    use crate::db::schema::group_posts;
    let ids: Vec<i64> = group_posts::table
        .filter(group_posts::group_id.eq(group_id))
        .select(group_posts::status_id)
        .load(c)?;
    let q: Boxed<'_> = statuses::table
        .filter(statuses::id.eq_any(ids))
        .into_boxed();
    let rows = page_of(q, page, c)?;
    let mut visible = Vec::with_capacity(rows.len());
    for s in rows {
        if can_view(c, viewer, &s)? {
            visible.push(s);
        }
    }
    Ok(visible)
}

/// Of `viewers`, those who hide `author` (an active mute, or a block
/// either way): [`mutes::hidden_authors`] asked the other way round.
fn hiding(c: &mut DbConn, viewers: &[i64], author: i64) -> QueryResult<HashSet<i64>> {
    use crate::db::schema::{blocks, mutes as m};
    let t = crate::db::now();
    let mut out: HashSet<i64> = m::table
        .filter(m::account_id.eq_any(viewers))
        .filter(m::target_account_id.eq(author))
        .filter(m::expires_at.is_null().or(m::expires_at.gt(t)))
        .select(m::account_id)
        .load::<i64>(c)?
        .into_iter()
        .collect();
    out.extend(
        blocks::table
            .filter(blocks::account_id.eq_any(viewers))
            .filter(blocks::target_account_id.eq(author))
            .select(blocks::account_id)
            .load::<i64>(c)?,
    );
    out.extend(
        blocks::table
            .filter(blocks::account_id.eq(author))
            .filter(blocks::target_account_id.eq_any(viewers))
            .select(blocks::target_account_id)
            .load::<i64>(c)?,
    );
    Ok(out)
}

/// Of `viewers`, those whose home timeline holds `s`: the rule of
/// [`home`] asked for one post and many viewers at once (a test keeps the
/// two in step).
pub fn home_audience(c: &mut DbConn, s: &Status, viewers: &[i64]) -> QueryResult<HashSet<i64>> {
    use crate::db::schema::{list_accounts, lists};
    let author = s.account_id;
    let follows: HashMap<i64, bool> = follows::table
        .filter(follows::account_id.eq_any(viewers))
        .filter(follows::target_account_id.eq(author))
        .filter(follows::pending.eq(false))
        .select((follows::account_id, follows::show_reblogs))
        .load::<(i64, bool)>(c)?
        .into_iter()
        .collect();
    let mentioned: HashSet<i64> = mentions::table
        .filter(mentions::status_id.eq(s.id))
        .filter(mentions::account_id.eq_any(viewers))
        .select(mentions::account_id)
        .load::<i64>(c)?
        .into_iter()
        .collect();
    let hide_author = hiding(c, viewers, author)?;
    let exclusive: HashSet<i64> = list_accounts::table
        .inner_join(lists::table)
        .filter(lists::account_id.eq_any(viewers))
        .filter(lists::exclusive.eq(true))
        .filter(list_accounts::account_id.eq(author))
        .select(lists::account_id)
        .load::<i64>(c)?
        .into_iter()
        .collect();
    let hide_original = match s.reblog_of_id {
        Some(o) => {
            let orig_author: i64 = statuses::table
                .find(o)
                .select(statuses::account_id)
                .first(c)?;
            hiding(c, viewers, orig_author)?
        }
        None => HashSet::new(),
    };
    let direct = s.visibility == "direct";
    let by_tag = tag_audience(c, s, viewers)?;
    Ok(viewers
        .iter()
        .copied()
        .filter(|v| {
            if by_tag.contains(v) && !hide_author.contains(v) {
                return true;
            }
            let own = *v == author;
            let followed = follows.get(v).copied();
            let in_authors =
                own || (followed.is_some() && !hide_author.contains(v) && !exclusive.contains(v));
            let boosts_ok = s.reblog_of_id.is_none() || followed != Some(false);
            let a = in_authors && (!direct || own || mentioned.contains(v)) && boosts_ok;
            let b = direct && mentioned.contains(v) && !hide_author.contains(v);
            (a || b) && !hide_original.contains(v)
        })
        .collect())
}

/// Of `viewers`, those who follow a tag `s` carries, when its tags bring
/// it home (a public or local-only original post).
fn tag_audience(c: &mut DbConn, s: &Status, viewers: &[i64]) -> QueryResult<HashSet<i64>> {
    use crate::db::schema::{status_tags, tag_follows};
    if s.reblog_of_id.is_some() || !matches!(s.visibility.as_str(), "public" | "local") {
        return Ok(HashSet::new());
    }
    let tags: Vec<String> = status_tags::table
        .filter(status_tags::status_id.eq(s.id))
        .select(status_tags::tag)
        .load(c)?;
    if tags.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(tag_follows::table
        .filter(tag_follows::tag.eq_any(tags))
        .filter(tag_follows::account_id.eq_any(viewers))
        .select(tag_follows::account_id)
        .load::<i64>(c)?
        .into_iter()
        .collect())
}

/// Of `viewers` (local accounts), those whose public timeline (`local`,
/// `remote` as in [`public`]) holds `s`.
pub fn public_audience(
    c: &mut DbConn,
    s: &Status,
    viewers: &[i64],
    local: bool,
    remote: bool,
) -> QueryResult<HashSet<i64>> {
    let visible = s.visibility == "public" || (s.visibility == "local" && !remote);
    if s.reblog_of_id.is_some() || !visible || (local && !s.local) || (remote && s.local) {
        return Ok(HashSet::new());
    }
    let hide = hiding(c, viewers, s.account_id)?;
    Ok(viewers
        .iter()
        .copied()
        .filter(|v| !hide.contains(v))
        .collect())
}
