//! ACCESS over links: channel and `*` entries live (ADD, DELETE, CLEAR) and in the burst
//! (BACCESS), merges by channel age and `*` union, a remote `*` DENY enforced here. Each to
//! a peer with `IRCX` and to one without, by exact lines.

use super::*;

const NOW: u64 = 1700000000000;
const MANAGER: &str = "[[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n";

/// The IRCX room of the PROP tests (peer.test with IRCX, far.test without, both with a
/// member of #c, which alice owns), with a sysop manager `boss`.
fn room() -> (TestWorld, [ConnId; 3]) {
    let (t, [new, old, alice, _]) = super::ircx::room_with(MANAGER);
    (t, [new, old, alice])
}

/// `level mask` of each entry of #c (or `*`), in list order.
fn entries(t: &TestWorld, object: &str) -> Vec<String> {
    let list = match object {
        "*" => Some(&t.w.access.network),
        name => {
            let ch = t.w.find_channel(name.as_bytes()).unwrap();
            t.w.channels[ch].access_list()
        }
    };
    list.map_or(Vec::new(), |l| {
        l.entries
            .iter()
            .map(|e| format!("{} {} {}", e.level.name(), e.mask, e.expires_ms))
            .collect()
    })
}

#[test]
fn a_local_channel_change_goes_to_ircx_links_only() {
    let (mut t, [new, old, alice]) = room();
    t.feed(alice, "ACCESS #c ADD HOST bob 10 :trusted");
    assert_eq!(
        t.take(new),
        vec![format!(
            ":alice ACCESS #c ADD HOST bob!*@*$* {} 1700000000 1 alice!~alice@127.0.0.1 :trusted",
            NOW + 600_000
        )]
    );
    assert_eq!(t.take(old), Vec::<String>::new());
    t.feed(alice, "ACCESS #c DELETE HOST bob");
    assert_eq!(t.take(new), vec![":alice ACCESS #c DELETE HOST bob!*@*$*"]);
    t.feed(alice, "ACCESS #c ADD DENY x");
    t.feed(alice, "ACCESS #c ADD GRANT y");
    t.take(new);
    // A CLEAR travels as the deletes it made.
    t.feed(alice, "ACCESS #c CLEAR");
    assert_eq!(
        t.take(new),
        vec![
            ":alice ACCESS #c DELETE DENY x!*@*$*",
            ":alice ACCESS #c DELETE GRANT y!*@*$*",
        ]
    );
    assert_eq!(t.take(old), Vec::<String>::new());
    // `$` stays here.
    t.feed(alice, "OPER boss pw");
    t.take(new);
    t.feed(alice, "ACCESS $ ADD DENY *@x.y");
    assert_eq!(t.take(new), Vec::<String>::new());
}

#[test]
fn a_remote_channel_add_is_applied_normalized_and_passed_on() {
    let (mut t, [new, old, alice]) = room();
    let ex = t.link("ex.test", 4, ALL_IRCX, 2);
    t.feed(
        ex,
        ":ex.test NICK eve 1 1600000000000 ~eve ex.host 4 + :Eve",
    );
    t.feed(ex, &format!(":ex.test SJOIN {NOW} #c + :eve"));
    for c in [new, old, alice, ex] {
        t.take(c);
    }
    t.feed(
        new,
        ":nora ACCESS #c ADD VOICE Zed 0 1699999999 0 nora!~nora@new.host :hi there",
    );
    assert_eq!(entries(&t, "#c"), vec!["VOICE Zed!*@*$* 0"]);
    assert_eq!(
        t.take(ex),
        vec![":nora ACCESS #c ADD VOICE Zed!*@*$* 0 1699999999 0 nora!~nora@new.host :hi there"]
    );
    assert_eq!(t.take(new), Vec::<String>::new());
    assert_eq!(t.take(old), Vec::<String>::new());
    assert_eq!(t.take(alice), Vec::<String>::new());
    let list = t.ask(alice, "ACCESS #c LIST");
    assert!(
        list.iter()
            .any(|l| l.ends_with(" 804 alice #c VOICE Zed!*@*$* 0 nora!~nora@new.host :hi there")),
        "{list:?}"
    );
    t.feed(new, ":nora ACCESS #c DELETE voice zed");
    assert_eq!(entries(&t, "#c"), Vec::<String>::new());
    assert_eq!(t.take(ex), vec![":nora ACCESS #c DELETE VOICE zed!*@*$*"]);
}

