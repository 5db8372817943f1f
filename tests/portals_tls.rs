//! Portals over TLS: two Portico servers linked through a TLS listener with the peer's
//! certificate pinned by fingerprint; a wrong fingerprint refuses the link; a portal that
//! says `tls = true` refuses the handshake over a plain connection.

mod common;
use common::net::PASSWORD;
use common::tls::{connect, data, fingerprint};
use common::{TempDir, TestServer};
use portico::config::Config;
use portico::net::Options;
use rustls::ServerConnection;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

/// Starts the server configured by `text`, written as `name`.toml in `dir` (where the
/// test certificates are copied).
fn start(dir: &TempDir, name: &str, text: &str) -> TestServer {
    let path = dir.write(&format!("{name}.toml"), text);
    let mut opts = Options::new(Config::load(&path).expect("test config"));
    opts.config_path = Some(path);
    TestServer::with_options(opts)
}

fn server_head(name: &str, id: u16) -> String {
    format!(
        "[server]\nname = \"{name}\"\nid = {id}\nmotd = \"hi\"\n\n\
         [limits]\nflood_burst = 1000\nmax_clients_per_ip = 0\n\n\
         [[listen]]\naddress = \"127.0.0.1:0\"\n"
    )
}

/// `a.test`: a plain listener and a TLS one (tests/data/server.crt); portal `b.test`
/// accepted, over TLS only.
fn start_hub(dir: &TempDir) -> TestServer {
    dir.copy(&data("server.crt"), "cert.pem");
    dir.copy(&data("server.key"), "key.pem");
    let text = format!(
        "{}\n[[listen]]\naddress = \"127.0.0.2:0\"\ntls = true\ncert = \"cert.pem\"\nkey = \"key.pem\"\n\n\
         [[portal]]\nname = \"b.test\"\nid = 2\npassword = \"{PASSWORD}\"\ntls = true\n",
        server_head("a.test", 1)
    );
    start(dir, "a", &text)
}

/// `b.test`, dialing `a.test` at `addr` with TLS, pinning `pin`.
fn start_leaf(dir: &TempDir, addr: SocketAddr, pin: &str) -> TestServer {
    let text = format!(
        "{}\n[[portal]]\nname = \"a.test\"\nid = 1\npassword = \"{PASSWORD}\"\n\
         address = \"{addr}\"\nconnect = true\ntls = true\nfingerprint = \"{pin}\"\n",
        server_head("b.test", 2)
    );
    start(dir, "b", &text)
}

/// `sha256:` and the fingerprint in colon-separated upper case, as openssl prints it.
fn openssl_style(fp: &str) -> String {
    let bytes: Vec<String> = (0..fp.len())
        .step_by(2)
        .map(|i| fp[i..i + 2].to_uppercase())
        .collect();
    format!("sha256:{}", bytes.join(":"))
}

#[test]
fn portico_servers_link_over_tls_with_a_pinned_fingerprint() {
    let dir = TempDir::new();
    let a = start_hub(&dir);
    let b = start_leaf(
        &dir,
        a.running.addrs[1],
        &openssl_style(&fingerprint("server")),
    );
    a.wait_servers(&["b.test"]);
    b.wait_servers(&["a.test"]);
    let mut alice = a.user_on("alice");
    let mut bob = b.user_on("bob");
    // One after the other: joining at once, bob could see alice's JOIN arrive after his
    // own NAMES, where the last line expects only her private message.
    alice.send("JOIN #tls");
    alice.skip_until(" 366 ");
    b.wait_for("alice in #tls on b.test", |s| s.contains("#tls"));
    bob.send("JOIN #tls");
    bob.skip_until(" 366 ");
    alice.skip_until(":bob!~bob@127.0.0.1 JOIN #tls");
    bob.send("PRIVMSG #tls :over the encrypted portal");
    alice.skip_until(":bob!~bob@127.0.0.1 PRIVMSG #tls :over the encrypted portal");
    alice.send("PRIVMSG bob :and back");
    bob.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :and back");
}

#[test]
fn a_wrong_fingerprint_refuses_the_link() {
    let dir = TempDir::new();
    // A stand-in for a.test showing server.crt, while b.test pins server2.crt.
    let fake = TcpListener::bind("127.0.0.1:0").unwrap();
    let _b = start_leaf(&dir, fake.local_addr().unwrap(), &fingerprint("server2"));
    let (mut sock, _) = fake.accept().unwrap();
    sock.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let identity = common::tls::identity("server");
    let config = rustls::ServerConfig::builder_with_provider(portico::config::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(identity.0, identity.1)
        .unwrap();
    let mut conn = ServerConnection::new(Arc::new(config)).unwrap();
    let mut result = Ok((0, 0));
    while conn.is_handshaking() && result.is_ok() {
        result = conn.complete_io(&mut sock);
    }
    let e = result.expect_err("the dialer must refuse the certificate");
    // rustls's alert for a certificate its verifier turned down.
    assert!(e.to_string().contains("CertificateUnknown"), "{e}");
}

#[test]
fn a_tls_portal_refuses_a_plain_handshake_and_takes_a_tls_one() {
    let dir = TempDir::new();
    let a = start_hub(&dir);
    let handshake = |c: &mut common::TestClient| {
        c.nick = "raw-server".into();
        c.send(&format!("PASS {PASSWORD} 0210-PORTICO portico|0.1.0"));
        c.send("CAPAB 1 2 :EOB");
        c.send("SERVER b.test 1 2 :raw");
    };
    let mut plain = a.connect();
    handshake(&mut plain);
    let seen = plain.skip_until("ERROR ");
    let error = seen.last().unwrap();
    assert!(
        error.contains("TLS required for portal b.test: connect to a TLS listener"),
        "{error}"
    );
    let mut tls = connect(a.running.addrs[1], "server", None).expect("TLS handshake");
    handshake(&mut tls);
    tls.expect(&format!("PASS {PASSWORD} 0210-PORTICO portico|0.1.0"));
    let burst = tls.skip_until("SERVER a.test ");
    assert!(burst.iter().all(|l| !l.starts_with("ERROR")), "{burst:#?}");
}
