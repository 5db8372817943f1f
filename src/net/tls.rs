//! TLS on a connection: a rustls session driven non-blocking by the loop. Encrypted bytes
//! move between the socket and the session; the plaintext takes the same way as a plain
//! socket's: the framer on the way in, the send queue on the way out. Sessions live in a
//! side table keyed by the connection, so plain connections carry nothing for TLS.
//!
//! Memory: rustls's buffered `ServerConnection` keeps a 4 KiB receive buffer and its
//! queues' capacity for as long as the connection lives, several times what a whole plain
//! client costs. The unbuffered API leaves the buffers to the caller: here one set per
//! thread (the loop's, [`Scratch`]) serves every session, and a session keeps bytes of its
//! own only while they are in flight (a record cut by the network, ciphertext the socket
//! would not take yet, plaintext not yet framed), freed as soon as they are gone. After a
//! TLS 1.3 server handshake even rustls's connection goes (about 2 KB that only the
//! handshake needs): [`Records`] (tls_record.rs) does the record layer with the keys
//! rustls hands over, rustls keeping only the secrets for key updates. Record keys are
//! small in either case (the provider's TLS 1.3 suites, `net::tls_aead`).
//! `cargo bench --bench tls_memory` says where an idle session's bytes are.

use super::sendq::{Flushed, SendQ};
use super::tls_record::{Opened, Records};
use crate::config::tls::sha256_hex;
use mio::net::TcpStream;
use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::ServerName;
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};
use rustls::{ClientConfig, ServerConfig};
use std::cell::RefCell;
use std::io::{self, IoSlice, Read, Write};
use std::sync::Arc;

/// Plaintext encrypted per write: one full TLS record.
const PLAIN_BATCH: usize = 16 * 1024;
/// Room for one record's ciphertext: the plaintext plus TLS 1.2's worst overhead (header,
/// explicit nonce, tag), rounded up.
const CIPHER_BATCH: usize = PLAIN_BATCH + 512;
/// Input room: rustls joins a handshake message of up to 64 KiB from several records in the
/// caller's buffer; two records more leave room for the next read.
const INPUT_ROOM: usize = 0xffff + 2 * MAX_RECORD;
/// The longest record on the wire (16 KiB of plaintext, 2 KiB of expansion, the header).
const MAX_RECORD: usize = 16 * 1024 + 2048 + 5;
/// States looked at per call at most: a session alternates between a handful per record, so
/// this only stops a session that would never settle from holding the loop.
const MAX_STEPS: usize = 4096;

/// The buffers every session of this thread's loop shares: a session uses them only within
/// one call, so one set serves all (one loop per thread; a thread-local keeps them out of
/// the loop's code and allocates them only where TLS is used).
struct Scratch {
    input: Vec<u8>,
    plain: Vec<u8>,
    cipher: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        input: vec![0; INPUT_ROOM],
        plain: Vec::with_capacity(PLAIN_BATCH),
        cipher: vec![0; CIPHER_BATCH],
    });
}

/// Boxed, so that a session past its handshake ([`Records`]) is small.
enum Session {
    Server(Box<UnbufferedServerConnection>),
    Client(Box<UnbufferedClientConnection>),
    /// A TLS 1.3 server session after its handshake: our record layer, rustls keeping only
    /// the secrets for key updates.
    Records(Box<Records>),
    /// The session was lost (only while being taken over, which is not expected to fail).
    Gone,
}

pub struct Tls {
    session: Session,
    /// Received ciphertext that is not a whole record yet (empty, unallocated, when idle).
    held_in: Vec<u8>,
    /// Decrypted input not yet taken by [`Tls::read_plain`], and how much was taken.
    plain_in: Vec<u8>,
    plain_pos: usize,
    /// Ciphertext the socket has not taken yet, in order (empty when idle).
    held_out: Vec<u8>,
    /// The handshake finished and the loop was told.
    reported: bool,
    /// The peer said close_notify.
    peer_closed: bool,
    /// close_notify is queued: nothing more is encrypted.
    closed: bool,
    /// A protocol error ended the session (its alert is in `held_out`).
    failed: bool,
}

/// What one read from the socket brought.
pub enum Got {
    /// Bytes (maybe none decrypted yet); read again.
    Bytes(usize),
    /// Nothing more for now.
    Empty,
    /// The peer closed the TCP connection.
    Eof,
}

