//! The portal (server link) side of the core, through lines only: what a peer sends on a
//! link, what local users and the other links then get, and what local actions send to the
//! links. Every expectation is a whole line, so a refactor of the internals that changes
//! any byte on the wire shows here. See docs/PROTOCOL.md for the forms.

use super::testing::TestWorld;
use super::ConnId;

/// Every capability a native peer can offer.
const ALL: &str = "AWAY BMASK EOB SETNAME TB";

/// Our half of a native handshake, as sent to any inbound native peer.
const OUR_HANDSHAKE: [&str; 3] = [
    "PASS pw 0210-PORTICO portico|0.1.0",
    "CAPAB 1 2 :AWAY BMASK EOB SETNAME TB",
    "SERVER irc.test 1 1 :Portico IRC server",
];

const OPER: &str = "[[oper]]\nname = \"admin\"\npassword = \"pw\"\n";

/// Members of a channel are kept in a hash map, so the member list of SJOIN and NJOIN lines
/// comes in no fixed order: sorted here before comparing.
fn norm(lines: Vec<String>) -> Vec<String> {
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
fn user_caps(t: &mut TestWorld, nick: &str, caps: &str) -> ConnId {
    let c = t.connect();
    t.feed(c, &format!("CAP REQ :{caps}"));
    t.feed(c, &format!("NICK {nick}"));
    t.feed(c, &format!("USER {nick} 0 * :{nick} real"));
    t.feed(c, "CAP END");
    let got = t.take(c);
    assert!(got.iter().any(|l| l.contains(" 001 ")), "{got:?}");
    c
}

fn closed_with(t: &TestWorld, conn: ConnId) -> Option<String> {
    t.closed
        .iter()
        .find(|(c, _)| *c == conn)
        .map(|(_, l)| l.clone())
}

/// A small network: local alice (message-tags, away-notify, setname) and bob in #c (alice
/// created it: op, +nt, ts 1700000000000), native links `peer.test` and `far.test` with all
/// capabilities, rob (on peer.test) and fay (on far.test) in #c. Everything sent so far is
/// taken.
struct Net {
    t: TestWorld,
    alice: ConnId,
    bob: ConnId,
    peer: ConnId,
    far: ConnId,
}

fn net() -> Net {
    net_with("")
}

fn net_with(extra: &str) -> Net {
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
    fn from(&mut self, from: ConnId, line: &str) {
        self.t.feed(from, line);
        assert_eq!(
            self.t.take(from),
            Vec::<String>::new(),
            "echoed to the sender"
        );
    }
}

// ---- handshake --------------------------------------------------------------------------

#[test]
fn inbound_link_gets_our_handshake_burst_and_eob() {
    let mut t = TestWorld::with_portals();
    let a = t.user("alice");
    let peer = t.link("peer.test", 2, ALL, 2);
    assert_eq!(
        t.take(peer),
        vec![
            OUR_HANDSHAKE[0],
            OUR_HANDSHAKE[1],
            OUR_HANDSHAKE[2],
            ":irc.test NICK alice 1 1700000000000 ~alice 127.0.0.1 1 + :alice real",
            ":irc.test EOB",
        ]
    );
    assert!(t.take(a).is_empty());
    assert!(t.closed.is_empty());
}

#[test]
fn refused_links_get_one_error_naming_the_reason() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "PASS pw 0210-PORTICO x",
                "CAPAB 1 2 :EOB",
                "SERVER nope.test 1 5 :x",
            ],
            "Unknown server name nope.test: no [[portal]] for it here",
        ),
        (
            &[
                "PASS pw 0210-PORTICO x",
                "CAPAB 1 2 :EOB",
                "SERVER peer.test 1 7 :x",
            ],
            "Wrong server ID 7 for peer.test: expected 2",
        ),
        (
            &[
                "PASS nope 0210-PORTICO x",
                "CAPAB 1 2 :EOB",
                "SERVER peer.test 1 2 :x",
            ],
            "Bad password for portal peer.test",
        ),
        (
            &["PASS pw 0210-PORTICO x", "SERVER peer.test 1 2 :x"],
            "No CAPAB from peer.test: it does not speak the Portico portal protocol",
        ),
        (
            &[
                "PASS pw 0210-PORTICO x",
                "CAPAB 3 4 :EOB",
                "SERVER peer.test 1 2 :x",
            ],
            "No common protocol version: we speak 1-2, peer.test speaks 3-4",
        ),
        (
            &[
                "PASS pw 0210-PORTICO x",
                "CAPAB 1 2 :EOB",
                "SERVER peer.test 1 :x",
            ],
            "SERVER needs <name> <hop> <id> :<description>; got 3 parameter(s)",
        ),
    ];
    for (lines, reason) in cases {
        let mut t = TestWorld::with_portals();
        let c = t.connect();
        for l in *lines {
            t.feed(c, l);
        }
        let want = format!("ERROR :Closing Link: 127.0.0.1 ({reason})");
        assert_eq!(t.take(c), vec![want.clone()], "{lines:?}");
        assert_eq!(t.closed, vec![(c, want)]);
    }
}

#[test]
fn a_server_already_in_the_network_is_refused() {
    let mut t = TestWorld::with_portals();
    let peer = t.link("peer.test", 2, ALL, 2);
    t.take(peer);
    // The same server again (not a crossing: we did not dial it).
    let again = t.connect();
    t.feed(again, "PASS pw 0210-PORTICO x");
    t.feed(again, "CAPAB 1 2 :EOB");
    t.feed(again, "SERVER peer.test 1 2 :x");
    assert_eq!(
        t.take(again),
        vec![
            "ERROR :Closing Link: 127.0.0.1 (Server peer.test (id 2) is already in the network; link refused to avoid a loop)"
        ]
    );
    // A server known behind a link, dialing in directly.
    t.feed(peer, ":peer.test SERVER far.test 2 3 :far behind peer");
    let far = t.connect();
    t.feed(far, "PASS pw 0210-PORTICO x");
    t.feed(far, "CAPAB 1 2 :EOB");
    t.feed(far, "SERVER far.test 1 3 :x");
    assert_eq!(
        t.take(far),
        vec![
            "ERROR :Closing Link: 127.0.0.1 (Server far.test (id 3) is already in the network; link refused to avoid a loop)"
        ]
    );
    assert!(t.take(peer).is_empty());
    assert!(closed_with(&t, peer).is_none());
}

#[test]
fn a_new_link_is_announced_to_the_others_and_gets_their_servers_and_users() {
    let mut t = TestWorld::with_portals();
    let peer = t.link("peer.test", 2, ALL, 2);
    t.feed(peer, ":peer.test SERVER leaf.test 2 4 :a leaf");
    t.feed(
        peer,
        ":leaf.test NICK lee 2 1600000000000 ~lee leaf.host 4 +i :Lee L",
    );
    t.take(peer);
    let far = t.link("far.test", 3, ALL, 2);
    assert_eq!(
        t.take(peer),
        vec![":irc.test SERVER far.test 2 3 :far.test server"]
    );
    assert_eq!(
        t.take(far),
        vec![
            OUR_HANDSHAKE[0],
            OUR_HANDSHAKE[1],
            OUR_HANDSHAKE[2],
            ":irc.test SERVER peer.test 2 2 :peer.test server",
            ":peer.test SERVER leaf.test 3 4 :a leaf",
            ":leaf.test NICK lee 3 1600000000000 ~lee leaf.host 4 +i :Lee L",
            ":irc.test EOB",
        ]
    );
}

// ---- version and capability negotiation ---------------------------------------------------

