//! EVENT: subscriptions, their errors, and the exact EVENT lines a sysop sees.

use crate::core::testing::{TestWorld, BASE_CONFIG};
use crate::core::{ConnId, Outbox};

const OPERS: &str = "[[oper]]\nname = \"admin\"\npassword = \"pw\"\n";

/// An IRCX sysop `admin`; everything sent so far taken.
fn sysop(extra: &str) -> (TestWorld, ConnId) {
    let mut t = TestWorld::with_config(&format!("{BASE_CONFIG}{extra}{OPERS}"));
    let a = t.user("admin");
    t.feed(a, "IRCX");
    t.feed(a, "OPER admin pw");
    t.take(a);
    (t, a)
}

fn ev(t: &TestWorld, rest: &str) -> String {
    format!(":irc.test EVENT {} {rest}", t.now.unix_ms / 1000)
}

#[test]
fn add_delete_list_and_errors() {
    let (mut t, a) = sysop("");
    assert_eq!(
        t.ask(a, "EVENT ADD user"),
        vec![":irc.test 806 admin USER *!*@*$*"]
    );
    assert_eq!(
        t.ask(a, "EVENT ADD CHANNEL b*!*@*$*"),
        vec![":irc.test 806 admin CHANNEL b*!*@*$*"]
    );
    assert_eq!(
        t.ask(a, "EVENT ADD USER"),
        vec![":irc.test 918 admin USER *!*@*$* :Duplicate event entry"]
    );
    assert_eq!(
        t.ask(a, "EVENT LIST"),
        vec![
            ":irc.test 808 admin :Start of events",
            ":irc.test 809 admin USER *!*@*$*",
            ":irc.test 809 admin CHANNEL b*!*@*$*",
            ":irc.test 810 admin :End of events",
        ]
    );
    assert_eq!(
        t.ask(a, "EVENT LIST channel"),
        vec![
            ":irc.test 808 admin :Start of events",
            ":irc.test 809 admin CHANNEL b*!*@*$*",
            ":irc.test 810 admin :End of events",
        ]
    );
    assert_eq!(
        t.ask(a, "EVENT DELETE USER"),
        vec![":irc.test 807 admin USER *!*@*$*"]
    );
    assert_eq!(
        t.ask(a, "EVENT DELETE USER"),
        vec![":irc.test 919 admin USER *!*@*$* :Unknown event entry"]
    );
    assert_eq!(
        t.ask(a, "EVENT ADD BOGUS"),
        vec![":irc.test 920 admin BOGUS :No such event type"]
    );
    assert_eq!(
        t.ask(a, "EVENT FROB USER"),
        vec![":irc.test 902 admin EVENT :Bad function"]
    );
    assert_eq!(
        t.ask(a, "EVENT ADD"),
        vec![":irc.test 461 admin EVENT :Not enough parameters"]
    );
    for i in 1..16 {
        assert_eq!(t.ask(a, &format!("EVENT ADD USER m{i}")).len(), 1);
    }
    assert_eq!(
        t.ask(a, "EVENT ADD USER x"),
        vec![":irc.test 921 admin USER :Too many events specified"]
    );
}

#[test]
fn non_opers_and_rfc_clients() {
    let (mut t, _) = sysop("");
    let b = t.user("bob");
    assert_eq!(
        t.ask(b, "EVENT LIST"),
        vec![":irc.test 421 bob EVENT :Unknown command"]
    );
    t.feed(b, "IRCX");
    t.take(b);
    assert_eq!(
        t.ask(b, "EVENT LIST"),
        vec![":irc.test 481 bob :Permission Denied- You're not an IRC operator"]
    );
}

