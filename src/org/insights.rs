//! Connector insight for admins: who holds the organization together, and
//! which units are cut off. Built from data the server already has (follows,
//! replies, mentions, boosts, favourites, group co-membership over a window),
//! computed on a worker (`graph` does the measures), read from tables.
//!
//! Privacy: only counts of interactions enter the graph, never content;
//! people who opted out of discovery are anonymous nodes (they shape the
//! measures of others) and get no row of their own.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use serde::Serialize;

use super::graph::{self, Graph};
use super::profile::DEPARTMENT;
use crate::db::models::Account;
use crate::db::schema::{
    accounts, follows, insight_people, insight_runs, insight_ties, insight_units, profile_terms,
    users,
};
use crate::db::{Db, DbConn, lower};
use crate::error::{AppError, AppResult};

/// Weights of one interaction of each kind (before decay) and of a follow.
const FOLLOW: f64 = 1.0;
const REPLY: f64 = 3.0;
const MENTION: f64 = 2.0;
const BOOST: f64 = 1.5;
const FAVOURITE: f64 = 1.0;
/// An interaction weighs half as much after this many days.
const HALF_LIFE_DAYS: f64 = 30.0;
/// Groups larger than this add no co-membership ties (a clique of
/// thousands says little about who knows whom); their members' replies
/// and mentions still count.
const MAX_GROUP_TIES: usize = 100;

/// The unit of people without a department.
pub const NO_DEPARTMENT: &str = "";

/// The interaction graph as read from the database.
pub struct OrgGraph {
    pub graph: Graph,
    pub account_ids: Vec<i64>,
    pub local: Vec<bool>,
    /// Local and discoverable: gets a row.
    pub listed: Vec<bool>,
    /// Local people's department ("" = none; partners' people: their
    /// instance, as "@domain", so a tie to a partner is a tie to another unit).
    pub department: Vec<u32>,
    pub departments: Vec<String>,
    /// Instance index (0 = this one).
    pub instance: Vec<u32>,
    pub instances: Vec<String>,
}

pub(crate) fn decay(age_days: f64) -> f64 {
    0.5f64.powf(age_days.max(0.0) / HALF_LIFE_DAYS)
}

#[derive(QueryableByName)]
struct Pair {
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = BigInt)]
    b: i64,
    #[diesel(sql_type = Timestamp)]
    at: NaiveDateTime,
}

/// Runs `sql` (one `?`: the smallest id in the window) row by row.
pub(crate) fn each_pair(
    c: &mut DbConn,
    sql: &str,
    min_id: i64,
    mut f: impl FnMut(i64, i64, NaiveDateTime),
) -> QueryResult<()> {
    use diesel::connection::DefaultLoadingMode;
    match c {
        DbConn::Sqlite(lite) => {
            for r in diesel::sql_query(sql)
                .bind::<BigInt, _>(min_id)
                .load_iter::<Pair, DefaultLoadingMode>(lite)?
            {
                let r = r?;
                f(r.a, r.b, r.at);
            }
        }
        DbConn::Postgres(pg) => {
            for r in diesel::sql_query(sql.replace('?', "$1"))
                .bind::<BigInt, _>(min_id)
                .load_iter::<Pair, DefaultLoadingMode>(pg)?
            {
                let r = r?;
                f(r.a, r.b, r.at);
            }
        }
    }
    Ok(())
}