#[test]
fn a_version_1_peer_gets_no_client_tags_and_no_tagmsg() {
    let mut t = TestWorld::with_portals();
    let alice = user_caps(&mut t, "alice", "message-tags");
    t.feed(alice, "JOIN #c");
    let old = t.link("peer.test", 2, ALL, 1);
    let new = t.link("far.test", 3, ALL, 2);
    // We still offer our whole range: the link runs at the lower maximum.
    assert_eq!(t.take(old)[..3], OUR_HANDSHAKE);
    t.feed(
        old,
        ":peer.test NICK rob 1 1600000000000 ~rob peer.host 2 + :Rob R",
    );
    t.feed(old, ":peer.test SJOIN 1700000000000 #c + :rob");
    t.feed(
        new,
        ":far.test NICK fay 1 1600000000000 ~fay far.host 3 + :Fay F",
    );
    t.feed(new, ":far.test SJOIN 1700000000000 #c + :fay");
    for c in [alice, old, new] {
        t.take(c);
    }
    t.feed(alice, "@+draft/reply=x PRIVMSG #c :hi");
    assert_eq!(t.take(old), vec![":alice PRIVMSG #c :hi"]);
    assert_eq!(t.take(new), vec!["@+draft/reply=x :alice PRIVMSG #c :hi"]);
    t.feed(alice, "@+typing=active TAGMSG #c");
    assert!(t.take(old).is_empty());
    assert_eq!(t.take(new), vec!["@+typing=active :alice TAGMSG #c"]);
    // Relayed from the newer link: the tags stop at the old one.
    t.feed(new, "@+x=1 :fay PRIVMSG #c :yo");
    assert_eq!(t.take(old), vec![":fay PRIVMSG #c :yo"]);
    assert_eq!(
        t.take(alice),
        vec!["@+x=1 :fay!~fay@far.host PRIVMSG #c :yo"]
    );
    t.feed(new, "@+typing=paused :fay TAGMSG #c");
    assert!(t.take(old).is_empty());
    assert_eq!(
        t.take(alice),
        vec!["@+typing=paused :fay!~fay@far.host TAGMSG #c"]
    );
}

#[test]
fn a_peer_without_capabilities_gets_none_of_their_lines() {
    let mut t = TestWorld::with_portals();
    let alice = t.user("alice");
    t.feed(alice, "JOIN #c");
    t.feed(alice, "TOPIC #c :the topic");
    t.feed(alice, "MODE #c +b x!*@*");
    t.feed(alice, "AWAY :gone");
    t.take(alice);
    let bare = t.link("peer.test", 2, "", 2);
    assert_eq!(
        t.take(bare),
        vec![
            OUR_HANDSHAKE[0],
            OUR_HANDSHAKE[1],
            OUR_HANDSHAKE[2],
            ":irc.test NICK alice 1 1700000000000 ~alice 127.0.0.1 1 + :alice real",
            ":irc.test SJOIN 1700000000000 #c +nt :@alice",
        ]
    );
    let full = t.link("far.test", 3, ALL, 2);
    t.take(bare);
    t.take(full);
    t.feed(alice, "AWAY");
    t.feed(alice, "SETNAME :New Name");
    assert!(t.take(bare).is_empty());
    assert_eq!(
        t.take(full),
        vec![":alice AWAY", ":alice SETNAME :New Name"]
    );
}

#[test]
fn testing_config_makes_us_offer_less() {
    let mut t = TestWorld::with_portals_and(
        "[testing]\nportal_protocol_max = 1\nportal_caps = [\"EOB\", \"TB\"]\n",
    );
    let alice = t.user("alice");
    t.feed(alice, "JOIN #c");
    t.feed(alice, "TOPIC #c :the topic");
    t.feed(alice, "AWAY :gone");
    let peer = t.link("peer.test", 2, ALL, 2);
    assert_eq!(
        t.take(peer),
        vec![
            "PASS pw 0210-PORTICO portico|0.1.0",
            "CAPAB 1 1 :EOB TB",
            "SERVER irc.test 1 1 :Portico IRC server",
            ":irc.test NICK alice 1 1700000000000 ~alice 127.0.0.1 1 + :alice real",
            ":irc.test SJOIN 1700000000000 #c +nt :@alice",
            ":irc.test TB #c 1700000000 alice!~alice@127.0.0.1 :the topic",
            ":irc.test EOB",
        ]
    );
    // Protocol 1 only: no TAGMSG.
    t.feed(
        peer,
        ":peer.test NICK rob 1 1600000000000 ~rob peer.host 2 + :Rob R",
    );
    t.feed(peer, ":peer.test SJOIN 1700000000000 #c + :rob");
    t.take(peer);
    t.feed(alice, "@+typing=active TAGMSG #c");
    assert!(t.take(peer).is_empty());
}

// ---- burst ------------------------------------------------------------------------------

#[test]
fn burst_carries_users_away_channels_modes_topic_and_bans() {
    let mut t = TestWorld::with_portals();
    let alice = t.user("alice");
    let bob = t.user("bob");
    t.feed(alice, "JOIN #c");
    t.feed(bob, "JOIN #c");
    t.feed(alice, "MODE #c +kl sekrit 5");
    t.feed(alice, "MODE #c +v bob");
    t.feed(alice, "MODE #c +b x!*@*");
    t.feed(alice, "MODE #c +b y!*@*");
    t.feed(alice, "TOPIC #c :the topic");
    t.feed(bob, "AWAY :gone fishing");
    t.feed(bob, "MODE bob +i");
    t.feed(bob, "JOIN #d");
    let peer = t.link("peer.test", 2, ALL, 2);
    assert_eq!(
        norm(t.take(peer)),
        vec![
            OUR_HANDSHAKE[0],
            OUR_HANDSHAKE[1],
            OUR_HANDSHAKE[2],
            ":irc.test NICK alice 1 1700000000000 ~alice 127.0.0.1 1 + :alice real",
            ":irc.test NICK bob 1 1700000000000 ~bob 127.0.0.1 1 +i :bob real",
            ":bob AWAY :gone fishing",
            ":irc.test SJOIN 1700000000000 #c +ntkl sekrit 5 :+bob @alice",
            ":irc.test TB #c 1700000000 alice!~alice@127.0.0.1 :the topic",
            ":irc.test BMASK 1700000000000 #c b :x!*@* y!*@*",
            ":irc.test SJOIN 1700000000000 #d +nt :@bob",
            ":irc.test EOB",
        ]
    );
}

// ---- remote verbs ------------------------------------------------------------------------

#[test]
fn remote_nick_introduction_is_forwarded_only() {
    let mut n = net();
    n.from(
        n.peer,
        ":peer.test NICK ray 1 1650000000000 ~ray peer.host 2 +iw :Ray",
    );
    // Forwarded one hop further, as a SERVER is and as the burst gives it.
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test NICK ray 2 1650000000000 ~ray peer.host 2 +iw :Ray"]
    );
    assert!(n.t.take(n.alice).is_empty());
    // Known now: a message to ray goes to its link.
    n.t.feed(n.alice, "PRIVMSG ray :hi");
    assert_eq!(n.t.take(n.peer), vec![":alice PRIVMSG ray :hi"]);
    // A NICK for a server id not behind that link is ignored.
    n.from(
        n.peer,
        ":peer.test NICK zed 1 1650000000000 ~zed h 3 + :Zed",
    );
    assert!(n.t.take(n.far).is_empty());
    n.t.feed(n.alice, "PRIVMSG zed :hi");
    assert_eq!(
        n.t.take(n.alice),
        vec![":irc.test 401 alice zed :No such nick/channel"]
    );
}

#[test]
fn remote_nick_change() {
    let mut n = net();
    n.from(n.peer, ":rob NICK robert 1700000001000");
    assert_eq!(n.t.take(n.alice), vec![":rob!~rob@peer.host NICK :robert"]);
    assert_eq!(n.t.take(n.bob), vec![":rob!~rob@peer.host NICK :robert"]);
    assert_eq!(n.t.take(n.far), vec![":rob NICK robert 1700000001000"]);
}

#[test]
fn remote_quit() {
    let mut n = net();
    n.from(n.peer, ":rob QUIT :gone home");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host QUIT :gone home"]
    );
    assert_eq!(n.t.take(n.far), vec![":rob QUIT :gone home"]);
    // Gone: a later line with its prefix is dropped.
    n.from(n.peer, ":rob PRIVMSG #c :ghost");
    assert!(n.t.take(n.alice).is_empty());
    assert!(n.t.take(n.far).is_empty());
}

#[test]
fn remote_kill_of_a_local_user() {
    let mut n = net();
    n.from(n.peer, ":rob KILL alice :spam");
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":rob!~rob@peer.host KILL alice :spam",
            "ERROR :Closing Link: 127.0.0.1 (Killed (rob (spam)))",
        ]
    );
    assert_eq!(
        n.t.take(n.bob),
        vec![":alice!~alice@127.0.0.1 QUIT :Killed (rob (spam))"]
    );
    // The link hears the KILL only: the QUIT is implied.
    assert_eq!(n.t.take(n.far), vec![":rob KILL alice :spam"]);
}

