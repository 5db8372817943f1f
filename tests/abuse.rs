//! Holding up under abuse (issue 14): password guessing, broken reloads.

mod common;
use common::*;
use portico::config::Config;
use portico::net::Options;

const OPER: &str = "[[oper]]\nname = \"root\"\npassword = \"rootpw\"\n";

/// A config file in the temp dir, unique to this test process and `tag`.
fn config_file(tag: &str, text: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("portico-abuse-{}-{tag}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn rehash_of_a_broken_file_tells_the_operator_why() {
    let good = format!("{BASE}{EASY}{OPER}");
    let path = config_file("rehash", &good);
    let s = TestServer::with_options(Options {
        config_path: Some(path.clone()),
        ..Options::new(Config::load(&path).expect("config file"))
    });
    let mut c = s.user("alice");
    c.send("OPER root rootpw");
    c.skip_until(" 381 ");
    c.expect(":alice MODE alice :+o");
    std::fs::write(&path, format!("{good}[limits\n")).unwrap();
    c.send("REHASH");
    let got = c.sync();
    let _ = std::fs::remove_file(&path);
    // The text the log has too (no 382).
    let want = format!(
        ":irc.test NOTICE alice :rehash failed, keeping the old configuration: {}:14: \
         unclosed table, expected `]`; see the configuration reference in README.md",
        path.display()
    );
    assert_eq!(got, [want]);
    // The old configuration is still in force; a good file is loaded and says 382.
    std::fs::write(&path, &good).unwrap();
    c.send("REHASH");
    let got = c.sync();
    let _ = std::fs::remove_file(&path);
    assert_eq!(got, [":irc.test 382 alice portico.toml :Rehashing"]);
}

const MAX_FAILURES: usize = 5;

#[test]
fn oper_guessing_suspends_the_address_until_the_window_ends() {
    let s = TestServer::start(&format!("{EASY}{OPER}[testing]\nauth_window_ms = 400\n"));
    let mut c = s.user("alice");
    for _ in 0..MAX_FAILURES {
        c.send("OPER root guess");
        c.expect(":irc.test 464 alice :Password incorrect");
    }
    // The right password now is refused unchecked, from another connection too.
    let refused = [
        ":irc.test NOTICE {} :Too many failed passwords from your address: OPER refused for 1 more seconds",
        ":irc.test 491 {} :No O-lines for your host",
    ];
    let mut d = s.user("bob");
    for who in [&mut c, &mut d] {
        who.send("OPER root rootpw");
        for want in refused {
            who.expect(&want.replace("{}", &who.nick.clone()));
        }
    }
    // Once the window is over, the right password works (refusals meanwhile count nothing).
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        c.send("OPER root rootpw");
        let l = c.line();
        if l.starts_with(":irc.test 381 alice ") {
            break;
        }
        assert!(l.contains(" NOTICE alice :Too many"), "{l}");
        c.expect(":irc.test 491 alice :No O-lines for your host");
        assert!(std::time::Instant::now() < deadline, "still suspended");
    }
}

#[test]
fn server_password_guessing_suspends_the_address() {
    let cfg = format!(
        "{}{EASY}",
        BASE.replace("motd = ", "password = \"sekrit\"\nmotd = ")
    );
    let s = TestServer::with_options(Options::new(Config::parse(&cfg, "t.toml").unwrap()));
    let attempt = |pass: &str, nick: &str| {
        let mut c = s.connect();
        c.send(&format!("PASS {pass}"));
        c.send(&format!("NICK {nick}"));
        c.send(&format!("USER {nick} 0 * :{nick}"));
        c.expect(&format!(":irc.test 464 {nick} :Password incorrect"));
        c.expect_closed()
    };
    for i in 0..MAX_FAILURES {
        assert_eq!(
            attempt("wrong", &format!("g{i}")),
            ["ERROR :Closing Link: 127.0.0.1 (Bad password)"]
        );
    }
    let last = attempt("sekrit", "alice");
    assert_eq!(last.len(), 1, "{last:?}");
    assert!(
        last[0].starts_with(
            "ERROR :Closing Link: 127.0.0.1 (Too many failed passwords from your address; try again in "
        ),
        "{last:?}"
    );
}

