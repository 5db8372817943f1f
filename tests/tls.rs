//! TLS listeners: clients on TLS and plain sockets talking, user mode +Z and WHOIS 671,
//! client certificate fingerprints (WHOIS 276, `[[oper]] fingerprint`), bad input on the
//! TLS port, certificate files that are wrong, and `openssl s_client` as a client.

mod common;
use common::tls::{connect, data, fingerprint};
use common::{flood_until_sendq_closed, join, TempDir, TestClient, TestServer, EASY};
use portico::config::Config;
use portico::net::Options;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A configuration with a plain listener (127.0.0.1) and a TLS one (127.0.0.2) whose
/// certificate and key are `cert.pem` and `key.pem` beside the file.
fn config_text(extra: &str) -> String {
    format!(
        "[server]\nname = \"irc.test\"\nid = 1\nnetwork = \"TestNet\"\nmotd = \"Hi\"\n\n\
         [[listen]]\naddress = \"127.0.0.1:0\"\n\n\
         [[listen]]\naddress = \"127.0.0.2:0\"\ntls = true\ncert = \"cert.pem\"\nkey = \"key.pem\"\n\n\
         {EASY}{extra}"
    )
}

struct TlsServer {
    server: TestServer,
    /// Holds the configuration and the certificate files while the server runs.
    _dir: TempDir,
}

impl TlsServer {
    /// Serves tests/data/server.crt on its TLS listener.
    fn start(extra: &str) -> TlsServer {
        let dir = TempDir::new();
        dir.copy(&data("server.crt"), "cert.pem");
        dir.copy(&data("server.key"), "key.pem");
        let path = dir.write("portico.toml", &config_text(extra));
        let config = Config::load(&path).expect("test config");
        let mut opts = Options::new(config);
        opts.config_path = Some(path);
        TlsServer {
            server: TestServer::with_options(opts),
            _dir: dir,
        }
    }

    fn plain(&self) -> SocketAddr {
        self.server.running.addrs[0]
    }

    fn tls(&self) -> SocketAddr {
        self.server.running.addrs[1]
    }

    /// A registered TLS user, showing tests/data/`cert` if given.
    fn tls_user(&self, nick: &str, cert: Option<&str>) -> TestClient {
        let mut c = connect(self.tls(), "server", cert).expect("TLS handshake");
        c.register(nick);
        c
    }
}

#[test]
fn tls_and_plain_clients_talk() {
    let s = TlsServer::start("");
    let mut alice = s.tls_user("alice", None);
    let mut bob = TestClient::connect(s.plain());
    bob.register("bob");
    alice.send("MODE alice");
    alice.expect(":irc.test 221 alice +Z");
    bob.send("MODE bob");
    bob.expect(":irc.test 221 bob +");
    join(&mut alice, "#tls");
    join(&mut bob, "#tls");
    alice.expect(&format!(":{} JOIN #tls", bob.mask()));
    alice.send("PRIVMSG #tls :hello from TLS");
    bob.expect(&format!(":{} PRIVMSG #tls :hello from TLS", alice.mask()));
    bob.send("PRIVMSG alice :and back in plain");
    alice.expect(&format!(":{} PRIVMSG alice :and back in plain", bob.mask()));
    bob.send("WHOIS alice");
    let whois = bob.skip_until(" 318 ");
    assert!(
        whois.contains(&":irc.test 671 bob alice :is using a secure connection".to_string()),
        "{whois:#?}"
    );
    assert!(!whois.iter().any(|l| l.contains(" 276 ")), "{whois:#?}");
    alice.send("WHOIS bob");
    let whois = alice.skip_until(" 318 ");
    assert!(!whois.iter().any(|l| l.contains(" 671 ")), "{whois:#?}");
    // A long burst through TLS arrives whole and in order.
    for i in 0..200 {
        alice.send(&format!("PRIVMSG #tls :line {i} {}", "x".repeat(300)));
    }
    for i in 0..200 {
        bob.expect(&format!(
            ":{} PRIVMSG #tls :line {i} {}",
            alice.mask(),
            "x".repeat(300)
        ));
    }
    alice.send("QUIT :bye");
    bob.expect(&format!(":{} QUIT :Quit: bye", alice.mask()));
}

