//! Portico servers linked by portals, all in this process on 127.0.0.1:0.
mod common;
use common::net::{converge, start, stats_figure, stats_p_with_lag, Peer};
use common::TestServer;

fn peer(name: &str, id: u16) -> Peer<'_> {
    Peer {
        name,
        id,
        dial: None,
    }
}

fn dial<'a>(name: &'a str, id: u16, to: &TestServer) -> Peer<'a> {
    Peer {
        name,
        id,
        dial: Some(to.addr()),
    }
}

/// hub (accepts) <- leaf (dials).
fn pair() -> (TestServer, TestServer) {
    let hub = start("hub.test", 1, &[peer("leaf.test", 2)], "");
    let leaf = start("leaf.test", 2, &[dial("hub.test", 1, &hub)], "");
    hub.wait_servers(&["leaf.test"]);
    leaf.wait_servers(&["hub.test"]);
    (hub, leaf)
}

/// Each end PINGs the link as soon as it is up; STATS p then shows the round trip as the
/// link's lag, with its send queue and how long the peer's burst took (ended by EOB).
#[test]
fn stats_p_shows_each_portals_lag_after_the_first_ping_round() {
    let oper = "[[oper]]\nname = \"admin\"\npassword = \"pw\"\n";
    let hub = start("hub.test", 1, &[peer("leaf.test", 2)], oper);
    let leaf = start("leaf.test", 2, &[dial("hub.test", 1, &hub)], oper);
    hub.wait_servers(&["leaf.test"]);
    leaf.wait_servers(&["hub.test"]);
    // One network, so one nick each.
    for (server, other, nick) in [(&hub, "leaf.test", "hubop"), (&leaf, "hub.test", "leafop")] {
        let mut admin = server.user_on(nick);
        admin.send("OPER admin pw");
        admin.skip_until(" 381 ");
        let line = stats_p_with_lag(&mut admin, other);
        let me = line.split(' ').next().unwrap_or_default().to_string();
        assert!(
            line.starts_with(&format!(
                "{me} 249 {nick} p :{other} protocol portico 2 caps [ACCOUNT AWAY BMASK CHGHOST EOB IRCX METADATA RENAME SETNAME TB] up "
            )),
            "{line}"
        );
        // Loopback on a loaded machine: well under the 5 s a test waits for anything.
        assert!(stats_figure(&line, "lag") < 5_000, "{line}");
        assert!(stats_figure(&line, "burst") < 5_000, "{line}");
        stats_figure(&line, "sendq"); // a figure (its value depends on the moment)
        assert!(!line.ends_with("(bursting)"), "{line}");
    }
}

#[test]
fn two_servers_chat_in_a_channel_and_privately() {
    let (hub, leaf) = pair();
    let mut alice = hub.user_on("alice");
    let mut bob = leaf.user_on("bob");
    alice.send("JOIN #c");
    alice.skip_until(" 366 ");
    converge(&[&hub, &leaf]);
    bob.send("JOIN #c");
    bob.skip_until(" 366 ");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #c");
    bob.send("PRIVMSG #c :hello from the leaf");
    alice.expect(":bob!~bob@127.0.0.1 PRIVMSG #c :hello from the leaf");
    alice.send("PRIVMSG #c :hello from the hub");
    bob.expect(":alice!~alice@127.0.0.1 PRIVMSG #c :hello from the hub");
    alice.send("PRIVMSG bob :psst");
    bob.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :psst");
    bob.send("NICK robert");
    bob.expect(":bob!~bob@127.0.0.1 NICK :robert");
    alice.expect(":bob!~bob@127.0.0.1 NICK :robert");
    bob.nick = "robert".into();
    alice.send("MODE #c +v robert");
    alice.expect(":alice!~alice@127.0.0.1 MODE #c +v robert");
    bob.expect(":alice!~alice@127.0.0.1 MODE #c +v robert");
    alice.send("TOPIC #c :linked topic");
    alice.expect(":alice!~alice@127.0.0.1 TOPIC #c :linked topic");
    bob.expect(":alice!~alice@127.0.0.1 TOPIC #c :linked topic");
    let view = converge(&[&hub, &leaf]);
    assert!(view.contains("channel #c"), "{view}");
    assert!(view.contains("members=[+robert @alice]"), "{view}");
    bob.send("QUIT :bye");
    alice.expect(":robert!~bob@127.0.0.1 QUIT :Quit: bye");
    alice.expect_nothing();
    converge(&[&hub, &leaf]);
}