#[test]
fn bad_remote_entries_are_dropped() {
    let (mut t, [new, _, _]) = room();
    let past = NOW - 1;
    for line in [
        ":nora ACCESS #c ADD BOSS x 0 1 0 s :r".to_string(),
        ":nora ACCESS #c ADD HOST a,b 0 1 0 s :r".to_string(),
        format!(":nora ACCESS #c ADD HOST {} 0 1 0 s :r", "x".repeat(199)),
        ":nora ACCESS #c ADD HOST x soon 1 0 s :r".to_string(),
        ":nora ACCESS #c ADD HOST x -1 1 0 s :r".to_string(),
        format!(":nora ACCESS #c ADD HOST x {past} 1 0 s :expired"),
        ":nora ACCESS #c ADD HOST x 0 1 2 s :r".to_string(),
        ":nora ACCESS #c ADD HOST x 0 1 0 s :a\rb".to_string(),
        ":nora ACCESS #c ADD HOST x 0 1 0 s\x01 :r".to_string(),
        ":nora ACCESS #c ADD HOST x 0 1 0".to_string(),
        ":nora ACCESS * ADD HOST x 0 1 0 s :r".to_string(),
        ":nora ACCESS #nosuch ADD HOST x 0 1 0 s :r".to_string(),
        format!(":peer.test BACCESS {} #c HOST x 0 1 0 s :younger", NOW + 1),
        ":peer.test BACCESS 5 * DENY x 0 1 0 s :ts on *".to_string(),
    ] {
        t.feed(new, &line);
        assert_eq!(entries(&t, "#c"), Vec::<String>::new(), "{line}");
        assert_eq!(entries(&t, "*"), Vec::<String>::new(), "{line}");
    }
}

#[test]
fn a_full_list_takes_nothing_from_a_link() {
    let (mut t, [new, _, _]) = room();
    let max = t.w.config.ircx.max_access;
    for i in 0..max + 3 {
        t.feed(new, &format!(":nora ACCESS #c ADD DENY m{i} 0 1 0 s :r"));
    }
    assert_eq!(entries(&t, "#c").len(), max);
}

#[test]
fn the_burst_carries_channel_and_network_entries_to_ircx_links_only() {
    let mut t = TestWorld::with_portals_and(MANAGER);
    let alice = t.user("alice");
    t.feed(alice, "IRCX");
    t.feed(alice, "OPER boss pw");
    t.feed(alice, "JOIN #c");
    t.feed(alice, "ACCESS #c ADD HOST bob");
    t.feed(alice, "ACCESS * ADD DENY *@spam.host 60 :spam");
    t.feed(alice, "ACCESS $ ADD DENY *@local.only");
    let new = t.link("peer.test", 2, ALL_IRCX, 2);
    let old = t.link("far.test", 3, ALL, 2);
    let ours = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| l.contains(" #c ") || l.contains("ACCESS") || l.ends_with(" EOB"))
            .collect()
    };
    assert_eq!(
        ours(t.take(new)),
        vec![
            format!(":irc.test SJOIN {NOW} #c +nt :~alice"),
            format!(":irc.test OID {NOW} #c 000100001"),
            format!(
                ":irc.test BACCESS {NOW} #c HOST bob!*@*$* 0 1700000000 1 alice!~alice@127.0.0.1 :"
            ),
            format!(
                ":irc.test BACCESS * * DENY *!*@spam.host$* {} 1700000000 1 alice!~alice@127.0.0.1 :spam",
                NOW + 3_600_000
            ),
            ":irc.test EOB".to_string(),
        ]
    );
    assert_eq!(
        ours(t.take(old)),
        vec![
            format!(":irc.test SJOIN {NOW} #c +nt :@alice"),
            ":irc.test EOB".to_string(),
        ]
    );
}

