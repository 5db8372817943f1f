//! Resource limits: send queues, flood control, connection limits, timeouts, half-open
//! sockets and many clients at once.

mod common;
use common::*;
use std::net::Shutdown;
use std::time::{Duration, Instant};

/// Registers several clients at once (their registrations overlap, which matters when flood
/// control makes each one slow).
fn users(s: &TestServer, nicks: &[&str]) -> Vec<TestClient> {
    let mut cs: Vec<TestClient> = nicks.iter().map(|_| s.connect()).collect();
    for (c, nick) in cs.iter_mut().zip(nicks) {
        c.send(&format!("NICK {nick}"));
        c.send(&format!("USER {nick} 0 * :{nick} real"));
    }
    for (c, nick) in cs.iter_mut().zip(nicks) {
        c.expect_prefix(&format!(":irc.test 001 {nick} "));
        c.skip_until(" 376 ");
        c.nick = nick.to_string();
    }
    cs
}

fn join(c: &mut TestClient, chan: &str) {
    c.send(&format!("JOIN {chan}"));
    c.skip_until(" 366 ");
}

#[test]
fn slow_reader_is_dropped_and_a_fast_reader_gets_everything() {
    let s = TestServer::start(
        "[limits]\nsendq_bytes = 65536\nflood_burst = 100000\nflood_interval_ms = 1\n",
    );
    let mut slow = TestClient::connect_small_rcvbuf(s.addr());
    slow.register("slow");
    join(&mut slow, "#f");
    let mut reader = s.user("reader");
    join(&mut reader, "#f");
    let mut flooder = s.user("flooder");
    join(&mut flooder, "#f");
    reader.expect(":flooder!~flooder@127.0.0.1 JOIN #f");
    // From here on `slow` reads nothing. The flooder writes in batches and the reader reads
    // each batch whole before the next is written, so the reader's queue stays far below the
    // limit however the scheduler runs, while the slow reader's queue only grows.
    const BATCH: usize = 80;
    // The kernel's socket buffers take megabytes before the send queue grows at all.
    const MAX_BATCHES: usize = 1500;
    let pad = "p".repeat(400);
    let quit = ":slow!~slow@127.0.0.1 QUIT :SendQ exceeded";
    let mut seq = 0;
    let mut quit_at = None;
    for batch in 0..MAX_BATCHES {
        let mut data = String::new();
        for i in 0..BATCH {
            data.push_str(&format!("PRIVMSG #f :{:06} {pad}\r\n", seq + i));
        }
        flooder.send_raw(data.as_bytes());
        let mut got = 0;
        while got < BATCH {
            let l = reader.line();
            if l == quit {
                assert!(quit_at.is_none(), "two QUITs for slow");
                quit_at = Some(batch);
                continue;
            }
            assert_eq!(
                l,
                format!(":flooder!~flooder@127.0.0.1 PRIVMSG #f :{seq:06} {pad}"),
                "message out of order or lost"
            );
            seq += 1;
            got += 1;
        }
        if quit_at.is_some_and(|q| batch >= q + 2) {
            break;
        }
    }
    let quit_at = quit_at.unwrap_or_else(|| panic!("slow was never dropped after {seq} messages"));
    assert_eq!(
        seq,
        (quit_at + 3) * BATCH,
        "every message reached the reader exactly once"
    );
    reader.expect_nothing();
    flooder.expect(quit);
    flooder.expect_nothing();
    // The slow client, reading at last, finds the ERROR as a whole last line.
    let lines = slow.expect_closed();
    let last = lines.last().expect("slow received something");
    assert_eq!(
        last,
        "ERROR :Closing Link: 127.0.0.1 (SendQ exceeded)",
        "the line before: {:?}",
        lines.iter().rev().nth(1)
    );
    // The channel goes on without it.
    reader.send("NAMES #f");
    let names = reader.expect_prefix(":irc.test 353 reader = #f :");
    assert!(!names.contains("slow"), "{names}");
}

#[test]
fn flood_control_delays_but_answers_everything_in_order() {
    let s = TestServer::start("[limits]\nflood_burst = 5\nflood_interval_ms = 50\n");
    let mut c = s.user("alice");
    let start = Instant::now();
    let pings: String = (0..30).map(|i| format!("PING :{i}\r\n")).collect();
    c.send_raw(pings.as_bytes());
    for i in 0..30 {
        c.expect(&format!(":irc.test PONG irc.test :{i}"));
    }
    let elapsed = start.elapsed();
    // 30 lines with 5 free: at least 25 × 50 ms of penalty. Without flood control they would
    // all be answered at once.
    assert!(
        elapsed >= Duration::from_secs(1),
        "30 lines answered in {elapsed:?}: no penalty"
    );
    c.expect_nothing();
}