/// Interactions of the window: (sql, weight). Ids are time-ordered, so the
/// window is a primary-key range.
pub(crate) const INTERACTIONS: [(&str, f64); 4] = [
    (
        "SELECT account_id AS a, in_reply_to_account_id AS b, created_at AS at FROM statuses \
         WHERE id >= ? AND in_reply_to_account_id IS NOT NULL AND deleted_at IS NULL",
        REPLY,
    ),
    (
        "SELECT s.account_id AS a, m.account_id AS b, s.created_at AS at FROM statuses s \
         JOIN mentions m ON m.status_id = s.id WHERE s.id >= ? AND s.deleted_at IS NULL \
         AND (s.in_reply_to_account_id IS NULL OR s.in_reply_to_account_id <> m.account_id)",
        MENTION,
    ),
    (
        "SELECT s.account_id AS a, o.account_id AS b, s.created_at AS at FROM statuses s \
         JOIN statuses o ON o.id = s.reblog_of_id WHERE s.id >= ? AND s.reblog_of_id IS NOT NULL",
        BOOST,
    ),
    (
        "SELECT f.account_id AS a, s.account_id AS b, f.created_at AS at FROM favourites f \
         JOIN statuses s ON s.id = f.status_id WHERE f.id >= ?",
        FAVOURITE,
    ),
];

pub(crate) const PEOPLE: [&str; 2] = ["Person", "Service"];

/// Reads the graph: local people whose sign-in works, the partner people
/// they are tied to, and the ties between them (at least one end local).
pub fn load(
    c: &mut DbConn,
    own_domain: &str,
    window_days: u64,
    now: NaiveDateTime,
) -> QueryResult<OrgGraph> {
    let locals: Vec<(i64, bool)> = accounts::table
        .inner_join(users::table)
        .filter(accounts::domain.is_null())
        .filter(accounts::actor_type.eq_any(PEOPLE))
        .filter(accounts::suspended_at.is_null())
        .filter(users::disabled.eq(false))
        .filter(users::approved.eq(true))
        .select((accounts::id, accounts::discoverable))
        .load(c)?;
    let remote: HashMap<i64, String> = accounts::table
        .filter(accounts::domain.is_not_null())
        .filter(accounts::actor_type.eq_any(PEOPLE))
        .filter(accounts::suspended_at.is_null())
        .select((accounts::id, accounts::domain.assume_not_null()))
        .load::<(i64, String)>(c)?
        .into_iter()
        .map(|(id, d)| (id, d.to_lowercase()))
        .collect();
    let groups: HashSet<i64> = accounts::table
        .filter(accounts::actor_type.eq("Group"))
        .select(accounts::id)
        .load::<i64>(c)?
        .into_iter()
        .collect();

    let mut b = Builder::new(own_domain);
    for &(id, discoverable) in &locals {
        b.add_local(id, discoverable);
    }
    let start = now - chrono::Duration::days(window_days as i64);
    let min_id = crate::db::id::id_at_millis(start.and_utc().timestamp_millis());
    let now_ms = now.and_utc().timestamp_millis();

    let mut members: HashMap<i64, Vec<i64>> = HashMap::new();
    {
        use diesel::connection::DefaultLoadingMode;
        let q = follows::table
            .filter(follows::pending.eq(false))
            .select((follows::account_id, follows::target_account_id));
        let mut take = |a: i64, t: i64| {
            if groups.contains(&t) {
                members.entry(t).or_default().push(a);
            } else {
                b.tie(a, t, FOLLOW, &remote);
            }
        };
        match c {
            DbConn::Sqlite(lite) => {
                for r in q.load_iter::<(i64, i64), DefaultLoadingMode>(lite)? {
                    let (a, t) = r?;
                    take(a, t);
                }
            }
            DbConn::Postgres(pg) => {
                for r in q.load_iter::<(i64, i64), DefaultLoadingMode>(pg)? {
                    let (a, t) = r?;
                    take(a, t);
                }
            }
        }
    }
    for (sql, weight) in INTERACTIONS {
        each_pair(c, sql, min_id, |a, t, at| {
            let age = (now_ms - at.and_utc().timestamp_millis()) as f64 / 86_400_000.0;
            b.tie(a, t, weight * decay(age), &remote);
        })?;
    }
    for people in members.values() {
        let nodes: Vec<i64> = people
            .iter()
            .copied()
            .filter(|id| b.index.contains_key(id) || remote.contains_key(id))
            .collect();
        if nodes.len() < 2 || nodes.len() > MAX_GROUP_TIES {
            continue;
        }
        let w = 1.0 / (nodes.len() - 1) as f64;
        for (i, &x) in nodes.iter().enumerate() {
            for &y in &nodes[i + 1..] {
                b.tie(x, y, w, &remote);
            }
        }
    }

    // Departments of local people (the first department term each has).
    let ids: Vec<i64> = b.account_ids.clone();
    let mut dept_of: HashMap<i64, String> = HashMap::new();
    for chunk in ids.chunks(10_000) {
        let rows: Vec<(i64, String)> = profile_terms::table
            .filter(profile_terms::field.eq(DEPARTMENT))
            .filter(profile_terms::account_id.eq_any(chunk))
            .select((profile_terms::account_id, profile_terms::display))
            .order((profile_terms::account_id, profile_terms::term))
            .load(c)?;
        for (id, d) in rows {
            dept_of.entry(id).or_insert(d);
        }
    }
    Ok(b.finish(&dept_of))
}

