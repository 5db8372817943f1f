//! IRCX channel modes x (auditorium), d/E (cloneable, clone), f (noformat), z (service)
//! and PROP LAG: the exact lines an IRCX and an RFC client each see.

use crate::core::testing::{TestWorld, BASE_CONFIG};
use crate::core::ConnId;

/// A sysop manager (`boss`, password `pw`).
const MANAGER: &str = "[[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n";
const NOPRIV: &str = "Permission Denied- You're not an IRC operator";

fn world() -> TestWorld {
    TestWorld::with_config(&format!("{BASE_CONFIG}{MANAGER}"))
}

fn nothing_for(t: &mut TestWorld, conns: &[ConnId]) {
    for &c in conns {
        assert_eq!(t.take(c), Vec::<String>::new(), "{c:?}");
    }
}

/// alice (IRCX) CREATEs auditorium #a; bob (IRCX) and carol, dave (RFC) join it; erin
/// (RFC) stays outside. Everything sent so far is taken.
fn auditorium() -> (TestWorld, [ConnId; 5]) {
    let mut t = world();
    let [a, b, c, d, e] = ["alice", "bob", "carol", "dave", "erin"].map(|n| t.user(n));
    t.feed(a, "IRCX");
    t.feed(b, "IRCX");
    t.feed(a, "CREATE #a xnt");
    for who in [b, c, d] {
        t.feed(who, "JOIN #a");
    }
    for who in [a, b, c, d, e] {
        t.take(who);
    }
    (t, [a, b, c, d, e])
}

/// The names of a 353 line to `nick` about #a, sorted (members come in hash order).
fn names_in(line: &str, nick: &str) -> Vec<String> {
    let head = format!(":irc.test 353 {nick} = #a :");
    let names = line.strip_prefix(&head).unwrap_or_else(|| panic!("{line}"));
    let mut names: Vec<String> = names.split(' ').map(str::to_string).collect();
    names.sort_unstable();
    names
}

#[test]
fn auditorium_members_see_only_the_hosts_and_themselves() {
    let (mut t, [a, b, c, d, e]) = auditorium();
    t.feed(e, "JOIN #a");
    // erin's JOIN reaches the host alice and erin, no other member.
    assert_eq!(t.take(a), vec![":erin!~erin@127.0.0.1 JOIN #a"]);
    let got = t.take(e);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0], ":erin!~erin@127.0.0.1 JOIN #a");
    assert_eq!(names_in(&got[1], "erin"), ["erin", "~alice"]);
    assert_eq!(got[2], ":irc.test 366 erin #a :End of /NAMES list");
    nothing_for(&mut t, &[b, c, d]);
    // NAMES and WHO: ordinary members see the host and themselves; the host sees all.
    let got = t.ask(c, "NAMES #a");
    assert_eq!(names_in(&got[0], "carol"), ["carol", "~alice"]);
    assert_eq!(got[1], ":irc.test 366 carol #a :End of /NAMES list");
    let who: Vec<String> = t.ask(c, "WHO #a");
    assert_eq!(who.len(), 3, "{who:?}");
    assert!(who[0].starts_with(":irc.test 352 carol #a ~alice 127.0.0.1 irc.test alice H~"));
    assert!(who[1].starts_with(":irc.test 352 carol #a ~carol 127.0.0.1 irc.test carol H "));
    assert_eq!(who[2], ":irc.test 315 carol #a :End of WHO list");
    let got = t.ask(a, "NAMES #a");
    assert_eq!(got.len(), 2);
    assert_eq!(
        names_in(&got[0], "alice"),
        [".alice", "bob", "carol", "dave", "erin"]
    );
    assert_eq!(t.ask(a, "WHO #a").len(), 6);
}

#[test]
fn auditorium_messages_of_members_reach_only_hosts() {
    let (mut t, [a, b, c, d, e]) = auditorium();
    assert!(t.ask(c, "PRIVMSG #a :question").is_empty());
    assert_eq!(
        t.take(a),
        vec![":carol!~carol@127.0.0.1 PRIVMSG #a :question"]
    );
    nothing_for(&mut t, &[b, d, e]);
    t.feed(b, "NOTICE #a :note");
    assert_eq!(t.take(a), vec![":bob!~bob@127.0.0.1 NOTICE #a :note"]);
    nothing_for(&mut t, &[b, c, d]);
    // The host speaks to everyone.
    t.feed(a, "PRIVMSG #a :answer");
    for who in [b, c, d] {
        assert_eq!(
            t.take(who),
            vec![":alice!~alice@127.0.0.1 PRIVMSG #a :answer"]
        );
    }
    nothing_for(&mut t, &[a, e]);
}

