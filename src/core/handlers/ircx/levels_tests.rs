//! IRCX levels (sysop, sysop manager), GAG (`+z`) and REDIRECT: the exact lines each
//! connection sees.

use crate::core::caps;
use crate::core::testing::{TestWorld, BASE_CONFIG};
use crate::core::{ClientId, ConnId};

/// A sysop (`admin`) and a sysop manager (`boss`), both with password `pw`.
const OPERS: &str = "[[oper]]\nname = \"admin\"\npassword = \"pw\"\n\
                     [[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n";

const ALICE: &str = ":alice!~alice@127.0.0.1";
const NOPRIV: &str = "Permission Denied- You're not an IRC operator";

/// alice (IRCX, op of #c), bob (IRCX), carol (RFC), dave (RFC) in #c; erin (RFC, sysop)
/// outside. Everything sent so far is taken.
fn room() -> (TestWorld, [ConnId; 5]) {
    let world = TestWorld::with_config(&format!("{BASE_CONFIG}{OPERS}"));
    let (mut t, conns) = super::tests::room_in(world);
    t.feed(conns[4], "OPER admin pw");
    t.take(conns[4]);
    (t, conns)
}

fn client(t: &TestWorld, conn: ConnId) -> ClientId {
    t.w.local(conn).unwrap().client.unwrap()
}

fn nothing_for(t: &mut TestWorld, conns: &[ConnId]) {
    for &c in conns {
        assert_eq!(t.take(c), Vec::<String>::new(), "{c:?}");
    }
}

#[test]
fn adm_tags_are_for_managers() {
    let (mut t, [a, b, _, _, _]) = room();
    assert_eq!(
        t.ask(a, "OPER boss pw"),
        vec![
            ":irc.test 381 alice :You are now an IRC operator",
            ":alice MODE alice :+oa",
        ]
    );
    assert!(t.w.is_manager(client(&t, a)));
    // A sysop manager meets every level: ADM, SYS, OWN, HST.
    assert!(t.ask(a, "DATA #c ADM.X :m").is_empty());
    assert!(t.ask(a, "REQUEST bob adm :n").is_empty());
    assert!(t.ask(a, "DATA #c bob SYS.X :s").is_empty());
    assert!(t.ask(a, "DATA bob OWN.X :o").is_empty());
    assert_eq!(
        t.take(b),
        vec![
            format!("{ALICE} DATA #c ADM.X :m"),
            format!("{ALICE} REQUEST bob adm :n"),
            format!("{ALICE} DATA #c SYS.X :s"),
            format!("{ALICE} DATA bob OWN.X :o"),
        ]
    );
    // A sysop does not.
    assert_eq!(
        t.ask(b, "OPER admin pw"),
        vec![
            ":irc.test 381 bob :You are now an IRC operator",
            ":bob MODE bob :+o",
        ]
    );
    let denied = vec![":irc.test 908 bob :No permissions to perform command"];
    assert_eq!(t.ask(b, "DATA #c ADM.X :m"), denied);
    assert_eq!(t.ask(b, "DATA alice adm :m"), denied);
    assert_eq!(t.ask(b, "DATA #c alice ADM :m"), denied);
    assert!(t.take(a).is_empty());
    // Giving up +o gives up the manager's level with it.
    assert_eq!(t.ask(a, "MODE alice -o"), vec![":alice MODE alice :-ao"]);
    assert_eq!(
        t.ask(a, "DATA #c ADM.X :m"),
        vec![":irc.test 908 alice :No permissions to perform command"]
    );
}

