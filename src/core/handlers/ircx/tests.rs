//! IRCX transcripts: an IRCX client and RFC clients side by side, exact lines each sees.

use crate::core::testing::TestWorld;
use crate::core::ConnId;

/// alice (IRCX, created #c: op), bob (IRCX), carol (RFC), dave (RFC) in #c; erin (RFC)
/// outside. Everything sent so far is taken.
fn room() -> (TestWorld, [ConnId; 5]) {
    let mut t = TestWorld::new();
    let a = t.user("alice");
    let b = t.user("bob");
    let c = t.user("carol");
    let d = t.user("dave");
    let e = t.user("erin");
    t.feed(a, "IRCX");
    t.feed(b, "IRCX");
    for who in [a, b, c, d] {
        t.feed(who, "JOIN #c");
    }
    for who in [a, b, c, d, e] {
        t.take(who);
    }
    (t, [a, b, c, d, e])
}

#[test]
fn discovery_before_registration() {
    let mut t = TestWorld::new();
    let c = t.connect();
    assert_eq!(
        t.ask(c, "MODE ISIRCX"),
        vec![":irc.test 800 * 0 0 ANON 512 *"]
    );
    // Capitals only, and nothing else MODE can do before registration.
    assert_eq!(
        t.ask(c, "MODE isircx"),
        vec![":irc.test 451 * :You have not registered"]
    );
    assert_eq!(
        t.ask(c, "MODE #c"),
        vec![":irc.test 451 * :You have not registered"]
    );
    assert_eq!(t.ask(c, "ISIRCX"), vec![":irc.test 800 * 0 0 ANON 512 *"]);
    assert_eq!(t.ask(c, "IRCX"), vec![":irc.test 800 * 1 0 ANON 512 *"]);
    t.feed(c, "NICK alice");
    let welcome = t.ask(c, "USER alice 0 * :Alice");
    assert!(welcome
        .iter()
        .any(|l| l.starts_with(":irc.test 005 alice ") && l.contains(" PREFIX=(ov)@+ ")));
    assert_eq!(t.ask(c, "MODE alice"), vec![":irc.test 221 alice +x"]);
    assert_eq!(
        t.ask(c, "ISIRCX"),
        vec![":irc.test 800 alice 1 0 ANON 512 *"]
    );
}

#[test]
fn switching_after_registration() {
    let mut t = TestWorld::new();
    let a = t.user("alice");
    assert_eq!(
        t.ask(a, "ISIRCX"),
        vec![":irc.test 800 alice 0 0 ANON 512 *"]
    );
    let got = t.ask(a, "IRCX");
    assert_eq!(got[0], ":irc.test 800 alice 1 0 ANON 512 *");
    assert_eq!(got[1], ":alice MODE alice :+x");
    // RPL_ISUPPORT again, in the IRCX view.
    assert!(got[2..]
        .iter()
        .all(|l| l.starts_with(":irc.test 005 alice ")));
    assert!(got.iter().any(|l| l.contains(" PREFIX=(ov)@+ ")));
    // Once is enough: a second IRCX only reports.
    assert_eq!(t.ask(a, "IRCX"), vec![":irc.test 800 alice 1 0 ANON 512 *"]);
    assert_eq!(t.ask(a, "MODE alice -x"), Vec::<String>::new());
    assert_eq!(t.ask(a, "MODE alice"), vec![":irc.test 221 alice +x"]);
}

#[test]
fn ircx_commands_are_unknown_to_rfc_clients() {
    let (mut t, [_, _, c, _, _]) = room();
    assert_eq!(
        t.ask(c, "WHISPER #c alice :hi"),
        vec![":irc.test 421 carol WHISPER :Unknown command"]
    );
    // Even without its parameters: an RFC client learns nothing of IRCX.
    assert_eq!(
        t.ask(c, "WHISPER"),
        vec![":irc.test 421 carol WHISPER :Unknown command"]
    );
}

#[test]
fn whisper_reaches_ircx_and_rfc_members_in_their_forms() {
    let (mut t, [a, b, c, d, e]) = room();
    assert!(t.ask(a, "WHISPER #C bob,carol,bob :psst").is_empty());
    assert_eq!(
        t.take(b),
        vec![":alice!~alice@127.0.0.1 WHISPER #c bob :psst"]
    );
    assert_eq!(
        t.take(c),
        vec![":alice!~alice@127.0.0.1 PRIVMSG carol :psst"]
    );
    assert!(t.take(d).is_empty() && t.take(e).is_empty());
    // A user may whisper to themselves.
    assert_eq!(
        t.ask(a, "WHISPER #c alice :note"),
        vec![":alice!~alice@127.0.0.1 WHISPER #c alice :note"]
    );
}