#[test]
fn auditorium_hides_members_leaving_and_renaming() {
    let (mut t, [a, b, c, d, _]) = auditorium();
    t.feed(c, "PART #a :bye");
    assert_eq!(t.take(a), vec![":carol!~carol@127.0.0.1 PART #a :bye"]);
    assert_eq!(t.take(c), vec![":carol!~carol@127.0.0.1 PART #a :bye"]);
    nothing_for(&mut t, &[b, d]);
    t.feed(d, "NICK dan");
    assert_eq!(t.take(a), vec![":dave!~dave@127.0.0.1 NICK :dan"]);
    assert_eq!(t.take(d), vec![":dave!~dave@127.0.0.1 NICK :dan"]);
    nothing_for(&mut t, &[b]);
    t.feed(a, "KICK #a dan :out");
    let kick = ":alice!~alice@127.0.0.1 KICK #a dan :out";
    assert_eq!(t.take(a), vec![kick]);
    assert_eq!(t.take(d), vec![kick]);
    nothing_for(&mut t, &[b]);
    t.feed(c, "JOIN #a");
    t.take(c);
    t.take(a);
    t.feed(b, "QUIT :gone");
    assert_eq!(t.take(a), vec![":bob!~bob@127.0.0.1 QUIT :Quit: gone"]);
    nothing_for(&mut t, &[c]);
    // The host's own news reaches everyone.
    t.feed(a, "TOPIC #a :welcome");
    assert_eq!(t.take(c), vec![":alice!~alice@127.0.0.1 TOPIC #a :welcome"]);
}

#[test]
fn auditorium_hides_a_members_host_change() {
    let (mut t, [a, b, c, d, e]) = auditorium();
    t.feed(e, "OPER boss pw");
    t.take(e);
    t.feed(e, "CHGHOST carol new.host");
    t.take(e);
    // The host alone sees carol's fallback (no chghost): QUIT, then her JOIN back.
    assert_eq!(
        t.take(a),
        vec![
            ":carol!~carol@127.0.0.1 QUIT :Changing hostname",
            ":carol!~carol@new.host JOIN #a",
        ]
    );
    assert_eq!(
        t.take(c),
        vec![":irc.test 396 carol new.host :is now your displayed host"]
    );
    nothing_for(&mut t, &[b, d]);
    // The host's own change reaches every member.
    t.feed(e, "CHGHOST alice host.example");
    for who in [b, c, d] {
        assert_eq!(
            t.take(who),
            vec![
                ":alice!~alice@127.0.0.1 QUIT :Changing hostname",
                ":alice!~alice@host.example JOIN #a",
                ":irc.test MODE #a +q :alice",
            ],
            "{who:?}"
        );
    }
}

#[test]
fn auditorium_is_set_at_create_or_by_a_manager() {
    let mut t = world();
    let [a, b] = ["alice", "bob"].map(|n| t.user(n));
    t.feed(a, "IRCX");
    t.feed(a, "JOIN #c");
    t.feed(b, "JOIN #c");
    t.take(a);
    t.take(b);
    // A host may not make an existing channel an auditorium, nor undo one.
    assert_eq!(
        t.ask(a, "MODE #c +x"),
        vec![format!(":irc.test 481 alice :{NOPRIV}")]
    );
    // A sysop manager may, even as an ordinary member.
    t.feed(b, "OPER boss pw");
    t.take(b);
    assert_eq!(
        t.ask(b, "MODE #c +x"),
        vec![":bob!~bob@127.0.0.1 MODE #c +x"]
    );
    assert_eq!(t.take(a), vec![":bob!~bob@127.0.0.1 MODE #c +x"]);
    assert_eq!(
        t.ask(a, "MODE #c -x"),
        vec![format!(":irc.test 481 alice :{NOPRIV}")]
    );
}

