mod common;
use common::*;

const ALL_CAPS: &str =
    "account-notify account-tag away-notify batch cap-notify chghost draft/channel-rename draft/metadata-2 draft/no-implicit-names draft/read-marker echo-message extended-join extended-monitor invite-notify labeled-response message-tags multi-prefix sasl server-time setname standard-replies userhost-in-names";
/// The same to `CAP LS 302`, which gives values (SASL's mechanisms, metadata's limits).
const ALL_CAPS_302: &str =
    "account-notify account-tag away-notify batch cap-notify chghost draft/channel-rename draft/metadata-2=max-subs=50,max-keys=20,max-value-bytes=255 draft/no-implicit-names draft/read-marker echo-message extended-join extended-monitor invite-notify labeled-response message-tags multi-prefix sasl=PLAIN server-time setname standard-replies userhost-in-names";

/// Registers `nick` after negotiating `caps` (space-separated) with CAP LS 302 / REQ / END.
fn cap_user(s: &TestServer, nick: &str, caps: &str) -> TestClient {
    let mut c = s.connect();
    c.send("CAP LS 302");
    c.expect(&format!(":irc.test CAP * LS :{ALL_CAPS_302}"));
    c.send(&format!("NICK {nick}"));
    c.send(&format!("USER {nick} 0 * :{nick} real"));
    c.send(&format!("CAP REQ :{caps}"));
    c.expect(&format!(":irc.test CAP {nick} ACK :{caps}"));
    c.send("CAP END");
    c.expect_prefix(&format!(":irc.test 001 {nick} "));
    c.skip_until(" 376 ");
    c.nick = nick.to_string();
    c
}

/// The line without its leading `msgid` tag.
fn strip_msgid(line: &str) -> String {
    split_msgid(line).1
}

/// Checks that `line` starts with `@time=YYYY-MM-DDThh:mm:ss.sssZ` followed by `;` (more
/// tags) or a space, and returns the line with the time tag removed (`@` kept for the rest).
fn strip_time(line: &str) -> String {
    let rest = line
        .strip_prefix("@time=")
        .unwrap_or_else(|| panic!("no server-time tag: {line:?}"));
    let ts = rest
        .get(..24)
        .unwrap_or_else(|| panic!("short time tag: {line:?}"));
    for (i, b) in ts.bytes().enumerate() {
        let ok = match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'.',
            23 => b == b'Z',
            _ => b.is_ascii_digit(),
        };
        assert!(ok, "bad time {ts:?} at byte {i} in {line:?}");
    }
    let year: u32 = ts[..4].parse().unwrap();
    let month: u32 = ts[5..7].parse().unwrap();
    let day: u32 = ts[8..10].parse().unwrap();
    let (h, m, sec): (u32, u32, u32) = (
        ts[11..13].parse().unwrap(),
        ts[14..16].parse().unwrap(),
        ts[17..19].parse().unwrap(),
    );
    assert!(
        year >= 2024 && (1..=12).contains(&month) && (1..=31).contains(&day),
        "{ts}"
    );
    assert!(h < 24 && m < 60 && sec < 60, "{ts}");
    match &rest[24..] {
        r if r.starts_with(' ') => r[1..].to_string(),
        r if r.starts_with(';') => format!("@{}", &r[1..]),
        r => panic!("time tag not followed by ' ' or ';': {r:?}"),
    }
}

#[test]
fn cap_ls_req_list_and_end_hold_registration() {
    let s = server();
    let mut c = s.connect();
    c.send("CAP LS 302");
    c.expect(&format!(":irc.test CAP * LS :{ALL_CAPS_302}"));
    c.send("NICK alice");
    c.send("USER alice 0 * :Alice");
    // Negotiation is open: no welcome yet.
    c.expect_nothing();
    c.send("CAP REQ :multi-prefix server-time");
    c.expect(":irc.test CAP alice ACK :multi-prefix server-time");
    c.send("CAP REQ :bogus-cap");
    c.expect(":irc.test CAP alice NAK :bogus-cap");
    // One unknown capability refuses the whole request.
    c.send("CAP REQ :echo-message bogus-cap");
    c.expect(":irc.test CAP alice NAK :echo-message bogus-cap");
    c.send("CAP list");
    c.expect(":irc.test CAP alice LIST :multi-prefix server-time");
    c.send("CAP REQ :-server-time");
    c.expect(":irc.test CAP alice ACK :-server-time");
    c.send("CAP LIST");
    c.expect(":irc.test CAP alice LIST :multi-prefix");
    c.expect_nothing();
    c.send("CAP END");
    c.expect(":irc.test 001 alice :Welcome to the TestNet Internet Relay Chat Network alice!~alice@127.0.0.1");
    c.skip_until(":irc.test 376 alice ");
    c.expect_nothing();
    // After registration: CAP still works and END is a no-op.
    c.send("CAP REQ :echo-message");
    c.expect(":irc.test CAP alice ACK :echo-message");
    c.send("CAP LIST");
    c.expect(":irc.test CAP alice LIST :echo-message multi-prefix");
    c.send("CAP END");
    c.send("CAP LS");
    c.expect(&format!(":irc.test CAP alice LS :{ALL_CAPS}"));
    c.expect_nothing();
}

