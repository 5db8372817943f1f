//! `[metrics]`: a real server with the scrape listener on 127.0.0.1:0, scraped over TCP
//! after known actions, with exact figures asserted.
mod common;
use common::{TestServer, EASY};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const METRICS: &str = "[metrics]\naddress = \"127.0.0.1:0\"\n";

fn metrics_addr(s: &TestServer) -> SocketAddr {
    s.running.metrics_addr.expect("metrics are on")
}

/// Sends `request` and reads the whole answer, up to the server closing the connection.
fn http(addr: SocketAddr, request: &str) -> String {
    let mut sock = TcpStream::connect(addr).expect("connect to metrics");
    sock.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    sock.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    sock.read_to_string(&mut answer)
        .expect("the answer, then the server closes");
    answer
}

fn get(addr: SocketAddr, path: &str) -> String {
    http(addr, &format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n"))
}

/// The scrape's body, after checking the status line and headers.
fn scrape(addr: SocketAddr) -> String {
    let answer = get(addr, "/metrics");
    let (head, body) = answer.split_once("\r\n\r\n").expect("headers, then a body");
    assert_eq!(
        head,
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close",
            body.len()
        )
    );
    body.to_string()
}

/// The value of the sample named exactly `sample` (with its labels).
fn value(body: &str, sample: &str) -> u64 {
    body.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {sample} in\n{body}"))
        .parse()
        .unwrap_or_else(|_| panic!("{sample} is not a whole number in\n{body}"))
}

/// What a client sent, in bytes on the wire.
fn wire_len(lines: &[&str]) -> u64 {
    lines.iter().map(|l| l.len() as u64 + 2).sum()
}

#[test]
fn a_scrape_counts_clients_channels_lines_bytes_and_refusals() {
    let s = TestServer::start(&format!("{EASY}max_clients_per_ip = 2\n{METRICS}"));
    let addr = metrics_addr(&s);
    let before = scrape(addr);
    assert_eq!(value(&before, "portico_local_clients"), 0);
    assert_eq!(value(&before, "portico_bytes_in_total"), 0);

    let mut alice = s.user("alice");
    let mut bob = s.user("bob");
    alice.send("JOIN #metrics");
    alice.skip_until(" 366 ");
    // A third connection from 127.0.0.1: over the per-IP limit of 2.
    let mut third = s.connect();
    let refused = third.expect_closed();
    assert_eq!(
        refused,
        ["ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)"]
    );

    let body = scrape(addr);
    assert_eq!(value(&body, "portico_local_clients"), 2);
    assert_eq!(value(&body, "portico_network_clients"), 2);
    assert_eq!(value(&body, "portico_unregistered_connections"), 0);
    assert_eq!(value(&body, "portico_channels"), 1);
    assert_eq!(value(&body, "portico_servers"), 1);
    assert_eq!(value(&body, "portico_connections_accepted_total"), 2);
    assert_eq!(value(&body, "portico_refused_total{reason=\"per_ip\"}"), 1);
    assert_eq!(
        value(&body, "portico_refused_total{reason=\"max_clients\"}"),
        0
    );
    assert_eq!(value(&body, "portico_refused_total{reason=\"ban\"}"), 0);
    // NICK and USER from each, and the JOIN.
    assert_eq!(value(&body, "portico_lines_in_total"), 5);
    let sent = wire_len(&[
        "NICK alice",
        "USER alice 0 * :alice real",
        "NICK bob",
        "USER bob 0 * :bob real",
        "JOIN #metrics",
    ]);
    assert_eq!(value(&body, "portico_bytes_in_total"), sent);
    // Two welcome bursts and a JOIN burst: dozens of lines, all written by now.
    assert!(value(&body, "portico_lines_out_total") > 20, "{body}");
    assert!(value(&body, "portico_bytes_out_total") > 1000, "{body}");
    assert_eq!(value(&body, "portico_sendq_bytes"), 0);
    assert!(body.contains(
        "# HELP portico_refused_total Connections and link attempts refused since start, by reason.\n# TYPE portico_refused_total counter\n"
    ));
    bob.send("QUIT");
    bob.expect_closed();
    alice.sync();
    let after = scrape(addr);
    assert_eq!(value(&after, "portico_local_clients"), 1);
    assert_eq!(value(&after, "portico_lines_in_total"), 7, "QUIT and PING");
}

