//! Measurement helpers: a fixed log-linear latency histogram, `/proc`
//! readers for CPU time and RSS, and the report printer (table + JSON).

use std::fmt::Write as _;

/// Linear sub-buckets per power of two (relative error <= 1/64).
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Values below this are counted exactly.
const LINEAR: u64 = 2 * SUB;
const BUCKETS: usize = (LINEAR + (64 - SUB_BITS as u64 - 1) * SUB) as usize;

/// Log-linear histogram of nanosecond values; recording never allocates.
pub struct Hist {
    counts: Vec<u64>,
    n: u64,
    max: u64,
    sum: u128,
}

impl Hist {
    pub fn new() -> Hist {
        Hist {
            counts: vec![0; BUCKETS],
            n: 0,
            max: 0,
            sum: 0,
        }
    }

    fn bucket(v: u64) -> usize {
        if v < LINEAR {
            return v as usize;
        }
        let k = 63 - v.leading_zeros(); // >= SUB_BITS + 1
        let sub = (v >> (k - SUB_BITS)) & (SUB - 1);
        (LINEAR + u64::from(k - SUB_BITS - 1) * SUB + sub) as usize
    }

    /// Lowest value of bucket `b` and its width.
    fn bounds(b: usize) -> (u64, u64) {
        let b = b as u64;
        if b < LINEAR {
            return (b, 1);
        }
        let i = b - LINEAR;
        let k = i / SUB + u64::from(SUB_BITS) + 1;
        let sub = i % SUB;
        let shift = k - u64::from(SUB_BITS);
        ((SUB + sub) << shift, 1 << shift)
    }

    #[inline]
    pub fn record(&mut self, v: u64) {
        self.counts[Self::bucket(v)] += 1;
        self.n += 1;
        self.sum += u128::from(v);
        if v > self.max {
            self.max = v;
        }
    }

    pub fn count(&self) -> u64 {
        self.n
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum as f64 / self.n as f64
        }
    }

    /// Value at quantile `q` (0..=1): the middle of the bucket holding the
    /// sample of rank ceil(q*n), never above the true maximum.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.n == 0 {
            return 0;
        }
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, w) = Self::bounds(b);
                return (lo + w / 2).min(self.max);
            }
        }
        self.max
    }
}

/// Clock ticks per second for /proc/*/stat times (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: u64 = 100;

/// (utime, stime) of `pid` ("self" for this process) in microseconds.
pub fn cpu_user_sys_us(pid: &str) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; fields resume after the last ')'.
    let rest = &s[s.rfind(')')? + 1..];
    let mut f = rest.split_ascii_whitespace();
    // After ')': state(3) ... utime is field 14, stime field 15 (1-based).
    let utime: u64 = f.nth(11)?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    let us = |t: u64| t * 1_000_000 / TICKS_PER_SEC;
    Some((us(utime), us(stime)))
}

/// utime + stime of `pid` ("self" for this process) in microseconds.
pub fn cpu_us(pid: &str) -> Option<u64> {
    cpu_user_sys_us(pid).map(|(u, s)| u + s)
}

