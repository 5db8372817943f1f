//! ACCESS (draft §5.1): replies and errors, who may change what, evaluation on JOIN, the
//! GRANT-closes rule, timeouts, block lists, and `$`/`*` bans.

use super::tests::room_in;
use crate::core::testing::{TestWorld, BASE_CONFIG};
use crate::core::ConnId;

const OPERS: &str = "[[oper]]\nname = \"admin\"\npassword = \"pw\"\n\
                     [[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n";

/// alice (IRCX) owns #c; bob (IRCX), carol and dave (RFC) are members; erin (RFC) is not.
fn room() -> (TestWorld, [ConnId; 5]) {
    room_in(TestWorld::with_config(&format!("{BASE_CONFIG}{OPERS}")))
}

fn take_all(t: &mut TestWorld, conns: &[ConnId]) {
    for &c in conns {
        t.take(c);
    }
}

#[test]
fn add_list_delete_with_exact_lines() {
    let (mut t, [a, ..]) = room();
    assert_eq!(
        t.ask(a, "ACCESS #c ADD DENY *!*@bad.host 0 :go away"),
        vec![":irc.test 801 alice #c DENY *!*@bad.host$* 0 alice!~alice@127.0.0.1 :go away"]
    );
    assert_eq!(
        t.ask(a, "access #C add voice bob 10"),
        vec![":irc.test 801 alice #c VOICE bob!*@*$* 10 alice!~alice@127.0.0.1 :"]
    );
    // Listed in evaluation order, whatever the order they were added in.
    assert_eq!(
        t.ask(a, "ACCESS #c LIST"),
        vec![
            ":irc.test 803 alice #c :Start of access entries",
            ":irc.test 804 alice #c VOICE bob!*@*$* 10 alice!~alice@127.0.0.1 :",
            ":irc.test 804 alice #c DENY *!*@bad.host$* 0 alice!~alice@127.0.0.1 :go away",
            ":irc.test 805 alice #c :End of access entries",
        ]
    );
    // Without a function, LIST; the OID names the channel too.
    let oid = t.w.channels[t.w.find_channel(b"#c").unwrap()].oid_str();
    assert_eq!(t.ask(a, &format!("ACCESS {oid}")).len(), 4);
    assert_eq!(
        t.ask(a, "ACCESS #c DELETE DENY *!*@BAD.host"),
        vec![":irc.test 802 alice #c DENY *!*@bad.host$*"]
    );
    // No mask: the draft's default *!*@*$*.
    assert_eq!(
        t.ask(a, "ACCESS #c ADD GRANT"),
        vec![":irc.test 801 alice #c GRANT *!*@*$* 0 alice!~alice@127.0.0.1 :"]
    );
    assert_eq!(
        t.ask(a, "ACCESS #c CLEAR"),
        vec![
            ":irc.test 802 alice #c VOICE bob!*@*$*",
            ":irc.test 802 alice #c GRANT *!*@*$*",
        ]
    );
    let ch = t.w.find_channel(b"#c").unwrap();
    assert!(
        t.w.channels[ch].access.is_none(),
        "an emptied list is freed"
    );
}