#[test]
fn only_get_metrics_is_served() {
    let s = TestServer::start(METRICS);
    let addr = metrics_addr(&s);
    let not_found = get(addr, "/");
    assert!(
        not_found.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{not_found}"
    );
    let post = http(addr, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert!(
        post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n") && post.contains("Allow: GET\r\n"),
        "{post}"
    );
    let junk = http(addr, "\u{1}\u{2} hello\r\n\r\n");
    assert!(junk.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{junk}");
    // A request that never ends its headers is cut off at 4 KiB.
    let huge = format!("GET /metrics HTTP/1.1\r\nX-Pad: {}", "a".repeat(5000));
    let mut sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let _ = sock.write_all(huge.as_bytes());
    let mut answer = Vec::new();
    let _ = sock.read_to_end(&mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // The IRC side is the same server, unaffected.
    let mut alice = s.user("alice");
    alice.expect_nothing();
}

/// Scrapers that connect and say nothing hold a slot each until their 10 s are up; past 8
/// a new one is closed at once, and IRC clients are served all along.
#[test]
fn silent_scrapers_are_capped_and_cannot_stall_the_loop() {
    let s = TestServer::start(METRICS);
    let addr = metrics_addr(&s);
    let silent: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut alice = s.user("alice");
    alice.expect_nothing();
    // The ninth: closed unanswered (EOF), not queued behind the others.
    let mut ninth = TcpStream::connect(addr).unwrap();
    ninth.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let _ = ninth.write_all(b"GET /metrics HTTP/1.1\r\n\r\n");
    let mut got = Vec::new();
    let start = Instant::now();
    let _ = ninth.read_to_end(&mut got);
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert!(start.elapsed() < Duration::from_secs(4), "closed at once");
    alice.send("PRIVMSG alice :still here");
    alice.expect(&format!(":{} PRIVMSG alice :still here", alice.mask()));
    // After their deadline the silent ones are closed and scrapes are answered again.
    let mut first = silent.into_iter().next().unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut nothing = Vec::new();
    let _ = first.read_to_end(&mut nothing);
    assert!(nothing.is_empty());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(common::TIMEOUT)).unwrap();
        let _ = sock.write_all(b"GET /metrics HTTP/1.1\r\n\r\n");
        let mut answer = String::new();
        let _ = sock.read_to_string(&mut answer);
        if answer.starts_with("HTTP/1.1 200 OK\r\n") {
            assert!(answer.contains("\nportico_local_clients 1\n"), "{answer}");
            break;
        }
        assert!(Instant::now() < deadline, "scrapes never served again");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A crowd that is sent more than one turn of the loop writes while each member keeps
/// asking for something (a PING) lists each connection at most once for its writes. An
/// answer written at once used to be listed again by its next line while its first entry
/// still waited: the lists grew by the turn (121,000 entries for 2,000 connections under
/// load) and every turn copied them.
#[test]
fn write_lists_hold_each_connection_at_most_once() {
    const MEMBERS: usize = 320;
    let s = TestServer::start(&format!(
        "[limits]\nflood_burst = 1000000\nflood_interval_ms = 1\nmax_clients_per_ip = 0\nsendq_bytes = 67108864\n{METRICS}"
    ));
    let metrics = metrics_addr(&s);
    let mut crowd: Vec<TcpStream> = (0..=MEMBERS)
        .map(|i| {
            let mut c = TcpStream::connect(s.addr()).unwrap();
            write!(c, "NICK m{i}\r\nUSER m 0 * :m\r\nJOIN #big\r\n").unwrap();
            c.set_nonblocking(true).unwrap();
            c
        })
        .collect();
    let mut sender = crowd.pop().unwrap();
    let stop = Instant::now() + Duration::from_millis(1500);
    let mut buf = vec![0; 65536];
    let (mut most, mut scrapes) = (0, 0);
    let mut next_scrape = Instant::now() + Duration::from_millis(300);
    while Instant::now() < stop {
        // A burst for everyone, then every member asks for a PONG and reads.
        let burst = "PRIVMSG #big :x\r\n".repeat(20);
        let _ = sender.write_all(burst.as_bytes());
        let _ = sender.read(&mut buf);
        for c in &mut crowd {
            let _ = c.write_all(b"PING x\r\n");
            while matches!(c.read(&mut buf), Ok(n) if n > 0) {}
        }
        if Instant::now() >= next_scrape {
            most = most.max(value(&scrape(metrics), "portico_write_waiting_connections"));
            scrapes += 1;
            next_scrape += Duration::from_millis(100);
        }
    }
    assert!(scrapes >= 5, "{scrapes} scrapes");
    assert!(
        most <= MEMBERS as u64 + 1,
        "{most} write entries for {} connections",
        MEMBERS + 1
    );
}
