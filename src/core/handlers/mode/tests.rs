//! MODE through lines: channel and user modes, rights, limits, and what they gate.

use super::*;
use crate::core::testing::TestWorld;
use crate::limits::MAX_BANS;

const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;

/// alice (op, creator) and bob on #c; carol on no channel; nothing left to take.
fn world() -> (TestWorld, [ConnId; 3]) {
    let mut t = TestWorld::new();
    let conns = [t.user("alice"), t.user("bob"), t.user("carol")];
    t.feed(conns[ALICE], "JOIN #c");
    t.feed(conns[BOB], "JOIN #c");
    for c in conns {
        t.take(c);
    }
    (t, conns)
}

fn cid(t: &TestWorld, conn: ConnId) -> ClientId {
    t.w.local(conn).and_then(|l| l.client).unwrap()
}

/// Each case: alice's setup lines, who asks, what, and exactly what the asker gets back.
/// Every `MODE #c` line the asker gets must reach the other member unchanged, too.
#[rustfmt::skip]
const CASES: &[(&[&str], usize, &str, &[&str])] = &[
    // queries
    (&[], ALICE, "MODE #c", &[":irc.test 324 alice #c +nt", ":irc.test 329 alice #c 1700000000"]),
    (&[], BOB, "MODE #C", &[":irc.test 324 bob #c +nt", ":irc.test 329 bob #c 1700000000"]),
    (&["MODE #c +kl key 5"], BOB, "MODE #c", &[":irc.test 324 bob #c +ntkl key 5", ":irc.test 329 bob #c 1700000000"]),
    (&["MODE #c +kl key 5"], CAROL, "MODE #c", &[":irc.test 324 carol #c +ntkl * 5", ":irc.test 329 carol #c 1700000000"]),
    (&["MODE #c -nt+ims"], ALICE, "MODE #c", &[":irc.test 324 alice #c +ims", ":irc.test 329 alice #c 1700000000"]),
    (&["MODE #c -nt"], ALICE, "MODE #c", &[":irc.test 324 alice #c +", ":irc.test 329 alice #c 1700000000"]),
    (&[], ALICE, "MODE #nope", &[":irc.test 403 alice #nope :No such channel"]),
    (&[], ALICE, "MODE #nope +i", &[":irc.test 403 alice #nope :No such channel"]),
    // ban list: anyone may look, members or not, ops or not
    (&[], ALICE, "MODE #c +b", &[":irc.test 368 alice #c :End of channel ban list"]),
    (&["MODE #c +bb x y!u@h"], BOB, "MODE #c b", &[
        ":irc.test 367 bob #c x!*@* alice!~alice@127.0.0.1 1700000000",
        ":irc.test 367 bob #c y!u@h alice!~alice@127.0.0.1 1700000000",
        ":irc.test 368 bob #c :End of channel ban list",
    ]),
    (&["MODE #c +b x"], CAROL, "MODE #c +b", &[
        ":irc.test 367 carol #c x!*@* alice!~alice@127.0.0.1 1700000000",
        ":irc.test 368 carol #c :End of channel ban list",
    ]),
    (&[], ALICE, "MODE #c +ib", &[":irc.test 368 alice #c :End of channel ban list", ":alice!~alice@127.0.0.1 MODE #c +i"]),
    // flags
    // p, h and s exclude each other (IRCX): the last one set counts, and clears the others.
    (&[], ALICE, "MODE #c +imps", &[":alice!~alice@127.0.0.1 MODE #c +ims"]),
    (&["MODE #c +s"], ALICE, "MODE #c +h", &[":alice!~alice@127.0.0.1 MODE #c -s+h"]),
    (&["MODE #c +p"], ALICE, "MODE #c +sh", &[":alice!~alice@127.0.0.1 MODE #c -p+h"]),
    (&[], ALICE, "MODE #c -nt", &[":alice!~alice@127.0.0.1 MODE #c -nt"]),
    (&[], ALICE, "MODE #c imnpst", &[":alice!~alice@127.0.0.1 MODE #c +ims"]),
    (&[], ALICE, "MODE #c +nt", &[]),
    (&[], ALICE, "MODE #c -i", &[]),
    (&[], ALICE, "MODE #c +i-i", &[":alice!~alice@127.0.0.1 MODE #c +i-i"]),
    (&[], ALICE, "MODE #c +i-t+m-n", &[":alice!~alice@127.0.0.1 MODE #c +i-t+m-n"]),
    (&[], ALICE, "MODE #c +", &[]),
    // k
    (&[], ALICE, "MODE #c +k secret", &[":alice!~alice@127.0.0.1 MODE #c +k secret"]),
    (&[], ALICE, "MODE #c +k a,b:c", &[":alice!~alice@127.0.0.1 MODE #c +k abc"]),
    (&[], ALICE, "MODE #c +k abcdefghijklmnopqrstuvwxyz", &[":alice!~alice@127.0.0.1 MODE #c +k abcdefghijklmnopqrstuvw"]),
    (&[], ALICE, "MODE #c +k ,,", &[":irc.test 696 alice #c k ,, :Invalid key"]),
    (&["MODE #c +k secret"], ALICE, "MODE #c +k secret", &[]),
    (&["MODE #c +k secret"], ALICE, "MODE #c +k other", &[":irc.test 467 alice #c :Channel key already set"]),
    (&["MODE #c +k secret"], ALICE, "MODE #c -k wrong", &[":alice!~alice@127.0.0.1 MODE #c -k *"]),
    (&["MODE #c +k secret"], ALICE, "MODE #c -k", &[":alice!~alice@127.0.0.1 MODE #c -k *"]),
    (&[], ALICE, "MODE #c -k x", &[]),
    (&[], ALICE, "MODE #c +k", &[":irc.test 461 alice MODE :Not enough parameters"]),
    // l
    (&[], ALICE, "MODE #c +l 10", &[":alice!~alice@127.0.0.1 MODE #c +l 10"]),
    (&["MODE #c +l 10"], ALICE, "MODE #c +l 10", &[]),
    (&["MODE #c +l 10"], ALICE, "MODE #c +l 3", &[":alice!~alice@127.0.0.1 MODE #c +l 3"]),
    (&["MODE #c +l 10"], ALICE, "MODE #c -l", &[":alice!~alice@127.0.0.1 MODE #c -l"]),
    (&[], ALICE, "MODE #c -l", &[]),
    (&[], ALICE, "MODE #c +l 0", &[":irc.test 696 alice #c l 0 :Invalid limit"]),
    (&[], ALICE, "MODE #c +l -3", &[":irc.test 696 alice #c l -3 :Invalid limit"]),
    (&[], ALICE, "MODE #c +l many", &[":irc.test 696 alice #c l many :Invalid limit"]),
    (&[], ALICE, "MODE #c +l", &[":irc.test 461 alice MODE :Not enough parameters"]),
    // -l takes no parameter, so the next mode gets it
    (&["MODE #c +l 5", "MODE #c +v bob"], ALICE, "MODE #c -lv bob", &[":alice!~alice@127.0.0.1 MODE #c -lv bob"]),
    // o and v
    (&[], ALICE, "MODE #c +o bob", &[":alice!~alice@127.0.0.1 MODE #c +o bob"]),
    (&[], ALICE, "MODE #c +o BOB", &[":alice!~alice@127.0.0.1 MODE #c +o bob"]),
    (&[], ALICE, "MODE #c +v bob", &[":alice!~alice@127.0.0.1 MODE #c +v bob"]),
    (&[], ALICE, "MODE #c +ov bob bob", &[":alice!~alice@127.0.0.1 MODE #c +ov bob bob"]),
    (&["MODE #c +v bob"], ALICE, "MODE #c -v+v bob bob", &[":alice!~alice@127.0.0.1 MODE #c -v+v bob bob"]),
    (&[], ALICE, "MODE #c -o bob", &[]),
    (&[], ALICE, "MODE #c +o alice", &[]),
    (&[], ALICE, "MODE #c -o alice", &[":alice!~alice@127.0.0.1 MODE #c -o alice"]),
    (&[], ALICE, "MODE #c +o nobody", &[":irc.test 401 alice nobody :No such nick/channel"]),
    (&[], ALICE, "MODE #c +v carol", &[":irc.test 441 alice carol #c :They aren't on that channel"]),
    (&[], ALICE, "MODE #c +o", &[":irc.test 461 alice MODE :Not enough parameters"]),
    (&[], ALICE, "MODE #c +v", &[":irc.test 461 alice MODE :Not enough parameters"]),
    (&[], ALICE, "MODE #c +vo nobody bob", &[
        ":irc.test 401 alice nobody :No such nick/channel",
        ":alice!~alice@127.0.0.1 MODE #c +o bob",
    ]),
    // b
    (&[], ALICE, "MODE #c +b bad", &[":alice!~alice@127.0.0.1 MODE #c +b bad!*@*"]),
    (&[], ALICE, "MODE #c +b u@h", &[":alice!~alice@127.0.0.1 MODE #c +b *!u@h"]),
    (&[], ALICE, "MODE #c +b n!u", &[":alice!~alice@127.0.0.1 MODE #c +b n!u@*"]),
    (&[], ALICE, "MODE #c +b !@", &[":alice!~alice@127.0.0.1 MODE #c +b *!*@*"]),
    (&[], ALICE, "MODE #c +b *!*@*.example", &[":alice!~alice@127.0.0.1 MODE #c +b *!*@*.example"]),
    (&[], ALICE, "MODE #c +bb x x", &[":alice!~alice@127.0.0.1 MODE #c +b x!*@*"]),
    (&["MODE #c +b bad"], ALICE, "MODE #c +b BAD!*@*", &[]),
    (&["MODE #c +b bad"], ALICE, "MODE #c -b BAD", &[":alice!~alice@127.0.0.1 MODE #c -b bad!*@*"]),
    (&[], ALICE, "MODE #c -b nothere", &[]),
    // several at once, and the MODES limit
    (&["MODE #c +b x"], ALICE, "MODE #c +ov-b+i bob bob x", &[":alice!~alice@127.0.0.1 MODE #c +ov-b+i bob bob x!*@*"]),
    (&[], ALICE, "MODE #c +bbbbb a b c d e", &[":alice!~alice@127.0.0.1 MODE #c +bbbb a!*@* b!*@* c!*@* d!*@*"]),
    (&[], ALICE, "MODE #c +bbbbbi a b c d e", &[":alice!~alice@127.0.0.1 MODE #c +bbbbi a!*@* b!*@* c!*@* d!*@*"]),
    (&[], ALICE, "MODE #c +bbbbk a b c d", &[":alice!~alice@127.0.0.1 MODE #c +bbbb a!*@* b!*@* c!*@* d!*@*"]),
    // unknown letters: one 472, the rest still applies
    (&[], ALICE, "MODE #c +X", &[":irc.test 472 alice X :is an unknown mode char to me"]),
    (&[], ALICE, "MODE #c +XiY", &[
        ":irc.test 472 alice X :is an unknown mode char to me",
        ":alice!~alice@127.0.0.1 MODE #c +i",
    ]),
    // privileges
    (&[], BOB, "MODE #c +i", &[":irc.test 482 bob #c :You're not channel operator"]),
    (&[], BOB, "MODE #c -o alice", &[":irc.test 482 bob #c :You're not channel operator"]),
    (&[], CAROL, "MODE #c +i", &[":irc.test 442 carol #c :You're not on that channel"]),
    (&["MODE #c +o bob"], BOB, "MODE #c +i", &[":bob!~bob@127.0.0.1 MODE #c +i"]),
];

