//! IRCv3 `netsplit` and `netjoin` batches (batch spec, batch types `netsplit`/`netjoin`,
//! parameters `<server1> <server2>`): the QUITs of a netsplit, and the JOINs a new link's
//! burst brings, reach clients that negotiated `batch` in one batch each.
//!
//! The fanout is not touched: the lines are queued as always, then the ones of the event
//! (QUIT, or JOIN) for clients with `batch` get the tag. Lines are shared (`Rc`) between
//! recipients, and so are their tagged copies (one per distinct line, not per recipient),
//! and the `BATCH` lines themselves: one reference serves every client of one event, as
//! a reference only has to be unique among one connection's open batches. Clients
//! without `batch` get exactly the lines they got before.
//!
//! * A netsplit ([`World::squit`]) is one turn: each client's batch opens before its
//!   first QUIT and ends after the split.
//! * A netjoin runs from the link's registration to the end of the peer's burst (its
//!   `EOB`; on links without one, ngIRCd's, the answer to our first PING: see
//!   [`crate::core::portal::lag`]), possibly over many turns. Each client's batch opens
//!   before the first JOIN it gets from the burst and ends when the burst does, or when
//!   the link goes first. Only the server at the new link sees it as a netjoin: the
//!   servers behind it get the burst as ordinary news over links long synced.

use super::caps;
use super::labeled::with_tag;
use super::{ClientId, ConnId, Outbox, ServerId, World};
use crate::proto::line::Line;
use hashbrown::HashMap;
use std::rc::Rc;

/// The netjoin batches of one link whose burst is still coming. Empty unless a burst
/// brought someone into a channel with a local client that speaks `batch`.
pub struct NetJoin {
    /// The link.
    conn: ConnId,
    server: ServerId,
    event: Event,
    /// Clients whose batch is open (the client too: a connection closed meanwhile may be
    /// reused by someone who never saw the start).
    open: HashMap<ConnId, ClientId>,
}

/// One batch event: its reference and shared `BATCH` lines.
struct Event {
    bref: Box<str>,
    start: Rc<[u8]>,
    end: Rc<[u8]>,
}

#[derive(Default)]
pub struct NetBatches {
    joins: Vec<NetJoin>,
}

impl World {
    fn net_event(&mut self, kind: &str, a: &str, b: &str) -> Event {
        let bref = self.next_batch_ref();
        let start = Line::new(self.name(), "BATCH")
            .arg(format!("+{bref}"))
            .arg(kind)
            .arg(a)
            .arg(b)
            .finish();
        let end = Line::new(self.name(), "BATCH")
            .arg(format!("-{bref}"))
            .finish();
        Event { bref, start, end }
    }

    /// The QUITs queued since `from` (a split from `a` to `b`) go in a netsplit batch.
    pub fn netsplit_batch(&mut self, from: usize, a: &str, b: &str, out: &mut Outbox) {
        if !self.worth_batching(from, b"QUIT", out) {
            return;
        }
        let ev = self.net_event("netsplit", a, b);
        let mut open = HashMap::new();
        self.wrap(from, b"QUIT", &ev, &mut open, out);
        for conn in open.into_keys() {
            out.send(conn, ev.end.clone());
        }
    }

    /// After a line from `conn`, a link still in its burst: the JOINs it caused join the
    /// link's netjoin batch; once the burst is over (or the link gone) the batch ends.
    pub fn netjoin_batch(&mut self, conn: ConnId, from: usize, out: &mut Outbox) {
        let Some(link) = self.link(conn) else {
            return self.end_netjoin(|nj| nj.conn == conn, out);
        };
        let (server, synced) = (link.server, link.synced);
        if self.worth_batching(from, b"JOIN", out) {
            let at = match self.netbatches.joins.iter().position(|nj| nj.conn == conn) {
                Some(at) => at,
                None => {
                    let (me, peer) = (self.name().to_string(), self.servers[server].name.clone());
                    let event = self.net_event("netjoin", &me, &peer);
                    self.netbatches.joins.push(NetJoin {
                        conn,
                        server,
                        event,
                        open: HashMap::new(),
                    });
                    self.netbatches.joins.len() - 1
                }
            };
            let mut nj = self.netbatches.joins.swap_remove(at);
            self.wrap(from, b"JOIN", &nj.event, &mut nj.open, out);
            self.netbatches.joins.push(nj);
        }
        if synced {
            self.end_netjoin(|nj| nj.conn == conn, out);
        }
    }

    /// Servers leave (a split): a netjoin batch of theirs ends first.
    pub fn netjoin_split(&mut self, lost: &[ServerId], out: &mut Outbox) {
        self.end_netjoin(|nj| lost.contains(&nj.server), out);
    }

    fn end_netjoin(&mut self, which: impl Fn(&NetJoin) -> bool, out: &mut Outbox) {
        if self.netbatches.joins.is_empty() {
            return;
        }
        let (done, keep) = std::mem::take(&mut self.netbatches.joins)
            .into_iter()
            .partition(which);
        self.netbatches.joins = keep;
        for nj in done {
            for (conn, cid) in nj.open {
                if self.local(conn).and_then(|l| l.client) == Some(cid) {
                    out.send(conn, nj.event.end.clone());
                }
            }
        }
    }