#[test]
fn remote_kill_of_a_remote_user() {
    let mut n = net();
    n.from(n.peer, ":peer.test KILL fay :collided");
    assert_eq!(
        n.t.take(n.alice),
        vec![":fay!~fay@far.host QUIT :Killed (peer.test (collided))"]
    );
    assert_eq!(n.t.take(n.far), vec![":peer.test KILL fay :collided"]);
}

#[test]
fn remote_sjoin_into_an_existing_channel_and_a_new_one() {
    let mut n = net();
    n.from(
        n.peer,
        ":peer.test NICK ray 1 1650000000000 ~ray peer.host 2 + :Ray",
    );
    n.t.take(n.far);
    n.from(n.peer, ":peer.test SJOIN 1700000000000 #c + :+ray");
    assert_eq!(
        n.t.take(n.alice),
        vec![":ray!~ray@peer.host JOIN #c", ":peer.test MODE #c +v ray",]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test SJOIN 1700000000000 #c + :+ray"]
    );
    // A channel new here, with its modes: no local member, forwarded.
    n.from(
        n.peer,
        ":peer.test SJOIN 1650000000000 #new +ntk key :@ray rob",
    );
    assert!(n.t.take(n.alice).is_empty());
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test SJOIN 1650000000000 #new +ntk key :@ray rob"]
    );
    // Local users join it as any channel: the key is checked, the link hears a plain join.
    assert_eq!(
        n.t.ask(n.alice, "JOIN #new"),
        vec![":irc.test 475 alice #new :Cannot join channel (+k)"]
    );
    n.t.feed(n.alice, "JOIN #new key");
    let got = n.t.take(n.alice);
    assert_eq!(got[0], ":alice!~alice@127.0.0.1 JOIN #new");
    assert_eq!(
        n.t.take(n.peer),
        vec![":irc.test SJOIN 1650000000000 #new + :alice"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SJOIN 1650000000000 #new + :alice"]
    );
}

#[test]
fn remote_sjoin_of_unknown_or_wrong_direction_nicks_creates_nothing() {
    let mut n = net();
    n.from(
        n.peer,
        ":peer.test SJOIN 1650000000000 #ghost +nt :@nobody fay",
    );
    assert!(n.t.take(n.far).is_empty());
    // The channel was not left behind: alice creates it afresh.
    n.t.feed(n.alice, "JOIN #ghost");
    n.t.take(n.alice);
    assert_eq!(
        n.t.take(n.peer),
        vec![":irc.test SJOIN 1700000000000 #ghost +nt :@alice"]
    );
}

#[test]
fn older_channel_ts_wins_and_wipes_our_modes_and_ops() {
    let mut n = net();
    n.t.feed(n.alice, "MODE #c +k key");
    n.t.feed(n.alice, "MODE #c +b x!*@*");
    n.t.take(n.alice);
    n.t.take(n.bob);
    n.t.take(n.peer);
    n.t.take(n.far);
    n.from(
        n.peer,
        ":peer.test NICK ray 1 1650000000000 ~ray peer.host 2 + :Ray",
    );
    n.from(n.peer, ":peer.test SJOIN 1600000000000 #c +m :@ray");
    let want = vec![
        ":peer.test MODE #c -ntkbo * x!*@* alice",
        ":peer.test MODE #c +m",
        ":ray!~ray@peer.host JOIN #c",
        ":peer.test MODE #c +o ray",
    ];
    assert_eq!(n.t.take(n.alice), want);
    assert_eq!(n.t.take(n.bob), want);
    assert_eq!(
        n.t.take(n.far),
        vec![
            ":peer.test NICK ray 2 1650000000000 ~ray peer.host 2 + :Ray",
            ":peer.test SJOIN 1600000000000 #c +m :@ray",
        ]
    );
    // alice is no longer an operator there.
    assert_eq!(
        n.t.ask(n.alice, "MODE #c +i"),
        vec![":irc.test 482 alice #c :You're not channel operator"]
    );
}

#[test]
fn equal_channel_ts_merges_and_newer_ts_keeps_ours() {
    let mut n = net();
    n.t.feed(n.alice, "MODE #c +k abc");
    n.t.take(n.alice);
    n.t.take(n.bob);
    n.t.take(n.peer);
    n.t.take(n.far);
    for nick in ["ray", "roy"] {
        n.from(
            n.peer,
            &format!(":peer.test NICK {nick} 1 1650000000000 ~{nick} peer.host 2 + :R"),
        );
    }
    n.t.take(n.far);
    // Equal: flags united, the greater key wins, statuses kept.
    n.from(n.peer, ":peer.test SJOIN 1700000000000 #c +ntik zzz :@ray");
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":peer.test MODE #c +ik zzz",
            ":ray!~ray@peer.host JOIN #c",
            ":peer.test MODE #c +o ray",
        ]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test SJOIN 1700000000000 #c +ntik zzz :@ray"]
    );
    // Newer: our modes stay, the members join without status.
    n.from(n.peer, ":peer.test SJOIN 1800000000000 #c +ms :@roy");
    assert_eq!(n.t.take(n.alice), vec![":roy!~roy@peer.host JOIN #c"]);
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test SJOIN 1800000000000 #c +ms :@roy"]
    );
    // alice is still an operator.
    n.t.feed(n.alice, "MODE #c -i");
    assert_eq!(
        n.t.take(n.alice),
        vec![":alice!~alice@127.0.0.1 MODE #c -i"]
    );
}

#[test]
fn remote_part_and_kick() {
    let mut n = net();
    n.from(n.peer, ":rob PART #c :bye");
    assert_eq!(n.t.take(n.alice), vec![":rob!~rob@peer.host PART #c :bye"]);
    assert_eq!(n.t.take(n.far), vec![":rob PART #c :bye"]);
    assert_eq!(n.t.take(n.bob), vec![":rob!~rob@peer.host PART #c :bye"]);
    n.from(n.far, ":fay KICK #c bob :out");
    assert_eq!(
        n.t.take(n.alice),
        vec![":fay!~fay@far.host KICK #c bob :out"]
    );
    assert_eq!(n.t.take(n.bob), vec![":fay!~fay@far.host KICK #c bob :out"]);
    assert_eq!(n.t.take(n.peer), vec![":fay KICK #c bob :out"]);
    // bob is out: messages to #c no longer reach him; rob left, so nor do they peer.test.
    n.from(n.far, ":fay PRIVMSG #c :hi");
    assert!(n.t.take(n.bob).is_empty());
    assert!(n.t.take(n.peer).is_empty());
    assert_eq!(n.t.take(n.alice), vec![":fay!~fay@far.host PRIVMSG #c :hi"]);
    // A PART for a channel the user is not in is dropped.
    n.from(n.peer, ":rob PART #c :again");
    assert!(n.t.take(n.far).is_empty());
    assert!(n.t.take(n.alice).is_empty());
}

#[test]
fn remote_channel_and_user_modes() {
    let mut n = net();
    n.from(n.peer, ":rob MODE #c +o-v+l fay bob 10");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host MODE #c +ol fay 10"]
    );
    assert_eq!(n.t.take(n.far), vec![":rob MODE #c +o-v+l fay bob 10"]);
    n.from(n.peer, ":peer.test MODE #c +m");
    assert_eq!(n.t.take(n.alice), vec![":peer.test MODE #c +m"]);
    assert_eq!(n.t.take(n.far), vec![":peer.test MODE #c +m"]);
    // A user's own modes: no local user is told, the links are.
    n.from(n.peer, ":rob MODE rob :+iw");
    assert!(n.t.take(n.alice).is_empty());
    assert_eq!(n.t.take(n.far), vec![":rob MODE rob :+iw"]);
    // Someone else's user modes: dropped.
    n.from(n.peer, ":rob MODE alice :+i");
    assert!(n.t.take(n.far).is_empty());
    assert!(n.t.take(n.alice).is_empty());
}

