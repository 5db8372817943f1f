//! Portico networks of several shapes (chains, a star), all in this process on 127.0.0.1:0:
//! every channel event reaches every member once, queries see the whole network, and
//! operators' remote actions (KILL, CONNECT, SQUIT) take effect where they should.
mod common;
use common::net::{converge, start, start_with, Peer};
use common::{TestClient, TestServer};

const OPER: &str = "[[oper]]\nname = \"admin\"\npassword = \"pw\"\n";
const CHAIN: [&str; 5] = ["a.test", "b.test", "c.test", "d.test", "e.test"];
const LEAVES: [&str; 4] = ["leaf1.test", "leaf2.test", "leaf3.test", "leaf4.test"];

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

/// `n` servers in a line, `CHAIN[i]` with id i+1, each dialing the one before it.
fn chain(n: usize, extra: &str) -> Vec<TestServer> {
    let mut servers: Vec<TestServer> = Vec::new();
    for i in 0..n {
        let id = i as u16 + 1;
        let mut peers = Vec::new();
        if i > 0 {
            peers.push(dial(CHAIN[i - 1], id - 1, &servers[i - 1]));
        }
        if i + 1 < n {
            peers.push(peer(CHAIN[i + 1], id + 1));
        }
        servers.push(start(CHAIN[i], id, &peers, extra));
    }
    for s in &servers {
        s.wait_servers(&CHAIN[..n]);
    }
    servers
}

/// hub.test (id 1) with four leaves (ids 2-5) that dial it.
fn star(extra: &str) -> (TestServer, Vec<TestServer>) {
    let accepts: Vec<Peer> = (0..4).map(|i| peer(LEAVES[i], i as u16 + 2)).collect();
    let hub = start("hub.test", 1, &accepts, extra);
    let leaves: Vec<TestServer> = (0..4)
        .map(|i| start(LEAVES[i], i as u16 + 2, &[dial("hub.test", 1, &hub)], extra))
        .collect();
    let mut names = vec!["hub.test"];
    names.extend(LEAVES);
    hub.wait_servers(&names);
    for l in &leaves {
        l.wait_servers(&names);
    }
    (hub, leaves)
}

fn refs(servers: &[TestServer]) -> Vec<&TestServer> {
    servers.iter().collect()
}

/// Every client has nothing pending: no duplicate or stray line arrived.
fn nothing(users: &mut [TestClient]) {
    for u in users {
        u.expect_nothing();
    }
}

/// `line` is the next line each of `users` gets.
fn all_see(users: &mut [TestClient], line: &str) {
    for u in users.iter_mut() {
        u.expect(line);
    }
}