#[test]
fn every_error_numeric() {
    let mut t = TestWorld::with_config(&format!("{BASE_CONFIG}[ircx]\nmax_access = 2\n"));
    let a = t.user("alice");
    let b = t.user("bob");
    let c = t.user("carol");
    t.feed(a, "IRCX");
    t.feed(b, "IRCX");
    t.feed(a, "JOIN #c");
    t.feed(b, "JOIN #c");
    take_all(&mut t, &[a, b, c]);
    let cases: &[(ConnId, &str, &str)] = &[
        (
            c,
            "ACCESS #c LIST",
            ":irc.test 421 carol ACCESS :Unknown command",
        ),
        (
            a,
            "ACCESS",
            ":irc.test 461 alice ACCESS :Not enough parameters",
        ),
        (
            a,
            "ACCESS #c ADD",
            ":irc.test 461 alice ACCESS :Not enough parameters",
        ),
        (
            a,
            "ACCESS #c FROB",
            ":irc.test 900 alice ACCESS :Bad command",
        ),
        (
            a,
            "ACCESS #c ADD DENY a,b",
            ":irc.test 900 alice ACCESS :Bad command",
        ),
        (
            a,
            "ACCESS #c ADD DENY x soon",
            ":irc.test 900 alice ACCESS :Bad command",
        ),
        (
            a,
            "ACCESS #c LIST x",
            ":irc.test 901 alice ACCESS :Too many arguments",
        ),
        (
            a,
            "ACCESS #c ADD DENY x 5 y z",
            ":irc.test 901 alice ACCESS :Too many arguments",
        ),
        (
            a,
            "ACCESS #c DELETE DENY x 5",
            ":irc.test 901 alice ACCESS :Too many arguments",
        ),
        (
            a,
            "ACCESS #c ADD BOSS x",
            ":irc.test 903 alice ACCESS :Bad level",
        ),
        (
            a,
            "ACCESS alice ADD OWNER x",
            ":irc.test 903 alice ACCESS :Bad level",
        ),
        (
            a,
            "ACCESS $ CLEAR HOST",
            ":irc.test 903 alice ACCESS :Bad level",
        ),
        (
            b,
            "ACCESS #c LIST",
            ":irc.test 908 bob :No permissions to perform command",
        ),
        (
            a,
            "ACCESS $ LIST",
            ":irc.test 908 alice :No permissions to perform command",
        ),
        (
            b,
            "ACCESS #c ADD DENY x",
            ":irc.test 913 bob ACCESS :No access",
        ),
        (
            b,
            "ACCESS alice ADD DENY x",
            ":irc.test 913 bob ACCESS :No access",
        ),
        (
            a,
            "ACCESS $ ADD DENY x",
            ":irc.test 913 alice ACCESS :No access",
        ),
        (
            a,
            "ACCESS * ADD DENY x",
            ":irc.test 913 alice ACCESS :No access",
        ),
        (
            a,
            "ACCESS #c DELETE DENY x",
            ":irc.test 915 alice :Unknown access entry",
        ),
        (
            a,
            "ACCESS #nowhere LIST",
            ":irc.test 924 alice #nowhere :No such object found",
        ),
        (
            a,
            "ACCESS nobody LIST",
            ":irc.test 924 alice nobody :No such object found",
        ),
        (
            a,
            "ACCESS $other.net LIST",
            ":irc.test 925 alice $other.net :Command not supported by object",
        ),
    ];
    for &(who, line, want) in cases {
        assert_eq!(t.ask(who, line), vec![want], "{line}");
    }
    t.feed(a, "ACCESS #c ADD DENY x");
    t.take(a);
    assert_eq!(
        t.ask(a, "ACCESS #c ADD DENY X!*@*$*"),
        vec![":irc.test 914 alice :Duplicate access entry"]
    );
    t.feed(a, "ACCESS #c ADD GRANT x");
    t.take(a);
    assert_eq!(
        t.ask(a, "ACCESS #c ADD VOICE x"),
        vec![":irc.test 916 alice :Too many access entries"]
    );
}

#[test]
fn hosts_cannot_touch_owner_entries_or_the_owner_level() {
    let (mut t, [a, b, c, d, e]) = room();
    t.feed(a, "MODE #c +o bob");
    t.feed(a, "ACCESS #c ADD DENY owned");
    take_all(&mut t, &[a, b, c, d, e]);
    assert_eq!(
        t.ask(b, "ACCESS #c ADD OWNER bob"),
        vec![":irc.test 913 bob ACCESS :No access"]
    );
    assert_eq!(
        t.ask(b, "ACCESS #c DELETE DENY owned"),
        vec![":irc.test 913 bob ACCESS :No access"]
    );
    assert_eq!(
        t.ask(b, "ACCESS #c ADD HOST hosted"),
        vec![":irc.test 801 bob #c HOST hosted!*@*$* 0 bob!~bob@127.0.0.1 :"]
    );
    // A host's CLEAR leaves what an owner added.
    assert_eq!(
        t.ask(b, "ACCESS #c CLEAR"),
        vec![":irc.test 802 bob #c HOST hosted!*@*$*"]
    );
    assert_eq!(t.ask(b, "ACCESS #c LIST").len(), 3);
    // The owner removes anything.
    assert_eq!(
        t.ask(a, "ACCESS #c CLEAR DENY"),
        vec![":irc.test 802 alice #c DENY owned!*@*$*"]
    );
}

/// What `who` got, without the 353 (its member order is the hash's).
fn without_names(t: &mut TestWorld, who: ConnId) -> Vec<String> {
    t.take(who)
        .into_iter()
        .filter(|l| !l.contains(" 353 "))
        .collect()
}