#[test]
fn remote_topic_and_topic_burst() {
    let mut n = net();
    n.from(n.peer, ":rob TOPIC #c 1650000000 :new topic");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host TOPIC #c :new topic"]
    );
    assert_eq!(n.t.take(n.far), vec![":rob TOPIC #c 1650000000 :new topic"]);
    assert_eq!(
        n.t.take(n.bob),
        vec![":rob!~rob@peer.host TOPIC #c :new topic"]
    );
    assert_eq!(
        n.t.ask(n.bob, "TOPIC #c"),
        vec![
            ":irc.test 332 bob #c :new topic",
            ":irc.test 333 bob #c rob!~rob@peer.host 1650000000",
        ]
    );
    // TB: an older topic loses, a newer one wins and is shown from the server.
    n.from(n.far, ":far.test TB #c 1600000000 x!y@z :older");
    assert!(n.t.take(n.alice).is_empty());
    assert!(n.t.take(n.peer).is_empty());
    n.from(n.far, ":far.test TB #c 1660000000 x!y@z :newer");
    assert_eq!(n.t.take(n.alice), vec![":far.test TOPIC #c :newer"]);
    assert_eq!(
        n.t.take(n.peer),
        vec![":far.test TB #c 1660000000 x!y@z :newer"]
    );
    assert_eq!(n.t.take(n.bob), vec![":far.test TOPIC #c :newer"]);
    assert_eq!(
        n.t.ask(n.bob, "TOPIC #c"),
        vec![
            ":irc.test 332 bob #c :newer",
            ":irc.test 333 bob #c x!y@z 1660000000",
        ]
    );
}

#[test]
fn remote_bmask() {
    let mut n = net();
    n.from(n.peer, ":peer.test BMASK 1700000000000 #c b :a!*@* b!*@*");
    assert_eq!(
        n.t.take(n.alice),
        vec![":peer.test MODE #c +bb a!*@* b!*@*"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test BMASK 1700000000000 #c b :a!*@* b!*@*"]
    );
    // Known masks are not added twice; a younger channel's bans are ignored.
    n.from(n.peer, ":peer.test BMASK 1700000000000 #c b :a!*@* c!*@*");
    assert_eq!(n.t.take(n.alice), vec![":peer.test MODE #c +b c!*@*"]);
    n.t.take(n.far);
    n.from(n.peer, ":peer.test BMASK 1800000000000 #c b :d!*@*");
    assert!(n.t.take(n.alice).is_empty());
    assert!(n.t.take(n.far).is_empty());
}

#[test]
fn remote_channel_messages_with_tags_and_status_targets() {
    let mut n = net();
    n.from(n.peer, "@+draft/reply=abc :rob PRIVMSG #c :hello");
    assert_eq!(
        n.t.take(n.alice),
        vec!["@+draft/reply=abc :rob!~rob@peer.host PRIVMSG #c :hello"]
    );
    assert_eq!(
        n.t.take(n.bob),
        vec![":rob!~rob@peer.host PRIVMSG #c :hello"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec!["@+draft/reply=abc :rob PRIVMSG #c :hello"]
    );
    // TAGMSG only to message-tags clients.
    n.from(n.peer, "@+typing=active :rob TAGMSG #c");
    assert_eq!(
        n.t.take(n.alice),
        vec!["@+typing=active :rob!~rob@peer.host TAGMSG #c"]
    );
    assert!(n.t.take(n.bob).is_empty());
    assert_eq!(n.t.take(n.far), vec!["@+typing=active :rob TAGMSG #c"]);
    // @#c: local operators only; the link still gets it (its operators may be there).
    n.from(n.peer, ":rob NOTICE @#c :ops only");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host NOTICE @#c :ops only"]
    );
    assert!(n.t.take(n.bob).is_empty());
    assert_eq!(n.t.take(n.far), vec![":rob NOTICE @#c :ops only"]);
    // An empty text is no message.
    n.from(n.peer, ":rob PRIVMSG #c :");
    assert!(n.t.take(n.alice).is_empty());
    assert!(n.t.take(n.far).is_empty());
}

#[test]
fn remote_private_messages_follow_the_route() {
    let mut n = net();
    n.from(n.peer, ":rob PRIVMSG alice :hi alice");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host PRIVMSG alice :hi alice"]
    );
    assert!(n.t.take(n.far).is_empty());
    n.from(n.peer, "@+x=y :rob NOTICE fay :hi fay");
    assert_eq!(n.t.take(n.far), vec!["@+x=y :rob NOTICE fay :hi fay"]);
    assert!(n.t.take(n.alice).is_empty());
    // TAGMSG to a local user without message-tags: dropped.
    n.from(n.peer, "@+typing=active :rob TAGMSG bob");
    assert!(n.t.take(n.bob).is_empty());
    n.from(n.peer, "@+typing=active :rob TAGMSG alice");
    assert_eq!(
        n.t.take(n.alice),
        vec!["@+typing=active :rob!~rob@peer.host TAGMSG alice"]
    );
}

#[test]
fn remote_away_setname_and_wallops() {
    let mut n = net();
    n.from(n.peer, ":rob AWAY :lunch");
    assert_eq!(n.t.take(n.alice), vec![":rob!~rob@peer.host AWAY :lunch"]);
    assert!(n.t.take(n.bob).is_empty());
    assert_eq!(n.t.take(n.far), vec![":rob AWAY :lunch"]);
    n.t.feed(n.bob, "PRIVMSG rob :you there?");
    assert_eq!(n.t.take(n.bob), vec![":irc.test 301 bob rob :lunch"]);
    assert_eq!(n.t.take(n.peer), vec![":bob PRIVMSG rob :you there?"]);
    n.from(n.peer, ":rob AWAY");
    assert_eq!(n.t.take(n.alice), vec![":rob!~rob@peer.host AWAY"]);
    assert_eq!(n.t.take(n.far), vec![":rob AWAY"]);

    n.from(n.peer, ":rob SETNAME :Robert R");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host SETNAME :Robert R"]
    );
    assert!(n.t.take(n.bob).is_empty());
    assert_eq!(n.t.take(n.far), vec![":rob SETNAME :Robert R"]);

    n.t.feed(n.bob, "MODE bob +w");
    n.t.take(n.bob);
    n.t.take(n.peer);
    n.t.take(n.far);
    n.from(n.peer, ":rob WALLOPS :hear ye");
    assert_eq!(
        n.t.take(n.bob),
        vec![":rob!~rob@peer.host WALLOPS :hear ye"]
    );
    assert!(n.t.take(n.alice).is_empty());
    assert_eq!(n.t.take(n.far), vec![":rob WALLOPS :hear ye"]);
    n.from(n.peer, ":peer.test WALLOPS :from the server");
    assert_eq!(n.t.take(n.bob), vec![":peer.test WALLOPS :from the server"]);
    assert_eq!(n.t.take(n.far), vec![":peer.test WALLOPS :from the server"]);
}

#[test]
fn remote_invite() {
    let mut n = net();
    n.from(n.peer, ":peer.test SJOIN 1650000000000 #inv +i :@rob");
    n.t.take(n.far);
    // To a local user: delivered, not forwarded; the JOIN then passes +i.
    n.from(n.peer, ":rob INVITE alice #inv");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host INVITE alice #inv"]
    );
    assert!(n.t.take(n.far).is_empty());
    n.t.feed(n.alice, "JOIN #inv");
    assert_eq!(n.t.take(n.alice)[0], ":alice!~alice@127.0.0.1 JOIN #inv");
    assert_eq!(
        n.t.take(n.peer),
        vec![":irc.test SJOIN 1650000000000 #inv + :alice"]
    );
    n.t.take(n.far);
    // To a remote user: recorded and forwarded.
    n.from(n.peer, ":rob INVITE fay #inv");
    assert_eq!(n.t.take(n.far), vec![":rob INVITE fay #inv"]);
    assert!(n.t.take(n.alice).is_empty());
    // bob, not invited, stays out.
    assert_eq!(
        n.t.ask(n.bob, "JOIN #inv"),
        vec![":irc.test 473 bob #inv :Cannot join channel (+i)"]
    );
}