struct Builder {
    index: HashMap<i64, u32>,
    account_ids: Vec<i64>,
    local: Vec<bool>,
    listed: Vec<bool>,
    instance: Vec<u32>,
    instances: Vec<String>,
    instance_index: HashMap<String, u32>,
    ties: Vec<(u32, u32, f64)>,
}

impl Builder {
    fn new(own_domain: &str) -> Builder {
        let own = own_domain.to_lowercase();
        Builder {
            index: HashMap::new(),
            account_ids: Vec::new(),
            local: Vec::new(),
            listed: Vec::new(),
            instance: Vec::new(),
            instance_index: HashMap::from([(own.clone(), 0)]),
            instances: vec![own],
            ties: Vec::new(),
        }
    }

    fn push(&mut self, id: i64, local: bool, listed: bool, instance: u32) -> u32 {
        let n = self.account_ids.len() as u32;
        self.index.insert(id, n);
        self.account_ids.push(id);
        self.local.push(local);
        self.listed.push(listed);
        self.instance.push(instance);
        n
    }

    fn add_local(&mut self, id: i64, discoverable: bool) {
        self.push(id, true, discoverable, 0);
    }

    /// The node of a partner's person, added when first tied.
    fn remote_node(&mut self, id: i64, remote: &HashMap<i64, String>) -> Option<u32> {
        let domain = remote.get(&id)?;
        let next = self.instances.len() as u32;
        let inst = *self.instance_index.entry(domain.clone()).or_insert(next);
        if inst == next {
            self.instances.push(domain.clone());
        }
        Some(self.push(id, false, false, inst))
    }

    /// A tie between two accounts when one is local and both are people.
    fn tie(&mut self, a: i64, b: i64, w: f64, remote: &HashMap<i64, String>) {
        if a == b {
            return;
        }
        let (ia, ib) = (self.index.get(&a).copied(), self.index.get(&b).copied());
        let local = |i: Option<u32>, s: &Self| i.is_some_and(|i| s.local[i as usize]);
        if !local(ia, self) && !local(ib, self) {
            return;
        }
        let ia = match ia {
            Some(i) => i,
            None => match self.remote_node(a, remote) {
                Some(i) => i,
                None => return,
            },
        };
        let ib = match ib {
            Some(i) => i,
            None => match self.remote_node(b, remote) {
                Some(i) => i,
                None => return,
            },
        };
        self.ties.push((ia, ib, w));
    }

