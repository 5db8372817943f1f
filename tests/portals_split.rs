//! Portals under stress: netsplits, rejoins with nick and channel collisions, loops,
//! refused handshakes, mixed protocol versions, dead links and rehash. Every server runs in
//! this process on 127.0.0.1:0; raw TCP "servers" speak the handshake by hand.
mod common;
use common::net::{converge, start, Peer, RawPeer, PASSWORD};
use common::{TestClient, TestServer};
use portico::config::Config;
use portico::net::Options;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const OPER: &str = "\n[[oper]]\nname = \"root\"\npassword = \"rootpw\"\n";

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
fn pair(hub_extra: &str, leaf_extra: &str) -> (TestServer, TestServer) {
    let hub = start("hub.test", 1, &[peer("leaf.test", 2)], hub_extra);
    let leaf = start("leaf.test", 2, &[dial("hub.test", 1, &hub)], leaf_extra);
    hub.wait_servers(&["leaf.test"]);
    leaf.wait_servers(&["hub.test"]);
    (hub, leaf)
}

/// A portal table: (name, id, address, connect).
type PortalSpec<'a> = (&'a str, u16, Option<SocketAddr>, bool);

/// A whole config file, for portals the harness does not write (an address without
/// `connect`) and for rehash tests.
fn config_text(name: &str, id: u16, portals: &[PortalSpec<'_>], extra: &str) -> String {
    let mut toml = format!(
        "[server]\nname = \"{name}\"\nid = {id}\nnetwork = \"TestNet\"\nmotd = \"Hello from {name}\"\n\n\
         [[listen]]\naddress = \"127.0.0.1:0\"\n\n[limits]\nflood_burst = 100000\nmax_clients_per_ip = 0\n{extra}\n"
    );
    for (pname, pid, addr, connect) in portals {
        toml.push_str(&format!(
            "\n[[portal]]\nname = \"{pname}\"\nid = {pid}\npassword = \"{PASSWORD}\"\n"
        ));
        if let Some(a) = addr {
            toml.push_str(&format!("address = \"{a}\"\nconnect = {connect}\n"));
        }
    }
    toml
}

fn start_text(text: &str) -> TestServer {
    TestServer::with_options(Options::new(
        Config::parse(text, "test.toml").expect("test config"),
    ))
}

/// A registered operator on `s`, its input drained.
fn oper(s: &TestServer, nick: &str) -> TestClient {
    let mut c = s.user_on(nick);
    c.send("OPER root rootpw");
    c.skip_until(" 381 ");
    c.sync();
    c
}

/// The next line must be `want` once its `msgid` tag (every message carries one for
/// message-tags clients) is taken out.
fn expect_msg(c: &mut TestClient, want: &str) {
    let (_, rest) = common::split_msgid(&c.line());
    assert_eq!(rest, want, "{}: unexpected line", c.nick);
}

/// A registered user that asked for `message-tags`.
fn tags_user(s: &TestServer, nick: &str) -> TestClient {
    let mut c = s.connect();
    c.send("CAP REQ :message-tags");
    c.send(&format!("NICK {nick}"));
    c.send(&format!("USER {nick} 0 * :{nick} real"));
    c.send("CAP END");
    c.skip_until(" 376 ");
    c.nick = nick.to_string();
    c
}

fn join(c: &mut TestClient, chan: &str) {
    c.send(&format!("JOIN {chan}"));
    c.skip_until(&format!(" 366 {} {chan} ", c.nick));
}

/// A raw TCP peer that speaks the server handshake by hand.
fn raw_server(to: &TestServer, pass: &str, capab: &str, server: &str) -> TestClient {
    let mut c = to.connect();
    c.nick = "raw-server".into();
    c.send(&format!("PASS {pass} 0210-PORTICO portico|0.1.0"));
    c.send(capab);
    c.send(server);
    c
}

/// LUSERS replies as `<numeric> <what follows the nick>` lines.
fn lusers(c: &mut TestClient) -> Vec<String> {
    c.send("LUSERS");
    let lines = c.skip_until(" 266 ");
    lines
        .iter()
        .map(|l| {
            let mut parts = l.splitn(4, ' ');
            let (_src, num, _nick) = (parts.next(), parts.next(), parts.next());
            format!("{} {}", num.unwrap_or(""), parts.next().unwrap_or(""))
        })
        .collect()
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// Returns once the wall clock has moved past the current millisecond, so anything the
/// servers stamp from now on is strictly newer than anything they stamped before (nick and
/// channel timestamps are in ms). Bounded by one millisecond; not a synchronisation sleep.
fn next_ms() {
    let t = now_ms();
    while now_ms() <= t {
        std::thread::yield_now();
    }
}

/// The next `n` lines, sorted (for lines whose order depends on hashing).
fn lines_sorted(c: &mut TestClient, n: usize) -> Vec<String> {
    let mut v: Vec<String> = (0..n).map(|_| c.line()).collect();
    v.sort();
    v
}

fn field<'a>(snap: &'a str, prefix: &str) -> &'a str {
    snap.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in\n{snap}"))
}

// 1. Netsplits.

#[test]
fn leaf_split_quits_its_users_once_and_drops_its_channels() {
    let (hub, leaf) = pair("", "");
    let mut alice = hub.user_on("alice");
    let mut bob = leaf.user_on("bob");
    let mut carol = leaf.user_on("carol");
    join(&mut alice, "#c");
    converge(&[&hub, &leaf]);
    join(&mut bob, "#c");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #c");
    join(&mut carol, "#c");
    alice.expect(":carol!~carol@127.0.0.1 JOIN #c");
    join(&mut carol, "#leafonly");
    // bob shares two channels with alice: she still sees him quit once.
    join(&mut alice, "#d");
    converge(&[&hub, &leaf]);
    join(&mut bob, "#d");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #d");
    let before = converge(&[&hub, &leaf]);
    assert!(before.contains("channel #leafonly "), "{before}");
    let l = lusers(&mut alice);
    assert!(
        l.contains(&"251 :There are 3 users and 0 invisible on 2 servers".to_string()),
        "{l:#?}"
    );
    assert!(l.contains(&"254 3 :channels formed".to_string()), "{l:#?}");
    assert!(
        l.contains(&"255 :I have 1 clients and 1 servers".to_string()),
        "{l:#?}"
    );

    leaf.running.handle.stop();
    assert_eq!(
        lines_sorted(&mut alice, 2),
        [
            ":bob!~bob@127.0.0.1 QUIT :hub.test leaf.test",
            ":carol!~carol@127.0.0.1 QUIT :hub.test leaf.test",
        ]
    );
    // Each quit once: nothing else is pending.
    alice.expect_nothing();
    let l = lusers(&mut alice);
    assert!(
        l.contains(&"251 :There are 1 users and 0 invisible on 1 servers".to_string()),
        "{l:#?}"
    );
    assert!(l.contains(&"254 2 :channels formed".to_string()), "{l:#?}");
    assert!(
        l.contains(&"255 :I have 1 clients and 0 servers".to_string()),
        "{l:#?}"
    );
    let view = hub.snapshot();
    assert!(!view.contains("leaf.test"), "{view}");
    assert!(!view.contains("#leafonly"), "{view}");
    assert!(
        !view.contains("user bob") && !view.contains("user carol"),
        "{view}"
    );
    assert!(view.contains("members=[@alice]"), "{view}");
    alice.send("NAMES #c");
    alice.expect(":hub.test 353 alice = #c :@alice");
    alice.expect(":hub.test 366 alice #c :End of /NAMES list");
}

