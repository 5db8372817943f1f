//! Password guessing, slowed down per address. Every failed secret (server PASS, OPER, a
//! link's password, IRCX AUTH PLAIN) counts against the address it came from (an IPv6
//! client counts by its /64, having a whole one to hop around in). [`MAX_FAILURES`]
//! failures within a window suspend the address for a window: further attempts are refused
//! unchecked, even with the right secret. Each suspension of an address still remembered
//! lasts twice the one before (up to [`MAX_DOUBLINGS`] times), and an address is forgotten
//! once it has been quiet for as long as its last suspension lasted.

use super::{ConnId, World};
use hashbrown::HashMap;
use std::net::IpAddr;

/// Failed secrets an address may give within a window before it is suspended.
pub const MAX_FAILURES: u32 = 5;
/// The window and the first suspension (`[testing] auth_window_ms` shortens it for tests;
/// 0 turns the guard off).
pub const WINDOW_MS: u64 = 60_000;
/// A suspension grows to at most 2^6 windows (an hour by default).
pub const MAX_DOUBLINGS: u32 = 6;

/// Events from one address counted in a window that starts at the first of them.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Windowed {
    pub(crate) n: u32,
    pub(crate) since_ms: u64,
}

impl Windowed {
    /// Counts one more event at `now_ms` (a new window if the last one is over): how many
    /// the window now holds.
    pub(crate) fn bump(&mut self, now_ms: u64, window_ms: u64) -> u32 {
        if self.n == 0 || now_ms.saturating_sub(self.since_ms) >= window_ms {
            *self = Windowed {
                n: 0,
                since_ms: now_ms,
            };
        }
        self.n = self.n.saturating_add(1);
        self.n
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Entry {
    /// Failures in the current window.
    failures: Windowed,
    /// Suspended until then (0: never was).
    until_ms: u64,
    /// Suspensions so far (how much the next one is doubled).
    suspensions: u32,
}

impl Entry {
    /// How long the last suspension lasted (the next one is twice that).
    fn last_penalty(&self, window_ms: u64) -> u64 {
        match self.suspensions {
            0 => 0,
            n => window_ms << (n - 1).min(MAX_DOUBLINGS),
        }
    }
}

/// Failed secrets per address.
#[derive(Default)]
pub struct Guard {
    entries: HashMap<IpAddr, Entry>,
}

/// The address a guesser is counted by: an IPv6 client has a whole /64 to hop around in.
pub(crate) fn guessed_from(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !u128::from(u64::MAX);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

impl Guard {
    /// Milliseconds `ip` stays suspended, if it is.
    pub fn suspended(&self, ip: IpAddr, now_ms: u64) -> Option<u64> {
        let e = self.entries.get(&guessed_from(ip))?;
        (e.until_ms > now_ms).then(|| e.until_ms - now_ms)
    }

    /// Counts a failed secret from `ip`; the failure that reaches [`MAX_FAILURES`] within a
    /// window starts a suspension, twice as long as the one before.
    pub fn failed(&mut self, ip: IpAddr, now_ms: u64, window_ms: u64) {
        let e = self.entries.entry(guessed_from(ip)).or_default();
        if e.failures.bump(now_ms, window_ms) >= MAX_FAILURES {
            e.until_ms = now_ms + (window_ms << e.suspensions.min(MAX_DOUBLINGS));
            e.suspensions += 1;
            e.failures = Windowed {
                n: 0,
                since_ms: now_ms,
            };
        }
    }

    /// Forgets addresses quiet for a window and for as long as their last suspension after
    /// it ended (the loop's timer): the map holds only recent guessers.
    pub fn prune(&mut self, now_ms: u64, window_ms: u64) {
        if !self.entries.is_empty() {
            self.entries.retain(|_, e| {
                now_ms < e.failures.since_ms + window_ms
                    || now_ms < e.until_ms + e.last_penalty(window_ms)
            });
        }
    }
}

impl World {
    /// The guard's window: a minute, unless `[testing]` shortens it.
    pub fn guard_window_ms(&self) -> u64 {
        self.config.testing.auth_window_ms.unwrap_or(WINDOW_MS)
    }

    /// Seconds (rounded up) the address of `conn` stays suspended from giving secrets.
    pub fn suspended(&self, conn: ConnId) -> Option<u64> {
        let ip = self.local(conn)?.ip;
        let ms = self.auth_guard.suspended(ip, self.now.mono_ms)?;
        Some(ms.div_ceil(1000))
    }

    /// `conn` gave a wrong secret: counted against its address (unless a zero window turns
    /// the guard off, as the fuzz tests do).
    pub fn secret_failed(&mut self, conn: ConnId) {
        let window = self.guard_window_ms();
        if window == 0 {
            return;
        }
        if let Some(ip) = self.local(conn).map(|l| l.ip) {
            self.auth_guard.failed(ip, self.now.mono_ms, window);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessers_are_counted_by_address_or_ipv6_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(guessed_from(a), guessed_from(b));
        assert_eq!(guessed_from(a).to_string(), "2001:db8:1:2::");
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(guessed_from(v4), v4);
    }

    #[test]
    fn suspensions_double_while_the_guessing_goes_on() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let w = 1_000;
        let mut g = Guard::default();
        let mut now = 10;
        for _ in 0..MAX_FAILURES - 1 {
            g.failed(ip, now, w);
        }
        assert_eq!(g.suspended(ip, now), None);
        g.failed(ip, now, w);
        assert_eq!(g.suspended(ip, now), Some(w));
        assert_eq!(g.suspended(other, now), None);
        // Over, and guessing again at once: twice as long, then four times.
        for penalty in [2 * w, 4 * w] {
            now += g.suspended(ip, now).unwrap();
            assert_eq!(g.suspended(ip, now), None);
            for _ in 0..MAX_FAILURES {
                g.failed(ip, now, w);
            }
            assert_eq!(g.suspended(ip, now), Some(penalty));
            g.prune(now + penalty - 1, w);
            assert!(g.suspended(ip, now + penalty - 1).is_some());
        }
        // Quiet for as long as the last suspension after it: forgotten, back to one window.
        now += 4 * w + 4 * w;
        g.prune(now, w);
        assert!(g.entries.is_empty());
        for _ in 0..MAX_FAILURES {
            g.failed(ip, now, w);
        }
        assert_eq!(g.suspended(ip, now), Some(w));
    }

    #[test]
    fn failures_spread_over_windows_never_suspend() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let mut g = Guard::default();
        for i in 0..20 {
            // MAX_FAILURES - 1 per window.
            if i % MAX_FAILURES as u64 != 0 {
                g.failed(ip, i / MAX_FAILURES as u64 * 1_000, 1_000);
            }
        }
        assert_eq!(g.suspended(ip, 3_999), None);
    }
}