#[test]
fn a_gagged_user_reaches_nobody_and_is_not_told() {
    let (mut t, [a, b, c, d, e]) = room();
    // alice and bob see echoes and tags, so a missing line is no accident of capabilities.
    for who in [a, b] {
        let cid = client(&t, who);
        let bits = t.w.clients[cid].caps | caps::ECHO_MESSAGE | caps::MESSAGE_TAGS;
        t.w.set_caps(cid, bits);
    }
    assert_eq!(t.ask(e, "MODE alice +z"), vec![":erin MODE alice :+z"]);
    nothing_for(&mut t, &[a, b, c, d]);
    assert!(t.w.is_gagged(client(&t, a)));
    // Set again: nothing changes, nothing is said.
    assert!(t.ask(e, "MODE Alice +z").is_empty());
    // The echo-message copy still comes back, as for anyone: a client that never saw its
    // own lines return would know.
    let me = ":alice!~alice@127.0.0.1";
    #[rustfmt::skip]
    let cases: &[(&str, &[String])] = &[
        ("PRIVMSG #c :hi all", &[format!("{me} PRIVMSG #c :hi all")]),
        ("PRIVMSG bob :hi bob", &[format!("{me} PRIVMSG bob :hi bob")]),
        ("PRIVMSG carol,#c :both", &[format!("{me} PRIVMSG carol :both"), format!("{me} PRIVMSG #c :both")]),
        ("NOTICE #c :notice", &[format!("{me} NOTICE #c :notice")]),
        ("NOTICE carol :notice", &[format!("{me} NOTICE carol :notice")]),
        ("@+typing=active TAGMSG #c", &[format!("@+typing=active {me} TAGMSG #c")]),
        ("@+typing=active TAGMSG bob", &[format!("@+typing=active {me} TAGMSG bob")]),
        ("WHISPER #c bob,carol :psst", &[]),
        ("PRIVMSG #c bob,carol :chosen", &[]),
        ("NOTICE #c carol :chosen", &[]),
        ("DATA #c X :d", &[]),
        ("REQUEST bob X :r", &[]),
        ("REPLY #c bob X :r", &[]),
        ("PRIVMSG @#c :ops", &[format!("{me} PRIVMSG @#c :ops")]),
    ];
    for (line, echo) in cases {
        assert_eq!(t.ask(a, line), *echo, "{line}");
        nothing_for(&mut t, &[b, c, d, e]);
    }
    // Answered as anyone would be: the errors that do not depend on the gag still come.
    assert_eq!(
        t.ask(a, "PRIVMSG nobody :x"),
        vec![":irc.test 401 alice nobody :No such nick/channel"]
    );
    assert_eq!(
        t.ask(a, "WHISPER #c erin :x"),
        vec![":irc.test 441 alice erin #c :They aren't on that channel"]
    );
    // The user's own view of their modes shows no z, and they cannot lift it.
    assert_eq!(t.ask(a, "MODE alice"), vec![":irc.test 221 alice +x"]);
    assert_eq!(
        t.ask(a, "MODE alice -z"),
        vec![format!(":irc.test 481 alice :{NOPRIV}")]
    );
    assert!(t.w.is_gagged(client(&t, a)));
    // Others see nothing either: the gag is the sysops' secret.
    assert_eq!(
        t.ask(b, "MODE alice"),
        vec![":irc.test 502 bob :Cant change mode for other users"]
    );
    nothing_for(&mut t, &[a, c, d, e]);

    // -z lifts it, again without a word to alice.
    assert_eq!(t.ask(e, "MODE alice -z"), vec![":erin MODE alice :-z"]);
    nothing_for(&mut t, &[a, b, c, d]);
    assert!(t.ask(e, "MODE alice -z").is_empty());
    assert_eq!(
        t.ask(a, "PRIVMSG #c :back"),
        vec![format!("{ALICE} PRIVMSG #c :back")]
    );
    assert_eq!(t.take(b), vec![format!("{ALICE} PRIVMSG #c :back")]);
    assert_eq!(t.take(c), vec![format!("{ALICE} PRIVMSG #c :back")]);
    assert_eq!(t.take(d), vec![format!("{ALICE} PRIVMSG #c :back")]);
    assert!(t.ask(a, "WHISPER #c bob :psst").is_empty());
    assert_eq!(t.take(b), vec![format!("{ALICE} WHISPER #c bob :psst")]);
    assert!(t.ask(a, "DATA bob X :d").is_empty());
    assert_eq!(t.take(b), vec![format!("{ALICE} DATA bob X :d")]);
    t.feed(a, "@+typing=active TAGMSG bob");
    assert_eq!(
        t.take(b),
        vec![format!("@+typing=active {ALICE} TAGMSG bob")]
    );
}

