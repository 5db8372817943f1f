mod common;
use common::*;
use portico::config::Config;
use portico::net::Options;

#[test]
fn welcome_burst_is_complete_and_exact() {
    let s = TestServer::start("");
    let mut c = s.connect();
    c.send("NICK alice");
    c.send("USER alice 0 * :Alice A");
    c.expect(":irc.test 001 alice :Welcome to the TestNet Internet Relay Chat Network alice!~alice@127.0.0.1");
    c.expect(":irc.test 002 alice :Your host is irc.test, running version portico-0.1.0");
    c.expect_prefix(":irc.test 003 alice :This server was created ");
    c.expect(
        ":irc.test 004 alice irc.test portico-0.1.0 BZaioswxz CEIabdefhiklmnopqrstuvwxz Ibekloqv",
    );
    let first = c.expect_prefix(":irc.test 005 alice ");
    let rest = c.skip_until(" 376 ");
    // Tokens move between the 005 lines as more are added: look in all of them.
    let isupport = format!("{first} {}", rest[0]);
    for token in [
        "AWAYLEN=200",
        "CASEMAPPING=rfc1459",
        "CHANMODES=Ibe,k,l,CEadfhimnprstuwxz",
        "CHANTYPES=#&",
        "NETWORK=TestNet",
        "NICKLEN=30",
        "PREFIX=(qov)~@+",
    ] {
        assert!(isupport.contains(token), "{token} missing from {isupport}");
    }
    let codes: Vec<&str> = rest.iter().map(|l| l.split(' ').nth(1).unwrap()).collect();
    assert_eq!(
        codes,
        ["005", "251", "252", "253", "254", "255", "265", "266", "375", "372", "376"]
    );
    assert_eq!(rest[9], ":irc.test 372 alice :- Hello from the test server");
}

/// A server whose `[server]` table sets a connection password.
fn password_server(password: &str) -> TestServer {
    let text = format!(
        "[server]\nname = \"irc.test\"\nid = 1\nnetwork = \"TestNet\"\nmotd = \"Hello\"\npassword = \"{password}\"\n\n[[listen]]\naddress = \"127.0.0.1:0\"\n"
    );
    let cfg = Config::parse(&text, "test.toml").expect("test config");
    TestServer::with_options(Options::new(cfg))
}

/// The registration tail: checks 001 exactly (with the `USER` name), skips the rest to 376.
fn expect_welcome(c: &mut TestClient, nick: &str, user: &str) {
    c.expect(&format!(":irc.test 001 {nick} :Welcome to the TestNet Internet Relay Chat Network {nick}!~{user}@127.0.0.1"));
    c.skip_until(&format!(":irc.test 376 {nick} "));
    c.nick = nick.to_string();
}

#[test]
fn user_before_nick_registers_too() {
    let s = TestServer::start("");
    let mut c = s.connect();
    c.send("USER bob 0 * :Bob B");
    c.expect_nothing();
    c.send("NICK bob");
    expect_welcome(&mut c, "bob", "bob");
    c.expect_nothing();
}

#[test]
fn nick_alone_or_user_alone_does_not_register() {
    let s = TestServer::start("");
    let mut a = s.connect();
    a.send("NICK alice");
    a.expect_nothing();
    let mut b = s.connect();
    b.send("USER bob 0 * :Bob");
    b.expect_nothing();
}

#[test]
fn correct_password_registers() {
    let s = password_server("sekrit");
    let mut c = s.connect();
    c.send("PASS sekrit");
    c.send("NICK alice");
    c.send("USER alice 0 * :Alice");
    expect_welcome(&mut c, "alice", "alice");
}

#[test]
fn wrong_password_is_refused_and_closed() {
    let s = password_server("sekrit");
    let mut c = s.connect();
    c.send("PASS wrong");
    c.send("NICK alice");
    c.send("USER alice 0 * :Alice");
    c.expect(":irc.test 464 alice :Password incorrect");
    c.expect("ERROR :Closing Link: 127.0.0.1 (Bad password)");
    assert_eq!(c.expect_closed(), Vec::<String>::new());
    // The nick was never taken.
    let mut d = s.connect();
    d.send("PASS sekrit");
    d.send("NICK alice");
    d.send("USER alice 0 * :Alice");
    expect_welcome(&mut d, "alice", "alice");
}

#[test]
fn missing_password_is_refused_and_closed() {
    let s = password_server("sekrit");
    let mut c = s.connect();
    c.send("USER alice 0 * :Alice");
    c.send("NICK alice");
    c.expect(":irc.test 464 alice :Password incorrect");
    c.expect("ERROR :Closing Link: 127.0.0.1 (Bad password)");
    assert_eq!(c.expect_closed(), Vec::<String>::new());
}