#[test]
fn servers_behind_the_peer_and_their_split() {
    let mut n = net();
    n.from(n.peer, ":peer.test SERVER leaf.test 2 4 :a leaf");
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test SERVER leaf.test 3 4 :a leaf"]
    );
    n.from(
        n.peer,
        ":leaf.test NICK lee 2 1650000000000 ~lee leaf.host 4 + :Lee",
    );
    n.from(n.peer, ":leaf.test SJOIN 1700000000000 #c + :lee");
    n.from(n.peer, ":leaf.test SJOIN 1650000000000 #leaf + :lee");
    assert_eq!(
        n.t.take(n.far),
        vec![
            ":leaf.test NICK lee 3 1650000000000 ~lee leaf.host 4 + :Lee",
            ":leaf.test SJOIN 1700000000000 #c + :lee",
            ":leaf.test SJOIN 1650000000000 #leaf + :lee",
        ]
    );
    assert_eq!(n.t.take(n.alice), vec![":lee!~lee@leaf.host JOIN #c"]);
    n.from(n.peer, ":peer.test SQUIT leaf.test :leaf died");
    assert_eq!(
        n.t.take(n.alice),
        vec![":lee!~lee@leaf.host QUIT :peer.test leaf.test"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SQUIT leaf.test :leaf died"]
    );
    // The split took the leaf's channel with it; rob (on peer.test) stays.
    n.t.feed(n.alice, "JOIN #leaf");
    n.t.take(n.alice);
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SJOIN 1700000000000 #leaf +nt :@alice"]
    );
    n.t.take(n.peer);
    n.t.feed(n.alice, "PRIVMSG rob :still here?");
    assert_eq!(n.t.take(n.peer), vec![":alice PRIVMSG rob :still here?"]);
}

#[test]
fn a_server_introduced_twice_drops_the_link() {
    let mut n = net();
    n.t.feed(n.peer, ":peer.test SERVER far.test 2 3 :loop");
    assert_eq!(
        n.t.take(n.peer),
        vec!["ERROR :Closing Link: 127.0.0.1 (Server far.test (id 3) already exists; link dropped to break a loop)"]
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host QUIT :irc.test peer.test"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SQUIT peer.test :Server far.test (id 3) already exists; link dropped to break a loop"]
    );
}

#[test]
fn the_peer_squitting_itself_closes_the_link() {
    let mut n = net();
    n.t.feed(n.peer, ":peer.test SQUIT peer.test :restarting");
    assert_eq!(
        n.t.take(n.peer),
        vec!["ERROR :Closing Link: 127.0.0.1 (restarting)"]
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host QUIT :irc.test peer.test"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SQUIT peer.test :restarting"]
    );
}

#[test]
fn eob_ping_pong_and_error() {
    let mut n = net();
    n.from(n.peer, ":peer.test EOB");
    n.from(n.peer, ":peer.test PONG irc.test :irc.test");
    assert!(n.t.take(n.far).is_empty());
    assert!(n.t.take(n.alice).is_empty());
    assert_eq!(
        n.t.ask(n.peer, "PING :peer.test"),
        vec![":irc.test PONG irc.test :peer.test"]
    );
    n.t.feed(n.peer, "ERROR :going away");
    assert_eq!(
        n.t.take(n.peer),
        vec!["ERROR :Closing Link: 127.0.0.1 (ERROR from peer: going away)"]
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host QUIT :irc.test peer.test"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SQUIT peer.test :ERROR from peer: going away"]
    );
}

#[test]
fn unknown_verbs_are_forwarded_and_bad_prefixes_dropped() {
    let mut n = net();
    n.from(n.peer, ":peer.test FOOBAR a b :c d");
    assert_eq!(n.t.take(n.far), vec![":peer.test FOOBAR a b :c d"]);
    assert!(n.t.take(n.alice).is_empty());
    // Not a command at all (RFC 1459: letters or three digits): dropped.
    n.from(n.peer, ":peer.test 1234 x");
    assert!(n.t.take(n.far).is_empty());
    // An unknown prefix, and fay (behind far.test) arriving from peer.test: dropped.
    n.from(n.peer, ":ghost PRIVMSG #c :boo");
    n.from(n.peer, ":fay PRIVMSG #c :spoofed");
    n.from(n.peer, ":far.test WALLOPS :spoofed");
    n.from(n.peer, ":fay FOOBAR x");
    for c in [n.alice, n.bob, n.far] {
        assert!(n.t.take(c).is_empty());
    }
}

