//! Channel owners (`+q`, IRCX.md §2): who becomes one, what each dialect sees, and that
//! only owners act on owners.

use super::tests::room_in;
use crate::core::testing::TestWorld;

/// alice (IRCX) created #c and owns it; bob (IRCX), carol and dave (RFC) are members.
fn room() -> (TestWorld, [crate::core::ConnId; 5]) {
    room_in(TestWorld::new())
}

/// The members of #c as `who` sees them in NAMES, sorted (the reply's order is the hash's).
fn names(t: &mut TestWorld, who: crate::core::ConnId) -> String {
    t.take(who);
    let got = t.ask(who, "NAMES #c");
    let list = got[0].rsplit_once(" :").unwrap().1;
    let mut v: Vec<&str> = list.split(' ').collect();
    v.sort_by_key(|m| m.trim_start_matches(['~', '.', '@', '+']));
    v.join(" ")
}

#[test]
fn an_ircx_creator_owns_the_channel_and_each_dialect_sees_its_prefix() {
    let (mut t, [a, _, c, _, _]) = room();
    assert_eq!(names(&mut t, a), ".alice bob carol dave");
    assert_eq!(names(&mut t, c), "~alice bob carol dave");
    let who = t.ask(c, "WHO #c");
    assert!(who
        .iter()
        .any(|l| l.starts_with(":irc.test 352 carol #c ~alice 127.0.0.1 irc.test alice H~ ")));
    let who = t.ask(a, "WHO #c");
    assert!(who
        .iter()
        .any(|l| l.starts_with(":irc.test 352 alice #c ~alice 127.0.0.1 irc.test alice H. ")));
}

#[test]
fn an_rfc_creator_gets_the_op_it_expects() {
    let (mut t, [_, _, c, _, _]) = room();
    t.feed(c, "JOIN #rfc");
    assert_eq!(
        t.take(c),
        vec![
            ":carol!~carol@127.0.0.1 JOIN #rfc",
            ":irc.test 353 carol = #rfc :@carol",
            ":irc.test 366 carol #rfc :End of /NAMES list",
        ]
    );
}

#[test]
fn owners_give_and_take_q_and_hosts_cannot_touch_owners() {
    let (mut t, [a, b, c, d, _]) = room();
    t.feed(a, "MODE #c +o carol");
    for who in [a, b, c, d] {
        t.take(who);
    }
    // A host may not make owners, nor act on one.
    assert_eq!(
        t.ask(c, "MODE #c +q dave"),
        vec![":irc.test 482 carol #c :You're not a channel owner"]
    );
    assert_eq!(
        t.ask(c, "MODE #c -o alice"),
        vec![":irc.test 482 carol #c :You're not a channel owner"]
    );
    assert_eq!(
        t.ask(c, "KICK #c alice :bye"),
        vec![":irc.test 482 carol #c :You're not a channel owner"]
    );
    // An ordinary member gets the ordinary refusal.
    assert_eq!(
        t.ask(d, "MODE #c +q dave"),
        vec![":irc.test 482 dave #c :You're not channel operator"]
    );
    // The owner makes bob an owner: everyone sees the mode, and bob's prefix by dialect.
    t.feed(a, "MODE #c +q bob");
    for who in [a, b, c, d] {
        assert_eq!(t.take(who), vec![":alice!~alice@127.0.0.1 MODE #c +q bob"]);
    }
    assert_eq!(names(&mut t, d), "~alice ~bob @carol dave");
    assert_eq!(names(&mut t, b), ".alice .bob @carol dave");
    // Now bob may act on the other owner, and alice may step down herself.
    t.feed(b, "MODE #c -q alice");
    assert_eq!(t.take(d), vec![":bob!~bob@127.0.0.1 MODE #c -q alice"]);
    t.feed(b, "MODE #c +q alice");
    t.take(d);
    t.feed(a, "MODE #c -q alice");
    assert_eq!(t.take(d), vec![":alice!~alice@127.0.0.1 MODE #c -q alice"]);
    t.take(a);
    // The step down holds: an ordinary member now, she may not act on bob.
    assert_eq!(
        t.ask(a, "KICK #c bob"),
        vec![":irc.test 482 alice #c :You're not channel operator"]
    );
}

