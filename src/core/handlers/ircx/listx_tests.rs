//! LISTX transcripts: exact lines, three channels of different ages, sizes and modes.

use crate::core::testing::TestWorld;
use crate::core::ConnId;

/// Moves the clock on without a timer tick (no PINGs in the transcripts).
fn later(t: &mut TestWorld, minutes: u64) {
    t.now.mono_ms += minutes * 60_000;
    t.now.unix_ms += minutes * 60_000;
}

/// alice (IRCX), bob (IRCX), carol (RFC), dave (IRCX, in no channel).
/// * `#alpha`: alice; +l 10, topic "Alpha talk"; created and topic 15 minutes ago.
/// * `#beta`: bob, carol; +m, topic "Beta, with a star*"; created and topic 5 minutes ago.
/// * `#secret`: carol, bob; +s, no topic; created now.
///
/// Everything sent so far is taken.
fn world() -> (TestWorld, [ConnId; 4]) {
    let mut t = TestWorld::new();
    let a = t.user("alice");
    let b = t.user("bob");
    let c = t.user("carol");
    let d = t.user("dave");
    for who in [a, b, d] {
        t.feed(who, "IRCX");
    }
    t.feed(a, "JOIN #alpha");
    t.feed(a, "MODE #alpha +l 10");
    t.feed(a, "TOPIC #alpha :Alpha talk");
    later(&mut t, 10);
    t.feed(b, "JOIN #beta");
    t.feed(c, "JOIN #beta");
    t.feed(b, "MODE #beta +m");
    t.feed(b, "TOPIC #beta :Beta, with a star*");
    later(&mut t, 5);
    t.feed(c, "JOIN #secret");
    t.feed(c, "MODE #secret +s");
    t.feed(b, "JOIN #secret");
    for who in [a, b, c, d] {
        t.take(who);
    }
    (t, [a, b, c, d])
}

const START: &str = ":irc.test 811 dave :Start of ListX";
const END: &str = ":irc.test 817 dave :End of ListX";
const TRUNC: &str = ":irc.test 816 dave :Truncation of ListX";
const ALPHA: &str = ":irc.test 812 dave #alpha +nt 1 10 :Alpha talk";
const BETA: &str = ":irc.test 812 dave #beta +mnt 2 0 :Beta, with a star*";

/// What dave is answered.
fn listx(t: &mut TestWorld, d: ConnId, args: &str) -> Vec<String> {
    t.ask(d, &format!("LISTX {args}"))
}

#[test]
fn no_arguments_lists_every_visible_channel() {
    let (mut t, [_, b, _, d]) = world();
    assert_eq!(t.ask(d, "LISTX"), vec![START, ALPHA, BETA, END]);
    // A member sees the secret channel; modes are only the flags (no key, no limit value).
    assert_eq!(
        t.ask(b, "LISTX"),
        vec![
            ":irc.test 811 bob :Start of ListX",
            ":irc.test 812 bob #alpha +nt 1 10 :Alpha talk",
            ":irc.test 812 bob #beta +mnt 2 0 :Beta, with a star*",
            ":irc.test 812 bob #secret +nst 2 0 :",
            ":irc.test 817 bob :End of ListX",
        ]
    );
}

#[test]
fn a_channel_list_answers_for_the_channels_named() {
    let (mut t, [_, b, _, d]) = world();
    assert_eq!(
        listx(&mut t, d, "#beta,#ALPHA,#nope,#beta"),
        vec![START, BETA, ALPHA, END]
    );
    assert_eq!(
        listx(&mut t, d, "#beta #alpha"),
        vec![START, BETA, ALPHA, END]
    );
    // A secret channel stays hidden from a non-member, even by its exact name.
    assert_eq!(listx(&mut t, d, "#secret"), vec![START, END]);
    assert_eq!(
        t.ask(b, "LISTX #secret"),
        vec![
            ":irc.test 811 bob :Start of ListX",
            ":irc.test 812 bob #secret +nst 2 0 :",
            ":irc.test 817 bob :End of ListX",
        ]
    );
    // A limit after names.
    assert_eq!(listx(&mut t, d, "#beta,#alpha 1"), vec![START, BETA, TRUNC]);
}

