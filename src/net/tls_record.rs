//! TLS 1.3 records of a server session after its handshake, without rustls's connection.
//!
//! Why: an idle rustls connection keeps about 2 KB that only the handshake needs (the
//! connection with its handshake deframer's table, empty queues' capacity). Once a TLS 1.3
//! handshake is done, rustls's kernel API (made for kernel TLS) hands over the traffic keys
//! and sequence numbers and keeps just the secrets for key updates (`KernelConnection`);
//! this module does the record layer in their place: RFC 8446 section 5, with the suite's
//! own AEAD (ring, through the provider's suite) sealing and opening each record.
//!
//! What the peer may send now: application data, alerts (close_notify ends the input;
//! user_canceled is a warning; any other is fatal) and KeyUpdate (new receive keys, and new
//! sending keys after a KeyUpdate of ours if it asks). Anything else is an
//! unexpected_message. Before the suite's confidentiality limit we update our sending keys.

use rustls::crypto::cipher::{
    InboundOpaqueMessage, MessageDecrypter, MessageEncrypter, OutboundPlainMessage,
};
use rustls::kernel::KernelConnection;
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::{
    ConnectionTrafficSecrets, ContentType, Error, ProtocolVersion, SupportedCipherSuite,
    Tls13CipherSuite,
};

/// The largest plaintext in one record (RFC 8446 section 5.1).
const MAX_PLAIN: usize = 1 << 14;
/// The largest record body: plaintext, content type, padding and tag (section 5.2).
const MAX_BODY: usize = MAX_PLAIN + 256;
const HEADER: usize = 5;
/// Alert descriptions (section 6).
const CLOSE_NOTIFY: u8 = 0;
const UNEXPECTED_MESSAGE: u8 = 10;
const BAD_RECORD_MAC: u8 = 20;
const RECORD_OVERFLOW: u8 = 22;
const USER_CANCELED: u8 = 90;
/// The handshake message type of KeyUpdate.
const KEY_UPDATE: u8 = 24;

pub struct Records {
    kernel: KernelConnection<ServerConnectionData>,
    suite: &'static Tls13CipherSuite,
    tx: Box<dyn MessageEncrypter>,
    tx_seq: u64,
    rx: Box<dyn MessageDecrypter>,
    rx_seq: u64,
}

/// A fatal condition: the alert to send (none when the peer sent one) and why.
pub struct Fatal {
    pub alert: Option<u8>,
    pub error: Error,
}

fn fatal(alert: u8, why: &str) -> Fatal {
    Fatal {
        alert: Some(alert),
        error: Error::General(why.into()),
    }
}

/// What [`Records::open`] found besides data.
pub enum Opened {
    More,
    /// close_notify: nothing after it counts.
    PeerClosed,
}

impl Records {
    /// Takes over `conn` if it is a TLS 1.3 session whose handshake is done (its records
    /// all encoded: the caller ran it until it waited); gives it back otherwise. `Err(None)`:
    /// rustls gave up the session but it could not be taken over (not expected: extraction
    /// is enabled and nothing is buffered); the connection must end.
    pub fn take(
        conn: Box<UnbufferedServerConnection>,
    ) -> Result<Records, Option<Box<UnbufferedServerConnection>>> {
        let suite = match conn.negotiated_cipher_suite() {
            Some(SupportedCipherSuite::Tls13(s)) if !conn.is_handshaking() => s,
            _ => return Err(Some(conn)),
        };
        let (secrets, kernel) = match (*conn).dangerous_into_kernel_connection() {
            Ok(pair) => pair,
            Err(e) => {
                log::warn!("TLS: cannot take over the record layer: {e}");
                return Err(None);
            }
        };
        let (tx_seq, tx) = secrets.tx;
        let (rx_seq, rx) = secrets.rx;
        let (Some(tx), Some(rx)) = (encrypter(suite, tx), decrypter(suite, rx)) else {
            return Err(None);
        };
        Ok(Records {
            kernel,
            suite,
            tx,
            tx_seq,
            rx,
            rx_seq,
        })
    }