#[test]
fn whisper_errors() {
    let (mut t, [a, b, _, _, e]) = room();
    t.feed(e, "IRCX");
    t.take(e);
    #[rustfmt::skip]
    let cases: &[(ConnId, &str, &[&str])] = &[
        (a, "WHISPER #c", &[":irc.test 461 alice WHISPER :Not enough parameters"]),
        (a, "WHISPER #c bob", &[":irc.test 461 alice WHISPER :Not enough parameters"]),
        (a, "WHISPER #c bob :", &[":irc.test 412 alice :No text to send"]),
        (a, "WHISPER #nope bob :x", &[":irc.test 403 alice #nope :No such channel"]),
        (e, "WHISPER #c bob :x", &[":irc.test 442 erin #c :You're not on that channel"]),
        (a, "WHISPER #c erin :x", &[":irc.test 441 alice erin #c :They aren't on that channel"]),
        (a, "WHISPER #c nobody,bob :x", &[":irc.test 401 alice nobody :No such nick/channel"]),
    ];
    for (who, line, want) in cases {
        assert_eq!(t.ask(*who, line), *want, "{line}");
    }
    // The one valid recipient of the last case still got it.
    assert_eq!(t.take(b), vec![":alice!~alice@127.0.0.1 WHISPER #c bob :x"]);
}

#[test]
fn nowhisper_closes_whispers_between_ordinary_members() {
    let (mut t, [a, b, c, _, _]) = room();
    assert_eq!(
        t.ask(a, "MODE #c +w"),
        vec![":alice!~alice@127.0.0.1 MODE #c +w"]
    );
    t.take(b);
    t.take(c);
    assert_eq!(
        t.ask(b, "WHISPER #c carol :x"),
        vec![":irc.test 923 bob #c :Does not permit whispers"]
    );
    assert!(t.take(c).is_empty());
    // To a host it passes, and a host may whisper to anyone; the refused part of a list is
    // answered once.
    assert_eq!(
        t.ask(b, "WHISPER #c alice,carol :y"),
        vec![":irc.test 923 bob #c :Does not permit whispers"]
    );
    assert_eq!(t.take(a), vec![":bob!~bob@127.0.0.1 WHISPER #c alice :y"]);
    assert!(t.ask(a, "WHISPER #c carol :z").is_empty());
    assert_eq!(t.take(c), vec![":alice!~alice@127.0.0.1 PRIVMSG carol :z"]);
}

#[test]
fn privmsg_and_notice_to_chosen_members() {
    let (mut t, [a, b, c, d, e]) = room();
    assert!(t.ask(a, "PRIVMSG #c bob,carol :just you two").is_empty());
    assert_eq!(
        t.take(b),
        vec![":alice!~alice@127.0.0.1 PRIVMSG #c :just you two"]
    );
    assert_eq!(
        t.take(c),
        vec![":alice!~alice@127.0.0.1 PRIVMSG carol :just you two"]
    );
    assert!(t.take(d).is_empty() && t.take(e).is_empty());
    // RFC senders may use the form too; an outsider named is refused.
    assert_eq!(
        t.ask(c, "NOTICE #c bob,erin :n"),
        Vec::<String>::new(),
        "NOTICE is never answered"
    );
    assert_eq!(t.take(b), vec![":carol!~carol@127.0.0.1 NOTICE #c :n"]);
    assert_eq!(
        t.ask(c, "PRIVMSG #c erin :p"),
        vec![":irc.test 441 carol erin #c :They aren't on that channel"]
    );
    // The channel's rules apply: +n keeps outsiders out.
    assert_eq!(
        t.ask(e, "PRIVMSG #c bob :x"),
        vec![":irc.test 404 erin #c :Cannot send to channel"]
    );
}

#[test]
fn a_whisper_to_a_member_on_another_server_crosses_as_privmsg() {
    let mut t = TestWorld::with_portals();
    let a = t.user("alice");
    t.feed(a, "IRCX");
    t.feed(a, "JOIN #c");
    let peer = t.link("peer.test", 2, "AWAY BMASK EOB SETNAME TB", 2);
    t.feed(
        peer,
        ":peer.test NICK rob 1 1650000000000 ~rob peer.host 2 + :Rob",
    );
    t.feed(peer, ":peer.test SJOIN 1700000000000 #c + :rob");
    t.take(a);
    t.take(peer);
    assert!(t.ask(a, "WHISPER #c rob :over there").is_empty());
    assert_eq!(t.take(peer), vec![":alice PRIVMSG rob :over there"]);
}