#[test]
fn owner_host_voice_entries_give_status_on_join_past_every_restriction() {
    let (mut t, [a, b, c, d, e]) = room();
    t.feed(a, "MODE #c +ikl sesame 4");
    t.feed(a, "ACCESS #c ADD OWNER erin");
    t.feed(a, "ACCESS #c ADD DENY erin");
    take_all(&mut t, &[a, b, c, d, e]);
    // OWNER is evaluated before DENY; +i, +k and +l do not apply, as with OWNERKEY.
    t.feed(e, "JOIN #c");
    assert_eq!(
        without_names(&mut t, e),
        vec![
            ":erin!~erin@127.0.0.1 JOIN #c",
            ":irc.test MODE #c +q erin",
            ":irc.test 366 erin #c :End of /NAMES list",
        ]
    );
    assert_eq!(
        t.take(c),
        vec![":erin!~erin@127.0.0.1 JOIN #c", ":irc.test MODE #c +q erin",]
    );
    t.feed(e, "PART #c");
    t.feed(a, "ACCESS #c DELETE OWNER erin");
    t.feed(a, "ACCESS #c ADD HOST erin");
    take_all(&mut t, &[a, b, c, d, e]);
    t.feed(e, "JOIN #c");
    assert_eq!(without_names(&mut t, e)[1], ":irc.test MODE #c +o erin");
    t.feed(e, "PART #c");
    t.feed(a, "ACCESS #c DELETE HOST erin");
    t.feed(a, "ACCESS #c ADD VOICE erin");
    take_all(&mut t, &[a, b, c, d, e]);
    // VOICE implies GRANT: past +i, +k and DENY, but not past the limit.
    assert_eq!(
        t.ask(e, "JOIN #c"),
        vec![":irc.test 471 erin #c :Cannot join channel (+l)"]
    );
    t.feed(a, "MODE #c -l");
    take_all(&mut t, &[a, b, c, d, e]);
    t.feed(e, "JOIN #c");
    assert_eq!(without_names(&mut t, e)[1], ":irc.test MODE #c +v erin");
    let ch = t.w.find_channel(b"#c").unwrap();
    let cid = t.w.find_nick(b"erin").unwrap();
    assert_eq!(
        t.w.channels[ch].members[&cid],
        crate::core::modes::Status::VOICE
    );
}

#[test]
fn grant_opens_invite_only_key_and_bans_and_deny_is_a_ban() {
    let (mut t, [a, b, c, d, e]) = room();
    t.feed(a, "MODE #c +ib *!*@*");
    t.feed(e, "IRCX");
    take_all(&mut t, &[a, b, c, d, e]);
    t.feed(a, "ACCESS #c ADD GRANT erin");
    t.feed(a, "ACCESS #c ADD DENY *");
    t.take(a);
    t.feed(e, "JOIN #c");
    let got = without_names(&mut t, e);
    assert_eq!(got[0], ":erin!~erin@127.0.0.1 JOIN #c", "{got:?}");
    assert!(!got.iter().any(|l| l.contains(" MODE ")), "{got:?}");
    // Without an invitation the ban is still there for others; an invitation opens it.
    t.feed(a, "MODE #c -ib *!*@*");
    t.feed(d, "PART #c");
    take_all(&mut t, &[a, b, c, d, e]);
    assert_eq!(
        t.ask(d, "JOIN #c"),
        vec![":irc.test 474 dave #c :Cannot join channel (+b)"]
    );
    t.feed(a, "INVITE dave #c");
    take_all(&mut t, &[a, d]);
    assert_eq!(t.ask(d, "JOIN #c")[0], ":dave!~dave@127.0.0.1 JOIN #c");
}

#[test]
fn grant_entries_without_deny_close_the_channel() {
    let (mut t, [a, b, c, d, e]) = room();
    t.feed(a, "MODE #c +u");
    t.feed(a, "ACCESS #c ADD GRANT dave");
    t.feed(c, "PART #c");
    t.feed(d, "PART #c");
    take_all(&mut t, &[a, b, c, d, e]);
    assert_eq!(
        t.ask(c, "JOIN #c"),
        vec![":irc.test 474 carol #c :Cannot join channel (+b)"]
    );
    // A refusal on a +u channel knocks.
    assert_eq!(t.take(a), vec![":carol!~carol@127.0.0.1 KNOCK #c 474"]);
    assert_eq!(t.ask(d, "JOIN #c")[0], ":dave!~dave@127.0.0.1 JOIN #c");
    // With a DENY entry the list no longer closes: only what it denies is refused.
    t.feed(a, "ACCESS #c ADD DENY erin");
    t.take(a);
    assert_eq!(t.ask(c, "JOIN #c")[0], ":carol!~carol@127.0.0.1 JOIN #c");
    assert_eq!(
        t.ask(e, "JOIN #c"),
        vec![":irc.test 474 erin #c :Cannot join channel (+b)"]
    );
}

