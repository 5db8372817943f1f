//! How slow each portal link is: a `PING :<us>` at most every
//! [`PORTAL_PING_INTERVAL_MS`], timed to the peer's `PONG <peer> :<us>`.
//!
//! No new wire form, so nothing to negotiate: every Portico release answers a PING with its
//! first parameter, and so does ngIRCd (with `STRICT_RFC` it answers with the pinger's name
//! instead, which is the same text here). Our name is therefore the token; one PING at a
//! time per link keeps an answer from being taken for another's. The same PING is the
//! link's keepalive (`World::on_tick`), so a link is never pinged twice over.

use super::{cap, Link};
use crate::core::{ConnId, Outbox, World};
use crate::limits::PORTAL_PING_INTERVAL_MS;
use crate::proto::line::Line;

/// One link's lag measurement.
#[derive(Debug, Default)]
pub struct Lag {
    /// When the PING not yet answered went (monotonic ms).
    pub sent_ms: Option<u64>,
    /// When the last PING went; `None` before the first, which goes at the next tick.
    pub last_sent_ms: Option<u64>,
    /// The last round trip, ms.
    pub last_ms: Option<u64>,
}

impl Lag {
    /// The lag to show: the last round trip, or the wait of the PING out now if that is
    /// longer already (the link is at least that slow); `None` before the first answer.
    pub fn current(&self, now_ms: u64) -> Option<u64> {
        let waiting = self.sent_ms.map_or(0, |s| now_ms.saturating_sub(s));
        self.last_ms.map(|last| last.max(waiting))
    }
}

/// When a link's peer finished its burst: how long it took from the link's registration,
/// and the Unix time it ended (metrics).
#[derive(Debug, Clone, Copy)]
pub struct Burst {
    pub took_ms: u64,
    pub ended_unix_ms: u64,
}

impl World {
    /// Sends the lag PING to every link that has none out and whose last went an interval
    /// ago (or never: a new link is measured at once).
    pub fn ping_links(&mut self, out: &mut Outbox) {
        let now = self.now.mono_ms;
        let due: Vec<ConnId> = self
            .links
            .iter()
            .copied()
            .filter(|&c| {
                self.link(c).is_some_and(|l| {
                    l.lag.sent_ms.is_none()
                        && l.lag
                            .last_sent_ms
                            .is_none_or(|t| now.saturating_sub(t) >= PORTAL_PING_INTERVAL_MS)
                })
            })
            .collect();
        for conn in due {
            self.ping_link(conn, out);
        }
    }

    /// PINGs a link, unless a PING is out already (its answer could not be told apart).
    pub fn ping_link(&mut self, conn: ConnId, out: &mut Outbox) {
        let now = self.now.mono_ms;
        let line = Line::bare("PING").trailing(self.name()).finish();
        let Some(l) = self.link_mut(conn) else {
            return;
        };
        if l.lag.sent_ms.is_some() {
            return;
        }
        l.lag.sent_ms = Some(now);
        l.lag.last_sent_ms = Some(now);
        l.count_out(1);
        out.send(conn, line);
    }

    /// A PONG from a link: when it answers our PING (its last parameter is our name) the
    /// round trip is the lag. On a link without `EOB` (ngIRCd, older Portico) the first
    /// answer also ends the peer's burst: the peer wrote its burst before it read our PING,
    /// so on one TCP stream the whole burst came before this PONG.
    pub fn link_pong(&mut self, conn: ConnId, token: &[u8]) {
        if !token.eq_ignore_ascii_case(self.name().as_bytes()) {
            return;
        }
        let now = self.now.mono_ms;
        let Some(l) = self.link_mut(conn) else {
            return;
        };
        let Some(sent) = l.lag.sent_ms.take() else {
            return;
        };
        l.lag.last_ms = Some(now.saturating_sub(sent));
        if l.caps & cap::EOB == 0 {
            self.burst_ended(conn);
        }
    }

    /// The peer's burst is over (its EOB, or see [`World::link_pong`]); said once per link.
    pub fn burst_ended(&mut self, conn: ConnId) {
        let now = self.now;
        let Some(l) = self.link_mut(conn).filter(|l| !l.synced) else {
            return;
        };
        l.synced = true;
        let took_ms = now.mono_ms.saturating_sub(l.linked_ms);
        l.burst = Some(Burst {
            took_ms,
            ended_unix_ms: now.unix_ms,
        });
        let server = l.server;
        let name = &self.servers[server].name;
        log::info!("portal {name}: end of burst after {took_ms} ms");
    }