#[test]
fn link_password_guessing_suspends_the_address() {
    let s = TestServer::start(&format!(
        "{EASY}[[portal]]\nname = \"leaf.test\"\nid = 2\npassword = \"linkpw\"\n"
    ));
    let attempt = |pass: &str| {
        let mut c = s.connect();
        c.send(&format!("PASS {pass} 0210-PORTICO portico|0.1.0"));
        c.send("CAPAB 1 2 :EOB");
        c.send("SERVER leaf.test 1 2 :desc");
        c.expect_closed()
    };
    let denied =
        "ERROR :Closing Link: 127.0.0.1 (Access denied: unknown server name or bad password)";
    for _ in 0..MAX_FAILURES {
        assert_eq!(attempt("guess"), [denied]);
    }
    // Right now, but refused unchecked all the same.
    assert_eq!(attempt("linkpw"), [denied]);
}

#[test]
fn oper_and_server_passwords_may_be_argon2_hashes() {
    let hash = portico::config::hash_password(b"rootpw").unwrap();
    let cfg = format!(
        "{}{EASY}[[oper]]\nname = \"root\"\npassword = \"{hash}\"\n",
        BASE.replace("motd = ", &format!("password = \"{hash}\"\nmotd = "))
    );
    let s = TestServer::with_options(Options::new(Config::parse(&cfg, "t.toml").unwrap()));
    let mut c = s.connect();
    c.send("PASS rootpw");
    c.register("alice");
    c.send(&format!("OPER root {hash}"));
    c.expect(":irc.test 464 alice :Password incorrect");
    c.send("OPER root rootpw");
    c.expect(":irc.test 381 alice :You are now an IRC operator");
    let mut d = s.connect();
    d.send(&format!("PASS {hash}"));
    d.send("NICK bob");
    d.send("USER bob 0 * :bob");
    d.expect(":irc.test 464 bob :Password incorrect");
}

#[test]
fn max_channels_caps_channel_creation_with_437() {
    let s = TestServer::start("[limits]\nflood_burst = 1000\nmax_channels = 2\n");
    let mut a = s.user("alice");
    join(&mut a, "#a,#b");
    a.send("JOIN #c");
    a.expect(":irc.test 437 alice #c :Cannot create a channel: the server holds too many; try again later");
    // Existing channels still take members.
    let mut b = s.user("bob");
    join(&mut b, "#a");
    a.expect(":bob!~bob@127.0.0.1 JOIN #a");
    // Once one is gone, a new one can be made.
    a.send("PART #b");
    a.expect(":alice!~alice@127.0.0.1 PART #b");
    join(&mut a, "#c");
}

/// Cost-based flood control: a command costs budget by the reply it causes. Two clients
/// send five lines at once each: five PINGs, and four MOTDs of 60 lines (about 5 KB each,
/// 8 lines of budget with the line itself) then a PING. The cheap one is answered at once;
/// the expensive one's MOTDs are spaced out by their cost.
#[test]
fn an_expensive_command_is_slowed_by_its_reply_size_and_a_cheap_one_is_not() {
    let mut cfg = Config::parse(
        &format!("{BASE}[limits]\nflood_burst = 4\nflood_interval_ms = 100\n"),
        "t",
    )
    .unwrap();
    let motd: Vec<String> = (0..60)
        .map(|i| format!("line {i:02} of a long message of the day, long enough to cost"))
        .collect();
    cfg.server.motd = Some(motd.join("\n"));
    let s = TestServer::with_options(Options::new(cfg));
    let mut cheap = s.user("cheap");
    let mut heavy = s.user("heavy");
    let t0 = std::time::Instant::now();
    heavy.send_raw(b"MOTD\r\nMOTD\r\nMOTD\r\nMOTD\r\nPING :heavydone\r\n");
    cheap.send_raw(b"PING :1\r\nPING :2\r\nPING :3\r\nPING :4\r\nPING :cheapdone\r\n");
    cheap.skip_until(" :cheapdone");
    let cheap_took = t0.elapsed();
    let seen = heavy.skip_until(" :heavydone");
    let heavy_took = t0.elapsed();
    let motds = seen.iter().filter(|l| l.contains(" 376 heavy ")).count();
    assert_eq!(motds, 4, "every MOTD is answered, late but whole");
    assert_eq!(
        seen.iter().filter(|l| l.contains(" 372 heavy ")).count(),
        4 * 60
    );
    // Five PINGs are five lines: at most one interval of penalty.
    assert!(cheap_took.as_millis() < 1000, "cheap: {cheap_took:?}");
    // Each MOTD costs 8 lines (800 ms); the burst allows 400 ms of debt, so the second
    // waits 400 ms and the third and fourth 800 ms each: at least 2 s in all.
    assert!(heavy_took.as_millis() >= 2000, "heavy: {heavy_took:?}");
}