    /// Opens the whole records at the start of `input`, appending application data to
    /// `plain` and any record to send back (a KeyUpdate's answer) to `out`. Returns how
    /// many bytes of `input` were used.
    pub fn open(
        &mut self,
        input: &mut [u8],
        plain: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(usize, Opened), Fatal> {
        let mut used = 0;
        while input.len() - used >= HEADER {
            let head = &input[used..used + HEADER];
            let len = usize::from(u16::from_be_bytes([head[3], head[4]]));
            if head[0] != u8::from(ContentType::ApplicationData) {
                return Err(fatal(UNEXPECTED_MESSAGE, "TLS record not encrypted"));
            }
            if len > MAX_BODY {
                return Err(fatal(RECORD_OVERFLOW, "TLS record too long"));
            }
            let end = used + HEADER + len;
            if input.len() < end {
                break;
            }
            let body = &mut input[used + HEADER..end];
            used = end;
            let msg = InboundOpaqueMessage::new(
                ContentType::ApplicationData,
                ProtocolVersion::TLSv1_2,
                body,
            );
            let seq = self.rx_seq;
            let msg = self
                .rx
                .decrypt(msg, seq)
                .map_err(|_| fatal(BAD_RECORD_MAC, "TLS record does not decrypt"))?;
            self.rx_seq += 1;
            match msg.typ {
                ContentType::ApplicationData => plain.extend_from_slice(msg.payload),
                ContentType::Alert => match msg.payload {
                    [_, CLOSE_NOTIFY] => return Ok((used, Opened::PeerClosed)),
                    [_, USER_CANCELED] => {}
                    [_, desc] => {
                        return Err(Fatal {
                            alert: None,
                            error: Error::General(format!("peer sent TLS alert {desc}")),
                        })
                    }
                    _ => return Err(fatal(UNEXPECTED_MESSAGE, "malformed TLS alert")),
                },
                ContentType::Handshake => {
                    let payload = msg.payload.to_vec();
                    self.key_update(&payload, out)?;
                }
                _ => return Err(fatal(UNEXPECTED_MESSAGE, "unexpected TLS record")),
            }
        }
        Ok((used, Opened::More))
    }

    /// The peer's KeyUpdate (the only handshake message a TLS 1.3 client may send now,
    /// one per record as a client sends it): new receive keys; if it asks, a KeyUpdate of
    /// ours and new sending keys.
    fn key_update(&mut self, msg: &[u8], out: &mut Vec<u8>) -> Result<(), Fatal> {
        let requested = match msg {
            [KEY_UPDATE, 0, 0, 1, 0] => false,
            [KEY_UPDATE, 0, 0, 1, 1] => true,
            _ => {
                return Err(fatal(
                    UNEXPECTED_MESSAGE,
                    "unexpected TLS handshake message",
                ))
            }
        };
        let (seq, secrets) = self.kernel.update_rx_secret().map_err(internal)?;
        self.rx = decrypter(self.suite, secrets).ok_or_else(|| internal(unsupported()))?;
        self.rx_seq = seq;
        if requested {
            self.update_tx(out)?;
        }
        Ok(())
    }

    /// Sends a KeyUpdate (not asking for the peer's) and switches to new sending keys.
    fn update_tx(&mut self, out: &mut Vec<u8>) -> Result<(), Fatal> {
        self.seal_one(ContentType::Handshake, &[KEY_UPDATE, 0, 0, 1, 0], out)?;
        let (seq, secrets) = self.kernel.update_tx_secret().map_err(internal)?;
        self.tx = encrypter(self.suite, secrets).ok_or_else(|| internal(unsupported()))?;
        self.tx_seq = seq;
        Ok(())
    }

    /// `data` as application data records appended to `out`.
    pub fn seal(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), Fatal> {
        for chunk in data.chunks(MAX_PLAIN) {
            self.seal_one(ContentType::ApplicationData, chunk, out)?;
        }
        Ok(())
    }

    /// An alert (close_notify is a warning, every other one fatal) appended to `out`.
    pub fn alert(&mut self, desc: u8, out: &mut Vec<u8>) {
        let level = if desc == CLOSE_NOTIFY { 1 } else { 2 };
        let _ = self.seal_one(ContentType::Alert, &[level, desc], out);
    }

    pub fn close_notify(&mut self, out: &mut Vec<u8>) {
        self.alert(CLOSE_NOTIFY, out);
    }

    fn seal_one(&mut self, typ: ContentType, data: &[u8], out: &mut Vec<u8>) -> Result<(), Fatal> {
        // Keys are renewed well before the suite's limit (2^24 records for AES-GCM).
        if self.tx_seq >= self.suite.common.confidentiality_limit / 2
            && typ != ContentType::Handshake
        {
            self.update_tx(out)?;
        }
        let msg = OutboundPlainMessage {
            typ,
            version: ProtocolVersion::TLSv1_2,
            payload: data.into(),
        };
        let record = self.tx.encrypt(msg, self.tx_seq).map_err(internal)?;
        self.tx_seq += 1;
        out.extend_from_slice(&record.encode());
        Ok(())
    }
}

const INTERNAL_ERROR: u8 = 80;

fn internal(e: Error) -> Fatal {
    Fatal {
        alert: Some(INTERNAL_ERROR),
        error: e,
    }
}

fn unsupported() -> Error {
    Error::General("TLS traffic keys of an unknown kind".into())
}

fn keys(
    secrets: ConnectionTrafficSecrets,
) -> Option<(rustls::crypto::cipher::AeadKey, rustls::crypto::cipher::Iv)> {
    match secrets {
        ConnectionTrafficSecrets::Aes128Gcm { key, iv }
        | ConnectionTrafficSecrets::Aes256Gcm { key, iv }
        | ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => Some((key, iv)),
        _ => None,
    }
}

fn encrypter(
    suite: &'static Tls13CipherSuite,
    secrets: ConnectionTrafficSecrets,
) -> Option<Box<dyn MessageEncrypter>> {
    keys(secrets).map(|(key, iv)| suite.aead_alg.encrypter(key, iv))
}

fn decrypter(
    suite: &'static Tls13CipherSuite,
    secrets: ConnectionTrafficSecrets,
) -> Option<Box<dyn MessageDecrypter>> {
    keys(secrets).map(|(key, iv)| suite.aead_alg.decrypter(key, iv))
}