#[test]
fn noformat_and_service_rights() {
    let mut t = world();
    let [a, b, c] = ["alice", "bob", "carol"].map(|n| t.user(n));
    t.feed(a, "IRCX");
    for who in [a, b, c] {
        t.feed(who, "JOIN #c");
    }
    for who in [a, b, c] {
        t.take(who);
    }
    let nopriv = |nick: &str| vec![format!(":irc.test 481 {nick} :{NOPRIV}")];
    // f is a manager's; z and E the server's alone (a manager gets 481 too).
    assert_eq!(t.ask(a, "MODE #c +f"), nopriv("alice"));
    assert_eq!(t.ask(c, "MODE #c +f"), nopriv("carol"));
    let server_only = |nick: &str| {
        vec![format!(
            ":irc.test 481 {nick} :Permission Denied- Only the server sets that mode"
        )]
    };
    assert_eq!(t.ask(a, "MODE #c +z"), server_only("alice"));
    assert_eq!(t.ask(a, "MODE #c +E"), server_only("alice"));
    // One refused letter refuses the request: nothing else in it happens.
    assert_eq!(t.ask(a, "MODE #c +mf"), nopriv("alice"));
    // An ordinary member asking for a host's mode still gets 482.
    assert_eq!(
        t.ask(c, "MODE #c +m"),
        vec![":irc.test 482 carol #c :You're not channel operator"]
    );
    t.feed(b, "OPER boss pw");
    t.take(b);
    assert_eq!(t.ask(b, "MODE #c +z"), server_only("bob"));
    assert_eq!(t.ask(b, "MODE #c +E"), server_only("bob"));
    assert_eq!(
        t.ask(b, "MODE #c +f"),
        vec![":bob!~bob@127.0.0.1 MODE #c +f"]
    );
    assert_eq!(t.take(c), vec![":bob!~bob@127.0.0.1 MODE #c +f"]);
    assert_eq!(t.take(a), vec![":bob!~bob@127.0.0.1 MODE #c +f"]);
    // The server only stores and shows it.
    assert_eq!(t.ask(c, "MODE #c")[0], ":irc.test 324 carol #c +fnt");
    // CREATE follows the same rights; x is the creator's to choose.
    assert_eq!(t.ask(a, "CREATE #d f"), nopriv("alice"));
    assert_eq!(t.ask(a, "CREATE #d z"), server_only("alice"));
    assert!(t.ask(a, "CREATE #d x")[0].starts_with(":irc.test CREATE #d 0"));
    assert_eq!(t.ask(a, "MODE #d")[0], ":irc.test 324 alice #d +x");
    t.feed(b, "IRCX");
    t.take(b);
    assert!(t.ask(b, "CREATE #e f")[0].starts_with(":irc.test CREATE #e 0"));
}

/// alice (IRCX) and carol (RFC) host `#big` (+d, limit 2); bob (IRCX) is in it.
fn full_cloneable() -> (TestWorld, [ConnId; 5]) {
    let mut t = world();
    let [a, b, c, d, e] = ["alice", "bob", "carol", "dave", "erin"].map(|n| t.user(n));
    t.feed(a, "IRCX");
    t.feed(b, "IRCX");
    t.feed(d, "IRCX");
    t.feed(a, "JOIN #big");
    t.feed(a, "MODE #big +dl 3");
    t.feed(a, "PROP #big ONJOIN :hello");
    t.feed(a, "TOPIC #big :talk");
    t.feed(c, "JOIN #big");
    t.feed(a, "MODE #big +o carol");
    t.feed(b, "JOIN #big");
    for who in [a, b, c, d, e] {
        t.take(who);
    }
    (t, [a, b, c, d, e])
}

#[test]
fn a_full_cloneable_channel_sends_joiners_to_clones() {
    let (mut t, [a, b, c, d, e]) = full_cloneable();
    let got = t.ask(d, "JOIN #big");
    let ch1 = t.w.find_channel(b"#big1").expect("clone made");
    let oid = t.w.channels[ch1].oid_str();
    assert_eq!(
        got,
        vec![
            ":dave!~dave@127.0.0.1 JOIN #big1",
            ":irc.test 332 dave #big1 :talk",
            ":irc.test 333 dave #big1 alice!~alice@127.0.0.1 1700000000",
            ":irc.test 353 dave = #big1 :dave",
            ":irc.test 366 dave #big1 :End of /NAMES list",
            ":#big1 PRIVMSG #big1 :hello",
        ]
    );
    // The IRCX host hears of the clone; the RFC host and the member do not.
    assert_eq!(t.take(a), vec![format!(":irc.test CLONE #big {oid}")]);
    nothing_for(&mut t, &[b, c]);
    // Modes copied, d off and E on; the limit, so the clone fills too.
    assert_eq!(
        t.ask(d, "MODE #big1")[0],
        ":irc.test 324 dave #big1 +Entl 3"
    );
    // The next joiner goes to the clone with room, without a new CLONE.
    t.feed(e, "JOIN #big");
    assert_eq!(t.take(e)[0], ":erin!~erin@127.0.0.1 JOIN #big1");
    assert_eq!(t.take(d), vec![":erin!~erin@127.0.0.1 JOIN #big1"]);
    nothing_for(&mut t, &[a, b, c]);
}

