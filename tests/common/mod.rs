//! Integration test support: a real server on 127.0.0.1:0 in this process, and a blocking
//! line-oriented client that waits for expected lines with a timeout (never sleeps).
#![allow(dead_code)]

use portico::config::Config;
use portico::net::{spawn, Options, Running};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub mod net;
pub mod ngircd;
pub mod tls;
pub mod ws;

pub const TIMEOUT: Duration = Duration::from_secs(5);

pub const BASE: &str = "[server]\nname = \"irc.test\"\nid = 1\nnetwork = \"TestNet\"\nmotd = \"Hello from the test server\"\n\n[[listen]]\naddress = \"127.0.0.1:0\"\n";

/// Enough flood budget that a test's own commands are never delayed.
pub const EASY: &str = "[limits]\nflood_burst = 1000\n";

/// A server with the base config and [`EASY`] limits.
pub fn server() -> TestServer {
    TestServer::start(EASY)
}

/// A registered user who then asks for `caps` (CAP REQ works after registration too).
pub fn with_caps(s: &TestServer, nick: &str, caps: &str) -> TestClient {
    let mut c = s.user(nick);
    c.send(&format!("CAP REQ :{caps}"));
    c.expect(&format!(":irc.test CAP {nick} ACK :{caps}"));
    c
}

/// Joins `chans` (comma-separated) and reads each channel's burst up to its 366.
pub fn join(c: &mut TestClient, chans: &str) {
    c.send(&format!("JOIN {chans}"));
    for ch in chans.split(',') {
        c.skip_until(&format!(":irc.test 366 {} {ch} ", c.nick));
    }
}

/// A directory of its own under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("portico-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    /// Writes `name` in the directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write temp file");
        path
    }

    /// Copies the file `from` to `name` in the directory.
    pub fn copy(&self, from: &Path, name: &str) {
        std::fs::copy(from, self.0.join(name)).expect("copy into temp dir");
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct TestServer {
    pub running: Running,
}

impl TestServer {
    /// The base config plus `extra` TOML (e.g. `[limits]` or `[[oper]]` tables).
    pub fn start(extra: &str) -> TestServer {
        let cfg = Config::parse(&format!("{BASE}{extra}"), "test.toml").expect("test config");
        TestServer::with_options(Options::new(cfg))
    }

    pub fn with_options(opts: Options) -> TestServer {
        TestServer {
            running: spawn(opts).expect("server starts"),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    /// A connected, not yet registered client.
    pub fn connect(&self) -> TestClient {
        TestClient::connect(self.addr())
    }

    /// A registered client whose welcome burst has been read up to the end of the MOTD.
    pub fn user(&self, nick: &str) -> TestClient {
        let mut c = self.connect();
        c.register(nick);
        c
    }
}

pub struct TestClient {
    pub nick: String,
    reader: BufReader<Box<dyn Read + Send>>,
    writer: Box<dyn Write + Send>,
    /// The socket under the reader and writer (the same one, or under TLS).
    sock: TcpStream,
}

impl TestClient {
    pub fn connect(addr: SocketAddr) -> TestClient {
        TestClient::from_stream(TcpStream::connect(addr).expect("connect"))
    }

    /// Connects with a small receive buffer, so a client that stops reading fills the
    /// server's send queue after a few kilobytes, whatever the kernel's TCP autotuning.
    pub fn connect_small_rcvbuf(addr: SocketAddr) -> TestClient {
        let sock = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )
        .expect("socket");
        sock.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        sock.connect(&addr.into()).expect("connect");
        TestClient::from_stream(sock.into())
    }

    fn from_stream(stream: TcpStream) -> TestClient {
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        TestClient::from_io(
            stream.try_clone().unwrap(),
            Box::new(stream.try_clone().unwrap()),
            Box::new(stream),
        )
    }

    /// A client reading and writing through `reader` and `writer` (e.g. a TLS session) on
    /// `sock`, whose read timeout is already set.
    pub fn from_io(
        sock: TcpStream,
        reader: Box<dyn Read + Send>,
        writer: Box<dyn Write + Send>,
    ) -> TestClient {
        TestClient {
            nick: String::new(),
            reader: BufReader::new(reader),
            writer,
            sock,
        }
    }

    pub fn register(&mut self, nick: &str) {
        self.send(&format!("NICK {nick}"));
        self.send(&format!("USER {nick} 0 * :{nick} real"));
        self.expect_prefix(&format!(":irc.test 001 {nick} "));
        self.skip_until(" 376 ");
        self.nick = nick.to_string();
    }

    /// Registers as `nick` having asked for `caps` first (CAP REQ, then CAP END after USER),
    /// on any server name (a hub or a leaf).
    pub fn register_with_caps(&mut self, nick: &str, caps: &str) {
        self.send(&format!("CAP REQ :{caps}"));
        self.send(&format!("NICK {nick}"));
        self.send(&format!("USER {nick} 0 * :{nick} real"));
        self.send("CAP END");
        self.skip_until(" 376 ");
        self.nick = nick.to_string();
    }

    /// The client's own prefix as the server shows it.
    pub fn mask(&self) -> String {
        format!("{0}!~{0}@127.0.0.1", self.nick)
    }

    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send");
        self.writer.flush().expect("send");
    }

    /// The socket itself (for `shutdown`, `set_nodelay`, raw writes).
    pub fn stream(&self) -> &TcpStream {
        &self.sock
    }

    /// The next line as raw bytes, without CR LF (no UTF-8 conversion); panics on timeout
    /// or EOF.
    pub fn line_bytes(&mut self) -> Vec<u8> {
        let mut buf = Vec::new();
        match self.reader.read_until(b'\n', &mut buf) {
            Ok(n) if n > 0 && buf.ends_with(b"\n") => {
                buf.pop();
                if buf.ends_with(b"\r") {
                    buf.pop();
                }
                buf
            }
            other => panic!(
                "{}: no line within {TIMEOUT:?}: {other:?}, partial {buf:?}",
                self.nick
            ),
        }
    }

    /// Answers the server's `PING`s while waiting for a line containing `needle`; returns
    /// the lines before it (PINGs excluded) and it.
    pub fn skip_until_answering_pings(&mut self, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + TIMEOUT;
        let mut seen = Vec::new();
        loop {
            let l = match self.try_line() {
                Some(l) if Instant::now() < deadline => l,
                _ => panic!("{}: {needle:?} never came; saw {seen:#?}", self.nick),
            };
            if let Some(token) = l.strip_prefix("PING ") {
                self.send(&format!("PONG {token}"));
                continue;
            }
            let done = l.contains(needle);
            seen.push(l);
            if done {
                return seen;
            }
        }
    }

    /// The next line, without CR LF; panics on timeout or EOF.
    pub fn line(&mut self) -> String {
        self.try_line()
            .unwrap_or_else(|| panic!("{}: no line within {TIMEOUT:?}", self.nick))
    }

    /// The next line, or None on EOF / timeout.
    pub fn try_line(&mut self) -> Option<String> {
        let mut buf = Vec::new();
        match self.reader.read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(_) => Some(
                String::from_utf8_lossy(&buf)
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            Err(_) => None,
        }
    }

    /// The next line must be exactly `want`.
    pub fn expect(&mut self, want: &str) {
        let got = self.line();
        assert_eq!(got, want, "{}: unexpected line", self.nick);
    }

    /// The next line must start with `prefix`; returns it.
    pub fn expect_prefix(&mut self, prefix: &str) -> String {
        let got = self.line();
        assert!(
            got.starts_with(prefix),
            "{}: expected {prefix:?}..., got {got:?}",
            self.nick
        );
        got
    }

    /// Reads lines until one contains `needle`; returns the lines read before it and it.
    pub fn skip_until(&mut self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.try_line() {
                Some(l) => {
                    let done = l.contains(needle);
                    seen.push(l);
                    if done {
                        return seen;
                    }
                }
                None => panic!("{}: {needle:?} never came; saw {seen:#?}", self.nick),
            }
        }
    }

    /// Sends `PING :token` and returns every line received before the PONG: proves that
    /// nothing else is pending without waiting for a timeout.
    pub fn sync(&mut self) -> Vec<String> {
        self.send("PING :sync");
        // Any server name: the PONG is the only line that ends in ":sync".

        let mut lines = self.skip_until(" :sync");
        lines.pop();
        lines
    }

    /// Asserts that nothing but the sync PONG arrives.
    pub fn expect_nothing(&mut self) {
        let extra = self.sync();
        assert!(
            extra.is_empty(),
            "{}: unexpected lines {extra:#?}",
            self.nick
        );
    }

    /// Waits for the server to close the connection; returns the lines before EOF.
    pub fn expect_closed(&mut self) -> Vec<String> {
        let deadline = Instant::now() + TIMEOUT;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            let mut buf = Vec::new();
            match self.reader.read_until(b'\n', &mut buf) {
                Ok(0) => return seen,
                Ok(_) => seen.push(String::from_utf8_lossy(&buf).trim_end().to_string()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
                Err(_) => return seen,
            }
        }
        panic!("{}: connection not closed; saw {seen:#?}", self.nick);
    }
}