    fn finish(self, dept_of: &HashMap<i64, String>) -> OrgGraph {
        let mut departments = vec![NO_DEPARTMENT.to_string()];
        let mut dept_index: HashMap<String, u32> = HashMap::from([(String::new(), 0)]);
        let mut unit = |name: String| -> u32 {
            let next = departments.len() as u32;
            *dept_index.entry(name.clone()).or_insert_with(|| {
                departments.push(name);
                next
            })
        };
        let department: Vec<u32> = (0..self.account_ids.len())
            .map(|i| {
                if self.local[i] {
                    unit(
                        dept_of
                            .get(&self.account_ids[i])
                            .cloned()
                            .unwrap_or_default(),
                    )
                } else {
                    unit(format!("@{}", self.instances[self.instance[i] as usize]))
                }
            })
            .collect();
        let graph = Graph::new(self.account_ids.len(), &self.ties);
        OrgGraph {
            graph,
            account_ids: self.account_ids,
            local: self.local,
            listed: self.listed,
            department,
            departments,
            instance: self.instance,
            instances: self.instances,
        }
    }
}

/// The measures of every node.
pub struct Measures {
    pub betweenness: graph::Betweenness,
    pub bridging: Vec<f64>,
    pub participation_department: Vec<f64>,
    pub participation_instance: Vec<f64>,
    pub holes: graph::Holes,
    pub cut_off: Vec<u32>,
}

pub fn measure(
    g: &OrgGraph,
    sources: usize,
    seed: u64,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Measures {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let betweenness = graph::betweenness(&g.graph, Some(sources), seed, threads, progress);
    let coefficient = graph::bridging_coefficient(&g.graph);
    let bridging = betweenness
        .values
        .iter()
        .zip(&coefficient)
        .map(|(b, c)| b * c)
        .collect();
    Measures {
        bridging,
        participation_department: graph::participation(&g.graph, &g.department),
        participation_instance: graph::participation(&g.graph, &g.instance),
        holes: graph::structural_holes(&g.graph),
        cut_off: graph::articulation(&g.graph),
        betweenness,
    }
}

/// What a run found, for the log and the CLI.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub id: i64,
    pub people: i64,
    pub partner_people: i64,
    pub ties: i64,
    pub sources: i64,
    pub exact: bool,
    pub duration_ms: i64,
}

impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "insights computed: {} people, {} partner people, {} ties, betweenness {} ({} sources), {} ms",
            self.people,
            self.partner_people,
            self.ties,
            if self.exact { "exact" } else { "sampled" },
            self.sources,
            self.duration_ms
        )
    }
}

/// Reads, measures and stores one run; `progress` hears the betweenness
/// sources done (the long part).
pub async fn compute(
    db: &Db,
    config: &crate::config::Config,
    progress: impl Fn(usize, usize) + Send + Sync + 'static,
) -> AppResult<RunSummary> {
    let started = Instant::now();
    let started_at = crate::db::now();
    let (domain, window, sources) = (
        config.domain.clone(),
        config.insights_window_days,
        config.insights_sources,
    );
    let g = db
        .run(move |c| load(c, &domain, window, started_at).map_err(AppError::from))
        .await?;
    let seed = started_at.and_utc().timestamp_millis() as u64;
    let (g, m) = tokio::task::spawn_blocking(move || {
        let m = measure(&g, sources, seed, &progress);
        (g, m)
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("insight computation failed: {e}")))?;
    let summary = RunSummary {
        id: crate::db::id::next_id(),
        people: g.local.iter().filter(|&&l| l).count() as i64,
        partner_people: g.local.iter().filter(|&&l| !l).count() as i64,
        ties: g.graph.ties() as i64,
        sources: m.betweenness.sources as i64,
        exact: m.betweenness.exact,
        duration_ms: 0,
    };
    let mut summary = summary;
    summary.duration_ms = started.elapsed().as_millis() as i64;
    let s = summary.clone();
    db.transaction(move |c| store(c, &s, started_at, window, &g, &m).map_err(AppError::from))
        .await?;
    Ok(summary)
}