/// What to do when the session can take application data.
enum Want<'a> {
    /// Nothing: stop there.
    Nothing,
    /// Encrypt these bytes into the given buffer (how many went in is returned).
    Encrypt(&'a [u8], &'a mut Vec<u8>),
    /// Queue close_notify.
    Close,
}

/// Where a run of the session stopped.
enum Stop {
    /// It waits for more input (or for the application).
    Idle,
    /// Application data was encrypted: this many bytes of ciphertext.
    Encrypted(usize),
}

impl Tls {
    pub fn server(config: Arc<ServerConfig>) -> io::Result<Tls> {
        let conn = UnbufferedServerConnection::new(config).map_err(io::Error::other)?;
        Ok(Tls::new(Session::Server(Box::new(conn))))
    }

    /// A session for a connection we dialed to the server called `name`: its ClientHello
    /// waits in [`Tls::wants_write`] for the first flush.
    pub fn client(config: Arc<ClientConfig>, name: &str) -> io::Result<Tls> {
        let name = ServerName::try_from(name.to_string()).map_err(io::Error::other)?;
        let conn = UnbufferedClientConnection::new(config, name).map_err(io::Error::other)?;
        let mut tls = Tls::new(Session::Client(Box::new(conn)));
        tls.run(&mut Want::Nothing)?;
        Ok(tls)
    }

    fn new(session: Session) -> Tls {
        Tls {
            session,
            held_in: Vec::new(),
            plain_in: Vec::new(),
            plain_pos: 0,
            held_out: Vec::new(),
            reported: false,
            peer_closed: false,
            closed: false,
            failed: false,
        }
    }