#[test]
fn client_certificate_fingerprint_in_whois_and_for_oper() {
    let fp = fingerprint("client");
    let s = TlsServer::start(&format!(
        "[[oper]]\nname = \"admin\"\npassword = \"pw\"\nfingerprint = \"sha256:{}\"\n",
        fp.to_uppercase()
    ));
    let mut carol = s.tls_user("carol", Some("client"));
    let mut dave = s.tls_user("dave", None);
    let certfp = format!(":irc.test 276 {{}} carol :has client certificate fingerprint {fp}");
    carol.send("WHOIS carol");
    let whois = carol.skip_until(" 318 ");
    assert!(whois.contains(&certfp.replace("{}", "carol")), "{whois:#?}");
    dave.send("WHOIS carol");
    let whois = dave.skip_until(" 318 ");
    assert!(!whois.iter().any(|l| l.contains(" 276 ")), "{whois:#?}");
    assert!(
        whois.iter().any(|l| l.contains(" 671 dave carol ")),
        "{whois:#?}"
    );
    // The operator block wants carol's certificate: dave's right password is not enough.
    dave.send("OPER admin pw");
    dave.expect(":irc.test 491 dave :No O-lines for your host");
    carol.send("OPER admin pw");
    carol.expect(":irc.test 381 carol :You are now an IRC operator");
    // An operator sees others' fingerprints.
    let mut erin = s.tls_user("erin", Some("server2"));
    carol.send("WHOIS erin");
    let whois = carol.skip_until(" 318 ");
    let erin_fp = fingerprint("server2");
    assert!(
        whois.contains(&format!(
            ":irc.test 276 carol erin :has client certificate fingerprint {erin_fp}"
        )),
        "{whois:#?}"
    );
    erin.send("PING :x");
    erin.expect(":irc.test PONG irc.test :x");
}

#[test]
fn plain_text_on_the_tls_port_is_dropped_and_the_server_goes_on() {
    let s = TlsServer::start("");
    let mut c = TestClient::connect(s.tls());
    c.send("NICK mallory");
    c.send("USER mallory 0 * :m");
    // The server answers with a TLS alert (not a line) and closes.
    assert!(c.try_line().is_none_or(|l| !l.contains(" 001 ")));
    assert!(c.try_line().is_none());
    let mut alice = s.tls_user("alice", None);
    alice.send("PING :still");
    alice.expect(":irc.test PONG irc.test :still");
}

#[test]
fn a_client_that_trusts_another_certificate_cannot_connect() {
    let s = TlsServer::start("");
    assert!(connect(s.tls(), "server2", None).is_err());
    s.tls_user("alice", None);
}

#[test]
fn bad_certificate_files_are_named_in_the_error() {
    let dir = TempDir::new();
    let path = dir.write("portico.toml", &config_text(""));
    let e = Config::load(&path).unwrap_err();
    assert_eq!(e.line, 13, "{e}");
    assert!(e.message.contains("cert.pem"), "{e}");
    assert!(e.message.contains("README.md"), "{e}");
    // A key that is not the certificate's.
    dir.copy(&data("server.crt"), "cert.pem");
    dir.copy(&data("client.key"), "key.pem");
    let e = Config::load(&path).unwrap_err();
    assert!(e.message.contains("do not make a usable pair"), "{e}");
    // A key file where the certificate belongs.
    dir.copy(&data("server.key"), "cert.pem");
    let e = Config::load(&path).unwrap_err();
    assert!(e.message.contains("no PEM certificate"), "{e}");
    dir.copy(&data("server.crt"), "cert.pem");
    dir.copy(&data("server.key"), "key.pem");
    Config::load(&path).expect("a good pair loads");
    // tls = true without files, and files without tls = true.
    let text = config_text("").replace("cert = \"cert.pem\"\n", "");
    let e = Config::load(&dir.write("portico.toml", &text)).unwrap_err();
    assert!(e.message.contains("all three"), "{e}");
    let text = config_text("").replace("tls = true\n", "");
    let e = Config::load(&dir.write("portico.toml", &text)).unwrap_err();
    assert!(e.message.contains("all three"), "{e}");
}

