//! SASL PLAIN (the exchanges of the IRCv3 specification, exact lines), the password checks
//! behind it (held, abandoned, bounded), and what others see of an account: account-notify,
//! account-tag, extended-join, WHOX `%a`, WHOIS 330.

use crate::config::hash_password;
use crate::core::checks::{Verdict, MAX_IN_FLIGHT};
use crate::core::testing::{TestWorld, BASE_CONFIG};
use crate::core::ConnId;
use std::sync::OnceLock;

/// Passwords long enough that their PLAIN message takes exactly 400 base64 bytes (`bob`,
/// 295 bytes) and a little more (`cat`, 296 bytes).
fn long_password(n: usize) -> String {
    "x".repeat(n)
}

/// `ann` with password `secret`, `bob` and `cat` with long ones; `extra` appended.
fn world_with(extra: &str) -> TestWorld {
    static HASHES: OnceLock<[String; 3]> = OnceLock::new();
    let [ann, bob, cat] = HASHES.get_or_init(|| {
        [
            hash_password(b"secret").unwrap(),
            hash_password(long_password(295).as_bytes()).unwrap(),
            hash_password(long_password(296).as_bytes()).unwrap(),
        ]
    });
    TestWorld::with_config(&format!(
        "{BASE_CONFIG}{extra}\n[[account]]\nname = \"ann\"\npassword = \"{ann}\"\n\
         [[account]]\nname = \"bob\"\npassword = \"{bob}\"\n\
         [[account]]\nname = \"cat\"\npassword = \"{cat}\"\n"
    ))
}

fn world() -> TestWorld {
    world_with("")
}

/// base64 of `\0ann\0secret`, and of `\0ann\0wrong`.
const ANN: &str = "AGFubgBzZWNyZXQ=";
const WRONG: &str = "AGFubgB3cm9uZw==";

