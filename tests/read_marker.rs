//! IRCv3 `draft/read-marker` over real sockets, with the spec's own example lines: a marker
//! set by one session of an account reaches its other sessions, comes after a JOIN before
//! the end of NAMES, only moves forward, and the spec's errors are FAIL MARKREAD.
mod common;

use common::*;

/// Base64 of `\0ann\0secret` (SASL PLAIN).
const ANN: &str = "AGFubgBzZWNyZXQ=";

fn server_with_ann() -> TestServer {
    let hash = portico::config::hash_password(b"secret").unwrap();
    TestServer::start(&format!(
        "{EASY}[[account]]\nname = \"ann\"\npassword = \"{hash}\"\n"
    ))
}

/// A registered user with `caps`, logged in to `ann` by SASL.
fn ann_session(s: &TestServer, nick: &str, caps: &str) -> TestClient {
    let mut c = with_caps(s, nick, caps);
    c.send("AUTHENTICATE PLAIN");
    c.expect("AUTHENTICATE +");
    c.send(&format!("AUTHENTICATE {ANN}"));
    c.skip_until(" 903 ");
    c
}

#[test]
fn markread_spec_examples_across_an_accounts_sessions() {
    let s = server_with_ann();
    let mut one = ann_session(&s, "nick", "draft/read-marker sasl");
    let mut two = ann_session(&s, "two", "draft/read-marker sasl");
    let mut three = ann_session(&s, "three", "sasl");
    let mut talker = with_caps(&s, "talker", "server-time");

    // No marker yet: `*`, after the JOIN and before the end of NAMES.
    one.send("JOIN #channel");
    one.expect(":nick!~nick@127.0.0.1 JOIN #channel");
    one.expect(":irc.test MARKREAD #channel *");
    one.expect_prefix(":irc.test 353 nick ");
    one.expect(":irc.test 366 nick #channel :End of /NAMES list");

    // The first example: the client read a message and says so.
    one.send("MARKREAD #channel timestamp=2019-01-04T14:33:26.123Z");
    one.expect(":irc.test MARKREAD #channel timestamp=2019-01-04T14:33:26.123Z");
    // Every other session of the account with the capability is told; one without is not.
    two.expect(":irc.test MARKREAD #channel timestamp=2019-01-04T14:33:26.123Z");
    three.send("PING :sync");
    three.expect(":irc.test PONG irc.test :sync");

    // The second example: the marker comes with the JOIN.
    two.send("JOIN #channel");
    two.expect(":two!~two@127.0.0.1 JOIN #channel");
    two.expect(":irc.test MARKREAD #channel timestamp=2019-01-04T14:33:26.123Z");
    two.expect_prefix(":irc.test 353 two ");
    two.expect(":irc.test 366 two #channel :End of /NAMES list");
    one.expect(":two!~two@127.0.0.1 JOIN #channel");

    // Only forward: an older or equal timestamp gets the stored one back, and nobody else
    // hears of it.
    one.send("MARKREAD #CHANNEL timestamp=2019-01-04T14:33:26.000Z");
    one.expect(":irc.test MARKREAD #CHANNEL timestamp=2019-01-04T14:33:26.123Z");
    one.send("MARKREAD #channel timestamp=2019-01-04T14:33:26.123Z");
    one.expect(":irc.test MARKREAD #channel timestamp=2019-01-04T14:33:26.123Z");
    two.send("PING :sync");
    two.expect(":irc.test PONG irc.test :sync");

    // The fourth example: a user target is asked for.
    one.send("MARKREAD target");
    one.expect(":irc.test MARKREAD target *");
    two.send("MARKREAD target timestamp=2019-01-04T14:33:26.123Z");
    two.expect(":irc.test MARKREAD target timestamp=2019-01-04T14:33:26.123Z");
    one.expect(":irc.test MARKREAD target timestamp=2019-01-04T14:33:26.123Z");
    one.send("MARKREAD target");
    one.expect(":irc.test MARKREAD target timestamp=2019-01-04T14:33:26.123Z");

    // A timestamp from the future is held to the server's clock: a real message's time
    // is at least as late.
    talker.send("JOIN #channel");
    talker.skip_until(" 366 ");
    one.skip_until(":talker!~talker@127.0.0.1 JOIN #channel");
    one.send("MARKREAD #channel timestamp=2999-01-01T00:00:00.000Z");
    let line = one.expect_prefix(":irc.test MARKREAD #channel timestamp=");
    assert!(!line.contains("2999"), "{line}");
    let clamped = line.rsplit('=').next().unwrap().to_string();
    two.skip_until(&line);
    talker.send("PRIVMSG talker :now");
    let echo = talker.expect_prefix("@time=");
    let time = echo[6..].split(' ').next().unwrap();
    assert!(clamped.as_str() <= time, "{clamped} after {time}");
}

#[test]
fn markread_errors_are_fail_markread() {
    let s = server_with_ann();
    let mut one = ann_session(&s, "one", "draft/read-marker sasl");
    one.send("MARKREAD");
    one.expect(":irc.test FAIL MARKREAD NEED_MORE_PARAMS :Missing parameters");
    one.send("MARKREAD #c *");
    one.expect(":irc.test FAIL MARKREAD INVALID_PARAMS * :Invalid parameters");
    one.send("MARKREAD #c timestamp=2019-01-04");
    one.expect(":irc.test FAIL MARKREAD INVALID_PARAMS timestamp=2019-01-04 :Invalid parameters");
    one.send("MARKREAD #c 2019-01-04T14:33:26.123Z");
    one.expect(
        ":irc.test FAIL MARKREAD INVALID_PARAMS 2019-01-04T14:33:26.123Z :Invalid parameters",
    );
    one.send("MARKREAD bad,target");
    one.expect(":irc.test FAIL MARKREAD INVALID_PARAMS bad,target :Invalid parameters");
    // Markers belong to accounts: a user who is not logged in has none.
    let mut guest = with_caps(&s, "guest", "draft/read-marker");
    guest.send("MARKREAD #c timestamp=2019-01-04T14:33:26.123Z");
    guest.expect(
        ":irc.test FAIL MARKREAD ACCOUNT_REQUIRED #c :You must be logged in to use read markers",
    );
    guest.send("JOIN #c");
    guest.expect(":guest!~guest@127.0.0.1 JOIN #c");
    guest.expect(":irc.test MARKREAD #c *");
}