#[test]
fn password_is_case_sensitive() {
    let s = password_server("sekrit");
    let mut c = s.connect();
    c.send("PASS SEKRIT");
    c.send("NICK alice");
    c.send("USER alice 0 * :Alice");
    c.expect(":irc.test 464 alice :Password incorrect");
    c.expect("ERROR :Closing Link: 127.0.0.1 (Bad password)");
    c.expect_closed();
}

#[test]
fn no_nickname_given() {
    let s = TestServer::start("");
    let mut c = s.connect();
    c.send("NICK");
    c.expect(":irc.test 431 * :No nickname given");
    c.send("NICK :");
    c.expect(":irc.test 431 * :No nickname given");
    let mut a = s.user("alice");
    a.send("NICK");
    a.expect(":irc.test 431 alice :No nickname given");
    a.expect_nothing();
}

#[test]
fn erroneous_nicknames() {
    let s = TestServer::start("[limits]\nflood_burst = 100\n");
    let mut c = s.connect();
    for bad in [
        "1abc",
        "-dash",
        "#chan",
        "a!b",
        "a@b",
        "été",
        &"x".repeat(31),
    ] {
        c.send(&format!("NICK {bad}"));
        c.expect(&format!(":irc.test 432 * {bad} :Erroneous nickname"));
    }
    // Bytes that are not UTF-8 at all are refused too (and echoed as they came).
    c.send_raw(b"NICK \xff\xfeab\r\n");
    assert_eq!(
        c.line_bytes(),
        b":irc.test 432 * \xff\xfeab :Erroneous nickname"
    );
    c.send_raw(b"NICK a\xc3\r\n");
    assert_eq!(c.line_bytes(), b":irc.test 432 * a\xc3 :Erroneous nickname");
    c.expect_nothing();
    // None of that registered anything: a valid nick still works.
    c.send(&format!("NICK {}", "x".repeat(30)));
    c.send("USER x 0 * :X");
    expect_welcome(&mut c, &"x".repeat(30), "x");
}

#[test]
fn erroneous_nick_change_keeps_the_old_nick() {
    let s = TestServer::start("");
    let mut a = s.user("alice");
    a.send_raw(b"NICK al\xffice\r\n");
    assert_eq!(
        a.line_bytes(),
        b":irc.test 432 alice al\xffice :Erroneous nickname"
    );
    a.send("NICK 9lives");
    a.expect(":irc.test 432 alice 9lives :Erroneous nickname");
    let mut b = s.user("bob");
    b.send("PRIVMSG alice :still you?");
    a.expect(":bob!~bob@127.0.0.1 PRIVMSG alice :still you?");
    b.expect_nothing();
}

#[test]
fn nickname_in_use() {
    let s = TestServer::start("");
    let _alice = s.user("alice");
    let mut c = s.connect();
    c.send("NICK alice");
    c.expect(":irc.test 433 * alice :Nickname is already in use");
    c.send("NICK ALICE");
    c.expect(":irc.test 433 * ALICE :Nickname is already in use");
    c.send("USER bob 0 * :Bob");
    c.expect_nothing();
    c.send("NICK bob");
    expect_welcome(&mut c, "bob", "bob");
    c.send("NICK Alice");
    c.expect(":irc.test 433 bob Alice :Nickname is already in use");
    c.expect_nothing();
}

#[test]
fn rfc1459_casemapping_collides_brackets_and_braces() {
    let s = TestServer::start("");
    let _a = s.user("[a]");
    let mut c = s.connect();
    c.send("NICK {A}");
    c.expect(":irc.test 433 * {A} :Nickname is already in use");
    c.send("NICK x|y");
    c.send("USER x 0 * :X");
    expect_welcome(&mut c, "x|y", "x");
    let mut d = s.connect();
    d.send("NICK X\\Y");
    d.expect(":irc.test 433 * X\\Y :Nickname is already in use");
    d.send("NICK x^");
    d.send("USER d 0 * :D");
    expect_welcome(&mut d, "x^", "d");
    let mut e = s.user("e");
    e.send("NICK X^");
    e.expect(":irc.test 433 e X^ :Nickname is already in use");
    // `~` is the lower case of `^` but is not allowed in nicks at all.
    e.send("NICK x~");
    e.expect(":irc.test 432 e x~ :Erroneous nickname");
}

