//! The portal (server link) side of the core, through lines only (socket-free): what a peer sends on a
//! link, what local users and the other links then get, and what local actions send to the
//! links. Every expectation is a whole line, so a refactor of the internals that changes
//! any byte on the wire shows here. See docs/PROTOCOL.md for the forms.

use crate::core::testing::TestWorld;
use crate::core::ConnId;

mod access;
mod accounts;
mod handshake;
mod ircx;
mod ircx_net;
mod local;
mod metadata;
mod ngircd;
mod owners;
mod remote;

/// Every capability a native peer of the version before IRCX offers.
pub(super) const ALL: &str = "AWAY BMASK EOB SETNAME TB";
/// ... and with IRCX.
pub(super) const ALL_IRCX: &str = "AWAY BMASK EOB IRCX SETNAME TB";
/// ... and with users' metadata.
pub(super) const ALL_META: &str = "AWAY BMASK EOB IRCX METADATA SETNAME TB";

/// Our half of a native handshake, as sent to any inbound native peer.
pub(super) const OUR_HANDSHAKE: [&str; 3] = [
    "PASS pw 0210-PORTICO portico|0.1.0",
    "CAPAB 1 2 :ACCOUNT AWAY BMASK CHGHOST EOB IRCX METADATA RENAME SETNAME TB",
    "SERVER irc.test 1 1 :Portico IRC server",
];

/// nora (on `new`, peer.test) and olly (on `old`, far.test) join #c, made at `now`.
pub(super) fn seat_remotes(t: &mut TestWorld, new: ConnId, old: ConnId, now: u64) {
    t.feed(
        new,
        ":peer.test NICK nora 1 1600000000000 ~nora new.host 2 + :Nora",
    );
    t.feed(new, &format!(":peer.test SJOIN {now} #c + :nora"));
    t.feed(
        old,
        ":far.test NICK olly 1 1600000000000 ~olly old.host 3 + :Olly",
    );
    t.feed(old, &format!(":far.test SJOIN {now} #c + :olly"));
}

pub(super) const OPER: &str = "[[oper]]\nname = \"admin\"\npassword = \"pw\"\n";

/// Members of a channel are kept in a hash map, so the member list of SJOIN and NJOIN lines
/// comes in no fixed order: sorted here before comparing.
pub(super) fn norm(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| {
            let sep = if l.contains(" NJOIN ") {
                ','
            } else if l.contains(" SJOIN ") {
                ' '
            } else {
                return l;
            };
            let Some((head, members)) = l.split_once(" :") else {
                return l;
            };
            let mut m: Vec<&str> = members.split(sep).collect();
            m.sort_unstable();
            format!("{head} :{}", m.join(&sep.to_string()))
        })
        .collect()
}

/// A registered user with client capabilities (welcome burst discarded).
/// Local alice (with `caps`) and ngIRCd's user `nick` (host `ng.host`) in #c, over the
/// ngIRCd link `ng.test`: alice's lines so far are taken. Returns alice and the link.
pub(super) fn alice_and_ng_user(t: &mut TestWorld, caps: &str, nick: &str) -> (ConnId, ConnId) {
    let alice = user_caps(t, "alice", caps);
    t.feed(alice, "JOIN #c");
    let ng = t.link_ngircd("ng.test");
    t.feed(
        ng,
        &format!(":ng.test NICK {nick} 1 ~{nick} ng.host 1 + :NG"),
    );
    t.feed(ng, &format!("NJOIN #c :{nick}"));
    t.take(alice);
    (alice, ng)
}

pub(super) fn user_caps(t: &mut TestWorld, nick: &str, caps: &str) -> ConnId {
    let c = t.connect();
    t.feed(c, &format!("CAP REQ :{caps}"));
    t.feed(c, &format!("NICK {nick}"));
    t.feed(c, &format!("USER {nick} 0 * :{nick} real"));
    t.feed(c, "CAP END");
    let got = t.take(c);
    assert!(got.iter().any(|l| l.contains(" 001 ")), "{got:?}");
    c
}

pub(super) fn closed_with(t: &TestWorld, conn: ConnId) -> Option<String> {
    t.closed
        .iter()
        .find(|(c, _)| *c == conn)
        .map(|(_, l)| l.clone())
}

/// A small network: local alice (message-tags, away-notify, setname) and bob in #c (alice
/// created it: op, +nt, ts 1700000000000), native links `peer.test` and `far.test` with all
/// capabilities, rob (on peer.test) and fay (on far.test) in #c. Everything sent so far is
/// taken.
pub(super) struct Net {
    pub(super) t: TestWorld,
    pub(super) alice: ConnId,
    pub(super) bob: ConnId,
    pub(super) peer: ConnId,
    pub(super) far: ConnId,
}

pub(super) fn net() -> Net {
    net_with("")
}

pub(super) fn net_with(extra: &str) -> Net {
    let mut t = TestWorld::with_portals_and(extra);
    let alice = user_caps(&mut t, "alice", "message-tags away-notify setname");
    let bob = t.user("bob");
    t.feed(alice, "JOIN #c");
    t.feed(bob, "JOIN #c");
    let peer = t.link("peer.test", 2, ALL, 2);
    let far = t.link("far.test", 3, ALL, 2);
    t.feed(
        peer,
        ":peer.test NICK rob 1 1600000000000 ~rob peer.host 2 + :Rob R",
    );
    t.feed(peer, ":peer.test SJOIN 1700000000000 #c + :rob");
    t.feed(
        far,
        ":far.test NICK fay 1 1600000000000 ~fay far.host 3 + :Fay F",
    );
    t.feed(far, ":far.test SJOIN 1700000000000 #c + :fay");
    for c in [alice, bob, peer, far] {
        t.take(c);
    }
    Net {
        t,
        alice,
        bob,
        peer,
        far,
    }
}

impl Net {
    /// Feeds `line` on `from` and asserts nothing at all went back on it.
    pub(super) fn from(&mut self, from: ConnId, line: &str) {
        self.t.feed(from, line);
        assert_eq!(
            self.t.take(from),
            Vec::<String>::new(),
            "echoed to the sender"
        );
    }
}
