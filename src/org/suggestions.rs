//! Follow and group suggestions that build bridges: computed by the workers
//! for every local person from the follow graph, interactions, skills,
//! featured tags and groups, stored per person, and read (never walked) by
//! `GET /api/v2/suggestions`.
//!
//! Ranking prefers a useful bridge: someone in another department or a
//! partner organization who shares skills, tags or groups with the person
//! comes before more of their own department.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::insights::{INTERACTIONS, PEOPLE, decay, each_pair, insert_batches};
use super::profile::{DEPARTMENT, FEATURED_TAG, SKILLS};
use crate::db::models::Account;
use crate::db::schema::{
    accounts, blocks, featured_suggestions, follows, mutes, profile_terms, skill_synonyms,
    suggestion_dismissals, suggestion_lists, users,
};
use crate::db::{Db, DbConn, now};
use crate::error::{AppError, AppResult};

/// Mastodon's source names (Suggestion entity, `sources`).
pub const FEATURED: &str = "featured";
pub const MOST_FOLLOWED: &str = "most_followed";
pub const MOST_INTERACTIONS: &str = "most_interactions";
pub const SIMILAR: &str = "similar_to_recently_followed";
pub const FRIENDS_OF_FRIENDS: &str = "friends_of_friends";
const SOURCES: [&str; 5] = [
    FEATURED,
    MOST_FOLLOWED,
    MOST_INTERACTIONS,
    SIMILAR,
    FRIENDS_OF_FRIENDS,
];

/// Suggestions kept per person (Mastodon's `limit` maximum).
pub const KEEP: usize = 80;
/// A skill, tag or group held by more people than this says little about
/// who is alike (and would cost a walk over all of them).
const COMMON_TERM: usize = 2_000;
/// Followees whose own followees are read for friends of friends.
const FOF_FANOUT: usize = 200;
/// Recently followed accounts whose terms count as the person's own.
const RECENT_FOLLOWS: usize = 5;
const MOST_FOLLOWED_TOP: usize = 50;

/// Score multipliers: a bridge that shares something, and more of the same.
const BRIDGE: f64 = 1.6;
const SAME_DEPARTMENT: f64 = 0.8;

#[derive(Default, Clone)]
struct Candidate {
    score: f64,
    sources: u8,
    shares: bool,
}

fn bit(source: &str) -> u8 {
    1 << SOURCES.iter().position(|s| *s == source).unwrap_or(0)
}

