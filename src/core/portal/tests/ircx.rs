//! IRCX state over links: PROP and BPROP, WHISPER and DATA to members elsewhere, the gag.
//! Each to a peer with `IRCX` and to one without (an older Portico), by exact lines.

use super::*;

const NOW: u64 = 1700000000000;

/// A third native portal, for what passes through this server.
const EX_PORTAL: &str = "[[portal]]\nname = \"ex.test\"\nid = 4\npassword = \"pw\"\n";

/// alice (IRCX) owns #c, bob (RFC) is in it; peer.test (IRCX) with nora (in #c) and
/// far.test (no IRCX) with olly (in #c). Everything sent so far is taken.
fn room() -> (TestWorld, [ConnId; 4]) {
    room_with("")
}

/// [`room`] with `extra` configuration (more `[[oper]]` tables…).
pub(super) fn room_with(extra: &str) -> (TestWorld, [ConnId; 4]) {
    let mut t = TestWorld::with_portals_and(&format!("{OPER}{EX_PORTAL}{extra}"));
    let new = t.link("peer.test", 2, ALL_IRCX, 2);
    let old = t.link("far.test", 3, ALL, 2);
    let alice = t.user("alice");
    let bob = t.user("bob");
    t.feed(alice, "IRCX");
    t.feed(alice, "JOIN #c");
    t.feed(bob, "JOIN #c");
    seat_remotes(&mut t, new, old, NOW);
    for c in [new, old, alice, bob] {
        t.take(c);
    }
    (t, [new, old, alice, bob])
}

fn subject(t: &TestWorld) -> Option<String> {
    let ch = t.w.find_channel(b"#c").unwrap();
    let p = t.w.channels[ch].prop(crate::core::handlers::ircx::prop::Prop::Subject);
    p.map(|v| String::from_utf8_lossy(v).into_owned())
}

#[test]
fn a_local_prop_set_goes_to_ircx_links_only() {
    let (mut t, [new, old, alice, bob]) = room();
    t.feed(alice, "PROP #c SUBJECT :Rust talk");
    assert_eq!(
        t.take(new),
        vec![format!(":alice PROP #c SUBJECT {NOW} :Rust talk")]
    );
    assert_eq!(t.take(old), Vec::<String>::new());
    assert_eq!(t.take(bob), Vec::<String>::new());
    t.feed(alice, "PROP #c SUBJECT :");
    assert_eq!(t.take(new), vec![format!(":alice PROP #c SUBJECT {NOW} :")]);
    // TOPIC travels as the TOPIC it is, to both.
    t.feed(alice, "PROP #c TOPIC :hello");
    assert_eq!(t.take(new), vec![":alice TOPIC #c 1700000000 :hello"]);
    assert_eq!(t.take(old), vec![":alice TOPIC #c 1700000000 :hello"]);
}

#[test]
fn a_remote_prop_set_is_applied_echoed_and_passed_on() {
    let (mut t, [new, old, alice, bob]) = room();
    let carl = t.user("carl");
    t.feed(carl, "IRCX");
    t.feed(carl, "JOIN #c");
    let ex = t.link("ex.test", 4, ALL_IRCX, 2);
    t.feed(
        ex,
        ":ex.test NICK eve 1 1600000000000 ~eve ex.host 4 + :Eve",
    );
    t.feed(ex, &format!(":ex.test SJOIN {NOW} #c + :eve"));
    for c in [new, old, alice, bob, carl, ex] {
        t.take(c);
    }
    t.feed(new, &format!(":nora PROP #c SUBJECT {NOW} :From afar"));
    assert_eq!(
        t.take(ex),
        vec![format!(":nora PROP #c SUBJECT {NOW} :From afar")]
    );
    assert_eq!(subject(&t).as_deref(), Some("From afar"));
    let echo = ":nora!~nora@new.host PROP #c SUBJECT :From afar";
    assert_eq!(t.take(alice), vec![echo]);
    assert_eq!(t.take(carl), vec![echo]);
    assert_eq!(t.take(bob), Vec::<String>::new());
    assert_eq!(t.take(old), Vec::<String>::new());
    assert_eq!(t.take(new), Vec::<String>::new());
    // An older set loses; a newer one wins; the same again changes nothing.
    t.feed(new, &format!(":nora PROP #c SUBJECT {} :stale", NOW - 1));
    assert_eq!(subject(&t).as_deref(), Some("From afar"));
    assert_eq!(t.take(alice), Vec::<String>::new());
    t.feed(new, &format!(":nora PROP #c SUBJECT {} :", NOW + 5));
    assert_eq!(subject(&t), None);
    assert_eq!(
        t.take(alice),
        vec![":nora!~nora@new.host PROP #c SUBJECT :"]
    );
}