#[test]
fn split_behind_a_hub_quits_with_the_near_and_far_server_names() {
    // a <- b <- c: when b loses c, users on a and b see c's users quit as `b.test c.test`.
    let a = start("a.test", 1, &[peer("b.test", 2)], "");
    let b = start("b.test", 2, &[dial("a.test", 1, &a), peer("c.test", 3)], "");
    a.wait_servers(&["b.test"]);
    let c = start("c.test", 3, &[dial("b.test", 2, &b)], "");
    a.wait_servers(&["b.test", "c.test"]);
    let mut alice = a.user_on("alice");
    let mut bob = b.user_on("bob");
    let mut carol = c.user_on("carol");
    let mut dave = c.user_on("dave");
    join(&mut alice, "#c");
    converge(&[&a, &b, &c]);
    join(&mut bob, "#c");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #c");
    join(&mut carol, "#c");
    alice.expect(":carol!~carol@127.0.0.1 JOIN #c");
    bob.expect(":carol!~carol@127.0.0.1 JOIN #c");
    join(&mut dave, "#c");
    alice.expect(":dave!~dave@127.0.0.1 JOIN #c");
    bob.expect(":dave!~dave@127.0.0.1 JOIN #c");
    converge(&[&a, &b, &c]);

    c.running.handle.stop();
    let quits = [
        ":carol!~carol@127.0.0.1 QUIT :b.test c.test",
        ":dave!~dave@127.0.0.1 QUIT :b.test c.test",
    ];
    assert_eq!(lines_sorted(&mut alice, 2), quits);
    assert_eq!(lines_sorted(&mut bob, 2), quits);
    alice.expect_nothing();
    bob.expect_nothing();
    let view = converge(&[&a, &b]);
    assert!(!view.contains("c.test"), "{view}");
    assert!(view.contains("members=[@alice bob]"), "{view}");
    alice.send("LINKS");
    assert_eq!(
        alice.skip_until(" 365 "),
        [
            ":a.test 364 alice a.test a.test :0 Portico IRC server",
            ":a.test 364 alice b.test a.test :1 Portico IRC server",
            ":a.test 365 alice * :End of /LINKS list",
        ]
    );
}

#[test]
fn users_beyond_the_lost_server_quit_with_the_broken_links_names() {
    // a <- b <- c, and b goes: on a every user behind a - b quits as `a.test b.test`, on c
    // every user behind c - b as `c.test b.test`, whatever server they were on.
    let a = start("a.test", 1, &[peer("b.test", 2)], "");
    let b = start("b.test", 2, &[dial("a.test", 1, &a), peer("c.test", 3)], "");
    a.wait_servers(&["b.test"]);
    let c = start("c.test", 3, &[dial("b.test", 2, &b)], "");
    a.wait_servers(&["b.test", "c.test"]);
    let mut alice = a.user_on("alice");
    let mut bob = b.user_on("bob");
    let mut carol = c.user_on("carol");
    join(&mut alice, "#c");
    converge(&[&a, &b, &c]);
    join(&mut bob, "#c");
    join(&mut carol, "#c");
    alice.skip_until(":carol!~carol@127.0.0.1 JOIN #c");
    converge(&[&a, &b, &c]);
    carol.sync();

    b.running.handle.stop();
    assert_eq!(
        lines_sorted(&mut alice, 2),
        [
            ":bob!~bob@127.0.0.1 QUIT :a.test b.test",
            ":carol!~carol@127.0.0.1 QUIT :a.test b.test",
        ]
    );
    assert_eq!(
        lines_sorted(&mut carol, 2),
        [
            ":alice!~alice@127.0.0.1 QUIT :c.test b.test",
            ":bob!~bob@127.0.0.1 QUIT :c.test b.test",
        ]
    );
    alice.expect_nothing();
    carol.expect_nothing();
    assert!(!a.snapshot().contains("c.test"));
    assert!(!c.snapshot().contains("a.test"));
}

// 2. Rejoin.

#[test]
fn split_link_redials_with_backoff_and_merges_back() {
    let (hub, leaf) = pair(OPER, "");
    let mut alice = hub.user_on("alice");
    let mut bob = leaf.user_on("bob");
    join(&mut alice, "#c");
    converge(&[&hub, &leaf]);
    join(&mut bob, "#c");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #c");
    let linked = converge(&[&hub, &leaf]);
    let mut op = oper(&hub, "op");

    let t = Instant::now();
    op.send("SQUIT leaf.test :test");
    alice.expect(":bob!~bob@127.0.0.1 QUIT :hub.test leaf.test");
    bob.expect(":alice!~alice@127.0.0.1 QUIT :leaf.test hub.test");
    // The leaf's dialer tries again after its first backoff (1 s plus jitter).
    alice.expect(":bob!~bob@127.0.0.1 JOIN #c");
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(1000),
        "redialed after {waited:?}"
    );
    // Same channel timestamp on both sides: statuses from both count.
    bob.expect(":alice!~alice@127.0.0.1 JOIN #c");
    bob.expect(":hub.test MODE #c +o alice");
    alice.expect_nothing();
    bob.expect_nothing();
    let relinked = converge(&[&hub, &leaf]);
    // The oper is the only difference.
    assert_eq!(
        relinked
            .lines()
            .filter(|l| !l.starts_with("user op "))
            .collect::<Vec<_>>(),
        linked.lines().collect::<Vec<_>>()
    );
}