#[test]
fn channel_table() {
    for (pre, who, line, want) in CASES {
        let (mut t, conns) = world();
        for p in *pre {
            t.feed(conns[ALICE], p);
        }
        for c in conns {
            t.take(c);
        }
        let got = t.ask(conns[*who], line);
        assert_eq!(got, *want, "{pre:?} then {line:?}");
        let modes: Vec<&str> = want
            .iter()
            .copied()
            .filter(|l| l.contains(" MODE #c "))
            .collect();
        for other in [ALICE, BOB].into_iter().filter(|o| o != who) {
            assert_eq!(
                t.take(conns[other]),
                modes,
                "{pre:?} then {line:?}, seen by {other}"
            );
        }
    }
}

#[test]
fn irc_operators_get_no_override() {
    let (mut t, [_, b, _]) = world();
    let bob = cid(&t, b);
    t.w.set_umodes(bob, t.w.clients[bob].umodes | umode::OPER);
    assert_eq!(
        t.ask(b, "MODE #c +i"),
        vec![":irc.test 482 bob #c :You're not channel operator"]
    );
}

#[test]
fn ban_list_fills_up() {
    let (mut t, [a, b, _]) = world();
    for i in 0..MAX_BANS / MAX_MODES {
        let masks: Vec<String> = (0..MAX_MODES).map(|j| format!("n{i}x{j}")).collect();
        t.feed(a, &format!("MODE #c +bbbb {}", masks.join(" ")));
    }
    t.take(a);
    t.take(b);
    assert_eq!(
        t.ask(a, "MODE #c +bi one more"),
        vec![
            ":irc.test 478 alice #c b :Channel ban list is full",
            ":alice!~alice@127.0.0.1 MODE #c +i",
        ]
    );
    // Room again after an unban.
    assert_eq!(
        t.ask(a, "MODE #c -b+b n0x0 one"),
        vec![":alice!~alice@127.0.0.1 MODE #c -b+b n0x0!*@* one!*@*"]
    );
    t.take(b);
    let list = t.ask(b, "MODE #c b");
    assert_eq!(list.len(), MAX_BANS + 1);
    assert_eq!(
        list[MAX_BANS - 1],
        ":irc.test 367 bob #c one!*@* alice!~alice@127.0.0.1 1700000000"
    );
}