#[test]
fn timed_entries_expire_on_the_timer() {
    let (mut t, [a, _, _, _, e]) = room();
    assert_eq!(
        t.ask(a, "ACCESS #c ADD DENY erin 2 :cool off"),
        vec![":irc.test 801 alice #c DENY erin!*@*$* 2 alice!~alice@127.0.0.1 :cool off"]
    );
    t.tick(61_000);
    assert_eq!(
        t.ask(a, "ACCESS #c LIST")[1],
        ":irc.test 804 alice #c DENY erin!*@*$* 1 alice!~alice@127.0.0.1 :cool off"
    );
    assert_eq!(
        t.ask(e, "JOIN #c")[0],
        ":irc.test 474 erin #c :Cannot join channel (+b)"
    );
    t.tick(60_000);
    assert_eq!(
        t.ask(a, "ACCESS #c LIST"),
        vec![
            ":irc.test 803 alice #c :Start of access entries",
            ":irc.test 805 alice #c :End of access entries",
        ]
    );
    let ch = t.w.find_channel(b"#c").unwrap();
    assert!(t.w.channels[ch].access.is_none());
    assert_eq!(t.ask(e, "JOIN #c")[0], ":erin!~erin@127.0.0.1 JOIN #c");
}

#[test]
fn a_users_own_list_blocks_messages_invites_and_whispers() {
    let (mut t, [a, b, c, d, e]) = room();
    assert_eq!(
        t.ask(b, "ACCESS bob ADD DENY carol 0 :pest"),
        vec![":irc.test 801 bob bob DENY carol!*@*$* 0 bob!~bob@127.0.0.1 :pest"]
    );
    // carol is answered as if it had arrived; bob sees nothing.
    assert!(t.ask(c, "PRIVMSG bob :hi").is_empty());
    assert!(t.ask(c, "NOTICE bob :hi").is_empty());
    assert!(t.take(b).is_empty());
    t.feed(a, "WHISPER #c bob,dave :psst");
    assert_eq!(
        t.take(b),
        vec![":alice!~alice@127.0.0.1 WHISPER #c bob :psst"]
    );
    t.feed(b, "PART #c");
    take_all(&mut t, &[a, b, c, d, e]);
    assert_eq!(
        t.ask(c, "INVITE bob #c"),
        vec![":irc.test 341 carol bob #c"]
    );
    assert!(t.take(b).is_empty());
    // Others still reach bob.
    t.feed(d, "PRIVMSG bob :hi");
    assert_eq!(t.take(b), vec![":dave!~dave@127.0.0.1 PRIVMSG bob :hi"]);
    // GRANT entries alone: only those granted get through.
    t.feed(b, "ACCESS bob CLEAR");
    t.feed(b, "ACCESS bob ADD GRANT erin");
    t.take(b);
    t.feed(d, "PRIVMSG bob :hi");
    t.feed(e, "PRIVMSG bob :hey");
    assert_eq!(t.take(b), vec![":erin!~erin@127.0.0.1 PRIVMSG bob :hey"]);
    // The list goes with its user.
    t.feed(b, "QUIT");
    assert!(t.w.access.nicks.is_empty());
}

fn oper(t: &mut TestWorld, who: ConnId, name: &str) {
    t.feed(who, &format!("OPER {name} pw"));
    t.feed(who, "IRCX");
    t.take(who);
}