#[test]
fn operators_are_exempt_from_flood_control() {
    let s = TestServer::start("[limits]\nflood_burst = 5\nflood_interval_ms = 200\n\n[[oper]]\nname = \"root\"\npassword = \"pw\"\n");
    let mut c = s.user("alice");
    c.send("OPER root pw");
    c.expect(":irc.test 381 alice :You are now an IRC operator");
    c.skip_until(" MODE alice ");
    let start = Instant::now();
    let pings: String = (0..30).map(|i| format!("PING :{i}\r\n")).collect();
    c.send_raw(pings.as_bytes());
    for i in 0..30 {
        c.expect(&format!(":irc.test PONG irc.test :{i}"));
    }
    // A user would need 25 × 200 ms = 5 s here.
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_secs(3),
        "operator throttled: {elapsed:?}"
    );
}

#[test]
fn excess_flood_closes_the_flooder_only() {
    let s = TestServer::start("[limits]\nflood_burst = 1\nflood_interval_ms = 1000\n");
    let mut cs = users(&s, &["flooder", "bob", "carol"]);
    let (mut flooder, mut bob) = {
        let mut it = cs.drain(..2);
        (it.next().unwrap(), it.next().unwrap())
    };
    let mut carol = cs.pop().unwrap();
    bob.send("JOIN #x");
    bob.skip_until(" 366 ");
    flooder.send("JOIN #x");
    flooder.skip_until(" 366 ");
    bob.expect(":flooder!~flooder@127.0.0.1 JOIN #x");
    // 200 KiB at once: far more than the penalty queue holds.
    let line = format!("PRIVMSG #x :{}\r\n", "f".repeat(400));
    let flood = line.repeat(200 * 1024 / line.len() + 1);
    flooder.send_raw(flood.as_bytes());
    let lines = flooder.expect_closed();
    assert_eq!(lines, ["ERROR :Closing Link: 127.0.0.1 (Excess Flood)"]);
    // bob may have seen the first line or two (the burst), then the QUIT.
    let seen = bob.skip_until(":flooder!~flooder@127.0.0.1 QUIT :Excess Flood");
    assert!(
        seen.len() <= 3,
        "too many lines got through: {}",
        seen.len()
    );
    bob.send("PRIVMSG carol :unaffected");
    carol.expect(":bob!~bob@127.0.0.1 PRIVMSG carol :unaffected");
}

#[test]
fn overlong_lines_count_against_flood_control() {
    // Room for registration and a line or two more.
    let s = TestServer::start("[limits]\nflood_burst = 3\nflood_interval_ms = 1000\n");
    let mut c = s.user("alice");
    // Lines too long even to keep (over 8703 bytes): each is dropped by the framer, and each
    // must still cost flood budget, or a client could make the server read and answer
    // them at full speed forever.
    let line = format!("PRIVMSG #x :{}\r\n", "L".repeat(10_000));
    c.send_raw(line.repeat(5).as_bytes());
    let lines = c.expect_closed();
    let (last, before) = lines.split_last().expect("some reply");
    assert_eq!(
        last, "ERROR :Closing Link: 127.0.0.1 (Excess Flood)",
        "{lines:#?}"
    );
    assert!(!before.is_empty() && before.len() < 5, "{lines:#?}");
    assert!(
        before
            .iter()
            .all(|l| l == ":irc.test 417 alice :Input line was too long"),
        "{lines:#?}"
    );
}

#[test]
fn max_clients_refuses_the_third_connection() {
    let s = TestServer::start("[limits]\nmax_clients = 2\n");
    let mut a = s.user("a");
    let _b = s.connect();
    let mut c = s.connect();
    assert_eq!(
        c.expect_closed(),
        ["ERROR :Closing Link: 127.0.0.1 (Server is full)"]
    );
    // A refused connection holds no slot, and a departed user frees one.
    a.send("QUIT");
    a.expect_closed();
    let mut d = s.user("d");
    let mut e = s.connect();
    assert_eq!(
        e.expect_closed(),
        ["ERROR :Closing Link: 127.0.0.1 (Server is full)"]
    );
    d.expect_nothing();
}

#[test]
fn max_clients_per_ip_refuses_the_second_connection() {
    let s = TestServer::start("[limits]\nmax_clients_per_ip = 1\n");
    let mut a = s.user("a");
    let mut b = s.connect();
    assert_eq!(
        b.expect_closed(),
        ["ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)"]
    );
    a.expect_nothing();
    a.send("QUIT :bye");
    a.expect_closed();
    s.user("c");
}

#[test]
fn registration_timeout_closes_unregistered_clients_only() {
    let s = TestServer::start("[limits]\nregistration_timeout_s = 1\n");
    let mut alice = s.user("alice");
    let mut u = s.connect();
    u.send("NICK halfway");
    assert_eq!(
        u.expect_closed(),
        ["ERROR :Closing Link: 127.0.0.1 (Registration timeout)"]
    );
    // alice connected before u and is still here.
    alice.expect_nothing();
}

