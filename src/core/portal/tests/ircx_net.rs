//! IRCX channel state across links, beyond properties: IRCX modes, OIDs, KNOCK to hosts on
//! other servers, and EVENTs for what happens elsewhere. Each to a peer with `IRCX` and to
//! one without (an older Portico), by exact lines.

use super::*;

const NOW: u64 = 1700000000000;

/// peer.test (IRCX) with nora and far.test (no IRCX) with olly, both ended their burst.
fn two_links(extra: &str) -> (TestWorld, ConnId, ConnId) {
    let mut t = TestWorld::with_portals_and(extra);
    let new = t.link("peer.test", 2, ALL_IRCX, 2);
    let old = t.link("far.test", 3, ALL, 2);
    t.feed(
        new,
        ":peer.test NICK nora 1 1600000000000 ~nora new.host 2 + :Nora",
    );
    t.feed(new, ":peer.test EOB");
    t.feed(
        old,
        ":far.test NICK olly 1 1600000000000 ~olly old.host 3 + :Olly",
    );
    t.feed(old, ":far.test EOB");
    for c in [new, old] {
        t.take(c);
    }
    (t, new, old)
}

fn oid_of(t: &TestWorld, chan: &str) -> String {
    let ch = t.w.find_channel(chan.as_bytes()).unwrap();
    t.w.channels[ch].oid_str()
}

// ---- IRCX channel modes ------------------------------------------------------------------

#[test]
fn ircx_flags_travel_in_the_burst_and_in_mode_to_every_native_link() {
    let (mut t, new, old) = two_links(EX_PORTAL);
    let alice = t.user("alice");
    t.feed(alice, "IRCX");
    t.feed(alice, "JOIN #c");
    for c in [new, old] {
        t.take(c);
    }
    t.feed(alice, "MODE #c +uwhl 5");
    // Live: the same line to both; an older Portico ignores letters it lacks (below).
    assert_eq!(t.take(new), vec![":alice MODE #c +uwhl 5"]);
    assert_eq!(t.take(old), vec![":alice MODE #c +uwhl 5"]);
    t.feed(alice, "MODE #c +d");
    assert_eq!(t.take(new), vec![":alice MODE #c +d"]);
    assert_eq!(t.take(old), vec![":alice MODE #c +d"]);
    // No CTCP: a plain flag of ours, carried like the IRCX ones.
    t.feed(alice, "MODE #c +C");
    assert_eq!(t.take(new), vec![":alice MODE #c +C"]);
    assert_eq!(t.take(old), vec![":alice MODE #c +C"]);
    // Burst: every flag but the server's own `r`.
    let later = t.link("ex.test", 4, ALL_IRCX, 2);
    let lines: Vec<String> = t
        .take(later)
        .into_iter()
        .filter(|l| l.contains("#c"))
        .collect();
    assert_eq!(
        lines,
        vec![
            format!(":irc.test SJOIN {NOW} #c +Cdhntuwl 5 :~alice"),
            format!(":irc.test OID {NOW} #c 000100001"),
        ]
    );
}

#[test]
fn ircx_flags_from_a_link_apply_and_unknown_letters_are_ignored() {
    let (mut t, new, old) = two_links("");
    // A letter this server lacks (as `a` is to a Portico before IRCX) is skipped, the
    // rest applies, and the line passes on as it came.
    t.feed(new, &format!(":peer.test SJOIN {NOW} #c +uwY :nora"));
    let ch = t.w.find_channel(b"#c").unwrap();
    assert_eq!(
        crate::core::portal::burst::mode_words(&t.w.channels[ch]).0,
        "+uw"
    );
    assert_eq!(
        t.take(old),
        vec![format!(":peer.test SJOIN {NOW} #c +uwY :nora")]
    );
    t.feed(new, ":nora MODE #c +Yx-u");
    assert_eq!(
        crate::core::portal::burst::mode_words(&t.w.channels[ch]).0,
        "+wx"
    );
    assert_eq!(t.take(old), vec![":nora MODE #c +Yx-u"]);
    // `r` is each server's own: a link cannot set it.
    t.feed(new, ":nora MODE #c +r");
    t.feed(new, &format!(":peer.test SJOIN {NOW} #c +r :nora"));
    assert!(!t.w.channels[ch].is_registered());
}

// ---- OIDs --------------------------------------------------------------------------------