#[test]
fn rejoin_resolves_nick_and_channel_collisions_by_age() {
    let hub = start("hub.test", 1, &[peer("leaf.test", 2)], OPER);
    let leaf = start_text(&config_text(
        "leaf.test",
        2,
        &[("hub.test", 1, Some(hub.addr()), false)],
        OPER,
    ));
    let mut lop = oper(&leaf, "lop");
    lop.send("CONNECT hub.test");
    lop.expect(":leaf.test NOTICE lop :CONNECT: dialing hub.test");
    hub.wait_servers(&["leaf.test"]);
    let mut hop = oper(&hub, "hop");
    let mut sam = hub.user_on("sam");
    let mut lee = leaf.user_on("lee");
    join(&mut sam, "#shared");
    converge(&[&hub, &leaf]);
    join(&mut lee, "#shared");
    sam.expect(":lee!~lee@127.0.0.1 JOIN #shared");

    hop.send("SQUIT leaf.test :test");
    sam.expect(":lee!~lee@127.0.0.1 QUIT :hub.test leaf.test");
    lee.expect(":sam!~sam@127.0.0.1 QUIT :leaf.test hub.test");
    hub.wait_for("the split", |s| !s.contains("leaf.test"));
    leaf.wait_for("the split", |s| !s.contains("hub.test"));

    // During the split: bob and #c first on one side each, then the same names again.
    let mut bob_hub = hub.user_on("bob");
    let mut alice_leaf = leaf.user_on("alice");
    let mut erin = leaf.user_on("erin");
    join(&mut erin, "#c");
    erin.send("MODE #c +sb spam!*@*");
    erin.expect(":erin!~erin@127.0.0.1 MODE #c +sb spam!*@*");
    join(&mut alice_leaf, "#c");
    erin.expect(":alice!~alice@127.0.0.1 JOIN #c");
    next_ms();
    let mut dave = hub.user_on("dave");
    join(&mut dave, "#c");
    dave.send("MODE #c +mkb hubkey evil!*@*");
    dave.expect(":dave!~dave@127.0.0.1 MODE #c +mkb hubkey evil!*@*");
    let mut alice_hub = hub.user_on("alice");
    alice_hub.send("JOIN #c hubkey");
    alice_hub.skip_until(" 366 ");
    dave.expect(":alice!~alice@127.0.0.1 JOIN #c");
    let mut bob_leaf = leaf.user_on("bob");
    join(&mut bob_leaf, "#c");
    erin.expect(":bob!~bob@127.0.0.1 JOIN #c");
    alice_leaf.expect(":bob!~bob@127.0.0.1 JOIN #c");
    let leaf_view = leaf.snapshot();
    let older_chan = field(&leaf_view, "channel #c ").to_string();
    let older_ts = older_chan.split(' ').nth(2).unwrap().to_string();
    let younger_ts = field(&hub.snapshot(), "channel #c ")
        .split(' ')
        .nth(2)
        .unwrap()
        .to_string();
    assert_ne!(older_ts, younger_ts);

    lop.send("CONNECT hub.test");
    lop.expect(":leaf.test NOTICE lop :CONNECT: dialing hub.test");

    // The newer alice (hub) and the newer bob (leaf) are disconnected by their servers.
    assert_eq!(
        alice_hub.expect_closed(),
        [
            ":hub.test KILL alice :hub.test (Nick collision)",
            "ERROR :Closing Link: 127.0.0.1 (Nick collision)",
        ]
    );
    assert_eq!(
        bob_leaf.expect_closed(),
        [
            ":leaf.test KILL bob :leaf.test (Nick collision)",
            "ERROR :Closing Link: 127.0.0.1 (Nick collision)",
        ]
    );
    // The hub's #c is younger: dave sees its modes, ban and his op go, the leaf's modes
    // come, and the leaf's members join with their statuses.
    dave.expect(":alice!~alice@127.0.0.1 QUIT :Nick collision");
    dave.expect(":leaf.test MODE #c -mntkbo * evil!*@* dave");
    dave.expect(":leaf.test MODE #c +nst");
    let joins: Vec<String> = (0..3).map(|_| dave.line()).collect();
    let erin_first = [
        ":erin!~erin@127.0.0.1 JOIN #c",
        ":leaf.test MODE #c +o erin",
        ":alice!~alice@127.0.0.1 JOIN #c",
    ];
    let alice_first = [
        ":alice!~alice@127.0.0.1 JOIN #c",
        ":erin!~erin@127.0.0.1 JOIN #c",
        ":leaf.test MODE #c +o erin",
    ];
    assert!(joins == erin_first || joins == alice_first, "{joins:#?}");
    // The older channel's bans come after its members.
    dave.expect(":leaf.test MODE #c +b spam!*@*");
    dave.expect_nothing();
    // The leaf's #c is older: its members see the newer bob go and dave join, no modes.
    for c in [&mut erin, &mut alice_leaf] {
        c.expect(":bob!~bob@127.0.0.1 QUIT :Nick collision");
        c.expect(":dave!~dave@127.0.0.1 JOIN #c");
        c.expect_nothing();
    }
    // #shared kept its timestamp on both sides: statuses of both count.
    sam.expect(":lee!~lee@127.0.0.1 JOIN #shared");
    lee.expect(":sam!~sam@127.0.0.1 JOIN #shared");
    lee.expect(":hub.test MODE #shared +o sam");
    bob_hub.expect_nothing();

    let view = converge(&[&hub, &leaf]);
    assert!(
        view.contains("user alice ~alice 127.0.0.1 leaf.test "),
        "{view}"
    );
    assert!(view.contains("user bob ~bob 127.0.0.1 hub.test "), "{view}");
    assert_eq!(
        field(&view, "channel #c "),
        format!("channel #c {older_ts} +nst  bans=[spam!*@*] members=[@erin alice dave]")
    );
    assert!(
        view.contains("bans=[] members=[@sam lee]"),
        "#shared: {view}"
    );
}

// 3. Loops.

/// a <- b <- c, and a also knows c.test and x.test.
fn chain() -> (TestServer, TestServer, TestServer) {
    let a = start(
        "a.test",
        1,
        &[peer("b.test", 2), peer("c.test", 3), peer("x.test", 9)],
        "",
    );
    let b = start("b.test", 2, &[dial("a.test", 1, &a), peer("c.test", 3)], "");
    a.wait_servers(&["b.test"]);
    let c = start("c.test", 3, &[dial("b.test", 2, &b), peer("a.test", 1)], "");
    a.wait_servers(&["b.test", "c.test"]);
    converge(&[&a, &b, &c]);
    (a, b, c)
}

#[test]
fn a_link_that_would_close_a_loop_is_refused() {
    let (a, b, c) = chain();
    let mut alice = a.user_on("alice");
    let mut carol = c.user_on("carol");
    let before = converge(&[&a, &b, &c]);
    // c.test dials a.test although it is already behind b.test.
    let mut fake = raw_server(&a, PASSWORD, "CAPAB 1 2 :EOB", "SERVER c.test 1 3 :loop");
    assert_eq!(
        fake.expect_closed(),
        ["ERROR :Closing Link: 127.0.0.1 (Server c.test (id 3) is already in the network; link refused to avoid a loop)"]
    );
    assert_eq!(converge(&[&a, &b, &c]), before);
    alice.send("PRIVMSG carol :still there?");
    carol.expect(":alice!~alice@127.0.0.1 PRIVMSG carol :still there?");
    alice.send("LINKS");
    assert_eq!(
        alice.skip_until(" 365 "),
        [
            ":a.test 364 alice a.test a.test :0 Portico IRC server",
            ":a.test 364 alice b.test a.test :1 Portico IRC server",
            ":a.test 364 alice c.test b.test :2 Portico IRC server",
            ":a.test 365 alice * :End of /LINKS list",
        ]
    );
}

