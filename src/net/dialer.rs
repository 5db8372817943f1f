//! Outbound portals: which to dial, when, and with what backoff. A portal with
//! `connect = true` is dialed until it links; after a failure or a split the next try waits
//! 1 s, doubling to 60 s, with jitter so two servers do not keep colliding.

use crate::config::Config;

const FIRST_BACKOFF_MS: u64 = 1_000;
const MAX_BACKOFF_MS: u64 = 60_000;

#[derive(Debug)]
pub struct Dial {
    pub name: String,
    pub next_ms: u64,
    pub backoff_ms: u64,
    /// The connection dialed for it, while one exists.
    pub conn: Option<usize>,
}

#[derive(Debug, Default)]
pub struct Dialer {
    pub dials: Vec<Dial>,
    seed: u64,
}

impl Dialer {
    /// Keeps the state of portals still configured to connect, adds new ones.
    pub fn sync(&mut self, cfg: &Config) {
        self.dials
            .retain(|d| cfg.portal.iter().any(|p| p.connect && p.name == d.name));
        for p in cfg.portal.iter().filter(|p| p.connect) {
            if !self.dials.iter().any(|d| d.name == p.name) {
                self.dials.push(Dial {
                    name: p.name.clone(),
                    next_ms: 0,
                    backoff_ms: FIRST_BACKOFF_MS,
                    conn: None,
                });
            }
        }
    }

    /// The portal to dial now, if any: one not linked and not in flight, and only while
    /// none of our other dials is still joining the network (`settled` says whether a
    /// dialed connection has linked and its peer's burst is over). One dial at a time,
    /// because two links made at once can close a loop neither burst had shown yet: a
    /// server dialing both a and b, which are already linked, learns of b through a's
    /// burst and then does not dial b at all.
    pub fn due(
        &self,
        now_ms: u64,
        busy: impl Fn(&str) -> bool,
        settled: impl Fn(usize) -> bool,
    ) -> Option<String> {
        if self
            .dials
            .iter()
            .filter_map(|d| d.conn)
            .any(|c| !settled(c))
        {
            return None;
        }
        self.dials
            .iter()
            .find(|d| d.conn.is_none() && now_ms >= d.next_ms && !busy(&d.name))
            .map(|d| d.name.clone())
    }

    pub fn dialing(&mut self, name: &str, conn: usize) {
        if let Some(d) = self.dials.iter_mut().find(|d| d.name == name) {
            d.conn = Some(conn);
        }
    }

    /// A portal linked: the next loss retries soon again.
    pub fn linked(&mut self, name: &str) {
        if let Some(d) = self
            .dials
            .iter_mut()
            .find(|d| d.name.eq_ignore_ascii_case(name))
        {
            d.backoff_ms = FIRST_BACKOFF_MS;
        }
    }

    /// The connection `conn` ended (failed dial, refused, split): schedule the next try.
    pub fn ended(&mut self, conn: usize, now_ms: u64) {
        self.seed = self
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407 ^ now_ms);
        let jitter = self.seed >> 33;
        if let Some(d) = self.dials.iter_mut().find(|d| d.conn == Some(conn)) {
            d.conn = None;
            d.next_ms = now_ms + d.backoff_ms + jitter % (d.backoff_ms / 4 + 1);
            d.backoff_ms = (d.backoff_ms * 2).min(MAX_BACKOFF_MS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_resets_the_backoff_however_short_it_lived() {
        let cfg = Config::parse(
            "[server]\nname = \"a.test\"\nid = 1\n\
             [[portal]]\nname = \"b.test\"\nid = 2\npassword = \"pw\"\n\
             address = \"127.0.0.1:1\"\nconnect = true\n",
            "t",
        )
        .expect("config");
        let mut d = Dialer::default();
        d.sync(&cfg);
        let mut now = 0;
        for conn in 0..5 {
            assert_eq!(d.due(now, |_| false, |_| true).as_deref(), Some("b.test"));
            d.dialing("b.test", conn);
            d.ended(conn, now);
            now = d.dials[0].next_ms;
        }
        assert_eq!(d.dials[0].backoff_ms, 32 * FIRST_BACKOFF_MS);
        // A link that lived a few milliseconds still counts.
        d.dialing("b.test", 9);
        d.linked("B.test");
        d.ended(9, now + 5);
        assert_eq!(d.dials[0].backoff_ms, 2 * FIRST_BACKOFF_MS);
        assert!(d.dials[0].next_ms <= now + 5 + FIRST_BACKOFF_MS * 5 / 4);
    }

    #[test]
    fn one_dial_at_a_time_until_it_has_settled() {
        let cfg = Config::parse(
            "[server]\nname = \"c.test\"\nid = 3\n\
             [[portal]]\nname = \"a.test\"\nid = 1\npassword = \"pw\"\n\
             address = \"127.0.0.1:1\"\nconnect = true\n\
             [[portal]]\nname = \"b.test\"\nid = 2\npassword = \"pw\"\n\
             address = \"127.0.0.1:2\"\nconnect = true\n",
            "t",
        )
        .expect("config");
        let mut d = Dialer::default();
        d.sync(&cfg);
        assert_eq!(d.due(0, |_| false, |_| true).as_deref(), Some("a.test"));
        d.dialing("a.test", 7);
        // a.test's link is in its handshake or burst: b.test waits.
        assert_eq!(d.due(0, |_| false, |c| c != 7), None);
        // Settled: b.test is due, unless a.test's burst showed it (busy).
        assert_eq!(d.due(0, |_| false, |_| true).as_deref(), Some("b.test"));
        assert_eq!(d.due(0, |n| n == "b.test", |_| true), None);
    }
}