type TieKey = (&'static str, String, String);

/// Inserts rows a thousand at a time (batch inserts are per backend in diesel).
macro_rules! insert_batches {
    ($c:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(1_000) {
            let q = diesel::insert_into($table).values(chunk.to_vec());
            match $c {
                DbConn::Sqlite(lite) => q.execute(lite)?,
                DbConn::Postgres(pg) => q.execute(pg)?,
            };
        }
    };
}
pub(crate) use insert_batches;

fn store(
    c: &mut DbConn,
    s: &RunSummary,
    started_at: NaiveDateTime,
    window_days: u64,
    g: &OrgGraph,
    m: &Measures,
) -> QueryResult<()> {
    diesel::insert_into(insight_runs::table)
        .values((
            insight_runs::id.eq(s.id),
            insight_runs::started_at.eq(started_at),
            insight_runs::finished_at.eq(crate::db::now()),
            insight_runs::window_days.eq(window_days as i64),
            insight_runs::people.eq(s.people),
            insight_runs::partner_people.eq(s.partner_people),
            insight_runs::ties.eq(s.ties),
            insight_runs::sources.eq(s.sources),
            insight_runs::exact.eq(s.exact),
            insight_runs::duration_ms.eq(s.duration_ms),
        ))
        .execute(c)?;
    let rows: Vec<_> = (0..g.account_ids.len())
        .filter(|&v| g.listed[v])
        .map(|v| {
            (
                insight_people::run_id.eq(s.id),
                insight_people::account_id.eq(g.account_ids[v]),
                insight_people::department.eq(g.departments[g.department[v] as usize].clone()),
                insight_people::degree.eq(g.graph.degree(v) as i64),
                insight_people::strength.eq(g.graph.strength(v)),
                insight_people::betweenness.eq(m.betweenness.values[v]),
                insight_people::bridging.eq(m.bridging[v]),
                insight_people::participation_department.eq(m.participation_department[v]),
                insight_people::participation_instance.eq(m.participation_instance[v]),
                insight_people::constraint_score.eq(m.holes.constraint[v]),
                insight_people::effective_size.eq(m.holes.effective_size[v]),
                insight_people::cut_off.eq(m.cut_off[v] as i64),
            )
        })
        .collect();
    insert_batches!(c, insight_people::table, rows);

    // Units and the ties between them: departments among local people,
    // instances among everyone.
    let mut people: HashMap<(&'static str, String), i64> = HashMap::new();
    for v in 0..g.account_ids.len() {
        if g.local[v] {
            *people
                .entry((
                    "department",
                    g.departments[g.department[v] as usize].clone(),
                ))
                .or_default() += 1;
        }
        *people
            .entry(("instance", g.instances[g.instance[v] as usize].clone()))
            .or_default() += 1;
    }
    let mut ties: HashMap<TieKey, (i64, f64)> = HashMap::new();
    let mut add = |kind: &'static str, x: &str, y: &str, w: f64| {
        let (a, b) = if x <= y { (x, y) } else { (y, x) };
        let e = ties
            .entry((kind, a.to_string(), b.to_string()))
            .or_default();
        e.0 += 1;
        e.1 += w;
    };
    for v in 0..g.graph.len() {
        for (&u, &w) in g.graph.neighbors(v).iter().zip(g.graph.neighbor_weights(v)) {
            let u = u as usize;
            if u <= v {
                continue;
            }
            if g.local[v] && g.local[u] {
                add(
                    "department",
                    &g.departments[g.department[v] as usize],
                    &g.departments[g.department[u] as usize],
                    w,
                );
            }
            add(
                "instance",
                &g.instances[g.instance[v] as usize],
                &g.instances[g.instance[u] as usize],
                w,
            );
        }
    }
    let unit_rows: Vec<_> = people
        .into_iter()
        .map(|((kind, unit), n)| {
            (
                insight_units::run_id.eq(s.id),
                insight_units::kind.eq(kind),
                insight_units::unit.eq(unit),
                insight_units::people.eq(n),
            )
        })
        .collect();
    insert_batches!(c, insight_units::table, unit_rows);
    let tie_rows: Vec<_> = ties
        .into_iter()
        .map(|((kind, a, b), (n, w))| {
            (
                insight_ties::run_id.eq(s.id),
                insight_ties::kind.eq(kind),
                insight_ties::a.eq(a),
                insight_ties::b.eq(b),
                insight_ties::ties.eq(n),
                insight_ties::weight.eq(w),
            )
        })
        .collect();
    insert_batches!(c, insight_ties::table, tie_rows);
    // The newest two runs stay (the second for "what changed").
    let keep: Vec<i64> = insight_runs::table
        .select(insight_runs::id)
        .order(insight_runs::id.desc())
        .limit(2)
        .load(c)?;
    let old: Vec<i64> = insight_runs::table
        .filter(insight_runs::id.ne_all(keep))
        .select(insight_runs::id)
        .load(c)?;
    if !old.is_empty() {
        diesel::delete(insight_people::table.filter(insight_people::run_id.eq_any(&old)))
            .execute(c)?;
        diesel::delete(insight_ties::table.filter(insight_ties::run_id.eq_any(&old))).execute(c)?;
        diesel::delete(insight_units::table.filter(insight_units::run_id.eq_any(&old)))
            .execute(c)?;
        diesel::delete(insight_runs::table.filter(insight_runs::id.eq_any(&old))).execute(c)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = insight_runs)]
pub struct Run {
    pub id: i64,
    pub started_at: NaiveDateTime,
    pub finished_at: NaiveDateTime,
    pub window_days: i64,
    pub people: i64,
    pub partner_people: i64,
    pub ties: i64,
    pub sources: i64,
    pub exact: bool,
    pub duration_ms: i64,
}

/// The newest run and the one before it.
pub fn runs(c: &mut DbConn) -> QueryResult<(Option<Run>, Option<Run>)> {
    let mut r: Vec<Run> = insight_runs::table
        .select(Run::as_select())
        .order(insight_runs::id.desc())
        .limit(2)
        .load(c)?;
    let previous = (r.len() > 1).then(|| r.remove(1));
    Ok((r.pop(), previous))
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = insight_people)]
pub struct Measured {
    #[serde(skip)]
    pub account_id: i64,
    pub department: String,
    pub degree: i64,
    pub strength: f64,
    pub betweenness: f64,
    pub bridging: f64,
    pub participation_department: f64,
    pub participation_instance: f64,
    #[serde(rename = "constraint")]
    pub constraint_score: Option<f64>,
    pub effective_size: f64,
    pub cut_off: i64,
}