#[test]
fn ascii_casemapping_keeps_brackets_and_braces_apart() {
    let s = TestServer::start("[limits]\ncasemapping = \"ascii\"\n");
    let _a = s.user("[a]");
    let mut c = s.connect();
    c.send("NICK {A}");
    c.send("USER x 0 * :X");
    expect_welcome(&mut c, "{A}", "x");
    let mut d = s.connect();
    d.send("NICK [A]");
    d.expect(":irc.test 433 * [A] :Nickname is already in use");
}

#[test]
fn nick_taken_between_nick_and_user() {
    let s = TestServer::start("");
    let mut slow = s.connect();
    slow.send("NICK shared");
    slow.expect_nothing();
    let _fast = s.user("shared");
    slow.send("USER slow 0 * :Slow");
    slow.expect(":irc.test 433 * shared :Nickname is already in use");
    slow.send("NICK other");
    expect_welcome(&mut slow, "other", "slow");
}

#[test]
fn reregistration_is_refused() {
    let s = TestServer::start("");
    let mut a = s.user("alice");
    a.send("USER again 0 * :Again");
    a.expect(":irc.test 462 alice :You may not reregister");
    a.send("PASS late");
    a.expect(":irc.test 462 alice :You may not reregister");
    a.expect_nothing();
}

#[test]
fn user_needs_four_parameters() {
    let s = TestServer::start("");
    let mut c = s.connect();
    c.send("USER alice 0 *");
    c.expect(":irc.test 461 * USER :Not enough parameters");
    c.send("NICK alice");
    c.expect_nothing();
    c.send("USER alice 0 * :Alice");
    expect_welcome(&mut c, "alice", "alice");
}

#[test]
fn commands_before_registration_get_451() {
    let s = TestServer::start("");
    let mut c = s.connect();
    c.send("JOIN #a");
    c.expect(":irc.test 451 * :You have not registered");
    c.send("PRIVMSG bob :hi");
    c.expect(":irc.test 451 * :You have not registered");
    c.send("NICK alice");
    c.send("JOIN #a");
    c.expect(":irc.test 451 alice :You have not registered");
    c.send("FROBNICATE");
    c.expect(":irc.test 451 alice :You have not registered");
    c.expect_nothing();
    // Nothing was created by the refused JOIN.
    let mut b = s.user("bob");
    b.send("JOIN #a");
    b.expect(":bob!~bob@127.0.0.1 JOIN #a");
    b.expect(":irc.test 353 bob = #a :@bob");
}

#[test]
fn unknown_command_after_registration_is_421() {
    let s = TestServer::start("");
    let mut a = s.user("alice");
    a.send("FROBNICATE x y");
    a.expect(":irc.test 421 alice FROBNICATE :Unknown command");
}

#[test]
fn nick_change_is_seen_once_by_each_peer() {
    let s = TestServer::start("");
    let mut alice = s.user("alice");
    let mut bob = s.user("bob");
    let mut carol = s.user("carol");
    let mut dave = s.user("dave");
    alice.send("JOIN #a,#b,#c");
    alice.skip_until(":irc.test 366 alice #c ");
    bob.send("JOIN #a,#b,#c");
    bob.skip_until(":irc.test 366 bob #c ");
    carol.send("JOIN #b");
    carol.skip_until(":irc.test 366 carol #b ");
    dave.send("JOIN #d");
    dave.skip_until(":irc.test 366 dave #d ");
    alice.sync();
    bob.sync();

    alice.send("NICK alicia");
    let line = ":alice!~alice@127.0.0.1 NICK :alicia";
    alice.expect(line);
    bob.expect(line);
    carol.expect(line);
    for c in [&mut alice, &mut bob, &mut carol, &mut dave] {
        c.expect_nothing();
    }
    alice.nick = "alicia".into();

    // The new nick is live, the old one is free.
    bob.send("PRIVMSG alicia :hi");
    alice.expect(":bob!~bob@127.0.0.1 PRIVMSG alicia :hi");
    bob.send("PRIVMSG alice :hi");
    bob.expect(":irc.test 401 bob alice :No such nick/channel");
    let _new_alice = s.user("alice");
    // Channel messages now carry the new prefix.
    alice.send("PRIVMSG #b :renamed");
    bob.expect(":alicia!~alice@127.0.0.1 PRIVMSG #b :renamed");
    carol.expect(":alicia!~alice@127.0.0.1 PRIVMSG #b :renamed");
}

#[test]
fn nick_change_without_channels_reaches_only_self() {
    let s = TestServer::start("");
    let mut alice = s.user("alice");
    let mut bob = s.user("bob");
    alice.send("NICK zed");
    alice.expect(":alice!~alice@127.0.0.1 NICK :zed");
    alice.expect_nothing();
    bob.expect_nothing();
}