/// Splits a line that starts with a `@msgid=<hex>` tag (every PRIVMSG, NOTICE and TAGMSG
/// carries one for message-tags clients) into the id and the line without that tag.
pub fn split_msgid(line: &str) -> (String, String) {
    let rest = line
        .strip_prefix("@msgid=")
        .unwrap_or_else(|| panic!("no msgid first: {line:?}"));
    let end = rest.find([';', ' ']).expect("tag section ends");
    let id = rest[..end].to_string();
    assert!(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{line:?}"
    );
    let after = match &rest[end..] {
        r if r.starts_with(';') => format!("@{}", &r[1..]),
        r => r[1..].to_string(),
    };
    (id, after)
}

/// Floods `chan` from `flooder` (an operator: exempt from flood control) with 400-byte
/// lines until `victim`, a member that never reads, is closed for its send queue; panics
/// if it never is. Each batch ends with a PING, so the flooder never runs ahead of the
/// server.
pub fn flood_until_sendq_closed(flooder: &mut TestClient, chan: &str, victim: &str) {
    let quit = format!(":{victim}!~{victim}@127.0.0.1 QUIT :SendQ exceeded");
    let pad = "p".repeat(400);
    // Kernel socket buffers on both sides take a good deal before the send queue grows.
    for batch in 0..1500 {
        let data: String = (0..80)
            .map(|i| format!("PRIVMSG {chan} :{batch:04} {i:02} {pad}\r\n"))
            .collect();
        flooder.send_raw(data.as_bytes());
        flooder.send(&format!("PING :{batch}"));
        let seen = flooder.skip_until(&format!("PONG irc.test :{batch}"));
        if seen.contains(&quit) {
            return;
        }
    }
    panic!("{victim} was never closed");
}
