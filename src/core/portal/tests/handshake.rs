//! Handshake, version and capability negotiation.

use super::*;
use crate::core::portal::handshake::DENIED;
use crate::core::testing::TestWorld;

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
    // The shell hears of it at once (its dialer's backoff starts over).
    assert_eq!(t.linked, ["peer.test"]);
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
            DENIED,
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
            DENIED,
        ),
        // A wrong ID with a wrong password: the peer learns nothing of the ID.
        (
            &[
                "PASS nope 0210-PORTICO x",
                "CAPAB 1 2 :EOB",
                "SERVER peer.test 1 7 :x",
            ],
            DENIED,
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
