//! Helpers the benches share: latency percentiles, SQL quoting, peak memory.
// Each bench uses only some of these.
#![allow(dead_code)]

use std::time::Duration;

/// The `p` quantile (0..=1) of sorted latencies.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize]
}

/// "N requests, p50 X ms, p99 Y ms" for unsorted latencies.
pub fn latency_line(name: &str, mut lat: Vec<Duration>) -> String {
    lat.sort();
    format!(
        "{name}: {} requests, p50 {:.2} ms, p99 {:.2} ms",
        lat.len(),
        pct(&lat, 0.50).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3
    )
}

/// A string inside single quotes in SQL.
pub fn sql_str(s: &str) -> String {
    s.replace('\'', "''")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Starts a new peak-RSS measurement for this process (Linux `clear_refs`).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak RSS since the last reset, MiB.
pub fn peak_rss_mib() -> f64 {
    status_kib("VmHWM:") as f64 / 1024.0
}

/// Current RSS, MiB.
pub fn rss_mib() -> f64 {
    status_kib("VmRSS:") as f64 / 1024.0
}