    /// Reads encrypted bytes and processes them. A protocol error is an `InvalidData`
    /// error; the alert saying so is queued for [`Tls::push`].
    pub fn read_socket(&mut self, sock: &mut TcpStream) -> io::Result<Got> {
        if self.failed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TLS session failed",
            ));
        }
        SCRATCH.with_borrow_mut(|s| {
            let held = self.held_in.len();
            if held == s.input.len() {
                // rustls bounds what it holds unprocessed below this; never reached.
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "TLS input overrun",
                ));
            }
            s.input[..held].copy_from_slice(&self.held_in);
            // One record's worth at a time: what is decrypted stays here until framed.
            let end = s.input.len().min(held + MAX_RECORD);
            let got = match sock.read(&mut s.input[held..end]) {
                Ok(0) => Got::Eof,
                Ok(n) => Got::Bytes(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Got::Empty,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Got::Bytes(0),
                Err(e) => return Err(e),
            };
            let len = held + if let Got::Bytes(n) = got { n } else { 0 };
            let used = self.process(&mut s.input[..len], &mut Want::Nothing)?.0;
            self.hold_input(&s.input[used..len]);
            Ok(got)
        })
    }

    /// Keeps `rest` (an unfinished record) for the next read; nothing when there is none.
    fn hold_input(&mut self, rest: &[u8]) {
        if rest.is_empty() {
            self.held_in = Vec::new();
        } else {
            self.held_in.clear();
            self.held_in.extend_from_slice(rest);
        }
    }

    /// Runs the session on what it holds (no new input), doing `want` when it can.
    fn run(&mut self, want: &mut Want<'_>) -> io::Result<Stop> {
        let mut input = std::mem::take(&mut self.held_in);
        let (used, stop) = self.process(&mut input, want)?;
        self.hold_input(&input[used..]);
        Ok(stop)
    }

    /// Runs the session over `input` until it needs more: decrypted input is kept for
    /// [`Tls::read_plain`], records to send go to `held_out`, and `want` is done once
    /// application data may flow. Returns how many bytes of `input` were used up.
    fn process(&mut self, input: &mut [u8], want: &mut Want<'_>) -> io::Result<(usize, Stop)> {
        if matches!(self.session, Session::Records(_)) {
            return self.records(input, want);
        }
        let mut used = 0;
        for _ in 0..MAX_STEPS {
            let (discard, next) = match &mut self.session {
                Session::Server(c) => {
                    let status = c.process_tls_records(&mut input[used..]);
                    step(status, &mut self.held_out, &mut self.plain_in, want)
                }
                Session::Client(c) => {
                    let status = c.process_tls_records(&mut input[used..]);
                    step(status, &mut self.held_out, &mut self.plain_in, want)
                }
                Session::Records(_) | Session::Gone => (0, Err(lost())),
            };
            used += discard;
            match next {
                Ok(Next::Again) => {}
                Ok(Next::PeerClosed) => self.peer_closed = true,
                Ok(Next::Closing) => self.closed = true,
                Ok(Next::Stop(stop)) => return Ok((used, stop)),
                Err(e) => return Err(self.fail(e, &mut input[used..])),
            }
        }
        let e = rustls::Error::General("TLS session does not settle".into());
        Err(self.fail(e, &mut input[used..]))
    }

    /// Ends the session on a protocol error: the alert rustls queued for it goes to
    /// `held_out` for [`Tls::push`]. `input` is what is left of the input (rustls may look
    /// at it again; an empty slice in its place could be indexed out of bounds).
    fn fail(&mut self, e: rustls::Error, input: &mut [u8]) -> io::Error {
        self.failed = true;
        let mut used = 0;
        for _ in 0..MAX_STEPS {
            let (discard, more) = match &mut self.session {
                Session::Server(c) => alert_step(
                    c.process_tls_records(&mut input[used..]),
                    &mut self.held_out,
                ),
                Session::Client(c) => alert_step(
                    c.process_tls_records(&mut input[used..]),
                    &mut self.held_out,
                ),
                Session::Records(_) | Session::Gone => (0, false),
            };
            used += discard;
            if !more {
                break;
            }
        }
        io::Error::new(io::ErrorKind::InvalidData, format!("TLS error: {e}"))
    }

    /// [`Tls::process`] on our record layer: the records in `input`, then `want`.
    fn records(&mut self, input: &mut [u8], want: &mut Want<'_>) -> io::Result<(usize, Stop)> {
        let Session::Records(r) = &mut self.session else {
            return Err(self.fail(lost(), input));
        };
        let (used, opened) = match r.open(input, &mut self.plain_in) {
            Ok(got) => got,
            Err(fatal) => {
                if let Some(alert) = fatal.alert {
                    r.alert(alert, &mut self.held_out);
                }
                self.failed = true;
                let e = fatal.error;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("TLS error: {e}"),
                ));
            }
        };
        if let Opened::PeerClosed = opened {
            self.peer_closed = true;
        }
        let stop = match std::mem::replace(want, Want::Nothing) {
            Want::Nothing => Stop::Idle,
            Want::Encrypt(plain, out) => {
                out.clear();
                r.seal(plain, out).map_err(|f| {
                    self.failed = true;
                    io::Error::other(format!("TLS error: {}", f.error))
                })?;
                Stop::Encrypted(out.len())
            }
            Want::Close => {
                r.close_notify(&mut self.held_out);
                self.closed = true;
                Stop::Idle
            }
        };
        Ok((used, stop))
    }

    /// Hands a TLS 1.3 server session over to our record layer once its handshake is
    /// done: rustls's connection (about 2 KB idle) is dropped for the keys and secrets.
    fn lighten(&mut self) {
        if !matches!(self.session, Session::Server(_)) {
            return;
        }
        let Session::Server(conn) = std::mem::replace(&mut self.session, Session::Gone) else {
            return;
        };
        self.session = match Records::take(conn) {
            Ok(r) => Session::Records(Box::new(r)),
            Err(Some(conn)) => Session::Server(conn),
            Err(None) => {
                self.failed = true;
                Session::Gone
            }
        };
    }

    /// Decrypted bytes into `buf`: `Some(0)` when none are waiting, `None` once the peer
    /// said close_notify and everything before it was taken.
    pub fn read_plain(&mut self, buf: &mut [u8]) -> Option<usize> {
        let left = &self.plain_in[self.plain_pos..];
        if left.is_empty() {
            return (!self.peer_closed).then_some(0);
        }
        let n = left.len().min(buf.len());
        buf[..n].copy_from_slice(&left[..n]);
        self.plain_pos += n;
        if self.plain_pos == self.plain_in.len() {
            self.plain_in = Vec::new();
            self.plain_pos = 0;
        }
        Some(n)
    }

    /// Once, when the handshake has just finished: the peer certificate's fingerprint, if
    /// it showed one.
    pub fn take_handshake_done(&mut self) -> Option<Option<Box<str>>> {
        if self.reported || self.failed || self.handshaking() {
            return None;
        }
        self.reported = true;
        let fp = self
            .common()
            .and_then(|c| c.peer_certificates())
            .and_then(|c| c.first())
            .map(|leaf| sha256_hex(leaf).into());
        self.lighten();
        Some(fp)
    }

    /// Whether encrypted bytes wait for the socket.
    pub fn wants_write(&self) -> bool {
        !self.held_out.is_empty()
    }

    /// Writes held encrypted bytes; false if the socket filled up first.
    pub fn push(&mut self, sock: &mut TcpStream) -> io::Result<bool> {
        let written = write_some(sock, &self.held_out)?;
        if written == self.held_out.len() {
            self.held_out = Vec::new();
            Ok(true)
        } else {
            self.held_out.drain(..written);
            Ok(false)
        }
    }

    /// The send queue through the session: what is blocked is what the socket (or, during
    /// the handshake, the session) will not take yet.
    pub fn flush(&mut self, q: &mut SendQ, sock: &mut TcpStream) -> io::Result<Flushed> {
        let flushed = q.flush(&mut Sink { tls: self, sock })?;
        if !self.push(sock)? {
            return Ok(Flushed::Blocked);
        }
        Ok(flushed)
    }

    /// Says close_notify (the peer knows the end is not a truncation) and writes it.
    pub fn close(&mut self, sock: &mut TcpStream) {
        if self.may_send() {
            let _ = self.run(&mut Want::Close);
        }
        let _ = self.push(sock);
    }

    /// Encrypts `plain` and writes it after what is held; what the socket does not take
    /// is held. Returns false if the session cannot take application data yet.
    fn send(&mut self, plain: &[u8], sock: &mut TcpStream) -> io::Result<bool> {
        SCRATCH.with_borrow_mut(|s| {
            match self.run(&mut Want::Encrypt(plain, &mut s.cipher))? {
                Stop::Idle => Ok(false),
                Stop::Encrypted(n) => {
                    let cipher = &s.cipher[..n];
                    // Records the run queued (a key update, a ticket) go before this data.
                    let written = if self.held_out.is_empty() {
                        write_some(sock, cipher)?
                    } else {
                        0
                    };
                    self.held_out.extend_from_slice(&cipher[written..]);
                    Ok(true)
                }
            }
        })
    }

    /// Whether application data may be encrypted now: not before the handshake is done
    /// (the peer's certificate is not checked until then).
    fn may_send(&self) -> bool {
        !self.failed && !self.closed && !self.handshaking()
    }

    fn handshaking(&self) -> bool {
        self.common().is_some_and(|c| c.is_handshaking())
    }

    /// The session's state as rustls shares it between clients and servers, while rustls
    /// has it.
    fn common(&self) -> Option<&rustls::CommonState> {
        match &self.session {
            Session::Server(c) => Some(c),
            Session::Client(c) => Some(c),
            Session::Records(_) | Session::Gone => None,
        }
    }
}

