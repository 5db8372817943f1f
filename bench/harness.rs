//! A small timing harness for the socket-free micro-benchmarks (`bench/parse.rs`,
//! `bench/fanout.rs`; included by each with `#[path]`, so it is not a target of its own).
//! No criterion: the figures are printed as libtest/criterion-style lines,
//!
//! ```text
//! parse/privmsg_tags ... 68 ns/iter (+/- 2) = 1.82 GiB/s, 14.7 M lines/s
//! ```
//!
//! Method: the routine is warmed up, then timed in `SAMPLES` samples of `n` back-to-back
//! calls each (`n` chosen so that the samples fill the measuring time). The figure is the
//! median ns per call over the samples after winsorising them at 5 % / 95 %; `+/-` is the
//! spread (max - min) of the winsorised samples, as libtest reports it.
//!
//! Command line (after `cargo bench --bench NAME --`): words that do not start with `-` are
//! substring filters on the benchmark names. Cargo passes `--bench` when benchmarking;
//! without it (e.g. `cargo test --benches`) every routine runs once as a smoke test.
//! `BENCH_SECS` sets the measuring time per benchmark (default 1.0).
#![allow(dead_code)]

use std::time::{Duration, Instant};

const SAMPLES: usize = 50;

/// What one call of a routine processes, for the throughput figures.
#[derive(Clone, Copy)]
pub enum Thrpt {
    /// Bytes per call: shown as MiB/s or GiB/s.
    Bytes(u64),
    /// Items per call with their name (singular): shown as items/s and ns per item.
    Items(u64, &'static str),
}

pub struct Harness {
    filters: Vec<String>,
    bench_mode: bool,
    measure: Duration,
    warmup: Duration,
    ran: usize,
}

impl Harness {
    pub fn from_args() -> Harness {
        let mut filters = Vec::new();
        let mut bench_mode = false;
        for a in std::env::args().skip(1) {
            if a == "--bench" {
                bench_mode = true;
            } else if !a.starts_with('-') {
                filters.push(a);
            }
        }
        let secs = std::env::var("BENCH_SECS")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(1.0);
        Harness {
            filters,
            bench_mode,
            measure: Duration::from_secs_f64(secs),
            warmup: Duration::from_secs_f64((secs * 0.3).min(0.5)),
            ran: 0,
        }
    }

    fn selected(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }

    /// Times `f` (one call = one iteration) and prints its line.
    pub fn bench<F: FnMut()>(&mut self, name: &str, thrpt: &[Thrpt], mut f: F) {
        if !self.selected(name) {
            return;
        }
        self.ran += 1;
        if !self.bench_mode {
            f();
            println!("{name} ... ok (ran once; pass --bench to measure)");
            return;
        }
        // Warm-up, which also estimates the cost of one call.
        let start = Instant::now();
        let mut calls: u64 = 0;
        let mut batch: u64 = 1;
        while start.elapsed() < self.warmup {
            for _ in 0..batch {
                f();
            }
            calls += batch;
            batch = (batch * 2).min(1 << 20);
        }
        let per_call = start.elapsed().as_secs_f64() / calls.max(1) as f64;
        let per_sample = self.measure.as_secs_f64() / SAMPLES as f64;
        let n = ((per_sample / per_call.max(1e-9)) as u64).max(1);

        let mut samples = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            samples.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
        }
        let (median, spread) = summarise(&mut samples);
        println!("{name} ... {}", format_line(median, spread, thrpt));
    }

    /// Call at the end: a filter that matched nothing is worth a word.
    pub fn finish(&self) {
        if self.ran == 0 {
            eprintln!("no benchmark matched {:?}", self.filters);
        }
    }
}

/// Winsorises at 5 % / 95 % (libtest's treatment) and returns (median, max - min).
fn summarise(s: &mut [f64]) -> (f64, f64) {
    s.sort_by(|a, b| a.total_cmp(b));
    let lo = s[(s.len() - 1) * 5 / 100];
    let hi = s[(s.len() - 1) * 95 / 100];
    for x in s.iter_mut() {
        *x = x.clamp(lo, hi);
    }
    let mid = s.len() / 2;
    let median = if s.len().is_multiple_of(2) {
        (s[mid - 1] + s[mid]) / 2.0
    } else {
        s[mid]
    };
    (median, hi - lo)
}

/// `1,234` style grouping for whole nanoseconds (sub-10 ns figures keep one decimal).
fn ns(x: f64) -> String {
    if x < 10.0 {
        return format!("{x:.1}");
    }
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(per_s: f64) -> String {
    if per_s >= 1e9 {
        format!("{:.2} G", per_s / 1e9)
    } else if per_s >= 1e6 {
        format!("{:.2} M", per_s / 1e6)
    } else if per_s >= 1e3 {
        format!("{:.1} K", per_s / 1e3)
    } else {
        format!("{per_s:.1}")
    }
}

fn format_line(median: f64, spread: f64, thrpt: &[Thrpt]) -> String {
    let mut line = format!("{} ns/iter (+/- {})", ns(median), ns(spread));
    let mut parts = Vec::new();
    for t in thrpt {
        match *t {
            Thrpt::Bytes(b) => {
                let bps = b as f64 / (median / 1e9);
                let mib = bps / (1024.0 * 1024.0);
                if mib >= 1024.0 {
                    parts.push(format!("{:.2} GiB/s", mib / 1024.0));
                } else {
                    parts.push(format!("{mib:.1} MiB/s"));
                }
            }
            Thrpt::Items(1, what) => parts.push(format!("{} {what}s/s", rate(1e9 / median))),
            Thrpt::Items(k, what) if k > 0 => {
                let per = median / k as f64;
                parts.push(format!("{} {what}s/s, {per:.1} ns/{what}", rate(1e9 / per)));
            }
            Thrpt::Items(..) => {}
        }
    }
    if !parts.is_empty() {
        line.push_str(" = ");
        line.push_str(&parts.join(", "));
    }
    line
}
