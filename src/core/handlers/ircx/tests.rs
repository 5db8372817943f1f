//! IRCX transcripts: an IRCX client and RFC clients side by side, exact lines each sees.

use crate::core::testing::{TestWorld, BASE_CONFIG};
use crate::core::ConnId;

/// alice (IRCX, created #c: op), bob (IRCX), carol (RFC), dave (RFC) in #c; erin (RFC)
/// outside. Everything sent so far is taken.
fn room() -> (TestWorld, [ConnId; 5]) {
    room_in(TestWorld::new())
}

/// [`room`] in a world whose config has an `[[oper]]` admin/pw.
fn room_with_oper() -> (TestWorld, [ConnId; 5]) {
    room_in(TestWorld::with_config(&format!(
        "{BASE_CONFIG}[[oper]]\nname = \"admin\"\npassword = \"pw\"\n"
    )))
}

/// [`room`] in the given world (other IRCX test files build theirs on it).
pub(super) fn room_in(mut t: TestWorld) -> (TestWorld, [ConnId; 5]) {
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
        vec![":irc.test 800 * 0 0 ANON,PLAIN 512 *"]
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
    assert_eq!(
        t.ask(c, "ISIRCX"),
        vec![":irc.test 800 * 0 0 ANON,PLAIN 512 *"]
    );
    assert_eq!(
        t.ask(c, "IRCX"),
        vec![":irc.test 800 * 1 0 ANON,PLAIN 512 *"]
    );
    t.feed(c, "NICK alice");
    let welcome = t.ask(c, "USER alice 0 * :Alice");
    assert!(welcome
        .iter()
        .any(|l| l.starts_with(":irc.test 005 alice ") && l.contains(" PREFIX=(qov).@+ ")));
    assert_eq!(t.ask(c, "MODE alice"), vec![":irc.test 221 alice +x"]);
    assert_eq!(
        t.ask(c, "ISIRCX"),
        vec![":irc.test 800 alice 1 0 ANON,PLAIN 512 *"]
    );
}