#[test]
fn keys_from_afar_echo_only_to_hosts_and_owners() {
    let (mut t, [new, _, alice, _]) = room();
    let carl = t.user("carl");
    t.feed(carl, "IRCX");
    t.feed(carl, "JOIN #c");
    t.take(carl);
    t.take(alice);
    t.feed(new, &format!(":nora PROP #c OWNERKEY {NOW} :sesame"));
    assert_eq!(
        t.take(alice),
        vec![":nora!~nora@new.host PROP #c OWNERKEY :sesame"]
    );
    assert_eq!(t.take(carl), Vec::<String>::new());
    // The key works here: JOIN with it makes an owner.
    let dave = t.user("dave");
    t.feed(dave, "JOIN #c sesame");
    let ch = t.w.find_channel(b"#c").unwrap();
    let cid = t.w.find_nick(b"dave").unwrap();
    assert!(t.w.channels[ch].is_owner(cid));
}

#[test]
fn bad_remote_props_are_dropped() {
    let (mut t, [new, _, alice, _]) = room();
    let long = "x".repeat(32);
    for line in [
        format!(":nora PROP #c SUBJECT {NOW} :{long}"),
        format!(":nora PROP #c OID {NOW} :0123"),
        format!(":nora PROP #c TOPIC {NOW} :nope"),
        format!(":nora PROP #c NO$UCH {NOW} :x"),
        ":nora PROP #c SUBJECT -5 :x".to_string(),
        ":nora PROP #c SUBJECT 99999999999999999999999 :x".to_string(),
        format!(":nora PROP #c SUBJECT {} :future", NOW + 25 * 3600 * 1000),
        format!(":nora PROP #c LAG {NOW} :9"),
        format!(":nora PROP #c HOSTKEY {NOW} :a,b"),
        // A CR would end the line for clients that read it back.
        format!(":nora PROP #c SUBJECT {NOW} :a\rPRIVMSG #c :x"),
        format!(":peer.test BPROP {NOW} #c SUBJECT {NOW} :a\rb"),
        ":nora PROP #c SUBJECT".to_string(),
        format!(":peer.test BPROP {NOW} #c SUBJECT x :y"),
    ] {
        t.feed(new, &line);
        assert_eq!(subject(&t), None, "{line}");
        assert_eq!(t.take(alice), Vec::<String>::new(), "{line}");
    }
}

#[test]
fn remote_lag_applies() {
    let (mut t, [new, _, _, _]) = room();
    t.feed(new, &format!(":nora PROP #c LAG {NOW} :2"));
    let ch = t.w.find_channel(b"#c").unwrap();
    assert_eq!(t.w.channels[ch].props.as_ref().unwrap().lag.secs, 2);
    t.feed(new, &format!(":nora PROP #c LAG {} :0", NOW + 1));
    assert!(t.w.channels[ch].props.is_none());
}

