//! IRCX AUTH (ANON, PLAIN against `[[account]]`) and AUTHONLY `+a`: the exact lines each
//! connection sees.

use crate::config::hash_password;
use crate::core::testing::{TestWorld, BASE_CONFIG};
use crate::core::ConnId;
use std::sync::OnceLock;

/// `ann` with password `secret` (hashed once: argon2 is slow on purpose).
fn world() -> TestWorld {
    static HASH: OnceLock<String> = OnceLock::new();
    let hash = HASH.get_or_init(|| hash_password(b"secret").unwrap());
    TestWorld::with_config(&format!(
        "{BASE_CONFIG}[[account]]\nname = \"ann\"\npassword = \"{hash}\"\n"
    ))
}

/// An unregistered connection that switched to IRCX.
fn ircx_conn(t: &mut TestWorld) -> ConnId {
    let c = t.connect();
    t.take(c);
    assert_eq!(
        t.ask(c, "IRCX"),
        vec![":irc.test 800 * 1 0 ANON,PLAIN 512 *"]
    );
    c
}

fn register(t: &mut TestWorld, c: ConnId, nick: &str) -> bool {
    t.feed(c, &format!("NICK {nick}"));
    t.feed(c, &format!("USER {nick} 0 * :real"));
    let got = t.take(c);
    assert!(got.iter().any(|l| l.contains(" 001 ")), "{got:?}");
    let cid = t.w.local(c).unwrap().client.unwrap();
    t.w.account(cid).is_some()
}

/// base64 of `\0ann\0secret`.
const ANN: &str = "AGFubgBzZWNyZXQ=";
const FAILED: &str = ":irc.test 910 * PLAIN :Authentication failed";

/// A success: the user's OID is server 1's ID, the users' bit, the connection's slot.
fn ok(package: &str, user: &str, c: ConnId) -> String {
    format!(
        ":irc.test AUTH {package} * {user}@irc.test 0{:08X}",
        0x0018_0000 | c.0
    )
}

#[test]
fn anon_succeeds_and_marks_nothing() {
    let mut t = world();
    let c = ircx_conn(&mut t);
    assert_eq!(t.ask(c, "AUTH anon I"), vec![ok("ANON", "anonymous", c)]);
    assert_eq!(
        t.ask(c, "AUTH PLAIN I :AGFubgBzZWNyZXQ="),
        vec![":irc.test 909 * PLAIN :Already authenticated"]
    );
    assert!(!register(&mut t, c, "alice"));
}

#[test]
fn plain_succeeds_with_the_right_password() {
    let mut t = world();
    let c = ircx_conn(&mut t);
    assert_eq!(
        t.ask(c, &format!("AUTH PLAIN I :{ANN}")),
        vec![ok("PLAIN", "ann", c)]
    );
    assert_eq!(
        t.ask(c, "AUTH ANON I"),
        vec![":irc.test 909 * ANON :Already authenticated"]
    );
    assert!(register(&mut t, c, "alice"));
    // After registration: 462, whatever the state.
    assert_eq!(
        t.ask(c, "AUTH ANON I"),
        vec![":irc.test 462 alice :You may not reregister"]
    );
    // The authzid may name the user itself; the account name is matched without case.
    let d = ircx_conn(&mut t);
    // "ANN\0ANN\0secret"
    assert_eq!(
        t.ask(d, "AUTH plain i :QU5OAEFOTgBzZWNyZXQ="),
        vec![ok("PLAIN", "ann", d)]
    );
}

#[test]
fn plain_failures() {
    let mut t = world();
    for data in [
        "AGFubgBTZWNyZXQ=",     // \0ann\0Secret: wrong password
        "AGJvYgBzZWNyZXQ=",     // \0bob\0secret: no such account
        "Ym9iAGFubgBzZWNyZXQ=", // bob\0ann\0secret: authzid another user
        "AGFubgBzZWNyZXQ",      // bad base64 (no padding)
        "!!!!",                 // bad base64
        "YW5uc2VjcmV0",         // annsecret: no NULs
        "AGFubgBzZWNyZXQAeA==", // \0ann\0secret\0x: a fourth part
    ] {
        // A new window (and connection) each time: the suspension after five failures
        // has a test of its own.
        t.tick(60_000);
        let c = ircx_conn(&mut t);
        assert_eq!(
            t.ask(c, &format!("AUTH PLAIN I :{data}")),
            vec![FAILED],
            "{data}"
        );
    }
    let c = ircx_conn(&mut t);
    // `*` aborts (910); other sequences and PLAIN without data are bad commands.
    assert_eq!(t.ask(c, &format!("AUTH PLAIN * :{ANN}")), vec![FAILED]);
    for line in ["AUTH PLAIN S :x", "AUTH ANON X", "AUTH PLAIN I"] {
        assert_eq!(
            t.ask(c, line),
            vec![":irc.test 900 * AUTH :Bad command"],
            "{line}"
        );
    }
    assert_eq!(
        t.ask(c, "AUTH PLAIN"),
        vec![":irc.test 461 * AUTH :Not enough parameters"]
    );
    // Failures leave the connection free to try again.
    assert_eq!(
        t.ask(c, &format!("AUTH PLAIN I :{ANN}")),
        vec![ok("PLAIN", "ann", c)]
    );
}

