//! TLS and WebSocket for the load tool (`--tls`, `--websocket`, both: wss): each client's bytes pass
//! through a session that the engine feeds what it read and drains what to write, so the
//! engine's socket handling stays the same for every transport. Sessions are sans-I/O:
//! rustls reads from and writes to byte slices, tungstenite to an in-memory [`Pipe`].
//!
//! Loopback load generation only: the TLS client takes any server certificate (the
//! handshake signature is still checked), as a benchmark against a test certificate needs.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::ClientHandshake;
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::http::HeaderValue;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

/// Which transport every client of the run uses.
#[derive(Clone)]
pub enum Kind {
    Tls(Arc<ClientConfig>, ServerName<'static>),
    /// WebSocket (`text.ircv3.net`) to this address.
    Ws(SocketAddr),
    /// WebSocket over TLS (`--tls --websocket`).
    Wss(Arc<ClientConfig>, ServerName<'static>, SocketAddr),
}

impl Kind {
    pub fn tls(server: SocketAddr) -> Kind {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("rustls protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCert(provider)))
            .with_no_client_auth();
        Kind::Tls(Arc::new(config), ServerName::IpAddress(server.ip().into()))
    }

    pub fn wss(server: SocketAddr) -> Kind {
        let Kind::Tls(config, name) = Kind::tls(server) else {
            unreachable!("Kind::tls is TLS")
        };
        Kind::Wss(config, name, server)
    }

    pub fn name(&self) -> &'static str {
        match self {
            Kind::Tls(..) => "tls",
            Kind::Ws(_) => "websocket",
            Kind::Wss(..) => "wss",
        }
    }

    pub fn start(&self) -> io::Result<Transport> {
        match self {
            Kind::Tls(config, name) => Ok(Transport::Tls(tls_start(config, name)?)),
            Kind::Ws(addr) => Ok(Transport::Ws(Box::new(ws_start(*addr)?))),
            Kind::Wss(config, name, addr) => {
                let mut c = tls_start(config, name)?;
                let mut w = Box::new(ws_start(*addr)?);
                // The upgrade request waits in the session for the end of the handshake.
                ws_to_tls(&mut w, &mut c)?;
                Ok(Transport::Wss(c, w))
            }
        }
    }
}

pub enum Transport {
    Tls(Box<ClientConnection>),
    Ws(Box<Ws>),
    /// WebSocket bytes through a TLS session.
    Wss(Box<ClientConnection>, Box<Ws>),
}

fn tls_start(
    config: &Arc<ClientConfig>,
    name: &ServerName<'static>,
) -> io::Result<Box<ClientConnection>> {
    let mut c = ClientConnection::new(config.clone(), name.clone()).map_err(io::Error::other)?;
    // The engine bounds its own output; the session must not refuse any.
    c.set_buffer_limit(None);
    Ok(Box::new(c))
}

/// Moves what the WebSocket session wrote into the TLS session.
fn ws_to_tls(w: &mut Ws, c: &mut ClientConnection) -> io::Result<()> {
    let tx = std::mem::take(&mut w.pipe_mut().tx);
    c.writer().write_all(&tx)
}

impl Transport {
    /// Bytes read from the socket in; the IRC bytes they carry are appended to `plain`
    /// (WebSocket messages each become a line). An error ends the connection.
    pub fn input(&mut self, wire: &[u8], plain: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Transport::Tls(c) => tls_input(c, wire, plain),
            Transport::Ws(w) => w.input(wire, plain),
            Transport::Wss(c, w) => {
                let mut bytes = Vec::new();
                tls_input(c, wire, &mut bytes)?;
                w.input(&bytes, plain)?;
                // Held lines after the upgrade, pongs.
                ws_to_tls(w, c)
            }
        }
    }

    /// IRC lines to send (complete lines, CR LF ended).
    pub fn output(&mut self, lines: &[u8]) -> io::Result<()> {
        match self {
            Transport::Tls(c) => c.writer().write_all(lines),
            Transport::Ws(w) => w.output(lines),
            Transport::Wss(c, w) => {
                w.output(lines)?;
                ws_to_tls(w, c)
            }
        }
    }

    /// Writes what waits for the socket; Ok(true) once nothing is left.
    pub fn write_to(&mut self, sock: &mut impl Write) -> io::Result<bool> {
        match self {
            Transport::Tls(c) | Transport::Wss(c, _) => {
                while c.wants_write() {
                    match c.write_tls(sock) {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(true)
            }
            Transport::Ws(w) => w.write_to(sock),
        }
    }

    /// Whether bytes wait for the socket.
    pub fn pending(&self) -> usize {
        match self {
            Transport::Tls(c) | Transport::Wss(c, _) => usize::from(c.wants_write()),
            Transport::Ws(w) => w.pipe().tx.len(),
        }
    }
}

fn tls_input(c: &mut ClientConnection, mut wire: &[u8], plain: &mut Vec<u8>) -> io::Result<()> {
    while !wire.is_empty() {
        c.read_tls(&mut wire)?;
        c.process_new_packets()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        match c.reader().read_to_end(plain) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// An in-memory stream for tungstenite: reads what the socket brought, collects what to
/// write. An empty read side is `WouldBlock`, as a non-blocking socket would say.
#[derive(Default)]
pub struct Pipe {
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.rx.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.rx.len());
        buf[..n].copy_from_slice(&self.rx[..n]);
        self.rx.drain(..n);
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub enum Ws {
    /// The upgrade request is out; lines to send wait for the answer.
    Handshaking(Option<MidHandshake<ClientHandshake<Pipe>>>, Vec<u8>),
    Open(WebSocket<Pipe>),
}

/// Small buffers: the tool holds 10,000 of these, and IRC messages are short.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

fn ws_start(addr: SocketAddr) -> io::Result<Ws> {
    let mut req = format!("ws://{addr}/")
        .into_client_request()
        .map_err(io::Error::other)?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("text.ircv3.net"),
    );
    match tungstenite::client::client_with_config(req, Pipe::default(), Some(ws_config())) {
        Ok((ws, _)) => Ok(Ws::Open(ws)),
        Err(HandshakeError::Interrupted(mid)) => Ok(Ws::Handshaking(Some(mid), Vec::new())),
        Err(HandshakeError::Failure(e)) => Err(io::Error::other(e)),
    }
}

impl Ws {
    fn pipe(&self) -> &Pipe {
        match self {
            Ws::Handshaking(Some(mid), _) => mid.get_ref().get_ref(),
            Ws::Handshaking(None, _) => unreachable!("a handshake in progress is kept"),
            Ws::Open(ws) => ws.get_ref(),
        }
    }

    fn pipe_mut(&mut self) -> &mut Pipe {
        match self {
            Ws::Handshaking(Some(mid), _) => mid.get_mut().get_mut(),
            Ws::Handshaking(None, _) => unreachable!("a handshake in progress is kept"),
            Ws::Open(ws) => ws.get_mut(),
        }
    }

    fn input(&mut self, wire: &[u8], plain: &mut Vec<u8>) -> io::Result<()> {
        self.pipe_mut().rx.extend_from_slice(wire);
        if let Ws::Handshaking(mid, held) = self {
            match mid.take().expect("kept").handshake() {
                Ok((ws, _)) => {
                    let held = std::mem::take(held);
                    *self = Ws::Open(ws);
                    self.output(&held)?;
                }
                Err(HandshakeError::Interrupted(m)) => {
                    *mid = Some(m);
                    return Ok(());
                }
                Err(HandshakeError::Failure(e)) => return Err(io::Error::other(e)),
            }
        }
        let Ws::Open(ws) = self else {
            return Ok(());
        };
        loop {
            match ws.read() {
                Ok(Message::Text(t)) => {
                    plain.extend_from_slice(t.as_bytes());
                    plain.extend_from_slice(b"\r\n");
                }
                Ok(Message::Binary(b)) => {
                    plain.extend_from_slice(&b);
                    plain.extend_from_slice(b"\r\n");
                }
                // Pings are answered by tungstenite on the next write.
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Queued control frames (a pong) go out with the next write.
                    return match ws.flush() {
                        Err(tungstenite::Error::Io(e)) if e.kind() != io::ErrorKind::WouldBlock => {
                            Err(e)
                        }
                        _ => Ok(()),
                    };
                }
                Err(e) => return Err(io::Error::other(e)),
            }
        }
    }

    fn output(&mut self, lines: &[u8]) -> io::Result<()> {
        match self {
            Ws::Handshaking(_, held) => held.extend_from_slice(lines),
            Ws::Open(ws) => {
                for line in lines.split(|&b| b == b'\n') {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.is_empty() {
                        continue;
                    }
                    let text = String::from_utf8_lossy(line).into_owned();
                    ws.write(Message::text(text)).map_err(io::Error::other)?;
                }
                ws.flush().map_err(io::Error::other)?;
            }
        }
        Ok(())
    }

    fn write_to(&mut self, sock: &mut impl Write) -> io::Result<bool> {
        let tx = &mut self.pipe_mut().tx;
        let mut written = 0;
        let result = loop {
            if written == tx.len() {
                break Ok(true);
            }
            match sock.write(&tx[written..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        tx.drain(..written);
        result
    }
}

/// Takes any server certificate; the handshake signature is still checked.
#[derive(Debug)]
struct AnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
