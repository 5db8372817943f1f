//! RENAME in the core: rights, refusals, what members see, and the link side.

use crate::core::testing::TestWorld;
use crate::core::ConnId;

const RENAME_LINK: &str = "AWAY BMASK EOB IRCX RENAME SETNAME TB";

/// alice (op, with the capability given) and bob (plain) in #foo, topic set, lines taken.
fn pair(t: &mut TestWorld, alice_caps: &str) -> (ConnId, ConnId) {
    let a = if alice_caps.is_empty() {
        t.user("alice")
    } else {
        t.user_with_caps("alice", alice_caps)
    };
    let b = t.user("bob");
    t.feed(a, "JOIN #foo");
    t.feed(b, "JOIN #foo");
    t.feed(a, "TOPIC #foo :Topic of the renamed channel");
    t.take(a);
    t.take(b);
    (a, b)
}

#[test]
fn members_with_the_capability_see_rename_the_others_part_and_join() {
    let mut t = TestWorld::new();
    let (a, b) = pair(&mut t, "draft/channel-rename");
    assert_eq!(
        t.ask(a, "RENAME #foo #bar :Changing the channel name"),
        [":alice!~alice@127.0.0.1 RENAME #foo #bar :Changing the channel name"]
    );
    let time = t.now.unix_s();
    let got = t.take(b);
    assert_eq!(
        got,
        [
            ":bob!~bob@127.0.0.1 PART #foo :Changing the channel name".to_string(),
            ":bob!~bob@127.0.0.1 JOIN #bar".into(),
            ":irc.test 332 bob #bar :Topic of the renamed channel".into(),
            format!(":irc.test 333 bob #bar alice!~alice@127.0.0.1 {time}"),
            got[4].clone(),
            ":irc.test 366 bob #bar :End of /NAMES list".into(),
        ]
    );
    let mut names: Vec<&str> = got[4]
        .strip_prefix(":irc.test 353 bob = #bar :")
        .expect("353")
        .split(' ')
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["@alice", "bob"]);
    // Everything stays with the channel; the old name is free.
    assert!(t.ask(a, "TOPIC #bar")[0].ends_with("#bar :Topic of the renamed channel"));
    t.feed(b, "PRIVMSG #bar :hi");
    assert_eq!(t.take(a), [":bob!~bob@127.0.0.1 PRIVMSG #bar :hi"]);
    assert_eq!(
        t.ask(b, "PRIVMSG #foo :hi"),
        [":irc.test 401 bob #foo :No such nick/channel"]
    );
}

#[test]
fn a_case_only_rename_is_silent_for_members_without_the_capability() {
    let mut t = TestWorld::new();
    let (a, b) = pair(&mut t, "draft/channel-rename");
    assert_eq!(
        t.ask(a, "RENAME #foo #FOO"),
        [":alice!~alice@127.0.0.1 RENAME #foo #FOO :"]
    );
    assert_eq!(t.take(b), Vec::<String>::new());
    assert!(t.ask(b, "NAMES #foo")[0].contains(" #FOO :"));
}

#[test]
fn the_fallback_respects_extended_join_and_no_implicit_names() {
    let mut t = TestWorld::new();
    let a = t.user("alice");
    let b = t.user_with_caps("bob", "extended-join draft/no-implicit-names");
    t.feed(a, "JOIN #foo");
    t.feed(b, "JOIN #foo");
    t.take(b);
    t.feed(a, "RENAME #foo #bar");
    assert_eq!(
        t.take(b),
        [
            ":bob!~bob@127.0.0.1 PART #foo",
            ":bob!~bob@127.0.0.1 JOIN #bar * :bob real",
        ]
    );
}