#[test]
fn server_deny_disconnects_and_refuses_at_registration() {
    let (mut t, [a, b, c, d, e]) = room();
    oper(&mut t, e, "admin");
    t.feed(e, "ACCESS $ ADD GRANT dave!*@*");
    t.take(e);
    assert_eq!(
        t.ask(e, "ACCESS $ ADD DENY *!~*@* 0 :No tilde users"),
        vec![":irc.test 801 erin $ DENY *!~*@*$* 0 erin!~erin@127.0.0.1 :No tilde users"]
    );
    // The oper who typed it stays; dave is granted; alice, bob and carol go, KILL-like.
    let gone = |t: &TestWorld, c: ConnId| t.closed.iter().any(|(x, _)| *x == c);
    assert!(!gone(&t, e) && !gone(&t, d));
    assert_eq!(
        t.take(c).last().unwrap(),
        "ERROR :Closing Link: 127.0.0.1 (No tilde users)"
    );
    assert!(gone(&t, a) && gone(&t, b) && gone(&t, c));
    let quits: Vec<String> = t.take(d);
    assert!(
        quits.contains(&":carol!~carol@127.0.0.1 QUIT :No tilde users".to_string()),
        "{quits:?}"
    );
    // A new connection matching it is refused once it registers.
    let f = t.connect();
    t.feed(f, "NICK frank");
    assert_eq!(
        t.ask(f, "USER frank 0 * :Frank"),
        vec!["ERROR :Closing Link: 127.0.0.1 (No tilde users)"]
    );
    assert!(t.w.find_nick(b"frank").is_none());
    // Without the DENY, the GRANT alone closes the server to everyone else...
    t.feed(e, "ACCESS $ DELETE DENY *!~*@*");
    assert_eq!(t.take(e), vec![":irc.test 802 erin $ DENY *!~*@*$*"]);
    let f = t.connect();
    t.feed(f, "NICK frank");
    assert_eq!(
        t.ask(f, "USER frank 0 * :Frank"),
        vec!["ERROR :Closing Link: 127.0.0.1 (Access denied)"]
    );
    // ...and an empty list opens it.
    t.feed(e, "ACCESS $ CLEAR GRANT");
    assert_eq!(t.take(e), vec![":irc.test 802 erin $ GRANT dave!*@*$*"]);
    t.user("frank");
}

#[test]
fn network_list_needs_a_manager_and_grant_alone_closes_the_server() {
    let (mut t, [_, _, c, d, e]) = room();
    oper(&mut t, d, "admin");
    oper(&mut t, e, "boss");
    assert_eq!(
        t.ask(d, "ACCESS * ADD DENY x"),
        vec![":irc.test 913 dave ACCESS :No access"]
    );
    assert_eq!(
        t.ask(d, "ACCESS *"),
        vec![
            ":irc.test 803 dave * :Start of access entries",
            ":irc.test 805 dave * :End of access entries",
        ]
    );
    t.feed(e, "ACCESS * ADD GRANT friend");
    t.take(e);
    // Adding a GRANT disconnects nobody, but closes the network to newcomers.
    assert!(!t.closed.iter().any(|(x, _)| *x == c));
    let g = t.connect();
    t.feed(g, "NICK gina");
    assert_eq!(
        t.ask(g, "USER gina 0 * :Gina"),
        vec!["ERROR :Closing Link: 127.0.0.1 (Access denied)"]
    );
    t.user("friend");
}

#[test]
fn registered_channels_take_entries_from_the_configuration() {
    let reg = |access: &str| {
        format!(
            "{BASE_CONFIG}[[channel]]\nname = \"#reg\"\nownerkey = \"ok\"\naccess = [{access}]\n"
        )
    };
    let mut t = TestWorld::with_config(&reg("\"DENY *@bad.host :spam\", \"VOICE bob\""));
    let a = t.user("alice");
    t.feed(a, "IRCX");
    t.feed(a, "JOIN #reg ok");
    t.feed(a, "ACCESS #reg ADD GRANT carol");
    t.take(a);
    assert_eq!(
        t.ask(a, "ACCESS #reg"),
        vec![
            ":irc.test 803 alice #reg :Start of access entries",
            ":irc.test 804 alice #reg VOICE bob!*@*$* 0 irc.test :",
            ":irc.test 804 alice #reg GRANT carol!*@*$* 0 alice!~alice@127.0.0.1 :",
            ":irc.test 804 alice #reg DENY *!*@bad.host$* 0 irc.test :spam",
            ":irc.test 805 alice #reg :End of access entries",
        ]
    );
    // Only what was added at run time goes to the state file.
    assert_eq!(t.w.access_state().lines().count(), 2);
    // A reload replaces the configured entries and keeps the others.
    t.reload(&reg("\"HOST dave\""));
    assert_eq!(
        t.ask(a, "ACCESS #reg")[1..3],
        [
            ":irc.test 804 alice #reg HOST dave!*@*$* 0 irc.test :",
            ":irc.test 804 alice #reg GRANT carol!*@*$* 0 alice!~alice@127.0.0.1 :",
        ]
    );
    let d = t.user("dave");
    t.feed(d, "JOIN #reg");
    assert_eq!(t.take(d)[1], ":irc.test MODE #reg +o dave");
}