#[test]
fn key_limit_invite_and_bans_gate_join() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str)] = &[
        ("+k secret", "JOIN #c", ":irc.test 475 carol #c :Cannot join channel (+k)"),
        ("+k secret", "JOIN #c wrong", ":irc.test 475 carol #c :Cannot join channel (+k)"),
        ("+k secret", "JOIN #c secret", ":carol!~carol@127.0.0.1 JOIN #c"),
        ("+l 2", "JOIN #c", ":irc.test 471 carol #c :Cannot join channel (+l)"),
        ("+l 3", "JOIN #c", ":carol!~carol@127.0.0.1 JOIN #c"),
        ("+i", "JOIN #c", ":irc.test 473 carol #c :Cannot join channel (+i)"),
        ("+b carol", "JOIN #c", ":irc.test 474 carol #c :Cannot join channel (+b)"),
        ("+b *!~carol@*", "JOIN #c", ":irc.test 474 carol #c :Cannot join channel (+b)"),
        ("+b carol!*@10.*", "JOIN #c", ":carol!~carol@127.0.0.1 JOIN #c"),
    ];
    for (modes, join, want) in cases {
        let (mut t, [a, _, c]) = world();
        t.feed(a, &format!("MODE #c {modes}"));
        assert_eq!(t.ask(c, join)[0], *want, "{modes} then {join}");
    }
    // Taking the mode away opens the door again.
    for (set, unset) in [("+k s", "-k"), ("+l 2", "-l"), ("+b carol", "-b carol")] {
        let (mut t, [a, _, c]) = world();
        t.feed(a, &format!("MODE #c {set}"));
        t.feed(a, &format!("MODE #c {unset}"));
        assert_eq!(
            t.ask(c, "JOIN #c")[0],
            ":carol!~carol@127.0.0.1 JOIN #c",
            "{set} then {unset}"
        );
    }
}