#[test]
fn user_channel_member_and_connect_events() {
    let (mut t, a) = sysop("");
    for ty in ["USER", "CHANNEL", "MEMBER", "CONNECT"] {
        t.feed(a, &format!("EVENT ADD {ty}"));
    }
    t.take(a);
    let b = t.user("bob");
    t.feed(b, "NICK rob");
    t.feed(b, "JOIN #c");
    t.feed(b, "PART #c");
    t.feed(b, "QUIT :bye");
    let oid = "000100001";
    assert_eq!(
        t.take(a),
        vec![
            ev(&t, "CONNECT OPEN 127.0.0.1"),
            ev(&t, "USER LOGON bob!~bob@127.0.0.1 127.0.0.1"),
            ev(&t, "USER NICK bob!~bob@127.0.0.1 rob"),
            ev(&t, &format!("CHANNEL CREATE #c {oid} rob!~bob@127.0.0.1")),
            ev(&t, "MEMBER JOIN #c rob!~bob@127.0.0.1"),
            ev(&t, "MEMBER PART #c rob!~bob@127.0.0.1"),
            ev(&t, &format!("CHANNEL DESTROY #c {oid}")),
            ev(&t, "USER LOGOFF rob!~bob@127.0.0.1 :Quit: bye"),
            ev(&t, "CONNECT CLOSE 127.0.0.1"),
        ]
    );
}

#[test]
fn masks_filter_and_deoper_drops() {
    let (mut t, a) = sysop("");
    t.feed(a, "EVENT ADD USER b*!*@*$irc.test");
    t.take(a);
    let c = t.user("carol");
    let b = t.user("bob");
    assert_eq!(
        t.take(a),
        vec![ev(&t, "USER LOGON bob!~bob@127.0.0.1 127.0.0.1")]
    );
    t.feed(c, "QUIT");
    assert!(t.take(a).is_empty());
    t.feed(a, "MODE admin -o");
    t.take(a);
    t.feed(b, "QUIT");
    assert!(t.take(a).is_empty());
    assert!(t
        .w
        .event_subs(t.w.local(a).unwrap().client.unwrap())
        .is_empty());
}

#[test]
fn refused_connection_is_a_socket_event() {
    let (mut t, a) = sysop("[limits]\nmax_clients_per_ip = 2\n");
    t.feed(a, "EVENT ADD SOCKET");
    t.take(a);
    let _b = t.connect();
    let mut out = Outbox::default();
    let ok =
        t.w.on_open(ConnId(99), "127.0.0.1".parse().unwrap(), t.now, &mut out);
    assert!(!ok);
    let lines: Vec<String> = out
        .sends
        .iter()
        .filter(|(c, _)| *c == a)
        .map(|(_, l)| String::from_utf8_lossy(l).trim_end().to_string())
        .collect();
    assert_eq!(
        lines,
        vec![ev(
            &t,
            "SOCKET REFUSED 127.0.0.1 :Too many connections from your IP address"
        )]
    );
}

#[test]
fn topic_mode_kick_and_status_events() {
    let (mut t, a) = sysop("");
    t.feed(a, "EVENT ADD CHANNEL");
    t.feed(a, "EVENT ADD MEMBER");
    let b = t.user("bob");
    let c = t.user("carol");
    t.feed(b, "JOIN #c");
    t.feed(c, "JOIN #c");
    t.take(a);
    t.feed(b, "TOPIC #c :hello there");
    t.feed(b, "MODE #c +vm-t carol");
    t.feed(b, "KICK #c carol :out");
    assert_eq!(
        t.take(a),
        vec![
            ev(&t, "CHANNEL TOPIC #c bob!~bob@127.0.0.1 :hello there"),
            ev(
                &t,
                "MEMBER MODE #c carol!~carol@127.0.0.1 +v bob!~bob@127.0.0.1"
            ),
            ev(&t, "CHANNEL MODE #c bob!~bob@127.0.0.1 +m-t"),
            ev(
                &t,
                "MEMBER KICK #c carol!~carol@127.0.0.1 bob!~bob@127.0.0.1 :out"
            ),
        ]
    );
}

#[test]
fn a_heal_that_finds_an_older_channel_is_a_collision() {
    let mut t = TestWorld::with_portals_and(OPERS);
    let a = t.user("admin");
    t.feed(a, "IRCX");
    t.feed(a, "OPER admin pw");
    t.feed(a, "EVENT ADD CHANNEL");
    let b = t.user("bob");
    t.feed(b, "JOIN #c");
    let peer = t.link("peer.test", 2, "AWAY BMASK EOB IRCX SETNAME TB", 2);
    t.take(a);
    let oid = t.w.channels[t.w.find_channel(b"#c").unwrap()].oid_str();
    t.feed(peer, ":peer.test SJOIN 1600000000000 #c +nt :");
    let got = t.take(a);
    assert_eq!(
        got,
        vec![ev(&t, &format!("CHANNEL COLLISION #c {oid} peer.test"))]
    );
}