/// An IRCX owner made on the hub: `~` on a leaf that offers IRCX, `@` on one that does not
/// (an older Portico, simulated by its offered capabilities).
#[test]
fn owners_cross_as_owners_or_as_ops_by_capability() {
    for (caps, shown) in [
        ("", "~alice"),
        (
            "[testing]\nportal_caps = [\"EOB\", \"AWAY\", \"TB\", \"BMASK\", \"SETNAME\"]\n",
            "@alice",
        ),
    ] {
        let hub = start("hub.test", 1, &[peer("leaf.test", 2)], "");
        let leaf = start("leaf.test", 2, &[dial("hub.test", 1, &hub)], caps);
        hub.wait_servers(&["leaf.test"]);
        leaf.wait_servers(&["hub.test"]);
        let mut alice = hub.user_on("alice");
        let mut bob = leaf.user_on("bob");
        alice.send("IRCX");
        alice.skip_until(" 005 ");
        alice.send("JOIN #c");
        alice.skip_until(" 366 ");
        // (Not `converge`: alice's +x is hers alone, the leaf's view of her lacks it.)
        leaf.wait_for("#c", |v| v.contains("channel #c"));
        bob.send("JOIN #c");
        bob.expect(":bob!~bob@127.0.0.1 JOIN #c");
        let names = bob.line();
        assert!(
            names == format!(":leaf.test 353 bob = #c :{shown} bob")
                || names == format!(":leaf.test 353 bob = #c :bob {shown}"),
            "{names}"
        );
        bob.expect(":leaf.test 366 bob #c :End of /NAMES list");
    }
}

/// Whether a server's view has `nick` among the members of `#c`.
fn in_c(view: &str, nick: &str) -> bool {
    view.lines()
        .any(|l| l.starts_with("channel #c") && l.contains(nick))
}

/// alice on `a` and `other` on `b`, both IRCX clients, in #c (alice created it), once
/// both servers see both members.
fn ircx_pair_in_c(
    a: &TestServer,
    b: &TestServer,
    other: &str,
) -> (common::TestClient, common::TestClient) {
    let mut alice = a.user_on("alice");
    let mut them = b.user_on(other);
    for c in [&mut alice, &mut them] {
        c.send("IRCX");
        c.skip_until(" 005 ");
    }
    alice.send("JOIN #c");
    alice.skip_until(" 366 ");
    b.wait_for("#c there", |v| in_c(v, "alice"));
    them.send("JOIN #c");
    them.skip_until(" 366 ");
    a.wait_for("both in #c", |v| in_c(v, other));
    alice.skip_until(" JOIN #c");
    (alice, them)
}

/// one <- two <- three (all with IRCX), `extra` in one's configuration, once one and three
/// see the whole chain.
fn chain(extra: &str) -> [TestServer; 3] {
    let one = start("one.test", 1, &[peer("two.test", 2)], extra);
    let two = start(
        "two.test",
        2,
        &[dial("one.test", 1, &one), peer("three.test", 3)],
        "",
    );
    let three = start("three.test", 3, &[dial("two.test", 2, &two)], "");
    one.wait_servers(&["two.test", "three.test"]);
    three.wait_servers(&["one.test", "two.test"]);
    [one, two, three]
}

/// one <- two <- three, IRCX on every link: a PROP set on one is read on three, and a
/// whisper from one reaches an IRCX user on three as a whisper, through two.
#[test]
fn ircx_props_and_whispers_cross_a_chain() {
    let [one, _two, three] = chain("");
    let (mut alice, mut carol) = ircx_pair_in_c(&one, &three, "carol");
    alice.send("PROP #c SUBJECT :Chained");
    alice.expect(":alice!~alice@127.0.0.1 PROP #c SUBJECT :Chained");
    carol.expect(":alice!~alice@127.0.0.1 PROP #c SUBJECT :Chained");
    carol.send("PROP #c SUBJECT,LANGUAGE");
    carol.expect(":three.test 818 carol #c SUBJECT :Chained");
    carol.expect(":three.test 819 carol #c :End of properties");
    alice.send("WHISPER #c carol :psst");
    carol.expect(":alice!~alice@127.0.0.1 WHISPER #c carol :psst");
    carol.send("DATA #c Tag :payload");
    alice.expect(":carol!~carol@127.0.0.1 DATA #c Tag :payload");
}