#[test]
fn a_linked_server_introducing_a_known_server_is_dropped() {
    let (a, b, c) = chain();
    let mut alice = a.user_on("alice");
    join(&mut alice, "#c");
    let before = converge(&[&a, &b, &c]);
    let mut x = raw_server(&a, PASSWORD, "CAPAB 1 2 :EOB", "SERVER x.test 1 9 :rogue");
    let burst = x.skip_until(":a.test EOB");
    assert_eq!(burst[0], "PASS linkpw 0210-PORTICO portico|0.1.0");
    assert_eq!(
        burst[1],
        "CAPAB 1 2 :ACCOUNT AWAY BMASK CHGHOST EOB IRCX METADATA RENAME SETNAME TB"
    );
    assert_eq!(burst[2], "SERVER a.test 1 1 :Portico IRC server");
    x.send(":x.test SERVER b.test 2 2 :a second b");
    assert_eq!(
        x.expect_closed(),
        ["ERROR :Closing Link: 127.0.0.1 (Server b.test (id 2) already exists; link dropped to break a loop)"]
    );
    for s in [&a, &b, &c] {
        s.wait_for("x.test gone", |v| !v.contains("x.test"));
    }
    assert_eq!(converge(&[&a, &b, &c]), before);
    alice.expect_nothing();
}

#[test]
fn simultaneous_dials_end_in_a_tree() {
    // c dials a and b at once while a - b is up: whichever link closes the loop is refused
    // or dropped, and the network settles as a tree with all three.
    let a = start("a.test", 1, &[peer("b.test", 2), peer("c.test", 3)], "");
    let b = start("b.test", 2, &[dial("a.test", 1, &a), peer("c.test", 3)], "");
    a.wait_servers(&["b.test"]);
    let c = start(
        "c.test",
        3,
        &[dial("a.test", 1, &a), dial("b.test", 2, &b)],
        "",
    );
    // Under load the race can refuse both of c's links more than once; each refusal
    // doubles c's redial backoff, so this may take far longer than the usual 2 s.
    for s in [&a, &b, &c] {
        s.wait_servers_redialed(&["a.test", "b.test", "c.test"]);
    }
    converge(&[&a, &b, &c]);
    let mut users: Vec<TestClient> = [(&a, "ua"), (&b, "ub"), (&c, "uc")]
        .into_iter()
        .map(|(s, n)| s.user_on(n))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let links: usize = users
            .iter_mut()
            .map(|u| {
                let l = lusers(u);
                let me = l.iter().find(|l| l.starts_with("255 ")).unwrap().clone();
                me.trim_end_matches(" servers")
                    .rsplit(' ')
                    .next()
                    .unwrap()
                    .parse::<usize>()
                    .unwrap()
            })
            .sum();
        // Two links in a tree of three, each counted at both ends.
        if links == 4 {
            break;
        }
        assert!(Instant::now() < deadline, "{links} link ends: a loop stays");
        std::thread::sleep(Duration::from_millis(20));
    }
    let view = converge(&[&a, &b, &c]);
    for n in ["ua", "ub", "uc"] {
        assert!(view.contains(&format!("user {n} ")), "{view}");
    }
    users[0].send("PRIVMSG uc :hi");
    users[2].expect(":ua!~ua@127.0.0.1 PRIVMSG uc :hi");
    users[2].send("PRIVMSG ub :hi");
    users[1].expect(":uc!~uc@127.0.0.1 PRIVMSG ub :hi");
}

/// Two servers dial each other at the same moment: each registers whichever handshake
/// arrives first. Both keep the connection dialed by the lower server ID, so one link stays.
/// `hub_id` is the real server's ID (the raw peer is leaf.test, ID 2); `inbound_first`
/// says which connection registers first on the hub.
fn crossing(hub_id: u16, inbound_first: bool) {
    let raw_leaf = RawPeer::bind();
    let hub = start_text(&config_text(
        "hub.test",
        hub_id,
        &[("leaf.test", 2, Some(raw_leaf.addr()), false)],
        OPER,
    ));
    let mut op = oper(&hub, "op");
    op.send("CONNECT leaf.test");
    op.expect(":hub.test NOTICE op :CONNECT: dialing leaf.test");
    let mut dialed = raw_leaf.accept("dialed-by-hub");
    dialed.skip_until("SERVER hub.test ");
    let answer = |c: &mut TestClient| {
        c.send(&format!("PASS {PASSWORD} 0210-PORTICO portico|0.1.0"));
        c.send("CAPAB 1 2 :EOB");
        c.send("SERVER leaf.test 1 2 :raw leaf");
    };
    let mut inbound;
    if inbound_first {
        inbound = raw_server(
            &hub,
            PASSWORD,
            "CAPAB 1 2 :EOB",
            "SERVER leaf.test 1 2 :raw leaf",
        );
        inbound.skip_until(":hub.test EOB");
        answer(&mut dialed);
    } else {
        answer(&mut dialed);
        dialed.skip_until(":hub.test EOB");
        inbound = raw_server(
            &hub,
            PASSWORD,
            "CAPAB 1 2 :EOB",
            "SERVER leaf.test 1 2 :raw leaf",
        );
    }
    let hub_dialed_wins = hub_id < 2;
    let winner_is_new = hub_dialed_wins == inbound_first;
    let (mut winner, mut loser) = if hub_dialed_wins {
        (dialed, inbound)
    } else {
        (inbound, dialed)
    };
    let reason = if winner_is_new {
        "Crossing connections: keeping the one dialed by the lower server ID".to_string()
    } else {
        "Server leaf.test (id 2) is already in the network; link refused to avoid a loop"
            .to_string()
    };
    let case = format!("hub id {hub_id}, inbound first: {inbound_first}");
    assert_eq!(
        loser.expect_closed(),
        [format!("ERROR :Closing Link: 127.0.0.1 ({reason})")],
        "{case}"
    );
    if winner_is_new {
        winner.skip_until(":hub.test EOB");
    }
    // The survivor is the link: it answers a PING and carries a new user.
    winner.expect_nothing();
    winner.send(":leaf.test NICK ghost 1 1700000000000 ghost ghost.host 2 + :Ghost");
    hub.wait_for(&case, |s| {
        s.contains("user ghost ghost ghost.host leaf.test ")
    });
}