fn lost() -> rustls::Error {
    rustls::Error::General("TLS session lost".into())
}

/// What a step of the session asks next.
enum Next {
    Again,
    PeerClosed,
    Closing,
    Stop(Stop),
}

/// One state of a session (server or client alike): the bytes of the input to discard
/// (also on an error) and what to do next.
fn step<Data>(
    status: UnbufferedStatus<'_, '_, Data>,
    held_out: &mut Vec<u8>,
    plain_in: &mut Vec<u8>,
    want: &mut Want<'_>,
) -> (usize, Result<Next, rustls::Error>) {
    let mut discard = status.discard;
    let next = match status.state {
        Err(e) => Err(e),
        Ok(ConnectionState::ReadTraffic(mut r)) => loop {
            match r.next_record() {
                None => break Ok(Next::Again),
                Some(Err(e)) => break Err(e),
                Some(Ok(record)) => {
                    discard += record.discard;
                    plain_in.extend_from_slice(record.payload);
                }
            }
        },
        Ok(ConnectionState::EncodeTlsData(mut e)) => {
            encode(held_out, |out| e.encode(out).map_err(encode_size)).map(|()| Next::Again)
        }
        // The records are in `held_out`, which goes out before anything encrypted later.
        Ok(ConnectionState::TransmitTlsData(t)) => {
            t.done();
            Ok(Next::Again)
        }
        Ok(ConnectionState::PeerClosed) => Ok(Next::PeerClosed),
        Ok(ConnectionState::WriteTraffic(mut w)) => match std::mem::replace(want, Want::Nothing) {
            Want::Nothing => Ok(Next::Stop(Stop::Idle)),
            Want::Encrypt(plain, out) => {
                encrypt(out, |out| w.encrypt(plain, out)).map(|n| Next::Stop(Stop::Encrypted(n)))
            }
            Want::Close => encode(held_out, |out| {
                w.queue_close_notify(out).map_err(encrypt_size)
            })
            .map(|()| Next::Closing),
        },
        Ok(ConnectionState::BlockedHandshake | ConnectionState::Closed) => {
            Ok(Next::Stop(Stop::Idle))
        }
        // Early data is not enabled (`max_early_data_size` is 0), so none can come.
        Ok(_) => Err(rustls::Error::General(
            "unexpected TLS connection state".into(),
        )),
    };
    (discard, next)
}

