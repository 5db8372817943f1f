//! IRCv3 `chghost` over real sockets: the operator commands CHGHOST and CHGIDENT, the
//! spec's own example lines (CHGHOST for clients with the capability, the QUIT/JOIN/MODE
//! fallback for the others, never both), what WHOIS, USERHOST and bans see after, a
//! change arriving from a linked server, and one crossing a portal between two servers.
mod common;

use common::net::{converge, linked_pair, start, Peer, PASSWORD};
use common::*;

const OPER: &str = "[[oper]]\nname = \"admin\"\npassword = \"pw\"\n";

fn oper(s: &TestServer, nick: &str) -> TestClient {
    let mut o = s.user_on(nick);
    o.send("OPER admin pw");
    o.skip_until(" 381 ");
    o.skip_until(" MODE ");
    o
}

/// `tim!~toolshed@127.0.0.1`, as in the spec's examples (no ident server: the `~`).
fn tim(s: &TestServer) -> TestClient {
    let mut t = s.connect();
    t.send("NICK tim");
    t.send("USER toolshed 0 * :Tim");
    t.skip_until(" 376 ");
    t.nick = "tim".into();
    t
}

/// A server linking in by hand with `CAPAB 1 2 :CHGHOST EOB`, its burst read.
fn raw_server(s: &TestServer) -> TestClient {
    let mut x = s.connect();
    x.nick = "raw.test".into();
    x.send(&format!("PASS {PASSWORD} 0210-PORTICO portico|0.1.0"));
    x.send("CAPAB 1 2 :CHGHOST EOB");
    x.send("SERVER raw.test 1 9 :raw");
    x.skip_until(":irc.test EOB");
    x.send(":raw.test EOB");
    x
}

#[test]
fn chghost_spec_examples_and_fallback_exact_lines() {
    let raw = Peer {
        name: "raw.test",
        id: 9,
        dial: None,
    };
    let s = start("irc.test", 1, &[raw], OPER);
    let mut olga = oper(&s, "olga");
    let mut cap = with_caps(&s, "cap", "chghost");
    let mut plain = s.user_on("plain");
    let mut tim = tim(&s);
    join(&mut plain, "#ircv3");
    join(&mut cap, "#ircv3");
    join(&mut tim, "#ircv3");
    plain.send("MODE #ircv3 +v tim");
    tim.skip_until(":plain!~plain@127.0.0.1 MODE #ircv3 +v tim");
    cap.skip_until(":plain!~plain@127.0.0.1 MODE #ircv3 +v tim");
    plain.skip_until(":plain!~plain@127.0.0.1 MODE #ircv3 +v tim");

    olga.send("CHGHOST tim backyard");
    olga.expect(":irc.test NOTICE olga :Changed the host of tim: now tim!~toolshed@backyard");
    cap.expect(":tim!~toolshed@127.0.0.1 CHGHOST ~toolshed backyard");
    // The spec's fallback, line for line: QUIT, JOIN, and the status back as a MODE.
    plain.expect(":tim!~toolshed@127.0.0.1 QUIT :Changing hostname");
    plain.expect(":tim!~toolshed@backyard JOIN #ircv3");
    plain.expect(":irc.test MODE #ircv3 +v :tim");
    tim.expect(":irc.test 396 tim backyard :is now your displayed host");

    // The spec's two examples exactly, as a linked server changes both parts at once.
    let mut x = raw_server(&s);
    x.send(":raw.test CHGHOST tim ~b ckyard");
    cap.expect(":tim!~toolshed@backyard CHGHOST ~b ckyard");
    x.send(":raw.test CHGHOST tim toolshed backyard");
    cap.expect(":tim!~b@ckyard CHGHOST toolshed backyard");
    // Never both forms: the capable client got no QUIT, the other no CHGHOST.
    cap.send("PING :sync");
    cap.expect(":irc.test PONG irc.test :sync");
    for _ in 0..2 {
        plain.expect_prefix(":tim!");
        plain.expect_prefix(":tim!");
        plain.expect(":irc.test MODE #ircv3 +v :tim");
    }

    // An operator's change goes to the link as `:<oper> CHGHOST <nick> <user> <host>`.
    olga.send("CHGHOST tim vhost/tim");
    olga.skip_until(" NOTICE olga ");
    x.skip_until(":olga CHGHOST tim toolshed vhost/tim");
    cap.expect(":tim!toolshed@backyard CHGHOST toolshed vhost/tim");

    // WHOIS, USERHOST and WHO show the new host; the user (and see-ips operators) still
    // see where they connect from.
    plain.send("USERHOST tim");
    plain.skip_until(":irc.test 302 plain :tim=+toolshed@vhost/tim");
    plain.send("WHOIS tim");
    plain.expect(":irc.test 311 plain tim toolshed vhost/tim * :Tim");
    plain.skip_until(" 318 ");
    olga.send("WHOIS tim");
    olga.skip_until(":irc.test 378 olga tim :is connecting from *@127.0.0.1 127.0.0.1");
    olga.skip_until(" 318 ");
    plain.send("WHO #ircv3");
    plain.skip_until(":irc.test 352 plain #ircv3 toolshed vhost/tim irc.test tim ");

    // Bans match the new host.
    plain.send("MODE #ircv3 +b *!*@vhost/*");
    tim.skip_until(" MODE #ircv3 +b *!*@vhost/*");
    tim.send("PART #ircv3");
    tim.skip_until(" PART #ircv3");
    tim.send("JOIN #ircv3");
    tim.expect(":irc.test 474 tim #ircv3 :Cannot join channel (+b)");

    // CHGIDENT: the username alone.
    olga.send("CHGIDENT cap ~c");
    olga.expect(":irc.test NOTICE olga :Changed the username of cap: now cap!~c@127.0.0.1");
    cap.skip_until(":cap!~cap@127.0.0.1 CHGHOST ~c 127.0.0.1");
    plain.skip_until(":cap!~cap@127.0.0.1 QUIT :Changing hostname");
    plain.expect(":cap!~c@127.0.0.1 JOIN #ircv3");
}

