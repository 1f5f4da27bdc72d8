//! Measures of who holds an organization together, on an undirected,
//! weighted tie graph kept as one adjacency slice per person (compact enough
//! for 100,000 people and millions of ties in a few hundred MiB).
//!
//! - betweenness (Brandes; sampled from k sources and scaled by n/k when
//!   the graph is large, as Brandes and Pich 2007 describe);
//! - the bridging coefficient (Hwang et al. 2006);
//! - the participation coefficient over any partition into units
//!   (Guimerà and Amaral 2005);
//! - Burt's constraint and effective size (structural holes);
//! - articulation points and how many people each one's absence cuts off.
//!
//! Shortest paths count hops (a tie is a tie); weights measure how strong a
//! tie is, so they enter participation and constraint.

use std::sync::atomic::{AtomicUsize, Ordering};

use rand::SeedableRng;
use rand::rngs::StdRng;

/// Up to this many people, betweenness is exact.
pub const EXACT_UP_TO: usize = 2_000;

pub struct Graph {
    offsets: Vec<usize>,
    nbrs: Vec<u32>,
    weights: Vec<f64>,
    strength: Vec<f64>,
}

impl Graph {
    /// `n` nodes and ties `(a, b, weight)`: repeated ties add up, self ties
    /// and weights ≤ 0 are dropped.
    pub fn new(n: usize, ties: &[(u32, u32, f64)]) -> Graph {
        let mut count = vec![0usize; n + 1];
        for &(a, b, w) in ties {
            if a != b && w > 0.0 {
                count[a as usize] += 1;
                count[b as usize] += 1;
            }
        }
        let mut offsets = vec![0usize; n + 1];
        for v in 0..n {
            offsets[v + 1] = offsets[v] + count[v];
        }
        let mut fill = offsets.clone();
        let total = offsets[n];
        let mut nbrs = vec![0u32; total];
        let mut weights = vec![0f64; total];
        for &(a, b, w) in ties {
            if a != b && w > 0.0 {
                for (x, y) in [(a, b), (b, a)] {
                    let at = &mut fill[x as usize];
                    nbrs[*at] = y;
                    weights[*at] = w;
                    *at += 1;
                }
            }
        }
        drop(fill);
        // Sort each slice and merge repeated ties in place.
        let mut out = 0usize;
        let mut new_offsets = vec![0usize; n + 1];
        let mut pairs: Vec<(u32, f64)> = Vec::new();
        for v in 0..n {
            pairs.clear();
            pairs.extend((offsets[v]..offsets[v + 1]).map(|i| (nbrs[i], weights[i])));
            pairs.sort_unstable_by_key(|p| p.0);
            for &(u, w) in &pairs {
                if out > new_offsets[v] && nbrs[out - 1] == u {
                    weights[out - 1] += w;
                } else {
                    nbrs[out] = u;
                    weights[out] = w;
                    out += 1;
                }
            }
            new_offsets[v + 1] = out;
        }
        nbrs.truncate(out);
        weights.truncate(out);
        nbrs.shrink_to_fit();
        weights.shrink_to_fit();
        let strength = (0..n)
            .map(|v| weights[new_offsets[v]..new_offsets[v + 1]].iter().sum())
            .collect();
        Graph {
            offsets: new_offsets,
            nbrs,
            weights,
            strength,
        }
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Distinct ties.
    pub fn ties(&self) -> usize {
        self.nbrs.len() / 2
    }

    pub fn degree(&self, v: usize) -> usize {
        self.offsets[v + 1] - self.offsets[v]
    }

    /// The sum of a node's tie weights.
    pub fn strength(&self, v: usize) -> f64 {
        self.strength[v]
    }

    pub fn neighbors(&self, v: usize) -> &[u32] {
        &self.nbrs[self.offsets[v]..self.offsets[v + 1]]
    }

    pub fn neighbor_weights(&self, v: usize) -> &[f64] {
        &self.weights[self.offsets[v]..self.offsets[v + 1]]
    }
}

/// Betweenness of every node, normalized to [0, 1] (the share of the other
/// pairs whose shortest paths run through it).
pub struct Betweenness {
    pub values: Vec<f64>,
    /// How many sources the paths were counted from.
    pub sources: usize,
    pub exact: bool,
}

/// Betweenness from `k` sources drawn at random (all of them when `k` is
/// `None`, or when the graph has at most [`EXACT_UP_TO`] nodes or at most
/// `k`), on `threads` threads; `progress` hears how many sources are done.
pub fn betweenness(
    g: &Graph,
    k: Option<usize>,
    seed: u64,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Betweenness {
    let n = g.len();
    let sources: Vec<u32> = match k {
        Some(k) if k < n && n > EXACT_UP_TO => {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut picked: Vec<u32> = rand::seq::index::sample(&mut rng, n, k)
                .into_iter()
                .map(|i| i as u32)
                .collect();
            picked.sort_unstable();
            picked
        }
        _ => (0..n as u32).collect(),
    };
    let exact = sources.len() == n;
    let done = AtomicUsize::new(0);
    let threads = threads.clamp(1, sources.len().max(1));
    let chunk = sources.len().div_ceil(threads).max(1);
    let total = sources.len();
    let partials: Vec<Vec<f64>> = std::thread::scope(|s| {
        let handles: Vec<_> = sources
            .chunks(chunk)
            .map(|part| {
                let done = &done;
                let progress = &progress;
                s.spawn(move || {
                    let mut acc = vec![0f64; n];
                    let mut w = Work::new(n);
                    for &src in part {
                        w.accumulate(g, src as usize, &mut acc);
                        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                        progress(d, total);
                    }
                    acc
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("betweenness thread"))
            .collect()
    });
    let mut values = vec![0f64; n];
    for p in partials {
        for (v, x) in values.iter_mut().zip(p) {
            *v += x;
        }
    }
    // Each unordered pair is counted from both ends; sampled sums scale up
    // by n/k; normalize by the pairs that exclude the node.
    let scale = if sources.is_empty() {
        0.0
    } else {
        n as f64 / sources.len() as f64 / 2.0
    };
    let pairs = if n > 2 {
        ((n - 1) * (n - 2)) as f64 / 2.0
    } else {
        1.0
    };
    for v in &mut values {
        *v = *v * scale / pairs;
    }
    Betweenness {
        values,
        sources: sources.len(),
        exact,
    }
}

/// Scratch space for one source's breadth-first search (Brandes).
struct Work {
    dist: Vec<u32>,
    sigma: Vec<f64>,
    delta: Vec<f64>,
    order: Vec<u32>,
}

impl Work {
    fn new(n: usize) -> Work {
        Work {
            dist: vec![u32::MAX; n],
            sigma: vec![0.0; n],
            delta: vec![0.0; n],
            order: Vec::with_capacity(n),
        }
    }

    fn accumulate(&mut self, g: &Graph, s: usize, acc: &mut [f64]) {
        self.order.clear();
        self.dist[s] = 0;
        self.sigma[s] = 1.0;
        self.order.push(s as u32);
        let mut head = 0;
        while head < self.order.len() {
            let v = self.order[head] as usize;
            head += 1;
            let dv = self.dist[v];
            for &w in g.neighbors(v) {
                let w = w as usize;
                if self.dist[w] == u32::MAX {
                    self.dist[w] = dv + 1;
                    self.order.push(w as u32);
                }
                if self.dist[w] == dv + 1 {
                    self.sigma[w] += self.sigma[v];
                }
            }
        }
        // Back from the farthest: a node's predecessors are the neighbors
        // one hop nearer, so no lists are kept.
        for &w in self.order.iter().rev() {
            let w = w as usize;
            let dw = self.dist[w];
            let coeff = (1.0 + self.delta[w]) / self.sigma[w];
            for &v in g.neighbors(w) {
                let v = v as usize;
                if dw > 0 && self.dist[v] == dw - 1 {
                    self.delta[v] += self.sigma[v] * coeff;
                }
            }
            if w != s {
                acc[w] += self.delta[w];
            }
        }
        for &v in &self.order {
            let v = v as usize;
            self.dist[v] = u32::MAX;
            self.sigma[v] = 0.0;
            self.delta[v] = 0.0;
        }
    }
}

/// The bridging coefficient: how much smaller a node's degree is than its
/// neighbors' (a node between dense groups scores high); 0 for isolates.
pub fn bridging_coefficient(g: &Graph) -> Vec<f64> {
    (0..g.len())
        .map(|v| {
            let d = g.degree(v);
            if d == 0 {
                return 0.0;
            }
            let inv: f64 = g
                .neighbors(v)
                .iter()
                .map(|&u| 1.0 / g.degree(u as usize) as f64)
                .sum();
            (1.0 / d as f64) / inv
        })
        .collect()
}

/// The participation coefficient over `unit` (one unit index per node):
/// 1 − Σ_s (w_s / w)², where w_s is the weight of a node's ties into unit s.
/// 0 when all of them stay in one unit (or there are none), approaching 1
/// when they spread evenly over many.
pub fn participation(g: &Graph, unit: &[u32]) -> Vec<f64> {
    let units = unit.iter().map(|&u| u as usize + 1).max().unwrap_or(0);
    let mut per = vec![0f64; units];
    let mut touched: Vec<usize> = Vec::new();
    (0..g.len())
        .map(|v| {
            let total = g.strength(v);
            if total <= 0.0 {
                return 0.0;
            }
            for (&u, &w) in g.neighbors(v).iter().zip(g.neighbor_weights(v)) {
                let s = unit[u as usize] as usize;
                if per[s] == 0.0 {
                    touched.push(s);
                }
                per[s] += w;
            }
            let mut sum = 0.0;
            for &s in &touched {
                sum += (per[s] / total).powi(2);
                per[s] = 0.0;
            }
            touched.clear();
            (1.0 - sum).max(0.0)
        })
        .collect()
}

/// Burt's structural holes for each node: `constraint` (high when one's
/// contacts are tied to each other, so they add no new reach; `None` for
/// someone with no ties) and `effective_size` (contacts less the
/// redundancy among them).
pub struct Holes {
    pub constraint: Vec<Option<f64>>,
    pub effective_size: Vec<f64>,
}

pub fn structural_holes(g: &Graph) -> Holes {
    let n = g.len();
    // p[j] while visiting i: i's share of tie weight to j (0 = not a contact).
    let mut p = vec![0f64; n];
    let mut indirect = vec![0f64; n];
    let mut constraint = Vec::with_capacity(n);
    let mut effective_size = Vec::with_capacity(n);
    for i in 0..n {
        let d = g.degree(i);
        let s_i = g.strength(i);
        if d == 0 || s_i <= 0.0 {
            constraint.push(None);
            effective_size.push(0.0);
            continue;
        }
        for (&j, &w) in g.neighbors(i).iter().zip(g.neighbor_weights(i)) {
            p[j as usize] = w / s_i;
        }
        // Ties among i's contacts, each seen from both ends.
        let mut among = 0usize;
        for &q in g.neighbors(i) {
            let q = q as usize;
            let (p_iq, s_q) = (p[q], g.strength(q));
            for (&j, &w) in g.neighbors(q).iter().zip(g.neighbor_weights(q)) {
                let j = j as usize;
                if j != i && p[j] > 0.0 {
                    indirect[j] += p_iq * (w / s_q);
                    among += 1;
                }
            }
        }
        let mut c = 0.0;
        for &j in g.neighbors(i) {
            let j = j as usize;
            c += (p[j] + indirect[j]).powi(2);
            p[j] = 0.0;
            indirect[j] = 0.0;
        }
        constraint.push(Some(c));
        // Borgatti's form for ties taken as present/absent: n − 2t/n.
        effective_size.push(d as f64 - among as f64 / d as f64);
    }
    Holes {
        constraint,
        effective_size,
    }
}

/// For each node, how many people would lose their path to the largest
/// remaining part of their component without it (0 for a node that is no
/// articulation point).
pub fn articulation(g: &Graph) -> Vec<u32> {
    const NONE: u32 = u32::MAX;
    let n = g.len();
    let mut disc = vec![NONE; n];
    let mut low = vec![0u32; n];
    let mut parent = vec![NONE; n];
    let mut size = vec![1u32; n];
    // Separated pieces below each node: their total and the largest.
    let mut sep_sum = vec![0u32; n];
    let mut sep_max = vec![0u32; n];
    let mut separates = vec![false; n];
    let mut cut = vec![0u32; n];
    let mut time = 0u32;
    // (node, next neighbor index)
    let mut stack: Vec<(u32, usize)> = Vec::new();
    let mut members: Vec<u32> = Vec::new();
    for root in 0..n {
        if disc[root] != NONE || g.degree(root) == 0 {
            continue;
        }
        members.clear();
        disc[root] = time;
        low[root] = time;
        time += 1;
        stack.push((root as u32, 0));
        members.push(root as u32);
        let mut root_children = 0u32;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            let v = v as usize;
            let nb = g.neighbors(v);
            if *next < nb.len() {
                let w = nb[*next] as usize;
                *next += 1;
                if disc[w] == NONE {
                    parent[w] = v as u32;
                    disc[w] = time;
                    low[w] = time;
                    time += 1;
                    stack.push((w as u32, 0));
                    members.push(w as u32);
                } else if parent[v] != w as u32 {
                    low[v] = low[v].min(disc[w]);
                }
                continue;
            }
            stack.pop();
            let p = parent[v];
            if p == NONE {
                continue;
            }
            let p = p as usize;
            low[p] = low[p].min(low[v]);
            size[p] += size[v];
            if p == root {
                root_children += 1;
                sep_sum[p] += size[v];
                sep_max[p] = sep_max[p].max(size[v]);
            } else if low[v] >= disc[p] {
                separates[p] = true;
                sep_sum[p] += size[v];
                sep_max[p] = sep_max[p].max(size[v]);
            }
        }
        separates[root] = root_children >= 2;
        let comp = size[root];
        for &v in &members {
            let v = v as usize;
            if separates[v] {
                let rest = comp - 1 - sep_sum[v];
                let largest = sep_max[v].max(rest);
                cut[v] = comp - 1 - largest;
            }
        }
    }
    cut
}

/// Connected components: a component index per node (isolates get their own).
pub fn components(g: &Graph) -> Vec<u32> {
    let n = g.len();
    let mut comp = vec![u32::MAX; n];
    let mut next = 0u32;
    let mut queue: Vec<u32> = Vec::new();
    for s in 0..n {
        if comp[s] != u32::MAX {
            continue;
        }
        comp[s] = next;
        queue.clear();
        queue.push(s as u32);
        while let Some(v) = queue.pop() {
            for &w in g.neighbors(v as usize) {
                if comp[w as usize] == u32::MAX {
                    comp[w as usize] = next;
                    queue.push(w);
                }
            }
        }
        next += 1;
    }
    comp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet(_: usize, _: usize) {}

    fn exact(g: &Graph) -> Vec<f64> {
        betweenness(g, None, 0, 2, &quiet).values
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Two departments of five, everyone tied within; person 10 (of
    /// department A) knows two people on each side, and is the only tie
    /// between them.
    fn two_departments() -> (Graph, Vec<u32>) {
        let mut ties = Vec::new();
        for side in [0u32, 5] {
            for a in side..side + 5 {
                for b in a + 1..side + 5 {
                    ties.push((a, b, 1.0));
                }
            }
        }
        for b in [0, 1, 5, 6] {
            ties.push((10, b, 1.0));
        }
        let mut unit = vec![0u32; 11];
        for u in unit.iter_mut().take(10).skip(5) {
            *u = 1;
        }
        (Graph::new(11, &ties), unit)
    }

    #[test]
    fn repeated_ties_add_up_and_self_ties_drop() {
        let g = Graph::new(3, &[(0, 1, 1.0), (1, 0, 2.0), (1, 1, 5.0), (1, 2, 0.0)]);
        assert_eq!(g.ties(), 1);
        assert_eq!(g.neighbors(1), &[0]);
        assert!(close(g.strength(0), 3.0));
        assert_eq!(g.degree(2), 0);
    }

    #[test]
    fn the_bridge_between_two_departments_comes_first_on_every_measure() {
        let (g, unit) = two_departments();
        let b = exact(&g);
        let top = (0..11).max_by(|&x, &y| b[x].total_cmp(&b[y])).unwrap();
        assert_eq!(top, 10);
        // Every path between the sides (5 × 5 pairs, but 0/1 and 5/6 reach
        // the other side through 10 only) runs through 10.
        assert!(b[10] > 2.0 * b[0], "{b:?}");
        let p = participation(&g, &unit);
        assert!(close(p[10], 0.5), "{p:?}");
        assert!(p.iter().take(10).all(|&x| x < p[10]));
        let cut = articulation(&g);
        assert_eq!(cut[10], 5, "{cut:?}");
        assert!(cut.iter().take(10).all(|&c| c == 0));
        let holes = structural_holes(&g);
        let c10 = holes.constraint[10].unwrap();
        assert!((0..10).all(|v| holes.constraint[v].unwrap() > c10));
        let es = &holes.effective_size;
        assert!((0..10).all(|v| es[v] < es[10]), "{es:?}");
    }

    #[test]
    fn a_star_runs_through_its_center() {
        let n = 6u32;
        let ties: Vec<_> = (1..n).map(|v| (0, v, 1.0)).collect();
        let g = Graph::new(n as usize, &ties);
        let b = exact(&g);
        assert!(close(b[0], 1.0), "{b:?}");
        assert!(b.iter().skip(1).all(|&x| close(x, 0.0)));
        // Without the center, each leaf is alone: all but one are cut off
        // from the largest remaining part (itself a single leaf).
        assert_eq!(articulation(&g)[0], 4);
        let holes = structural_holes(&g);
        assert!(close(holes.constraint[0].unwrap(), 1.0 / 5.0));
        assert!(close(holes.constraint[1].unwrap(), 1.0));
        assert!(close(holes.effective_size[0], 5.0));
        assert!(close(holes.effective_size[1], 1.0));
        let bc = bridging_coefficient(&g);
        assert!(bc[0] < bc[1]);
    }

    #[test]
    fn a_ring_has_no_articulation_and_equal_betweenness() {
        let n = 7u32;
        let ties: Vec<_> = (0..n).map(|v| (v, (v + 1) % n, 1.0)).collect();
        let g = Graph::new(n as usize, &ties);
        let b = exact(&g);
        // (n−1)(n−3)/8 pairs for an odd ring, over (n−1)(n−2)/2 pairs.
        let expected = (6.0 * 4.0 / 8.0) / 15.0;
        assert!(b.iter().all(|&x| close(x, expected)), "{b:?}");
        assert!(articulation(&g).iter().all(|&c| c == 0));
        // Neighbors on a ring are not tied to each other: no redundancy.
        let holes = structural_holes(&g);
        assert!(holes.effective_size.iter().all(|&e| close(e, 2.0)));
        assert!(holes.constraint.iter().all(|c| close(c.unwrap(), 0.5)));
    }

    #[test]
    fn disconnected_units_are_separate_components() {
        let ties = [
            (0, 1, 1.0),
            (1, 2, 1.0),
            (2, 0, 1.0),
            (3, 4, 1.0),
            (4, 5, 1.0),
        ];
        let g = Graph::new(7, &ties);
        let comp = components(&g);
        assert_eq!(comp[0], comp[2]);
        assert_ne!(comp[0], comp[3]);
        assert_ne!(comp[6], comp[5]);
        let b = exact(&g);
        assert!(b[..3].iter().all(|&x| close(x, 0.0)));
        assert!(b[4] > 0.0 && close(b[3], 0.0));
        let cut = articulation(&g);
        assert_eq!(cut, vec![0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(structural_holes(&g).constraint[6], None);
        let unit = vec![0, 0, 0, 1, 1, 1, 2];
        assert!(participation(&g, &unit).iter().all(|&p| close(p, 0.0)));
    }

    #[test]
    fn weights_shape_participation_and_constraint() {
        // 0 is tied to 1 (unit 0) strongly and to 2 (unit 1) weakly.
        let g = Graph::new(3, &[(0, 1, 3.0), (0, 2, 1.0)]);
        let p = participation(&g, &[0, 0, 1]);
        assert!(close(p[0], 1.0 - (0.75f64.powi(2) + 0.25f64.powi(2))));
        let c = structural_holes(&g).constraint[0].unwrap();
        assert!(close(c, 0.75f64.powi(2) + 0.25f64.powi(2)));
    }

    /// A few thousand people in departments, mostly tied within, some
    /// across: the sampled estimate of the people who matter stays near the
    /// exact value.
    #[test]
    fn sampled_betweenness_is_close_to_exact() {
        use rand::Rng;
        let (n, depts) = (3_000usize, 30usize);
        let mut rng = StdRng::seed_from_u64(7);
        let mut ties = Vec::new();
        for v in 0..n {
            let d = v % depts;
            for _ in 0..4 {
                let u = if rng.gen_bool(0.9) {
                    d + depts * rng.gen_range(0..n / depts)
                } else {
                    rng.gen_range(0..n)
                };
                ties.push((v as u32, u as u32, 1.0));
            }
        }
        let g = Graph::new(n, &ties);
        // Above EXACT_UP_TO, so `k` is honoured.
        let full = betweenness(&g, None, 0, 2, &quiet);
        let sampled = betweenness(&g, Some(300), 42, 2, &quiet);
        assert!(full.exact && !sampled.exact);
        assert_eq!(sampled.sources, 300);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| full.values[b].total_cmp(&full.values[a]));
        // The top 1 %: each within 35 % of its exact value.
        for &v in &order[..n / 100] {
            let (e, s) = (full.values[v], sampled.values[v]);
            assert!(
                (s - e).abs() <= 0.35 * e,
                "node {v}: exact {e}, sampled {s}"
            );
        }
        // Over everyone: the total is estimated within 5 %.
        let (te, ts): (f64, f64) = (full.values.iter().sum(), sampled.values.iter().sum());
        assert!((ts - te).abs() <= 0.05 * te, "{te} vs {ts}");
    }
}
