//! Bad input from clients: overlong lines, NUL bytes, empty lines, unknown commands, missing
//! parameters, invalid UTF-8, odd framing and plain garbage. Each must get the documented
//! reply (or none) and leave the connection, and everyone else, working.

mod common;
use common::*;
use std::io::Write;

const TOO_LONG: &str = ":irc.test 417 alice :Input line was too long";

/// A small deterministic generator (xorshift64), so a failing garbage test can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Two registered users in `#c`, each having seen the other's JOIN.
fn pair(s: &TestServer) -> (TestClient, TestClient) {
    let mut alice = s.user("alice");
    let mut bob = s.user("bob");
    alice.send("JOIN #c");
    alice.skip_until(" 366 ");
    bob.send("JOIN #c");
    bob.skip_until(" 366 ");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #c");
    (alice, bob)
}

#[test]
fn overlong_line_gets_417_and_the_connection_keeps_working() {
    let s = TestServer::start("");
    let (mut alice, mut bob) = pair(&s);
    // 600 bytes of body: over the 510 allowed, well under the framer's hard limit.
    let line = format!("PRIVMSG #c :{}", "x".repeat(600 - 12));
    assert_eq!(line.len(), 600);
    alice.send(&line);
    alice.expect(TOO_LONG);
    alice.send("PING :after");
    alice.expect(":irc.test PONG irc.test :after");
    // The overlong message went nowhere; the next one does.
    bob.expect_nothing();
    alice.send("PRIVMSG #c :short");
    bob.expect(":alice!~alice@127.0.0.1 PRIVMSG #c :short");
}

#[test]
fn body_of_exactly_510_bytes_is_accepted() {
    let s = TestServer::start("");
    let (mut alice, mut bob) = pair(&s);
    let text = "y".repeat(510 - "PRIVMSG #c :".len());
    alice.send(&format!("PRIVMSG #c :{text}"));
    alice.expect_nothing();
    let got = bob.expect_prefix(":alice!~alice@127.0.0.1 PRIVMSG #c :yyyy");
    // The relayed line is cut to 510 bytes by the server, never longer.
    assert_eq!(got.len(), 510, "{got}");
    alice.send(&format!("PRIVMSG #c :{text}y"));
    alice.expect(TOO_LONG);
}

#[test]
fn unterminated_20000_bytes_get_one_417_and_framing_recovers() {
    let s = TestServer::start("");
    let mut alice = s.user("alice");
    alice.send_raw(&[b'x'; 20_000]);
    // Reported as soon as the tail passes the limit, before any terminator arrives.
    alice.expect(TOO_LONG);
    // The rest of that line, however long, is still part of it: dropped without a reply.
    alice.send_raw(&[b'z'; 20_000]);
    alice.send_raw(b" FOO bar\r\n");
    alice.send("PING :after");
    alice.expect(":irc.test PONG irc.test :after");
    alice.expect_nothing();
}

#[test]
fn nul_byte_drops_the_line_with_400() {
    let s = TestServer::start("");
    let (mut alice, mut bob) = pair(&s);
    alice.send_raw(b"PRIVMSG #c :before\0after\r\n");
    alice.expect(":irc.test 400 alice * :Line contained a NUL byte and was dropped");
    bob.expect_nothing();
    alice.expect_nothing();
}

#[test]
fn nul_byte_before_registration_names_star() {
    let s = TestServer::start("");
    let mut c = s.connect();
    c.send_raw(b"NI\0CK x\r\n");
    c.expect(":irc.test 400 * * :Line contained a NUL byte and was dropped");
}

#[test]
fn empty_lines_and_spaces_get_no_reply() {
    let s = TestServer::start("");
    let mut alice = s.user("alice");
    alice.send_raw(b"\r\n\n   \r\n \n");
    alice.send("");
    alice.send("      ");
    alice.expect_nothing();
}

#[test]
fn empty_lines_before_registration_get_no_reply() {
    let s = TestServer::start("");
    let mut c = s.connect();
    c.send("");
    c.send("   ");
    c.expect_nothing();
    c.register("carol");
}