fn b64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A connection that asked for `sasl` and sent NICK and USER (registration waits for CAP
/// END).
fn sasl_conn(t: &mut TestWorld, nick: &str) -> ConnId {
    let c = t.connect();
    assert_eq!(
        t.ask(c, "CAP LS 302"),
        vec![
            ":irc.test CAP * LS :account-notify account-tag away-notify batch cap-notify chghost \
             draft/channel-rename draft/metadata-2=max-subs=50,max-keys=20,max-value-bytes=255 \
             draft/no-implicit-names draft/read-marker echo-message extended-join extended-monitor \
             invite-notify labeled-response message-tags multi-prefix sasl=PLAIN \
             server-time setname standard-replies userhost-in-names"
        ]
    );
    t.feed(c, &format!("NICK {nick}"));
    t.feed(c, &format!("USER {nick} 0 * :{nick} real"));
    assert_eq!(
        t.ask(c, "CAP REQ :sasl"),
        vec![format!(":irc.test CAP {nick} ACK :sasl")]
    );
    c
}

/// `AUTHENTICATE PLAIN`, answered with `AUTHENTICATE +`.
fn plain(t: &mut TestWorld, c: ConnId) {
    assert_eq!(t.ask(c, "AUTHENTICATE PLAIN"), vec!["AUTHENTICATE +"]);
}

fn registers(t: &mut TestWorld, c: ConnId) -> bool {
    t.feed(c, "CAP END");
    t.take(c).iter().any(|l| l.contains(" 001 "))
}

#[test]
fn plain_login_as_the_specification_shows_it() {
    let mut t = world();
    let c = sasl_conn(&mut t, "jilles");
    assert_eq!(t.ask(c, "AUTHENTICATE PLAIN"), vec!["AUTHENTICATE +"]);
    assert_eq!(
        t.ask(c, &format!("AUTHENTICATE {ANN}")),
        vec![
            ":irc.test 900 jilles jilles!~jilles@127.0.0.1 ann :You are now logged in as ann",
            ":irc.test 903 jilles :SASL authentication successful",
        ]
    );
    assert_eq!(
        t.ask(c, "AUTHENTICATE PLAIN"),
        vec![":irc.test 907 jilles :You have already authenticated using SASL"]
    );
    assert!(registers(&mut t, c));
    let cid = t.w.local(c).unwrap().client.unwrap();
    assert_eq!(t.w.account(cid), Some("ann"));
}

#[test]
fn failures_abort_and_unknown_mechanisms() {
    let mut t = world();
    let c = sasl_conn(&mut t, "alice");
    assert_eq!(
        t.ask(c, "AUTHENTICATE SCRAM-SHA-256"),
        vec![
            ":irc.test 908 alice PLAIN :are available SASL mechanisms",
            ":irc.test 904 alice :SASL authentication failed",
        ]
    );
    plain(&mut t, c);
    assert_eq!(
        t.ask(c, &format!("AUTHENTICATE {WRONG}")),
        vec![":irc.test 904 alice :SASL authentication failed"]
    );
    // Not base64, or an authzid naming someone else: failed without a check.
    for bad in ["!!!!", &b64(b"bob\0ann\0secret")] {
        plain(&mut t, c);
        assert_eq!(
            t.ask(c, &format!("AUTHENTICATE {bad}")),
            vec![":irc.test 904 alice :SASL authentication failed"]
        );
    }
    assert!(t.held.is_empty());
    plain(&mut t, c);
    assert_eq!(
        t.ask(c, "AUTHENTICATE *"),
        vec![":irc.test 906 alice :SASL authentication aborted"]
    );
    plain(&mut t, c);
    assert_eq!(
        t.ask(c, &format!("AUTHENTICATE {}", "A".repeat(401))),
        vec![":irc.test 905 alice :SASL message too long"]
    );
    // The exchange is over: a new one may start.
    assert_eq!(t.ask(c, "AUTHENTICATE PLAIN"), vec!["AUTHENTICATE +"]);
    // CAP END in the middle of it aborts it, and registration goes on without an account.
    t.feed(c, "CAP END");
    let got = t.take(c);
    assert_eq!(got[0], ":irc.test 906 alice :SASL authentication aborted");
    assert!(got[1].starts_with(":irc.test 001 alice "), "{got:?}");
    let cid = t.w.local(c).unwrap().client.unwrap();
    assert_eq!(t.w.account(cid), None);
}

#[test]
fn responses_come_in_400_byte_chunks() {
    let mut t = world();
    let c = sasl_conn(&mut t, "alice");
    // Exactly 400 bytes: a lone `+` says there is no more.
    let bob = b64(format!("\0bob\0{}", long_password(295)).as_bytes());
    assert_eq!(bob.len(), 400);
    plain(&mut t, c);
    assert!(t.ask(c, &format!("AUTHENTICATE {bob}")).is_empty());
    let got = t.ask(c, "AUTHENTICATE +");
    assert_eq!(
        got[1], ":irc.test 903 alice :SASL authentication successful",
        "{got:?}"
    );
    // 404 bytes: 400, then the rest.
    let d = sasl_conn(&mut t, "dave");
    let cat = b64(format!("\0cat\0{}", long_password(296)).as_bytes());
    assert_eq!(cat.len(), 404);
    plain(&mut t, d);
    assert!(t
        .ask(d, &format!("AUTHENTICATE {}", &cat[..400]))
        .is_empty());
    let got = t.ask(d, &format!("AUTHENTICATE {}", &cat[400..]));
    assert_eq!(
        got[0],
        ":irc.test 900 dave dave!~dave@127.0.0.1 cat :You are now logged in as cat"
    );
}

#[test]
fn failed_logins_count_against_the_address() {
    let mut t = world();
    let c = sasl_conn(&mut t, "alice");
    for _ in 0..5 {
        plain(&mut t, c);
        assert_eq!(
            t.ask(c, &format!("AUTHENTICATE {WRONG}")),
            vec![":irc.test 904 alice :SASL authentication failed"]
        );
    }
    // Suspended: refused at once, not even an AUTHENTICATE +, even with the right password.
    assert_eq!(
        t.ask(c, "AUTHENTICATE PLAIN"),
        vec![":irc.test 904 alice :SASL authentication failed"]
    );
    assert!(t.held.is_empty());
    // Registered meanwhile (a minute is the registration timeout too), it tries again.
    assert!(registers(&mut t, c));
    t.tick(60_000);
    t.take(c);
    plain(&mut t, c);
    assert_eq!(t.ask(c, &format!("AUTHENTICATE {ANN}")).len(), 2);
}

#[test]
fn a_verdict_for_a_closed_connection_finishes_nothing_but_still_counts() {
    let mut t = world();
    t.hold_checks = true;
    let c = sasl_conn(&mut t, "alice");
    plain(&mut t, c);
    assert!(t.ask(c, &format!("AUTHENTICATE {ANN}")).is_empty());
    assert_eq!(t.held.len(), 1);
    // While it is checked, the connection has nothing more to say.
    t.drop_conn(c, "Connection reset");
    // Its slot goes to someone else, who is not logged in by the old verdict.
    t.reopen(c);
    t.feed(c, "NICK mallory");
    t.feed(c, "USER m 0 * :m");
    t.take(c);
    let ticket = t.held[0].ticket;
    t.held.clear();
    t.verdict(ticket, Verdict::Match);
    assert!(t.take(c).is_empty());
    let cid = t.w.local(c).unwrap().client.unwrap();
    assert_eq!(t.w.account(cid), None);
    // A wrong password from a connection that hung up is still a guess.
    for _ in 0..5 {
        let d = sasl_conn(&mut t, "guess");
        plain(&mut t, d);
        t.feed(d, &format!("AUTHENTICATE {WRONG}"));
        t.drop_conn(d, "gone");
    }
    for req in std::mem::take(&mut t.held) {
        t.verdict(req.ticket, Verdict::Mismatch);
    }
    let e = sasl_conn(&mut t, "eve");
    assert_eq!(
        t.ask(e, "AUTHENTICATE PLAIN"),
        vec![":irc.test 904 eve :SASL authentication failed"]
    );
}

#[test]
fn checks_in_flight_are_bounded() {
    // With the guard off, the whole server's bound is the limit.
    let mut t = world_with("[limits]\nmax_clients_per_ip = 0\n[testing]\nauth_window_ms = 0\n");
    t.hold_checks = true;
    let mut conns = Vec::new();
    for i in 0..=MAX_IN_FLIGHT {
        let c = sasl_conn(&mut t, &format!("u{i}"));
        plain(&mut t, c);
        conns.push((c, t.ask(c, &format!("AUTHENTICATE {ANN}"))));
    }
    assert_eq!(t.held.len(), MAX_IN_FLIGHT);
    let (last, got) = conns.pop().unwrap();
    let nick = format!("u{MAX_IN_FLIGHT}");
    assert_eq!(
        got,
        vec![format!(":irc.test 904 {nick} :SASL authentication failed")]
    );
    assert!(conns.iter().all(|(_, got)| got.is_empty()));
    // The worker's own queue full: the attempt fails, uncounted.
    let ticket = t.held.pop().unwrap().ticket;
    t.verdict(ticket, Verdict::Busy);
    let (c, _) = conns.pop().unwrap();
    let nick = format!("u{}", MAX_IN_FLIGHT - 1);
    assert_eq!(
        t.take(c),
        vec![format!(":irc.test 904 {nick} :SASL authentication failed")]
    );
    // Room again.
    plain(&mut t, last);
    t.feed(last, &format!("AUTHENTICATE {ANN}"));
    assert_eq!(t.held.len(), MAX_IN_FLIGHT);
}

#[test]
fn an_address_has_no_more_checks_in_flight_than_it_may_fail() {
    let mut t = world();
    t.hold_checks = true;
    for i in 0..6 {
        let c = sasl_conn(&mut t, &format!("u{i}"));
        plain(&mut t, c);
        let got = t.ask(c, &format!("AUTHENTICATE {ANN}"));
        assert_eq!(got.is_empty(), i < 5, "{i}: {got:?}");
    }
    assert_eq!(t.held.len(), 5);
}

/// alice (account-notify, account-tag, extended-join, message-tags) and bob (nothing) in
/// #c; carol registered without an account.
fn channel_of_three(t: &mut TestWorld) -> (ConnId, ConnId, ConnId) {
    let a = t.user("alice");
    t.feed(
        a,
        "CAP REQ :account-notify account-tag extended-join message-tags",
    );
    let b = t.user("bob");
    let c = t.user("carol");
    for x in [a, b, c] {
        t.feed(x, "JOIN #c");
    }
    for x in [a, b, c] {
        t.take(x);
    }
    (a, b, c)
}

#[test]
fn logging_in_after_registration_tells_account_notify_clients() {
    let mut t = world();
    let (a, b, c) = channel_of_three(&mut t);
    plain(&mut t, c);
    let got = t.ask(c, &format!("AUTHENTICATE {ANN}"));
    assert_eq!(
        got,
        vec![
            ":irc.test 900 carol carol!~carol@127.0.0.1 ann :You are now logged in as ann",
            ":irc.test 903 carol :SASL authentication successful",
        ]
    );
    assert_eq!(t.take(a), vec![":carol!~carol@127.0.0.1 ACCOUNT ann"]);
    assert!(t.take(b).is_empty());
    // account-tag: what carol sends carries her account, to alice only.
    t.feed(c, "PRIVMSG #c :hi");
    assert_eq!(
        t.take(a),
        vec!["@account=ann :carol!~carol@127.0.0.1 PRIVMSG #c :hi"]
    );
    assert_eq!(t.take(b), vec![":carol!~carol@127.0.0.1 PRIVMSG #c :hi"]);
    // extended-join carries the account; `*` for a user without one.
    t.feed(c, "PART #c");
    t.feed(c, "JOIN #c");
    t.feed(b, "PART #c");
    t.feed(b, "JOIN #c");
    assert_eq!(
        t.take(a),
        vec![
            "@account=ann :carol!~carol@127.0.0.1 PART #c",
            "@account=ann :carol!~carol@127.0.0.1 JOIN #c ann :carol real",
            ":bob!~bob@127.0.0.1 PART #c",
            ":bob!~bob@127.0.0.1 JOIN #c * :bob real",
        ]
    );
    // WHOIS 330 and WHOX %a.
    let whois = t.ask(b, "WHOIS carol");
    assert!(
        whois.contains(&":irc.test 330 bob carol ann :is logged in as".to_string()),
        "{whois:?}"
    );
    let whois = t.ask(b, "WHOIS alice");
    assert!(!whois.iter().any(|l| l.contains(" 330 ")), "{whois:?}");
    assert_eq!(
        t.ask(b, "WHO carol %na"),
        vec![
            ":irc.test 354 bob carol ann",
            ":irc.test 315 bob carol :End of WHO list",
        ]
    );
    assert_eq!(t.ask(b, "WHO alice %na")[0], ":irc.test 354 bob alice 0");
}

#[test]
fn account_tag_rides_with_message_tags_and_server_time_variants() {
    let mut t = world();
    let (a, b, c) = channel_of_three(&mut t);
    t.feed(b, "CAP REQ :message-tags");
    t.feed(c, "CAP REQ :message-tags");
    t.take(c);
    plain(&mut t, c);
    t.feed(c, &format!("AUTHENTICATE {ANN}"));
    for x in [a, b, c] {
        t.take(x);
    }
    t.feed(c, "@+draft/reply=x PRIVMSG #c :hi");
    let got_a = t.take_raw(a);
    let got_b = t.take_raw(b);
    assert!(
        got_a[0].starts_with("@account=ann;msgid=") && got_a[0].contains(";+draft/reply=x "),
        "{got_a:?}"
    );
    assert!(
        got_b[0].starts_with("@msgid=") && !got_b[0].contains("account="),
        "{got_b:?}"
    );
}

#[test]
fn the_account_table_forgets_users_who_leave() {
    let mut t = world();
    let c = sasl_conn(&mut t, "alice");
    plain(&mut t, c);
    t.feed(c, &format!("AUTHENTICATE {ANN}"));
    assert!(registers(&mut t, c));
    assert_eq!(t.w.accounts.len(), 1);
    t.feed(c, "QUIT");
    assert!(t.w.accounts.is_empty());
}

#[test]
fn ircx_auth_and_sasl_are_one_login() {
    let mut t = world();
    let c = sasl_conn(&mut t, "alice");
    t.feed(c, "IRCX");
    t.take(c);
    t.feed(c, &format!("AUTH PLAIN I :{ANN}"));
    assert_eq!(
        t.take(c),
        vec![format!(
            ":irc.test AUTH PLAIN * ann@irc.test 0{:08X}",
            0x0018_0000 | c.0
        )]
    );
    assert_eq!(
        t.ask(c, "AUTHENTICATE PLAIN"),
        vec![":irc.test 907 alice :You have already authenticated using SASL"]
    );
    let d = sasl_conn(&mut t, "dave");
    plain(&mut t, d);
    t.feed(d, &format!("AUTHENTICATE {ANN}"));
    t.feed(d, "IRCX");
    t.take(d);
    assert_eq!(
        t.ask(d, "AUTH PLAIN I :x"),
        vec![":irc.test 909 dave PLAIN :Already authenticated"]
    );
}

#[test]
fn oper_with_a_hashed_password_is_checked_off_the_loop() {
    let hash = hash_password(b"pw").unwrap();
    let mut t = TestWorld::with_config(&format!(
        "{BASE_CONFIG}[[oper]]\nname = \"admin\"\npassword = \"{hash}\"\n"
    ));
    t.hold_checks = true;
    let a = t.user("alice");
    assert!(t.ask(a, "OPER admin wrong").is_empty());
    assert_eq!(t.held.len(), 1);
    t.finish_checks();
    assert_eq!(t.take(a), vec![":irc.test 464 alice :Password incorrect"]);
    assert!(t.ask(a, "OPER admin pw").is_empty());
    t.finish_checks();
    assert_eq!(
        t.take(a),
        vec![
            ":irc.test 381 alice :You are now an IRC operator",
            ":alice MODE alice :+o",
        ]
    );
}