#[test]
fn rights_ops_owners_and_managers() {
    let mut t = TestWorld::with_config(&format!(
        "{}\n[[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n",
        crate::core::testing::BASE_CONFIG
    ));
    let (a, b) = pair(&mut t, "");
    assert_eq!(
        t.ask(b, "RENAME #foo #bar"),
        [":irc.test 482 bob #foo :You're not channel operator"]
    );
    assert_eq!(
        t.ask(b, "RENAME #nope #bar"),
        [":irc.test 403 bob #nope :No such channel"]
    );
    let c = t.user("carol");
    assert_eq!(
        t.ask(c, "RENAME #foo #bar"),
        [":irc.test 442 carol #foo :You're not on that channel"]
    );
    // An IRCX creator owns the channel: its hosts may not rename it.
    let x = t.user("xena");
    t.feed(x, "IRCX");
    t.feed(x, "JOIN #owned");
    t.feed(a, "JOIN #owned");
    t.feed(x, "MODE #owned +o alice");
    t.take(a);
    assert_eq!(
        t.ask(a, "RENAME #owned #mine"),
        [":irc.test 482 alice #owned :You're not a channel owner"]
    );
    // A sysop manager overrides, member or not.
    t.feed(c, "OPER boss pw");
    t.take(c);
    assert_eq!(t.ask(c, "RENAME #owned #managed"), Vec::<String>::new());
    assert_eq!(
        t.take(a)[..2],
        [
            ":alice!~alice@127.0.0.1 PART #owned",
            ":alice!~alice@127.0.0.1 JOIN #managed",
        ]
    );
}

#[test]
fn refusals_are_standard_replies() {
    let mut t = TestWorld::new();
    let (a, _b) = pair(&mut t, "");
    t.feed(a, "JOIN #good");
    t.take(a);
    assert_eq!(
        t.ask(a, "RENAME #foo #good :Don't be evil"),
        [":irc.test FAIL RENAME CHANNEL_NAME_IN_USE #foo #good :The channel name is already taken"]
    );
    assert_eq!(
        t.ask(a, "RENAME #foo &local"),
        [":irc.test FAIL RENAME CANNOT_RENAME #foo &local :You cannot change a channel prefix type"]
    );
    assert_eq!(
        t.ask(a, "RENAME #foo #foo"),
        [":irc.test FAIL RENAME CANNOT_RENAME #foo #foo :The channel already has that name"]
    );
    assert_eq!(
        t.ask(a, "RENAME #foo bar"),
        [":irc.test 479 alice bar :Illegal channel name"]
    );
    assert_eq!(
        t.ask(a, "RENAME #foo"),
        [":irc.test 461 alice RENAME :Not enough parameters"]
    );
    t.feed(a, "RENAME #foo #bar");
    t.take(a);
    assert_eq!(
        t.ask(a, "RENAME #bar #baz"),
        [":irc.test FAIL RENAME CANNOT_RENAME #bar #baz :This channel has been renamed recently"]
    );
    t.tick(crate::limits::RENAME_COOLDOWN_MS);
    t.feed(a, "RENAME #bar #baz");
    assert!(t.take(a)[0].contains(" PART #bar"));
}

#[test]
fn a_registered_channel_is_renamed_in_the_configuration_only() {
    let mut t = TestWorld::with_config(&format!(
        "{}\n[[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n\n[[channel]]\nname = \"#reg\"\n",
        crate::core::testing::BASE_CONFIG
    ));
    let a = t.user("alice");
    t.feed(a, "OPER boss pw");
    t.feed(a, "JOIN #reg");
    t.take(a);
    assert_eq!(
        t.ask(a, "RENAME #reg #other"),
        [":irc.test FAIL RENAME CANNOT_RENAME #reg #other :The channel is registered in the server configuration: rename it there"]
    );
}

#[test]
fn renames_travel_with_the_channel_ts_and_need_every_server_to_rename() {
    let mut t = TestWorld::with_portals();
    let peer = t.link("peer.test", 2, RENAME_LINK, 2);
    let a = t.user("alice");
    t.feed(a, "JOIN #foo");
    t.take(peer);
    let ts = t.w.channels[t.w.find_channel(b"#foo").unwrap()].created_ms;
    t.feed(a, "RENAME #foo #bar :why");
    assert_eq!(t.take(peer), [format!(":alice RENAME {ts} #foo #bar :why")]);
    // A server behind the peer cannot rename: refused here.
    t.feed(peer, ":peer.test SERVER far.test 2 3 :far");
    t.feed(peer, ":peer.test NORENAME far.test");
    t.tick(crate::limits::RENAME_COOLDOWN_MS);
    t.take(a);
    assert_eq!(
        t.ask(a, "RENAME #bar #baz"),
        [":irc.test FAIL RENAME CANNOT_RENAME #bar #baz :Server far.test cannot rename channels, so the network would disagree on the name"]
    );
    assert!(!t.take(peer).iter().any(|l| l.contains("RENAME")));
}