#[test]
fn the_burst_carries_properties_to_ircx_links_only() {
    let mut t = TestWorld::with_portals();
    let alice = t.user("alice");
    t.feed(alice, "IRCX");
    t.feed(alice, "JOIN #c");
    t.feed(alice, "PROP #c SUBJECT :Rust");
    t.feed(alice, "PROP #c LAG :1");
    t.feed(alice, "PROP #c MEMBERKEY :k");
    let new = t.link("peer.test", 2, ALL_IRCX, 2);
    let old = t.link("far.test", 3, ALL, 2);
    let burst = |lines: Vec<String>| -> Vec<String> {
        lines.into_iter().filter(|l| l.contains(" #c ")).collect()
    };
    assert_eq!(
        burst(t.take(new)),
        vec![
            format!(":irc.test SJOIN {NOW} #c +ntk k :~alice"),
            format!(":irc.test OID {NOW} #c 000100001"),
            format!(":irc.test BPROP {NOW} #c SUBJECT {NOW} :Rust"),
            format!(":irc.test BPROP {NOW} #c LAG {NOW} :1"),
        ]
    );
    assert_eq!(
        burst(t.take(old)),
        vec![format!(":irc.test SJOIN {NOW} #c +ntk k :@alice")]
    );
}

#[test]
fn a_burst_of_an_equal_channel_merges_by_time() {
    let (mut t, [new, old, alice, _]) = room();
    t.feed(alice, "PROP #c SUBJECT :ours");
    t.feed(alice, "PROP #c CLIENT :ours");
    t.take(new);
    t.take(alice);
    t.feed(
        new,
        &format!(":peer.test BPROP {NOW} #c SUBJECT {} :theirs", NOW + 1),
    );
    t.feed(
        new,
        &format!(":peer.test BPROP {NOW} #c CLIENT {} :theirs", NOW - 1),
    );
    assert_eq!(subject(&t).as_deref(), Some("theirs"));
    let ch = t.w.find_channel(b"#c").unwrap();
    let client = crate::core::handlers::ircx::prop::Prop::Client;
    assert_eq!(t.w.channels[ch].prop(client), Some(&b"ours"[..]));
    assert_eq!(t.take(alice), vec![":peer.test PROP #c SUBJECT :theirs"]);
    assert_eq!(t.take(old), Vec::<String>::new());
}

#[test]
fn a_merge_keeps_the_older_channels_properties() {
    let (mut t, [new, _, alice, _]) = room();
    t.feed(alice, "PROP #c SUBJECT :ours");
    t.take(alice);
    // A younger channel's properties do not count.
    t.feed(
        new,
        &format!(
            ":peer.test BPROP {} #c SUBJECT {} :younger",
            NOW + 1,
            NOW + 9
        ),
    );
    assert_eq!(subject(&t).as_deref(), Some("ours"));
    // An older one's replace ours, even with older sets.
    let older = NOW - 1000;
    t.feed(
        new,
        ":peer.test NICK nick2 1 1600000000000 ~n2 new.host 2 + :N",
    );
    t.feed(new, &format!(":peer.test SJOIN {older} #c + :nick2"));
    assert_eq!(subject(&t), None);
    t.feed(
        new,
        &format!(":peer.test BPROP {older} #c LANGUAGE {older} :fr"),
    );
    let ch = t.w.find_channel(b"#c").unwrap();
    let lang = crate::core::handlers::ircx::prop::Prop::Language;
    assert_eq!(t.w.channels[ch].prop(lang), Some(&b"fr"[..]));
    let got = t.take(alice);
    assert!(
        got.contains(&":peer.test PROP #c SUBJECT :".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&":peer.test PROP #c LANGUAGE :fr".to_string()),
        "{got:?}"
    );
}

