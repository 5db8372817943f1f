//! The `portico` binary: options, `--check-config`, signals (SIGTERM shuts down cleanly,
//! SIGHUP reloads the configuration file and survives a broken one).

mod common;
use common::{tls, TempDir, TestClient, TIMEOUT};
use std::io::{BufRead, BufReader, ErrorKind};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_portico");

/// A running `portico` process whose stderr is read line by line on a thread; killed on drop
/// if a test fails before it ends.
struct Server {
    child: Child,
    stderr: Receiver<String>,
    /// Every stderr line read so far, for failure messages.
    log: Vec<String>,
    addr: SocketAddr,
}

impl Server {
    /// Starts the binary with `args` and waits until it says where it listens.
    fn start(args: &[&str]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(args).env("RUST_LOG", "info");
        Server::spawn(cmd)
    }

    /// Runs `cmd` (the binary, or a shell that execs it) and waits until it says where it
    /// listens.
    fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn portico");
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut s = Server {
            child,
            stderr: rx,
            log: Vec::new(),
            addr: "0.0.0.0:0".parse().unwrap(),
        };
        let line = s.wait_log("portico: listening on ");
        s.addr = line["portico: listening on ".len()..]
            .parse()
            .expect("listening address");
        assert!(s.addr.port() != 0, "{line}");
        s
    }

    /// Waits for a stderr line containing `needle` and returns it.
    fn wait_log(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {needle:?} on stderr; saw {:#?}", self.log)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("portico exited before {needle:?}; stderr {:#?}", self.log)
                }
            }
        }
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{sig} failed");
    }

    /// Waits for the process to end (its stderr closes when it exits) and returns its status.
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("portico did not exit; stderr {:#?}", self.log)
                }
            }
        }
        self.child.wait().expect("wait for portico")
    }

    /// A registered client; returns it and the MOTD lines (372) it was sent.
    fn user(&self, server_name: &str, nick: &str) -> (TestClient, Vec<String>) {
        self.user_at(self.addr, server_name, nick)
    }

    /// Like [`Server::user`], on the listener at `addr`.
    fn user_at(
        &self,
        addr: SocketAddr,
        server_name: &str,
        nick: &str,
    ) -> (TestClient, Vec<String>) {
        let mut c = TestClient::connect(addr);
        c.send(&format!("NICK {nick}"));
        c.send(&format!("USER {nick} 0 * :{nick} real"));
        c.expect_prefix(&format!(":{server_name} 001 {nick} "));
        let motd = c
            .skip_until(" 376 ")
            .into_iter()
            .filter(|l| l.contains(" 372 "))
            .collect();
        c.nick = nick.to_string();
        (c, motd)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the binary to completion: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .expect("run portico");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 output");
    (
        out.status.code().expect("exited, not killed"),
        text(out.stdout),
        text(out.stderr),
    )
}

fn config(motd_line: &str) -> String {
    format!(
        "[server]\nname = \"irc.cli.test\"\nid = 7\nnetwork = \"CliNet\"\n{motd_line}\n\n[[listen]]\naddress = \"127.0.0.1:0\"\n\n[limits]\nmax_clients = 77\n\n[[oper]]\nname = \"root\"\npassword = \"sekrit\"\n"
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

#[test]
fn sigterm_sends_error_to_clients_and_exits_0() {
    let mut s = Server::start(&["--listen", "127.0.0.1:0"]);
    // No -c: the built-in configuration, with the listener from the command line.
    let (mut c, motd) = s.user("irc.portico.local", "alice");
    assert_eq!(
        motd,
        [":irc.portico.local 372 alice :- Welcome to Portico."]
    );
    c.send("PING :before");
    c.expect(":irc.portico.local PONG irc.portico.local :before");
    s.signal("TERM");
    c.expect("ERROR :Server shutting down");
    assert!(c.expect_closed().is_empty());
    let status = s.wait_exit();
    assert_eq!(status.code(), Some(0), "stderr {:#?}", s.log);
}

#[test]
fn sigint_also_shuts_down_cleanly() {
    let mut s = Server::start(&["-l", "127.0.0.1:0"]);
    let (mut c, _) = s.user("irc.portico.local", "bob");
    s.signal("INT");
    c.expect("ERROR :Server shutting down");
    assert_eq!(s.wait_exit().code(), Some(0), "stderr {:#?}", s.log);
}

#[test]
fn help_prints_usage_and_exits_0() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("Usage: portico [options]"), "{out}");
    for opt in [
        "--config",
        "--listen",
        "--check-config",
        "--hash-password",
        "--help",
        "--version",
    ] {
        assert!(out.contains(opt), "{opt} missing from\n{out}");
    }
    let (code, short, _) = run(&["-h"]);
    assert_eq!((code, short), (0, out));
}