#[test]
fn a_peer_without_rename_blocks_and_is_told_of_others_that_cannot() {
    let mut t = TestWorld::with_portals();
    let old = t.link("peer.test", 2, "AWAY BMASK EOB IRCX SETNAME TB", 2);
    let a = t.user("alice");
    t.feed(a, "JOIN #foo");
    t.take(a);
    assert_eq!(
        t.ask(a, "RENAME #foo #bar"),
        [":irc.test FAIL RENAME CANNOT_RENAME #foo #bar :Server peer.test cannot rename channels, so the network would disagree on the name"]
    );
    // A later RENAME peer hears that peer.test is out of reach of renames.
    let new = t.link("far.test", 3, RENAME_LINK, 2);
    let burst = t.take(new);
    let i = burst
        .iter()
        .position(|l| l.starts_with(":irc.test SERVER peer.test "))
        .expect("peer.test introduced");
    assert_eq!(burst[i + 1], ":irc.test NORENAME peer.test");
    assert!(!t.take(old).iter().any(|l| l.contains("NORENAME")));
}

#[test]
fn an_ngircd_link_blocks_renames() {
    let mut t = TestWorld::with_portals();
    t.link_ngircd("ng.test");
    let a = t.user("alice");
    t.feed(a, "JOIN #foo");
    t.take(a);
    assert_eq!(
        t.ask(a, "RENAME #foo #bar"),
        [":irc.test FAIL RENAME CANNOT_RENAME #foo #bar :Server ng.test cannot rename channels, so the network would disagree on the name"]
    );
}

/// alice here and nora on peer.test in #foo (made at `ts`).
fn linked_pair(t: &mut TestWorld, ts: u64) -> (ConnId, ConnId) {
    let peer = t.link("peer.test", 2, RENAME_LINK, 2);
    t.feed(
        peer,
        ":peer.test NICK nora 1 1600000000000 ~nora new.host 2 + :Nora",
    );
    t.feed(peer, &format!(":peer.test SJOIN {ts} #foo + :@nora"));
    t.feed(peer, ":peer.test EOB");
    let a = t.user_with_caps("alice", "draft/channel-rename");
    t.feed(a, "JOIN #foo");
    t.feed(peer, ":nora MODE #foo +o alice");
    t.take(a);
    t.take(peer);
    (peer, a)
}

#[test]
fn a_rename_from_a_link_is_applied_and_racing_lines_follow_it() {
    let mut t = TestWorld::with_portals();
    let ts = 1_600_000_000_000u64;
    let (peer, a) = linked_pair(&mut t, ts);
    t.feed(peer, &format!(":nora RENAME {ts} #foo #bar :moved"));
    assert_eq!(t.take(a), [":nora!~nora@new.host RENAME #foo #bar :moved"]);
    // Lines a server behind the peer sent before the rename reached it name #foo.
    t.feed(
        peer,
        ":peer.test NICK olly 1 1600000000000 ~olly old.host 2 + :Olly",
    );
    t.feed(peer, &format!(":peer.test SJOIN {ts} #foo + :olly"));
    assert_eq!(t.take(a), [":olly!~olly@old.host JOIN #bar"]);
    t.feed(peer, ":olly PRIVMSG #foo :late");
    assert_eq!(t.take(a), [":olly!~olly@old.host PRIVMSG #bar :late"]);
    t.feed(peer, ":olly PART #foo :bye");
    assert_eq!(t.take(a), [":olly!~olly@old.host PART #bar :bye"]);
    // An SJOIN of the old name with another timestamp is a new channel.
    t.feed(peer, &format!(":peer.test SJOIN {} #foo + :nora", ts + 5));
    assert!(t.w.find_channel(b"#foo").is_some());
}

