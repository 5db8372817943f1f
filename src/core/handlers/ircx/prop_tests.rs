//! PROP transcripts: querying, setting and deleting channel properties, their rights and
//! errors, and what they do to JOIN, PART, TOPIC, MODE and LISTX.

use crate::core::testing::{TestWorld, BASE_CONFIG};
use crate::core::ConnId;

/// A sysop (`admin`) and a sysop manager (`boss`), both with password `pw`.
const OPERS: &str = "[[oper]]\nname = \"admin\"\npassword = \"pw\"\n\
                     [[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n";

const ALICE: &str = ":alice!~alice@127.0.0.1";

/// alice (IRCX, op of #c), bob (IRCX), carol (RFC) in #c; erin (IRCX) outside; sam (IRCX,
/// sysop) and max (IRCX, sysop manager) outside. Everything sent so far is taken.
fn room() -> (TestWorld, [ConnId; 6]) {
    let mut t = TestWorld::with_config(&format!("{BASE_CONFIG}{OPERS}"));
    let a = t.user("alice");
    let b = t.user("bob");
    let c = t.user("carol");
    let e = t.user("erin");
    let s = t.user("sam");
    let m = t.user("max");
    for who in [a, b, e, s, m] {
        t.feed(who, "IRCX");
    }
    for who in [a, b, c] {
        t.feed(who, "JOIN #c");
    }
    t.feed(s, "OPER admin pw");
    t.feed(m, "OPER boss pw");
    for who in [a, b, c, e, s, m] {
        t.take(who);
    }
    (t, [a, b, c, e, s, m])
}

fn oid_and_created(t: &TestWorld) -> (String, u64) {
    let ch = t.w.find_channel(b"#c").unwrap();
    let chan = &t.w.channels[ch];
    (chan.oid_str(), chan.created)
}

#[test]
fn query_lists_readable_properties_with_values() {
    let (mut t, [a, b, _, e, _, _]) = room();
    let (oid, created) = oid_and_created(&t);
    assert!(t.ask(a, "PROP #c SUBJECT :Rust").len() == 1);
    t.feed(a, "PROP #c ONJOIN :Welcome");
    t.feed(a, "PROP #c HOSTKEY :secret");
    t.take(a);
    t.take(b);
    // Keys are never listed; ONJOIN only to hosts.
    assert_eq!(
        t.ask(a, "PROP #C *"),
        vec![
            format!(":irc.test 818 alice #c OID :{oid}"),
            ":irc.test 818 alice #c NAME :#c".to_string(),
            format!(":irc.test 818 alice #c CREATION :{created}"),
            ":irc.test 818 alice #c SUBJECT :Rust".to_string(),
            ":irc.test 818 alice #c ONJOIN :Welcome".to_string(),
            ":irc.test 819 alice #c :End of properties".to_string(),
        ]
    );
    assert_eq!(
        t.ask(b, "PROP #c *"),
        vec![
            format!(":irc.test 818 bob #c OID :{oid}"),
            ":irc.test 818 bob #c NAME :#c".to_string(),
            format!(":irc.test 818 bob #c CREATION :{created}"),
            ":irc.test 818 bob #c SUBJECT :Rust".to_string(),
            ":irc.test 819 bob #c :End of properties".to_string(),
        ]
    );
    // A comma list, in any case, each once; a property without a value is left out.
    assert_eq!(
        t.ask(e, "PROP #c subject,Name,LANGUAGE,name"),
        vec![
            ":irc.test 818 erin #c SUBJECT :Rust",
            ":irc.test 818 erin #c NAME :#c",
            ":irc.test 819 erin #c :End of properties",
        ]
    );
}

#[test]
fn set_echoes_to_ircx_members_and_empty_deletes() {
    let (mut t, [a, b, c, e, _, _]) = room();
    assert_eq!(
        t.ask(a, "PROP #c LANGUAGE :en-us"),
        vec![format!("{ALICE} PROP #c LANGUAGE :en-us")]
    );
    assert_eq!(t.take(b), vec![format!("{ALICE} PROP #c LANGUAGE :en-us")]);
    assert!(t.take(c).is_empty() && t.take(e).is_empty());
    assert_eq!(
        t.ask(b, "PROP #c LANGUAGE"),
        vec![
            ":irc.test 818 bob #c LANGUAGE :en-us",
            ":irc.test 819 bob #c :End of properties"
        ]
    );
    assert_eq!(
        t.ask(a, "PROP #c LANGUAGE :"),
        vec![format!("{ALICE} PROP #c LANGUAGE :")]
    );
    t.take(b);
    assert_eq!(
        t.ask(b, "PROP #c LANGUAGE"),
        vec![":irc.test 819 bob #c :End of properties"]
    );
    let ch = t.w.find_channel(b"#c").unwrap();
    assert!(
        t.w.channels[ch].props.is_none(),
        "freed with its last value"
    );
}

