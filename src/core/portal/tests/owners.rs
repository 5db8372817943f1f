//! Owners across links: as `~` and `q` to a peer with IRCX, as ops to an older Portico
//! without (ngIRCd's founders: tests/ngircd.rs).

use super::*;

/// alice (IRCX) creates #c and owns it; bob joins. A peer with IRCX and one without are
/// linked; what they got so far is taken.
fn owned_channel() -> (TestWorld, [ConnId; 4]) {
    let mut t = TestWorld::with_portals();
    let new = t.link("peer.test", 2, ALL_IRCX, 2);
    let old = t.link("far.test", 3, ALL, 2);
    let alice = t.user("alice");
    let bob = t.user("bob");
    t.feed(alice, "IRCX");
    for c in [new, old] {
        t.take(c);
    }
    t.feed(alice, "JOIN #c");
    assert_eq!(
        t.take(new),
        vec![
            ":irc.test SJOIN 1700000000000 #c +nt :~alice",
            ":irc.test OID 1700000000000 #c 000100001",
        ]
    );
    assert_eq!(
        t.take(old),
        vec![":irc.test SJOIN 1700000000000 #c +nt :@alice"]
    );
    t.feed(bob, "JOIN #c");
    for c in [new, old, alice, bob] {
        t.take(c);
    }
    (t, [new, old, alice, bob])
}

#[test]
fn q_is_o_without_ircx() {
    let (mut t, [new, old, alice, _]) = owned_channel();
    t.feed(alice, "MODE #c +q bob");
    assert_eq!(t.take(new), vec![":alice MODE #c +q bob"]);
    assert_eq!(t.take(old), vec![":alice MODE #c +o bob"]);
    t.feed(alice, "MODE #c -q+v bob bob");
    assert_eq!(t.take(new), vec![":alice MODE #c -q+v bob bob"]);
    assert_eq!(t.take(old), vec![":alice MODE #c -o+v bob bob"]);
    // An owner who is an op too stays an op on the old side when the q goes.
    t.feed(alice, "MODE #c +qo bob bob");
    assert_eq!(t.take(new), vec![":alice MODE #c +qo bob bob"]);
    assert_eq!(t.take(old), vec![":alice MODE #c +oo bob bob"]);
    t.feed(alice, "MODE #c -q bob");
    assert_eq!(t.take(new), vec![":alice MODE #c -q bob"]);
    assert_eq!(t.take(old), Vec::<String>::new());
}

#[test]
fn the_burst_shows_owners_by_the_peers_capabilities() {
    let mut t = TestWorld::with_portals();
    let alice = t.user("alice");
    let bob = t.user("bob");
    t.feed(alice, "IRCX");
    t.feed(alice, "JOIN #c");
    t.feed(bob, "JOIN #c");
    t.feed(alice, "MODE #c +v bob");
    let newer = t.link("peer.test", 2, ALL_IRCX, 2);
    let older = t.link("far.test", 3, ALL, 2);
    let sjoin = |lines: Vec<String>| -> Vec<String> {
        norm(lines)
            .into_iter()
            .filter(|l| l.contains(" SJOIN "))
            .collect()
    };
    assert_eq!(
        sjoin(t.take(newer)),
        vec![":irc.test SJOIN 1700000000000 #c +nt :+bob ~alice"]
    );
    assert_eq!(
        sjoin(t.take(older)),
        vec![":irc.test SJOIN 1700000000000 #c +nt :+bob @alice"]
    );
}

#[test]
fn owners_from_a_peer_with_ircx_are_owners_here_and_ops_beyond() {
    let (mut t, [new, old, _, bob]) = owned_channel();
    t.feed(
        new,
        ":peer.test NICK nora 1 1700000000000 ~nora new.host 2 + :Nora",
    );
    t.feed(new, ":peer.test SJOIN 1700000000000 #c + :~nora");
    assert_eq!(
        t.take(old).last().unwrap(),
        ":peer.test SJOIN 1700000000000 #c + :@nora"
    );
    assert_eq!(
        t.take(bob),
        vec![":nora!~nora@new.host JOIN #c", ":peer.test MODE #c +q nora"]
    );
}