#[test]
fn a_merge_keeps_the_older_channels_entries_and_equal_ones_unite() {
    let (mut t, [new, _, alice]) = room();
    t.feed(alice, "ACCESS #c ADD HOST ours");
    // Equal age: united.
    t.feed(
        new,
        &format!(":peer.test BACCESS {NOW} #c VOICE theirs 0 1 0 s :"),
    );
    assert_eq!(
        entries(&t, "#c"),
        vec!["HOST ours!*@*$* 0", "VOICE theirs!*@*$* 0"]
    );
    // Younger: ignored.
    t.feed(
        new,
        &format!(":peer.test BACCESS {} #c VOICE young 0 1 0 s :", NOW + 1),
    );
    assert_eq!(entries(&t, "#c").len(), 2);
    // Older: ours go with the SJOIN that shows it, theirs come.
    let older = NOW - 1000;
    t.feed(
        new,
        ":peer.test NICK n2 1 1600000000000 ~n2 new.host 2 + :N",
    );
    t.feed(new, &format!(":peer.test SJOIN {older} #c + :n2"));
    assert_eq!(entries(&t, "#c"), Vec::<String>::new());
    t.feed(
        new,
        &format!(":peer.test BACCESS {older} #c OWNER old 0 1 1 s :"),
    );
    assert_eq!(entries(&t, "#c"), vec!["OWNER old!*@*$* 0"]);
}

#[test]
fn network_entries_unite_with_the_later_expiry() {
    let (mut t, [new, old, alice]) = room();
    t.feed(alice, "OPER boss pw");
    t.feed(alice, "ACCESS * ADD DENY *@a.host 10");
    t.feed(alice, "ACCESS * ADD DENY *@b.host");
    let ex = t.link("ex.test", 4, ALL_IRCX, 2);
    for c in [new, old, ex] {
        t.take(c);
    }
    let later = NOW + 3_600_000;
    t.feed(
        new,
        &format!(":peer.test BACCESS * * DENY *@a.host {later} 1 0 s :longer"),
    );
    t.feed(
        new,
        &format!(":peer.test BACCESS * * DENY *@b.host {later} 1 0 s :shorter"),
    );
    t.feed(new, ":peer.test BACCESS * * GRANT ok 0 1 0 s :");
    assert_eq!(
        entries(&t, "*"),
        vec![
            format!("DENY *!*@a.host$* {later}"),
            "DENY *!*@b.host$* 0".to_string(),
            "GRANT ok!*@*$* 0".to_string(),
        ]
    );
    // What changed here goes on to the other IRCX links; what did not, does not.
    assert_eq!(
        t.take(ex),
        vec![
            format!(":peer.test BACCESS * * DENY *!*@a.host$* {later} 1 0 s :longer"),
            ":peer.test BACCESS * * GRANT ok!*@*$* 0 1 0 s :".to_string(),
        ]
    );
    assert_eq!(t.take(old), Vec::<String>::new());
    assert_eq!(t.take(new), Vec::<String>::new());
}

#[test]
fn a_live_network_change_reaches_every_ircx_link() {
    let (mut t, [new, old, alice]) = room();
    let ex = t.link("ex.test", 4, ALL_IRCX, 2);
    t.feed(alice, "OPER boss pw");
    for c in [new, old, ex, alice] {
        t.take(c);
    }
    t.feed(alice, "ACCESS * ADD GRANT *@good 0 :fine");
    let line = ":alice ACCESS * ADD GRANT *!*@good$* 0 1700000000 1 alice!~alice@127.0.0.1 :fine";
    assert_eq!(t.take(new), vec![line]);
    assert_eq!(t.take(ex), vec![line]);
    assert_eq!(t.take(old), Vec::<String>::new());
    // From one link, on to the others.
    t.feed(new, ":nora ACCESS * DELETE GRANT *@good");
    assert_eq!(entries(&t, "*"), Vec::<String>::new());
    assert_eq!(t.take(ex), vec![":nora ACCESS * DELETE GRANT *!*@good$*"]);
    assert_eq!(t.take(new), Vec::<String>::new());
}