#[test]
fn unknown_package() {
    let mut t = world();
    let c = ircx_conn(&mut t);
    assert_eq!(
        t.ask(c, "AUTH NTLM I :abc"),
        vec![":irc.test 912 * NTLM :Unsupported authentication package"]
    );
    assert!(!register(&mut t, c, "alice"));
}

#[test]
fn rfc_connections_do_not_know_auth() {
    let mut t = world();
    let c = t.connect();
    t.take(c);
    assert_eq!(
        t.ask(c, &format!("AUTH PLAIN I :{ANN}")),
        vec![":irc.test 421 * AUTH :Unknown command"]
    );
    assert!(!register(&mut t, c, "alice"));
    assert_eq!(
        t.ask(c, "AUTH ANON I"),
        vec![":irc.test 421 alice AUTH :Unknown command"]
    );
}

#[test]
fn authonly_channels_admit_authenticated_users() {
    let mut t = world();
    let a = t.user("alice");
    t.feed(a, "IRCX");
    t.feed(a, "JOIN #a");
    t.take(a);
    assert_eq!(
        t.ask(a, "MODE #a +au"),
        vec![":alice!~alice@127.0.0.1 MODE #a +au"]
    );
    assert_eq!(
        t.ask(a, "MODE #a"),
        vec![
            ":irc.test 324 alice #a +antu",
            ":irc.test 329 alice #a 1700000000",
        ]
    );
    // Anonymous (ANON) and plain RFC users are refused; the hosts hear a KNOCK.
    let b = ircx_conn(&mut t);
    t.feed(b, "AUTH ANON I");
    assert!(!register(&mut t, b, "bob"));
    assert_eq!(
        t.ask(b, "JOIN #a"),
        vec![":irc.test 477 bob #a :You need to be authenticated to join"]
    );
    assert_eq!(t.take(a), vec![":bob!~bob@127.0.0.1 KNOCK #a 477"]);
    let d = t.user("dave");
    assert_eq!(
        t.ask(d, "JOIN #a"),
        vec![":irc.test 477 dave #a :You need to be authenticated to join"]
    );
    assert_eq!(t.take(a), vec![":dave!~dave@127.0.0.1 KNOCK #a 477"]);
    // An authenticated user gets in.
    let c = ircx_conn(&mut t);
    t.feed(c, &format!("AUTH PLAIN I :{ANN}"));
    t.take(c);
    assert!(register(&mut t, c, "carol"));
    let got = t.ask(c, "JOIN #a");
    assert_eq!(got[0], ":carol!~carol@127.0.0.1 JOIN #a", "{got:?}");
    assert_eq!(t.take(a), vec![":carol!~carol@127.0.0.1 JOIN #a"]);
    // -a opens the channel again.
    t.feed(a, "MODE #a -a");
    assert_eq!(t.ask(b, "JOIN #a")[0], ":bob!~bob@127.0.0.1 JOIN #a");
}

/// base64 of `\0ann\0wrong` and of `\0nobody\0secret`.
const WRONG: &str = "AGFubgB3cm9uZw==";
const NOBODY: &str = "AG5vYm9keQBzZWNyZXQ=";

#[test]
fn an_address_that_keeps_failing_is_suspended_for_a_minute() {
    let mut t = world();
    let c = ircx_conn(&mut t);
    for data in [WRONG, NOBODY, WRONG, NOBODY, WRONG] {
        assert_eq!(t.ask(c, &format!("AUTH PLAIN I :{data}")), vec![FAILED]);
    }
    // The sixth try from the address is refused unchecked, even with the right password,
    // and on a new connection too.
    let suspended = ":irc.test 911 * PLAIN :Authentication suspended for this IP";
    assert_eq!(t.ask(c, &format!("AUTH PLAIN I :{ANN}")), vec![suspended]);
    let d = ircx_conn(&mut t);
    assert_eq!(t.ask(d, &format!("AUTH PLAIN I :{ANN}")), vec![suspended]);
    // ANON is no guess.
    assert_eq!(t.ask(d, "AUTH ANON I"), vec![ok("ANON", "anonymous", d)]);
    t.tick(60_000);
    let e = ircx_conn(&mut t);
    assert_eq!(
        t.ask(e, &format!("AUTH PLAIN I :{ANN}")),
        vec![ok("PLAIN", "ann", e)]
    );
}