/// `openssl s_client` as a TLS client, where the binary is installed (CI installs it).
#[test]
fn openssl_s_client_registers() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("note: openssl not installed; openssl_s_client_registers skipped");
        return;
    }
    let s = TlsServer::start("");
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect", &s.tls().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run openssl");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"NICK ossl\r\nUSER ossl 0 * :openssl\r\n")
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
        let done = line.contains(" 376 ");
        seen.push(line);
        if done {
            break;
        }
    }
    let _ = stdin.write_all(b"QUIT\r\n");
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter()
            .any(|l| l.starts_with(":irc.test 001 ossl :Welcome to the TestNet")),
        "{seen:#?}"
    );
}

#[test]
fn sts_points_plain_clients_at_the_tls_port() {
    let s = TlsServer::start("[tls]\nsts_duration = 86400\n");
    let ls = |c: &mut TestClient, version: &str| {
        c.send(&format!("CAP LS{version}"));
        let line = c.line();
        assert!(
            line.starts_with(":irc.test CAP * LS :account-notify account-tag away-notify "),
            "{line}"
        );
        line
    };
    let mut plain = TestClient::connect(s.plain());
    let line = ls(&mut plain, " 302");
    assert!(
        line.ends_with(&format!(" userhost-in-names sts=port={}", s.tls().port())),
        "{line}"
    );
    // A client may not ask for it.
    plain.send("CAP REQ :sts");
    plain.expect(":irc.test CAP * NAK :sts");
    let mut secure = connect(s.tls(), "server", None).expect("TLS handshake");
    let line = ls(&mut secure, " 302");
    assert!(
        line.ends_with(" userhost-in-names sts=duration=86400"),
        "{line}"
    );
    // Without CAP 302 there are no values, so no sts.
    let mut old = TestClient::connect(s.plain());
    assert!(ls(&mut old, "").ends_with(" userhost-in-names"));
    // Without sts_duration, no sts.
    let quiet = TlsServer::start("");
    let mut plain = TestClient::connect(quiet.plain());
    assert!(ls(&mut plain, " 302").ends_with(" userhost-in-names"));
}

/// A TLS client that stops reading: its send queue fills behind the session and the
/// socket, and it is closed like a plain one, while the others are served.
#[test]
fn a_tls_client_that_never_reads_is_closed_for_its_sendq() {
    // The flooder is an operator: exempt from flood control.
    let s = TlsServer::start("sendq_bytes = 65536\n[[oper]]\nname = \"f\"\npassword = \"f\"\n");
    let mut slow = common::tls::connect_small_rcvbuf(s.tls(), "server").expect("TLS handshake");
    slow.register("slow");
    join(&mut slow, "#f");
    let mut flooder = TestClient::connect(s.plain());
    flooder.register("flooder");
    flooder.send("OPER f f");
    flooder.skip_until(" 381 ");
    join(&mut flooder, "#f");
    flood_until_sendq_closed(&mut flooder, "#f", "slow");
}

/// A configuration parsed without its files (no `Config::load`) has no certificate: the
/// server refuses to start rather than serve that port in the clear.
#[test]
fn a_tls_listener_without_its_certificate_is_refused_not_served_plain() {
    let config = Config::parse(&config_text(""), "t.toml").expect("parses");
    let e = portico::net::spawn(Options::new(config))
        .err()
        .expect("refused");
    assert!(
        e.to_string()
            .contains("tls = true but its certificate was not loaded"),
        "{e}"
    );
}

#[test]
fn a_full_server_says_so_after_the_tls_handshake() {
    let s = TlsServer::start("max_clients = 1\nmax_clients_per_ip = 0\n");
    let _only = s.server.user("only");
    let mut c = connect(s.tls(), "server", None).expect("TLS handshake");
    c.expect("ERROR :Closing Link: 127.0.0.1 (Server is full)");
}

/// Reads lines from `tls` until one contains `want`.
fn read_until(tls: &mut RawTls, want: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            tls.read_line(&mut line).expect("a line") > 0,
            "EOF before {want:?}"
        );
        if line.contains(want) {
            return;
        }
    }
}

type RawTls = BufReader<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>;