#[test]
fn errors() {
    let (mut t, [a, b, c, e, s, _]) = room();
    // The creator steps down from owner to host: OWNERKEY is then out of reach.
    t.feed(a, "MODE #c +o-q alice alice");
    t.feed(a, "MODE #c +s");
    t.feed(a, "PROP #c CLIENT :x");
    for who in [a, b, c] {
        t.take(who);
    }
    const SEC: &str = "908 {} :No permissions to perform command";
    let sec = |nick: &str| format!(":irc.test {}", SEC.replace("{}", nick));
    #[rustfmt::skip]
    let cases: Vec<(ConnId, String, Vec<String>)> = vec![
        (a, "PROP #c".into(), vec![":irc.test 461 alice PROP :Not enough parameters".into()]),
        (a, "PROP #nope *".into(), vec![":irc.test 924 alice #nope :No such object found".into()]),
        (a, "PROP #c BO$US :x".into(), vec![":irc.test 905 alice #c :Bad property specified".into()]),
        (a, "PROP #c LAG :3".into(), vec![":irc.test 906 alice #c :Bad value specified".into()]),
        (a, "PROP #c LAG :1.5".into(), vec![":irc.test 906 alice #c :Bad value specified".into()]),
        (b, "PROP #c LAG :1".into(), vec![sec("bob")]),
        (a, "PROP #c ACCOUNT".into(), vec![
            ":irc.test 905 alice #c :Bad property specified".into(),
            ":irc.test 819 alice #c :End of properties".into(),
        ]),
        (a, format!("PROP #c SUBJECT :{}", "x".repeat(32)), vec![":irc.test 906 alice #c :Bad value specified".into()]),
        (a, format!("PROP #c TOPIC :{}", "x".repeat(161)), vec![":irc.test 906 alice #c :Bad value specified".into()]),
        (a, "PROP #c HOSTKEY :a,b".into(), vec![":irc.test 906 alice #c :Bad value specified".into()]),
        (a, "PROP #c ONJOIN :a\rPRIVMSG #c :injected".into(), vec![":irc.test 906 alice #c :Bad value specified".into()]),
        (a, "PROP #c MEMBERKEY :a:b".into(), vec![":irc.test 906 alice #c :Bad value specified".into()]),
        // Read-only, managers only, owners only, not a host.
        (a, "PROP #c OID :1".into(), vec![sec("alice")]),
        (a, "PROP #c PICS :x".into(), vec![sec("alice")]),
        (a, "PROP #c OWNERKEY :x".into(), vec![sec("alice")]),
        (b, "PROP #c SUBJECT :x".into(), vec![sec("bob")]),
        (s, "PROP #c SUBJECT :x".into(), vec![sec("sam")]),
        // Keys are never read; ONJOIN not by members; a secret channel not by outsiders.
        (a, "PROP #c MEMBERKEY,NAME".into(), vec![
            sec("alice"),
            ":irc.test 818 alice #c NAME :#c".into(),
            ":irc.test 819 alice #c :End of properties".into(),
        ]),
        (b, "PROP #c ONJOIN".into(), vec![sec("bob"), ":irc.test 819 bob #c :End of properties".into()]),
        (e, "PROP #c NAME".into(), vec![sec("erin"), ":irc.test 819 erin #c :End of properties".into()]),
        (e, "PROP #c *".into(), vec![":irc.test 819 erin #c :End of properties".into()]),
        (s, "PROP #c CLIENT".into(), vec![
            ":irc.test 818 sam #c CLIENT :x".into(),
            ":irc.test 819 sam #c :End of properties".into(),
        ]),
        // RFC clients do not know PROP.
        (c, "PROP #c *".into(), vec![":irc.test 421 carol PROP :Unknown command".into()]),
    ];
    for (who, line, want) in cases {
        assert_eq!(t.ask(who, &line), want, "{line}");
    }
}

#[test]
fn pics_by_managers_and_listx() {
    let (mut t, [a, b, _, e, _, m]) = room();
    assert_eq!(
        t.ask(m, "PROP #c PICS :(PICS-1.1 rating)"),
        vec![":max!~max@127.0.0.1 PROP #c PICS :(PICS-1.1 rating)"]
    );
    assert_eq!(
        t.take(a),
        vec![":max!~max@127.0.0.1 PROP #c PICS :(PICS-1.1 rating)"]
    );
    t.take(b);
    t.feed(a, "PROP #c LANGUAGE :en-us");
    t.feed(a, "PROP #c SUBJECT :Chat about Rust");
    t.feed(e, "JOIN #other");
    for who in [a, b, e] {
        t.take(who);
    }
    let c_entry = ":irc.test 812 erin #c +nt 3 0 :";
    let other = ":irc.test 812 erin #other +nt 1 0 :";
    let pics = ":irc.test 813 erin :(PICS-1.1 rating)";
    let start = ":irc.test 811 erin :Start of ListX";
    let end = ":irc.test 817 erin :End of ListX";
    for (q, want) in [
        ("L=EN*", vec![start, c_entry, pics, end]),
        ("L=fr", vec![start, end]),
        ("S=*rust", vec![start, c_entry, pics, end]),
        ("S=", vec![start, other, end]),
        ("#other", vec![start, other, end]),
    ] {
        assert_eq!(t.ask(e, &format!("LISTX {q}")), want, "{q}");
    }
}