/// A cloneable channel with a live clone keeps its name (its clones are found by it);
/// once the clone has emptied away it may be renamed.
#[test]
fn a_cloneable_channel_with_clones_is_not_renamed() {
    let (mut t, [a, _, _, d, _]) = full_cloneable();
    t.feed(d, "JOIN #big");
    t.take(a);
    assert_eq!(
        t.ask(a, "RENAME #big #huge"),
        vec![":irc.test FAIL RENAME CANNOT_RENAME #big #huge :A cloneable channel cannot be renamed while it has clones"]
    );
    t.feed(d, "PART #big1");
    assert!(t.w.find_channel(b"#big1").is_none());
    t.feed(a, "RENAME #big #huge");
    assert!(t.w.find_channel(b"#huge").is_some() && t.w.find_channel(b"#big").is_none());
}

/// A clone's name is the original's and a number, within CHANNELLEN: a full cloneable
/// channel whose name leaves no room for one turns joiners away as any full channel does,
/// one a character shorter sends them to its clone.
#[test]
fn no_clone_past_the_channel_name_length() {
    let mut t = world();
    let [a, b] = ["alice", "bob"].map(|n| t.user(n));
    let longest = format!("#{}", "x".repeat(crate::limits::CHANNEL_LEN - 1));
    let shorter = &longest[..longest.len() - 1];
    for name in [&*longest, shorter] {
        t.feed(a, &format!("JOIN {name}"));
        t.feed(a, &format!("MODE {name} +dl 1"));
    }
    t.take(a);
    assert_eq!(
        t.ask(b, &format!("JOIN {longest}")),
        vec![format!(
            ":irc.test 471 bob {longest} :Cannot join channel (+l)"
        )]
    );
    assert_eq!(
        t.ask(b, &format!("JOIN {shorter}"))[0],
        format!(":bob!~bob@127.0.0.1 JOIN {shorter}1")
    );
}

#[test]
fn clone_limits_and_errors() {
    let (mut t, [a, _, _, d, e]) = full_cloneable();
    // A channel of that name that is not a clone is skipped, not taken over.
    t.feed(e, "JOIN #big1");
    t.take(e);
    t.feed(d, "JOIN #big");
    assert_eq!(t.take(d)[0], ":dave!~dave@127.0.0.1 JOIN #big2");
    t.take(a);
    // Banned from the original: banned from its clones, told the channel is full.
    t.feed(a, "MODE #big +b erin");
    t.take(a);
    t.feed(e, "PART #big1");
    t.take(e);
    assert_eq!(
        t.ask(e, "JOIN #big"),
        vec![":irc.test 471 erin #big :Cannot join channel (+l)"]
    );
    let bad =
        |nick: &str, chan: &str, why: &str| vec![format!(":irc.test 696 {nick} {chan} d * :{why}")];
    const DIGIT: &str = "A cloneable channel's name cannot end in a digit";
    const LIMIT: &str = "A cloneable channel needs a limit (+l)";
    t.feed(a, "JOIN #room2");
    t.feed(a, "JOIN #room");
    t.take(a);
    assert_eq!(t.ask(a, "MODE #room2 +dl 5"), {
        let mut v = vec![":alice!~alice@127.0.0.1 MODE #room2 +l 5".to_string()];
        v.splice(0..0, bad("alice", "#room2", DIGIT));
        v
    });
    assert_eq!(t.ask(a, "MODE #room +d"), bad("alice", "#room", LIMIT));
    // In either order, with the limit in the same request.
    assert_eq!(
        t.ask(a, "MODE #room +dl 5"),
        vec![":alice!~alice@127.0.0.1 MODE #room +ld 5"]
    );
    assert_eq!(t.ask(a, "CREATE #new9 dl 5"), bad("alice", "#new9", DIGIT));
    assert_eq!(t.ask(a, "CREATE #new d"), bad("alice", "#new", LIMIT));
    assert!(t.ask(a, "CREATE #new ld 5")[0].starts_with(":irc.test CREATE #new 0"));
}