/// A leaf without `IRCX` (an older Portico): the hub's PROP stays on the hub, a whisper
/// arrives as a private message, DATA not at all.
#[test]
fn ircx_state_stays_home_on_a_link_without_ircx() {
    let old = "[testing]\nportal_caps = [\"EOB\", \"AWAY\", \"TB\", \"BMASK\", \"SETNAME\"]\n";
    let hub = start("hub.test", 1, &[peer("leaf.test", 2)], "");
    let leaf = start("leaf.test", 2, &[dial("hub.test", 1, &hub)], old);
    hub.wait_servers(&["leaf.test"]);
    leaf.wait_servers(&["hub.test"]);
    let (mut alice, mut bob) = ircx_pair_in_c(&hub, &leaf, "bob");
    alice.send("PROP #c SUBJECT :Hub only");
    alice.expect(":alice!~alice@127.0.0.1 PROP #c SUBJECT :Hub only");
    alice.send("DATA bob Tag :lost");
    alice.send("WHISPER #c bob :psst");
    bob.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :psst");
    bob.send("PROP #c SUBJECT");
    bob.expect(":leaf.test 819 bob #c :End of properties");
}

/// The OID `c` (in #c) is told for #c by `PROP #c OID`.
fn oid_seen_by(c: &mut common::TestClient) -> String {
    c.send("PROP #c OID");
    let line = c.line();
    let oid = line.rsplit(" :").next().unwrap_or_default().to_string();
    assert!(line.contains(" 818 ") && oid.len() == 9, "{line}");
    c.skip_until(" 819 ");
    oid
}

/// Over an IRCX link: #c has the same OID on both servers (the leaf took its creator's),
/// and a JOIN refused on the leaf knocks on the hub's IRCX owner.
#[test]
fn ircx_oid_and_knock_cross_an_ircx_link() {
    let (hub, leaf) = pair();
    let (mut alice, mut bob) = ircx_pair_in_c(&hub, &leaf, "bob");
    let oid = oid_seen_by(&mut alice);
    assert_eq!(oid_seen_by(&mut bob), oid);
    alice.send("MODE #c +iu");
    bob.expect(":alice!~alice@127.0.0.1 MODE #c +iu");
    let mut carl = leaf.user_on("carl");
    carl.send("JOIN #c");
    carl.expect(":leaf.test 473 carl #c :Cannot join channel (+i)");
    alice.skip_until(" MODE #c +iu");
    alice.expect(":carl!~carl@127.0.0.1 KNOCK #c 473");
    // bob, no host, hears nothing of it.
    bob.expect_nothing();
}

/// one <- two <- three, IRCX on every link: a sysop manager's `ACCESS * ADD DENY` on one
/// refuses a matching user at three, and a channel entry added on one is listed on three.
#[test]
fn access_entries_cross_a_chain() {
    let manager = "[[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n";
    let [one, _two, three] = chain(manager);
    let (mut alice, mut carol) = ircx_pair_in_c(&one, &three, "carol");
    alice.send("MODE #c +o carol");
    carol.skip_until(" MODE #c +o carol");
    alice.send("OPER boss pw");
    alice.skip_until(" 381 ");
    alice.send("ACCESS * ADD DENY mallory 0 :no mallory");
    alice.skip_until(" 801 alice * DENY ");
    alice.send("ACCESS #c ADD VOICE dave 0 :voiced");
    alice.skip_until(" 801 alice #c VOICE ");
    // Lines on a link keep their order: once this reaches three, so did the entries.
    alice.send("PRIVMSG carol :sync");
    carol.skip_until(" PRIVMSG carol :sync");
    carol.send("ACCESS #c LIST");
    carol.expect(":three.test 803 carol #c :Start of access entries");
    carol.expect(":three.test 804 carol #c VOICE dave!*@*$* 0 alice!~alice@127.0.0.1 :voiced");
    carol.expect(":three.test 805 carol #c :End of access entries");
    let mut mallory = three.connect();
    mallory.send("NICK mallory");
    mallory.send("USER mallory 0 * :m");
    let last = mallory.expect_closed();
    assert!(last.iter().any(|l| l.contains("no mallory")), "{last:?}");
}