#[test]
fn whispers_cross_ircx_links_with_their_channel_and_others_as_privmsg() {
    let (mut t, [new, old, alice, _]) = room();
    t.feed(alice, "WHISPER #c nora,olly :psst");
    assert_eq!(t.take(new), vec![":alice WHISPER #c nora :psst"]);
    assert_eq!(t.take(old), vec![":alice PRIVMSG olly :psst"]);
    t.feed(alice, "PRIVMSG #c nora,olly :hi");
    assert_eq!(t.take(new), vec![":alice PRIVMSG #c nora :hi"]);
    assert_eq!(t.take(old), vec![":alice PRIVMSG olly :hi"]);
    t.feed(alice, "NOTICE #c nora :n");
    assert_eq!(t.take(new), vec![":alice NOTICE #c nora :n"]);
    assert_eq!(t.take(alice), Vec::<String>::new());
}

#[test]
fn a_whisper_from_afar_reaches_each_recipient_in_its_dialect() {
    let (mut t, [new, old, alice, bob]) = room();
    t.feed(new, ":nora WHISPER #c alice :psst");
    assert_eq!(
        t.take(alice),
        vec![":nora!~nora@new.host WHISPER #c alice :psst"]
    );
    t.feed(new, ":nora WHISPER #c bob :psst");
    assert_eq!(t.take(bob), vec![":nora!~nora@new.host PRIVMSG bob :psst"]);
    // Passed on toward a member behind another link, in that link's form.
    t.feed(new, ":nora WHISPER #c olly :psst");
    assert_eq!(t.take(old), vec![":nora PRIVMSG olly :psst"]);
    t.feed(new, ":nora PRIVMSG #c alice :hi");
    assert_eq!(t.take(alice), vec![":nora!~nora@new.host PRIVMSG #c :hi"]);
    // Toward a member behind another IRCX link: still with its channel.
    let ex = t.link("ex.test", 4, ALL_IRCX, 2);
    t.feed(
        ex,
        ":ex.test NICK eve 1 1600000000000 ~eve ex.host 4 + :Eve",
    );
    t.feed(ex, &format!(":ex.test SJOIN {NOW} #c + :eve"));
    for c in [ex, new, old, alice, bob] {
        t.take(c);
    }
    t.feed(new, ":nora WHISPER #c eve :pass it on");
    assert_eq!(t.take(ex), vec![":nora WHISPER #c eve :pass it on"]);
    t.feed(new, ":nora DATA #c eve Tag :on");
    assert_eq!(t.take(ex), vec![":nora DATA #c eve Tag :on"]);
    // Never back where it came from, never answered.
    t.feed(new, ":nora WHISPER #c nora :self");
    t.feed(new, ":nora WHISPER #nope alice :x");
    assert_eq!(t.take(new), Vec::<String>::new());
    assert_eq!(t.take(alice), Vec::<String>::new());
}

#[test]
fn data_crosses_ircx_links_only() {
    let (mut t, [new, old, alice, bob]) = room();
    t.feed(alice, "DATA nora Tag :x");
    assert_eq!(t.take(new), vec![":alice DATA nora Tag :x"]);
    t.feed(alice, "REQUEST olly Tag :x");
    t.feed(alice, "REPLY #c Tag :y");
    assert_eq!(t.take(new), vec![":alice REPLY #c Tag :y"]);
    t.feed(alice, "DATA #c nora,olly Tag :z");
    assert_eq!(t.take(new), vec![":alice DATA #c nora Tag :z"]);
    assert_eq!(t.take(old), Vec::<String>::new());
    assert_eq!(t.take(alice), Vec::<String>::new());
    // From afar: to IRCX members here only.
    t.feed(new, ":nora DATA #c Tag :w");
    assert_eq!(t.take(alice), vec![":nora!~nora@new.host DATA #c Tag :w"]);
    t.feed(new, ":nora REQUEST alice Tag :v");
    assert_eq!(
        t.take(alice),
        vec![":nora!~nora@new.host REQUEST alice Tag :v"]
    );
    t.feed(new, ":nora DATA #c alice,bob Tag :u");
    assert_eq!(t.take(alice), vec![":nora!~nora@new.host DATA #c Tag :u"]);
    assert_eq!(t.take(bob), Vec::<String>::new());
    assert_eq!(t.take(old), Vec::<String>::new());
    assert_eq!(t.take(new), Vec::<String>::new());
}