#[test]
fn link_pings_and_times_out() {
    let mut n = net();
    n.t.tick(120_000);
    assert_eq!(n.t.take(n.peer), vec!["PING :irc.test"]);
    assert_eq!(n.t.take(n.far), vec!["PING :irc.test"]);
    assert_eq!(n.t.take(n.alice), vec!["PING :irc.test"]);
    n.t.take(n.bob);
    n.t.feed(n.far, ":far.test PONG far.test :irc.test");
    n.t.feed(n.alice, "PONG :irc.test");
    n.t.feed(n.bob, "PONG :irc.test");
    n.t.tick(60_000);
    assert_eq!(
        n.t.take(n.peer),
        vec!["ERROR :Closing Link: 127.0.0.1 (Ping timeout: 180 seconds)"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SQUIT peer.test :Ping timeout: 180 seconds"]
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host QUIT :irc.test peer.test"]
    );
}

// ---- local actions on the links ------------------------------------------------------------

#[test]
fn local_registration_join_part_and_quit() {
    let mut n = net();
    let carol = n.t.user("carol");
    let intro = ":irc.test NICK carol 1 1700000000000 ~carol 127.0.0.1 1 + :carol real";
    assert_eq!(n.t.take(n.peer), vec![intro]);
    assert_eq!(n.t.take(n.far), vec![intro]);
    n.t.feed(carol, "JOIN #new");
    let create = ":irc.test SJOIN 1700000000000 #new +nt :@carol";
    assert_eq!(n.t.take(n.peer), vec![create]);
    assert_eq!(n.t.take(n.far), vec![create]);
    n.t.feed(carol, "JOIN #c");
    let join = ":irc.test SJOIN 1700000000000 #c + :carol";
    assert_eq!(n.t.take(n.peer), vec![join]);
    assert_eq!(n.t.take(n.far), vec![join]);
    n.t.feed(carol, "PART #c :later");
    assert_eq!(n.t.take(n.peer), vec![":carol PART #c :later"]);
    assert_eq!(n.t.take(n.far), vec![":carol PART #c :later"]);
    n.t.feed(carol, "QUIT :bye");
    assert_eq!(n.t.take(n.peer), vec![":carol QUIT :Quit: bye"]);
    assert_eq!(n.t.take(n.far), vec![":carol QUIT :Quit: bye"]);
}

#[test]
fn local_kick_topic_mode_and_nick() {
    let mut n = net();
    fn both(n: &mut Net, line: &str, want: &str) {
        n.t.feed(n.alice, line);
        assert_eq!(n.t.take(n.peer), vec![want], "{line}");
        assert_eq!(n.t.take(n.far), vec![want], "{line}");
    }
    both(&mut n, "MODE #c +o rob", ":alice MODE #c +o rob");
    both(&mut n, "MODE #c +l-t 20", ":alice MODE #c +l-t 20");
    both(
        &mut n,
        "TOPIC #c :hello all",
        ":alice TOPIC #c 1700000000 :hello all",
    );
    both(&mut n, "KICK #c fay :out", ":alice KICK #c fay :out");
    both(&mut n, "MODE alice +i", ":alice MODE alice :+i");
    both(&mut n, "NICK alicia", ":alice NICK alicia 1700000000000");
    assert_eq!(
        n.t.take(n.bob),
        vec![
            ":alice!~alice@127.0.0.1 MODE #c +o rob",
            ":alice!~alice@127.0.0.1 MODE #c +l-t 20",
            ":alice!~alice@127.0.0.1 TOPIC #c :hello all",
            ":alice!~alice@127.0.0.1 KICK #c fay :out",
            ":alice!~alice@127.0.0.1 NICK :alicia",
        ]
    );
}

#[test]
fn local_away_setname_and_invite() {
    let mut n = net();
    n.t.feed(n.bob, "AWAY :brb");
    assert_eq!(n.t.take(n.peer), vec![":bob AWAY :brb"]);
    assert_eq!(n.t.take(n.far), vec![":bob AWAY :brb"]);
    assert_eq!(n.t.take(n.alice), vec![":bob!~bob@127.0.0.1 AWAY :brb"]);
    n.t.feed(n.bob, "AWAY");
    assert_eq!(n.t.take(n.peer), vec![":bob AWAY"]);
    assert_eq!(n.t.take(n.alice), vec![":bob!~bob@127.0.0.1 AWAY"]);
    n.t.take(n.far);
    n.t.feed(n.bob, "SETNAME :Bob B");
    assert_eq!(n.t.take(n.peer), vec![":bob SETNAME :Bob B"]);
    assert_eq!(n.t.take(n.far), vec![":bob SETNAME :Bob B"]);
    assert_eq!(
        n.t.take(n.alice),
        vec![":bob!~bob@127.0.0.1 SETNAME :Bob B"]
    );
    n.t.feed(n.alice, "JOIN #d");
    n.t.feed(n.alice, "MODE #d +i");
    n.t.take(n.alice);
    n.t.take(n.peer);
    n.t.take(n.far);
    assert_eq!(
        n.t.ask(n.alice, "INVITE rob #d"),
        vec![":irc.test 341 alice rob #d"]
    );
    assert_eq!(n.t.take(n.peer), vec![":alice INVITE rob #d"]);
    assert_eq!(n.t.take(n.far), vec![":alice INVITE rob #d"]);
    // A local invitee: no link traffic.
    n.t.feed(n.alice, "INVITE bob #d");
    assert!(n.t.take(n.peer).is_empty());
    assert!(n.t.take(n.far).is_empty());
}

#[test]
fn local_channel_message_goes_once_to_each_link_with_members() {
    let mut n = net();
    n.from(
        n.peer,
        ":peer.test NICK ray 1 1650000000000 ~ray peer.host 2 + :Ray",
    );
    n.from(n.peer, ":peer.test SJOIN 1700000000000 #c + :ray");
    n.from(n.peer, ":peer.test SJOIN 1650000000000 #p + :ray");
    n.t.take(n.far);
    n.t.take(n.alice);
    n.t.take(n.bob);
    n.t.feed(n.alice, "PRIVMSG #c :hi all");
    assert_eq!(n.t.take(n.peer), vec![":alice PRIVMSG #c :hi all"]);
    assert_eq!(n.t.take(n.far), vec![":alice PRIVMSG #c :hi all"]);
    assert_eq!(
        n.t.take(n.bob),
        vec![":alice!~alice@127.0.0.1 PRIVMSG #c :hi all"]
    );
    assert!(n.t.take(n.alice).is_empty());
    // #p (no +n) has members behind peer.test only.
    n.t.feed(n.alice, "NOTICE #p :outside");
    assert_eq!(n.t.take(n.peer), vec![":alice NOTICE #p :outside"]);
    assert!(n.t.take(n.far).is_empty());
    // To a remote user: its link only.
    n.t.feed(n.alice, "PRIVMSG fay :psst");
    assert_eq!(n.t.take(n.far), vec![":alice PRIVMSG fay :psst"]);
    assert!(n.t.take(n.peer).is_empty());
}

#[test]
fn oper_kill_of_a_remote_user_wallops_and_squit() {
    let mut n = net_with(OPER);
    assert_eq!(
        n.t.ask(n.alice, "OPER admin pw"),
        vec![
            ":irc.test 381 alice :You are now an IRC operator",
            ":alice MODE alice :+o",
        ]
    );
    assert_eq!(n.t.take(n.peer), vec![":alice MODE alice :+o"]);
    assert_eq!(n.t.take(n.far), vec![":alice MODE alice :+o"]);
    n.t.feed(n.alice, "KILL rob :spamming");
    assert_eq!(n.t.take(n.peer), vec![":alice KILL rob :spamming"]);
    assert_eq!(n.t.take(n.far), vec![":alice KILL rob :spamming"]);
    assert_eq!(
        n.t.take(n.bob),
        vec![":rob!~rob@peer.host QUIT :Killed (alice (spamming))"]
    );
    n.t.feed(n.alice, "WALLOPS :attention");
    assert_eq!(n.t.take(n.peer), vec![":alice WALLOPS :attention"]);
    assert_eq!(n.t.take(n.far), vec![":alice WALLOPS :attention"]);
    // SQUIT of a server behind a link travels toward it; of a direct link, drops it.
    n.from(n.peer, ":peer.test SERVER leaf.test 2 4 :a leaf");
    n.t.take(n.far);
    n.t.take(n.alice);
    n.t.feed(n.alice, "SQUIT leaf.test :go away");
    assert_eq!(n.t.take(n.peer), vec![":alice SQUIT leaf.test :go away"]);
    assert!(n.t.take(n.far).is_empty());
    n.t.feed(n.alice, "SQUIT far.test :maintenance");
    assert_eq!(
        n.t.take(n.far),
        vec!["ERROR :Closing Link: 127.0.0.1 (maintenance)"]
    );
    assert_eq!(
        n.t.take(n.peer),
        vec![":irc.test SQUIT far.test :maintenance"]
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![":fay!~fay@far.host QUIT :irc.test far.test"]
    );
}

// ---- nick collisions ------------------------------------------------------------------------

#[test]
fn collision_older_remote_nick_wins() {
    let mut n = net();
    n.from(
        n.peer,
        ":peer.test NICK alice 1 1600000000000 ~other peer.host 2 + :Other",
    );
    // Passed on one hop further.
    let line = ":peer.test NICK alice 2 1600000000000 ~other peer.host 2 + :Other";
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":irc.test KILL alice :irc.test (Nick collision)",
            "ERROR :Closing Link: 127.0.0.1 (Nick collision)",
        ]
    );
    assert_eq!(
        n.t.take(n.bob),
        vec![":alice!~alice@127.0.0.1 QUIT :Nick collision"]
    );
    assert_eq!(n.t.take(n.far), vec![":alice QUIT :Nick collision", line]);
    n.t.feed(n.bob, "PRIVMSG alice :who are you?");
    assert_eq!(n.t.take(n.peer), vec![":bob PRIVMSG alice :who are you?"]);
}

#[test]
fn collision_newer_remote_nick_loses_and_equal_both_lose() {
    let mut n = net();
    n.from(
        n.peer,
        ":peer.test NICK alice 1 1800000000000 ~other peer.host 2 + :Other",
    );
    assert!(n.t.take(n.alice).is_empty());
    assert!(n.t.take(n.far).is_empty());
    n.t.feed(n.bob, "PRIVMSG alice :still you?");
    assert_eq!(
        n.t.take(n.alice),
        vec![":bob!~bob@127.0.0.1 PRIVMSG alice :still you?"]
    );
    n.from(
        n.peer,
        ":peer.test NICK alice 1 1700000000000 ~other peer.host 2 + :Other",
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":irc.test KILL alice :irc.test (Nick collision)",
            "ERROR :Closing Link: 127.0.0.1 (Nick collision)",
        ]
    );
    assert_eq!(n.t.take(n.far), vec![":alice QUIT :Nick collision"]);
    assert_eq!(
        n.t.take(n.bob),
        vec![":alice!~alice@127.0.0.1 QUIT :Nick collision"]
    );
    assert_eq!(
        n.t.ask(n.bob, "PRIVMSG alice :anyone?"),
        vec![":irc.test 401 bob alice :No such nick/channel"]
    );
}

#[test]
fn collision_on_a_remote_nick_change() {
    let mut n = net();
    // rob renames to alice with a newer timestamp: rob loses.
    n.from(n.peer, ":rob NICK alice 1800000000000");
    assert_eq!(n.t.take(n.far), vec![":rob QUIT :Nick collision"]);
    assert_eq!(
        n.t.take(n.bob),
        vec![":rob!~rob@peer.host QUIT :Nick collision"]
    );
    assert!(closed_with(&n.t, n.alice).is_none());
    // fay renames to bob with an older one: bob loses, fay becomes bob.
    n.from(n.far, ":fay NICK bob 1600000000000");
    assert_eq!(
        n.t.take(n.bob),
        vec![
            ":irc.test KILL bob :irc.test (Nick collision)",
            "ERROR :Closing Link: 127.0.0.1 (Nick collision)",
        ]
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":rob!~rob@peer.host QUIT :Nick collision",
            ":bob!~bob@127.0.0.1 QUIT :Nick collision",
            ":fay!~fay@far.host NICK :bob",
        ]
    );
    assert_eq!(
        n.t.take(n.peer),
        vec![":bob QUIT :Nick collision", ":fay NICK bob 1600000000000"]
    );
}