/// A registered TLS client as a raw rustls stream (to write bytes outside the session);
/// with `extract`, one whose keys can be taken ([`Keys`]).
fn raw_tls_user(s: &TlsServer, nick: &str, extract: bool) -> RawTls {
    let pinned = portico::config::tls::pinned_client_config(&fingerprint("server"), None);
    let mut config = (*pinned.unwrap()).clone();
    config.enable_secret_extraction = extract;
    let config = std::sync::Arc::new(config);
    let name = rustls::pki_types::ServerName::try_from("irc.test").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let sock = TcpStream::connect(s.tls()).unwrap();
    sock.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let mut tls = BufReader::new(rustls::StreamOwned::new(conn, sock));
    write!(tls.get_mut(), "NICK {nick}\r\nUSER {nick} 0 * :k\r\n").unwrap();
    read_until(&mut tls, &format!(" 001 {nick} "));
    tls
}

/// Records the server's record layer must refuse after the handshake each end the
/// session with the alert that says why; other clients go on.
#[test]
fn bad_records_after_the_handshake_get_their_alert() {
    let s = TlsServer::start("");
    let mut other = s.server.user("other");
    for (nick, record, alert) in [
        // A handshake record in the clear: unexpected_message.
        ("clear", vec![22, 3, 3, 0, 1, 0], "UnexpectedMessage"),
        // Application data whose tag is wrong: bad_record_mac.
        (
            "forged",
            [&[23, 3, 3, 0, 20][..], &[7; 20]].concat(),
            "BadRecordMac",
        ),
        // Longer than any record may be: record_overflow.
        ("huge", vec![23, 3, 3, 0x48, 0x01], "RecordOverflow"),
    ] {
        let mut tls = raw_tls_user(&s, nick, false);
        tls.get_mut().sock.write_all(&record).unwrap();
        let mut rest = Vec::new();
        let e = tls
            .read_to_end(&mut rest)
            .expect_err("the session ends with an alert");
        assert!(e.to_string().contains(alert), "{nick}: {e}");
        other.send("PING :still");
        other.expect(":irc.test PONG irc.test :still");
    }
}

/// A registered client's TLS 1.3 keys, taken from rustls once the server is quiet: records
/// of any content can be written, and the server's read (ring's own AEAD, not Portico's).
struct Keys {
    sock: TcpStream,
    tx: Box<dyn rustls::crypto::cipher::MessageEncrypter>,
    tx_seq: u64,
    rx: Box<dyn rustls::crypto::cipher::MessageDecrypter>,
    rx_seq: u64,
}

impl Keys {
    fn of(s: &TlsServer, nick: &str) -> Keys {
        use rustls::crypto::ring::cipher_suite as suite;
        use rustls::ConnectionTrafficSecrets as K;
        let mut tls = raw_tls_user(s, nick, true);
        write!(tls.get_mut(), "PING :quiet\r\n").unwrap();
        read_until(&mut tls, "PONG irc.test :quiet");
        let stream = tls.into_inner();
        let secrets = stream.conn.dangerous_extract_secrets().unwrap();
        let aead = |k: &K| {
            let suite = match k {
                K::Aes128Gcm { .. } => suite::TLS13_AES_128_GCM_SHA256,
                K::Aes256Gcm { .. } => suite::TLS13_AES_256_GCM_SHA384,
                _ => suite::TLS13_CHACHA20_POLY1305_SHA256,
            };
            suite.tls13().unwrap().aead_alg
        };
        let ((tx_seq, tx), (rx_seq, rx)) = (secrets.tx, secrets.rx);
        let (tx_aead, rx_aead) = (aead(&tx), aead(&rx));
        let (K::Aes128Gcm { key, iv } | K::Aes256Gcm { key, iv } | K::Chacha20Poly1305 { key, iv }) =
            tx
        else {
            panic!("a TLS 1.3 suite")
        };
        let tx = tx_aead.encrypter(key, iv);
        let (K::Aes128Gcm { key, iv } | K::Aes256Gcm { key, iv } | K::Chacha20Poly1305 { key, iv }) =
            rx
        else {
            panic!("a TLS 1.3 suite")
        };
        let rx = rx_aead.decrypter(key, iv);
        Keys {
            sock: stream.sock,
            tx,
            tx_seq,
            rx,
            rx_seq,
        }
    }