#[test]
fn create_makes_a_channel_with_its_modes_and_reports_its_oid() {
    let (mut t, [a, b, c, _, _]) = room();
    assert_eq!(
        t.ask(c, "CREATE #x"),
        vec![":irc.test 421 carol CREATE :Unknown command"]
    );
    assert_eq!(
        t.ask(a, "CREATE #MyChannel tnmlkc 50 password"),
        vec![
            // Server ID 1 in the top 12 bits, the second channel created here.
            ":irc.test CREATE #MyChannel 000100002",
            ":alice!~alice@127.0.0.1 JOIN #MyChannel",
            ":irc.test 353 alice = #MyChannel :@alice",
            ":irc.test 366 alice #MyChannel :End of /NAMES list",
        ]
    );
    assert_eq!(
        t.ask(a, "MODE #MyChannel")[0],
        ":irc.test 324 alice #MyChannel +mntkl password 50"
    );
    // `c`: only if new; a member creating again; another joining with the key.
    assert_eq!(
        t.ask(b, "CREATE #mychannel c"),
        vec![":irc.test 926 bob #MyChannel :Channel already exists."]
    );
    assert_eq!(
        t.ask(a, "CREATE #MyChannel"),
        vec![":irc.test 927 alice #MyChannel :Already in the channel."]
    );
    assert_eq!(
        t.ask(b, "CREATE #MyChannel"),
        vec![":irc.test 475 bob #MyChannel :Cannot join channel (+k)"]
    );
    let got = t.ask(b, "CREATE #MyChannel k password");
    assert_eq!(got[0], ":irc.test CREATE #MyChannel 000100002");
    assert_eq!(got[1], ":bob!~bob@127.0.0.1 JOIN #MyChannel");
    assert_eq!(t.take(a), vec![":bob!~bob@127.0.0.1 JOIN #MyChannel"]);
    // No modes given: JOIN's defaults.
    let got = t.ask(a, "CREATE #plain");
    assert_eq!(got[0], ":irc.test CREATE #plain 000100003");
    assert_eq!(t.ask(a, "MODE #plain")[0], ":irc.test 324 alice #plain +nt");
}

#[test]
fn create_errors() {
    let (mut t, [a, _, _, _, _]) = room();
    #[rustfmt::skip]
    let cases: &[(&str, &str)] = &[
        ("CREATE", ":irc.test 461 alice CREATE :Not enough parameters"),
        ("CREATE #y l", ":irc.test 461 alice CREATE :Not enough parameters"),
        ("CREATE #y l x", ":irc.test 696 alice #y l x :Invalid limit"),
        ("CREATE #y o alice", ":irc.test 472 alice o :is an unknown mode char to me"),
        ("CREATE #y Q", ":irc.test 472 alice Q :is an unknown mode char to me"),
        ("CREATE y", ":irc.test 403 alice y :No such channel"),
    ];
    for (line, want) in cases {
        assert_eq!(t.ask(a, line), vec![*want], "{line}");
    }
    assert!(t.w.find_channel(b"#y").is_none());
}

#[test]
fn knock_tells_ircx_hosts_of_a_refused_join() {
    let (mut t, [a, b, c, d, e]) = room();
    t.feed(a, "MODE #c +o carol");
    t.feed(a, "MODE #c +i");
    for who in [a, b, c, d] {
        t.take(who);
    }
    // Without +u nobody hears of it.
    assert_eq!(
        t.ask(e, "JOIN #c"),
        vec![":irc.test 473 erin #c :Cannot join channel (+i)"]
    );
    assert!(t.take(a).is_empty());
    t.feed(a, "MODE #c +u");
    for who in [a, b, c, d] {
        t.take(who);
    }
    t.feed(e, "JOIN #c");
    // IRCX hosts only: not bob (no host), not carol (an RFC client has no KNOCK).
    assert_eq!(t.take(a), vec![":erin!~erin@127.0.0.1 KNOCK #c 473"]);
    assert!(t.take(b).is_empty() && t.take(c).is_empty() && t.take(d).is_empty());
    t.feed(a, "MODE #c -i+k sesame");
    t.take(a);
    t.feed(e, "JOIN #c wrong");
    assert_eq!(t.take(a), vec![":erin!~erin@127.0.0.1 KNOCK #c 475"]);
}