#[test]
fn only_sysops_gag() {
    let (mut t, [a, _, c, d, e]) = room();
    let nopriv = |nick: &str| vec![format!(":irc.test 481 {nick} :{NOPRIV}")];
    let other = |nick: &str| {
        vec![format!(
            ":irc.test 502 {nick} :Cant change mode for other users"
        )]
    };
    #[rustfmt::skip]
    let cases: Vec<(ConnId, &str, Vec<String>)> = vec![
        // Not a sysop: 481, on anyone, themselves included.
        (d, "MODE carol +z", nopriv("dave")),
        (d, "MODE carol -z", nopriv("dave")),
        (d, "MODE dave +z", nopriv("dave")),
        // An IRCX host is no sysop.
        (a, "MODE carol +z", nopriv("alice")),
        // The rest of the user's own modes still apply.
        (d, "MODE dave +iz", vec![format!(":irc.test 481 dave :{NOPRIV}"), ":dave MODE dave :+i".into()]),
        // Other modes of other users stay out of reach, for sysops too.
        (d, "MODE carol +i", other("dave")),
        (e, "MODE carol +i", other("erin")),
        (e, "MODE carol +zi", other("erin")),
        (e, "MODE carol +o", other("erin")),
        (e, "MODE carol", other("erin")),
        (e, "MODE nobody +z", vec![":irc.test 401 erin nobody :No such nick/channel".into()]),
    ];
    for (who, line, want) in cases {
        assert_eq!(t.ask(who, line), want, "{line}");
        nothing_for(&mut t, &[c]);
    }
    assert!(!t.w.is_gagged(client(&t, c)));
    assert!(!t.w.is_gagged(client(&t, d)));
}

#[test]
fn a_gag_stays_on_this_server() {
    let mut t = TestWorld::with_portals_and(OPERS);
    let a = t.user("alice");
    let e = t.user("erin");
    t.feed(e, "OPER admin pw");
    t.feed(a, "JOIN #c");
    let peer = t.link("peer.test", 2, "AWAY BMASK EOB SETNAME TB", 2);
    t.feed(
        peer,
        ":peer.test NICK rob 1 1650000000000 ~rob peer.host 2 + :Rob",
    );
    t.feed(peer, ":peer.test SJOIN 1700000000000 #c + :rob");
    for who in [a, e, peer] {
        t.take(who);
    }
    assert_eq!(t.ask(e, "MODE alice +z"), vec![":erin MODE alice :+z"]);
    assert!(t.take(peer).is_empty());
    // A user on another server is that server's to gag.
    assert_eq!(
        t.ask(e, "MODE rob +z"),
        vec![":irc.test 502 erin :Cant change mode for other users"]
    );
    assert!(t.ask(a, "PRIVMSG rob :x").is_empty());
    assert!(t.ask(a, "PRIVMSG #c :x").is_empty());
    assert!(t.take(peer).is_empty());
    // A remote user's messages are not this server's to gag.
    t.feed(peer, ":rob PRIVMSG alice :hello");
    assert_eq!(t.take(a), vec![":rob!~rob@peer.host PRIVMSG alice :hello"]);
}

#[test]
fn redirect_at_shutdown_to_ircx_connections_only() {
    let mut t =
        TestWorld::with_portals_and("[ircx]\nredirect = \"a.example:6667, b.example:6667\"\n");
    let a = t.user("alice");
    t.feed(a, "IRCX");
    let c = t.user("carol");
    // Not registered yet: one switched to IRCX, one did not.
    let x = t.connect();
    t.feed(x, "IRCX");
    let y = t.connect();
    let peer = t.link("peer.test", 2, "AWAY BMASK EOB SETNAME TB", 2);
    for who in [a, c, x, y, peer] {
        t.take(who);
    }
    t.shutdown();
    let redirect =
        ":irc.test REDIRECT a.example:6667,b.example:6667 :Server shutting down".to_string();
    let error = "ERROR :Server shutting down".to_string();
    assert_eq!(t.take(a), vec![redirect.clone(), error.clone()]);
    assert_eq!(t.take(x), vec![redirect, error.clone()]);
    assert_eq!(t.take(c), vec![error.clone()]);
    assert_eq!(t.take(y), vec![error.clone()]);
    assert_eq!(t.take(peer), vec![error]);
    assert_eq!(t.closed.len(), 5);

    // Without [ircx] redirect, IRCX connections get the ERROR alone.
    let mut t = TestWorld::new();
    let a = t.user("alice");
    t.feed(a, "IRCX");
    t.take(a);
    t.shutdown();
    assert_eq!(t.take(a), vec!["ERROR :Server shutting down"]);
}
