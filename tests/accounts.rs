//! Accounts over real sockets: a SASL PLAIN login as the IRCv3 specification shows it,
//! a crowd of password checks that must not stall anyone else, and an account seen from a
//! second linked server.

mod common;

use common::*;
use std::time::{Duration, Instant};

/// `ann` with password `secret`; base64 of `\0ann\0secret` and of `\0ann\0wrong`.
const ANN: &str = "AGFubgBzZWNyZXQ=";
const WRONG: &str = "AGFubgB3cm9uZw==";

fn account() -> String {
    let hash = portico::config::hash_password(b"secret").unwrap();
    format!("[[account]]\nname = \"ann\"\npassword = \"{hash}\"\n")
}

#[test]
fn sasl_plain_login_then_registration() {
    let s = TestServer::start(&format!("{EASY}{}", account()));
    let mut c = s.connect();
    c.send("CAP LS 302");
    let ls = c.expect_prefix(":irc.test CAP * LS :");
    assert!(ls.contains(" sasl=PLAIN "), "{ls}");
    c.send("NICK jilles");
    c.send("USER jilles 0 * :Jilles");
    c.send("CAP REQ :sasl");
    c.expect(":irc.test CAP jilles ACK :sasl");
    c.send("AUTHENTICATE PLAIN");
    c.expect("AUTHENTICATE +");
    c.send(&format!("AUTHENTICATE {ANN}"));
    c.expect(":irc.test 900 jilles jilles!~jilles@127.0.0.1 ann :You are now logged in as ann");
    c.expect(":irc.test 903 jilles :SASL authentication successful");
    c.send("CAP END");
    c.expect_prefix(":irc.test 001 jilles ");
    c.skip_until_answering_pings(" 376 ");
    c.send("WHOIS jilles");
    c.skip_until_answering_pings(":irc.test 330 jilles jilles ann :is logged in as");
}

#[test]
fn a_crowd_of_password_checks_does_not_stall_a_ping() {
    // The guard off (every attempt is checked) and no per-address connection limit.
    let extra = format!(
        "[limits]\nflood_burst = 1000\nmax_clients_per_ip = 0\n[testing]\nauth_window_ms = 0\n{}",
        account()
    );
    let s = TestServer::start(&extra);
    let mut other = s.user("other");
    let mut crowd = Vec::new();
    for i in 0..30 {
        let mut c = s.connect();
        c.send("CAP REQ :sasl");
        c.expect(":irc.test CAP * ACK :sasl");
        c.send(&format!("NICK g{i}"));
        c.send(&format!("USER g{i} 0 * :g"));
        c.send("AUTHENTICATE PLAIN");
        c.expect("AUTHENTICATE +");
        crowd.push(c);
    }
    // Thirty argon2 checks at once: a second or more of work for the worker thread.
    for c in &mut crowd {
        c.send(&format!("AUTHENTICATE {WRONG}"));
    }
    let sent = Instant::now();
    other.send("PING :still-there");
    other.expect(":irc.test PONG irc.test :still-there");
    let waited = sent.elapsed();
    assert!(
        waited < Duration::from_millis(500),
        "PING answered after {waited:?} while passwords were checked"
    );
    // Every one of them gets its answer in the end.
    for (i, c) in crowd.iter_mut().enumerate() {
        c.expect(&format!(":irc.test 904 g{i} :SASL authentication failed"));
    }
}

#[test]
fn an_account_is_seen_from_a_second_linked_server() {
    let (hub, leaf) = common::net::linked_pair(&account());
    let mut alice = hub.user_on("alice");
    let mut bob = leaf.user_on("bob");
    bob.send("CAP REQ :account-notify");
    bob.expect(":leaf.test CAP bob ACK :account-notify");
    alice.send("JOIN #c");
    alice.skip_until(" 366 ");
    bob.send("JOIN #c");
    bob.skip_until(" 366 ");
    // The two JOINs race across the link: whichever server's #c is older, the merge may
    // send either user a MODE among the lines below, so each waits for its own line.
    alice.skip_until(":bob!~bob@127.0.0.1 JOIN #c");
    alice.send("AUTHENTICATE PLAIN");
    alice.skip_until("AUTHENTICATE +");
    alice.send(&format!("AUTHENTICATE {ANN}"));
    alice.skip_until(" 903 ");
    bob.skip_until(":alice!~alice@127.0.0.1 ACCOUNT ann");
    bob.send("WHOIS alice");
    bob.skip_until(":leaf.test 330 bob alice ann :is logged in as");
}