#[test]
fn unknown_command_gets_421() {
    let s = TestServer::start("");
    let mut alice = s.user("alice");
    alice.send("FOO");
    alice.expect(":irc.test 421 alice FOO :Unknown command");
    alice.send("foo bar :baz");
    alice.expect(":irc.test 421 alice foo :Unknown command");
    // Longer than any command name: still unknown, still named.
    alice.send("PRIVMSGPRIVMSGPRIVMSG #c :x");
    alice.expect(":irc.test 421 alice PRIVMSGPRIVMSGPRIVMSG :Unknown command");
    alice.expect_nothing();
}

#[test]
fn missing_parameters_get_461() {
    let s = TestServer::start("");
    let mut alice = s.user("alice");
    alice.send("JOIN");
    alice.expect(":irc.test 461 alice JOIN :Not enough parameters");
    alice.send("join");
    alice.expect(":irc.test 461 alice JOIN :Not enough parameters");
    alice.send("KICK #c");
    alice.expect(":irc.test 461 alice KICK :Not enough parameters");
    alice.expect_nothing();
}

#[test]
fn invalid_utf8_is_relayed_as_bytes() {
    let s = TestServer::start("");
    let (mut alice, mut bob) = pair(&s);
    alice.send_raw(b"PRIVMSG #c :caf\xe9 \xff\xfe \xc3(\r\n");
    assert_eq!(
        bob.line_bytes(),
        b":alice!~alice@127.0.0.1 PRIVMSG #c :caf\xe9 \xff\xfe \xc3(".to_vec()
    );
    alice.expect_nothing();
}

#[test]
fn command_written_one_byte_at_a_time() {
    let s = TestServer::start("");
    let mut bob = s.user("bob");
    bob.send("JOIN #c");
    bob.skip_until(" 366 ");
    let mut carol = s.connect();
    carol.stream().set_nodelay(true).unwrap();
    let script = b"NICK carol\r\nUSER carol 0 * :Carol C\r\nJOIN #c\r\nPRIVMSG #c :hello, one byte at a time\r\n";
    for b in script {
        carol.send_raw(&[*b]);
        carol.stream().flush().unwrap();
    }
    carol.expect_prefix(":irc.test 001 carol ");
    carol.skip_until(":carol!~carol@127.0.0.1 JOIN #c");
    carol.skip_until(" 366 ");
    bob.expect(":carol!~carol@127.0.0.1 JOIN #c");
    bob.expect(":carol!~carol@127.0.0.1 PRIVMSG #c :hello, one byte at a time");
}

#[test]
fn command_split_at_arbitrary_positions() {
    let s = TestServer::start("");
    let mut bob = s.user("bob");
    let mut carol = s.connect();
    carol.stream().set_nodelay(true).unwrap();
    let script =
        b"NICK carol\r\nUSER carol 0 * :Carol C\r\nPRIVMSG bob :split\r\nPRIVMSG bob :again\n";
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut at = 0;
    while at < script.len() {
        let n = 1 + rng.below(7);
        let end = (at + n).min(script.len());
        carol.send_raw(&script[at..end]);
        at = end;
    }
    carol.expect_prefix(":irc.test 001 carol ");
    bob.expect(":carol!~carol@127.0.0.1 PRIVMSG bob :split");
    bob.expect(":carol!~carol@127.0.0.1 PRIVMSG bob :again");
}

#[test]
fn lf_only_terminators_work() {
    let s = TestServer::start("");
    let mut bob = s.user("bob");
    let mut dave = s.connect();
    dave.send_raw(b"NICK dave\nUSER dave 0 * :Dave D\n");
    dave.expect_prefix(":irc.test 001 dave ");
    dave.skip_until(" 376 ");
    dave.send_raw(b"PING :lf\nPRIVMSG bob :mixed\r\nPRIVMSG bob :lf\n");
    dave.expect(":irc.test PONG irc.test :lf");
    bob.expect(":dave!~dave@127.0.0.1 PRIVMSG bob :mixed");
    bob.expect(":dave!~dave@127.0.0.1 PRIVMSG bob :lf");
}