/// Write syscalls `pid` has made (`syscw` in /proc/PID/io: write, writev, send*...).
/// Needs the same user as the server or root; None when unreadable.
pub fn write_syscalls(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let line = s.lines().find(|l| l.starts_with("syscw:"))?;
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// VmRSS of `pid` in bytes.
pub fn rss_bytes(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_ascii_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU snapshot of the tool and (optionally) the server.
#[derive(Clone, Copy, Default)]
pub struct CpuMark {
    pub at_ns: u64,
    pub tool_us: Option<u64>,
    pub server_us: Option<u64>,
    /// The server's user-space share of `server_us`.
    pub server_user_us: Option<u64>,
    pub server_syscw: Option<u64>,
}

impl CpuMark {
    pub fn take(now: u64, server_pid: Option<&str>) -> CpuMark {
        let server = server_pid.and_then(cpu_user_sys_us);
        CpuMark {
            at_ns: now,
            tool_us: cpu_us("self"),
            server_us: server.map(|(u, s)| u + s),
            server_user_us: server.map(|(u, _)| u),
            server_syscw: server_pid.and_then(write_syscalls),
        }
    }
}

pub enum Val {
    Int(i64),
    Float(f64, usize),
    Str(String),
    Null,
}

/// Ordered key/value report.
#[derive(Default)]
pub struct Report {
    items: Vec<(&'static str, Val)>,
}

impl Report {
    pub fn int(&mut self, k: &'static str, v: impl TryInto<i64>) {
        let v = v.try_into().unwrap_or(i64::MAX);
        self.items.push((k, Val::Int(v)));
    }

    pub fn float(&mut self, k: &'static str, v: f64, decimals: usize) {
        let v = if v.is_finite() {
            Val::Float(v, decimals)
        } else {
            Val::Null
        };
        self.items.push((k, v));
    }

    pub fn str(&mut self, k: &'static str, v: impl Into<String>) {
        self.items.push((k, Val::Str(v.into())));
    }

    pub fn opt_int(&mut self, k: &'static str, v: Option<u64>) {
        match v {
            Some(v) => self.int(k, v),
            None => self.items.push((k, Val::Null)),
        }
    }

    pub fn opt_float(&mut self, k: &'static str, v: Option<f64>, decimals: usize) {
        match v {
            Some(v) => self.float(k, v, decimals),
            None => self.items.push((k, Val::Null)),
        }
    }

    /// Latency fields `<name>_p50_ms`, `_p99_ms`, `_max_ms` and the count.
    pub fn latency(&mut self, keys: [&'static str; 5], h: &Hist) {
        let ms = |ns: u64| ns as f64 / 1e6;
        self.int(keys[0], h.count());
        self.float(keys[1], ms(h.quantile(0.50)), 3);
        self.float(keys[2], ms(h.quantile(0.99)), 3);
        self.float(keys[3], ms(h.max()), 3);
        self.float(keys[4], ms(h.mean() as u64), 3);
    }

    /// Tool CPU, server CPU and server CPU per unit of work over a window; the server's
    /// user-space share of its CPU (`server_user_pct`) and its write syscalls per unit of
    /// work (`server_writes_per_unit`), both independent of the load tool's speed.
    pub fn cpu(&mut self, a: &CpuMark, b: &CpuMark, units: u64, per_unit_key: &'static str) {
        let wall_s = (b.at_ns.saturating_sub(a.at_ns)) as f64 / 1e9;
        let delta = |x: Option<u64>, y: Option<u64>| x.zip(y).map(|(x, y)| y.saturating_sub(x));
        let tool = delta(a.tool_us, b.tool_us);
        let srv = delta(a.server_us, b.server_us);
        self.opt_float("tool_cpu_s", tool.map(|t| t as f64 / 1e6), 2);
        self.opt_float(
            "tool_cpu_pct",
            tool.filter(|_| wall_s > 0.0)
                .map(|t| t as f64 / 1e4 / wall_s),
            1,
        );
        self.opt_float("server_cpu_s", srv.map(|t| t as f64 / 1e6), 2);
        self.opt_float(
            "server_cpu_pct",
            srv.filter(|_| wall_s > 0.0)
                .map(|t| t as f64 / 1e4 / wall_s),
            1,
        );
        self.opt_float(
            per_unit_key,
            srv.filter(|_| units > 0).map(|t| t as f64 / units as f64),
            3,
        );
        let user = delta(a.server_user_us, b.server_user_us);
        self.opt_float(
            "server_user_pct",
            user.zip(srv)
                .filter(|&(_, t)| t > 0)
                .map(|(u, t)| 100.0 * u as f64 / t as f64),
            1,
        );
        let writes = delta(a.server_syscw, b.server_syscw);
        self.opt_float(
            "server_writes_per_unit",
            writes
                .filter(|_| units > 0)
                .map(|w| w as f64 / units as f64),
            4,
        );
    }

    fn fmt_val(v: &Val, json: bool) -> String {
        match v {
            Val::Int(i) => i.to_string(),
            Val::Float(f, d) => format!("{f:.d$}", d = *d),
            Val::Null => (if json { "null" } else { "n/a" }).to_string(),
            Val::Str(s) if json => json_str(s),
            Val::Str(s) => s.clone(),
        }
    }

    pub fn table(&self) -> String {
        let width = self.items.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
        let mut s = String::new();
        for (k, v) in &self.items {
            let key = format!("{k}:");
            let _ = writeln!(
                s,
                "{key:<width$} {}",
                Self::fmt_val(v, false),
                width = width
            );
        }
        s
    }

    pub fn json(&self) -> String {
        let mut s = String::from("{");
        for (i, (k, v)) in self.items.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{}:{}", json_str(k), Self::fmt_val(v, true));
        }
        s.push('}');
        s
    }
}

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hist_buckets_roundtrip() {
        for v in [0u64, 1, 127, 128, 129, 1000, 35_000, 1 << 40, u64::MAX / 2] {
            let b = Hist::bucket(v);
            let (lo, w) = Hist::bounds(b);
            assert!(lo <= v && v - lo < w, "v={v} b={b} lo={lo} w={w}");
        }
        assert!(Hist::bucket(u64::MAX) < BUCKETS);
    }

    #[test]
    fn hist_quantiles() {
        let mut h = Hist::new();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5) as f64;
        let p99 = h.quantile(0.99) as f64;
        assert!((p50 / 5_000_000.0 - 1.0).abs() < 0.02, "{p50}");
        assert!((p99 / 9_900_000.0 - 1.0).abs() < 0.02, "{p99}");
        assert_eq!(h.quantile(1.0), 10_000_000);
    }
}