#[test]
fn a_channel_made_elsewhere_takes_its_creators_oid() {
    let (mut t, new, old) = two_links(EX_PORTAL);
    let ex = t.link("ex.test", 4, ALL_IRCX, 2);
    for c in [new, old, ex] {
        t.take(c);
    }
    t.feed(new, &format!(":peer.test SJOIN {NOW} #n +nt :~nora"));
    let made_here = oid_of(&t, "#n");
    t.feed(new, &format!(":peer.test OID {NOW} #n 000200007"));
    assert_eq!(oid_of(&t, "#n"), "000200007");
    // OID lookups follow: the new OID finds the channel, the one made here nothing.
    let ch = t.w.find_channel(b"#n");
    assert_eq!(t.w.find_channel(b"000200007"), ch);
    assert_eq!(t.w.find_channel(made_here.as_bytes()), None);
    assert_eq!(
        t.take(ex),
        vec![
            format!(":peer.test SJOIN {NOW} #n +nt :~nora"),
            format!(":peer.test OID {NOW} #n 000200007"),
        ]
    );
    assert_eq!(
        t.take(old),
        vec![format!(":peer.test SJOIN {NOW} #n +nt :@nora")]
    );
    // The same again changes nothing and goes nowhere.
    t.feed(new, &format!(":peer.test OID {NOW} #n 000200007"));
    assert_eq!(t.take(ex), Vec::<String>::new());
}

/// A third IRCX portal, to see what is passed on.
const EX_PORTAL: &str = "[[portal]]\nname = \"ex.test\"\nid = 4\npassword = \"pw\"\n";

/// #c made here by alice at NOW (OID 000100001), then peer.test's SJOIN and OID for its own
/// #c made at `theirs_ms` with `their_oid`: the OID #c ends with here.
fn merged_oid(theirs_ms: u64, their_oid: &str) -> String {
    let (mut t, new, _) = two_links("");
    let alice = t.user("alice");
    t.feed(alice, "JOIN #c");
    assert_eq!(oid_of(&t, "#c"), "000100001");
    t.feed(new, &format!(":peer.test SJOIN {theirs_ms} #c +nt :@nora"));
    t.take(new);
    t.feed(new, &format!(":peer.test OID {theirs_ms} #c {their_oid}"));
    let oid = oid_of(&t, "#c");
    // Ours kept: the peer is told it; theirs taken: nothing goes back.
    let answer = if oid == "000100001" {
        vec![format!(":irc.test OID {NOW} #c 000100001")]
    } else {
        vec![]
    };
    assert_eq!(t.take(new), answer);
    assert_eq!(t.w.find_channel(oid.as_bytes()), t.w.find_channel(b"#c"));
    oid
}

#[test]
fn on_a_merge_the_older_channels_oid_wins() {
    // Theirs older: theirs, though greater.
    assert_eq!(merged_oid(NOW - 5, "000200009"), "000200009");
    // Theirs younger: ours, though greater.
    assert_eq!(merged_oid(NOW + 5, "000000003"), "000100001");
    // Equal ages: the lower.
    assert_eq!(merged_oid(NOW, "000200009"), "000100001");
    assert_eq!(merged_oid(NOW, "000000003"), "000000003");
}

#[test]
fn bad_oid_lines_are_dropped() {
    let (mut t, new, _) = two_links("");
    let alice = t.user("alice");
    t.feed(alice, "JOIN #c");
    t.feed(alice, "JOIN #d");
    t.feed(new, &format!(":peer.test SJOIN {} #c + :nora", NOW - 5));
    let d = oid_of(&t, "#d");
    for bad in [
        // Another channel here has it.
        format!(":peer.test OID {} #c {d}", NOW - 5),
        ":peer.test OID -1 #c 000200009".to_string(),
        format!(":peer.test OID {} #c 00020000G", NOW - 5),
        format!(":peer.test OID {} #c 0002000090", NOW - 5),
        // Older than the channel here, which its SJOIN would have made it.
        format!(":peer.test OID {} #c 000200009", NOW - 6),
        format!(":peer.test OID {} #nope 000200009", NOW - 5),
        format!(":peer.test OID {} #c", NOW - 5),
    ] {
        t.feed(new, &bad);
        assert_eq!(oid_of(&t, "#c"), "000100001", "{bad}");
    }
    assert_eq!(oid_of(&t, "#d"), d);
}

// ---- KNOCK -------------------------------------------------------------------------------

/// #k (+u, +i) made by nora on peer.test (IRCX), where she is its owner; alice (IRCX) and
/// bob (RFC) are hosts here, olly on far.test (no IRCX) a host there.
fn knock_room() -> (TestWorld, [ConnId; 4]) {
    let (mut t, new, old) = two_links(EX_PORTAL);
    t.feed(new, &format!(":peer.test SJOIN {NOW} #k +iu :~nora"));
    let alice = t.user("alice");
    let bob = t.user("bob");
    t.feed(alice, "IRCX");
    for (c, nick) in [(alice, "alice"), (bob, "bob")] {
        let cid = t.w.find_nick(nick.as_bytes()).unwrap();
        let ch = t.w.find_channel(b"#k").unwrap();
        t.w.channels[ch].invites.push(cid);
        t.feed(c, "JOIN #k");
    }
    t.feed(new, ":nora MODE #k +oo alice bob");
    t.feed(old, &format!(":far.test SJOIN {NOW} #k + :@olly"));
    for c in [new, old, alice, bob] {
        t.take(c);
    }
    (t, [new, old, alice, bob])
}