#[test]
fn switching_after_registration() {
    let mut t = TestWorld::new();
    let a = t.user("alice");
    assert_eq!(
        t.ask(a, "ISIRCX"),
        vec![":irc.test 800 alice 0 0 ANON,PLAIN 512 *"]
    );
    let got = t.ask(a, "IRCX");
    assert_eq!(got[0], ":irc.test 800 alice 1 0 ANON,PLAIN 512 *");
    assert_eq!(got[1], ":alice MODE alice :+x");
    // RPL_ISUPPORT again, in the IRCX view.
    assert!(got[2..]
        .iter()
        .all(|l| l.starts_with(":irc.test 005 alice ")));
    assert!(got.iter().any(|l| l.contains(" PREFIX=(qov).@+ ")));
    // Once is enough: a second IRCX only reports.
    assert_eq!(
        t.ask(a, "IRCX"),
        vec![":irc.test 800 alice 1 0 ANON,PLAIN 512 *"]
    );
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
            ":irc.test 353 alice = #MyChannel :.alice",
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

// DATA / REQUEST / REPLY (draft §5.4).

const ALICE: &str = ":alice!~alice@127.0.0.1";

#[test]
fn data_to_a_channel_reaches_ircx_members_only() {
    let (mut t, [a, b, c, d, e]) = room();
    assert!(t.ask(a, "DATA #C MYORG.AVATAR :smile").is_empty());
    assert_eq!(
        t.take(b),
        vec![format!("{ALICE} DATA #c MYORG.AVATAR :smile")]
    );
    // RFC members get nothing, the sender no copy.
    assert!(t.take(c).is_empty() && t.take(d).is_empty() && t.take(e).is_empty());
    assert!(t.take(a).is_empty());
    // The verb is the one sent.
    assert!(t.ask(a, "request #c Game.Move :e2e4").is_empty());
    assert_eq!(
        t.take(b),
        vec![format!("{ALICE} REQUEST #c Game.Move :e2e4")]
    );
    assert!(t.ask(b, "REPLY #c Game.Move :e7e5").is_empty());
    assert_eq!(
        t.take(a),
        vec![":bob!~bob@127.0.0.1 REPLY #c Game.Move :e7e5"]
    );
    assert!(t.take(c).is_empty() && t.take(d).is_empty());
}

#[test]
fn data_to_nicks_and_lists() {
    let (mut t, [a, b, c, d, e]) = room();
    t.feed(e, "IRCX");
    t.feed(e, "JOIN #d");
    t.feed(a, "JOIN #d");
    t.take(a);
    t.take(e);
    // An RFC nick is skipped without a word.
    assert!(t.ask(a, "REQUEST BOB,carol VERSION :?").is_empty());
    assert_eq!(t.take(b), vec![format!("{ALICE} REQUEST bob VERSION :?")]);
    assert!(t.take(c).is_empty());
    // Channels and nicks mixed in one list; each target once per recipient it names.
    assert!(t.ask(a, "DATA #c,#d,erin X :y").is_empty());
    assert_eq!(t.take(b), vec![format!("{ALICE} DATA #c X :y")]);
    assert_eq!(
        t.take(e),
        vec![
            format!("{ALICE} DATA #d X :y"),
            format!("{ALICE} DATA erin X :y")
        ]
    );
    assert!(t.take(c).is_empty() && t.take(d).is_empty());
    // Naming oneself is no echo: it is delivered.
    assert_eq!(
        t.ask(a, "DATA alice X :me"),
        vec![format!("{ALICE} DATA alice X :me")]
    );
}

#[test]
fn data_to_chosen_members() {
    let (mut t, [a, b, c, d, e]) = room();
    assert!(t.ask(a, "DATA #c bob,carol,bob X.Y :z").is_empty());
    assert_eq!(t.take(b), vec![format!("{ALICE} DATA #c X.Y :z")]);
    assert!(t.take(c).is_empty() && t.take(d).is_empty() && t.take(e).is_empty());
    t.feed(e, "IRCX");
    t.take(e);
    #[rustfmt::skip]
    let cases: &[(ConnId, &str, &[&str])] = &[
        (a, "DATA #c erin X :z", &[":irc.test 441 alice erin #c :They aren't on that channel"]),
        (a, "DATA #c nobody,bob X :z", &[":irc.test 401 alice nobody :No such nick/channel"]),
        (a, "DATA #nope bob X :z", &[":irc.test 403 alice #nope :No such channel"]),
        (e, "DATA #c bob X :z", &[":irc.test 442 erin #c :You're not on that channel"]),
        (a, "DATA #c bob 9x :z", &[":irc.test 904 alice DATA :Bad message tag"]),
    ];
    for (who, line, want) in cases {
        assert_eq!(t.ask(*who, line), *want, "{line}");
    }
    // The valid recipient of the 401 case still got it.
    assert_eq!(t.take(b), vec![format!("{ALICE} DATA #c X :z")]);
    assert_eq!(
        t.ask(b, "DATA #c alice HST.X :z"),
        vec![":irc.test 908 bob :No permissions to perform command"]
    );
    assert!(t.take(a).is_empty());
}

#[test]
fn data_errors() {
    let (mut t, [a, b, _, _, e]) = room();
    t.feed(e, "IRCX");
    t.take(e);
    #[rustfmt::skip]
    let cases: &[(ConnId, &str, &[&str])] = &[
        (a, "DATA", &[":irc.test 461 alice DATA :Not enough parameters"]),
        (a, "DATA bob X", &[":irc.test 461 alice DATA :Not enough parameters"]),
        (a, "REPLY bob", &[":irc.test 461 alice REPLY :Not enough parameters"]),
        (a, "DATA bob X :", &[":irc.test 412 alice :No text to send"]),
        (a, "DATA , X :y", &[":irc.test 411 alice :No recipient given (DATA)"]),
        (a, "DATA nobody X :y", &[":irc.test 401 alice nobody :No such nick/channel"]),
        (a, "DATA #nope X :y", &[":irc.test 403 alice #nope :No such channel"]),
        (e, "DATA #c X :y", &[":irc.test 404 erin #c :Cannot send to channel"]),
        (a, "DATA a,b,c,d,e X :y", &[":irc.test 407 alice a,b,c,d,e :Too many targets"]),
        // One answer per failed target; the others are delivered.
        (a, "DATA nobody,#nope,bob X :y", &[
            ":irc.test 401 alice nobody :No such nick/channel",
            ":irc.test 403 alice #nope :No such channel",
        ]),
    ];
    for (who, line, want) in cases {
        assert_eq!(t.ask(*who, line), *want, "{line}");
    }
    assert_eq!(t.take(b), vec![format!("{ALICE} DATA bob X :y")]);
}

#[test]
fn data_tags() {
    let (mut t, [a, b, _, _, _]) = room();
    for tag in [
        "1abc",
        ".abc",
        "abcdefghijklmnop",
        "ab-c",
        "a_b",
        "[abc",
        "ab/c",
        "ab\u{e9}",
    ] {
        for verb in ["DATA", "REQUEST", "REPLY"] {
            assert_eq!(
                t.ask(a, &format!("{verb} bob {tag} :x")),
                vec![format!(":irc.test 904 alice {verb} :Bad message tag")],
                "{tag}"
            );
        }
    }
    assert!(t.take(b).is_empty());
    // Fifteen characters, digits and dots after the first letter.
    for tag in ["abcdefghijklmno", "a", "Z9.9.", "MYORG.AVATAR"] {
        assert!(t.ask(a, &format!("DATA bob {tag} :x")).is_empty());
        assert_eq!(t.take(b), vec![format!("{ALICE} DATA bob {tag} :x")]);
    }
}

#[test]
fn reserved_tags_need_their_level() {
    let (mut t, [a, b, _, _, _]) = room();
    let denied = |nick: &str| {
        vec![format!(
            ":irc.test 908 {nick} :No permissions to perform command"
        )]
    };
    // alice steps down from owner to host of #c: neither sysop nor owner; bob is an
    // ordinary member.
    t.feed(a, "MODE #c +o-q alice alice");
    t.take(a);
    t.take(b);
    for (who, nick, line) in [
        (a, "alice", "DATA #c SYS.AD :x"),
        (a, "alice", "DATA bob sys.ad :x"),
        (a, "alice", "DATA #c ADM :x"),
        (a, "alice", "DATA #c OWN.X :x"),
        (a, "alice", "DATA #c own :x"),
        (a, "alice", "DATA bob HST.X :x"),
        (b, "bob", "DATA #c HST.X :x"),
        (b, "bob", "DATA #c hst :x"),
        (b, "bob", "REQUEST #c alice HSTX :x"),
    ] {
        assert_eq!(t.ask(who, line), denied(nick), "{line}");
    }
    assert!(t.take(a).is_empty() && t.take(b).is_empty());
    // A host may send HST tags to the channel, and to chosen members of it.
    assert!(t.ask(a, "DATA #c HST.X :x").is_empty());
    assert!(t.ask(a, "DATA #c bob HST.Y :y").is_empty());
    assert_eq!(
        t.take(b),
        vec![
            format!("{ALICE} DATA #c HST.X :x"),
            format!("{ALICE} DATA #c HST.Y :y"),
        ]
    );
    // Tags merely containing a prefix elsewhere are anyone's.
    assert!(t.ask(b, "DATA #c XSYS :x").is_empty());
    assert_eq!(t.take(a), vec![":bob!~bob@127.0.0.1 DATA #c XSYS :x"]);
}

#[test]
fn a_sysop_may_send_sys_tags() {
    let (mut t, [a, b, c, _, _]) = room_with_oper();
    let denied = vec![":irc.test 908 bob :No permissions to perform command".to_string()];
    assert_eq!(t.ask(b, "DATA #c SYS.AD.SMALL :<url>"), denied);
    t.feed(b, "OPER admin pw");
    t.take(b);
    // The draft's example: a sysop's ad banner to a channel.
    assert!(t.ask(b, "DATA #c SYS.AD.SMALL :<url>").is_empty());
    assert_eq!(
        t.take(a),
        vec![":bob!~bob@127.0.0.1 DATA #c SYS.AD.SMALL :<url>"]
    );
    assert!(t.take(c).is_empty());
    // A sysop outranks owners and hosts, but not sysop managers (ADM tags).
    assert!(t.ask(b, "DATA alice HST.X :h").is_empty());
    assert!(t.ask(b, "DATA #c OWN.X :o").is_empty());
    assert_eq!(
        t.take(a),
        vec![
            ":bob!~bob@127.0.0.1 DATA alice HST.X :h",
            ":bob!~bob@127.0.0.1 DATA #c OWN.X :o",
        ]
    );
    assert_eq!(t.ask(b, "DATA #c ADM.X :m"), denied);
    assert!(t.take(a).is_empty());
}

#[test]
fn data_is_unknown_to_rfc_clients() {
    let (mut t, [a, _, c, _, _]) = room();
    for verb in ["DATA", "REQUEST", "REPLY"] {
        assert_eq!(
            t.ask(c, &format!("{verb} alice X :y")),
            vec![format!(":irc.test 421 carol {verb} :Unknown command")]
        );
        assert_eq!(
            t.ask(c, verb),
            vec![format!(":irc.test 421 carol {verb} :Unknown command")]
        );
    }
    assert!(t.take(a).is_empty());
}

#[test]
fn data_for_a_user_on_another_server_is_not_carried_yet() {
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
    assert!(t.ask(a, "DATA rob X :y").is_empty());
    assert!(t.ask(a, "DATA #c X :y").is_empty());
    assert!(t.ask(a, "DATA #c rob X :y").is_empty());
    assert!(t.take(peer).is_empty());
}

#[test]
fn a_hidden_channel_is_found_by_name_but_never_listed() {
    let (mut t, [a, b, _, _, e]) = room();
    assert_eq!(
        t.ask(a, "MODE #c +h"),
        vec![":alice!~alice@127.0.0.1 MODE #c +h"]
    );
    t.take(b);
    let list_head = ":irc.test 321 erin Channel :Users  Name";
    let list_end = ":irc.test 323 erin :End of /LIST";
    assert_eq!(t.ask(e, "LIST"), vec![list_head, list_end]);
    assert_eq!(t.ask(e, "LIST #*"), vec![list_head, list_end]);
    assert_eq!(
        t.ask(e, "LIST #C"),
        vec![list_head, ":irc.test 322 erin #c 4 :[+hnt] ", list_end]
    );
    // Members see it listed; LISTX the same way.
    assert_eq!(t.ask(b, "LISTX")[1], ":irc.test 812 bob #c +hnt 4 0 :");
    t.feed(e, "IRCX");
    t.take(e);
    assert_eq!(
        t.ask(e, "LISTX"),
        vec![
            ":irc.test 811 erin :Start of ListX",
            ":irc.test 817 erin :End of ListX"
        ]
    );
    assert_eq!(t.ask(e, "LISTX #c")[1], ":irc.test 812 erin #c +hnt 4 0 :");
    // Secret replaces hidden: the three exclude each other.
    assert_eq!(
        t.ask(a, "MODE #c +s"),
        vec![":alice!~alice@127.0.0.1 MODE #c -h+s"]
    );
    assert_eq!(
        t.ask(e, "LIST #c"),
        vec![
            ":irc.test 321 erin Channel :Users  Name",
            ":irc.test 323 erin :End of /LIST",
        ]
    );
}

#[test]
fn a_channel_oid_stands_for_its_name() {
    let (mut t, [a, b, c, _, e]) = room();
    // #c was the first channel created here: server ID 1, counter 1.
    assert_eq!(
        t.ask(a, "TOPIC 000100001 :by oid"),
        vec![":alice!~alice@127.0.0.1 TOPIC #c :by oid"]
    );
    assert_eq!(t.take(c), vec![":alice!~alice@127.0.0.1 TOPIC #c :by oid"]);
    t.take(b);
    assert_eq!(t.ask(b, "PRIVMSG 000100001 :hello"), Vec::<String>::new());
    assert_eq!(t.take(c), vec![":bob!~bob@127.0.0.1 PRIVMSG #c :hello"]);
    assert_eq!(
        t.ask(e, "MODE 0001000ff"),
        vec![":irc.test 401 erin 0001000ff :No such nick/channel"]
    );
}