/// The nicks of a 353 reply, sorted.
fn names_of(reply: &[String]) -> Vec<String> {
    let mut names: Vec<String> = reply
        .iter()
        .filter(|l| l.contains(" 353 "))
        .filter_map(|l| l.split_once(" :").map(|(_, list)| list))
        .flat_map(|list| list.split(' ').map(String::from))
        .collect();
    names.sort();
    names
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// One user per server (`nicks[i]` on `servers[i]`) in #net; users[0] creates it and is op.
/// Every JOIN, PRIVMSG, MODE, NICK, PART and QUIT reaches each other member exactly once,
/// and private messages cross the network both ways. Ends converged.
fn channel_scenario(servers: &[&TestServer], nicks: &[&str]) {
    let n = nicks.len();
    assert!(n >= 3 && n == servers.len());
    let last = n - 1;
    let mut users: Vec<TestClient> = servers
        .iter()
        .zip(nicks)
        .map(|(s, nick)| s.user_on(nick))
        .collect();
    converge(servers);

    // JOIN: the creator, then everyone else in turn; earlier members see each join once.
    users[0].send("JOIN #net");
    let own = users[0].skip_until(" 366 ");
    assert_eq!(own[0], format!(":{} JOIN #net", users[0].mask()));
    converge(servers);
    for i in 1..n {
        users[i].send("JOIN #net");
        let own = users[i].skip_until(" 366 ");
        assert_eq!(own[0], format!(":{} JOIN #net", users[i].mask()));
        let mut want: Vec<String> = nicks[..=i].iter().map(|s| s.to_string()).collect();
        want[0] = format!("@{}", nicks[0]);
        assert_eq!(names_of(&own), sorted(want), "NAMES for {}", nicks[i]);
        let line = format!(":{} JOIN #net", users[i].mask());
        all_see(&mut users[..i], &line);
        // Every server has the join before the next one (NAMES above depends on it).
        converge(servers);
    }
    nothing(&mut users);

    // PRIVMSG to the channel from every server.
    for i in 0..n {
        let text = format!("PRIVMSG #net :hello from {}", nicks[i]);
        users[i].send(&text);
        let line = format!(":{} {text}", users[i].mask());
        for (j, u) in users.iter_mut().enumerate() {
            if j != i {
                u.expect(&line);
            }
        }
    }
    nothing(&mut users);

    // Channel modes set by the creator, seen by everyone (the op included) once each.
    let op = users[0].mask();
    for change in [
        format!("+o {}", nicks[1]),
        format!("+v {}", nicks[last]),
        "+b bad!*@*".to_string(),
        "+k sesame".to_string(),
        "+l 10".to_string(),
        "+m".to_string(),
        "-t".to_string(),
        "+t".to_string(),
    ] {
        users[0].send(&format!("MODE #net {change}"));
        all_see(&mut users, &format!(":{op} MODE #net {change}"));
    }
    nothing(&mut users);

    // A NICK change on a remote server, then the renamed (now op) user sets a mode: every
    // server follows the rename.
    let old_mask = users[1].mask();
    let renamed = format!("{}2", nicks[1]);
    users[1].send(&format!("NICK {renamed}"));
    all_see(&mut users, &format!(":{old_mask} NICK :{renamed}"));
    users[1].nick = renamed.clone();
    // The mask keeps the old user name.
    let mask1 = format!("{renamed}!~{}@127.0.0.1", nicks[1]);
    let mask = |j: usize| {
        if j == 1 {
            mask1.clone()
        } else {
            format!("{0}!~{0}@127.0.0.1", nicks[j])
        }
    };
    users[1].send("MODE #net -m");
    all_see(&mut users, &format!(":{mask1} MODE #net -m"));
    users[1].send("TOPIC #net :set from afar");
    all_see(&mut users, &format!(":{mask1} TOPIC #net :set from afar"));
    nothing(&mut users);

    // PART with a reason: everyone, the parting user included, sees it once.
    let part = format!(":{} PART #net :bye now", users[last].mask());
    users[last].send("PART #net :bye now");
    all_see(&mut users, &part);
    nothing(&mut users);

    // Private messages from one end to the other and back, and from the middle.
    let mid = n / 2;
    for (from, to) in [(0, last), (last, 0), (mid, last), (last, mid)] {
        let text = format!("PRIVMSG {} :psst from {}", users[to].nick, users[from].nick);
        users[from].send(&text);
        let line = format!(":{} {text}", mask(from));
        users[to].expect(&line);
    }
    nothing(&mut users);

    // QUIT: the members still in #net see it once; the user who parted sees nothing.
    users[1].send("QUIT :gone");
    users[1].expect("ERROR :Closing Link: 127.0.0.1 (Quit: gone)");
    users[1].expect_closed();
    let quit = format!(":{mask1} QUIT :Quit: gone");
    for (j, u) in users.iter_mut().enumerate() {
        if j != 1 && j != last {
            u.expect(&quit);
        }
    }
    let mut rest: Vec<TestClient> = users
        .into_iter()
        .enumerate()
        .filter(|&(j, _)| j != 1)
        .map(|(_, u)| u)
        .collect();
    nothing(&mut rest);

    let view = converge(servers);
    let mut members: Vec<String> = nicks[2..last].iter().map(|s| s.to_string()).collect();
    members.push(format!("@{}", nicks[0]));
    members.sort();
    let chan = view
        .lines()
        .find(|l| l.starts_with("channel #net "))
        .unwrap_or_else(|| panic!("no #net in {view}"));
    // Modes, topic (its time is the same everywhere: the views converged), bans, members.
    let modes_topic = format!(" +ntkl sesame 10 topic=\"set from afar\" by {mask1} at ");
    let tail = format!(" bans=[bad!*@*] members=[{}]", members.join(" "));
    assert!(
        chan.contains(&modes_topic) && chan.ends_with(&tail),
        "{chan}\nwant {modes_topic:?} and {tail:?}"
    );
    assert!(!view.contains(&format!("user {renamed} ")), "{view}");
}

#[test]
fn chain_of_three_relays_every_channel_event_once() {
    let servers = chain(3, "");
    channel_scenario(&refs(&servers), &["alice", "bob", "carol"]);
}

#[test]
fn chain_of_five_relays_every_channel_event_once() {
    let servers = chain(5, "");
    channel_scenario(&refs(&servers), &["alice", "bob", "carol", "dave", "erin"]);
}

#[test]
fn star_relays_every_channel_event_once() {
    let (hub, leaves) = star("");
    let mut servers = vec![&hub];
    servers.extend(leaves.iter());
    channel_scenario(&servers, &["alice", "bob", "carol", "dave", "erin"]);
}

#[test]
fn star_relays_from_a_leaf_through_the_hub() {
    // The creator sits on a leaf: every line from it crosses the hub to the other leaves.
    let (hub, leaves) = star("");
    let mut servers: Vec<&TestServer> = leaves.iter().collect();
    servers.insert(2, &hub);
    channel_scenario(&servers, &["alice", "bob", "carol", "dave", "erin"]);
}

/// Members of #big: 20 on c.test and 5 on b.test; a sender on a.test and one on c.test.
/// Each message crosses each portal once: every member gets it exactly once.
#[test]
fn channel_message_crosses_each_portal_once() {
    let servers = chain(3, "");
    let (a, b, c) = (&servers[0], &servers[1], &servers[2]);
    let mut sender = a.user_on("sender");
    sender.send("JOIN #big");
    sender.skip_until(" 366 ");
    converge(&refs(&servers));
    let mut members: Vec<TestClient> = Vec::new();
    for i in 0..25 {
        let server = if i < 20 { c } else { b };
        let mut m = server.user_on(&format!("m{i}"));
        m.send("JOIN #big");
        m.skip_until(" 366 ");
        members.push(m);
    }
    // Everyone's JOIN has reached a.test once.
    let joins: Vec<String> = (0..members.len()).map(|_| sender.line()).collect();
    let want: Vec<String> = members
        .iter()
        .map(|m| format!(":{} JOIN #big", m.mask()))
        .collect();
    assert_eq!(sorted(joins), sorted(want));
    converge(&refs(&servers));
    for m in members.iter_mut() {
        m.sync();
    }

    sender.send("PRIVMSG #big :one for all");
    let line = ":sender!~sender@127.0.0.1 PRIVMSG #big :one for all";
    all_see(&mut members, line);
    nothing(&mut members);
    sender.expect_nothing();

    // From behind the far portal: members on b.test, c.test and the sender on a.test.
    members[0].send("NOTICE #big :back at you");
    let line = ":m0!~m0@127.0.0.1 NOTICE #big :back at you";
    sender.expect(line);
    all_see(&mut members[1..], line);
    nothing(&mut members);
    sender.expect_nothing();

    // A status message (@#big) reaches only the op, across two portals, once.
    members[3].send("PRIVMSG @#big :ops only");
    sender.expect(":m3!~m3@127.0.0.1 PRIVMSG @#big :ops only");
    sender.expect_nothing();
    nothing(&mut members);
    converge(&refs(&servers));
}

#[test]
fn one_listener_takes_clients_and_portals() {
    let hub = start("hub.test", 1, &[peer("leaf.test", 2)], "");
    assert_eq!(hub.running.addrs.len(), 1, "one listener");
    let addr = hub.addr();
    // A client registers on the address...
    let mut alice = hub.user_on("alice");
    // ...a server links on the very same address...
    let leaf = start(
        "leaf.test",
        2,
        &[Peer {
            name: "hub.test",
            id: 1,
            dial: Some(addr),
        }],
        "",
    );
    hub.wait_servers(&["leaf.test"]);
    leaf.wait_servers(&["hub.test"]);
    // ...and another client registers there after the link is up.
    let mut carol = TestClient::connect(addr);
    carol.send("NICK carol");
    carol.send("USER carol 0 * :carol real");
    carol.expect_prefix(":hub.test 001 carol :Welcome to the TestNet Internet Relay Chat Network");
    carol.skip_until(" 376 ");
    carol.nick = "carol".into();
    let mut bob = leaf.user_on("bob");
    converge(&[&hub, &leaf]);

    alice.send("LUSERS");
    let got = alice.skip_until(" 266 ");
    assert_eq!(
        got,
        [
            ":hub.test 251 alice :There are 3 users and 0 invisible on 2 servers",
            ":hub.test 252 alice 0 :operator(s) online",
            ":hub.test 253 alice 0 :unknown connection(s)",
            ":hub.test 254 alice 0 :channels formed",
            ":hub.test 255 alice :I have 2 clients and 1 servers",
            ":hub.test 265 alice 2 2 :Current local users 2, max 2",
            ":hub.test 266 alice 3 3 :Current global users 3, max 3",
        ]
    );
    bob.send("PRIVMSG carol :over the portal");
    carol.expect(":bob!~bob@127.0.0.1 PRIVMSG carol :over the portal");
    carol.send("PRIVMSG bob :and back");
    bob.expect(":carol!~carol@127.0.0.1 PRIVMSG bob :and back");
    alice.send("PRIVMSG carol :same listener");
    carol.expect(":alice!~alice@127.0.0.1 PRIVMSG carol :same listener");
    for u in [&mut alice, &mut bob, &mut carol] {
        u.expect_nothing();
    }
}

/// Reads a reply up to and including the line containing `end`.
fn ask(u: &mut TestClient, line: &str, end: &str) -> Vec<String> {
    u.send(line);
    u.skip_until(end)
}

#[test]
fn queries_see_the_whole_chain() {
    let servers = chain(3, "");
    let mut alice = servers[0].user_on("alice");
    let mut bob = servers[1].user_on("bob");
    let mut carol = servers[2].user_on("carol");
    alice.send("JOIN #q");
    alice.skip_until(" 366 ");
    converge(&refs(&servers));
    bob.send("JOIN #q");
    bob.skip_until(" 366 ");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #q");
    converge(&refs(&servers));
    carol.send("JOIN #q");
    carol.skip_until(" 366 ");
    alice.expect(":carol!~carol@127.0.0.1 JOIN #q");
    bob.expect(":carol!~carol@127.0.0.1 JOIN #q");
    converge(&refs(&servers));

    assert_eq!(
        ask(&mut alice, "WHOIS carol", " 318 "),
        [
            ":a.test 311 alice carol ~carol 127.0.0.1 * :carol real",
            ":a.test 319 alice carol :#q",
            ":a.test 312 alice carol c.test :Portico IRC server",
            ":a.test 318 alice carol :End of /WHOIS list",
        ]
    );
    assert_eq!(
        ask(&mut carol, "WHOIS alice", " 318 "),
        [
            ":c.test 311 carol alice ~alice 127.0.0.1 * :alice real",
            ":c.test 319 carol alice :@#q",
            ":c.test 312 carol alice a.test :Portico IRC server",
            ":c.test 318 carol alice :End of /WHOIS list",
        ]
    );

    assert_eq!(
        ask(&mut alice, "LINKS", " 365 "),
        [
            ":a.test 364 alice a.test a.test :0 Portico IRC server",
            ":a.test 364 alice b.test a.test :1 Portico IRC server",
            ":a.test 364 alice c.test b.test :2 Portico IRC server",
            ":a.test 365 alice * :End of /LINKS list",
        ]
    );
    assert_eq!(
        ask(&mut bob, "LINKS", " 365 "),
        [
            ":b.test 364 bob b.test b.test :0 Portico IRC server",
            ":b.test 364 bob a.test b.test :1 Portico IRC server",
            ":b.test 364 bob c.test b.test :1 Portico IRC server",
            ":b.test 365 bob * :End of /LINKS list",
        ]
    );

    assert_eq!(
        ask(&mut alice, "MAP", " 007 "),
        [
            ":a.test 006 alice :a.test [1] (1 users)",
            ":a.test 006 alice :  b.test [2] (1 users)",
            ":a.test 006 alice :    c.test [3] (1 users)",
            ":a.test 007 alice :End of /MAP",
        ]
    );
    assert_eq!(
        ask(&mut carol, "MAP", " 007 "),
        [
            ":c.test 006 carol :c.test [3] (1 users)",
            ":c.test 006 carol :  b.test [2] (1 users)",
            ":c.test 006 carol :    a.test [1] (1 users)",
            ":c.test 007 carol :End of /MAP",
        ]
    );

    // WHO #q: each member with its own server and hop count, as each end sees it.
    let who = |u: &mut TestClient| {
        let mut got = ask(u, "WHO #q", " 315 ");
        let end = got.pop().unwrap();
        (sorted(got), end)
    };
    assert_eq!(
        who(&mut alice),
        (
            vec![
                ":a.test 352 alice #q ~alice 127.0.0.1 a.test alice H@ :0 alice real".to_string(),
                ":a.test 352 alice #q ~bob 127.0.0.1 b.test bob H :1 bob real".to_string(),
                ":a.test 352 alice #q ~carol 127.0.0.1 c.test carol H :2 carol real".to_string(),
            ],
            ":a.test 315 alice #q :End of WHO list".to_string()
        )
    );
    assert_eq!(
        who(&mut carol),
        (
            vec![
                ":c.test 352 carol #q ~alice 127.0.0.1 a.test alice H@ :2 alice real".to_string(),
                ":c.test 352 carol #q ~bob 127.0.0.1 b.test bob H :1 bob real".to_string(),
                ":c.test 352 carol #q ~carol 127.0.0.1 c.test carol H :0 carol real".to_string(),
            ],
            ":c.test 315 carol #q :End of WHO list".to_string()
        )
    );

    // WHO <server>: the users on that server, wherever it is.
    for (server, who) in [("b.test", "bob"), ("c.test", "carol"), ("a.test", "alice")] {
        let hop = CHAIN.iter().position(|s| *s == server).unwrap();
        assert_eq!(
            ask(&mut alice, &format!("WHO {server}"), " 315 "),
            [
                format!(":a.test 352 alice * ~{who} 127.0.0.1 {server} {who} H :{hop} {who} real"),
                format!(":a.test 315 alice {server} :End of WHO list"),
            ]
        );
    }

    // LUSERS: global counts everywhere, local ones per server; +i travels.
    let lusers = |u: &mut TestClient, me: &str, nick: &str, visible: usize, links: usize| {
        let got = ask(u, "LUSERS", " 266 ");
        let invisible = 3 - visible;
        assert_eq!(
            got,
            [
                format!(":{me} 251 {nick} :There are {visible} users and {invisible} invisible on 3 servers"),
                format!(":{me} 252 {nick} 0 :operator(s) online"),
                format!(":{me} 253 {nick} 0 :unknown connection(s)"),
                format!(":{me} 254 {nick} 1 :channels formed"),
                format!(":{me} 255 {nick} :I have 1 clients and {links} servers"),
                format!(":{me} 265 {nick} 1 1 :Current local users 1, max 1"),
                format!(":{me} 266 {nick} 3 3 :Current global users 3, max 3"),
            ]
        );
    };
    lusers(&mut alice, "a.test", "alice", 3, 1);
    lusers(&mut bob, "b.test", "bob", 3, 2);
    lusers(&mut carol, "c.test", "carol", 3, 1);
    carol.send("MODE carol +i");
    carol.expect(":carol MODE carol :+i");
    converge(&refs(&servers));
    lusers(&mut alice, "a.test", "alice", 2, 1);
    lusers(&mut bob, "b.test", "bob", 2, 2);
    for u in [&mut alice, &mut bob, &mut carol] {
        u.expect_nothing();
    }

    // WHOWAS names the server a remote user was on (after a rename and after a quit).
    carol.send("NICK carla");
    carol.expect(":carol!~carol@127.0.0.1 NICK :carla");
    alice.expect(":carol!~carol@127.0.0.1 NICK :carla");
    bob.send("QUIT :later");
    alice.expect(":bob!~bob@127.0.0.1 QUIT :Quit: later");
    for (nick, server) in [("carol", "c.test"), ("bob", "b.test")] {
        let got = ask(&mut alice, &format!("WHOWAS {nick}"), " 369 ");
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(
            got[0],
            format!(":a.test 314 alice {nick} ~{nick} 127.0.0.1 * :{nick} real")
        );
        assert!(
            got[1].starts_with(&format!(":a.test 312 alice {nick} {server} :")),
            "{got:?}"
        );
        assert_eq!(got[2], format!(":a.test 369 alice {nick} :End of WHOWAS"));
    }
}

#[test]
fn map_and_links_show_the_star_from_a_leaf() {
    let (hub, leaves) = star("");
    let mut dave = leaves[1].user_on("dave");
    let _hubber = hub.user_on("hubber");
    let mut servers = vec![&hub];
    servers.extend(leaves.iter());
    converge(&servers);
    assert_eq!(
        ask(&mut dave, "MAP", " 007 "),
        [
            ":leaf2.test 006 dave :leaf2.test [3] (1 users)",
            ":leaf2.test 006 dave :  hub.test [1] (1 users)",
            ":leaf2.test 006 dave :    leaf1.test [2] (0 users)",
            ":leaf2.test 006 dave :    leaf3.test [4] (0 users)",
            ":leaf2.test 006 dave :    leaf4.test [5] (0 users)",
            ":leaf2.test 007 dave :End of /MAP",
        ]
    );
    assert_eq!(
        ask(&mut dave, "LINKS", " 365 "),
        [
            ":leaf2.test 364 dave leaf2.test leaf2.test :0 Portico IRC server",
            ":leaf2.test 364 dave hub.test leaf2.test :1 Portico IRC server",
            ":leaf2.test 364 dave leaf1.test hub.test :2 Portico IRC server",
            ":leaf2.test 364 dave leaf3.test hub.test :2 Portico IRC server",
            ":leaf2.test 364 dave leaf4.test hub.test :2 Portico IRC server",
            ":leaf2.test 365 dave * :End of /LINKS list",
        ]
    );
    assert_eq!(
        ask(&mut dave, "LUSERS", " 255 ")[0],
        ":leaf2.test 251 dave :There are 2 users and 0 invisible on 5 servers"
    );
    dave.skip_until(" 266 ");
    dave.expect_nothing();
}

#[test]
fn remote_away_invite_kick_and_wallops() {
    let servers = chain(3, OPER);
    let mut alice = servers[0].user_on("alice");
    let mut bob = servers[1].user_on("bob");
    let mut carol = servers[2].user_on("carol");
    let mut dave = servers[2].user_on("dave");
    converge(&refs(&servers));

    // INVITE to a user two portals away: it arrives, and its server lets it into +i.
    alice.send("JOIN #inv");
    alice.skip_until(" 366 ");
    alice.send("MODE #inv +i");
    alice.expect(":alice!~alice@127.0.0.1 MODE #inv +i");
    converge(&refs(&servers));
    dave.send("JOIN #inv");
    dave.expect(":c.test 473 dave #inv :Cannot join channel (+i)");
    alice.send("INVITE carol #inv");
    alice.expect(":a.test 341 alice carol #inv");
    carol.expect(":alice!~alice@127.0.0.1 INVITE carol #inv");
    carol.send("JOIN #inv");
    let own = carol.skip_until(" 366 ");
    assert_eq!(own[0], ":carol!~carol@127.0.0.1 JOIN #inv");
    alice.expect(":carol!~carol@127.0.0.1 JOIN #inv");

    // KICK of the remote user by the local op: both see it once.
    alice.send("KICK #inv carol :out you go");
    let kick = ":alice!~alice@127.0.0.1 KICK #inv carol :out you go";
    alice.expect(kick);
    carol.expect(kick);
    let view = converge(&refs(&servers));
    assert!(view.contains("members=[@alice]"), "{view}");
    carol.send("JOIN #inv");
    carol.expect(":c.test 473 carol #inv :Cannot join channel (+i)");

    // AWAY on c.test: a PRIVMSG from a.test gets 301; the message still arrives.
    carol.send("AWAY :lunch");
    carol.expect(":c.test 306 carol :You have been marked as being away");
    servers[0].wait_for("carol away", |s| s.contains("away=\"lunch\""));
    alice.send("PRIVMSG carol :you there?");
    alice.expect(":a.test 301 alice carol :lunch");
    carol.expect(":alice!~alice@127.0.0.1 PRIVMSG carol :you there?");
    assert_eq!(
        ask(&mut alice, "WHOIS carol", " 318 "),
        [
            ":a.test 311 alice carol ~carol 127.0.0.1 * :carol real",
            ":a.test 312 alice carol c.test :Portico IRC server",
            ":a.test 301 alice carol :lunch",
            ":a.test 318 alice carol :End of /WHOIS list",
        ]
    );
    carol.send("AWAY");
    carol.expect(":c.test 305 carol :You are no longer marked as being away");
    converge(&refs(&servers));
    alice.send("PRIVMSG carol :back?");
    carol.expect(":alice!~alice@127.0.0.1 PRIVMSG carol :back?");
    alice.expect_nothing();

    // WALLOPS from an operator on a.test reaches +w users on b.test and c.test only.
    bob.send("MODE bob +w");
    bob.expect(":bob MODE bob :+w");
    carol.send("MODE carol +w");
    carol.expect(":carol MODE carol :+w");
    alice.send("OPER admin pw");
    alice.expect(":a.test 381 alice :You are now an IRC operator");
    alice.expect(":alice MODE alice :+o");
    converge(&refs(&servers));
    assert_eq!(
        ask(&mut carol, "WHOIS alice", " 318 "),
        [
            ":c.test 311 carol alice ~alice 127.0.0.1 * :alice real",
            ":c.test 319 carol alice :@#inv",
            ":c.test 312 carol alice a.test :Portico IRC server",
            ":c.test 313 carol alice :is an IRC operator",
            ":c.test 318 carol alice :End of /WHOIS list",
        ]
    );
    alice.send("WALLOPS :network maintenance");
    let wallops = ":alice!~alice@127.0.0.1 WALLOPS :network maintenance";
    bob.expect(wallops);
    carol.expect(wallops);
    for u in [&mut alice, &mut bob, &mut carol, &mut dave] {
        u.expect_nothing();
    }
    converge(&refs(&servers));
}

#[test]
fn oper_kills_a_remote_user() {
    let servers = chain(3, OPER);
    let mut alice = servers[0].user_on("alice");
    let mut bob = servers[1].user_on("bob");
    let mut carol = servers[2].user_on("carol");
    let mut dave = servers[2].user_on("dave");
    alice.send("OPER admin pw");
    alice.expect(":a.test 381 alice :You are now an IRC operator");
    alice.expect(":alice MODE alice :+o");
    alice.send("JOIN #k");
    alice.skip_until(" 366 ");
    converge(&refs(&servers));
    for u in [&mut bob, &mut carol, &mut dave] {
        u.send("JOIN #k");
        u.skip_until(" 366 ");
    }
    converge(&refs(&servers));
    for u in [&mut alice, &mut bob, &mut carol, &mut dave] {
        u.sync();
    }

    // Servers cannot be killed, this one or any other.
    for server in ["a.test", "C.TEST"] {
        alice.send(&format!("KILL {server} :no"));
        alice.expect(":a.test 483 alice :You can't kill a server!");
    }
    alice.send("KILL carol :spamming");
    carol.expect(":alice!~alice@127.0.0.1 KILL carol :spamming");
    carol.expect("ERROR :Closing Link: 127.0.0.1 (Killed (alice (spamming)))");
    carol.expect_closed();
    let quit = ":carol!~carol@127.0.0.1 QUIT :Killed (alice (spamming))";
    for u in [&mut alice, &mut bob, &mut dave] {
        u.expect(quit);
    }
    for u in [&mut alice, &mut bob, &mut dave] {
        u.expect_nothing();
    }
    let view = converge(&refs(&servers));
    assert!(!view.contains("user carol "), "{view}");
    assert!(view.contains("members=[@alice bob dave]"), "{view}");
    // The nick is free again, on any server.
    let mut again = servers[1].user_on("carol");
    again.send("JOIN #k");
    again.skip_until(" 366 ");
    for u in [&mut alice, &mut bob, &mut dave] {
        u.expect(":carol!~carol@127.0.0.1 JOIN #k");
    }
}

/// hub.test accepts leaf.test; leaf.test knows hub.test's address but dials only on CONNECT.
#[test]
fn oper_connect_and_squit() {
    let hub = start("hub.test", 1, &[peer("leaf.test", 2)], OPER);
    let leaf = start_with("leaf.test", 2, &[], &[dial("hub.test", 1, &hub)], OPER);
    let mut alice = hub.user_on("alice");
    let mut bob = leaf.user_on("bob");
    for u in [&mut alice, &mut bob] {
        u.send("OPER admin pw");
        u.skip_until(" MODE ");
    }
    // Not linked by itself (connect is off), and the hub has no address to dial.
    assert!(!leaf.snapshot().contains("server hub.test"));
    alice.send("CONNECT leaf.test");
    alice.expect(":hub.test NOTICE alice :CONNECT: portal leaf.test has no address to dial");
    bob.send("CONNECT hub.test");
    bob.expect(":leaf.test NOTICE bob :CONNECT: dialing hub.test");
    hub.wait_servers(&["leaf.test"]);
    leaf.wait_servers(&["hub.test"]);
    converge(&[&hub, &leaf]);
    bob.send("CONNECT HUB.test");
    bob.expect(":leaf.test NOTICE bob :CONNECT: hub.test is already linked");
    alice.send("CONNECT leaf.test");
    alice.expect(":hub.test NOTICE alice :CONNECT: leaf.test is already linked");
    alice.send("CONNECT nowhere.test");
    alice.expect(":hub.test 402 alice nowhere.test :No such server");

    alice.send("JOIN #s");
    alice.skip_until(" 366 ");
    converge(&[&hub, &leaf]);
    bob.send("JOIN #s");
    bob.skip_until(" 366 ");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #s");
    let mut carol = hub.user_on("carol");
    carol.send("JOIN #s");
    carol.skip_until(" 366 ");
    alice.expect(":carol!~carol@127.0.0.1 JOIN #s");
    bob.expect(":carol!~carol@127.0.0.1 JOIN #s");

    // SQUIT: each side sees the other's users quit as `<near> <far>`, once.
    alice.send("SQUIT leaf.test :maintenance");
    alice.expect(":bob!~bob@127.0.0.1 QUIT :hub.test leaf.test");
    carol.expect(":bob!~bob@127.0.0.1 QUIT :hub.test leaf.test");
    let mut seen = vec![bob.line(), bob.line()];
    seen.sort();
    assert_eq!(
        seen,
        [
            ":alice!~alice@127.0.0.1 QUIT :leaf.test hub.test",
            ":carol!~carol@127.0.0.1 QUIT :leaf.test hub.test",
        ]
    );
    for u in [&mut alice, &mut bob, &mut carol] {
        u.expect_nothing();
    }
    hub.wait_for("leaf gone", |s| !s.contains("server leaf.test"));
    leaf.wait_for("hub gone", |s| !s.contains("server hub.test"));
    assert!(!hub.snapshot().contains("user bob "));

    // CONNECT again: the network is whole again, channel and all.
    bob.send("CONNECT hub.test");
    bob.expect(":leaf.test NOTICE bob :CONNECT: dialing hub.test");
    hub.wait_servers(&["leaf.test"]);
    let view = converge(&[&hub, &leaf]);
    assert!(view.contains("members=[@alice bob carol]"), "{view}");
    // The bursts show each side the other's members once.
    let bob_join = ":bob!~bob@127.0.0.1 JOIN #s";
    assert_eq!(alice.sync(), [bob_join]);
    assert_eq!(carol.sync(), [bob_join]);
    assert_eq!(
        sorted(bob.sync()),
        [
            ":alice!~alice@127.0.0.1 JOIN #s",
            ":carol!~carol@127.0.0.1 JOIN #s",
            ":hub.test MODE #s +o alice",
        ]
    );
    bob.send("PRIVMSG #s :back");
    alice.expect(":bob!~bob@127.0.0.1 PRIVMSG #s :back");
    carol.expect(":bob!~bob@127.0.0.1 PRIVMSG #s :back");
}

#[test]
fn connect_and_squit_need_an_operator() {
    let hub = start("hub.test", 1, &[peer("leaf.test", 2)], OPER);
    let leaf = start("leaf.test", 2, &[dial("hub.test", 1, &hub)], OPER);
    hub.wait_servers(&["leaf.test"]);
    let mut alice = hub.user_on("alice");
    alice.send("SQUIT leaf.test :no");
    alice.expect(":hub.test 481 alice :Permission Denied- You're not an IRC operator");
    alice.send("CONNECT leaf.test");
    alice.expect(":hub.test 481 alice :Permission Denied- You're not an IRC operator");
    alice.send("OPER admin pw");
    alice.skip_until(" MODE ");
    alice.send("SQUIT nowhere.test :no");
    alice.expect(":hub.test 402 alice nowhere.test :No such server");
    alice.send("SQUIT hub.test :no");
    alice.expect(":hub.test 402 alice hub.test :No such server");
    alice.expect_nothing();
    converge(&[&hub, &leaf]);
}

/// An operator on a.test drops the b.test - c.test link, two hops away: b.test closes it,
/// and every server agrees on what is left.
#[test]
fn oper_squits_a_remote_link() {
    // c.test links to b.test only on CONNECT, so it does not come back by itself.
    let a = start("a.test", 1, &[peer("b.test", 2)], OPER);
    let b = start(
        "b.test",
        2,
        &[dial("a.test", 1, &a), peer("c.test", 3)],
        OPER,
    );
    let c = start_with("c.test", 3, &[], &[dial("b.test", 2, &b)], OPER);
    let mut alice = a.user_on("alice");
    let mut bob = b.user_on("bob");
    let mut carol = c.user_on("carol");
    for u in [&mut alice, &mut carol] {
        u.send("OPER admin pw");
        u.skip_until(" MODE ");
    }
    carol.send("CONNECT b.test");
    carol.expect(":c.test NOTICE carol :CONNECT: dialing b.test");
    let servers = [a, b, c];
    for s in &servers {
        s.wait_servers(&CHAIN[..3]);
    }
    alice.send("JOIN #r");
    alice.skip_until(" 366 ");
    converge(&refs(&servers));
    for u in [&mut bob, &mut carol] {
        u.send("JOIN #r");
        u.skip_until(" 366 ");
    }
    converge(&refs(&servers));
    for u in [&mut alice, &mut bob, &mut carol] {
        u.sync();
    }

    alice.send("SQUIT c.test :far away");
    let quit = ":carol!~carol@127.0.0.1 QUIT :b.test c.test";
    alice.expect(quit);
    bob.expect(quit);
    // c.test lost its link to b.test: everyone behind it quits as `c.test b.test`.
    let mut seen = vec![carol.line(), carol.line()];
    seen.sort();
    assert_eq!(
        seen,
        [
            ":alice!~alice@127.0.0.1 QUIT :c.test b.test",
            ":bob!~bob@127.0.0.1 QUIT :c.test b.test",
        ]
    );
    for u in [&mut alice, &mut bob, &mut carol] {
        u.expect_nothing();
    }
    converge(&[&servers[0], &servers[1]]);
    servers[0].wait_for("c.test gone", |s| !s.contains("server c.test"));
    servers[2].wait_for("alone", |s| {
        !s.contains("server a.test") && !s.contains("server b.test")
    });
    bob.send("PRIVMSG #r :still here");
    alice.expect(":bob!~bob@127.0.0.1 PRIVMSG #r :still here");
}

/// Two channels shared across two portals: a NICK and a QUIT still show once per user.
#[test]
fn shared_channels_show_nick_and_quit_once() {
    let servers = chain(3, "");
    let mut alice = servers[0].user_on("alice");
    let mut bob = servers[1].user_on("bob");
    let mut carol = servers[2].user_on("carol");
    for chan in ["#one", "#two"] {
        alice.send(&format!("JOIN {chan}"));
        alice.skip_until(" 366 ");
        converge(&refs(&servers));
        for u in [&mut bob, &mut carol] {
            u.send(&format!("JOIN {chan}"));
            u.skip_until(" 366 ");
            converge(&refs(&servers));
        }
    }
    for u in [&mut alice, &mut bob, &mut carol] {
        u.sync();
    }
    carol.send("NICK caroline");
    let nick = ":carol!~carol@127.0.0.1 NICK :caroline";
    for u in [&mut alice, &mut bob, &mut carol] {
        u.expect(nick);
    }
    carol.send("NOTICE alice :private notice");
    alice.expect(":caroline!~carol@127.0.0.1 NOTICE alice :private notice");
    carol.send("PRIVMSG #one,#two :in both");
    for u in [&mut alice, &mut bob] {
        u.expect(":caroline!~carol@127.0.0.1 PRIVMSG #one :in both");
        u.expect(":caroline!~carol@127.0.0.1 PRIVMSG #two :in both");
    }
    for u in [&mut alice, &mut bob, &mut carol] {
        u.expect_nothing();
    }
    carol.send("QUIT :done");
    let quit = ":caroline!~carol@127.0.0.1 QUIT :Quit: done";
    for u in [&mut alice, &mut bob] {
        u.expect(quit);
    }
    for u in [&mut alice, &mut bob] {
        u.expect_nothing();
    }
    let view = converge(&refs(&servers));
    assert!(!view.contains("caroline"), "{view}");
}

const MANAGER: &str = "[[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n";

/// a, b and c, each configured to link with the other two (a triangle; c dials both): the
/// link that would close the loop is refused, so the network settles as a tree of the
/// three, whichever two links win.
fn triangle(extra: &str) -> [TestServer; 3] {
    let a = start("a.test", 1, &[peer("b.test", 2), peer("c.test", 3)], extra);
    let b = start(
        "b.test",
        2,
        &[dial("a.test", 1, &a), peer("c.test", 3)],
        extra,
    );
    a.wait_servers(&["b.test"]);
    let c = start(
        "c.test",
        3,
        &[dial("a.test", 1, &a), dial("b.test", 2, &b)],
        extra,
    );
    // As in portals_split's simultaneous dials: under a loaded full run the racing links
    // can be refused more than once, and redials wait for the dialer's backoff.
    for s in [&a, &b, &c] {
        s.wait_servers_redialed(&CHAIN[..3]);
    }
    [a, b, c]
}

/// A registered user that sent IRCX.
fn ircx_user(s: &TestServer, nick: &str) -> TestClient {
    let mut u = s.user_on(nick);
    u.send("IRCX");
    u.sync();
    u
}

/// In a triangle, owners, IRCX modes, properties and access entries (channel and `*`) set
/// on two of the servers are the same on all three, and each member sees each change once.
#[test]
fn triangle_shares_ircx_state_once() {
    let [a, b, c] = triangle(MANAGER);
    let mut alice = ircx_user(&a, "alice");
    alice.send("OPER boss pw");
    alice.skip_until(" 381 ");
    alice.send("JOIN #t");
    alice.skip_until(" 366 ");
    let mut others = vec![
        ircx_user(&b, "bob"),
        ircx_user(&c, "carol"),
        c.user_on("dave"),
    ];
    b.wait_for("#t on b", |v| v.contains("channel #t "));
    c.wait_for("#t on c", |v| v.contains("channel #t "));
    for u in others.iter_mut() {
        u.send("JOIN #t");
        u.skip_until(" 366 ");
    }
    // Once a server holds every member, it has shown its users each JOIN.
    for s in [&a, &b, &c] {
        s.wait_for("all in #t", |v| {
            v.contains("members=[bob carol dave ~alice]")
        });
    }
    alice.sync();
    for u in others.iter_mut() {
        u.sync();
    }
    let al = "alice!~alice@127.0.0.1";
    let ircx_members = |users: &mut Vec<TestClient>, line: &str| {
        users[0].expect(line);
        users[1].expect(line);
    };
    for (change, shown) in [("MODE #t +q bob", "+q bob"), ("MODE #t +uwh", "+uwh")] {
        alice.send(change);
        alice.expect(&format!(":{al} MODE #t {shown}"));
        all_see(&mut others, &format!(":{al} MODE #t {shown}"));
    }
    alice.send("PROP #t SUBJECT :three ways");
    alice.expect(&format!(":{al} PROP #t SUBJECT :three ways"));
    ircx_members(&mut others, &format!(":{al} PROP #t SUBJECT :three ways"));
    alice.send("ACCESS #t ADD HOST *!*@host.example 0 :hosts");
    alice.skip_until(" 801 alice #t HOST ");
    alice.send("ACCESS * ADD DENY mallory 0 :no mallory");
    alice.skip_until(" 801 alice * DENY ");
    // From bob, an owner on b, too.
    let bo = "bob!~bob@127.0.0.1";
    others[0].send("PROP #t LANGUAGE :en");
    others[0].expect(&format!(":{bo} PROP #t LANGUAGE :en"));
    alice.expect(&format!(":{bo} PROP #t LANGUAGE :en"));
    others[1].expect(&format!(":{bo} PROP #t LANGUAGE :en"));
    others[0].send("ACCESS #t ADD VOICE vic 30 :voiced");
    others[0].skip_until(" 801 bob #t VOICE ");

    let view = converge(&[&a, &b, &c]);
    let chan = view
        .split("\nchannel ")
        .find(|c| c.starts_with("#t "))
        .unwrap_or_else(|| panic!("{view}"));
    for want in [
        " +hntuw ",
        "members=[carol dave ~alice ~bob]",
        " LANGUAGE=\"en\"",
        " SUBJECT=\"three ways\"",
        "access #t HOST *!*@host.example$* expires=0 ",
        " by=alice!~alice@127.0.0.1 owner=true :hosts",
        "access #t VOICE vic!*@*$* expires=",
        " by=bob!~bob@127.0.0.1 owner=true :voiced",
    ] {
        assert!(chan.contains(want), "{want:?} not in\n{chan}");
    }
    assert!(
        view.contains("\naccess * DENY mallory!*@*$* expires=0 "),
        "{view}"
    );
    // Nothing else, and nothing twice: every server has passed on all it got.
    let mut users = vec![alice];
    users.append(&mut others);
    nothing(&mut users);
    let mut mallory = b.connect();
    mallory.send("NICK mallory");
    mallory.send("USER mallory 0 * :m");
    let last = mallory.expect_closed();
    assert!(last.iter().any(|l| l.contains("no mallory")), "{last:?}");
}