#[test]
fn crossing_connections_keep_the_one_dialed_by_the_lower_id() {
    for hub_id in [1, 3] {
        for inbound_first in [true, false] {
            crossing(hub_id, inbound_first);
        }
    }
}

#[test]
fn servers_connecting_to_each_other_at_once_end_linked() {
    // Both opers say CONNECT at the same moment; the dials usually cross.
    let path = std::env::temp_dir().join(format!(
        "portico-portals-split-{}-crossing.toml",
        std::process::id()
    ));
    std::fs::write(
        &path,
        config_text("hub.test", 1, &[("leaf.test", 2, None, false)], OPER),
    )
    .unwrap();
    let hub = TestServer::with_options(Options {
        config_path: Some(path.clone()),
        ..Options::new(Config::load(&path).expect("config file"))
    });
    let leaf = start_text(&config_text(
        "leaf.test",
        2,
        &[("hub.test", 1, Some(hub.addr()), false)],
        OPER,
    ));
    std::fs::write(
        &path,
        config_text(
            "hub.test",
            1,
            &[("leaf.test", 2, Some(leaf.addr()), false)],
            OPER,
        ),
    )
    .unwrap();
    let mut h = oper(&hub, "h");
    let mut l = oper(&leaf, "l");
    h.send("REHASH");
    h.skip_until(" 382 ");
    let _ = std::fs::remove_file(&path);
    h.send("CONNECT leaf.test");
    l.send("CONNECT hub.test");
    // Each server dials, unless the other's dial already linked them before its CONNECT
    // was read (on a busy machine the second CONNECT can come that late): both are right.
    for (c, me, peer) in [
        (&mut h, "hub.test", "leaf.test"),
        (&mut l, "leaf.test", "hub.test"),
    ] {
        let got = c.line();
        let nick = c.nick.clone();
        let dialing = format!(":{me} NOTICE {nick} :CONNECT: dialing {peer}");
        let linked = format!(":{me} NOTICE {nick} :CONNECT: {peer} is already linked");
        assert!(got == dialing || got == linked, "{nick}: {got}");
    }
    // Settled: one link each side and no connection left half-registered.
    let deadline = Instant::now() + Duration::from_secs(5);
    for c in [&mut h, &mut l] {
        loop {
            let lu = lusers(c);
            if lu.contains(&"253 0 :unknown connection(s)".to_string())
                && lu.contains(&"255 :I have 1 clients and 1 servers".to_string())
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: never linked: {lu:#?}",
                c.nick
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    converge(&[&hub, &leaf]);
    h.send("PRIVMSG l :hi");
    l.expect(":h!~h@127.0.0.1 PRIVMSG l :hi");
}

#[test]
fn peer_squitting_itself_closes_its_link() {
    // Squitting the peer while its link stayed registered left the link pointing at a
    // removed server: the next line from it crashed the server.
    let hub = start("hub.test", 1, &[peer("leaf.test", 2)], "");
    let mut alice = hub.user_on("alice");
    join(&mut alice, "#c");
    let mut raw = raw_server(&hub, PASSWORD, "CAPAB 1 2 :EOB", "SERVER leaf.test 1 2 :x");
    raw.skip_until(":hub.test EOB");
    raw.send(":leaf.test NICK ghost 1 1700000000000 ghost ghost.host 2 + :Ghost");
    raw.send(":leaf.test SJOIN 9999999999999 #c + :ghost");
    alice.expect(":ghost!ghost@ghost.host JOIN #c");
    raw.send(":leaf.test SQUIT leaf.test :bye");
    raw.send("SJOIN 9999999999999 #d + :");
    assert_eq!(
        raw.expect_closed(),
        ["ERROR :Closing Link: 127.0.0.1 (bye)"]
    );
    alice.expect(":ghost!ghost@ghost.host QUIT :hub.test leaf.test");
    alice.expect_nothing();
    let view = hub.snapshot();
    assert!(
        !view.contains("leaf.test") && !view.contains("#d"),
        "{view}"
    );
}

#[test]
fn short_lines_from_a_link_are_ignored() {
    // `MODE #chan` without modes from a link used to crash the server (slice out of range).
    let hub = start("hub.test", 1, &[peer("leaf.test", 2)], "");
    let mut alice = hub.user_on("alice");
    join(&mut alice, "#c");
    let mut raw = raw_server(&hub, PASSWORD, "CAPAB 1 2 :EOB", "SERVER leaf.test 1 2 :x");
    raw.skip_until(":hub.test EOB");
    raw.send(":leaf.test NICK ghost 1 1700000000000 ghost ghost.host 2 + :Ghost");
    for line in [
        ":leaf.test MODE #c",
        ":leaf.test MODE #c +",
        ":leaf.test MODE #c +o",
        ":leaf.test MODE #c +kl",
        ":leaf.test MODE #c -k",
        ":leaf.test KICK #c",
        ":leaf.test TB #c",
        ":leaf.test BMASK",
        ":leaf.test SJOIN",
        ":leaf.test NICK",
        ":leaf.test KILL",
        ":leaf.test SERVER",
        ":leaf.test SQUIT",
        ":leaf.test PRIVMSG",
        ":leaf.test TAGMSG",
        ":ghost NICK",
        ":ghost MODE",
        ":ghost MODE ghost",
        ":ghost PART",
        ":ghost TOPIC",
        ":ghost INVITE",
        ":ghost SETNAME",
        ":ghost PRIVMSG",
        ":ghost PRIVMSG #c",
        ":ghost TAGMSG alice",
    ] {
        raw.send(line);
    }
    // The link is still up (it answers a PING) and so is the server.
    raw.expect_nothing();
    let view = hub.snapshot();
    assert!(view.contains("server leaf.test 2"), "{view}");
    assert!(
        view.contains("user ghost ghost ghost.host leaf.test "),
        "{view}"
    );
    assert!(view.contains("members=[@alice]"), "{view}");
    alice.send("PRIVMSG ghost :still there?");
    // A version-2 link carries the message's msgid.
    expect_msg(&mut raw, ":alice PRIVMSG ghost :still there?");
    // Nothing of it reached the channel.
    alice.expect_nothing();
}

// 4. Refused handshakes.

#[test]
fn bad_handshakes_are_refused_with_the_reason() {
    const DENIED: &str = "Access denied: unknown server name or bad password";
    let hub = start("hub.test", 1, &[peer("leaf.test", 2)], "");
    let cases = [
        (
            "wrong",
            "CAPAB 1 2 :EOB",
            "SERVER leaf.test 1 2 :desc",
            DENIED,
        ),
        (
            PASSWORD,
            "CAPAB 1 2 :EOB",
            "SERVER nosuch.test 1 2 :desc",
            DENIED,
        ),
        // The ID is checked after the password: a guesser learns nothing of it.
        (
            "wrong",
            "CAPAB 1 2 :EOB",
            "SERVER leaf.test 1 9 :desc",
            DENIED,
        ),
        (
            PASSWORD,
            "CAPAB 1 2 :EOB",
            "SERVER leaf.test 1 9 :desc",
            "Wrong server ID 9 for leaf.test: expected 2",
        ),
        (
            PASSWORD,
            "CAPAB 3 4 :EOB",
            "SERVER leaf.test 1 2 :desc",
            "No common protocol version: we speak 1-2, leaf.test speaks 3-4",
        ),
    ];
    for (pass, capab, server, reason) in cases {
        let mut raw = raw_server(&hub, pass, capab, server);
        assert_eq!(
            raw.expect_closed(),
            [format!("ERROR :Closing Link: 127.0.0.1 ({reason})")],
            "{server} / {capab}"
        );
    }
    let view = hub.snapshot();
    assert_eq!(view, "server hub.test 1", "nothing linked");
    let mut alice = hub.user_on("alice");
    let l = lusers(&mut alice);
    assert!(
        l.contains(&"253 0 :unknown connection(s)".to_string()),
        "{l:#?}"
    );
}

// 5. Mixed versions.

#[test]
fn old_and_new_servers_talk_without_the_new_features() {
    let new = start("new.test", 1, &[peer("old.test", 2)], "");
    let old = start(
        "old.test",
        2,
        &[dial("new.test", 1, &new)],
        "[testing]\nportal_protocol_max = 1\nportal_caps = [\"EOB\"]\n",
    );
    new.wait_servers(&["old.test"]);
    old.wait_servers(&["new.test"]);
    let mut ann = tags_user(&new, "ann");
    let mut nia = tags_user(&new, "nia");
    let mut ollie = tags_user(&old, "ollie");
    join(&mut ann, "#c");
    converge(&[&new, &old]);
    join(&mut nia, "#c");
    ann.expect(":nia!~nia@127.0.0.1 JOIN #c");
    converge(&[&new, &old]);
    join(&mut ollie, "#c");
    ann.expect(":ollie!~ollie@127.0.0.1 JOIN #c");
    nia.expect(":ollie!~ollie@127.0.0.1 JOIN #c");

    // new -> old: the TAGMSG stays on the new server, client tags are stripped.
    ann.send("@+typing=active TAGMSG #c");
    expect_msg(&mut nia, "@+typing=active :ann!~ann@127.0.0.1 TAGMSG #c");
    ann.send("@+draft/reply=x1 PRIVMSG #c :hello old");
    expect_msg(
        &mut nia,
        "@+draft/reply=x1 :ann!~ann@127.0.0.1 PRIVMSG #c :hello old",
    );
    expect_msg(&mut ollie, ":ann!~ann@127.0.0.1 PRIVMSG #c :hello old");
    ann.send("@+typing=active TAGMSG ollie");
    ann.send("PRIVMSG ollie :psst");
    expect_msg(&mut ollie, ":ann!~ann@127.0.0.1 PRIVMSG ollie :psst");
    ann.send("NOTICE #c :note");
    expect_msg(&mut ollie, ":ann!~ann@127.0.0.1 NOTICE #c :note");
    expect_msg(&mut nia, ":ann!~ann@127.0.0.1 NOTICE #c :note");

    // old -> new: the old server never sends a TAGMSG on a version-1 link.
    ollie.send("@+typing=active TAGMSG #c");
    ollie.send("PRIVMSG #c :hello new");
    expect_msg(&mut ann, ":ollie!~ollie@127.0.0.1 PRIVMSG #c :hello new");
    expect_msg(&mut nia, ":ollie!~ollie@127.0.0.1 PRIVMSG #c :hello new");
    ollie.send("PRIVMSG ann :back");
    expect_msg(&mut ann, ":ollie!~ollie@127.0.0.1 PRIVMSG ann :back");
    // Runtime topic and ban changes travel on any version (only the burst needs TB and
    // BMASK: a topic or ban set before the link is not sent to the old server).
    ann.send("TOPIC #c :from new");
    for c in [&mut ann, &mut nia, &mut ollie] {
        c.expect(":ann!~ann@127.0.0.1 TOPIC #c :from new");
    }
    ollie.send("MODE #c +b spam!*@*");
    ollie.expect(":old.test 482 ollie #c :You're not channel operator");
    ann.send("MODE #c +b spam!*@*");
    for c in [&mut ann, &mut nia, &mut ollie] {
        c.expect(":ann!~ann@127.0.0.1 MODE #c +b spam!*@*");
    }
    for c in [&mut ann, &mut nia, &mut ollie] {
        c.expect_nothing();
    }
    converge(&[&new, &old]);

    // AWAY without the AWAY capability: the state stays on the user's own server. The old
    // server neither shows it in WHOIS nor answers a PRIVMSG with 301.
    ann.send("AWAY :gone");
    ann.expect(":new.test 306 ann :You have been marked as being away");
    nia.send("WHOIS ann");
    let whois = nia.skip_until(" 318 ");
    assert!(
        whois.contains(&":new.test 301 nia ann :gone".to_string()),
        "{whois:#?}"
    );
    ollie.send("WHOIS ann");
    let whois = ollie.skip_until(" 318 ");
    assert!(whois.iter().all(|l| !l.contains(" 301 ")), "{whois:#?}");
    ollie.send("PRIVMSG ann :there?");
    expect_msg(&mut ann, ":ollie!~ollie@127.0.0.1 PRIVMSG ann :there?");
    ollie.expect_nothing();
    assert!(
        field(&new.snapshot(), "user ann ").ends_with("away=\"gone\""),
        "new"
    );
    assert!(
        field(&old.snapshot(), "user ann ").ends_with("away=\"\""),
        "old"
    );
    ollie.send("AWAY :lunch");
    ollie.expect(":old.test 306 ollie :You have been marked as being away");
    nia.send("WHOIS ollie");
    let whois = nia.skip_until(" 318 ");
    assert!(whois.iter().all(|l| !l.contains(" 301 ")), "{whois:#?}");
    ann.send("AWAY");
    ann.expect(":new.test 305 ann :You are no longer marked as being away");
    ollie.send("AWAY");
    ollie.expect(":old.test 305 ollie :You are no longer marked as being away");
    converge(&[&new, &old]);
}

// 6. Dead portal.

#[test]
fn silent_portal_is_split_off_on_ping_timeout() {
    let hub = start(
        "hub.test",
        1,
        &[peer("leaf.test", 2)],
        "ping_interval_s = 1\nping_timeout_s = 1\n",
    );
    let mut alice = hub.user_on("alice");
    join(&mut alice, "#c");
    let mut raw = raw_server(
        &hub,
        PASSWORD,
        "CAPAB 1 2 :EOB",
        "SERVER leaf.test 1 2 :silent",
    );
    raw.skip_until(":hub.test EOB");
    raw.send(":leaf.test NICK ghost 1 1700000000000 ghost ghost.host 2 + :Ghost");
    raw.send(":leaf.test SJOIN 9999999999999 #c + :ghost");
    raw.send(":leaf.test EOB");
    let seen = alice.skip_until_answering_pings(" JOIN #c");
    assert_eq!(seen, [":ghost!ghost@ghost.host JOIN #c"]);
    // alice keeps answering her PINGs; the raw server never does and is split off.
    let seen = alice.skip_until_answering_pings(" QUIT ");
    assert_eq!(seen, [":ghost!ghost@ghost.host QUIT :hub.test leaf.test"]);
    // What the dead portal was sent: a PING, then the ERROR, then the end.
    assert_eq!(
        raw.expect_closed(),
        [
            "PING :hub.test",
            "ERROR :Closing Link: 127.0.0.1 (Ping timeout: 2 seconds)",
        ]
    );
    let view = hub.snapshot();
    assert!(
        !view.contains("leaf.test") && !view.contains("ghost"),
        "{view}"
    );
}

// 7. Rehash.

#[test]
fn portal_removed_by_rehash_is_squit() {
    let leaf = start("leaf.test", 2, &[peer("hub.test", 1)], "");
    let path = std::env::temp_dir().join(format!(
        "portico-portals-split-{}-rehash.toml",
        std::process::id()
    ));
    let with_portal = config_text(
        "hub.test",
        1,
        &[("leaf.test", 2, Some(leaf.addr()), true)],
        OPER,
    );
    std::fs::write(&path, &with_portal).unwrap();
    let hub = TestServer::with_options(Options {
        config_path: Some(path.clone()),
        ..Options::new(Config::load(&path).expect("config file"))
    });
    hub.wait_servers(&["leaf.test"]);
    let mut alice = hub.user_on("alice");
    let mut bob = leaf.user_on("bob");
    join(&mut alice, "#c");
    converge(&[&hub, &leaf]);
    join(&mut bob, "#c");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #c");
    let mut op = oper(&hub, "op");

    std::fs::write(&path, config_text("hub.test", 1, &[], OPER)).unwrap();
    hub.running.handle.rehash();
    alice.expect(":bob!~bob@127.0.0.1 QUIT :hub.test leaf.test");
    bob.expect(":alice!~alice@127.0.0.1 QUIT :leaf.test hub.test");
    let _ = std::fs::remove_file(&path);
    assert!(!hub.snapshot().contains("leaf.test"));
    leaf.wait_for("the split", |s| !s.contains("hub.test"));
    // The portal is gone from the running configuration.
    op.send("CONNECT leaf.test");
    op.expect(":hub.test 402 op leaf.test :No such server");
    alice.expect_nothing();
    bob.expect_nothing();
}

// 8. Slow portal.

#[test]
fn slow_portal_is_split_off_at_its_own_sendq_limit() {
    // The portal's limit (64 KiB) is below the clients' (1 MiB): the link must go at its
    // own limit, well before a client's would be reached.
    let text = config_text("hub.test", 1, &[("leaf.test", 2, None, false)], "");
    let hub = start_text(&format!("{text}sendq_bytes = 65536\n"));
    let mut alice = hub.user_on("alice");
    let mut bob = hub.user_on("bob");
    join(&mut alice, "#c");
    join(&mut bob, "#c");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #c");
    // A raw server with a small receive window, so the kernel takes only a few KiB of what
    // the hub writes once it stops reading.
    let mut raw = TestClient::connect_small_rcvbuf(hub.addr());
    raw.nick = "raw-server".into();
    raw.send(&format!("PASS {PASSWORD} 0210-PORTICO portico|0.1.0"));
    raw.send("CAPAB 1 2 :EOB");
    raw.send("SERVER leaf.test 1 2 :slow");
    raw.skip_until(":hub.test EOB");
    raw.send(":leaf.test NICK ghost 1 1700000000000 ghost ghost.host 2 + :Ghost");
    raw.send(":leaf.test SJOIN 9999999999999 #c + :ghost");
    raw.send(":leaf.test EOB");
    alice.expect(":ghost!ghost@ghost.host JOIN #c");
    bob.expect(":ghost!ghost@ghost.host JOIN #c");

    // About 640 KiB for each reader: past the portal's limit plus what the kernel buffers,
    // within bob's.
    const N: usize = 1500;
    let pad = "x".repeat(400);
    let text = move |i: usize| format!("{i:05} {pad}");
    let flood = {
        let text = text.clone();
        std::thread::spawn(move || {
            for i in 0..N {
                alice.send(&format!("PRIVMSG #c :{}", text(i)));
            }
            alice
        })
    };
    let quit = ":ghost!ghost@ghost.host QUIT :hub.test leaf.test";
    let mut quit_at = Vec::new();
    let mut i = 0;
    while i < N {
        let l = bob.line();
        if l == quit {
            quit_at.push(i);
            if quit_at.len() == 1 {
                // The hub lingers 2 s on a closed link: read it now. Only whole lines,
                // then the reason.
                let got = raw.expect_closed();
                let (last, msgs) = got.split_last().expect("lines before EOF");
                assert_eq!(last, "ERROR :Closing Link: 127.0.0.1 (SendQ exceeded)");
                for (j, m) in msgs.iter().enumerate() {
                    let (_, m) = common::split_msgid(m);
                    assert_eq!(m, format!(":alice PRIVMSG #c :{}", text(j)));
                }
                assert!(msgs.len() <= i, "{} delivered, quit after {i}", msgs.len());
            }
            continue;
        }
        assert_eq!(
            l,
            format!(":alice!~alice@127.0.0.1 PRIVMSG #c :{}", text(i))
        );
        i += 1;
    }
    let mut alice = flood.join().expect("flooder");
    assert_eq!(quit_at.len(), 1, "QUIT seen after messages {quit_at:?}");
    // Well before the 1 MiB client limit: about 64 KiB, plus the kernel's buffers.
    assert!(
        quit_at[0] < 1000,
        "the portal went only after {} lines",
        quit_at[0]
    );
    bob.expect_nothing();
    alice.expect(quit);
    alice.expect_nothing();
    let view = hub.snapshot();
    assert!(
        !view.contains("leaf.test") && !view.contains("ghost"),
        "{view}"
    );
    assert!(view.contains("members=[@alice bob]"), "{view}");
}

// 6. IRCX state across a split.

const MANAGER: &str = "\n[[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n";

/// A registered IRCX user; with `manager`, a sysop manager too.
fn ircx_user(s: &TestServer, nick: &str, manager: bool) -> TestClient {
    let mut c = s.user_on(nick);
    c.send("IRCX");
    if manager {
        c.send("OPER boss pw");
        c.skip_until(" 381 ");
    }
    c.sync();
    c
}

/// Sends each command and waits for its answer (a line containing `until`).
fn each(c: &mut TestClient, commands: &[(&str, &str)]) {
    for (command, until) in commands {
        c.send(command);
        c.skip_until(until);
    }
}

/// The OID `c` is told for `chan`.
fn oid_of(c: &mut TestClient, chan: &str) -> String {
    c.send(&format!("PROP {chan} OID"));
    let lines = c.skip_until(" 819 ");
    let line = lines.iter().find(|l| l.contains(" 818 ")).expect("an OID");
    line.rsplit(" :").next().unwrap_or_default().to_string()
}

/// The line of `view` for channel `chan`, with its access entries.
fn chan_view<'a>(view: &'a str, chan: &str) -> &'a str {
    view.split("\nchannel ")
        .find(|c| c.starts_with(&format!("{chan} ")))
        .unwrap_or_else(|| panic!("no {chan} in\n{view}"))
}

/// Both sides change IRCX state while split: modes, owners, properties, channel and `*`
/// access entries. The heal merges by the channel timestamps: #eq (older than the split,
/// the same age on both) unites both sides' changes; #new, made on each side while split,
/// keeps the leaf's (older) modes, properties, OID and access entries and drops the hub's
/// owner; `*` entries are the union, the later expiry winning. Both views end identical.
#[test]
fn split_with_ircx_changes_on_both_sides_merges_by_age() {
    let hub = start("hub.test", 1, &[peer("leaf.test", 2)], MANAGER);
    let leaf = start_text(&config_text(
        "leaf.test",
        2,
        &[("hub.test", 1, Some(hub.addr()), false)],
        MANAGER,
    ));
    let mut lee = ircx_user(&leaf, "lee", true);
    lee.send("CONNECT hub.test");
    lee.skip_until(" :CONNECT: dialing hub.test");
    hub.wait_servers(&["leaf.test"]);
    let mut sam = ircx_user(&hub, "sam", true);
    let mut dave = ircx_user(&hub, "dave", false);
    let mut erin = ircx_user(&leaf, "erin", false);
    join(&mut sam, "#eq");
    leaf.wait_for("#eq", |v| v.contains("channel #eq "));
    for c in [&mut dave, &mut lee, &mut erin] {
        join(c, "#eq");
    }
    sam.send("MODE #eq +q lee");
    lee.skip_until(" MODE #eq +q lee");
    converge(&[&hub, &leaf]);

    sam.send("SQUIT leaf.test :test");
    hub.wait_for("the split", |s| !s.contains("leaf.test"));
    leaf.wait_for("the split", |s| !s.contains("hub.test"));

    // The leaf's side first, so its #new is the older.
    each(
        &mut lee,
        &[
            ("MODE #eq +w", " MODE #eq +w"),
            ("PROP #eq LANGUAGE :leaf side", " PROP #eq LANGUAGE "),
            ("ACCESS #eq ADD VOICE leafvoice 0 :l", " 801 "),
            ("ACCESS * ADD DENY zed 0 :leaf zed", " 801 "),
            ("ACCESS * ADD DENY leafonly 0 :l", " 801 "),
        ],
    );
    each(
        &mut erin,
        &[
            ("JOIN #new", " 366 "),
            ("MODE #new +w", " MODE #new +w"),
            ("PROP #new SUBJECT :leaf new", " PROP #new SUBJECT "),
            ("ACCESS #new ADD HOST lh 0 :l", " 801 "),
        ],
    );
    let leaf_oid = oid_of(&mut erin, "#new");
    next_ms();
    each(
        &mut sam,
        &[
            ("MODE #eq +uq dave", " MODE #eq +uq dave"),
            ("PROP #eq SUBJECT :hub side", " PROP #eq SUBJECT "),
            ("ACCESS #eq ADD HOST hubhost 0 :h", " 801 "),
            ("ACCESS * ADD DENY zed 10 :hub zed", " 801 "),
            ("ACCESS * ADD DENY hubonly 0 :h", " 801 "),
        ],
    );
    each(
        &mut dave,
        &[
            ("JOIN #new", " 366 "),
            ("MODE #new +u", " MODE #new +u"),
            ("PROP #new SUBJECT :hub new", " PROP #new SUBJECT "),
            ("PROP #new LANGUAGE :hub lang", " PROP #new LANGUAGE "),
            ("ACCESS #new ADD VOICE hv 0 :h", " 801 "),
        ],
    );
    assert_ne!(oid_of(&mut dave, "#new"), leaf_oid);

    lee.send("CONNECT hub.test");
    lee.skip_until(" :CONNECT: dialing hub.test");
    hub.wait_servers(&["leaf.test"]);
    let view = converge(&[&hub, &leaf]);
    let eq = chan_view(&view, "#eq");
    for want in [
        " +ntuw ",
        "members=[erin ~dave ~lee ~sam]",
        " LANGUAGE=\"leaf side\"",
        " SUBJECT=\"hub side\"",
        "access #eq HOST hubhost!*@*$* expires=0 ",
        "access #eq VOICE leafvoice!*@*$* expires=0 ",
    ] {
        assert!(eq.contains(want), "{want:?} not in\n{eq}");
    }
    let new = chan_view(&view, "#new");
    assert!(new.contains(" +ntw "), "{new}");
    assert!(new.contains("members=[dave ~erin]"), "{new}");
    assert!(new.contains(" SUBJECT=\"leaf new\""), "{new}");
    assert!(!new.contains("LANGUAGE"), "{new}");
    let entries: Vec<&str> = new
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("access #new "))
        .collect();
    assert_eq!(entries.len(), 1, "{new}");
    assert!(
        entries[0].starts_with("access #new HOST lh!*@*$* expires=0 "),
        "{new}"
    );
    let network: Vec<&str> = view
        .lines()
        .filter(|l| l.starts_with("access * "))
        .collect();
    assert_eq!(network.len(), 3, "{view}");
    for (i, want) in [
        "access * DENY hubonly!*@*$* expires=0 ",
        "access * DENY leafonly!*@*$* expires=0 ",
        "access * DENY zed!*@*$* expires=0 ",
    ]
    .iter()
    .enumerate()
    {
        assert!(network[i].starts_with(want), "{view}");
    }
    assert!(network[2].ends_with(":leaf zed"), "{view}");
    // One OID for #new on both sides: the older channel's.
    assert_eq!(oid_of(&mut dave, "#new"), leaf_oid);
    assert_eq!(oid_of(&mut erin, "#new"), leaf_oid);
}
