//! The ngIRCd translation, function by function.

use super::*;
use crate::core::testing::TestWorld;

/// What a native message (given as a line) becomes on an rfc2813 link.
fn out(t: &TestWorld, line: &str) -> Vec<String> {
    let msg = crate::proto::message::parse(line.as_bytes()).expect("parses");
    render(&t.w, &LinkMsg::relay(&msg))
        .expect("allowed")
        .iter()
        .map(|l| String::from_utf8_lossy(l).trim_end().to_string())
        .collect()
}

#[test]
fn native_to_ngircd() {
    let t = TestWorld::new();
    let cases: &[(&str, &[&str])] = &[
        (
            ":irc.test NICK bob 1 1700000000000 ~bob 127.0.0.1 1 +i :Bob B",
            &[":irc.test NICK bob 1 ~bob 127.0.0.1 1 +i :Bob B"],
        ),
        (
            ":irc.test NICK carol 2 17 ~c leaf.host 7 + :Carol",
            &[":irc.test NICK carol 2 ~c leaf.host 8 + :Carol"],
        ),
        (
            ":irc.test SERVER leaf.test 2 7 :a leaf",
            &[":irc.test SERVER leaf.test 2 8 :a leaf"],
        ),
        (":bob NICK robert 1700000000001", &[":bob NICK :robert"]),
        (
            ":irc.test SJOIN 1000 #c +nt :@bob +carol dave",
            &[
                ":irc.test CHANINFO #c +nt",
                ":irc.test NJOIN #c :@bob,+carol,dave",
            ],
        ),
        (
            ":irc.test SJOIN 1000 #c +ntkl key 10 :@bob",
            &[
                ":irc.test CHANINFO #c +ntkl key 10 :",
                ":irc.test NJOIN #c :@bob",
            ],
        ),
        (
            ":irc.test SJOIN 1000 #c + :bob",
            &[":irc.test NJOIN #c :bob"],
        ),
        (":bob TOPIC #c 1700000000 :hello", &[":bob TOPIC #c :hello"]),
        (
            ":irc.test TB #c 1700000000 bob!~bob@h :hello",
            &[":irc.test TOPIC #c :hello"],
        ),
        (
            ":irc.test BMASK 1000 #c b :a!*@* b!*@*",
            &[":irc.test MODE #c +bb a!*@* b!*@*"],
        ),
        // IRCX modes (+w) stay on our side, with their arguments.
        (
            ":irc.test SJOIN 1000 #c +ntw :@bob",
            &[":irc.test CHANINFO #c +nt", ":irc.test NJOIN #c :@bob"],
        ),
        (
            ":irc.test SJOIN 1000 #c +w :@bob",
            &[":irc.test NJOIN #c :@bob"],
        ),
        (":bob MODE #c +w", &[]),
        (":bob MODE #c +wi-w+o alice", &[":bob MODE #c +io alice"]),
        // So does +C (no CTCP): ngIRCd has no such channel mode.
        (":bob MODE #c +C", &[]),
        (":bob MODE #c +Cm", &[":bob MODE #c +m"]),
        (":irc.test EOB", &[]),
        ("@+typing=active :bob TAGMSG #c", &[]),
        (
            "@+x=1 :bob PRIVMSG #c :hi there",
            &[":bob PRIVMSG #c :hi there"],
        ),
        (":bob PRIVMSG #c :hi there", &[":bob PRIVMSG #c :hi there"]),
        (":bob SETNAME :new", &[]),
        (":bob AWAY :gone fishing", &[":bob MODE bob :+a"]),
        (":bob AWAY", &[":bob MODE bob :-a"]),
    ];
    for (native, want) in cases {
        assert_eq!(out(&t, native), *want, "{native}");
    }
    // An allow-list: what has no rule here does not reach ngIRCd.
    let msg = crate::proto::message::parse(b":bob FUTURECMD #c :x").unwrap();
    assert!(render(&t.w, &LinkMsg::relay(&msg)).is_none());
}

/// What a line from ngIRCd becomes, as native lines.
fn translated(f: fn(&str, &Message<'_>) -> Inbound, line: &str) -> Vec<String> {
    let msg = crate::proto::message::parse(line.as_bytes()).expect("parses");
    let prefix = String::from_utf8_lossy(msg.prefix.unwrap_or_default()).into_owned();
    match f(&prefix, &msg) {
        Inbound::Native(lines) => lines.iter().map(OwnedMessage::to_line).collect(),
        _ => panic!("{line}: not translated"),
    }
}

#[test]
fn ngircd_channel_modes() {
    let cases: &[(&str, &[&str])] = &[
        (":bob MODE #c +o alice", &[":bob MODE #c +o alice"]),
        // Exceptions and invite exceptions kept.
        (
            ":bob MODE #c +eIb e!*@* i!*@* b!*@*",
            &[":bob MODE #c +eIb e!*@* i!*@* b!*@*"],
        ),
        // Its founder is an owner here, its admin an op, its halfop a voice.
        (
            ":bob MODE #c +qah-a a b c d",
            &[":bob MODE #c +qov-o a b c d"],
        ),
        (":bob MODE #c +PzM", &[]),
        (":bob MODE #c -l+Pm", &[":bob MODE #c -l+m"]),
        // Five parameters (ngIRCd's MODES=5): four, then one.
        (
            ":bob MODE #c +oovl-v a b b 9 a",
            &[":bob MODE #c +oovl a b b 9", ":bob MODE #c -v a"],
        ),
    ];
    for (line, want) in cases {
        assert_eq!(translated(channel_mode, line), *want, "{line}");
    }
}

#[test]
fn ngircd_away_is_user_mode_a() {
    let cases: &[(&str, &[&str])] = &[
        (":bob MODE bob :+a", &[":bob AWAY :Away"]),
        (":bob MODE bob :-a", &[":bob AWAY"]),
        (
            ":bob MODE bob :+ai",
            &[":bob MODE bob :+i", ":bob AWAY :Away"],
        ),
        (":bob MODE bob :+o", &[":bob MODE bob :+o"]),
    ];
    for (line, want) in cases {
        assert_eq!(
            translated(|p, m| Inbound::Native(user_mode(p, m)), line),
            *want,
            "{line}"
        );
    }
}

#[test]
fn member_prefixes() {
    assert_eq!(member_flags("@@alice"), "@alice");
    assert_eq!(member_flags("@+bob"), "@+bob");
    // ngIRCd's founder is an owner here.
    assert_eq!(member_flags("~owner"), "~owner");
    assert_eq!(member_flags("%half"), "+half");
    assert_eq!(member_flags("plain"), "plain");
}

#[test]
fn link_values_are_logged_escaped_and_short() {
    assert_eq!(shown(b"a\x01\r\n\xffb c"), "a\\x01\\r\\n\\xffb c");
    assert_eq!(shown(&[b'a'; 100]), "a".repeat(64));
}