/// A tag section of exactly `len` bytes, counting the `@` and the space after it.
fn tag_section(len: usize) -> String {
    let s = format!("@a={} ", "x".repeat(len - "@a= ".len()));
    assert_eq!(s.len(), len);
    s
}

#[test]
fn client_tag_section_of_4096_bytes_is_accepted_and_4097_is_not() {
    // IRCv3 message-tags: a client sends at most 4094 bytes of tag data (4096 with the `@`
    // and the space); the rest of the 8191 is the server's to add.
    let s = TestServer::start("");
    let (mut alice, mut bob) = pair(&s);
    alice.send(&format!("{}PING :tagged", tag_section(4096)));
    alice.expect(":irc.test PONG irc.test :tagged");
    // The largest legal line: full tag section plus a full 510-byte body.
    let body = format!("PRIVMSG #c :{}", "m".repeat(510 - "PRIVMSG #c :".len()));
    alice.send(&format!("{}{body}", tag_section(4096)));
    bob.expect_prefix(":alice!~alice@127.0.0.1 PRIVMSG #c :mmmm");
    alice.send(&format!("{}PING :tagged", tag_section(4097)));
    alice.expect(TOO_LONG);
    alice.send(&format!("{}PING :tagged", tag_section(8192)));
    alice.expect(TOO_LONG);
    alice.send("PING :after");
    alice.expect(":irc.test PONG irc.test :after");
    bob.expect_nothing();
}

#[test]
fn garbage_from_one_client_never_hurts_another() {
    // No flood penalty here, so every garbage line is parsed and answered right away.
    let s = TestServer::start("[limits]\nflood_burst = 100000\nflood_interval_ms = 1\n");
    let (mut alice, mut bob) = pair(&s);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let pieces: &[&[u8]] = &[
        b" ", b":", b"@", b";", b"=", b"\r\n", b"\n", b"\r", b"\0", b"\xff", b"\xc3", b"#c", b"*",
        b",", b"PRIVMSG", b"MODE", b"NICK", b"JOIN", b"KICK", b"TOPIC", b"WHO", b"CAP", b"USER",
        b"PART", b"+b", b"-o", b"bob", b"alice",
    ];
    for round in 0..3 {
        let mut junk = s.connect();
        if round == 1 {
            junk.register("junk");
        }
        let mut data = Vec::new();
        while data.len() < 32 * 1024 {
            match round {
                // Pure noise with some line ends.
                0 => {
                    let b = rng.next() as u8;
                    data.push(if b.is_multiple_of(29) { b'\n' } else { b });
                }
                // IRC-shaped noise.
                1 => data.extend_from_slice(pieces[rng.below(pieces.len())]),
                // Noise without any line end at all.
                _ => data.push((rng.next() as u8).max(b'\x0e')),
            }
        }
        data.extend_from_slice(b"\r\nPING :done\r\n");
        // The server may close the junk client at any point (QUIT in the noise, Excess
        // Flood); the write side may then fail, which is fine.
        let _ = junk.stream().write_all(&data);
        // Either the PONG after the noise, or the server closed the connection: either way
        // every byte before it has been handled.
        while let Some(l) = junk.try_line() {
            if l.contains("PONG irc.test :done") {
                break;
            }
        }
    }
    // Whatever the noise caused for alice and bob (a stray PRIVMSG at worst), they still chat.
    alice.send("PRIVMSG #c :still here");
    bob.skip_until(":alice!~alice@127.0.0.1 PRIVMSG #c :still here");
    bob.send("PRIVMSG #c :me too");
    alice.skip_until(":bob!~bob@127.0.0.1 PRIVMSG #c :me too");
    let mut late = s.user("late");
    late.send("PING :ok");
    late.expect(":irc.test PONG irc.test :ok");
}