#[test]
fn a_host_change_crosses_a_portal() {
    let (hub, leaf) = linked_pair(OPER);
    let mut olga = oper(&hub, "olga");
    let mut bob = leaf.user_on("bob");
    let mut ann = leaf.user_on("ann");
    ann.send("CAP REQ :chghost");
    ann.expect(":leaf.test CAP ann ACK :chghost");
    let mut carl = hub.user_on("carl");
    bob.send("JOIN #c");
    bob.skip_until(" 366 ");
    converge(&[&hub, &leaf]);
    ann.send("JOIN #c");
    ann.skip_until(" 366 ");
    carl.send("JOIN #c");
    carl.skip_until(" 366 ");
    converge(&[&hub, &leaf]);
    // The joins raced across the link: read whatever each saw of them.
    for (c, server) in [(&mut ann, "leaf.test"), (&mut carl, "hub.test")] {
        c.send("PING :sync");
        c.skip_until(&format!(":{server} PONG {server} :sync"));
    }

    // Changed on the hub, for a user of the leaf.
    olga.send("CHGHOST bob bob.example");
    olga.expect(":hub.test NOTICE olga :Changed the host of bob: now bob!~bob@bob.example");
    ann.expect(":bob!~bob@127.0.0.1 CHGHOST ~bob bob.example");
    bob.skip_until(":leaf.test 396 bob bob.example :is now your displayed host");
    carl.expect(":bob!~bob@127.0.0.1 QUIT :Changing hostname");
    carl.expect(":bob!~bob@bob.example JOIN #c");
    carl.expect(":hub.test MODE #c +o :bob");
    // Both servers agree on it.
    carl.send("WHOIS bob");
    carl.expect(":hub.test 311 carl bob ~bob bob.example * :bob real");
    ann.send("WHOIS bob");
    ann.expect(":leaf.test 311 ann bob ~bob bob.example * :bob real");
}