// ---- netsplit -------------------------------------------------------------------------------

#[test]
fn dropping_a_link_quits_everyone_behind_it_with_one_squit() {
    let mut n = net();
    n.from(n.peer, ":peer.test SERVER leaf.test 2 4 :a leaf");
    n.from(
        n.peer,
        ":leaf.test NICK lee 3 1650000000000 ~lee leaf.host 4 + :Lee",
    );
    n.from(n.peer, ":leaf.test SJOIN 1700000000000 #c + :lee");
    n.from(n.peer, ":peer.test SJOIN 1650000000000 #r + :rob");
    n.t.take(n.far);
    n.t.take(n.alice);
    n.t.take(n.bob);
    n.t.drop_conn(n.peer, "Connection reset by peer");
    let mut got = n.t.take(n.alice);
    got.sort();
    assert_eq!(
        got,
        vec![
            ":lee!~lee@leaf.host QUIT :irc.test peer.test",
            ":rob!~rob@peer.host QUIT :irc.test peer.test",
        ]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SQUIT peer.test :Connection reset by peer"]
    );
    // Channels left empty are gone: #r is created afresh.
    n.t.feed(n.alice, "JOIN #r");
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SJOIN 1700000000000 #r +nt :@alice"]
    );
    // The peer may link again.
    let again = n.t.link("peer.test", 2, ALL, 2);
    assert_eq!(n.t.take(again)[..3], OUR_HANDSHAKE);
}

// ---- rfc2813 (ngIRCd) -----------------------------------------------------------------------

/// ngIRCd's user `ngbob` in #c with local alice and bob, and far.test's fay.
fn ng_net() -> (Net, ConnId) {
    let mut n = net();
    let ng = n.t.link_ngircd("ng.test");
    n.t.feed(ng, ":ng.test NICK ngbob 1 ~ngbob ng.host 1 + :NG Bob");
    n.t.feed(ng, ":ng.test NJOIN #c :ngbob");
    for c in [n.alice, n.bob, n.peer, n.far, ng] {
        n.t.take(c);
    }
    (n, ng)
}

#[test]
fn ngircd_link_gets_rfc2813_handshake_and_burst() {
    let mut t = TestWorld::with_portals();
    let alice = t.user("alice");
    t.feed(alice, "JOIN #c");
    t.feed(alice, "MODE #c +l 9");
    t.feed(alice, "TOPIC #c :the topic");
    t.feed(alice, "MODE #c +b x!*@*");
    t.feed(alice, "AWAY :gone");
    t.feed(alice, "JOIN #plain");
    t.feed(alice, "MODE #plain -nt");
    t.take(alice);
    let far = t.link("far.test", 3, ALL, 2);
    t.feed(
        far,
        ":far.test NICK fay 1 1600000000000 ~fay far.host 3 +i :Fay F",
    );
    t.take(far);
    let ng = t.link_ngircd("ng.test");
    assert_eq!(
        t.take(ng),
        vec![
            "PASS pw 0210-IRC+ Portico|0.1.0:CHL P",
            "SERVER irc.test 1 :Portico IRC server",
            ":irc.test 005 ng.test NICKLEN=30 CASEMAPPING=rfc1459 PREFIX=(ov)@+ CHANTYPES=#& CHANMODES=b,k,l,imnpst :are supported on this server",
            ":irc.test 376 ng.test :End of MOTD command",
            ":irc.test SERVER far.test 2 4 :far.test server",
            ":irc.test NICK alice 1 ~alice 127.0.0.1 1 + :alice real",
            ":alice MODE alice :+a",
            ":far.test NICK fay 2 ~fay far.host 4 +i :Fay F",
            ":irc.test CHANINFO #c +ntl * 9 :the topic",
            ":irc.test NJOIN #c :@alice",
            ":irc.test MODE #c +b x!*@*",
            ":irc.test NJOIN #plain :@alice",
        ]
    );
    // The native link hears of the new server; the handshake numerics went nowhere else.
    assert_eq!(
        t.take(far),
        vec![":irc.test SERVER ng.test 2 9 :ng.test server"]
    );
    assert!(t.take(alice).is_empty());
}

#[test]
fn ngircd_handshake_refusals() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["PASS nope 0210-IRC+ ngIRCd|26.1:CHLMSX P", "SERVER ng.test 1 :x"],
            "Bad password for portal ng.test",
        ),
        (
            &["PASS pw 0211-IRC+ ngIRCd|26.1:CHLMSX P", "SERVER ng.test 1 :x"],
            "Unsupported protocol version \"0211-IRC+\" from ng.test: RFC 2813 (0210) expected",
        ),
        (
            &[
                "PASS pw 0210-IRC+ ngIRCd|26.1:CHLMSX P",
                "SERVER ng.test 1 :x",
                ":ng.test 005 irc.test NICKLEN=9 CASEMAPPING=rfc1459 :are supported on this server",
            ],
            "Incompatible nickname length: ours 30, ng.test has 9; set the same on both",
        ),
        (
            &[
                "PASS pw 0210-IRC+ ngIRCd|26.1:CHLMSX P",
                "SERVER ng.test 1 :x",
                ":ng.test 005 irc.test NICKLEN=30 CASEMAPPING=ascii :are supported on this server",
            ],
            "Incompatible case mapping: ours rfc1459, ng.test has ascii; set casemapping = \"ascii\"",
        ),
    ];
    for (lines, reason) in cases {
        let mut t = TestWorld::with_portals();
        let c = t.connect();
        for l in *lines {
            t.feed(c, l);
        }
        let want = format!("ERROR :Closing Link: 127.0.0.1 ({reason})");
        assert_eq!(t.take(c).last(), Some(&want), "{lines:?}");
        assert_eq!(t.closed, vec![(c, want)]);
    }
}

#[test]
fn local_actions_as_ngircd_sees_them() {
    let (mut n, ng) = ng_net();
    let check = |from: ConnId, n: &mut Net, line: &str, ng_want: &[&str], far_want: &[&str]| {
        n.t.feed(from, line);
        assert_eq!(n.t.take(ng), ng_want, "{line}");
        assert_eq!(n.t.take(n.far), far_want, "{line}");
    };
    check(
        n.alice,
        &mut n,
        "AWAY :brb",
        &[":alice MODE alice :+a"],
        &[":alice AWAY :brb"],
    );
    check(
        n.alice,
        &mut n,
        "AWAY",
        &[":alice MODE alice :-a"],
        &[":alice AWAY"],
    );
    check(
        n.alice,
        &mut n,
        "TOPIC #c :hello",
        &[":alice TOPIC #c :hello"],
        &[":alice TOPIC #c 1700000000 :hello"],
    );
    check(
        n.alice,
        &mut n,
        "@+x=1 PRIVMSG #c :hi",
        &[":alice PRIVMSG #c :hi"],
        &["@+x=1 :alice PRIVMSG #c :hi"],
    );
    check(
        n.alice,
        &mut n,
        "@+typing=active TAGMSG #c",
        &[],
        &["@+typing=active :alice TAGMSG #c"],
    );
    check(n.alice, &mut n, "SETNAME :Al", &[], &[":alice SETNAME :Al"]);
    check(
        n.alice,
        &mut n,
        "MODE #c +bk y!*@* key",
        &[":alice MODE #c +bk y!*@* key"],
        &[":alice MODE #c +bk y!*@* key"],
    );
    check(
        n.alice,
        &mut n,
        "JOIN #new",
        &[
            ":irc.test CHANINFO #new +nt",
            ":irc.test NJOIN #new :@alice",
        ],
        &[":irc.test SJOIN 1700000000000 #new +nt :@alice"],
    );
    check(
        n.bob,
        &mut n,
        "JOIN #new",
        &[":irc.test NJOIN #new :bob"],
        &[":irc.test SJOIN 1700000000000 #new + :bob"],
    );
    check(
        n.alice,
        &mut n,
        "NICK alicia",
        &[":alice NICK :alicia"],
        &[":alice NICK alicia 1700000000000"],
    );
    // From the native link, relayed to ngIRCd in its form.
    check(
        n.far,
        &mut n,
        "@+x=1 :fay PRIVMSG #c :yo",
        &[":fay PRIVMSG #c :yo"],
        &[],
    );
    check(
        n.far,
        &mut n,
        ":fay NICK faye 1700000005000",
        &[":fay NICK :faye"],
        &[],
    );
    check(
        n.far,
        &mut n,
        ":far.test BMASK 1700000000000 #c b :z!*@*",
        &[":far.test MODE #c +b z!*@*"],
        &[],
    );
    check(n.far, &mut n, ":far.test EOB", &[], &[]);
}

