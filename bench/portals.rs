//! Portal benchmarks (run with `cargo bench --bench portals`):
//!
//! * burst: a server holding USERS users in CHANNELS channels (fed to it over a portal by
//!   this program acting as a peer server) bursts its state to a new peer; the figure is
//!   the time from our SERVER line to its end of burst (EOB), and the lines and bytes sent.
//!   Run twice: plain, and with IRCX state over `IRCX` links (an owner, three properties
//!   and three access entries per channel, and network `*` entries).
//! * chain: five servers linked in a chain a-b-c-d-e; a client on a sends PRIVMSGs to a
//!   channel, a client on e receives them; the figure is the one-way delay (p50, p99).
//!
//! Servers run in this process (each on its own thread, as in the integration tests); the
//! clock is shared, so one-way delays are exact.

use portico::config::Config;
use portico::net::{spawn, Options, Running};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn config(name: &str, id: u16, portals: &[(&str, u16, Option<SocketAddr>)]) -> Config {
    let mut t = format!(
        "[server]\nname = \"{name}\"\nid = {id}\n[[listen]]\naddress = \"127.0.0.1:0\"\n\
         [limits]\nflood_burst = 1000000\nmax_clients_per_ip = 0\nsendq_bytes = 67108864\n"
    );
    for (n, i, addr) in portals {
        t.push_str(&format!(
            "[[portal]]\nname = \"{n}\"\nid = {i}\npassword = \"pw\"\nsendq_bytes = 268435456\n"
        ));
        if let Some(a) = addr {
            t.push_str(&format!("address = \"{a}\"\nconnect = true\n"));
        }
    }
    Config::parse(&t, name).expect("bench config")
}

fn server(name: &str, id: u16, portals: &[(&str, u16, Option<SocketAddr>)]) -> Running {
    spawn(Options::new(config(name, id, portals))).expect("server starts")
}

struct Peer {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Peer {
    fn connect(addr: SocketAddr) -> Peer {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.set_nodelay(true).unwrap();
        Peer {
            writer: s.try_clone().unwrap(),
            reader: BufReader::with_capacity(1 << 16, s),
        }
    }
    fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).expect("write");
    }
    fn line(&mut self, buf: &mut String) -> usize {
        buf.clear();
        self.reader.read_line(buf).expect("read")
    }
    fn until(&mut self, needle: &str) -> (usize, usize) {
        let (mut lines, mut bytes) = (0, 0);
        let mut buf = String::new();
        loop {
            let n = self.line(&mut buf);
            assert!(n > 0, "connection closed while waiting for {needle}");
            lines += 1;
            bytes += n;
            if buf.contains(needle) {
                return (lines, bytes);
            }
        }
    }
    fn handshake(&mut self, name: &str, id: u16, ircx: bool) {
        let caps = if ircx { " IRCX" } else { "" };
        self.send(&format!("PASS pw 0210-PORTICO bench|0\r\nCAPAB 1 2 :EOB AWAY TB BMASK SETNAME{caps}\r\nSERVER {name} 1 {id} :bench peer\r\n"));
    }
}

/// Network (`*`) access entries in the IRCX burst.
const NETWORK_ENTRIES: usize = 100;

/// A channel's IRCX state in burst lines: three properties and three access entries.
fn ircx_state(text: &mut String, c: usize) {
    for (prop, value) in [
        ("SUBJECT", format!("subject of channel {c}")),
        ("LANGUAGE", "en".to_string()),
        ("ONJOIN", format!("welcome to #chan{c}")),
    ] {
        text.push_str(&format!(
            ":feed.bench BPROP 1000 #chan{c} {prop} 1000000 :{value}\r\n"
        ));
    }
    for (level, mask) in [("HOST", "host"), ("VOICE", "voice"), ("DENY", "deny")] {
        text.push_str(&format!(
            ":feed.bench BACCESS 1000 #chan{c} {level} {mask}{c}!*@*$* 0 1000 1 u0!user0@host0.example :{level} entry\r\n"
        ));
    }
}