/// The people of the newest run who hold most paths together (betweenness
/// first), of one department when given; only those still discoverable.
pub fn connectors(
    c: &mut DbConn,
    run: &Run,
    department: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(Measured, Account)>> {
    let mut q = insight_people::table
        .inner_join(accounts::table)
        .filter(insight_people::run_id.eq(run.id))
        .filter(accounts::discoverable.eq(true))
        .filter(accounts::suspended_at.is_null())
        .select((Measured::as_select(), Account::as_select()))
        .into_boxed();
    if let Some(d) = department.map(str::trim).filter(|d| !d.is_empty()) {
        q = q.filter(lower(insight_people::department).eq(d.to_lowercase()));
    }
    q.order((
        insight_people::betweenness.desc(),
        insight_people::participation_department.desc(),
        insight_people::account_id,
    ))
    .limit(limit.clamp(1, 200))
    .load(c)
}

/// One unit (a department or an instance) on the silo map.
#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub kind: String,
    pub unit: String,
    pub people: i64,
    pub internal_ties: i64,
    pub external_ties: i64,
    /// Share of the unit's ties that leave it.
    pub external_share: f64,
    /// No tie leaves it.
    pub island: bool,
    /// The same share in the run before, when there was one.
    pub previous_external_share: Option<f64>,
}

