//! A real ngIRCd for interop tests: a generated config in a temp dir, `ngircd -n`, killed on
//! drop. When ngIRCd is missing the tests skip, unless PORTICO_REQUIRE_NGIRCD=1 (set by
//! .ci/run), which makes them fail.
#![allow(dead_code)]

use super::{TestClient, TIMEOUT};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

pub const NG_NAME: &str = "ng.test";
pub const LINK_PASSWORD: &str = "linkpw";

/// The ngircd binary, or None (skip) when it is missing and not required.
pub fn binary() -> Option<PathBuf> {
    for p in [
        "/usr/sbin/ngircd",
        "/usr/bin/ngircd",
        "/usr/local/sbin/ngircd",
    ] {
        if std::path::Path::new(p).exists() {
            return Some(p.into());
        }
    }
    if std::env::var("PORTICO_REQUIRE_NGIRCD").as_deref() == Ok("1") {
        panic!("ngircd is required (PORTICO_REQUIRE_NGIRCD=1) but not installed: apt-get install -y ngircd");
    }
    eprintln!("ngircd not installed: interop test skipped");
    None
}

/// A free loopback port (bound and released; ngIRCd binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Ngircd {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    log: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// How ngIRCd's `[Server]` section for Portico looks.
pub struct PorticoPeer<'a> {
    pub name: &'a str,
    /// Set: ngIRCd dials Portico there. None: passive (Portico dials).
    pub dial: Option<SocketAddr>,
}

impl Ngircd {
    pub fn start(bin: &std::path::Path, peers: &[PorticoPeer<'_>]) -> Ngircd {
        Ngircd::start_with(bin, peers, "")
    }

    /// Like [`Ngircd::start`], with `extra` sections in the config (e.g. `[SSL]`).
    pub fn start_with(bin: &std::path::Path, peers: &[PorticoPeer<'_>], extra: &str) -> Ngircd {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "portico-ng-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        // ConnectRetry: 5 s is ngIRCd's minimum (lower values are replaced by it). No command
        // penalties (MaxPenaltyTime = 0), or each JOIN/MODE of a test client costs a second.
        let mut conf = format!(
            "[Global]\nName = {NG_NAME}\nInfo = ngIRCd test hub\nListen = 127.0.0.1\nPorts = {port}\nMotdPhrase = hello from ngircd\n\
             AdminInfo1 = test\nAdminInfo2 = test\nAdminEMail = test@example.net\n\
             [Limits]\nMaxNickLength = 30\nMaxConnectionsIP = 0\nConnectRetry = 5\nMaxPenaltyTime = 0\nPingTimeout = 120\nPongTimeout = 20\n\
             [Options]\nDNS = no\nIdent = no\nPAM = no\nOperCanUseMode = yes\n\
             [Operator]\nName = ngoper\nPassword = ngpw\n{extra}"
        );
        for p in peers {
            conf.push_str(&format!("[Server]\nName = {}\nMyPassword = {LINK_PASSWORD}\nPeerPassword = {LINK_PASSWORD}\n", p.name));
            match p.dial {
                Some(addr) => {
                    conf.push_str(&format!("Host = {}\nPort = {}\n", addr.ip(), addr.port()))
                }
                None => conf.push_str("Passive = yes\n"),
            }
        }
        let path = dir.join("ngircd.conf");
        std::fs::write(&path, conf).unwrap();
        let mut child = Command::new(bin)
            .args(["-n", "-f"])
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ngircd starts");
        let (tx, rx) = mpsc::channel();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut ng = Ngircd {
            child,
            port,
            dir,
            log: rx,
            seen: Vec::new(),
        };
        ng.wait_log("ready.");
        ng
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Waits for a line of ngIRCd's log containing `needle`.
    pub fn wait_log(&mut self, needle: &str) -> String {
        self.wait_log_n(needle, 1)
    }

    /// Waits for the `n`th line of ngIRCd's log containing `needle` (a second link, say).
    pub fn wait_log_n(&mut self, needle: &str, n: usize) -> String {
        let deadline = Instant::now() + TIMEOUT * 2;
        let mut found = self.seen.iter().filter(|l| l.contains(needle));
        if let Some(l) = found.nth(n - 1) {
            return l.clone();
        }
        let mut count = self.seen.iter().filter(|l| l.contains(needle)).count();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        count += 1;
                        if count == n {
                            return line;
                        }
                    }
                }
                Err(_) => panic!(
                    "ngircd never logged {needle:?}; log:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Everything ngIRCd has logged so far (without waiting).
    pub fn log_so_far(&mut self) -> &[String] {
        while let Ok(line) = self.log.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    /// A registered client on ngIRCd.
    pub fn user(&self, nick: &str) -> TestClient {
        let mut c = TestClient::connect(self.addr());
        c.send(&format!("NICK {nick}"));
        c.send(&format!("USER {nick} 0 * :{nick} real"));
        c.skip_until(" 376 ");
        c.nick = nick.to_string();
        c
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Ngircd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