/// sam, a sysop here, in the room.
fn sysop(t: &mut TestWorld) -> ConnId {
    let sam = t.user("sam");
    t.feed(sam, "OPER admin pw");
    t.take(sam);
    sam
}

#[test]
fn a_gag_travels_over_ircx_links_only() {
    let (mut t, [new, old, _, bob]) = room();
    let sam = sysop(&mut t);
    t.take(new);
    t.take(old);
    t.feed(sam, "MODE nora +z");
    assert_eq!(t.take(sam), vec![":sam MODE nora :+z"]);
    assert_eq!(t.take(new), vec![":sam MODE nora :+z"]);
    assert_eq!(t.take(old), Vec::<String>::new());
    assert!(t.w.is_gagged(t.w.find_nick(b"nora").unwrap()));
    // Behind a link without IRCX a gag could not reach the user's server.
    t.feed(sam, "MODE olly +z");
    assert_eq!(
        t.take(sam),
        vec![":irc.test 502 sam :Cant change mode for other users"]
    );
    assert!(!t.w.is_gagged(t.w.find_nick(b"olly").unwrap()));
    t.feed(sam, "MODE bob +z");
    assert_eq!(t.take(new), vec![":sam MODE bob :+z"]);
    assert_eq!(t.take(old), Vec::<String>::new());
    assert_eq!(t.take(bob), Vec::<String>::new());
}

#[test]
fn a_gag_from_afar_silences_a_user_here() {
    let (mut t, [new, old, alice, bob]) = room();
    // Only a sysop (or a server) may gag.
    t.feed(new, ":nora MODE alice +z");
    assert!(!t.w.is_gagged(t.w.find_nick(b"alice").unwrap()));
    t.feed(
        new,
        ":peer.test NICK sys 1 1600000000000 ~sys new.host 2 +o :Sys",
    );
    t.feed(new, ":sys MODE alice :+z");
    assert!(t.w.is_gagged(t.w.find_nick(b"alice").unwrap()));
    assert_eq!(t.take(alice), Vec::<String>::new());
    assert_eq!(
        t.take(old),
        vec![":peer.test NICK sys 2 1600000000000 ~sys new.host 2 +o :Sys"]
    );
    t.feed(alice, "PRIVMSG #c :hello?");
    assert_eq!(t.take(bob), Vec::<String>::new());
    assert_eq!(t.take(new), Vec::<String>::new());
    assert_eq!(t.take(old), Vec::<String>::new());
    t.feed(new, ":sys MODE alice :-z");
    t.feed(alice, "PRIVMSG #c :hello?");
    assert_eq!(
        t.take(bob),
        vec![":alice!~alice@127.0.0.1 PRIVMSG #c :hello?"]
    );
}

#[test]
fn gagged_users_carry_the_gag_in_the_burst() {
    let mut t = TestWorld::with_portals_and(OPER);
    let sam = sysop(&mut t);
    let bob = t.user("bob");
    t.feed(sam, "MODE bob +z");
    let new = t.link("peer.test", 2, ALL_IRCX, 2);
    let old = t.link("far.test", 3, ALL, 2);
    let bob_lines = |lines: Vec<String>| -> Vec<String> {
        lines.into_iter().filter(|l| l.contains(" bob ")).collect()
    };
    assert_eq!(
        bob_lines(t.take(new)),
        vec![
            ":irc.test NICK bob 1 1700000000000 ~bob 127.0.0.1 1 + :bob real",
            ":irc.test MODE bob :+z",
        ]
    );
    assert_eq!(
        bob_lines(t.take(old)),
        vec![":irc.test NICK bob 1 1700000000000 ~bob 127.0.0.1 1 + :bob real"]
    );
    let _ = bob;
}