/// Source names of a stored bit set, in Mastodon's order.
pub fn source_names(sources: u8) -> Vec<String> {
    SOURCES
        .iter()
        .enumerate()
        .filter(|(i, _)| sources & (1 << i) != 0)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// Everything a run reads once, for all people.
struct World {
    /// Discoverable people (local or not) and their instance (None: ours).
    listed: HashMap<i64, Option<String>>,
    /// Everyone's department, the opted-out too (for their own suggestions).
    dept_of: HashMap<i64, u32>,
    following: HashMap<i64, Vec<i64>>,
    /// Term ids per account (skills, featured tags, groups).
    terms: HashMap<i64, Vec<u32>>,
    holders: Vec<Vec<i64>>,
    groups_of: HashMap<i64, Vec<i64>>,
    interactions: HashMap<i64, HashMap<i64, f64>>,
    hidden: HashMap<i64, HashSet<i64>>,
    most_followed: Vec<(i64, i64)>,
    featured: Vec<i64>,
    open_groups: HashSet<i64>,
}

fn load(c: &mut DbConn, window_days: u64) -> QueryResult<World> {
    let rows: Vec<(i64, Option<String>, i64)> = accounts::table
        .filter(accounts::discoverable.eq(true))
        .filter(accounts::suspended_at.is_null())
        .filter(accounts::actor_type.eq_any(PEOPLE))
        .select((accounts::id, accounts::domain, accounts::followers_count))
        .load(c)?;
    let disabled: HashSet<i64> = users::table
        .filter(users::disabled.eq(true).or(users::approved.eq(false)))
        .select(users::account_id)
        .load::<i64>(c)?
        .into_iter()
        .collect();
    let mut dept_ids: HashMap<String, u32> = HashMap::new();
    let dept_of: HashMap<i64, u32> = profile_terms::table
        .filter(profile_terms::field.eq(DEPARTMENT))
        .select((profile_terms::account_id, profile_terms::term))
        .load::<(i64, String)>(c)?
        .into_iter()
        .map(|(id, t)| {
            let next = dept_ids.len() as u32;
            (id, *dept_ids.entry(t).or_insert(next))
        })
        .collect();
    let mut listed = HashMap::new();
    let mut by_followers = Vec::new();
    for (id, domain, followers) in rows {
        if disabled.contains(&id) {
            continue;
        }
        listed.insert(id, domain);
        by_followers.push((followers, id));
    }
    by_followers.sort_unstable_by(|a, b| b.cmp(a));
    let most_followed = by_followers
        .into_iter()
        .take(MOST_FOLLOWED_TOP)
        .filter(|(n, _)| *n > 0)
        .map(|(n, id)| (id, n))
        .collect();

    // Groups: discoverable ones may be suggested; membership is a term.
    let groups: HashMap<i64, bool> = accounts::table
        .filter(accounts::actor_type.eq("Group"))
        .filter(accounts::suspended_at.is_null())
        .select((accounts::id, accounts::discoverable))
        .load::<(i64, bool)>(c)?
        .into_iter()
        .collect();
    let open_groups = groups
        .iter()
        .filter(|(_, d)| **d)
        .map(|(id, _)| *id)
        .collect();

    let mut following: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut groups_of: HashMap<i64, Vec<i64>> = HashMap::new();
    // Newest first, so the first few are the recently followed.
    for (a, t) in follows::table
        .select((follows::account_id, follows::target_account_id))
        .order(follows::id.desc())
        .load::<(i64, i64)>(c)?
    {
        if groups.contains_key(&t) {
            groups_of.entry(a).or_default().push(t);
        }
        // Pending follows count as followed: never suggest them again.
        following.entry(a).or_default().push(t);
    }

    // Skills (synonyms folded), featured tags and groups as shared terms.
    let synonyms: HashMap<String, String> = skill_synonyms::table
        .select((skill_synonyms::alias, skill_synonyms::skill))
        .load::<(String, String)>(c)?
        .into_iter()
        .map(|(a, s)| (super::profile::normalize(&a), super::profile::normalize(&s)))
        .collect();
    let mut term_ids: HashMap<String, u32> = HashMap::new();
    let mut terms: HashMap<i64, Vec<u32>> = HashMap::new();
    let mut holders: Vec<Vec<i64>> = Vec::new();
    let mut add = |account: i64, key: String| {
        let next = term_ids.len() as u32;
        let t = *term_ids.entry(key).or_insert(next);
        if t as usize == holders.len() {
            holders.push(Vec::new());
        }
        let mine = terms.entry(account).or_default();
        if !mine.contains(&t) {
            mine.push(t);
            holders[t as usize].push(account);
        }
    };
    for (id, field, term) in profile_terms::table
        .filter(profile_terms::field.eq_any([SKILLS, FEATURED_TAG]))
        .select((
            profile_terms::account_id,
            profile_terms::field,
            profile_terms::term,
        ))
        .load::<(i64, String, String)>(c)?
    {
        let key = if field == SKILLS {
            let t = synonyms.get(&term).cloned().unwrap_or(term);
            format!("s:{t}")
        } else {
            format!("t:{}", term.trim_start_matches('#'))
        };
        add(id, key);
    }
    for (member, gs) in &groups_of {
        for g in gs {
            add(*member, format!("g:{g}"));
        }
    }

    let start = now() - chrono::Duration::days(window_days as i64);
    let min_id = crate::db::id::id_at_millis(start.and_utc().timestamp_millis());
    let now_ms = now().and_utc().timestamp_millis();
    let mut interactions: HashMap<i64, HashMap<i64, f64>> = HashMap::new();
    for (sql, weight) in INTERACTIONS {
        each_pair(c, sql, min_id, |a, b, at| {
            if a == b {
                return;
            }
            let age = (now_ms - at.and_utc().timestamp_millis()) as f64 / 86_400_000.0;
            let w = weight * decay(age);
            // Both ways: who talks to me is worth knowing too.
            *interactions.entry(a).or_default().entry(b).or_default() += w;
            *interactions.entry(b).or_default().entry(a).or_default() += w;
        })?;
    }

    let mut hidden: HashMap<i64, HashSet<i64>> = HashMap::new();
    for (a, b) in blocks::table
        .select((blocks::account_id, blocks::target_account_id))
        .load::<(i64, i64)>(c)?
    {
        hidden.entry(a).or_default().insert(b);
        hidden.entry(b).or_default().insert(a);
    }
    for (a, b) in mutes::table
        .select((mutes::account_id, mutes::target_account_id))
        .load::<(i64, i64)>(c)?
    {
        hidden.entry(a).or_default().insert(b);
    }
    for (a, b) in suggestion_dismissals::table
        .select((
            suggestion_dismissals::account_id,
            suggestion_dismissals::target_account_id,
        ))
        .load::<(i64, i64)>(c)?
    {
        hidden.entry(a).or_default().insert(b);
    }
    let featured = featured_suggestions::table
        .select(featured_suggestions::account_id)
        .order(featured_suggestions::created_at.desc())
        .load(c)?;
    Ok(World {
        listed,
        dept_of,
        following,
        terms,
        holders,
        groups_of,
        interactions,
        hidden,
        most_followed,
        featured,
        open_groups,
    })
}

impl World {
    /// The ranked suggestions of one person, best first.
    fn suggest(&self, me: i64) -> Vec<(i64, f64, u8)> {
        let empty = Vec::new();
        let followed: HashSet<i64> = self
            .following
            .get(&me)
            .unwrap_or(&empty)
            .iter()
            .copied()
            .collect();
        let no = HashSet::new();
        let hidden = self.hidden.get(&me).unwrap_or(&no);
        let mut found: HashMap<i64, Candidate> = HashMap::new();
        let mut add = |id: i64, score: f64, source: &str, shares: bool| {
            let c = found.entry(id).or_default();
            c.score += score;
            c.sources |= bit(source);
            c.shares |= shares;
        };
        for &id in &self.featured {
            add(id, 3.0, FEATURED, false);
        }
        let mine = self.following.get(&me).unwrap_or(&empty);
        let mut paths: HashMap<i64, u32> = HashMap::new();
        for f in mine.iter().take(FOF_FANOUT) {
            for g in self
                .following
                .get(f)
                .unwrap_or(&empty)
                .iter()
                .take(FOF_FANOUT)
            {
                *paths.entry(*g).or_default() += 1;
            }
        }
        for (id, n) in paths {
            add(id, 2.0 * (n as f64).ln_1p(), FRIENDS_OF_FRIENDS, false);
        }
        // What I hold, and (at half weight) what those I just followed hold.
        let mut my_terms: HashMap<u32, f64> = HashMap::new();
        for &t in self.terms.get(&me).unwrap_or(&Vec::new()) {
            my_terms.insert(t, 1.0);
        }
        for f in mine.iter().take(RECENT_FOLLOWS) {
            for &t in self.terms.get(f).unwrap_or(&Vec::new()) {
                my_terms.entry(t).or_insert(0.5);
            }
        }
        let mut shared: HashMap<i64, f64> = HashMap::new();
        for (&t, &w) in &my_terms {
            let h = &self.holders[t as usize];
            if h.len() > COMMON_TERM {
                continue;
            }
            for &id in h {
                *shared.entry(id).or_default() += w;
            }
        }
        for (id, n) in shared {
            add(id, 1.5 * n, SIMILAR, true);
        }
        if let Some(talk) = self.interactions.get(&me) {
            for (&id, &w) in talk {
                add(id, 2.0 * w.ln_1p(), MOST_INTERACTIONS, false);
            }
        }
        for (rank, &(id, _)) in self.most_followed.iter().enumerate() {
            add(id, 0.5 / (1.0 + rank as f64 / 10.0), MOST_FOLLOWED, false);
        }
        // `me` is local: no domain.
        let my_dept = self.dept_of.get(&me).copied();
        let mut out: Vec<(i64, f64, u8)> = found
            .into_iter()
            .filter(|(id, _)| *id != me && !followed.contains(id) && !hidden.contains(id))
            .filter_map(|(id, c)| {
                let partner = self.listed.get(&id)?.is_some();
                let dept = self.dept_of.get(&id).copied();
                let elsewhere = partner || matches!((dept, my_dept), (Some(a), Some(b)) if a != b);
                let same = !partner && dept.is_some() && dept == my_dept;
                let mut score = c.score;
                if elsewhere && c.shares {
                    score *= BRIDGE;
                } else if same {
                    score *= SAME_DEPARTMENT;
                }
                Some((id, score, c.sources))
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(KEEP);
        out
    }

    /// Groups where those I follow or talk to are members, or whose
    /// members share what I hold.
    fn suggest_groups(&self, me: i64) -> Vec<(i64, f64)> {
        let empty = Vec::new();
        let member_of: HashSet<i64> = self
            .groups_of
            .get(&me)
            .unwrap_or(&empty)
            .iter()
            .copied()
            .collect();
        let mut score: HashMap<i64, f64> = HashMap::new();
        let mut near: Vec<(i64, f64)> = self
            .following
            .get(&me)
            .unwrap_or(&empty)
            .iter()
            .map(|&f| (f, 1.0))
            .collect();
        if let Some(talk) = self.interactions.get(&me) {
            near.extend(talk.iter().map(|(&id, &w)| (id, w.ln_1p())));
        }
        for (person, w) in near {
            for g in self.groups_of.get(&person).unwrap_or(&empty) {
                *score.entry(*g).or_default() += w;
            }
        }
        for &t in self.terms.get(&me).unwrap_or(&Vec::new()) {
            let h = &self.holders[t as usize];
            if h.len() > COMMON_TERM {
                continue;
            }
            for id in h {
                for g in self.groups_of.get(id).unwrap_or(&empty) {
                    *score.entry(*g).or_default() += 0.5;
                }
            }
        }
        let mut out: Vec<(i64, f64)> = score
            .into_iter()
            .filter(|(g, _)| !member_of.contains(g) && self.open_groups.contains(g))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(KEEP);
        out
    }
}

/// Recomputes every local person's suggestions; returns how many people.
pub async fn compute(db: &Db, window_days: u64) -> AppResult<usize> {
    let (people, world) = db
        .run(move |c| {
            let people: Vec<i64> = accounts::table
                .inner_join(users::table)
                .filter(accounts::domain.is_null())
                .filter(users::disabled.eq(false))
                .filter(users::approved.eq(true))
                .select(accounts::id)
                .load(c)?;
            Ok::<_, AppError>((people, load(c, window_days)?))
        })
        .await?;
    let world = std::sync::Arc::new(world);
    let n = people.len();
    for chunk in people.chunks(500) {
        let w = world.clone();
        let chunk = chunk.to_vec();
        let ranked = tokio::task::spawn_blocking(move || {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let part = chunk.len().div_ceil(threads).max(1);
            std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .chunks(part)
                    .map(|part| {
                        let w = &w;
                        s.spawn(move || {
                            part.iter()
                                .map(|&me| (me, w.suggest(me), w.suggest_groups(me)))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("suggestion thread"))
                    .collect::<Vec<_>>()
            })
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("suggestions failed: {e}")))?;
        let at = now();
        db.transaction(move |c| {
            let ids: Vec<i64> = ranked.iter().map(|r| r.0).collect();
            diesel::delete(
                suggestion_lists::table.filter(suggestion_lists::account_id.eq_any(&ids)),
            )
            .execute(c)?;
            let rows: Vec<_> = ranked
                .iter()
                .map(|(me, people, groups)| {
                    (
                        suggestion_lists::account_id.eq(*me),
                        suggestion_lists::people.eq(pack_people(people)),
                        suggestion_lists::group_list.eq(pack_groups(groups)),
                        suggestion_lists::computed_at.eq(at),
                    )
                })
                .collect();
            insert_batches!(c, suggestion_lists::table, rows);
            Ok::<_, AppError>(())
        })
        .await?;
    }
    Ok(n)
}

/// One person's stored lists: (people, groups).
fn stored<T>(
    c: &mut DbConn,
    me: i64,
    pick: impl FnOnce((String, String)) -> T,
) -> QueryResult<Option<T>> {
    Ok(suggestion_lists::table
        .find(me)
        .select((suggestion_lists::people, suggestion_lists::group_list))
        .first::<(String, String)>(c)
        .optional()?
        .map(pick))
}

/// "id:score:sources,…", best first (the order they were ranked in).
fn pack_people(people: &[(i64, f64, u8)]) -> String {
    people
        .iter()
        .map(|(id, score, bits)| format!("{id}:{score:.4}:{bits}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn unpack_people(s: &str) -> Vec<(i64, f64, u8)> {
    s.split(',')
        .filter_map(|e| {
            let mut p = e.split(':');
            Some((
                p.next()?.parse().ok()?,
                p.next()?.parse().ok()?,
                p.next()?.parse().ok()?,
            ))
        })
        .collect()
}

/// "id:score,…", best first.
fn pack_groups(groups: &[(i64, f64)]) -> String {
    groups
        .iter()
        .map(|(id, score)| format!("{id}:{score:.4}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn unpack_groups(s: &str) -> Vec<i64> {
    s.split(',')
        .filter_map(|e| e.split(':').next()?.parse().ok())
        .collect()
}

/// One suggestion as read: the account and Mastodon's source names.
pub struct Suggestion {
    pub account: Account,
    pub sources: Vec<String>,
}

/// `me`'s stored suggestions, best first, checked again against what may
/// have changed since the run: follows, blocks, mutes, dismissals,
/// discoverability. Accounts an admin features come first for everyone.
pub fn read(c: &mut DbConn, me: i64, limit: i64) -> QueryResult<Vec<Suggestion>> {
    let limit = limit.clamp(1, KEEP as i64);
    let mut out: Vec<(f64, i64, Vec<String>)> = stored(c, me, |l| l.0)?
        .map(|l| unpack_people(&l))
        .unwrap_or_default()
        .into_iter()
        .map(|(id, score, bits)| (score, id, source_names(bits)))
        .collect();
    let featured: Vec<i64> = featured_suggestions::table
        .select(featured_suggestions::account_id)
        .order(featured_suggestions::created_at.desc())
        .load(c)?;
    for id in featured {
        match out.iter_mut().find(|(_, a, _)| *a == id) {
            Some(e) => {
                if !e.2.iter().any(|s| s == FEATURED) {
                    e.2.insert(0, FEATURED.into());
                }
            }
            None => out.push((f64::MAX, id, vec![FEATURED.into()])),
        }
    }
    let ids: Vec<i64> = out.iter().map(|r| r.1).collect();
    let gone = excluded(c, me, &ids)?;
    let accounts: HashMap<i64, Account> = accounts::table
        .filter(accounts::id.eq_any(&ids))
        .filter(accounts::discoverable.eq(true))
        .filter(accounts::suspended_at.is_null())
        .filter(accounts::actor_type.eq_any(PEOPLE))
        .select(Account::as_select())
        .load::<Account>(c)?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut accounts = accounts;
    Ok(out
        .into_iter()
        .filter(|(_, id, _)| *id != me && !gone.contains(id))
        .filter_map(|(_, id, sources)| {
            Some(Suggestion {
                account: accounts.remove(&id)?,
                sources,
            })
        })
        .take(limit as usize)
        .collect())
}

/// Of `ids`, those `me` follows, blocks, mutes, is blocked by or dismissed,
/// and people whose sign-in no longer works.
fn excluded(c: &mut DbConn, me: i64, ids: &[i64]) -> QueryResult<HashSet<i64>> {
    let mut gone: HashSet<i64> = follows::table
        .filter(follows::account_id.eq(me))
        .filter(follows::target_account_id.eq_any(ids))
        .select(follows::target_account_id)
        .load::<i64>(c)?
        .into_iter()
        .collect();
    gone.extend(
        blocks::table
            .filter(blocks::account_id.eq(me))
            .filter(blocks::target_account_id.eq_any(ids))
            .select(blocks::target_account_id)
            .load::<i64>(c)?,
    );
    gone.extend(
        blocks::table
            .filter(blocks::target_account_id.eq(me))
            .filter(blocks::account_id.eq_any(ids))
            .select(blocks::account_id)
            .load::<i64>(c)?,
    );
    gone.extend(
        mutes::table
            .filter(mutes::account_id.eq(me))
            .filter(mutes::target_account_id.eq_any(ids))
            .select(mutes::target_account_id)
            .load::<i64>(c)?,
    );
    gone.extend(
        suggestion_dismissals::table
            .filter(suggestion_dismissals::account_id.eq(me))
            .filter(suggestion_dismissals::target_account_id.eq_any(ids))
            .select(suggestion_dismissals::target_account_id)
            .load::<i64>(c)?,
    );
    gone.extend(
        users::table
            .filter(users::account_id.eq_any(ids))
            .filter(users::disabled.eq(true).or(users::approved.eq(false)))
            .select(users::account_id)
            .load::<i64>(c)?,
    );
    Ok(gone)
}

/// Groups suggested to `me` that are still open to discovery and that
/// `me` has not joined (or asked to) since.
pub fn read_groups(c: &mut DbConn, me: i64, limit: i64) -> QueryResult<Vec<Account>> {
    let ids: Vec<i64> = stored(c, me, |l| l.1)?
        .map(|l| unpack_groups(&l))
        .unwrap_or_default()
        .into_iter()
        .take(limit.clamp(1, KEEP as i64) as usize)
        .collect();
    let gone = excluded(c, me, &ids)?;
    let mut found: HashMap<i64, Account> = accounts::table
        .filter(accounts::id.eq_any(&ids))
        .filter(accounts::discoverable.eq(true))
        .filter(accounts::suspended_at.is_null())
        .select(Account::as_select())
        .load::<Account>(c)?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    Ok(ids
        .into_iter()
        .filter(|id| !gone.contains(id))
        .filter_map(|id| found.remove(&id))
        .collect())
}

/// A lasting "not interested" (`DELETE /api/v1/suggestions/:id`).
pub fn dismiss(c: &mut DbConn, me: i64, target: i64) -> QueryResult<()> {
    let insert = diesel::insert_into(suggestion_dismissals::table).values((
        suggestion_dismissals::account_id.eq(me),
        suggestion_dismissals::target_account_id.eq(target),
        suggestion_dismissals::created_at.eq(now()),
    ));
    match c {
        DbConn::Sqlite(lite) => insert.on_conflict_do_nothing().execute(lite)?,
        DbConn::Postgres(pg) => insert.on_conflict_do_nothing().execute(pg)?,
    };
    Ok(())
}

/// Features a local account for everyone (`meetfield admin suggestions
/// feature`); false when it was already.
pub fn feature(c: &mut DbConn, account_id: i64) -> QueryResult<bool> {
    let insert = diesel::insert_into(featured_suggestions::table).values((
        featured_suggestions::account_id.eq(account_id),
        featured_suggestions::created_at.eq(now()),
    ));
    let n = match c {
        DbConn::Sqlite(lite) => insert.on_conflict_do_nothing().execute(lite)?,
        DbConn::Postgres(pg) => insert.on_conflict_do_nothing().execute(pg)?,
    };
    Ok(n == 1)
}

pub fn unfeature(c: &mut DbConn, account_id: i64) -> QueryResult<bool> {
    diesel::delete(featured_suggestions::table.find(account_id))
        .execute(c)
        .map(|n| n == 1)
}

pub fn featured(c: &mut DbConn) -> QueryResult<Vec<Account>> {
    accounts::table
        .inner_join(
            featured_suggestions::table.on(featured_suggestions::account_id.eq(accounts::id)),
        )
        .order(featured_suggestions::created_at.desc())
        .select(Account::as_select())
        .load(c)
}