    /// Whether a `verb` line for a client with `batch` was queued since `from` (most
    /// lines of a burst bring no JOIN: they cost this scan, no batch reference), and
    /// the lines can be reordered: no index into them is held ([`Outbox::aside`]), which
    /// the batch lines put in would shift.
    fn worth_batching(&self, from: usize, verb: &[u8], out: &Outbox) -> bool {
        out.aside.iter().all(|&i| i < from)
            && out.sends[from..].iter().any(|(conn, line)| {
                self.batch_client(*conn).is_some() && verb_of(line) == Some(verb)
            })
    }

    /// The client on `conn`, if it negotiated `batch`.
    fn batch_client(&self, conn: ConnId) -> Option<ClientId> {
        let cid = self.local(conn)?.client?;
        (self.clients[cid].caps & caps::BATCH != 0).then_some(cid)
    }

    /// The `verb` lines queued since `from` for clients with `batch` get the batch tag;
    /// each such client's batch opens (`open`) before its first one.
    fn wrap(
        &self,
        from: usize,
        verb: &[u8],
        ev: &Event,
        open: &mut HashMap<ConnId, ClientId>,
        out: &mut Outbox,
    ) {
        let tag = [b"batch=", ev.bref.as_bytes()].concat();
        // Tagged copies by the address of the line they copy (kept alive beside them, so
        // no other line can take that address meanwhile).
        let mut tagged: HashMap<*const u8, Tagged> = HashMap::new();
        let tail: Vec<(ConnId, Rc<[u8]>)> = out.sends.drain(from..).collect();
        for (conn, line) in tail {
            let cid = self.batch_client(conn);
            let Some(cid) = cid.filter(|_| verb_of(&line) == Some(verb)) else {
                out.sends.push((conn, line));
                continue;
            };
            if open.insert(conn, cid).is_none() {
                out.sends.push((conn, ev.start.clone()));
            }
            let (_, copy) = tagged
                .entry(line.as_ptr())
                .or_insert_with(|| (line.clone(), with_tag(&tag, &line)));
            out.sends.push((conn, copy.clone()));
        }
    }
}

/// A line and its tagged copy.
type Tagged = (Rc<[u8]>, Rc<[u8]>);

/// The command of a queued line (past its tags and prefix).
fn verb_of(line: &[u8]) -> Option<&[u8]> {
    let mut rest = line;
    if rest.first() == Some(&b'@') {
        rest = &rest[rest.iter().position(|&b| b == b' ')? + 1..];
    }
    if rest.first() == Some(&b':') {
        rest = &rest[rest.iter().position(|&b| b == b' ')? + 1..];
    }
    let end = rest
        .iter()
        .position(|&b| b == b' ' || b == b'\r')
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::verb_of;
    use crate::core::testing::TestWorld;
    use crate::core::{ConnId, Outbox};
    use std::rc::Rc;

    /// The lines of a netsplit are shared by its recipients (tagged once per line, not per
    /// client), a netjoin still open ends first, and a client without `batch` gets the
    /// bare QUIT.
    #[test]
    fn a_netsplits_lines_are_shared_by_its_recipients() {
        let mut t = TestWorld::with_portals();
        let peer = t.link("peer.test", 2, "EOB", 2);
        let a = t.user_with_caps("alice", "batch");
        let b = t.user_with_caps("bob", "batch");
        let c = t.user("carol");
        for u in [a, b, c] {
            t.feed(u, "JOIN #c");
        }
        t.feed(
            peer,
            ":peer.test NICK nora 1 1600000000000 ~nora new.host 2 + :Nora",
        );
        t.feed(peer, ":peer.test SJOIN 1 #c + :nora");
        let joins = t.take(a);
        assert_eq!(
            joins[joins.len() - 2..],
            [
                ":irc.test BATCH +L1 netjoin irc.test peer.test",
                "@batch=L1 :nora!~nora@new.host JOIN #c",
            ]
        );
        let peer_sid = t.w.find_server(b"peer.test").unwrap();
        let mut out = Outbox::default();
        t.w.squit(peer_sid, "gone", None, &mut out);
        let to = |conn: ConnId| -> Vec<Rc<[u8]>> {
            out.sends
                .iter()
                .filter(|(to, _)| *to == conn)
                .map(|(_, l)| l.clone())
                .collect()
        };
        let (la, lb) = (to(a), to(b));
        let text: Vec<String> = la
            .iter()
            .map(|l| String::from_utf8_lossy(l).trim_end().to_string())
            .collect();
        assert_eq!(
            text,
            [
                ":irc.test BATCH -L1",
                ":irc.test BATCH +L2 netsplit irc.test peer.test",
                "@batch=L2 :nora!~nora@new.host QUIT :irc.test peer.test",
                ":irc.test BATCH -L2",
            ]
        );
        assert_eq!(lb.len(), la.len());
        assert!(la.iter().zip(&lb).all(|(x, y)| Rc::ptr_eq(x, y)));
        assert_eq!(
            to(c).iter().map(|l| &l[..]).collect::<Vec<_>>(),
            [&b":nora!~nora@new.host QUIT :irc.test peer.test\r\n"[..]]
        );
    }

    #[test]
    fn the_verb_is_found_past_tags_and_prefix() {
        assert_eq!(verb_of(b"@time=x :a!b@c QUIT :x y\r\n"), Some(&b"QUIT"[..]));
        assert_eq!(verb_of(b":a!b@c JOIN #c\r\n"), Some(&b"JOIN"[..]));
        assert_eq!(verb_of(b"PING :x\r\n"), Some(&b"PING"[..]));
        assert_eq!(verb_of(b"@broken"), None);
    }
}