#[test]
fn moderation_no_external_and_bans_gate_speech() {
    let denied = |nick: &str| format!(":irc.test 404 {nick} #c :Cannot send to channel");
    let (mut t, [a, b, c]) = world();
    // +n is on by default: outsiders are refused until it goes.
    assert_eq!(t.ask(c, "PRIVMSG #c :hi"), vec![denied("carol")]);
    t.feed(a, "MODE #c -n");
    assert!(t.ask(c, "PRIVMSG #c :hi").is_empty());
    assert_eq!(
        t.take(b),
        vec![
            ":alice!~alice@127.0.0.1 MODE #c -n",
            ":carol!~carol@127.0.0.1 PRIVMSG #c :hi"
        ]
    );
    t.feed(a, "MODE #c +n");
    assert_eq!(t.ask(c, "PRIVMSG #c :hi"), vec![denied("carol")]);
    // +m silences all but voiced members and ops.
    t.feed(a, "MODE #c +m");
    t.take(b);
    assert_eq!(t.ask(b, "PRIVMSG #c :hi"), vec![denied("bob")]);
    t.feed(a, "MODE #c +v bob");
    t.take(a);
    t.take(b);
    assert!(t.ask(b, "PRIVMSG #c :hi").is_empty());
    assert_eq!(t.take(a), vec![":bob!~bob@127.0.0.1 PRIVMSG #c :hi"]);
    t.feed(a, "MODE #c -vm bob");
    // A ban silences an unvoiced member who is already inside.
    t.feed(a, "MODE #c +b bob");
    t.take(b);
    assert_eq!(t.ask(b, "PRIVMSG #c :hi"), vec![denied("bob")]);
    t.feed(a, "MODE #c -b bob!*@*");
    t.take(a);
    t.take(b);
    assert!(t.ask(b, "PRIVMSG #c :hi").is_empty());
    assert_eq!(t.take(a), vec![":bob!~bob@127.0.0.1 PRIVMSG #c :hi"]);
}