#[test]
fn nick_case_change_and_same_nick() {
    let s = TestServer::start("");
    let mut alice = s.user("alice");
    let mut bob = s.user("bob");
    alice.send("JOIN #a");
    alice.skip_until(" 366 ");
    bob.send("JOIN #a");
    bob.skip_until(" 366 ");
    alice.sync();
    alice.send("NICK ALICE");
    alice.expect(":alice!~alice@127.0.0.1 NICK :ALICE");
    bob.expect(":alice!~alice@127.0.0.1 NICK :ALICE");
    // The same nick again changes nothing and says nothing.
    alice.send("NICK ALICE");
    alice.expect_nothing();
    bob.expect_nothing();
    // Still findable under any case.
    bob.send("PRIVMSG alice :x");
    alice.expect(":bob!~bob@127.0.0.1 PRIVMSG ALICE :x");
}

#[test]
fn quit_is_seen_once_by_each_peer_and_the_quitter_gets_error() {
    let s = TestServer::start("");
    let mut alice = s.user("alice");
    let mut bob = s.user("bob");
    let mut carol = s.user("carol");
    let mut dave = s.user("dave");
    alice.send("JOIN #a,#b,#c");
    alice.skip_until(":irc.test 366 alice #c ");
    bob.send("JOIN #a,#b,#c");
    bob.skip_until(":irc.test 366 bob #c ");
    carol.send("JOIN #c");
    carol.skip_until(":irc.test 366 carol #c ");
    alice.sync();
    bob.sync();

    alice.send("QUIT :gone fishing");
    alice.expect("ERROR :Closing Link: 127.0.0.1 (Quit: gone fishing)");
    assert_eq!(alice.expect_closed(), Vec::<String>::new());
    let line = ":alice!~alice@127.0.0.1 QUIT :Quit: gone fishing";
    bob.expect(line);
    carol.expect(line);
    for c in [&mut bob, &mut carol, &mut dave] {
        c.expect_nothing();
    }
    // alice left every channel: #a is bob's alone now.
    bob.send("NAMES #a");
    bob.expect(":irc.test 353 bob = #a :bob");
    bob.expect(":irc.test 366 bob #a :End of /NAMES list");
    // And her nick is free.
    let _again = s.user("alice");
}

#[test]
fn quit_without_reason() {
    let s = TestServer::start("");
    let mut alice = s.user("alice");
    let mut bob = s.user("bob");
    alice.send("JOIN #a");
    alice.skip_until(" 366 ");
    bob.send("JOIN #a");
    bob.skip_until(" 366 ");
    alice.send("QUIT");
    alice.skip_until("ERROR :Closing Link: 127.0.0.1 (Client Quit)");
    alice.expect_closed();
    bob.expect(":alice!~alice@127.0.0.1 QUIT :Client Quit");
    bob.expect_nothing();
}

#[test]
fn quit_before_registration() {
    let s = TestServer::start("");
    let mut c = s.connect();
    c.send("NICK early");
    c.send("QUIT :changed my mind");
    c.expect("ERROR :Closing Link: 127.0.0.1 (Quit: changed my mind)");
    c.expect_closed();
    // The pending nick was never held.
    let _early = s.user("early");
}

#[test]
fn dropped_connection_is_a_quit_for_peers() {
    let s = TestServer::start("");
    let mut bob = s.user("bob");
    {
        let mut alice = s.user("alice");
        alice.send("JOIN #a");
        alice.skip_until(" 366 ");
        bob.send("JOIN #a");
        bob.skip_until(" 366 ");
        alice.sync();
    }
    bob.expect(":alice!~alice@127.0.0.1 QUIT :Connection closed");
    bob.expect_nothing();
}

#[test]
fn ping_pong() {
    let s = TestServer::start("");
    let mut c = s.connect();
    c.send("PING early");
    c.expect(":irc.test PONG irc.test :early");
    c.register("alice");
    c.send("PING tok");
    c.expect(":irc.test PONG irc.test :tok");
    c.send("PING :two words");
    c.expect(":irc.test PONG irc.test :two words");
    c.send("PONG :whatever");
    c.expect_nothing();
}

#[test]
fn ping_without_origin_is_409() {
    let s = TestServer::start("");
    let mut c = s.user("alice");
    c.send("PING");
    c.expect(":irc.test 409 alice :No origin specified");
    c.send("PING :");
    c.expect(":irc.test 409 alice :No origin specified");
    c.expect_nothing();
}