#[test]
fn each_query_term() {
    let (mut t, [_, _, _, d]) = world();
    #[rustfmt::skip]
    let cases: &[(&str, &[&str])] = &[
        // Members.
        ("<2", &[ALPHA]),
        (">1", &[BETA]),
        ("<1", &[]),
        (">0", &[ALPHA, BETA]),
        // Created: #alpha 15 minutes ago, #beta 5.
        ("C<10", &[BETA]),
        ("C>10", &[ALPHA]),
        ("c>15", &[]),
        ("C<16", &[ALPHA, BETA]),
        // Topic changed: #alpha 15 minutes ago, #beta 5.
        ("T<10", &[BETA]),
        ("T>10", &[ALPHA]),
        ("T<1", &[]),
        // Masks.
        ("N=#a*", &[ALPHA]),
        ("N=#BET?", &[BETA]),
        ("n=*", &[ALPHA, BETA]),
        ("T=*talk", &[ALPHA]),
        ("T=beta\\c\\bwith*", &[BETA]),
        ("T=*star\\*", &[BETA]),
        ("T=*sta\\?", &[]),
        ("T=*sta?", &[]),
        ("T=*st???", &[BETA]),
        // Registered: none yet.
        ("R=0", &[ALPHA, BETA]),
        ("R=1", &[]),
        // LANGUAGE and SUBJECT: no channel has one yet.
        ("L=*", &[ALPHA, BETA]),
        ("L=en*", &[]),
        ("S=*", &[ALPHA, BETA]),
        ("S=chat", &[]),
        // Terms combine; commas and spaces both separate them.
        ("<3,C<20 T=Beta*", &[BETA]),
        (":>0 N=#alpha", &[ALPHA]),
    ];
    for (args, want) in cases {
        let mut expect = vec![START];
        expect.extend_from_slice(want);
        expect.push(END);
        assert_eq!(listx(&mut t, d, args), expect, "LISTX {args}");
    }
}

#[test]
fn a_channel_without_a_topic_matches_no_topic_age_term() {
    let (mut t, [_, b, _, _]) = world();
    let secret = ":irc.test 812 bob #secret +nst 2 0 :";
    let with_secret = |t: &mut TestWorld, args: &str| {
        t.ask(b, &format!("LISTX {args}"))
            .iter()
            .any(|l| l == secret)
    };
    assert!(with_secret(&mut t, "C<1"));
    assert!(!with_secret(&mut t, "T<1000"));
    assert!(!with_secret(&mut t, "T>0"));
    // For T= its topic is empty.
    assert!(with_secret(&mut t, "T=*"));
    assert!(!with_secret(&mut t, "T=?*"));
}

#[test]
fn limits_and_truncation() {
    let (mut t, [_, _, _, d]) = world();
    #[rustfmt::skip]
    let cases: &[(&str, &[&str])] = &[
        ("1", &[START, ALPHA, TRUNC]),
        ("2", &[START, ALPHA, BETA, END]),
        ("3", &[START, ALPHA, BETA, END]),
        ("0", &[START, ALPHA, BETA, END]),
        (">0 1", &[START, ALPHA, TRUNC]),
        (">0,1", &[START, ALPHA, TRUNC]),
        (">0 0", &[START, ALPHA, BETA, END]),
        // A blank limit is no limit.
        (">0 :", &[START, ALPHA, BETA, END]),
        ("N=#b* 1", &[START, BETA, END]),
        ("R=1 1", &[START, END]),
    ];
    for (args, want) in cases {
        assert_eq!(listx(&mut t, d, args), *want, "LISTX {args}");
    }
}

#[test]
fn the_server_caps_an_unlimited_list() {
    use super::listx::LISTX_MAX;
    let (mut t, [_, _, _, d]) = world();
    // Enough channels to pass the cap, made directly (one user may join only so many).
    let name = |i: usize| format!("#many{i:04}");
    for i in 0..=LISTX_MAX {
        t.w.create_channel(&name(i), 0);
    }
    for args in ["", "0", "5000", "N=#many*"] {
        let got = listx(&mut t, d, args);
        assert_eq!(got.len(), LISTX_MAX + 2, "LISTX {args}");
        assert_eq!(got.last().map(String::as_str), Some(TRUNC), "LISTX {args}");
    }
}

#[test]
fn rfc_clients_get_421() {
    let (mut t, [_, _, c, _]) = world();
    assert_eq!(
        t.ask(c, "LISTX"),
        vec![":irc.test 421 carol LISTX :Unknown command"]
    );
    assert_eq!(
        t.ask(c, "LISTX #beta"),
        vec![":irc.test 421 carol LISTX :Unknown command"]
    );
}

#[test]
fn a_malformed_query_is_a_bad_command() {
    let (mut t, [_, _, _, d]) = world();
    for args in [
        "X<3",
        "<abc",
        "<",
        "C=3",
        "T<3x",
        "R=2",
        "N=\\x",
        "T=\\",
        "<5 3 2",
        "#alpha <5",
        "alpha",
        "<-1",
    ] {
        assert_eq!(
            listx(&mut t, d, args),
            vec![":irc.test 900 dave LISTX :Bad command"],
            "LISTX {args}"
        );
    }
}