#[test]
fn losing_op_loses_the_right_to_change() {
    let (mut t, [a, b, _]) = world();
    t.feed(a, "MODE #c +o bob");
    t.feed(b, "MODE #c -o alice");
    assert_eq!(
        t.take(a),
        vec![
            ":alice!~alice@127.0.0.1 MODE #c +o bob",
            ":bob!~bob@127.0.0.1 MODE #c -o alice",
        ]
    );
    assert_eq!(
        t.ask(a, "MODE #c +i"),
        vec![":irc.test 482 alice #c :You're not channel operator"]
    );
    assert!(!t.w.channels[t.w.find_channel(b"#c").unwrap()].is_op(cid(&t, a)));
}

/// Each case: alice's setup lines, what she asks, exactly what she gets back.
#[rustfmt::skip]
const USER_CASES: &[(&[&str], &str, &[&str])] = &[
    (&[], "MODE alice", &[":irc.test 221 alice +"]),
    (&["MODE alice +wi"], "MODE Alice", &[":irc.test 221 alice +iw"]),
    (&[], "MODE alice +iw", &[":alice MODE alice :+iw"]),
    (&[], "MODE ALICE +s", &[":alice MODE alice :+s"]),
    (&["MODE alice +iw"], "MODE alice -w+s", &[":alice MODE alice :+s-w"]),
    (&["MODE alice +iw"], "MODE alice +iw", &[]),
    (&[], "MODE alice -i", &[]),
    (&[], "MODE alice +i-i", &[]),
    (&[], "MODE alice +o", &[]),
    (&[], "MODE alice -o", &[]),
    (&[], "MODE alice +Y", &[":irc.test 501 alice :Unknown MODE flag"]),
    (&[], "MODE alice +Yyi", &[":irc.test 501 alice :Unknown MODE flag", ":alice MODE alice :+i"]),
    // +x (IRCX) is the server's to set: neither set nor cleared by MODE.
    (&[], "MODE alice +x", &[]),
    (&[], "MODE alice -x", &[]),
    (&[], "MODE bob", &[":irc.test 502 alice :Cant change mode for other users"]),
    (&[], "MODE bob +i", &[":irc.test 502 alice :Cant change mode for other users"]),
    (&[], "MODE nobody", &[":irc.test 401 alice nobody :No such nick/channel"]),
    (&[], "MODE nobody +i", &[":irc.test 401 alice nobody :No such nick/channel"]),
    (&[], "MODE", &[":irc.test 461 alice MODE :Not enough parameters"]),
];

#[test]
fn user_table() {
    for (pre, line, want) in USER_CASES {
        let (mut t, [a, b, _]) = world();
        for p in *pre {
            t.feed(a, p);
        }
        t.take(a);
        assert_eq!(t.ask(a, line), *want, "{pre:?} then {line:?}");
        assert!(t.take(b).is_empty(), "{line:?} reached bob");
    }
}

#[test]
fn user_modes_are_stored() {
    let (mut t, [a, _, _]) = world();
    t.feed(a, "MODE alice +iws-w");
    let alice = cid(&t, a);
    assert_eq!(t.w.clients[alice].umodes, umode::INVISIBLE | umode::SNOTICE);
}

#[test]
fn minus_o_deopers() {
    let (mut t, [a, _, _]) = world();
    let alice = cid(&t, a);
    t.w.set_umodes(alice, t.w.clients[alice].umodes | umode::OPER);
    assert_eq!(t.ask(a, "MODE alice +o"), Vec::<String>::new());
    assert_eq!(t.ask(a, "MODE alice"), vec![":irc.test 221 alice +o"]);
    assert_eq!(t.ask(a, "MODE alice -o+i"), vec![":alice MODE alice :+i-o"]);
    assert!(!t.w.clients[alice].has(umode::OPER));
    assert_eq!(t.w.counts().opers, 0);
    assert_eq!(t.ask(a, "MODE alice -o"), Vec::<String>::new());
    assert_eq!(t.w.counts().opers, 0);
}

#[test]
fn ban_masks_normalise() {
    let cases = [
        ("nick", "nick!*@*"),
        ("u@h", "*!u@h"),
        ("n!u", "n!u@*"),
        ("n!u@h", "n!u@h"),
        ("!u@", "*!u@*"),
        (":x", "x!*@*"),
        ("@h", "*!*@h"),
    ];
    for (raw, want) in cases {
        assert_eq!(ban_mask(raw.as_bytes()).as_deref(), Some(want), "{raw}");
    }
    assert_eq!(ban_mask(b"a b"), None);
    assert_eq!(ban_mask("x".repeat(BAN_LEN).as_bytes()), None);
}