#[test]
fn unanswered_ping_times_out() {
    let s = TestServer::start("[limits]\nping_interval_s = 1\nping_timeout_s = 1\n");
    let mut mute = s.user("mute");
    join(&mut mute, "#p");
    let mut peer = s.user("peer");
    join(&mut peer, "#p");
    // peer answers every PING while it waits; mute never does.
    peer.skip_until_answering_pings(":mute!~mute@127.0.0.1 QUIT :Ping timeout: 2 seconds");
    mute.expect(":peer!~peer@127.0.0.1 JOIN #p");
    mute.expect("PING :irc.test");
    assert_eq!(
        mute.expect_closed(),
        ["ERROR :Closing Link: 127.0.0.1 (Ping timeout: 2 seconds)"]
    );
    // peer, which answered, is still connected.
    peer.send("PING :alive");
    peer.skip_until_answering_pings(":irc.test PONG irc.test :alive");
}

#[test]
fn half_open_registered_client_is_cleaned_up() {
    let s = TestServer::start("");
    let mut x = s.user("x");
    join(&mut x, "#h");
    let mut peer = s.user("peer");
    join(&mut peer, "#h");
    x.send_raw(b"PRIVMSG #h :half a li");
    x.stream().shutdown(Shutdown::Write).unwrap();
    // The unfinished line is not delivered; the QUIT is.
    peer.expect(":x!~x@127.0.0.1 QUIT :Connection closed");
    x.skip_until(":peer!~peer@127.0.0.1 JOIN #h");
    assert!(x.expect_closed().is_empty());
    peer.send("WHOIS x");
    peer.expect(":irc.test 401 peer x :No such nick/channel");
}

#[test]
fn half_open_unregistered_client_is_cleaned_up() {
    let s = TestServer::start("[limits]\nmax_clients_per_ip = 1\n");
    let mut c = s.connect();
    c.send_raw(b"NICK y\r\nUSER y 0 * :y hal");
    c.stream().shutdown(Shutdown::Write).unwrap();
    assert!(c.expect_closed().is_empty());
    // Its slot is free again.
    s.user("z");
}

#[test]
fn two_hundred_clients_register() {
    const N: usize = 200;
    let s = TestServer::start("[limits]\nmax_clients_per_ip = 500\n");
    let mut cs: Vec<TestClient> = (0..N).map(|_| s.connect()).collect();
    for (i, c) in cs.iter_mut().enumerate() {
        c.send(&format!("NICK c{i}\r\nUSER c{i} 0 * :client {i}"));
    }
    for (i, c) in cs.iter_mut().enumerate() {
        c.expect_prefix(&format!(":irc.test 001 c{i} "));
        c.skip_until(" 376 ");
        c.nick = format!("c{i}");
    }
    let last = cs.last_mut().unwrap();
    last.send("LUSERS");
    let lines = last.skip_until(" 266 ");
    assert!(
        lines.contains(&format!(
            ":irc.test 265 c{0} {N} {N} :Current local users {N}, max {N}",
            N - 1
        )),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&format!(
            ":irc.test 253 c{} 0 :unknown connection(s)",
            N - 1
        )),
        "{lines:#?}"
    );
}

/// The bytes a client that stopped reading receives after all, when it reads at last.
fn stuck_reader_backlog(sndbuf: usize) -> usize {
    let s = TestServer::start(&format!(
        "[limits]\nsendq_bytes = 65536\nso_sndbuf = {sndbuf}\nflood_burst = 100000\nflood_interval_ms = 1\n"
    ));
    let mut slow = TestClient::connect_small_rcvbuf(s.addr());
    slow.register("slow");
    join(&mut slow, "#f");
    let mut flooder = s.user("flooder");
    join(&mut flooder, "#f");
    slow.expect(":flooder!~flooder@127.0.0.1 JOIN #f");
    let line = format!("PRIVMSG #f :{}\r\n", "p".repeat(400)).repeat(80);
    let quit = ":slow!~slow@127.0.0.1 QUIT :SendQ exceeded";
    // Up to 40 MB; each batch ends with a PING, so the flooder's queue stays small.
    for _ in 0..1000 {
        flooder.send_raw(line.as_bytes());
        if flooder.sync().iter().any(|l| l == quit) {
            return slow.expect_closed().iter().map(|l| l.len() + 2).sum();
        }
    }
    panic!("slow was never dropped");
}

#[test]
fn a_stuck_reader_holds_its_send_queue_not_megabytes_of_kernel_buffer() {
    // SO_SNDBUF 8 KiB (16 KiB as Linux counts it) and a 4 KiB receive buffer: what the kernel
    // held when the 64 KiB send queue overflowed is a few tens of kilobytes.
    let got = stuck_reader_backlog(8192);
    assert!(got < 96 * 1024, "{got} bytes were buffered in the kernel");
}

#[test]
fn connects_per_ip_per_min_refuses_a_reconnect_loop() {
    let s = TestServer::start("[limits]\nconnects_per_ip_per_min = 3\n");
    // Closed connections count too: it is the rate of new ones that is limited.
    for _ in 0..3 {
        let mut c = s.connect();
        c.send("PING :x");
        c.skip_until(" :x");
    }
    let mut c = s.connect();
    assert_eq!(
        c.expect_closed(),
        ["ERROR :Closing Link: 127.0.0.1 (Too many new connections from your IP address; wait a minute)"]
    );
}