#[test]
fn ngircd_users_channels_and_modes_arrive_as_native_lines() {
    let (mut n, ng) = ng_net();
    // ngIRCd's user in its form: timestamp 0, its server's id; +a is away.
    n.from(ng, ":ng.test NICK ngcat 1 ~ngcat ng.host 1 +ai :NG Cat");
    assert_eq!(
        n.t.take(n.far),
        vec![
            ":ng.test NICK ngcat 2 0 ~ngcat ng.host 9 +i :NG Cat",
            ":ngcat AWAY :Away",
        ]
    );
    // JOIN with ^G modes: a one-member SJOIN.
    n.from(ng, ":ngcat JOIN #c\x07o");
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":ngcat!~ngcat@ng.host JOIN #c",
            ":ngcat!~ngcat@ng.host AWAY :Away",
            ":ng.test MODE #c +o ngcat",
        ]
    );
    assert_eq!(
        n.t.take(n.bob),
        vec![":ngcat!~ngcat@ng.host JOIN #c", ":ng.test MODE #c +o ngcat"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":ng.test SJOIN 1700000000000 #c + :@ngcat"]
    );
    // NJOIN with ngIRCd's prefixes for a new channel: ours now.
    n.from(ng, ":ng.test NJOIN #ngc :@@ngbob,%ngcat");
    assert_eq!(
        n.t.take(n.far),
        vec![":ng.test SJOIN 1700000000000 #ngc + :@ngbob +ngcat"]
    );
    // CHANINFO is held until the channel's NJOIN.
    n.from(ng, ":ng.test CHANINFO #info +ntlk key 7 :ng topic");
    assert!(n.t.take(n.far).is_empty());
    n.from(ng, ":ng.test NJOIN #info :@ngbob");
    assert_eq!(
        n.t.take(n.far),
        vec![
            ":ng.test SJOIN 1700000000000 #info +ntlk 7 key :@ngbob",
            ":ng.test TB #info 1700000000 ng.test :ng topic",
        ]
    );
    // Channel modes: ngIRCd-only ones dropped with their parameters.
    n.from(ng, ":ngbob MODE #c +eMv e!*@* ngbob");
    assert_eq!(
        n.t.take(n.alice),
        vec![":ngbob!~ngbob@ng.host MODE #c +v ngbob"]
    );
    assert_eq!(n.t.take(n.far), vec![":ngbob MODE #c +v ngbob"]);
    n.from(ng, ":ngbob MODE #c +PzM");
    assert!(n.t.take(n.alice).is_empty());
    assert!(n.t.take(n.far).is_empty());
}

#[test]
fn ngircd_away_topic_messages_and_quit() {
    let (mut n, ng) = ng_net();
    n.from(ng, ":ngbob MODE ngbob :+a");
    assert_eq!(n.t.take(n.alice), vec![":ngbob!~ngbob@ng.host AWAY :Away"]);
    assert_eq!(n.t.take(n.far), vec![":ngbob AWAY :Away"]);
    n.from(ng, ":ngbob MODE ngbob :-a+i");
    assert_eq!(n.t.take(n.alice), vec![":ngbob!~ngbob@ng.host AWAY"]);
    // No sign of the removed `a` is left behind.
    assert_eq!(
        n.t.take(n.far),
        vec![":ngbob MODE ngbob :+i", ":ngbob AWAY"]
    );
    n.from(ng, ":ngbob TOPIC #c :from ng");
    assert_eq!(
        n.t.take(n.alice),
        vec![":ngbob!~ngbob@ng.host TOPIC #c :from ng"]
    );
    assert_eq!(n.t.take(n.far), vec![":ngbob TOPIC #c 1700000000 :from ng"]);
    // From the server (its burst): a TB timed now; same second, it wins on the greater text.
    n.from(ng, ":ng.test TOPIC #c :server topic");
    assert_eq!(n.t.take(n.alice), vec![":ng.test TOPIC #c :server topic"]);
    assert_eq!(
        n.t.take(n.far),
        vec![":ng.test TB #c 1700000000 ng.test :server topic"]
    );
    n.from(ng, ":ngbob PRIVMSG #c :hello portico");
    assert_eq!(
        n.t.take(n.alice),
        vec![":ngbob!~ngbob@ng.host PRIVMSG #c :hello portico"]
    );
    assert_eq!(n.t.take(n.far), vec![":ngbob PRIVMSG #c :hello portico"]);
    n.from(ng, ":ngbob PRIVMSG fay :hi fay");
    assert_eq!(n.t.take(n.far), vec![":ngbob PRIVMSG fay :hi fay"]);
    // Ignored extras.
    n.from(ng, ":ng.test METADATA ngbob cloakhost :x");
    n.from(ng, ":ng.test 376 irc.test :End of MOTD command");
    assert!(n.t.take(n.far).is_empty());
    n.from(ng, ":ngbob QUIT :\"bye\"");
    assert_eq!(
        n.t.take(n.alice),
        vec![":ngbob!~ngbob@ng.host QUIT :\"bye\""]
    );
    // Passed on in the form it came in (a trailing parameter stays one).
    assert_eq!(n.t.take(n.far), vec![":ngbob QUIT :\"bye\""]);
}

#[test]
fn ngircd_nick_collision_removes_both() {
    let (mut n, ng) = ng_net();
    n.from(ng, ":ng.test NICK alice 1 ~x ng.host 1 + :X");
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":irc.test KILL alice :irc.test (Nick collision)",
            "ERROR :Closing Link: 127.0.0.1 (Nick collision)",
        ]
    );
    assert_eq!(n.t.take(n.far), vec![":alice QUIT :Nick collision"]);
    assert_eq!(n.t.take(n.peer), vec![":alice QUIT :Nick collision"]);
    assert_eq!(
        n.t.take(n.bob),
        vec![":alice!~alice@127.0.0.1 QUIT :Nick collision"]
    );
    assert_eq!(
        n.t.ask(n.bob, "PRIVMSG alice :hm"),
        vec![":irc.test 401 bob alice :No such nick/channel"]
    );
}

#[test]
fn ngircd_split() {
    let (mut n, ng) = ng_net();
    n.t.drop_conn(ng, "EOF");
    assert_eq!(
        n.t.take(n.alice),
        vec![":ngbob!~ngbob@ng.host QUIT :irc.test ng.test"]
    );
    assert_eq!(n.t.take(n.far), vec![":irc.test SQUIT ng.test :EOF"]);
    assert_eq!(n.t.take(n.peer), vec![":irc.test SQUIT ng.test :EOF"]);
}

#[test]
fn ngircd_chaninfo_limit_before_key() {
    let (mut n, ng) = ng_net();
    // ngIRCd lists the modes in the order they were set, its parameters always key, limit.
    n.from(ng, ":ng.test CHANINFO #lk +lk key 7 :");
    n.from(ng, ":ng.test NJOIN #lk :@ngbob");
    // The native SJOIN gives the parameters in the order of the letters: consistent.
    assert_eq!(
        n.t.take(n.far),
        vec![":ng.test SJOIN 1700000000000 #lk +lk 7 key :@ngbob"]
    );
    n.t.take(n.peer);
    // The key is the key here (the limit 7 does not keep alice out either).
    assert_eq!(
        n.t.ask(n.alice, "JOIN #lk key")[0],
        ":alice!~alice@127.0.0.1 JOIN #lk"
    );
    assert_eq!(n.t.take(ng), vec![":irc.test NJOIN #lk :alice"]);
    n.t.take(n.far);
    // Such an SJOIN from another Portico, on its way to ngIRCd.
    n.from(n.far, ":far.test SJOIN 1650000000000 #lk2 +lk 7 key :fay");
    // The values follow the letters: key "key", limit 7, whatever their order.
    assert_eq!(
        n.t.take(ng),
        vec![
            ":far.test CHANINFO #lk2 +lk key 7 :",
            ":far.test NJOIN #lk2 :fay",
        ]
    );
}