#[test]
fn cap_req_alone_also_holds_registration() {
    let s = server();
    let mut c = s.connect();
    c.send("NICK bob");
    c.send("CAP REQ :server-time");
    c.expect(":irc.test CAP bob ACK :server-time");
    c.send("USER bob 0 * :Bob");
    c.expect_nothing();
    c.send("CAP END");
    c.expect_prefix(":irc.test 001 bob ");
}

#[test]
fn cap_end_before_nick_and_user() {
    let s = server();
    let mut c = s.connect();
    c.send("CAP LS");
    c.expect(&format!(":irc.test CAP * LS :{ALL_CAPS}"));
    c.send("CAP LIST");
    c.expect(":irc.test CAP * LIST :");
    c.send("CAP END");
    c.expect_nothing();
    c.send("USER carol 0 * :Carol");
    c.send("NICK carol");
    c.expect_prefix(":irc.test 001 carol ");
}

#[test]
fn cap_errors() {
    let s = server();
    let mut c = s.connect();
    c.send("CAP");
    c.expect(":irc.test 461 * CAP :Not enough parameters");
    c.send("CAP FROB");
    c.expect(":irc.test 410 * FROB :Invalid CAP subcommand");
    c.send("CAP REQ :");
    c.expect(":irc.test CAP * NAK :");
    c.expect_nothing();
}

#[test]
fn echo_message() {
    let s = server();
    let mut a = cap_user(&s, "alice", "echo-message");
    let mut b = s.user("bob");
    join(&mut a, "#a");
    join(&mut b, "#a");
    a.sync();
    a.send("PRIVMSG #a :hello");
    a.expect(":alice!~alice@127.0.0.1 PRIVMSG #a :hello");
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG #a :hello");
    a.send("PRIVMSG Bob :direct");
    a.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :direct");
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :direct");
    a.send("NOTICE #a :notice");
    a.expect(":alice!~alice@127.0.0.1 NOTICE #a :notice");
    b.expect(":alice!~alice@127.0.0.1 NOTICE #a :notice");
    // Nothing is echoed for a message that went nowhere.
    a.send("PRIVMSG nobody :lost");
    a.expect(":irc.test 401 alice nobody :No such nick/channel");
    a.expect_nothing();
    // Without the capability there is no echo.
    b.send("PRIVMSG #a :plain");
    a.expect(":bob!~bob@127.0.0.1 PRIVMSG #a :plain");
    b.expect_nothing();
}

#[test]
fn server_time_tags_messages_for_those_who_asked() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = cap_user(&s, "bob", "server-time");
    join(&mut a, "#a");
    join(&mut b, "#a");
    a.sync();
    a.send("PRIVMSG #a :what time is it");
    let l = b.line();
    assert_eq!(
        strip_time(&l),
        ":alice!~alice@127.0.0.1 PRIVMSG #a :what time is it"
    );
    a.send("PRIVMSG bob :direct");
    let l = b.line();
    assert_eq!(
        strip_time(&l),
        ":alice!~alice@127.0.0.1 PRIVMSG bob :direct"
    );
    // Other relayed events carry it too.
    a.send("TOPIC #a :new topic");
    a.expect(":alice!~alice@127.0.0.1 TOPIC #a :new topic");
    let l = b.line();
    assert_eq!(
        strip_time(&l),
        ":alice!~alice@127.0.0.1 TOPIC #a :new topic"
    );
    // Numerics are not tagged; clients without the capability get plain lines.
    b.send("PRIVMSG #a :untagged for alice");
    a.expect(":bob!~bob@127.0.0.1 PRIVMSG #a :untagged for alice");
    b.send("PRIVMSG nobody :x");
    b.expect(":irc.test 401 bob nobody :No such nick/channel");
    a.expect_nothing();
    b.expect_nothing();
}

