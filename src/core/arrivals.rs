//! Per-address memory of recent connections, so reconnecting buys nothing: at most
//! `[limits] connects_per_ip_per_min` new connections per address (an IPv6 /64) per
//! minute, and the flood budget a connection spent stays spent for the next one from its
//! address (a client cut for flooding that reconnects at once does not get a fresh burst).

use super::guard::{guessed_from, Windowed};
use hashbrown::HashMap;
use std::net::IpAddr;

/// The window `connects_per_ip_per_min` counts in.
pub const WINDOW_MS: u64 = 60_000;

#[derive(Debug, Default, Clone, Copy)]
struct Recent {
    connects: Windowed,
    /// The flood clock (theoretical arrival time) of the last connection that closed.
    flood_tat_ms: u64,
}

#[derive(Default)]
pub struct Arrivals {
    recent: HashMap<IpAddr, Recent>,
}

impl Arrivals {
    /// Counts a new connection from `ip`: `None` if it is over `limit` this minute (0: no
    /// limit), else the flood clock it starts with.
    pub fn arrive(&mut self, ip: IpAddr, now_ms: u64, limit: u32) -> Option<u64> {
        let r = self.recent.entry(guessed_from(ip)).or_default();
        let n = r.connects.bump(now_ms, WINDOW_MS);
        (limit == 0 || n <= limit).then_some(r.flood_tat_ms)
    }

    /// A connection from `ip` closed with its flood clock at `tat_ms`: the next one from
    /// the address starts there.
    pub fn left(&mut self, ip: IpAddr, tat_ms: u64) {
        if let Some(r) = self.recent.get_mut(&guessed_from(ip)) {
            r.flood_tat_ms = r.flood_tat_ms.max(tat_ms);
        }
    }

    /// Forgets addresses whose minute is over and whose flood debt is paid (the tick).
    pub fn prune(&mut self, now_ms: u64) {
        if !self.recent.is_empty() {
            self.recent.retain(|_, r| {
                now_ms.saturating_sub(r.connects.since_ms) < WINDOW_MS || r.flood_tat_ms > now_ms
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connects_are_counted_per_address_per_minute() {
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let mut r = Arrivals::default();
        for _ in 0..3 {
            assert_eq!(r.arrive(a, 0, 3), Some(0));
        }
        assert_eq!(r.arrive(a, 59_999, 3), None);
        assert_eq!(r.arrive(b, 59_999, 3), Some(0));
        assert_eq!(r.arrive(a, 60_000, 3), Some(0));
        assert_eq!(r.arrive(a, 60_000, 0), Some(0), "0 is no limit");
    }

    #[test]
    fn the_flood_debt_of_a_closed_connection_passes_to_the_next() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let mut r = Arrivals::default();
        assert_eq!(r.arrive(a, 1_000, 0), Some(0));
        r.left(a, 9_000);
        // Another address in the same /64 inherits it too.
        assert_eq!(
            r.arrive("2001:db8::2".parse().unwrap(), 2_000, 0),
            Some(9_000)
        );
        r.prune(70_000);
        assert!(r.recent.is_empty());
    }

    #[test]
    fn a_reconnecting_flooder_gets_no_fresh_burst() {
        use crate::core::testing::{TestWorld, BASE_CONFIG};
        let mut t = TestWorld::with_config(&format!(
            "{BASE_CONFIG}[limits]\nflood_burst = 5\nflood_interval_ms = 1000\n"
        ));
        let a = t.user("alice");
        for _ in 0..20 {
            t.feed(a, "PING :x");
        }
        assert!(!t.w.ready(a, t.now));
        t.drop_conn(a, "Connection closed");
        let b = t.connect();
        assert!(
            !t.w.ready(b, t.now),
            "the debt passed to the next connection"
        );
        t.tick(30_000);
        assert!(t.w.ready(b, t.now), "and is paid off in time");
    }
}