#[test]
fn version_prints_the_version() {
    assert_eq!(
        run(&["--version"]),
        (0, "portico 0.1.0\n".into(), String::new())
    );
    assert_eq!(run(&["-V"]).1, "portico 0.1.0\n");
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    let (code, out, err) = run(&["--bogus"]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    assert!(
        err.starts_with("portico: Unrecognized option: 'bogus'"),
        "{err}"
    );
    assert!(err.contains("Usage: portico"), "{err}");
    let (code, _, err) = run(&["--listen", "not-an-address"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--listen not-an-address: not an address"),
        "{err}"
    );
}

#[test]
fn hash_password_prints_an_argon2id_hash_the_config_accepts() {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("--hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run portico");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"open sesame\n")
        .expect("write the password");
    let out = child.wait_with_output().expect("portico ends");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("$argon2id$"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let hash = stdout.trim_end();
    assert!(!hash.contains("open sesame"));
    let dir = TempDir::new();
    let text = format!(
        "{}\n[[account]]\nname = \"ann\"\npassword = \"{hash}\"\n",
        config("")
    );
    let path = dir.write("acct.toml", &text);
    let (code, out, err) = run(&["--check-config", path_str(&path)]);
    assert_eq!(code, 0, "stderr: {err}");
    assert!(
        out.contains("[[account]]\nname = \"ann\"\npassword = (set)"),
        "{out}"
    );
    assert!(!out.contains(hash), "{out}");
    // An empty password (stdin closed at once) is refused.
    let (code, out, err) = run(&["--hash-password"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn check_config_prints_the_effective_settings() {
    let dir = TempDir::new();
    let path = dir.write("ok.toml", &config("motd = \"one\\ntwo\""));
    let (code, out, err) = run(&["--check-config", path_str(&path)]);
    assert_eq!(code, 0, "stderr: {err}");
    for want in [
        "name = \"irc.cli.test\"",
        "id = 7",
        "network = \"CliNet\"",
        "motd = 2 line(s)",
        "address = \"127.0.0.1:0\"",
        "max_clients = 77",
        // Defaults are printed too.
        "max_clients_per_ip = 16",
        "so_sndbuf = 65536",
        "name = \"root\"",
    ] {
        assert!(out.contains(want), "{want:?} missing from\n{out}");
    }
    assert!(!out.contains("sekrit"), "a password was printed:\n{out}");
    // A plain-text password is accepted, with a warning.
    assert!(
        err.contains(": warning: [[oper]] \"root\": password is plain text; portico --hash-password makes an argon2id hash to use instead"),
        "{err}"
    );
    let hash = portico::config::hash_password(b"sekrit").unwrap();
    let hashed = config("").replace("\"sekrit\"", &format!("\"{hash}\""));
    let (code, _, err) = run(&["--check-config", path_str(&dir.write("h.toml", &hashed))]);
    assert_eq!(code, 0, "stderr: {err}");
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn check_config_rejects_an_invalid_file_naming_file_and_line() {
    let dir = TempDir::new();
    let path = dir.write("bad.toml", "[server]\nname = \"irc.cli.test\"\nid = 9999\n");
    let (code, out, err) = run(&["--check-config", path_str(&path)]);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    assert!(
        err.starts_with(&format!("portico: {}:3: ", path.display())),
        "{err}"
    );
    assert!(err.contains("9999"), "{err}");
    // A syntax error names its line too.
    let path = dir.write(
        "syntax.toml",
        "[server]\nname = \"irc.cli.test\"\nid = 1\n\n[limits\n",
    );
    let (code, _, err) = run(&["--check-config", path_str(&path)]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("{}:5: ", path.display())), "{err}");
    // A missing file is an error, not a panic.
    let missing = dir.0.join("missing.toml");
    let (code, _, err) = run(&["--check-config", path_str(&missing)]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot read the file"), "{err}");
}

#[test]
fn config_file_with_port_0_serves() {
    let dir = TempDir::new();
    let path = dir.write("portico.toml", &config("motd = \"from the file\""));
    let mut s = Server::start(&["-c", path_str(&path)]);
    let (mut c, motd) = s.user("irc.cli.test", "carol");
    assert_eq!(motd, [":irc.cli.test 372 carol :- from the file"]);
    c.send("PING :x");
    c.expect(":irc.cli.test PONG irc.cli.test :x");
    s.signal("TERM");
    c.expect("ERROR :Server shutting down");
    assert_eq!(s.wait_exit().code(), Some(0));
}

/// RESTART (its own privilege, never a default one): clients get the ERROR, and the same
/// process starts again with the same arguments and file, serving anew.
#[test]
fn restart_needs_its_privilege_and_starts_the_same_process_again() {
    let dir = TempDir::new();
    let text = config("motd = \"first\"")
        + "\n[[oper]]\nname = \"boss\"\npassword = \"boss\"\nprivileges = [\"restart\"]\n";
    let path = dir.write("portico.toml", &text);
    let mut s = Server::start(&["-c", path_str(&path)]);
    let pid = s.child.id();
    let (mut root, _) = s.user("irc.cli.test", "root");
    root.send("OPER root sekrit");
    root.skip_until(":root MODE root :+o");
    // The default privileges leave RESTART out, as they do DIE.
    root.send("RESTART");
    root.expect(":irc.cli.test 723 root restart :Insufficient oper privileges.");
    let (mut boss, _) = s.user("irc.cli.test", "boss");
    boss.send("OPER boss boss");
    boss.skip_until(":boss MODE boss :+o");
    // The file changes before the restart: the new start reads it again.
    dir.write("portico.toml", &text.replace("first", "second"));
    boss.send("RESTART");
    boss.expect(":irc.cli.test NOTICE boss :Server restarting");
    boss.expect("ERROR :Server shutting down");
    root.expect("ERROR :Server shutting down");
    s.wait_log("portico: restarting ");
    let line = s.wait_log("portico: listening on ");
    let addr: SocketAddr = line["portico: listening on ".len()..].parse().unwrap();
    let (mut c, motd) = s.user_at(addr, "irc.cli.test", "carol");
    assert_eq!(motd, [":irc.cli.test 372 carol :- second"]);
    assert_eq!(s.child.id(), pid);
    assert!(matches!(s.child.try_wait(), Ok(None)), "the process exited");
    c.send("PING :x");
    c.expect(":irc.cli.test PONG irc.cli.test :x");
}

#[test]
fn invalid_config_at_startup_exits_1() {
    let dir = TempDir::new();
    let path = dir.write("bad.toml", "[server]\nname = \"irc.cli.test\"\nid = 9999\n");
    let (code, _, err) = run(&["-c", path_str(&path), "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("{}:3: ", path.display())), "{err}");
}

#[test]
fn address_in_use_exits_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, err) = run(&["--listen", &addr]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("portico: cannot listen on {addr}: ")),
        "{err}"
    );
}

#[test]
fn sighup_reloads_the_motd_file() {
    let dir = TempDir::new();
    dir.write("motd.txt", "old motd\n");
    let path = dir.write("portico.toml", &config("motd_file = \"motd.txt\""));
    let mut s = Server::start(&["-c", path_str(&path)]);
    let (mut early, motd) = s.user("irc.cli.test", "early");
    assert_eq!(motd, [":irc.cli.test 372 early :- old motd"]);
    dir.write("motd.txt", "new motd\nsecond line\n");
    s.signal("HUP");
    // The server logs the reload; after that line every new client sees the new MOTD.
    s.wait_log("rehash: server.motd: changed");
    let (_late, motd) = s.user("irc.cli.test", "late");
    assert_eq!(
        motd,
        [
            ":irc.cli.test 372 late :- new motd",
            ":irc.cli.test 372 late :- second line"
        ]
    );
    // A client from before the reload gets the new one on request.
    early.send("MOTD");
    let lines = early.skip_until(" 376 ");
    assert!(
        lines.contains(&":irc.cli.test 372 early :- new motd".to_string()),
        "{lines:#?}"
    );
}

/// A reload names each changed field with its old and new value, and refuses a file that
/// changes what a running server cannot (here the case mapping) before applying anything.
#[test]
fn sighup_names_each_change_and_refuses_frozen_fields() {
    let dir = TempDir::new();
    let path = dir.write("portico.toml", &config("motd = \"m\""));
    let mut s = Server::start(&["-c", path_str(&path)]);
    let changed = config("motd = \"m\"").replace("max_clients = 77", "max_clients = 78");
    dir.write("portico.toml", &changed);
    s.signal("HUP");
    s.wait_log("rehash: limits.max_clients: 77 -> 78");
    let frozen = changed.replace(
        "max_clients = 78",
        "max_clients = 79\ncasemapping = \"ascii\"",
    );
    dir.write("portico.toml", &frozen);
    s.signal("HUP");
    let line = s.wait_log("rehash refused, keeping the old configuration: ");
    assert!(
        line.ends_with("limits.casemapping (rfc1459 -> ascii) cannot change while the server runs; put the old value back, or restart to use the new one"),
        "{line}"
    );
    // Nothing of that file was applied: max_clients is still 78.
    dir.write("portico.toml", &changed);
    s.signal("HUP");
    s.wait_log("rehash: nothing changed");
    assert!(!s.log.iter().any(|l| l.contains("-> 79")), "{:#?}", s.log);
    assert!(
        !s.log.iter().any(|l| l.contains("Limits {")),
        "a debug dump"
    );
}

#[test]
fn sighup_with_a_broken_file_keeps_the_old_config() {
    let dir = TempDir::new();
    let path = dir.write("portico.toml", &config("motd = \"old motd\""));
    let mut s = Server::start(&["-c", path_str(&path)]);
    let (mut first, _) = s.user("irc.cli.test", "first");
    dir.write(
        "portico.toml",
        "[server]\nname = \"irc.cli.test\"\nid = 9999\nmotd = \"broken motd\"\n",
    );
    s.signal("HUP");
    let warning = s.wait_log("rehash failed, keeping the old configuration");
    assert!(
        warning.contains(&format!("{}:3: ", path.display())),
        "{warning}"
    );
    // Still serving, old and new clients alike, with the old settings.
    first.send("PING :still");
    first.expect(":irc.cli.test PONG irc.cli.test :still");
    let (_second, motd) = s.user("irc.cli.test", "second");
    assert_eq!(motd, [":irc.cli.test 372 second :- old motd"]);
    // Fixed again, the next SIGHUP applies it.
    dir.write("portico.toml", &config("motd = \"fixed motd\""));
    s.signal("HUP");
    s.wait_log("rehash: server.motd: changed");
    let (_third, motd) = s.user("irc.cli.test", "third");
    assert_eq!(motd, [":irc.cli.test 372 third :- fixed motd"]);
    s.signal("TERM");
    assert_eq!(s.wait_exit().code(), Some(0));
}

/// Registers `c` (connected to the TLS listener) as `nick`.
fn register_tls(c: &mut TestClient, nick: &str) {
    c.send(&format!("NICK {nick}"));
    c.send(&format!("USER {nick} 0 * :{nick} real"));
    c.expect_prefix(&format!(":irc.cli.test 001 {nick} "));
    c.skip_until(" 376 ");
    c.nick = nick.to_string();
}

/// [`config`] plus a TLS listener on 127.0.0.2 serving `cert.pem` and `key.pem` beside the
/// file (copied from tests/data/`cert`.crt and `key`.key); returns the file's path.
fn tls_config(dir: &TempDir, cert: &str, key: &str, extra: &str) -> PathBuf {
    dir.copy(&tls::data(&format!("{cert}.crt")), "cert.pem");
    dir.copy(&tls::data(&format!("{key}.key")), "key.pem");
    let text = format!(
        "{}\n[[listen]]\naddress = \"127.0.0.2:0\"\ntls = true\ncert = \"cert.pem\"\nkey = \"key.pem\"\n{extra}",
        config("motd = \"hi\"")
    );
    dir.write("portico.toml", &text)
}

#[test]
fn check_config_loads_the_tls_files() {
    let dir = TempDir::new();
    let path = tls_config(&dir, "server", "client", "");
    let (code, _, err) = run(&["--check-config", path_str(&path)]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "{}:20: [[listen]] 127.0.0.2:0: certificate ",
            path.display()
        )) && err.contains("do not make a usable pair"),
        "{err}"
    );
    let portal = "[[portal]]\nname = \"b.test\"\nid = 2\npassword = \"pw\"\ntls = true\n\
                  fingerprint = \"sha256:AB\"\n";
    let path = tls_config(
        &dir,
        "server",
        "server",
        &format!("[tls]\nsts_duration = 60\n{portal}"),
    );
    let (code, _, err) = run(&["--check-config", path_str(&path)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not a SHA-256 fingerprint"), "{err}");
    let fp = tls::fingerprint("server");
    let path = tls_config(
        &dir,
        "server",
        "server",
        &format!(
            "[tls]\nsts_duration = 60\n{}",
            portal.replace("sha256:AB", &fp)
        ),
    );
    let (code, out, err) = run(&["--check-config", path_str(&path)]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "address = \"127.0.0.2:0\"\ntls = true\ncert = \"cert.pem\"\nkey = \"key.pem\"\n",
        "[tls]\nsts_duration = 60\n",
        &format!("tls = true\nfingerprint = \"{fp}\"\n"),
    ] {
        assert!(out.contains(want), "{want:?} not in {out}");
    }
}

#[test]
fn sighup_reloads_the_tls_certificate_and_keeps_connections() {
    let dir = TempDir::new();
    let path = tls_config(&dir, "server", "server", "");
    let mut s = Server::start(&["-c", path_str(&path)]);
    let line = s.wait_log("portico: listening on 127.0.0.2:");
    let addr: SocketAddr = line["portico: listening on ".len()..].parse().unwrap();
    let mut old = tls::connect(addr, "server", None).expect("TLS handshake");
    register_tls(&mut old, "old");
    // Renewed files: new handshakes show the new certificate, the session stays.
    dir.copy(&tls::data("server2.crt"), "cert.pem");
    dir.copy(&tls::data("server2.key"), "key.pem");
    s.signal("HUP");
    s.wait_log("TLS certificate reloaded");
    assert!(tls::connect(addr, "server", None).is_err());
    let mut new = tls::connect(addr, "server2", None).expect("TLS with the new certificate");
    register_tls(&mut new, "new");
    old.send("PING :still");
    old.expect(":irc.cli.test PONG irc.cli.test :still");
    // A broken file: the reload is refused with the file named, the last good one stays.
    dir.write("cert.pem", "not a certificate\n");
    s.signal("HUP");
    let warning = s.wait_log("rehash failed, keeping the old configuration");
    let cert = dir.0.join("cert.pem");
    assert!(
        warning.contains(&format!("{}", cert.display())) && warning.contains("no PEM certificate"),
        "{warning}"
    );
    let mut later = tls::connect(addr, "server2", None).expect("TLS with the kept certificate");
    register_tls(&mut later, "later");
    for c in [&mut old, &mut new] {
        c.send("PING :after");
        c.expect(":irc.cli.test PONG irc.cli.test :after");
    }
    s.signal("TERM");
    assert_eq!(s.wait_exit().code(), Some(0), "stderr {:#?}", s.log);
}

#[test]
fn fd_exhaustion_is_logged_and_the_backlog_is_served_later() {
    // 48 descriptors: stdio, epoll, the waker, the signal pipe and the listener take about
    // ten, so a few dozen connections run the process out of them. No per-IP limit: every
    // connection comes from 127.0.0.1.
    let dir = TempDir::new();
    let path = dir.write(
        "portico.toml",
        "[server]\nname = \"irc.cli.test\"\nid = 7\nmotd = \"hi\"\n\n[[listen]]\naddress = \"127.0.0.1:0\"\n\n\
         [limits]\nmax_clients_per_ip = 0\n",
    );
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "ulimit -n 48 && exec \"$0\" \"$@\"",
        BIN,
        "-c",
        path_str(&path),
    ])
    .env("RUST_LOG", "warn");
    let mut s = Server::spawn(cmd);
    let mut early: Vec<TestClient> = ["a1", "a2", "a3"]
        .iter()
        .map(|n| s.user("irc.cli.test", n).0)
        .collect();
    // More connections than descriptors: the kernel completes them all (the backlog is
    // large), the server accepts until EMFILE and leaves the rest queued.
    let idle: Vec<TcpStream> = (0..60)
        .map(|_| TcpStream::connect(s.addr).expect("connect"))
        .collect();
    let warning = s.wait_log("accept: ");
    assert!(warning.contains("Too many open files"), "{warning}");
    assert!(warning.contains("retrying"), "{warning}");
    // Still serving the clients it has.
    for c in &mut early {
        c.send("PING :busy");
        c.expect(":irc.cli.test PONG irc.cli.test :busy");
    }
    // This one waits in the backlog behind the idle ones; no new connection arrives after
    // it, so only the timed retry can accept it once descriptors are free.
    let mut late = TestClient::connect(s.addr);
    late.send("NICK late");
    late.send("USER late 0 * :late real");
    drop(idle);
    late.expect_prefix(":irc.cli.test 001 late ");
    late.skip_until(" 376 ");
    // New connections are accepted again.
    let (mut fresh, _) = s.user("irc.cli.test", "fresh");
    fresh.send("PING :after");
    fresh.expect(":irc.cli.test PONG irc.cli.test :after");
    for c in &mut early {
        c.send("PING :after");
        c.expect(":irc.cli.test PONG irc.cli.test :after");
    }
    assert!(matches!(s.child.try_wait(), Ok(None)), "portico died");
    s.signal("TERM");
    for c in early.iter_mut().chain([&mut late, &mut fresh]) {
        c.expect("ERROR :Server shutting down");
    }
    assert_eq!(s.wait_exit().code(), Some(0), "stderr {:#?}", s.log);
}

#[test]
fn sighup_opens_new_listeners_and_closes_removed_ones() {
    let dir = TempDir::new();
    let listen = |addrs: &[&str]| {
        let mut text = "[server]\nname = \"irc.cli.test\"\nid = 7\nmotd = \"hi\"\n".to_string();
        for a in addrs {
            text.push_str(&format!("\n[[listen]]\naddress = \"{a}\"\n"));
        }
        text
    };
    let path = dir.write("portico.toml", &listen(&["127.0.0.1:0"]));
    let mut s = Server::start(&["-c", path_str(&path)]);
    let old = s.addr;
    let (mut first, _) = s.user("irc.cli.test", "first");
    // A port free a moment ago (nothing else in these tests binds fixed ports).
    let new: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let new_str = new.to_string();
    dir.write("portico.toml", &listen(&["127.0.0.1:0", &new_str]));
    s.signal("HUP");
    let line = s.wait_log("rehash: listening on ");
    assert!(
        line.ends_with(&format!("rehash: listening on {new}")),
        "{line}"
    );
    let (mut second, _) = s.user_at(new, "irc.cli.test", "second");
    second.send("PRIVMSG first :hi");
    first.expect(":second!~second@127.0.0.1 PRIVMSG first :hi");

    // Only the new port now: the first listener goes, its client stays.
    dir.write("portico.toml", &listen(&[&new_str]));
    s.signal("HUP");
    let line = s.wait_log("rehash: closing listener ");
    assert!(
        line.ends_with(&format!("rehash: closing listener {old}")),
        "{line}"
    );
    // The PONG comes after the whole rehash (one thread), so the listener is closed by now.
    first.send("PING :kept");
    first.expect(":irc.cli.test PONG irc.cli.test :kept");
    let err = TcpStream::connect(old).expect_err("the old listener still accepts");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    let (mut third, _) = s.user_at(new, "irc.cli.test", "third");
    third.send("PRIVMSG first :still here?");
    first.expect(":third!~third@127.0.0.1 PRIVMSG first :still here?");
    first.send("PRIVMSG second :yes");
    second.expect(":first!~first@127.0.0.1 PRIVMSG second :yes");
    assert!(
        !s.log
            .iter()
            .any(|l| l.contains("rehash: listening on 127.0.0.1:0")),
        "{:#?}",
        s.log
    );
    s.signal("TERM");
    for c in [&mut first, &mut second, &mut third] {
        c.expect("ERROR :Server shutting down");
    }
    assert_eq!(s.wait_exit().code(), Some(0), "stderr {:#?}", s.log);
}

// ---- registered channels ([[channel]]) ---------------------------------------------------

/// [`config`] with `channels`, and flood room for a test's many commands.
fn with_channels(channels: &str) -> String {
    let base =
        config("motd = \"hi\"").replace("max_clients = 77", "max_clients = 77\nflood_burst = 1000");
    format!("{base}{channels}")
}

const LOBBY_OLD: &str = "\n[[channel]]\nname = \"#lobby\"\ntopic = \"Welcome\"\n\n[[channel]]\nname = \"#old\"\nmodes = \"n\"\n";
const LOBBY_NEW: &str = "\n[[channel]]\nname = \"#lobby\"\ntopic = \"Changed\"\nmodes = \"ntm\"\n\n[[channel]]\nname = \"#new\"\nmemberkey = \"pw\"\n";

/// Sends `line` and returns what came back before a sync.
fn ask(c: &mut TestClient, line: &str) -> Vec<String> {
    c.send(line);
    c.sync()
}

#[test]
fn registered_channels_exist_empty_and_sighup_applies_changes() {
    let dir = TempDir::new();
    let path = dir.write("portico.toml", &with_channels(LOBBY_OLD));
    let mut s = Server::start(&["-c", path_str(&path)]);
    let (mut a, _) = s.user("irc.cli.test", "alice");
    ask(&mut a, "IRCX");
    // There before anyone joins.
    assert_eq!(
        ask(&mut a, "LISTX R=1"),
        [
            ":irc.cli.test 811 alice :Start of ListX",
            ":irc.cli.test 812 alice #lobby +nrt 0 0 :Welcome",
            ":irc.cli.test 812 alice #old +nr 0 0 :",
            ":irc.cli.test 817 alice :End of ListX",
        ]
    );
    assert_eq!(
        ask(&mut a, "LIST"),
        [
            ":irc.cli.test 321 alice Channel :Users  Name",
            ":irc.cli.test 322 alice #lobby 0 :[+nrt] Welcome",
            ":irc.cli.test 322 alice #old 0 :[+nr] ",
            ":irc.cli.test 323 alice :End of /LIST",
        ]
    );
    let modes = ask(&mut a, "MODE #lobby");
    assert_eq!(modes[0], ":irc.cli.test 324 alice #lobby +nrt");
    assert!(
        modes[1].starts_with(":irc.cli.test 329 alice #lobby "),
        "{modes:?}"
    );
    let topic = ask(&mut a, "TOPIC #lobby");
    assert_eq!(topic[0], ":irc.cli.test 332 alice #lobby :Welcome");
    assert!(
        topic[1].starts_with(":irc.cli.test 333 alice #lobby irc.cli.test "),
        "{topic:?}"
    );
    // It outlives its last member.
    let joined = ask(&mut a, "JOIN #lobby");
    assert_eq!(joined[0], ":alice!~alice@127.0.0.1 JOIN #lobby");
    assert!(
        joined.contains(&":irc.cli.test 353 alice = #lobby :alice".to_string()),
        "{joined:?}"
    );
    assert_eq!(
        ask(&mut a, "PART #lobby"),
        [":alice!~alice@127.0.0.1 PART #lobby"]
    );
    assert_eq!(
        ask(&mut a, "LISTX #lobby")[1],
        ":irc.cli.test 812 alice #lobby +nrt 0 0 :Welcome"
    );
    ask(&mut a, "JOIN #old");
    // The reload changes #lobby, adds #new and unregisters #old (alice is still in it).
    dir.write("portico.toml", &with_channels(LOBBY_NEW));
    s.signal("HUP");
    s.wait_log("rehash: channel[\"#new\"]: added");
    a.expect(":irc.cli.test MODE #old -r");
    assert_eq!(
        ask(&mut a, "LISTX R=1"),
        [
            ":irc.cli.test 811 alice :Start of ListX",
            ":irc.cli.test 812 alice #lobby +mnrt 0 0 :Changed",
            ":irc.cli.test 812 alice #new +nrt 0 0 :",
            ":irc.cli.test 817 alice :End of ListX",
        ]
    );
    assert_eq!(
        ask(&mut a, "JOIN #new"),
        [":irc.cli.test 475 alice #new :Cannot join channel (+k)"]
    );
    assert_eq!(
        ask(&mut a, "PART #old"),
        [":alice!~alice@127.0.0.1 PART #old"]
    );
    assert_eq!(
        ask(&mut a, "MODE #old"),
        [":irc.cli.test 403 alice #old :No such channel"]
    );
    s.signal("TERM");
    assert_eq!(s.wait_exit().code(), Some(0));
}

#[test]
fn check_config_names_the_line_of_a_bad_channel() {
    let dir = TempDir::new();
    let path = dir.write(
        "chan.toml",
        &with_channels(
            "\n[[channel]]\nname = \"#a\"\n\n[[channel]]\nname = \"#b\"\nmodes = \"ntr\"\n",
        ),
    );
    let (code, out, err) = run(&["--check-config", path_str(&path)]);
    assert_eq!(code, 1, "{out}");
    let line = with_channels("").lines().count() + 7;
    assert!(
        err.starts_with(&format!(
            "portico: {}:{line}: [[channel]] \"#b\": mode 'r'",
            path.display()
        )),
        "{err}"
    );
    let path = dir.write("ok.toml", &with_channels(LOBBY_NEW));
    let (code, out, err) = run(&["--check-config", path_str(&path)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("[[channel]]\nname = \"#new\""), "{out}");
    assert!(!out.contains("\"pw\""), "a key was printed:\n{out}");
}

// ---- the state file (ACCESS kept across restarts) ----------------------------------------

const REG_LOBBY: &str = "\n[[channel]]\nname = \"#lobby\"\nownerkey = \"ok\"\n";

/// An IRCX operator on `s`, its welcome and switch consumed.
fn ircx_oper(s: &Server) -> TestClient {
    let (mut a, _) = s.user("irc.cli.test", "alice");
    ask(&mut a, "IRCX");
    ask(&mut a, "OPER root sekrit");
    a
}

#[test]
fn access_entries_of_the_server_and_registered_channels_survive_a_restart() {
    let dir = TempDir::new();
    let path = dir.write("portico.toml", &with_channels(REG_LOBBY));
    let mut s = Server::start(&["-c", path_str(&path)]);
    let mut a = ircx_oper(&s);
    let added = ask(&mut a, "ACCESS $ ADD DENY *@bad.example 0 :go away");
    assert_eq!(
        added,
        [":irc.cli.test 801 alice $ DENY *!*@bad.example$* 0 alice!~alice@127.0.0.1 :go away"]
    );
    ask(&mut a, "JOIN #lobby ok");
    ask(&mut a, "ACCESS #lobby ADD VOICE bob");
    // Not kept: an ordinary channel's list, and a user's own.
    ask(&mut a, "JOIN #plain");
    ask(&mut a, "ACCESS #plain ADD DENY carol");
    ask(&mut a, "ACCESS alice ADD DENY carol");
    s.signal("TERM");
    assert_eq!(s.wait_exit().code(), Some(0));
    let state = dir.0.join("portico.toml.state");
    let text = std::fs::read_to_string(&state).expect("state file written");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("access ")).count(),
        2,
        "{text}"
    );

    let mut s = Server::start(&["-c", path_str(&path)]);
    // Loaded before the listeners open.
    assert!(s
        .log
        .iter()
        .any(|l| l.contains("state file") && l.contains("loaded")));
    let mut a = ircx_oper(&s);
    assert_eq!(
        ask(&mut a, "ACCESS $"),
        [
            ":irc.cli.test 803 alice $ :Start of access entries",
            ":irc.cli.test 804 alice $ DENY *!*@bad.example$* 0 alice!~alice@127.0.0.1 :go away",
            ":irc.cli.test 805 alice $ :End of access entries",
        ]
    );
    assert_eq!(
        ask(&mut a, "ACCESS #lobby LIST")[1],
        ":irc.cli.test 804 alice #lobby VOICE bob!*@*$* 0 alice!~alice@127.0.0.1 :"
    );
    s.signal("TERM");
    assert_eq!(s.wait_exit().code(), Some(0));

    // A corrupt file is reported with its path, and the server starts without it.
    std::fs::write(&state, "access $ DENY what\n").unwrap();
    let mut s = Server::start(&["-c", path_str(&path)]);
    let corrupt = s
        .log
        .iter()
        .find(|l| l.contains("corrupt"))
        .expect("logged");
    assert!(corrupt.contains(path_str(&state)), "{corrupt}");
    let mut a = ircx_oper(&s);
    assert_eq!(ask(&mut a, "ACCESS $").len(), 2);
    s.signal("TERM");
    assert_eq!(s.wait_exit().code(), Some(0));
}

/// A configuration without a listener is refused at start and by --check-config (unless
/// --listen supplies one), naming the file and the fix.
#[test]
fn a_config_without_listeners_is_refused() {
    let dir = TempDir::new();
    let path = dir.write("quiet.toml", "[server]\nname = \"irc.cli.test\"\nid = 1\n");
    let want = "no [[listen]] address: the server would listen on nothing";
    let (code, _, err) = run(&["--check-config", path_str(&path)]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with(&format!("portico: {}: {want}", path.display())),
        "{err}"
    );
    let (code, _, err) = run(&["-c", path_str(&path)]);
    assert_eq!(code, 1);
    assert!(err.contains(want), "{err}");
    let (code, out, err) = run(&["--check-config", path_str(&path), "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("name = \"irc.cli.test\""), "{out}");
}

/// A K-line is kept in the state file (here one named by `[server] state_file`, relative
/// to the configuration) and still refuses its user after a restart.
#[test]
fn a_kline_survives_a_restart_in_the_configured_state_file() {
    let dir = TempDir::new();
    let text = config("motd = \"hi\"").replace(
        "network = \"CliNet\"",
        "network = \"CliNet\"\nstate_file = \"bans.state\"",
    );
    let path = dir.write("portico.toml", &text);
    let mut s = Server::start(&["-c", path_str(&path)]);
    let (mut o, _) = s.user("irc.cli.test", "olga");
    ask(&mut o, "OPER root sekrit");
    assert_eq!(
        ask(&mut o, "KLINE 2h ~mallory@127.0.0.1 :flooding"),
        [":irc.cli.test NOTICE olga :Added K-Line (120 min) for [~mallory@127.0.0.1]: flooding"]
    );
    s.signal("TERM");
    assert_eq!(s.wait_exit().code(), Some(0));
    let saved = std::fs::read_to_string(dir.0.join("bans.state")).expect("state file written");
    assert!(
        saved.contains("access $ DENY *!~mallory@127.0.0.1$* "),
        "{saved}"
    );
    assert!(!dir.0.join("portico.toml.state").exists());

    let s = Server::start(&["-c", path_str(&path)]);
    let mut m = TestClient::connect(s.addr);
    m.send("NICK mallory");
    m.send("USER mallory 0 * :M");
    m.expect("ERROR :Closing Link: 127.0.0.1 (flooding)");
    let (mut o, _) = s.user("irc.cli.test", "olga");
    ask(&mut o, "OPER root sekrit");
    assert_eq!(
        ask(&mut o, "STATS k"),
        [
            ":irc.cli.test 216 olga K 127.0.0.1 120 ~mallory olga!~olga@127.0.0.1 :flooding",
            ":irc.cli.test 219 olga k :End of /STATS report",
        ]
    );
}

/// At `info` the log tells an operator who came, who they became, why they left and whom
/// the server refused (issue 13), with the network's text made safe.
#[test]
fn the_info_log_tells_arrivals_registrations_opers_kills_quits_and_refusals() {
    let dir = TempDir::new();
    let text = config("motd = \"hi\"").replace(
        "max_clients = 77",
        "max_clients = 77\nmax_clients_per_ip = 2",
    );
    let path = dir.write("portico.toml", &text);
    let mut s = Server::start(&["-c", path_str(&path)]);
    let (mut a, _) = s.user("irc.cli.test", "alice");
    let accepted = s.wait_log(": accepted from 127.0.0.1:");
    assert!(accepted.contains("conn "), "{accepted}");
    let registered = s.wait_log(": registered alice!~alice@127.0.0.1 (127.0.0.1)");
    assert!(registered.contains("INFO"), "{registered}");
    let (_b, _) = s.user("irc.cli.test", "bob");
    let mut third = TestClient::connect(s.addr);
    third.expect("ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)");
    s.wait_log("refused a connection from 127.0.0.1: Too many connections from your IP address");
    // OPER failure and success by block name, KILL with its reason; never a password.
    a.send("OPER root wrongpw");
    a.skip_until(" 464 ");
    s.wait_log("OPER \"root\" by alice!~alice@127.0.0.1 failed: wrong password");
    a.send("OPER root sekrit");
    a.skip_until(" 381 ");
    s.wait_log("alice!~alice@127.0.0.1 is now an operator (\"root\")");
    a.send("KILL bob :enough");
    s.wait_log("killed bob!~bob@127.0.0.1: Killed (alice (enough))");
    assert!(
        !s.log
            .iter()
            .any(|l| l.contains("wrongpw") || l.contains("sekrit")),
        "{:#?}",
        s.log
    );
    a.send("QUIT :gone\x1bfishing");
    s.wait_log("alice!~alice@127.0.0.1 quit: Quit: gone\\x1bfishing");
}

/// `[log] file` takes the log instead of stderr and is reopened after SIGHUP, so logrotate
/// can move it away; `[log] syslog` sends each line as a datagram (facility daemon).
#[test]
fn the_log_goes_to_a_file_reopened_on_sighup_and_to_syslog() {
    use std::os::unix::net::UnixDatagram;
    let dir = TempDir::new();
    let sock_path = dir.0.join("syslog.sock");
    let syslog = UnixDatagram::bind(&sock_path).expect("bind a fake syslog");
    syslog.set_read_timeout(Some(TIMEOUT)).unwrap();
    let text = format!(
        "{}\n[log]\nfile = \"portico.log\"\nsyslog = true\n\n[testing]\nsyslog_path = \"{}\"\n",
        config("motd = \"hi\""),
        sock_path.display()
    );
    let path = dir.write("portico.toml", &text);
    let s = Server::start(&["-c", path_str(&path)]);
    let log_path = dir.0.join("portico.log");
    let wait_file = |path: &Path, needle: &str| {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in {path:?}:\n{text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let (_a, _) = s.user("irc.cli.test", "alice");
    wait_file(&log_path, "registered alice!~alice@127.0.0.1");
    // The same line reached syslog, with the daemon facility's info priority (3*8+6).
    let mut buf = [0u8; 2048];
    let got = loop {
        let n = syslog.recv(&mut buf).expect("a syslog datagram");
        let line = String::from_utf8_lossy(&buf[..n]).to_string();
        if line.contains("registered alice") {
            break line;
        }
    };
    assert!(got.starts_with("<30>portico["), "{got}");
    // logrotate moves the file; SIGHUP makes the server write a new one.
    let rotated = dir.0.join("portico.log.1");
    std::fs::rename(&log_path, &rotated).unwrap();
    s.signal("HUP");
    let (_b, _) = s.user("irc.cli.test", "bob");
    let fresh = wait_file(&log_path, "registered bob!~bob@127.0.0.1");
    assert!(!fresh.contains("registered alice"), "{fresh}");
    assert!(!std::fs::read_to_string(&rotated)
        .unwrap()
        .contains("registered bob"));
}

/// `[metrics] address`: the binary says where it serves the figures, a scrape over TCP
/// answers, and a reload that moves the listener is refused by name (it is opened once).
#[test]
fn metrics_are_served_where_the_log_says_and_their_address_is_frozen() {
    use std::io::{Read, Write};
    let dir = TempDir::new();
    let text = format!(
        "{}\n[metrics]\naddress = \"127.0.0.1:0\"\n",
        config("motd = \"m\"")
    );
    let path = dir.write("portico.toml", &text);
    let mut s = Server::start(&["-c", path_str(&path)]);
    let line = s.wait_log("portico: metrics on http://");
    let addr: SocketAddr = line["portico: metrics on http://".len()..]
        .trim_end_matches("/metrics")
        .parse()
        .expect("metrics address");
    let (_alice, _) = s.user("irc.cli.test", "alice");
    let mut sock = TcpStream::connect(addr).expect("connect to metrics");
    sock.set_read_timeout(Some(TIMEOUT)).unwrap();
    sock.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    sock.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\nportico_local_clients 1\n"), "{answer}");
    dir.write("portico.toml", &text.replace("127.0.0.1:0", "127.0.0.1:1"));
    s.signal("HUP");
    let refused = s.wait_log("rehash refused, keeping the old configuration: ");
    assert!(
        refused.ends_with("metrics.address (127.0.0.1:0 -> 127.0.0.1:1) cannot change while the server runs; put the old value back, or restart to use the new one"),
        "{refused}"
    );
}