#[test]
fn tagmsg_and_client_tags_reach_only_message_tags_clients() {
    let s = server();
    let mut a = cap_user(&s, "alice", "message-tags");
    let mut b = cap_user(&s, "bob", "message-tags");
    let mut c = s.user("carol");
    let mut d = cap_user(&s, "dave", "message-tags server-time");
    join(&mut a, "#a");
    join(&mut b, "#a");
    join(&mut c, "#a");
    join(&mut d, "#a");
    for cl in [&mut a, &mut b, &mut c] {
        cl.sync();
    }

    a.send("@+typing=active TAGMSG #a");
    let l = b.line();
    assert_eq!(
        strip_msgid(&l),
        "@+typing=active :alice!~alice@127.0.0.1 TAGMSG #a"
    );
    let l = d.line();
    assert_eq!(
        strip_msgid(&strip_time(&l)),
        "@+typing=active :alice!~alice@127.0.0.1 TAGMSG #a"
    );
    for cl in [&mut a, &mut b, &mut c, &mut d] {
        cl.expect_nothing();
    }

    // Client tags ride along on PRIVMSG; server tags a client made up are dropped, and
    // clients without message-tags get the bare message.
    a.send("@+draft/reply=abc;fake=1;+x PRIVMSG #a :tagged");
    let l = b.line();
    assert_eq!(
        strip_msgid(&l),
        "@+draft/reply=abc;+x :alice!~alice@127.0.0.1 PRIVMSG #a :tagged"
    );
    c.expect(":alice!~alice@127.0.0.1 PRIVMSG #a :tagged");
    let l = d.line();
    assert_eq!(
        strip_msgid(&strip_time(&l)),
        "@+draft/reply=abc;+x :alice!~alice@127.0.0.1 PRIVMSG #a :tagged"
    );

    // TAGMSG to a nick: delivered to a message-tags client, silently not to others.
    a.send("@+typing=paused TAGMSG bob");
    let l = b.line();
    assert_eq!(
        strip_msgid(&l),
        "@+typing=paused :alice!~alice@127.0.0.1 TAGMSG bob"
    );
    a.send("@+typing=paused TAGMSG carol");
    for cl in [&mut a, &mut b, &mut c, &mut d] {
        cl.expect_nothing();
    }
    a.send("TAGMSG nobody");
    a.expect(":irc.test 401 alice nobody :No such nick/channel");
    a.send("TAGMSG");
    a.expect(":irc.test 461 alice TAGMSG :Not enough parameters");
}

#[test]
fn multi_prefix_names() {
    let s = server();
    let mut a = cap_user(&s, "alice", "multi-prefix");
    a.send("JOIN #a");
    a.expect(":alice!~alice@127.0.0.1 JOIN #a");
    a.expect(":irc.test 353 alice = #a :@alice");
    a.expect(":irc.test 366 alice #a :End of /NAMES list");
    let mut b = cap_user(&s, "bob", "multi-prefix");
    b.send("JOIN #a");
    b.expect(":bob!~bob@127.0.0.1 JOIN #a");
    let l = b.expect_prefix(":irc.test 353 bob = #a :");
    let mut names: Vec<&str> = l.rsplit_once(" :").unwrap().1.split(' ').collect();
    names.sort();
    assert_eq!(names, ["@alice", "bob"]);
}

#[test]
fn userhost_in_names() {
    let s = server();
    let mut a = s.user("alice");
    join(&mut a, "#a");
    let mut b = cap_user(&s, "bob", "userhost-in-names");
    b.send("JOIN #a");
    b.expect(":bob!~bob@127.0.0.1 JOIN #a");
    let l = b.expect_prefix(":irc.test 353 bob = #a :");
    let mut names: Vec<&str> = l.rsplit_once(" :").unwrap().1.split(' ').collect();
    names.sort();
    assert_eq!(names, ["@alice!~alice@127.0.0.1", "bob!~bob@127.0.0.1"]);
    b.expect(":irc.test 366 bob #a :End of /NAMES list");
    // Without the capability, plain nicks.
    a.sync();
    a.send("NAMES #a");
    let l = a.expect_prefix(":irc.test 353 alice = #a :");
    let mut names: Vec<&str> = l.rsplit_once(" :").unwrap().1.split(' ').collect();
    names.sort();
    assert_eq!(names, ["@alice", "bob"]);
}

#[test]
fn extended_join() {
    let s = server();
    let mut a = cap_user(&s, "alice", "extended-join");
    let mut c = s.user("carol");
    join(&mut a, "#c");
    join(&mut c, "#c");
    a.expect(":carol!~carol@127.0.0.1 JOIN #c * :carol real");
    let mut b = s.user("bob");
    b.send("JOIN #c");
    b.expect(":bob!~bob@127.0.0.1 JOIN #c");
    a.expect(":bob!~bob@127.0.0.1 JOIN #c * :bob real");
    c.expect(":bob!~bob@127.0.0.1 JOIN #c");
    // The joiner with the capability sees its own extended JOIN.
    a.send("JOIN #d");
    a.expect(":alice!~alice@127.0.0.1 JOIN #d * :alice real");
    a.skip_until(" 366 alice #d ");
    for cl in [&mut a, &mut c] {
        cl.expect_nothing();
    }
}

