//! Faults of linked servers as processes (issue 14): a server killed with SIGKILL again and
//! again while its burst is under way, and a server stopped (SIGSTOP) past the ping timeout
//! and continued. Afterwards both servers must agree: every user on both, the channel
//! members the same, and a message crossing once.

mod common;
use common::{TempDir, TestClient};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_portico");
const PASSWORD: &str = "faultpw";
/// Users on the hub, in CHANNELS channels: a burst of some size.
const USERS: usize = 120;
const CHANNELS: usize = 12;

/// A `portico` process; killed on drop.
struct Proc {
    child: Child,
    addr: SocketAddr,
}

impl Proc {
    /// Starts the binary on `config` (written to `dir/file`) and waits for its listener.
    fn start(dir: &TempDir, file: &str, config: &str) -> Proc {
        let path = dir.0.join(file);
        std::fs::write(&path, config).unwrap();
        let mut child = Command::new(BIN)
            .arg("-c")
            .arg(&path)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start portico");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let first = lines.next().expect("a line").expect("stderr");
        let addr = first
            .strip_prefix("portico: listening on ")
            .unwrap_or_else(|| panic!("{first}"))
            .parse()
            .unwrap();
        // Keep draining stderr so the server never blocks on a full pipe; shown when a
        // test fails.
        let name = file.to_string();
        std::thread::spawn(move || {
            lines
                .map_while(Result::ok)
                .for_each(|l| eprintln!("[{name}] {l}"))
        });
        Proc { child, addr }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig}");
    }

    fn kill9(mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(name: &str, id: u16, peer: (&str, u16, Option<SocketAddr>), limits: &str) -> String {
    let (pname, pid, dial) = peer;
    let dial = dial.map_or(String::new(), |a| {
        format!("address = \"{a}\"\nconnect = true\n")
    });
    format!(
        "[server]\nname = \"{name}\"\nid = {id}\nmotd = \"hi\"\n\n[[listen]]\naddress = \"127.0.0.1:0\"\n\n\
         [limits]\nflood_burst = 100000\nmax_clients_per_ip = 0\n{limits}\n\n\
         [[portal]]\nname = \"{pname}\"\nid = {pid}\npassword = \"{PASSWORD}\"\n{dial}"
    )
}

fn user(addr: SocketAddr, nick: &str) -> TestClient {
    let mut c = TestClient::connect(addr);
    c.send(&format!("NICK {nick}"));
    c.send(&format!("USER {nick} 0 * :{nick}"));
    c.skip_until(" 376 ");
    c.nick = nick.to_string();
    c
}

/// `(users, servers)` from LUSERS' 251 line.
fn lusers(c: &mut TestClient) -> (usize, usize) {
    c.send("LUSERS");
    let lines = c.skip_until_answering_pings(" 255 ");
    let l = lines.iter().find(|l| l.contains(" 251 ")).unwrap();
    let words: Vec<&str> = l.split(' ').collect();
    let n = |after: &str| -> usize {
        let i = words.iter().position(|w| *w == after).unwrap();
        words[i + 1].parse().unwrap()
    };
    // "There are U users and I invisible on S servers"
    (n("are"), n("on"))
}

/// The sorted members of `chan` as `c` sees them.
fn names(c: &mut TestClient, chan: &str) -> Vec<String> {
    c.send(&format!("NAMES {chan}"));
    let lines = c.skip_until_answering_pings(" 366 ");
    let mut names: Vec<String> = lines
        .iter()
        .filter(|l| l.contains(" 353 "))
        .flat_map(|l| l.rsplit_once(" :").unwrap().1.split(' '))
        .map(|n| n.trim_start_matches(['@', '+', '~']).to_string())
        .collect();
    names.sort();
    names
}

/// Waits until `c`'s server counts `users` users on `servers` servers.
fn wait_for(c: &mut TestClient, users: usize, servers: usize) {
    wait_for_all(&mut [c], users, servers);
}

/// Waits until every client's server counts `users` users on `servers` servers; each is
/// asked in turn, so all of them keep answering their PINGs meanwhile.
fn wait_for_all(clients: &mut [&mut TestClient], users: usize, servers: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got: Vec<(usize, usize)> = clients.iter_mut().map(|c| lusers(c)).collect();
        if got.iter().all(|g| *g == (users, servers)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{got:?}, want {:?}",
            (users, servers)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The hub with `users` users in CHANNELS channels, and a watcher in all of them.
fn hub_with_crowd(
    dir: &TempDir,
    limits: &str,
    users: usize,
) -> (Proc, Vec<TestClient>, TestClient) {
    let hub = Proc::start(
        dir,
        "hub.toml",
        &config("hub.test", 1, ("leaf.test", 2, None), limits),
    );
    let mut crowd = Vec::new();
    for i in 0..users {
        let mut c = user(hub.addr, &format!("u{i}"));
        c.send(&format!("JOIN #c{}", i % CHANNELS));
        crowd.push(c);
    }
    let mut watcher = user(hub.addr, "watcher");
    let all: Vec<String> = (0..CHANNELS).map(|i| format!("#c{i}")).collect();
    watcher.send(&format!("JOIN {}", all.join(",")));
    wait_for(&mut watcher, users + 1, 1);
    (hub, crowd, watcher)
}

/// Both views agree: all `users` (and the two watchers) on both servers, #c0's members
/// the same, and a message from the leaf to #c0 reaches the hub's watcher once.
fn assert_agree(hub_watcher: &mut TestClient, leaf_addr: SocketAddr, users: usize) {
    let mut on_leaf = user(leaf_addr, "leafy");
    on_leaf.send("JOIN #c0");
    wait_for_all(&mut [&mut *hub_watcher, &mut on_leaf], users + 2, 2);
    assert_eq!(names(hub_watcher, "#c0"), names(&mut on_leaf, "#c0"));
    on_leaf.send("PRIVMSG #c0 :after the storm");
    let mut seen = hub_watcher.skip_until_answering_pings("after the storm");
    seen.extend(hub_watcher.sync());
    let copies = seen
        .iter()
        .filter(|l| l.contains("after the storm"))
        .count();
    assert_eq!(copies, 1, "{seen:#?}");
}

#[test]
fn a_server_killed_again_and_again_during_its_burst_links_cleanly_at_last() {
    let dir = TempDir::new();
    let (hub, _crowd, mut watcher) = hub_with_crowd(&dir, "", USERS);
    let leaf_config = config("leaf.test", 2, ("hub.test", 1, Some(hub.addr)), "");
    // Each leaf dials at once; killed a few milliseconds in, it dies mid-handshake or
    // mid-burst (the hub sends 120 users in 12 channels).
    for round in 0..6u64 {
        let leaf = Proc::start(&dir, "leaf.toml", &leaf_config);
        std::thread::sleep(Duration::from_millis(5 + round * 7));
        leaf.kill9();
    }
    // The hub noticed every death and still serves its users.
    wait_for(&mut watcher, USERS + 1, 1);
    let leaf = Proc::start(&dir, "leaf.toml", &leaf_config);
    assert_agree(&mut watcher, leaf.addr, USERS);
}

#[test]
fn a_server_stopped_past_the_ping_timeout_is_split_then_relinks_when_continued() {
    let dir = TempDir::new();
    // Fast pings; every client here answers them (a crowd that did not would time out).
    let fast = "ping_interval_s = 1\nping_timeout_s = 1";
    let (hub, _crowd, mut watcher) = hub_with_crowd(&dir, fast, 0);
    let leaf_config = config("leaf.test", 2, ("hub.test", 1, Some(hub.addr)), fast);
    let leaf = Proc::start(&dir, "leaf.toml", &leaf_config);
    let mut on_leaf = user(leaf.addr, "sleeper");
    on_leaf.send("JOIN #c0");
    watcher.skip_until_answering_pings(":sleeper!~sleeper@127.0.0.1 JOIN #c0");
    leaf.signal("STOP");
    // The hub splits it off: its user quits, the hub is alone again.
    let seen = watcher.skip_until_answering_pings(":sleeper!~sleeper@127.0.0.1 QUIT ");
    assert_eq!(
        seen.last().unwrap(),
        ":sleeper!~sleeper@127.0.0.1 QUIT :hub.test leaf.test"
    );
    wait_for(&mut watcher, 1, 1);
    leaf.signal("CONT");
    // The leaf finds its link dead, dials again, and the two merge.
    drop(on_leaf);
    assert_agree(&mut watcher, leaf.addr, 0);
}