/// The per-client budget: what one client can make the server keep is bounded by
/// `[limits]` keys (and `[ircx] max_access`), each answered with its numeric when reached,
/// and the limits are advertised (CHANLIMIT, MAXLIST, metadata's max-keys).
#[test]
fn per_client_limits_come_from_the_config_with_their_numerics() {
    let s = TestServer::start(
        "[limits]\nflood_burst = 1000\nmax_channels_per_client = 2\nmax_list_entries = 2\n\
         max_metadata_keys = 1\n[ircx]\nmax_access = 2\n",
    );
    let mut a = s.connect();
    a.send("CAP LS 302");
    let ls = a.skip_until(" CAP * LS ");
    assert!(
        ls.last()
            .unwrap()
            .contains("draft/metadata-2=max-subs=50,max-keys=1,"),
        "{ls:?}"
    );
    a.send("CAP REQ :draft/metadata-2");
    a.skip_until(" ACK ");
    a.send("CAP END");
    a.send("NICK alice");
    a.send("USER alice 0 * :alice");
    let burst = a.skip_until(" 376 ").join("\n");
    a.nick = "alice".into();
    assert!(burst.contains(" CHANLIMIT=#&:2 "), "{burst}");
    assert!(burst.contains(" MAXLIST=b:2,e:2,I:2 "), "{burst}");

    // Channels: two, then 405.
    join(&mut a, "#a,#b");
    a.send("JOIN #c");
    a.expect(":irc.test 405 alice #c :You have joined too many channels");

    // Each list of a channel: two entries, then 478 (bans and exceptions alike).
    a.send("MODE #a +bbb x!*@* y!*@* z!*@*");
    let got = a.sync();
    assert!(
        got.contains(&":irc.test 478 alice #a b :Channel ban list is full".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&":alice!~alice@127.0.0.1 MODE #a +bb x!*@* y!*@*".to_string()),
        "{got:?}"
    );
    a.send("MODE #a +eee x!*@* y!*@* z!*@*");
    let got = a.sync();
    assert!(
        got.contains(&":irc.test 478 alice #a e :Channel ban list is full".to_string()),
        "{got:?}"
    );

    // Metadata keys: one per user and one per channel, then LIMIT_REACHED.
    a.send("METADATA * SET k1 :v");
    a.expect(":irc.test 761 alice alice k1 * :v");
    a.send("METADATA * SET k2 :v");
    a.expect(":irc.test FAIL METADATA LIMIT_REACHED alice :Metadata limit reached");
    a.send("METADATA #a SET k1 :v");
    a.expect(":irc.test 761 alice #a k1 * :v");
    a.send("METADATA #a SET k2 :v");
    a.expect(":irc.test FAIL METADATA LIMIT_REACHED #a :Metadata limit reached");

    // IRCX ACCESS entries: two per object, then 916.
    a.send("IRCX");
    a.skip_until(" 800 ");
    a.send("ACCESS #a ADD VOICE v1!*@*");
    a.send("ACCESS #a ADD VOICE v2!*@*");
    a.sync();
    a.send("ACCESS #a ADD VOICE v3!*@*");
    a.expect(":irc.test 916 alice :Too many access entries");
}