#[test]
fn a_refused_join_knocks_on_hosts_of_every_ircx_server() {
    let (mut t, [new, old, alice, bob]) = knock_room();
    // ex.test (IRCX) has a member of #k, but no host: it is told nothing.
    let ex = t.link("ex.test", 4, ALL_IRCX, 2);
    t.feed(
        ex,
        ":ex.test NICK eve 1 1600000000000 ~eve ex.host 4 + :Eve",
    );
    t.feed(ex, &format!(":ex.test SJOIN {NOW} #k + :eve"));
    let carl = t.user("carl");
    for c in [new, old, ex, alice, bob] {
        t.take(c);
    }
    t.feed(carl, "JOIN #k");
    assert_eq!(
        t.take(carl),
        vec![":irc.test 473 carl #k :Cannot join channel (+i)"]
    );
    assert_eq!(t.take(alice), vec![":carl!~carl@127.0.0.1 KNOCK #k 473"]);
    assert_eq!(t.take(bob), Vec::<String>::new());
    assert_eq!(t.take(new), vec![":carl KNOCK #k 473"]);
    assert_eq!(t.take(ex), Vec::<String>::new());
    // No KNOCK to an older Portico: it has no hosts to tell over IRCX.
    assert_eq!(t.take(old), Vec::<String>::new());
}

#[test]
fn a_knock_from_afar_reaches_the_hosts_here() {
    let (mut t, [new, old, alice, bob]) = knock_room();
    t.feed(
        new,
        ":peer.test NICK kim 1 1600000000000 ~kim new.host 2 + :Kim",
    );
    t.take(old);
    t.feed(new, ":kim KNOCK #k 473");
    assert_eq!(t.take(alice), vec![":kim!~kim@new.host KNOCK #k 473"]);
    assert_eq!(t.take(bob), Vec::<String>::new());
    assert_eq!(t.take(old), Vec::<String>::new());
    assert_eq!(t.take(new), Vec::<String>::new());
    // Not +u here (any more): nothing; nor a numeric that is none.
    t.feed(new, ":kim KNOCK #k 47x");
    t.feed(new, ":nora MODE #k -u");
    t.take(alice);
    t.feed(new, ":kim KNOCK #k 473");
    assert_eq!(t.take(alice), Vec::<String>::new());
}

// ---- EVENTs ------------------------------------------------------------------------------

/// An IRCX sysop here, subscribed to CHANNEL and MEMBER events.
fn sysop(t: &mut TestWorld) -> ConnId {
    let sam = t.user("sam");
    t.feed(sam, "IRCX");
    t.feed(sam, "OPER admin pw");
    t.feed(sam, "EVENT ADD CHANNEL");
    t.feed(sam, "EVENT ADD MEMBER");
    t.take(sam);
    sam
}

/// kim, of peer.test, joins #n: what sam was told.
fn kim_joins(t: &mut TestWorld, new: ConnId, sam: ConnId) -> Vec<String> {
    t.feed(
        new,
        ":peer.test NICK kim 1 1600000000000 ~kim new.host 2 + :Kim",
    );
    t.feed(new, &format!(":peer.test SJOIN {NOW} #n + :kim"));
    t.take(sam)
}

#[test]
fn events_for_channels_made_and_joined_elsewhere() {
    let (mut t, new, _) = two_links(OPER);
    let sam = sysop(&mut t);
    let at = NOW / 1000;
    t.feed(new, &format!(":peer.test SJOIN {NOW} #n +nt :~nora"));
    let oid = oid_of(&t, "#n");
    assert_eq!(
        t.take(sam),
        vec![
            format!(":irc.test EVENT {at} CHANNEL CREATE #n {oid} nora!~nora@new.host"),
            format!(":irc.test EVENT {at} MEMBER JOIN #n nora!~nora@new.host"),
        ]
    );
    assert_eq!(
        kim_joins(&mut t, new, sam),
        vec![format!(
            ":irc.test EVENT {at} MEMBER JOIN #n kim!~kim@new.host"
        )]
    );
    t.feed(new, ":kim PART #n");
    assert_eq!(
        t.take(sam),
        vec![format!(
            ":irc.test EVENT {at} MEMBER PART #n kim!~kim@new.host"
        )]
    );
}

#[test]
fn a_peers_burst_raises_no_channel_events() {
    let mut t = TestWorld::with_portals_and(OPER);
    let sam = sysop(&mut t);
    let new = t.link("peer.test", 2, ALL_IRCX, 2);
    t.feed(
        new,
        ":peer.test NICK nora 1 1600000000000 ~nora new.host 2 + :Nora",
    );
    t.feed(new, &format!(":peer.test SJOIN {NOW} #n +nt :~nora"));
    assert_eq!(t.take(sam), Vec::<String>::new());
    t.feed(new, ":peer.test EOB");
    assert_eq!(
        kim_joins(&mut t, new, sam),
        vec![format!(
            ":irc.test EVENT {} MEMBER JOIN #n kim!~kim@new.host",
            NOW / 1000
        )]
    );
}