fn burst(users: usize, channels: usize, ircx: bool) {
    let hub = server(
        "hub.bench",
        1,
        &[("feed.bench", 2, None), ("probe.bench", 3, None)],
    );
    // Feed the hub its users and channels over a portal.
    let mut feed = Peer::connect(hub.addr());
    feed.handshake("feed.bench", 2, ircx);
    feed.until(":hub.bench EOB");
    let mut text = String::with_capacity(users * 80);
    for u in 0..users {
        text.push_str(&format!(
            ":feed.bench NICK u{u} 1 {} user{u} host{u}.example 2 +i :User {u}\r\n",
            1_000_000 + u
        ));
    }
    let per = users / channels;
    for c in 0..channels {
        let members: Vec<String> = (0..per)
            .map(|i| {
                let status = match i {
                    0 if ircx => "~@",
                    0 => "@",
                    _ => "",
                };
                format!("{status}u{}", c * per + i)
            })
            .collect();
        text.push_str(&format!(
            ":feed.bench SJOIN 1000 #chan{c} +nt :{}\r\n",
            members.join(" ")
        ));
        text.push_str(&format!(
            ":feed.bench TB #chan{c} 1000 u{} :topic of channel {c}\r\n",
            c * per
        ));
        if ircx {
            ircx_state(&mut text, c);
        }
    }
    for i in (0..NETWORK_ENTRIES).filter(|_| ircx) {
        text.push_str(&format!(
            ":feed.bench BACCESS * * DENY spam{i}!*@*$* 0 1000 1 boss!boss@oper.example :network entry\r\n"
        ));
    }
    text.push_str(":feed.bench EOB\r\nPING :fed\r\n");
    feed.send(&text);
    feed.until("fed");
    // Now a new peer links and receives everything.
    let mut probe = Peer::connect(hub.addr());
    let start = Instant::now();
    probe.handshake("probe.bench", 3, ircx);
    let (lines, bytes) = probe.until(":hub.bench EOB");
    let elapsed = start.elapsed();
    let with = if ircx { " with IRCX state" } else { "" };
    println!(
        "burst: {users} users in {channels} channels{with}: {:.1} ms from SERVER to EOB, {lines} lines, {:.1} MB",
        elapsed.as_secs_f64() * 1e3,
        bytes as f64 / 1e6
    );
    drop(hub);
}

fn chain(messages: usize) {
    let names = ["a.bench", "b.bench", "c.bench", "d.bench", "e.bench"];
    let mut servers: Vec<Running> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut portals = Vec::new();
        if i > 0 {
            portals.push((names[i - 1], i as u16, Some(servers[i - 1].addr())));
        }
        if i + 1 < names.len() {
            portals.push((names[i + 1], i as u16 + 2, None));
        }
        servers.push(server(name, i as u16 + 1, &portals));
    }
    // Wait for the chain to be whole: the last server sees the first.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !servers[4]
        .handle
        .snapshot()
        .unwrap_or_default()
        .contains("server a.bench")
    {
        assert!(Instant::now() < deadline, "chain did not link");
        std::thread::sleep(Duration::from_millis(20));
    }
    let register = |addr, nick: &str| {
        let mut p = Peer::connect(addr);
        p.send(&format!(
            "NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\nJOIN #lat\r\n"
        ));
        p.until(" 366 ");
        p
    };
    let mut rx = register(servers[4].addr(), "rx");
    let mut tx = register(servers[0].addr(), "tx");
    // Timing starts once tx's JOIN has crossed the chain (rx sees it) and rx's has too
    // (tx sees rx's message).
    rx.until("JOIN #lat");
    rx.send("PRIVMSG #lat :ready\r\n");
    tx.until("ready");
    let start = Instant::now();
    let mut delays = Vec::with_capacity(messages);
    let mut buf = String::new();
    for i in 0..messages {
        let sent = start.elapsed().as_nanos();
        tx.send(&format!("PRIVMSG #lat :{i} {sent}\r\n"));
        loop {
            rx.line(&mut buf);
            if let Some(rest) = buf.split(" :").nth(1) {
                let mut it = rest.split_whitespace();
                if it.next() == Some(&i.to_string()) {
                    let sent: u128 = it.next().and_then(|s| s.parse().ok()).unwrap_or(sent);
                    delays.push(start.elapsed().as_nanos() - sent);
                    break;
                }
            }
        }
    }
    delays.sort_unstable();
    let pct =
        |p: f64| delays[((delays.len() as f64 * p) as usize).min(delays.len() - 1)] as f64 / 1e3;
    println!(
        "chain of 5: {messages} messages a -> e, one at a time: p50 {:.0} us, p99 {:.0} us, max {:.0} us",
        pct(0.5),
        pct(0.99),
        *delays.last().unwrap() as f64 / 1e3
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    if quick {
        burst(1000, 100, false);
        burst(1000, 100, true);
        chain(200);
    } else {
        burst(10_000, 1_000, false);
        burst(10_000, 1_000, true);
        chain(5_000);
    }
}
