//! Several servers linked by portals, in one test process.
#![allow(dead_code)]

use super::{TestClient, TestServer, TIMEOUT};
use portico::config::Config;
use portico::net::Options;
use std::net::SocketAddr;
use std::time::Instant;

pub const PASSWORD: &str = "linkpw";

/// A portal line in a test config: the peer's name and id, and its address if we dial.
pub struct Peer<'a> {
    pub name: &'a str,
    pub id: u16,
    pub dial: Option<SocketAddr>,
}

pub fn config(name: &str, id: u16, peers: &[Peer<'_>], extra: &str) -> Config {
    config_with(name, id, peers, &[], extra)
}

/// Like [`config`], plus `known` portals: their `dial` address is configured without
/// `connect = true`, so they link only when an operator says `CONNECT <name>`.
pub fn config_with(
    name: &str,
    id: u16,
    peers: &[Peer<'_>],
    known: &[Peer<'_>],
    extra: &str,
) -> Config {
    let mut toml = format!(
        "[server]\nname = \"{name}\"\nid = {id}\nnetwork = \"TestNet\"\nmotd = \"Hello from {name}\"\n\n\
         [[listen]]\naddress = \"127.0.0.1:0\"\n\n[limits]\nflood_burst = 100000\nmax_clients_per_ip = 0\n{extra}\n"
    );
    for p in peers {
        toml.push_str(&format!(
            "\n[[portal]]\nname = \"{}\"\nid = {}\npassword = \"{PASSWORD}\"\n",
            p.name, p.id
        ));
        if let Some(addr) = p.dial {
            toml.push_str(&format!("address = \"{addr}\"\nconnect = true\n"));
        }
    }
    for p in known {
        toml.push_str(&format!(
            "\n[[portal]]\nname = \"{}\"\nid = {}\npassword = \"{PASSWORD}\"\n",
            p.name, p.id
        ));
        if let Some(addr) = p.dial {
            toml.push_str(&format!("address = \"{addr}\"\n"));
        }
    }
    Config::parse(&toml, name).expect("test config")
}

pub fn start(name: &str, id: u16, peers: &[Peer<'_>], extra: &str) -> TestServer {
    TestServer::with_options(Options::new(config(name, id, peers, extra)))
}

/// `hub.test` (id 1) with `extra`, waiting for `leaf.test` to dial in.
pub fn hub(extra: &str) -> TestServer {
    let leaf = Peer {
        name: "leaf.test",
        id: 2,
        dial: None,
    };
    start("hub.test", 1, &[leaf], extra)
}

/// `leaf.test` (id 2) with `extra`, dialing `hub`; returns once both see the link.
pub fn leaf_of(hub: &TestServer, extra: &str) -> TestServer {
    let to_hub = Peer {
        name: "hub.test",
        id: 1,
        dial: Some(hub.addr()),
    };
    let leaf = start("leaf.test", 2, &[to_hub], extra);
    hub.wait_servers(&["leaf.test"]);
    leaf.wait_servers(&["hub.test"]);
    leaf
}

/// hub (accepts, with `hub_extra`) <- leaf (dials, base config), linked.
pub fn linked_pair(hub_extra: &str) -> (TestServer, TestServer) {
    let hub = hub(hub_extra);
    let leaf = leaf_of(&hub, "");
    (hub, leaf)
}

/// Like [`start`], with `known` portals that are dialed only on an operator's `CONNECT`.
pub fn start_with(
    name: &str,
    id: u16,
    peers: &[Peer<'_>],
    known: &[Peer<'_>],
    extra: &str,
) -> TestServer {
    TestServer::with_options(Options::new(config_with(name, id, peers, known, extra)))
}

impl TestServer {
    pub fn snapshot(&self) -> String {
        self.running.handle.snapshot().expect("server answers")
    }

    /// Waits until this server's view satisfies `pred` (bounded by the test timeout).
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_for_within(TIMEOUT * 2, what, pred)
    }

    /// Like [`TestServer::wait_for`], bounded by `limit`.
    pub fn wait_for_within(
        &self,
        limit: std::time::Duration,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let snap = self.snapshot();
            if pred(&snap) {
                return snap;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; view:\n{snap}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Waits until the named servers are all in this server's view, for as long as a
    /// dialer's longest backoff (60 s) and then some: links refused in a race are dialed
    /// again only after it.
    pub fn wait_servers_redialed(&self, names: &[&str]) {
        let limit = std::time::Duration::from_secs(70);
        self.wait_for_within(limit, &format!("servers {names:?}"), |s| {
            names.iter().all(|n| s.contains(&format!("server {n} ")))
        });
    }

    /// Waits until the named servers are all in this server's view.
    pub fn wait_servers(&self, names: &[&str]) {
        self.wait_for(&format!("servers {names:?}"), |s| {
            names.iter().all(|n| s.contains(&format!("server {n} ")))
        });
    }

    /// A registered client on this server named `nick` (masks show `~nick@127.0.0.1`).
    pub fn user_on(&self, nick: &str) -> TestClient {
        let mut c = self.connect();
        c.send(&format!("NICK {nick}"));
        c.send(&format!("USER {nick} 0 * :{nick} real"));
        c.skip_until(" 376 ");
        c.nick = nick.to_string();
        c
    }
}

/// Waits until every server has the same view; returns it.
pub fn converge(servers: &[&TestServer]) -> String {
    let deadline = Instant::now() + TIMEOUT * 2;
    loop {
        let views: Vec<String> = servers.iter().map(|s| s.snapshot()).collect();
        if views.windows(2).all(|w| w[0] == w[1]) {
            return views[0].clone();
        }
        if Instant::now() >= deadline {
            for (i, v) in views.iter().enumerate() {
                eprintln!("--- server {i} ---\n{v}");
            }
            panic!("servers did not converge");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A listener standing in for a portal peer that a server under test dials (its address
/// goes in the server's `[[portal]]`); `accept` waits for the dial (bounded).
pub struct RawPeer {
    listener: std::net::TcpListener,
}

impl RawPeer {
    pub fn bind() -> RawPeer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        RawPeer { listener }
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("local addr")
    }

    /// The next connection dialed to us, as a line client named `name`.
    pub fn accept(&self, name: &str) -> TestClient {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).expect("blocking");
                    let mut c = TestClient::from_stream(stream);
                    c.nick = name.to_string();
                    return c;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "{name}: nobody dialed");
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => panic!("{name}: accept: {e}"),
            }
        }
    }
}

/// Asks `STATS p` (`c` is an operator) until `portal`'s line shows a measured lag, and
/// returns that line: the first PING goes at the server's next tick after linking.
pub fn stats_p_with_lag(c: &mut TestClient, portal: &str) -> String {
    let deadline = Instant::now() + TIMEOUT * 2;
    let head = format!(" 249 {} p :{portal} ", c.nick);
    loop {
        c.send("STATS p");
        let lines = c.skip_until(" 219 ");
        let line = lines
            .iter()
            .find(|l| l.contains(&head))
            .unwrap_or_else(|| panic!("no STATS p line for {portal}: {lines:#?}"))
            .clone();
        if !line.contains(" lag ? ") {
            return line;
        }
        assert!(Instant::now() < deadline, "no lag measured: {line}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The figure after `word ` in a STATS p line, without its `ms` (`lag 3ms` gives 3).
pub fn stats_figure(line: &str, word: &str) -> u64 {
    let after = line
        .split(&format!(" {word} "))
        .nth(1)
        .unwrap_or_else(|| panic!("no {word} in {line}"));
    let figure = after.split(' ').next().unwrap_or_default();
    figure
        .trim_end_matches("ms")
        .parse()
        .unwrap_or_else(|_| panic!("{word} is not a figure in {line}"))
}
