//! TLS on a connection: a rustls session driven non-blocking by the loop. Encrypted bytes
//! move between the socket and the session (`read_tls`/`write_tls`); the plaintext takes
//! the same way as a plain socket's: the framer on the way in, the send queue on the way
//! out. Sessions live in a side table keyed by the connection, so plain connections carry
//! nothing for TLS.

use super::sendq::{Flushed, SendQ};
use crate::config::tls::sha256_hex;
use mio::net::TcpStream;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};
use std::io::{self, IoSlice, Read, Write};
use std::sync::Arc;

pub struct Tls {
    conn: Connection,
    /// The handshake finished and the loop was told.
    reported: bool,
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

impl Tls {
    pub fn server(config: Arc<ServerConfig>) -> io::Result<Tls> {
        let conn = ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(Tls {
            conn: conn.into(),
            reported: false,
        })
    }

    /// A session for a connection we dialed to the server called `name`.
    pub fn client(config: Arc<ClientConfig>, name: &str) -> io::Result<Tls> {
        let name = ServerName::try_from(name.to_string()).map_err(io::Error::other)?;
        let conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
        Ok(Tls {
            conn: conn.into(),
            reported: false,
        })
    }

    /// Reads encrypted bytes and processes them. A protocol error is an `InvalidData`
    /// error; the alert saying so is queued for [`Tls::push`].
    pub fn read_socket(&mut self, sock: &mut TcpStream) -> io::Result<Got> {
        let got = match self.conn.read_tls(sock) {
            Ok(0) => Got::Eof,
            Ok(n) => Got::Bytes(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Got::Empty,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Got::Bytes(0),
            Err(e) => return Err(e),
        };
        self.conn
            .process_new_packets()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("TLS error: {e}")))?;
        Ok(got)
    }

    /// Decrypted bytes into `buf`: `Ok(0)` when none are waiting, `None` once the peer
    /// said close_notify.
    pub fn read_plain(&mut self, buf: &mut [u8]) -> Option<usize> {
        match self.conn.reader().read(buf) {
            Ok(0) => None,
            Ok(n) => Some(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Some(0),
            // The TCP connection ended without close_notify: seen as Eof from the socket.
            Err(_) => Some(0),
        }
    }

    /// Once, when the handshake has just finished: the peer certificate's fingerprint, if
    /// it showed one.
    pub fn take_handshake_done(&mut self) -> Option<Option<Box<str>>> {
        if self.reported || self.conn.is_handshaking() {
            return None;
        }
        self.reported = true;
        let fp = self
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|leaf| sha256_hex(leaf).into());
        Some(fp)
    }

    /// Whether encrypted bytes wait for the socket.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Writes held encrypted bytes; false if the socket filled up first.
    pub fn push(&mut self, sock: &mut TcpStream) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// The send queue through the session: what is blocked is what the socket (or, during
    /// the handshake, the session's buffer) will not take yet.
    pub fn flush(&mut self, q: &mut SendQ, sock: &mut TcpStream) -> io::Result<Flushed> {
        let flushed = q.flush(&mut Sink { tls: self, sock })?;
        if !self.push(sock)? {
            return Ok(Flushed::Blocked);
        }
        Ok(flushed)
    }

    /// Says close_notify (the peer knows the end is not a truncation) and writes it.
    pub fn close(&mut self, sock: &mut TcpStream) {
        self.conn.send_close_notify();
        let _ = self.push(sock);
    }
}

/// The send queue's writer for a TLS connection: plaintext goes into the session only once
/// the records before it are on the socket, so the session holds at most one write's worth.
struct Sink<'a> {
    tls: &'a mut Tls,
    sock: &'a mut TcpStream,
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if !self.tls.push(self.sock)? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match self.tls.conn.writer().write_vectored(bufs)? {
            // The session's buffer is full (only while handshaking).
            0 => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