#[test]
fn lag_holds_ordinary_members_lines_until_the_timer() {
    let mut t = world();
    let [a, b, c] = ["alice", "bob", "carol"].map(|n| t.user(n));
    t.feed(a, "IRCX");
    t.feed(b, "IRCX");
    for who in [a, b, c] {
        t.feed(who, "JOIN #c");
    }
    for who in [a, b, c] {
        t.take(who);
    }
    assert_eq!(
        t.ask(a, "PROP #c LAG :2"),
        vec![":alice!~alice@127.0.0.1 PROP #c LAG :2"]
    );
    assert_eq!(t.take(b), vec![":alice!~alice@127.0.0.1 PROP #c LAG :2"]);
    assert_eq!(
        t.ask(b, "PROP #c LAG"),
        vec![
            ":irc.test 818 bob #c LAG :2",
            ":irc.test 819 bob #c :End of properties",
        ]
    );
    t.feed(c, "PRIVMSG #c :one");
    t.feed(c, "PRIVMSG #c :two");
    nothing_for(&mut t, &[a, b]);
    // The host is not lagged.
    t.feed(a, "PRIVMSG #c :now");
    for who in [b, c] {
        assert_eq!(t.take(who), vec![":alice!~alice@127.0.0.1 PRIVMSG #c :now"]);
    }
    assert_eq!(t.w.next_lag_ms(), Some(t.now.mono_ms + 2000));
    t.tick(1999);
    nothing_for(&mut t, &[a, b]);
    t.tick(1);
    let lines = [
        ":carol!~carol@127.0.0.1 PRIVMSG #c :one",
        ":carol!~carol@127.0.0.1 PRIVMSG #c :two",
    ];
    assert_eq!(t.take(a), lines);
    assert_eq!(t.take(b), lines);
    nothing_for(&mut t, &[c]);
    assert_eq!(t.w.next_lag_ms(), None);
    // Lowered to none: a line sent now does not overtake one still held.
    t.feed(b, "PRIVMSG #c :first");
    t.feed(a, "PROP #c LAG :0");
    t.take(a);
    t.take(b);
    t.feed(c, "PRIVMSG #c :second");
    nothing_for(&mut t, &[a]);
    t.tick(2000);
    assert_eq!(
        t.take(a),
        [
            ":bob!~bob@127.0.0.1 PRIVMSG #c :first",
            ":carol!~carol@127.0.0.1 PRIVMSG #c :second",
        ]
    );
    t.feed(c, "PRIVMSG #c :third");
    assert_eq!(t.take(a), [":carol!~carol@127.0.0.1 PRIVMSG #c :third"]);
}

#[test]
fn lag_drops_lines_past_its_bound() {
    let mut t = world();
    let [a, c] = ["alice", "carol"].map(|n| t.user(n));
    t.feed(a, "IRCX");
    t.feed(a, "JOIN #c");
    t.feed(c, "JOIN #c");
    t.feed(a, "PROP #c LAG :1");
    t.take(a);
    t.take(c);
    let ch = t.w.find_channel(b"#c").unwrap();
    let cid = t.w.local(c).unwrap().client.unwrap();
    for i in 0..super::lag::MAX_LAGGED {
        let msg = crate::core::fanout::Msg::new(std::rc::Rc::from(&b"x\r\n"[..]), i as u64);
        let held = super::lag::Lagged {
            due_ms: 0,
            from: cid,
            status: crate::core::modes::Status::NONE,
            tagmsg: false,
            msg,
        };
        assert!(t.w.lag_message(ch, 1000, held));
    }
    assert_eq!(
        t.ask(c, "PRIVMSG #c :over"),
        vec![
            ":irc.test 404 carol #c :Cannot send to channel (too many lines held back by its LAG)"
        ]
    );
    t.tick(1000);
    assert_eq!(t.take(a).len(), super::lag::MAX_LAGGED);
}