#[test]
fn away_notify() {
    let s = server();
    let mut a = cap_user(&s, "alice", "away-notify");
    let mut b = s.user("bob");
    let mut c = s.user("carol");
    join(&mut a, "#a,#b");
    join(&mut b, "#a,#b");
    join(&mut c, "#a");
    a.sync();
    b.sync();

    b.send("AWAY :gone fishing");
    b.expect(":irc.test 306 bob :You have been marked as being away");
    // Once, although alice shares two channels with bob.
    a.expect(":bob!~bob@127.0.0.1 AWAY :gone fishing");
    b.send("AWAY");
    b.expect(":irc.test 305 bob :You are no longer marked as being away");
    a.expect(":bob!~bob@127.0.0.1 AWAY");
    for cl in [&mut a, &mut b, &mut c] {
        cl.expect_nothing();
    }

    // Someone already away who joins is announced as away.
    let mut d = s.user("dave");
    d.send("AWAY :busy");
    d.expect(":irc.test 306 dave :You have been marked as being away");
    d.send("JOIN #a");
    d.expect(":dave!~dave@127.0.0.1 JOIN #a");
    a.expect(":dave!~dave@127.0.0.1 JOIN #a");
    a.expect(":dave!~dave@127.0.0.1 AWAY :busy");
    b.expect(":dave!~dave@127.0.0.1 JOIN #a");
    c.expect(":dave!~dave@127.0.0.1 JOIN #a");
    d.skip_until(" 366 dave #a ");
    for cl in [&mut a, &mut b, &mut c, &mut d] {
        cl.expect_nothing();
    }
    // Its own AWAY is not echoed to the away-notify user setting it.
    a.send("AWAY :me too");
    a.expect(":irc.test 306 alice :You have been marked as being away");
    a.expect_nothing();
}

#[test]
fn invite_notify() {
    let s = server();
    // alice creates #a (operator) and asked for invite-notify; dave did too but is no operator.
    let mut a = cap_user(&s, "alice", "invite-notify");
    let mut c = s.user("carol");
    let mut d = cap_user(&s, "dave", "invite-notify");
    let mut b = s.user("bob");
    join(&mut a, "#a");
    join(&mut c, "#a");
    join(&mut d, "#a");
    a.sync();
    c.sync();

    c.send("INVITE bob #a");
    c.expect(":irc.test 341 carol bob #a");
    b.expect(":carol!~carol@127.0.0.1 INVITE bob #a");
    a.expect(":carol!~carol@127.0.0.1 INVITE bob #a");
    for cl in [&mut a, &mut b, &mut c, &mut d] {
        cl.expect_nothing();
    }
    // The inviter hears nothing more than its 341, even with the capability.
    a.send("INVITE bob #a");
    a.expect(":irc.test 341 alice bob #a");
    b.expect(":alice!~alice@127.0.0.1 INVITE bob #a");
    for cl in [&mut a, &mut b, &mut c, &mut d] {
        cl.expect_nothing();
    }
}

#[test]
fn setname() {
    let s = server();
    let mut a = cap_user(&s, "alice", "setname");
    let mut b = cap_user(&s, "bob", "setname extended-join");
    let mut c = s.user("carol");
    let mut d = cap_user(&s, "dave", "setname");
    join(&mut a, "#a,#b");
    join(&mut b, "#a,#b");
    join(&mut c, "#a");
    a.sync();
    b.sync();

    a.send("SETNAME :Alice Liddell");
    let line = ":alice!~alice@127.0.0.1 SETNAME :Alice Liddell";
    a.expect(line);
    b.expect(line);
    for cl in [&mut a, &mut b, &mut c, &mut d] {
        cl.expect_nothing();
    }
    // The new real name is what extended-join shows from now on.
    a.send("JOIN #c");
    a.skip_until(" 366 alice #c ");
    b.send("JOIN #c");
    b.expect(":bob!~bob@127.0.0.1 JOIN #c * :bob real");
    a.expect(":bob!~bob@127.0.0.1 JOIN #c");
    b.skip_until(" 366 bob #c ");
    a.send("PART #c");
    b.expect(":alice!~alice@127.0.0.1 PART #c");
    a.send("JOIN #c");
    b.expect(":alice!~alice@127.0.0.1 JOIN #c * :Alice Liddell");

    a.sync();
    a.send(&format!("SETNAME :{}", "n".repeat(101)));
    a.expect(":irc.test FAIL SETNAME INVALID_REALNAME :Realname is not valid");
    a.send("SETNAME :");
    a.expect(":irc.test FAIL SETNAME INVALID_REALNAME :Realname is not valid");
    a.expect_nothing();
    b.expect_nothing();
}
