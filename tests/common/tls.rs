//! TLS for the tests: the certificates in tests/data and a rustls client behind a
//! [`TestClient`], so TLS tests read and assert lines like any other.
#![allow(dead_code)]

use super::{TestClient, TIMEOUT};
use portico::config::tls::{load_certs, pinned_client_config, sha256_hex, Identity};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{PrivateKeyDer, ServerName};
use rustls::{ClientConnection, StreamOwned};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A file in tests/data (`server`, `server2` and `client` `.crt`/`.key`: self-signed, EC
/// P-256, valid until 2126).
pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The SHA-256 fingerprint of tests/data/`name`.crt, as the server shows it.
pub fn fingerprint(name: &str) -> String {
    sha256_hex(&load_certs(&data(&format!("{name}.crt"))).unwrap()[0])
}

/// The certificate and key tests/data/`name`.crt/.key.
pub fn identity(name: &str) -> Identity {
    let certs = load_certs(&data(&format!("{name}.crt"))).unwrap();
    let key = PrivateKeyDer::from_pem_file(data(&format!("{name}.key"))).unwrap();
    (certs, key)
}

type Shared = Arc<Mutex<StreamOwned<ClientConnection, TcpStream>>>;

/// One side of the shared session: the test thread only ever reads or writes at a time.
struct Half(Shared);

impl Read for Half {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.lock().unwrap().read(buf)
    }
}

impl Write for Half {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap().flush()
    }
}

/// Connects with TLS, trusting only tests/data/`server_cert`.crt and showing the client
/// certificate `client` if given; returns once the handshake is done (or failed).
pub fn connect(
    addr: SocketAddr,
    server_cert: &str,
    client: Option<&str>,
) -> io::Result<TestClient> {
    over(TcpStream::connect(addr)?, server_cert, client)
}

/// Like [`connect`] with a 4 KiB receive buffer: a client that stops reading fills the
/// server's send queue soon.
pub fn connect_small_rcvbuf(addr: SocketAddr, server_cert: &str) -> io::Result<TestClient> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    sock.set_recv_buffer_size(4096)?;
    sock.connect(&addr.into())?;
    over(sock.into(), server_cert, None)
}

/// The TLS handshake over `sock`, then a [`TestClient`] on the session.
fn over(mut sock: TcpStream, server_cert: &str, client: Option<&str>) -> io::Result<TestClient> {
    let config = pinned_client_config(&fingerprint(server_cert), client.map(identity))
        .map_err(io::Error::other)?;
    sock.set_read_timeout(Some(TIMEOUT))?;
    let name = ServerName::try_from("irc.test").unwrap();
    let mut conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)?;
    }
    let shared = Arc::new(Mutex::new(StreamOwned::new(conn, sock.try_clone()?)));
    Ok(TestClient::from_io(
        sock,
        Box::new(Half(shared.clone())),
        Box::new(Half(shared)),
    ))
}