/// Ties between two units (`a` = `b`: inside one).
#[derive(Debug, Clone, Serialize)]
pub struct Ties {
    pub kind: String,
    pub a: String,
    pub b: String,
    pub ties: i64,
    pub weight: f64,
    pub previous_ties: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SiloMap {
    pub units: Vec<Unit>,
    pub ties: Vec<Ties>,
}

/// (kind, unit, people)
type UnitRow = (String, String, i64);

fn units_of(c: &mut DbConn, run: i64) -> QueryResult<(Vec<UnitRow>, Vec<Ties>)> {
    let units = insight_units::table
        .filter(insight_units::run_id.eq(run))
        .select((
            insight_units::kind,
            insight_units::unit,
            insight_units::people,
        ))
        .order((insight_units::kind, insight_units::unit))
        .load(c)?;
    let ties = insight_ties::table
        .filter(insight_ties::run_id.eq(run))
        .select((
            insight_ties::kind,
            insight_ties::a,
            insight_ties::b,
            insight_ties::ties,
            insight_ties::weight,
        ))
        .order((
            insight_ties::kind,
            insight_ties::ties.desc(),
            insight_ties::a,
            insight_ties::b,
        ))
        .load::<(String, String, String, i64, f64)>(c)?
        .into_iter()
        .map(|(kind, a, b, ties, weight)| Ties {
            kind,
            a,
            b,
            ties,
            weight,
            previous_ties: None,
        })
        .collect();
    Ok((units, ties))
}

fn with_shares(units: Vec<UnitRow>, ties: &[Ties]) -> Vec<Unit> {
    let mut internal: HashMap<(&str, &str), i64> = HashMap::new();
    let mut external: HashMap<(&str, &str), i64> = HashMap::new();
    for t in ties {
        if t.a == t.b {
            *internal.entry((&t.kind, &t.a)).or_default() += t.ties;
        } else {
            *external.entry((&t.kind, &t.a)).or_default() += t.ties;
            *external.entry((&t.kind, &t.b)).or_default() += t.ties;
        }
    }
    units
        .into_iter()
        .map(|(kind, unit, people)| {
            let i = internal
                .get(&(kind.as_str(), unit.as_str()))
                .copied()
                .unwrap_or(0);
            let e = external
                .get(&(kind.as_str(), unit.as_str()))
                .copied()
                .unwrap_or(0);
            Unit {
                external_share: if i + e > 0 {
                    e as f64 / (i + e) as f64
                } else {
                    0.0
                },
                island: e == 0,
                internal_ties: i,
                external_ties: e,
                previous_external_share: None,
                kind,
                unit,
                people,
            }
        })
        .collect()
}

/// The unit map of the newest run, with the run before for comparison.
pub fn silos(c: &mut DbConn, run: &Run, previous: Option<&Run>) -> QueryResult<SiloMap> {
    let (units, mut ties) = units_of(c, run.id)?;
    let mut units = with_shares(units, &ties);
    if let Some(p) = previous {
        let (pu, pt) = units_of(c, p.id)?;
        let before: HashMap<(String, String), f64> = with_shares(pu, &pt)
            .into_iter()
            .map(|u| ((u.kind, u.unit), u.external_share))
            .collect();
        for u in &mut units {
            u.previous_external_share = before.get(&(u.kind.clone(), u.unit.clone())).copied();
        }
        let prev: HashMap<(String, String, String), i64> = pt
            .into_iter()
            .map(|t| ((t.kind, t.a, t.b), t.ties))
            .collect();
        for t in &mut ties {
            t.previous_ties = Some(
                prev.get(&(t.kind.clone(), t.a.clone(), t.b.clone()))
                    .copied()
                    .unwrap_or(0),
            );
        }
    }
    Ok(SiloMap { units, ties })
}

/// A unit's name for people ("(no department)" for the empty one).
pub fn unit_label(unit: &str) -> &str {
    if unit == NO_DEPARTMENT {
        "(no department)"
    } else {
        unit
    }
}