#[test]
fn onjoin_and_onpart_lines() {
    let (mut t, [a, b, _, e, _, _]) = room();
    t.feed(a, "PROP #c ONJOIN :Hello\\nRules: be nice");
    t.feed(a, "PROP #c ONPART :Bye");
    t.take(a);
    t.take(b);
    let got = t.ask(e, "JOIN #c");
    assert_eq!(
        got[got.len() - 2..],
        [":#c PRIVMSG #c :Hello", ":#c PRIVMSG #c :Rules: be nice"]
    );
    assert_eq!(
        got[got.len() - 3],
        ":irc.test 366 erin #c :End of /NAMES list"
    );
    assert_eq!(
        t.ask(e, "PART #c"),
        vec![":erin!~erin@127.0.0.1 PART #c", ":#c NOTICE #c :Bye"]
    );
    // Members saw only the JOIN and PART.
    assert_eq!(
        t.take(b),
        vec![
            ":erin!~erin@127.0.0.1 JOIN #c",
            ":erin!~erin@127.0.0.1 PART #c"
        ]
    );
}

#[test]
fn hostkey_join_gives_op() {
    let (mut t, [a, b, c, e, _, _]) = room();
    t.feed(a, "PROP #c HOSTKEY :hk");
    // The echo of a host key goes to hosts only.
    assert_eq!(t.take(a), vec![format!("{ALICE} PROP #c HOSTKEY :hk")]);
    assert!(t.take(b).is_empty());
    t.feed(a, "MODE #c +i");
    for who in [a, b, c] {
        t.take(who);
    }
    let got = t.ask(e, "JOIN #c hk");
    assert_eq!(got[0], ":erin!~erin@127.0.0.1 JOIN #c");
    assert_eq!(got[1], ":irc.test MODE #c +o erin");
    assert!(got
        .iter()
        .any(|l| l.contains(" 353 ") && l.contains("@erin")));
    assert_eq!(
        t.take(c),
        vec![":erin!~erin@127.0.0.1 JOIN #c", ":irc.test MODE #c +o erin"]
    );
    // A wrong key is refused as before (+i).
    t.feed(c, "PART #c");
    t.take(c);
    assert_eq!(
        t.ask(c, "JOIN #c nope"),
        vec![":irc.test 473 carol #c :Cannot join channel (+i)"]
    );
}

#[test]
fn memberkey_is_the_channel_key() {
    let (mut t, [a, b, c, e, _, _]) = room();
    assert_eq!(
        t.ask(a, "PROP #c MEMBERKEY :k1"),
        vec![
            format!("{ALICE} MODE #c +k k1"),
            format!("{ALICE} PROP #c MEMBERKEY :k1")
        ]
    );
    assert_eq!(
        t.take(b),
        vec![
            format!("{ALICE} MODE #c +k k1"),
            format!("{ALICE} PROP #c MEMBERKEY :k1")
        ]
    );
    assert_eq!(t.take(c), vec![format!("{ALICE} MODE #c +k k1")]);
    assert_eq!(
        t.ask(e, "JOIN #c"),
        vec![":irc.test 475 erin #c :Cannot join channel (+k)"]
    );
    // Replacing a key: the old one goes first.
    assert_eq!(
        t.ask(a, "PROP #c MEMBERKEY :k2"),
        vec![
            format!("{ALICE} MODE #c -k+k * k2"),
            format!("{ALICE} PROP #c MEMBERKEY :k2")
        ]
    );
    assert_eq!(
        t.ask(a, "PROP #c MEMBERKEY :"),
        vec![
            format!("{ALICE} MODE #c -k *"),
            format!("{ALICE} PROP #c MEMBERKEY :")
        ]
    );
    let ch = t.w.find_channel(b"#c").unwrap();
    assert!(t.w.channels[ch].key.is_none());
}

#[test]
fn topic_through_prop() {
    let (mut t, [a, b, c, _, _, _]) = room();
    assert_eq!(
        t.ask(a, "PROP #c TOPIC :New topic"),
        vec![
            format!("{ALICE} TOPIC #c :New topic"),
            format!("{ALICE} PROP #c TOPIC :New topic")
        ]
    );
    assert_eq!(t.take(c), vec![format!("{ALICE} TOPIC #c :New topic")]);
    t.take(b);
    assert_eq!(
        t.ask(b, "PROP #c TOPIC"),
        vec![
            ":irc.test 818 bob #c TOPIC :New topic",
            ":irc.test 819 bob #c :End of properties"
        ]
    );
    // +t (the default): members who are not hosts may not; without it they may.
    assert_eq!(
        t.ask(b, "PROP #c TOPIC :mine"),
        vec![":irc.test 908 bob :No permissions to perform command"]
    );
    t.feed(a, "MODE #c -t");
    t.take(a);
    t.take(b);
    assert_eq!(
        t.ask(b, "PROP #c TOPIC :mine")[0],
        ":bob!~bob@127.0.0.1 TOPIC #c :mine"
    );
}