#[test]
fn concurrent_renames_end_on_the_greater_name_everywhere() {
    let mut t = TestWorld::with_portals();
    let ts = 1_600_000_000_000u64;
    let (peer, a) = linked_pair(&mut t, ts);
    assert_eq!(
        t.ask(a, "RENAME #foo #aaa"),
        [":alice!~alice@127.0.0.1 RENAME #foo #aaa :"]
    );
    // The peer renamed it to #zzz at the same time: the greater name wins.
    t.feed(peer, &format!(":nora RENAME {ts} #foo #zzz :"));
    assert_eq!(t.take(a), [":nora!~nora@new.host RENAME #aaa #zzz :"]);
    // And a smaller one, crossing ours, is not applied.
    let mut t = TestWorld::with_portals();
    let (peer, a) = linked_pair(&mut t, ts);
    assert_eq!(
        t.ask(a, "RENAME #foo #zzz"),
        [":alice!~alice@127.0.0.1 RENAME #foo #zzz :"]
    );
    t.feed(peer, &format!(":nora RENAME {ts} #foo #aaa :"));
    assert_eq!(t.take(a), Vec::<String>::new());
    assert!(t.w.find_channel(b"#zzz").is_some());
}

#[test]
fn a_rename_onto_a_channel_made_meanwhile_merges_them_by_timestamp() {
    let mut t = TestWorld::with_portals();
    let ts = 1_600_000_000_000u64;
    let (peer, a) = linked_pair(&mut t, ts);
    // bob made #bar here while nora's rename of #foo to #bar was on its way.
    let b = t.user("bob");
    t.feed(b, "JOIN #bar");
    t.feed(b, "TOPIC #bar :fresh");
    t.take(b);
    t.take(a);
    t.feed(peer, &format!(":nora RENAME {ts} #foo #bar :merge"));
    assert_eq!(
        t.take(a),
        [
            ":nora!~nora@new.host RENAME #foo #bar :merge",
            ":peer.test TOPIC #bar :fresh",
            ":bob!~bob@127.0.0.1 JOIN #bar",
        ]
    );
    // bob's #bar was younger: he keeps no op, and sees himself moved into the merge.
    let got = t.take(b);
    assert_eq!(
        got[..4],
        [
            ":bob!~bob@127.0.0.1 PART #bar :merge".to_string(),
            ":bob!~bob@127.0.0.1 JOIN #bar".into(),
            ":irc.test 332 bob #bar :fresh".into(),
            format!(
                ":irc.test 333 bob #bar bob!~bob@127.0.0.1 {}",
                t.now.unix_s()
            ),
        ]
    );
    let mut names: Vec<&str> = got[4]
        .strip_prefix(":irc.test 353 bob = #bar :")
        .expect("353")
        .split(' ')
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["@alice", "@nora", "bob"]);
    assert_eq!(got[5..], [":irc.test 366 bob #bar :End of /NAMES list"]);
    let ch = t.w.find_channel(b"#bar").expect("merged");
    assert_eq!(t.w.channels[ch].created_ms, ts);
    assert_eq!(t.w.channels.len(), 1);
}

#[test]
fn a_server_that_appears_after_a_rename_keeps_its_own_channel_of_the_old_name() {
    let mut t = TestWorld::with_portals();
    let ts = 1_600_000_000_000u64;
    let (peer, a) = linked_pair(&mut t, ts);
    t.feed(peer, &format!(":nora RENAME {ts} #foo #bar :moved"));
    t.take(a);
    // far.test was split off during the rename; it rejoins behind the peer with #foo.
    t.tick(1);
    t.feed(peer, ":peer.test SERVER far.test 2 3 :far");
    t.feed(
        peer,
        ":far.test NICK olly 1 1600000000000 ~olly old.host 3 + :Olly",
    );
    t.feed(peer, &format!(":far.test SJOIN {ts} #foo + :@olly"));
    t.feed(peer, ":olly PRIVMSG #foo :still here");
    assert_eq!(t.take(a), Vec::<String>::new());
    let old = t.w.find_channel(b"#foo").expect("a channel of its own");
    let new = t.w.find_channel(b"#bar").expect("renamed");
    assert_ne!(old, new);
    assert_eq!(t.w.channels[old].members.len(), 1);
    assert_eq!(t.w.channels[new].members.len(), 2);
}