    /// The shell's figure for a link's send queue (sampled each tick: the core never sees
    /// the queues themselves).
    pub fn set_link_sendq(&mut self, conn: ConnId, bytes: usize) {
        if let Some(l) = self.link_mut(conn) {
            l.sendq_bytes = bytes;
        }
    }
}

impl Link {
    /// Counts lines queued on this link (through a shared reference, as the relay holds).
    pub fn count_out(&self, lines: u64) {
        self.lines_out.set(self.lines_out.get() + lines);
    }
}

#[cfg(test)]
mod tests {
    use super::Lag;
    use crate::core::testing::TestWorld;
    use crate::limits::PORTAL_PING_INTERVAL_MS;

    #[test]
    fn links_are_pinged_each_interval_one_ping_at_a_time() {
        let mut t = TestWorld::with_portals();
        let peer = t.link("peer.test", 2, "EOB", 2);
        t.take(peer);
        t.tick(1_000);
        assert_eq!(t.take(peer), vec!["PING :irc.test"], "a new link at once");
        // Unanswered: no second PING, or its answer could be taken for the first's.
        t.tick(PORTAL_PING_INTERVAL_MS);
        assert!(t.take(peer).is_empty());
        // Not an answer to ours: another text.
        t.feed(peer, ":peer.test PONG peer.test :someone.else");
        assert_eq!(t.w.link(peer).unwrap().lag.last_ms, None);
        t.now.mono_ms += 250;
        t.feed(peer, ":peer.test PONG peer.test :irc.test");
        let lag = &t.w.link(peer).unwrap().lag;
        assert_eq!((lag.last_ms, lag.sent_ms), (Some(30_250), None));
        assert!(
            !t.w.link(peer).unwrap().synced,
            "EOB, not a PONG, ends its burst"
        );
        // A second answer is no answer: nothing is out.
        t.now.mono_ms += 5;
        t.feed(peer, ":peer.test PONG peer.test :irc.test");
        assert_eq!(t.w.link(peer).unwrap().lag.last_ms, Some(30_250));
        // The interval runs from the last PING sent: that one went 30 s ago.
        t.tick(1_000);
        assert_eq!(t.take(peer), vec!["PING :irc.test"]);
        t.now.mono_ms += 10;
        t.feed(peer, ":peer.test PONG peer.test :irc.test");
        assert_eq!(t.w.link(peer).unwrap().lag.last_ms, Some(10));
        t.tick(PORTAL_PING_INTERVAL_MS - 2_000);
        assert!(t.take(peer).is_empty(), "within the interval");
        t.tick(2_000);
        assert_eq!(t.take(peer), vec!["PING :irc.test"]);
    }

    #[test]
    fn an_ngircd_link_is_timed_and_its_burst_ends_with_the_first_answer() {
        let mut t = TestWorld::with_portals();
        let ng = t.link_ngircd("ng.test");
        t.take(ng);
        assert!(!t.w.link(ng).unwrap().synced);
        t.tick(1_000);
        assert_eq!(t.take(ng), vec!["PING :irc.test"]);
        t.now.mono_ms += 15;
        // ngIRCd answers with the PING's first parameter (built STRICT_RFC, with the
        // pinger's name): our name either way.
        t.feed(ng, ":ng.test PONG ng.test :irc.test");
        let l = t.w.link(ng).unwrap();
        assert_eq!(l.lag.last_ms, Some(15));
        assert!(l.synced, "its whole burst came before this PONG");
        assert_eq!(l.burst.unwrap().took_ms, 1_015);
    }

    #[test]
    fn lag_is_the_last_round_trip_or_a_longer_wait() {
        let mut lag = Lag::default();
        assert_eq!(lag.current(5_000), None, "nothing measured yet");
        lag.sent_ms = Some(1_000);
        assert_eq!(lag.current(90_000), None, "no answer yet: unknown");
        lag.last_ms = Some(40);
        lag.sent_ms = Some(10_000);
        assert_eq!(lag.current(10_020), Some(40), "waiting less than the last");
        assert_eq!(
            lag.current(12_500),
            Some(2_500),
            "at least as slow as the wait"
        );
        lag.sent_ms = None;
        assert_eq!(lag.current(99_000), Some(40));
    }
}