#[test]
fn a_remote_network_deny_disconnects_matching_local_users_and_refuses_new_ones() {
    let (mut t, [new, _, alice]) = room();
    let dan = t.user("dan");
    t.feed(alice, "OPER boss pw");
    t.feed(
        new,
        ":nora ACCESS * ADD DENY *@127.0.0.1 0 1700000000 1 nora!~nora@new.host :go",
    );
    assert_eq!(entries(&t, "*"), vec!["DENY *!*@127.0.0.1$* 0"]);
    assert!(
        closed_with(&t, dan).is_some_and(|l| l.contains("go")),
        "{:?}",
        t.closed
    );
    assert!(closed_with(&t, alice).is_none(), "opers stay");
    let carol = t.connect();
    t.feed(carol, "NICK carol");
    t.feed(carol, "USER carol 0 * :c");
    assert!(closed_with(&t, carol).is_some(), "refused at registration");
}

#[test]
fn network_entries_from_links_are_kept_in_the_state_file() {
    let (mut t, [new, _, _]) = room();
    t.w.take_access_dirty();
    t.feed(
        new,
        ":nora ACCESS * ADD GRANT *@ok.host 0 1699999999 1 nora!~nora@new.host :welcome",
    );
    assert!(t.w.take_access_dirty());
    assert_eq!(
        t.w.access_state().lines().skip(1).collect::<Vec<_>>(),
        vec!["access * GRANT *!*@ok.host$* 0 1699999999 1 nora!~nora@new.host :welcome"]
    );
    // An ordinary channel's entries from a link are not kept, as a local one's are not.
    t.feed(new, ":nora ACCESS #c ADD DENY x 0 1 0 s :r");
    assert!(!t.w.take_access_dirty());
}

#[test]
fn a_deleted_network_entry_is_not_brought_back_by_a_burst() {
    let (mut t, [new, old, alice]) = room();
    t.feed(alice, "OPER boss pw");
    t.feed(alice, "ACCESS * ADD DENY *@gone.host 0 :x");
    t.feed(alice, "ACCESS * DELETE DENY *@gone.host");
    for c in [new, old, alice] {
        t.take(c);
    }
    // A server that missed the delete bursts the entry, added before it: refused, and told.
    t.feed(
        new,
        ":peer.test BACCESS * * DENY *@gone.host 0 1699999999 1 s :x",
    );
    assert_eq!(entries(&t, "*"), Vec::<String>::new());
    assert_eq!(
        t.take(new),
        vec![":irc.test ACCESS * DELETE DENY *!*@gone.host$*"]
    );
    assert_eq!(t.take(old), Vec::<String>::new());
    // Added again after the delete: taken.
    t.feed(
        new,
        ":peer.test BACCESS * * DENY *@gone.host 0 1700000001 1 s :again",
    );
    assert_eq!(entries(&t, "*"), vec!["DENY *!*@gone.host$* 0"]);
    // Deleted from a link: remembered too.
    t.feed(new, ":nora ACCESS * DELETE DENY *@gone.host");
    t.feed(
        new,
        ":peer.test BACCESS * * DENY *@gone.host 0 1700000000 1 s :x",
    );
    assert_eq!(entries(&t, "*"), Vec::<String>::new());
    // A local ADD forgets the deletion.
    t.feed(alice, "ACCESS * ADD DENY *@gone.host 0 :back");
    t.feed(alice, "ACCESS * DELETE DENY *@gone.host");
    t.feed(alice, "ACCESS * ADD DENY *@gone.host 0 :back");
    t.take(new);
    t.feed(
        new,
        ":peer.test BACCESS * * DENY *@gone.host 0 1690000000 1 s :old",
    );
    assert_eq!(entries(&t, "*"), vec!["DENY *!*@gone.host$* 0"]);
    assert_eq!(t.take(new), Vec::<String>::new());
}