#[test]
fn joining_with_the_ownerkey_makes_an_owner() {
    let (mut t, [a, b, _, d, e]) = room();
    t.feed(a, "PROP #c OWNERKEY :crown");
    // The key is a password: only owners hear it set.
    assert_eq!(
        t.take(a),
        vec![":alice!~alice@127.0.0.1 PROP #c OWNERKEY :crown"]
    );
    assert_eq!(t.take(b), Vec::<String>::new());
    // A host may not set it.
    t.feed(a, "MODE #c +o bob");
    t.take(a);
    t.take(b);
    assert_eq!(
        t.ask(b, "PROP #c OWNERKEY :mine"),
        vec![":irc.test 908 bob :No permissions to perform command"]
    );
    t.feed(a, "MODE #c +i");
    t.take(d);
    t.feed(e, "JOIN #c crown");
    t.take(e);
    assert_eq!(
        t.take(d),
        vec![":erin!~erin@127.0.0.1 JOIN #c", ":irc.test MODE #c +q erin",]
    );
    assert_eq!(names(&mut t, d), "~alice @bob carol dave ~erin");
}

#[test]
fn owners_send_own_tags_to_their_channel() {
    let (mut t, [a, b, _, _, _]) = room();
    assert!(t.ask(a, "DATA #c OWN.X :x").is_empty());
    assert_eq!(t.take(b), vec![":alice!~alice@127.0.0.1 DATA #c OWN.X :x"]);
    assert_eq!(
        t.ask(b, "DATA #c OWN.X :x"),
        vec![":irc.test 908 bob :No permissions to perform command"]
    );
}

/// [`room`] with `[ircx] rfc_owner_prefix = <sym>`.
fn room_showing(sym: &str) -> (TestWorld, [crate::core::ConnId; 5]) {
    let config = format!(
        "{}\n[ircx]\nrfc_owner_prefix = \"{sym}\"\n",
        crate::core::testing::BASE_CONFIG
    );
    room_in(TestWorld::with_config(&config))
}

#[test]
fn another_owner_symbol_for_rfc_clients() {
    let (mut t, [a, b, c, _, _]) = room_showing("!");
    assert_eq!(names(&mut t, c), "!alice bob carol dave");
    assert_eq!(names(&mut t, a), ".alice bob carol dave");
    let isupport = t.ask(c, "VERSION");
    assert!(isupport.iter().any(|l| l.contains(" PREFIX=(qov)!@+ ")));
    assert!(isupport.iter().any(|l| l.contains(" STATUSMSG=!@+ ")));
    // `!#c` reaches the owners only.
    t.feed(c, "NOTICE !#c :owners");
    assert_eq!(
        t.take(a),
        vec![":carol!~carol@127.0.0.1 NOTICE !#c :owners"]
    );
    assert!(t.take(b).is_empty());
}

#[test]
fn owners_shown_as_hosts_to_rfc_clients() {
    let (mut t, [a, b, c, d, _]) = room_showing("@");
    assert_eq!(names(&mut t, c), "@alice bob carol dave");
    let isupport = t.ask(c, "VERSION");
    assert!(isupport.iter().any(|l| l.contains(" PREFIX=(ov)@+ ")));
    assert!(isupport.iter().any(|l| l.contains(" STATUSMSG=@+ ")));
    assert!(t
        .ask(a, "VERSION")
        .iter()
        .any(|l| l.contains(" PREFIX=(qov).@+ ")));
    // RFC clients see an owner made as an op made; IRCX clients see the owner.
    t.feed(a, "MODE #c +q bob");
    assert_eq!(t.take(b), vec![":alice!~alice@127.0.0.1 MODE #c +q bob"]);
    assert_eq!(t.take(c), vec![":alice!~alice@127.0.0.1 MODE #c +o bob"]);
    // An owner who is also an op shows once; losing q while staying op is nothing to RFC.
    t.feed(a, "MODE #c +o bob");
    t.take(c);
    assert_eq!(names(&mut t, d), "@alice @bob carol dave");
    t.take(b);
    t.feed(a, "MODE #c -q bob");
    assert_eq!(t.take(b), vec![":alice!~alice@127.0.0.1 MODE #c -q bob"]);
    assert!(t.take(c).is_empty());
    assert_eq!(names(&mut t, d), "@alice @bob carol dave");
}