/// After a failure: encodes a queued alert into `held_out`. Returns the input to discard
/// and whether to look again.
fn alert_step<Data>(
    status: UnbufferedStatus<'_, '_, Data>,
    held_out: &mut Vec<u8>,
) -> (usize, bool) {
    let discard = status.discard;
    let more = match status.state {
        Ok(ConnectionState::EncodeTlsData(mut e)) => {
            encode(held_out, |out| e.encode(out).map_err(encode_size)).is_ok()
        }
        Ok(ConnectionState::TransmitTlsData(t)) => {
            t.done();
            true
        }
        _ => false,
    };
    (discard, more)
}

fn encode_size(e: EncodeError) -> Option<usize> {
    match e {
        EncodeError::InsufficientSize(s) => Some(s.required_size),
        _ => None,
    }
}

fn encrypt_size(e: EncryptError) -> Option<usize> {
    match e {
        EncryptError::InsufficientSize(s) => Some(s.required_size),
        _ => None,
    }
}

/// Appends what `write` puts in a buffer to `held_out`, growing the room as asked.
fn encode(
    held_out: &mut Vec<u8>,
    mut write: impl FnMut(&mut [u8]) -> Result<usize, Option<usize>>,
) -> Result<(), rustls::Error> {
    let start = held_out.len();
    let mut room = 512;
    loop {
        held_out.resize(start + room, 0);
        match write(&mut held_out[start..]) {
            Ok(n) => {
                held_out.truncate(start + n);
                return Ok(());
            }
            Err(Some(need)) if need > room => room = need,
            Err(_) => {
                held_out.truncate(start);
                return Err(rustls::Error::General("TLS record encoding failed".into()));
            }
        }
    }
}

/// Encrypts into `out` (the shared buffer), growing it if a record needs more room.
fn encrypt(
    out: &mut Vec<u8>,
    mut write: impl FnMut(&mut [u8]) -> Result<usize, EncryptError>,
) -> Result<usize, rustls::Error> {
    loop {
        match write(out) {
            Ok(n) => return Ok(n),
            Err(EncryptError::InsufficientSize(s)) if s.required_size > out.len() => {
                out.resize(s.required_size, 0);
            }
            Err(e) => return Err(rustls::Error::General(format!("TLS encryption: {e}"))),
        }
    }
}

/// Writes as much of `bytes` as the socket takes now.
fn write_some(sock: &mut TcpStream, bytes: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < bytes.len() {
        match sock.write(&bytes[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// The send queue's writer for a TLS connection: plaintext is encrypted only once the
/// records before it are on the socket, so a session holds at most one record's worth.
struct Sink<'a> {
    tls: &'a mut Tls,
    sock: &'a mut TcpStream,
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if !self.tls.push(self.sock)? || !self.tls.may_send() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        // The lines into one record: one encryption and 22 bytes of overhead per 16 KiB,
        // not per line.
        let mut plain = SCRATCH.with_borrow_mut(|s| std::mem::take(&mut s.plain));
        plain.clear();
        for b in bufs {
            let room = PLAIN_BATCH - plain.len();
            plain.extend_from_slice(&b[..b.len().min(room)]);
            if plain.len() == PLAIN_BATCH {
                break;
            }
        }
        let sent = self.tls.send(&plain, self.sock);
        let n = plain.len();
        SCRATCH.with_borrow_mut(|s| s.plain = plain);
        match sent? {
            true => Ok(n),
            false => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