    /// Sends a record of content type `typ` holding `payload`.
    fn send(&mut self, typ: u8, payload: &[u8]) {
        let msg = rustls::crypto::cipher::OutboundPlainMessage {
            typ: typ.into(),
            version: rustls::ProtocolVersion::TLSv1_2,
            payload: payload.into(),
        };
        let record = self.tx.encrypt(msg, self.tx_seq).unwrap();
        self.tx_seq += 1;
        self.sock.write_all(&record.encode()).unwrap();
    }

    /// The server's next record: its content type and plaintext; `None` at EOF.
    fn next(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut head = [0; 5];
        self.sock.read_exact(&mut head).ok()?;
        let mut body = vec![0; usize::from(u16::from_be_bytes([head[3], head[4]]))];
        self.sock.read_exact(&mut body).unwrap();
        let msg = rustls::crypto::cipher::InboundOpaqueMessage::new(
            head[0].into(),
            rustls::ProtocolVersion::TLSv1_2,
            &mut body,
        );
        let msg = self.rx.decrypt(msg, self.rx_seq).unwrap();
        self.rx_seq += 1;
        Some((u8::from(msg.typ), msg.payload.to_vec()))
    }
}

/// Records that decrypt but that no client may send after the handshake: the server ends
/// the session with the alert RFC 8446 names for each (not bad_record_mac, which is for a
/// record that does not decrypt), and the client reads it; an empty application data
/// record is allowed.
#[test]
fn each_refused_record_gets_the_alert_rfc_8446_names() {
    const ALERT: u8 = 21;
    const HANDSHAKE: u8 = 22;
    let s = TlsServer::start("");
    let mut other = s.server.user("other");
    let big = vec![b'a'; (1 << 14) + 1];
    for (nick, typ, payload, alert) in [
        ("zeros", 0, &[0, 0, 0][..], 10),
        ("ccs", 20, &[1][..], 10),
        ("ticket", HANDSHAKE, &[4, 0, 0, 1, 0][..], 10),
        ("kulength", HANDSHAKE, &[24, 0, 0, 2, 0, 0][..], 50),
        ("kurequest", HANDSHAKE, &[24, 0, 0, 1, 7][..], 47),
        ("alert3", ALERT, &[2, 10, 0][..], 50),
        ("big", 23, &big[..], 22),
    ] {
        let mut keys = Keys::of(&s, nick);
        keys.send(typ, payload);
        assert_eq!(keys.next(), Some((ALERT, vec![2, alert])), "{nick}");
        assert_eq!(keys.next(), None, "{nick}: the connection ends");
        other.send("PING :still");
        other.expect(":irc.test PONG irc.test :still");
    }
    let mut keys = Keys::of(&s, "empty");
    keys.send(23, b"");
    keys.send(23, b"PING :after\r\n");
    let pong = b":irc.test PONG irc.test :after\r\n".to_vec();
    assert_eq!(keys.next(), Some((23, pong)));
}

/// After the handshake the server runs the TLS 1.3 record layer itself: key updates both
/// ways (the client's asks for ours), many records, then close_notify on QUIT.
#[test]
fn key_updates_and_close_notify_after_the_handshake() {
    let s = TlsServer::start("");
    let mut tls = raw_tls_user(&s, "ku", false);
    for round in 0..3 {
        // rustls asks the server to update its keys too: its answer (a KeyUpdate under the
        // old keys, then records under new ones) must decrypt here.
        tls.get_mut().conn.refresh_traffic_keys().unwrap();
        for n in 0..50 {
            write!(tls.get_mut(), "PING :r{round}n{n}\r\n").unwrap();
        }
        read_until(
            &mut tls,
            ":r{round}n49"
                .replace("{round}", &round.to_string())
                .as_str(),
        );
    }
    tls.get_mut().write_all(b"QUIT :bye\r\n").unwrap();
    read_until(&mut tls, "ERROR :Closing Link");
    // read_to_end fails on an EOF that close_notify did not announce.
    let mut rest = Vec::new();
    tls.read_to_end(&mut rest).expect("close_notify, then EOF");
}
