//! TLS 1.3 records of a server session after its handshake, without rustls's connection.
//!
//! Why: an idle rustls connection keeps about 2 KB that only the handshake needs (the
//! connection with its handshake deframer's table, empty queues' capacity). Once a TLS 1.3
//! handshake is done, rustls's kernel API (made for kernel TLS) hands over the traffic keys
//! and sequence numbers and keeps just the secrets for key updates (`KernelConnection`);
//! this module does the record layer in their place: RFC 8446 section 5, with the suite's
//! own AEAD (ring, through the provider's suite) sealing and opening each record.
//!
//! What the peer may send now: application data (empty records too), alerts (close_notify
//! ends the input; user_canceled is a warning; any other is fatal) and KeyUpdate, the only
//! handshake message a client sends after the handshake (new receive keys; ours once before
//! our next application data if it asks, however often it asked). Handshake messages may be
//! split across records (section 5.1); a KeyUpdate must end its record, since the keys change
//! after it, so a record can hold at most one and nothing after it. Every other failure ends
//! the session with the alert section 6 names for it: bad_record_mac only when a record does
//! not authenticate, record_overflow for a record or plaintext over its limit, decode_error
//! for a malformed record or message, unexpected_message for a content type or message not
//! allowed now (sections 5.2 and 5.4 name unexpected_message for a plaintext of zeros alone).
//! Records without data are allowed 32 in a row (as BoringSSL and rustls do): each KeyUpdate
//! costs a key derivation, so a peer sending nothing else must not get them for free.
//! Before the suite's confidentiality limit we update our sending keys.

use super::tls_aead;
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
/// The tag of every TLS 1.3 AEAD (AES-GCM, ChaCha20-Poly1305): a shorter record body
/// cannot be one. A body of the tag alone is opened (its empty plaintext has no content
/// type: unexpected_message, section 5.4; or it is forged: bad_record_mac).
const MIN_BODY: usize = 16;
const HEADER: usize = 5;
/// Alert descriptions (section 6).
const CLOSE_NOTIFY: u8 = 0;
const UNEXPECTED_MESSAGE: u8 = 10;
const BAD_RECORD_MAC: u8 = 20;
const RECORD_OVERFLOW: u8 = 22;
const ILLEGAL_PARAMETER: u8 = 47;
const DECODE_ERROR: u8 = 50;
const INTERNAL_ERROR: u8 = 80;
const USER_CANCELED: u8 = 90;
/// A KeyUpdate's first four bytes: its type and a 24-bit length of 1 (the request_update
/// byte, section 4.6.3, follows).
const KEY_UPDATE_HEAD: [u8; 4] = [24, 0, 0, 1];
/// Our KeyUpdate: update_not_requested.
const KEY_UPDATE: [u8; 5] = [24, 0, 0, 1, 0];
/// Records in a row that bring no application data (KeyUpdates or their pieces, empty
/// records, user_canceled) accepted: each is allowed, but a peer sending only those would
/// have us derive keys for every 22 bytes it sends. BoringSSL and rustls allow 32.
const MAX_DATALESS: u8 = 32;

pub struct Records {
    /// rustls's secrets for key updates, and the suite (not kept twice: an idle session's
    /// every byte counts).
    kernel: KernelConnection<ServerConnectionData>,
    tx: Box<dyn MessageEncrypter>,
    tx_seq: u64,
    rx: Box<dyn MessageDecrypter>,
    rx_seq: u64,
    /// How many bytes of a KeyUpdate split across records came so far (0 to 4). KeyUpdate
    /// is the only handshake message allowed now and its first four bytes are fixed, so this
    /// count is all there is to keep of it: no buffer, whatever the peer sends.
    key_update_seen: u8,
    /// The peer asked for our KeyUpdate: it goes before our next application data, once
    /// however many times the peer asked meanwhile (section 4.6.3).
    tx_update_due: bool,
    /// Records without application data since the last with some (see [`MAX_DATALESS`]).
    dataless: u8,
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
#[derive(Debug, PartialEq)]
pub enum Opened {
    More,
    /// close_notify: nothing after it counts.
    PeerClosed,
}

impl Records {
    /// Takes over `conn` if it is a TLS 1.3 session whose handshake is done (its records
    /// all encoded: the caller ran it until it waited) on one of our suites; gives it back
    /// otherwise (it goes on on rustls's connection). `Err(None)`: rustls gave up the
    /// session but it could not be taken over (not expected: extraction is enabled and
    /// nothing is buffered); the connection must end.
    pub fn take(
        conn: Box<UnbufferedServerConnection>,
    ) -> Result<Records, Option<Box<UnbufferedServerConnection>>> {
        let suite = match conn.negotiated_cipher_suite() {
            Some(SupportedCipherSuite::Tls13(s)) if !conn.is_handshaking() => s,
            _ => return Err(Some(conn)),
        };
        if !tls_aead::is_lean(suite) {
            foreign_suite(suite);
            return Err(Some(conn));
        }
        let (secrets, kernel) = match (*conn).dangerous_into_kernel_connection() {
            Ok(pair) => pair,
            Err(e) => {
                log::warn!("TLS: cannot take over the record layer: {e}");
                return Err(None);
            }
        };
        let (tx_seq, tx) = secrets.tx;
        let (rx_seq, rx) = secrets.rx;
        // Our suites' keys are always of a kind `keys` knows (tls_aead::extract_keys).
        let (Some(tx), Some(rx)) = (encrypter(suite, tx), decrypter(suite, rx)) else {
            log::warn!("TLS: cannot take over the record layer: {}", unsupported());
            return Err(None);
        };
        Ok(Records {
            kernel,
            tx,
            tx_seq,
            rx,
            rx_seq,
            key_update_seen: 0,
            tx_update_due: false,
            dataless: 0,
        })
    }

    /// Opens the whole records at the start of `input`, appending application data to
    /// `plain`. Returns how many bytes of `input` were used. Work is bounded by `input`.
    pub fn open(
        &mut self,
        input: &mut [u8],
        plain: &mut Vec<u8>,
    ) -> Result<(usize, Opened), Fatal> {
        let mut used = 0;
        while let Some(len) = record_len(&input[used..])? {
            let body = &mut input[used + HEADER..used + HEADER + len];
            used += HEADER + len;
            let (typ, payload) = self.decrypt(body)?;
            if self.content(typ, payload, plain)? == Opened::PeerClosed {
                return Ok((used, Opened::PeerClosed));
            }
        }
        Ok((used, Opened::More))
    }

    /// One record's protection removed: its content type and plaintext.
    fn decrypt<'a>(&mut self, body: &'a mut [u8]) -> Result<(ContentType, &'a [u8]), Fatal> {
        let msg =
            InboundOpaqueMessage::new(ContentType::ApplicationData, ProtocolVersion::TLSv1_2, body);
        match self.rx.decrypt(msg, self.rx_seq) {
            Ok(msg) => {
                self.rx_seq += 1;
                Ok((msg.typ, msg.payload))
            }
            Err(Error::DecryptError) => Err(fatal(BAD_RECORD_MAC, "TLS record does not decrypt")),
            Err(Error::PeerSentOversizedRecord) => Err(fatal(
                RECORD_OVERFLOW,
                "TLS record of more than 2^14 bytes of plaintext",
            )),
            // Zeros alone (no content type), or change_cipher_spec under encryption.
            Err(e @ Error::PeerMisbehaved(_)) => Err(Fatal {
                alert: Some(UNEXPECTED_MESSAGE),
                error: e,
            }),
            Err(e) => Err(internal(e)),
        }
    }

    /// A decrypted record's content.
    fn content(
        &mut self,
        typ: ContentType,
        payload: &[u8],
        plain: &mut Vec<u8>,
    ) -> Result<Opened, Fatal> {
        // Section 5.1: nothing may come between the records of a handshake message.
        if self.key_update_seen > 0 && typ != ContentType::Handshake {
            return Err(fatal(
                UNEXPECTED_MESSAGE,
                "TLS record inside a split KeyUpdate",
            ));
        }
        if typ == ContentType::ApplicationData && !payload.is_empty() {
            self.dataless = 0;
        } else if self.dataless == MAX_DATALESS {
            return Err(fatal(
                UNEXPECTED_MESSAGE,
                "too many TLS records without data in a row",
            ));
        } else {
            self.dataless += 1;
        }
        match typ {
            ContentType::ApplicationData => plain.extend_from_slice(payload),
            ContentType::Alert => return alert_in(payload),
            ContentType::Handshake => self.handshake(payload)?,
            _ => return Err(fatal(UNEXPECTED_MESSAGE, "unexpected TLS record type")),
        }
        Ok(Opened::More)
    }

    /// A handshake record: (a piece of) the peer's KeyUpdate, byte by byte so that one
    /// split across records needs nothing kept but a count.
    fn handshake(&mut self, payload: &[u8]) -> Result<(), Fatal> {
        if payload.is_empty() {
            // Section 5.1: zero-length handshake fragments must not be sent.
            return Err(fatal(DECODE_ERROR, "empty TLS handshake record"));
        }
        for (i, &byte) in payload.iter().enumerate() {
            let seen = usize::from(self.key_update_seen);
            if let Some(&want) = KEY_UPDATE_HEAD.get(seen) {
                if byte != want {
                    return Err(if seen == 0 {
                        fatal(
                            UNEXPECTED_MESSAGE,
                            "TLS handshake message other than KeyUpdate",
                        )
                    } else {
                        fatal(DECODE_ERROR, "TLS KeyUpdate of a length other than 1")
                    });
                }
                self.key_update_seen += 1;
                continue;
            }
            let requested = match byte {
                0 => false,
                1 => true,
                _ => {
                    return Err(fatal(
                        ILLEGAL_PARAMETER,
                        "TLS KeyUpdate request neither 0 nor 1",
                    ))
                }
            };
            if i + 1 != payload.len() {
                return Err(fatal(
                    UNEXPECTED_MESSAGE,
                    "TLS KeyUpdate not at the end of its record",
                ));
            }
            self.key_update_seen = 0;
            self.update_rx()?;
            self.tx_update_due |= requested;
        }
        Ok(())
    }

    fn suite(&self) -> Result<&'static Tls13CipherSuite, Fatal> {
        match self.kernel.negotiated_cipher_suite() {
            SupportedCipherSuite::Tls13(suite) => Ok(suite),
            SupportedCipherSuite::Tls12(_) => Err(internal(Error::General(
                "TLS 1.2 session in the TLS 1.3 record layer".into(),
            ))),
        }
    }

    /// The peer's KeyUpdate: new receive keys.
    fn update_rx(&mut self) -> Result<(), Fatal> {
        let (seq, secrets) = self.kernel.update_rx_secret().map_err(internal)?;
        self.rx = decrypter(self.suite()?, secrets).ok_or_else(|| internal(unsupported()))?;
        self.rx_seq = seq;
        Ok(())
    }

    /// Sends a KeyUpdate (not asking for the peer's) and switches to new sending keys.
    fn update_tx(&mut self, out: &mut Vec<u8>) -> Result<(), Fatal> {
        self.seal_one(ContentType::Handshake, &KEY_UPDATE, out)?;
        let (seq, secrets) = self.kernel.update_tx_secret().map_err(internal)?;
        self.tx = encrypter(self.suite()?, secrets).ok_or_else(|| internal(unsupported()))?;
        self.tx_seq = seq;
        Ok(())
    }

    /// `data` as application data records appended to `out`, after the KeyUpdate the peer
    /// asked for if it did.
    pub fn seal(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), Fatal> {
        if std::mem::take(&mut self.tx_update_due) {
            self.update_tx(out)?;
        }
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
        if self.tx_seq >= self.suite()?.common.confidentiality_limit / 2
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

/// The body length of the record at the start of `rest` once it is all there (`None`
/// before); an error for a record no peer may send now.
fn record_len(rest: &[u8]) -> Result<Option<usize>, Fatal> {
    let Some(head) = rest.get(..HEADER) else {
        return Ok(None);
    };
    // Section 5: after the handshake every record is protected (its outer type says so); a
    // clear one, change_cipher_spec included, is a type not expected now.
    if head[0] != u8::from(ContentType::ApplicationData) {
        return Err(fatal(UNEXPECTED_MESSAGE, "TLS record not encrypted"));
    }
    let len = usize::from(u16::from_be_bytes([head[3], head[4]]));
    // Section 5.2 names record_overflow for a record over 2^14 + 256 bytes.
    if len > MAX_BODY {
        return Err(fatal(RECORD_OVERFLOW, "TLS record over 2^14 + 256 bytes"));
    }
    if len < MIN_BODY {
        return Err(fatal(DECODE_ERROR, "TLS record shorter than its tag"));
    }
    Ok((rest.len() >= HEADER + len).then_some(len))
}

/// The peer's alert: close_notify ends the input, user_canceled is a warning (section
/// 6.1), any other ends the session (no alert of ours answers it).
fn alert_in(payload: &[u8]) -> Result<Opened, Fatal> {
    match payload {
        [_, CLOSE_NOTIFY] => Ok(Opened::PeerClosed),
        [_, USER_CANCELED] => Ok(Opened::More),
        [_, desc] => Err(Fatal {
            alert: None,
            error: Error::General(format!("peer sent TLS alert {desc}")),
        }),
        // Section 5.1: one alert per record, two bytes.
        _ => Err(fatal(DECODE_ERROR, "malformed TLS alert")),
    }
}

/// A TLS 1.3 suite whose keys are not ours: its sessions stay on rustls's connection
/// (correct, but about 2.5 KB idle instead of the record layer's); said once, loudly.
fn foreign_suite(suite: &Tls13CipherSuite) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        log::warn!(
            "TLS: suite {:?} is not one of net::tls_aead's: its sessions stay on \
             rustls's record layer (about 2.5 KB each while idle)",
            suite.common.suite
        )
    });
    log::debug!("TLS: {:?} session kept on rustls", suite.common.suite);
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tls::{load_certs, pinned_client_config, server_config, sha256_hex};
    use rustls::crypto::cipher::{AeadKey, Iv};
    use rustls::pki_types::ServerName;
    use rustls::unbuffered::ConnectionState;
    use rustls::{ClientConnection, KeyLog, ServerConfig};
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};

    const APP: ContentType = ContentType::ApplicationData;
    const HS: ContentType = ContentType::Handshake;

    fn data(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    /// The traffic secrets rustls's client logs (for the keys after a KeyUpdate).
    #[derive(Debug, Default)]
    struct Secrets(Mutex<Vec<(String, Vec<u8>)>>);

    impl KeyLog for Secrets {
        fn log(&self, label: &str, _client_random: &[u8], secret: &[u8]) {
            self.0.lock().unwrap().push((label.into(), secret.into()));
        }
        fn will_log(&self, _label: &str) -> bool {
            true
        }
    }

    impl Secrets {
        fn get(&self, label: &str) -> Vec<u8> {
            let all = self.0.lock().unwrap();
            all.iter().find(|(l, _)| l == label).unwrap().1.clone()
        }
    }

    /// HKDF-Expand-Label with SHA-384 (RFC 8446 section 7.1), the hash of the suite rustls's
    /// client prefers, TLS_AES_256_GCM_SHA384.
    fn expand_label(secret: &[u8], label: &[u8], len: usize) -> Vec<u8> {
        struct Len(usize);
        impl ring::hkdf::KeyType for Len {
            fn len(&self) -> usize {
                self.0
            }
        }
        let prk = ring::hkdf::Prk::new_less_safe(ring::hkdf::HKDF_SHA384, secret);
        let len16 = u16::try_from(len).unwrap().to_be_bytes();
        let label_len = [u8::try_from(6 + label.len()).unwrap()];
        let info = [&len16[..], &label_len, b"tls13 ", label, &[0]];
        let mut out = vec![0; len];
        prk.expand(&info, Len(len)).unwrap().fill(&mut out).unwrap();
        out
    }

    /// The client's side of a taken-over session on ring's own AES-256-GCM (not ours):
    /// records of any content, and ours read back.
    struct Peer {
        tx: Box<dyn MessageEncrypter>,
        tx_seq: u64,
        tx_secret: Vec<u8>,
        rx: Box<dyn MessageDecrypter>,
        rx_seq: u64,
        rx_secret: Vec<u8>,
    }

    fn aead() -> &'static dyn rustls::crypto::cipher::Tls13AeadAlgorithm {
        let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_256_GCM_SHA384;
        suite.tls13().unwrap().aead_alg
    }

    fn keys(secret: &[u8]) -> (AeadKey, Iv) {
        let key: [u8; 32] = expand_label(secret, b"key", 32).try_into().unwrap();
        (
            AeadKey::from(key),
            Iv::copy(&expand_label(secret, b"iv", 12)),
        )
    }

    impl Peer {
        fn record(&mut self, typ: ContentType, payload: &[u8]) -> Vec<u8> {
            let msg = OutboundPlainMessage {
                typ,
                version: ProtocolVersion::TLSv1_2,
                payload: payload.into(),
            };
            let record = self.tx.encrypt(msg, self.tx_seq).unwrap();
            self.tx_seq += 1;
            record.encode()
        }

        /// New sending keys, as after a KeyUpdate of the peer's.
        fn update_tx(&mut self) {
            self.tx_secret = expand_label(&self.tx_secret, b"traffic upd", 48);
            let (key, iv) = keys(&self.tx_secret);
            (self.tx, self.tx_seq) = (aead().encrypter(key, iv), 0);
        }

        /// Our records in `wire`, opened (a KeyUpdate of ours switches the keys).
        fn read(&mut self, wire: &mut [u8]) -> Vec<(ContentType, Vec<u8>)> {
            let mut got = Vec::new();
            let mut rest = wire;
            while !rest.is_empty() {
                let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
                let (record, after) = rest.split_at_mut(HEADER + len);
                let msg =
                    InboundOpaqueMessage::new(APP, ProtocolVersion::TLSv1_2, &mut record[5..]);
                let msg = self.rx.decrypt(msg, self.rx_seq).unwrap();
                self.rx_seq += 1;
                if (msg.typ, msg.payload) == (HS, &KEY_UPDATE[..]) {
                    self.rx_secret = expand_label(&self.rx_secret, b"traffic upd", 48);
                    let (key, iv) = keys(&self.rx_secret);
                    (self.rx, self.rx_seq) = (aead().decrypter(key, iv), 0);
                }
                got.push((msg.typ, msg.payload.to_vec()));
                rest = after;
            }
            got
        }
    }

    /// A TLS 1.3 handshake between `server` and rustls's client, in memory.
    fn handshake(
        server: Arc<ServerConfig>,
    ) -> (
        Box<UnbufferedServerConnection>,
        ClientConnection,
        Arc<Secrets>,
    ) {
        let fp = sha256_hex(&load_certs(&data("server.crt")).unwrap()[0]);
        let secrets = Arc::new(Secrets::default());
        let mut config = (*pinned_client_config(&fp, None).unwrap()).clone();
        config.enable_secret_extraction = true;
        config.key_log = secrets.clone();
        let name = ServerName::try_from("irc.test").unwrap();
        let mut c = ClientConnection::new(Arc::new(config), name).unwrap();
        let mut s = Box::new(UnbufferedServerConnection::new(server).unwrap());
        let mut incoming = Vec::new();
        loop {
            while c.wants_write() {
                c.write_tls(&mut incoming).unwrap();
            }
            let status = s.process_tls_records(&mut incoming);
            let discard = status.discard;
            let done = match status.state.unwrap() {
                ConnectionState::EncodeTlsData(mut e) => {
                    let mut out = vec![0; 1 << 16];
                    let n = e.encode(&mut out).unwrap();
                    c.read_tls(&mut &out[..n]).unwrap();
                    c.process_new_packets().unwrap();
                    false
                }
                ConnectionState::TransmitTlsData(t) => {
                    t.done();
                    false
                }
                ConnectionState::WriteTraffic(_) if !c.is_handshaking() && !c.wants_write() => true,
                ConnectionState::WriteTraffic(_) | ConnectionState::BlockedHandshake => {
                    assert!(c.wants_write(), "both sides wait");
                    false
                }
                other => panic!("unexpected {other:?}"),
            };
            incoming.drain(..discard);
            if done {
                assert!(incoming.is_empty());
                return (s, c, secrets);
            }
        }
    }

    /// A session on Portico's server settings taken over, and its client's keys.
    fn taken_over() -> (Records, Peer) {
        let server = server_config(&data("server.crt"), &data("server.key")).unwrap();
        let (s, c, secrets) = handshake(server);
        let Ok(records) = Records::take(s) else {
            panic!("not taken over")
        };
        let extracted = c.dangerous_extract_secrets().unwrap();
        assert!(matches!(
            extracted.tx.1,
            ConnectionTrafficSecrets::Aes256Gcm { .. }
        ));
        let (tx_secret, rx_secret) = (
            secrets.get("CLIENT_TRAFFIC_SECRET_0"),
            secrets.get("SERVER_TRAFFIC_SECRET_0"),
        );
        let ((tx_key, tx_iv), (rx_key, rx_iv)) = (keys(&tx_secret), keys(&rx_secret));
        let peer = Peer {
            tx: aead().encrypter(tx_key, tx_iv),
            tx_seq: extracted.tx.0,
            tx_secret,
            rx: aead().decrypter(rx_key, rx_iv),
            rx_seq: extracted.rx.0,
            rx_secret,
        };
        (records, peer)
    }

    fn open_all(r: &mut Records, wire: &mut [u8]) -> Result<(Vec<u8>, Opened), Fatal> {
        let mut plain = Vec::new();
        let (used, opened) = r.open(wire, &mut plain)?;
        assert_eq!(used, wire.len());
        Ok((plain, opened))
    }

    type Make = fn(&mut Peer) -> Vec<u8>;

    /// Every record a client may not send after the handshake ends the session with the
    /// alert RFC 8446 names for it, and the client reads that alert.
    #[test]
    fn each_bad_record_gets_its_own_alert() {
        let cases: [(&str, Make, u8); 19] = [
            (
                "clear handshake",
                |_| vec![22, 3, 3, 0, 1, 24],
                UNEXPECTED_MESSAGE,
            ),
            (
                "clear change_cipher_spec",
                |_| vec![20, 3, 3, 0, 1, 1],
                UNEXPECTED_MESSAGE,
            ),
            (
                "over 2^14 + 256",
                |_| vec![23, 3, 3, 0x41, 0x01],
                RECORD_OVERFLOW,
            ),
            (
                "shorter than a tag",
                |_| [&[23, 3, 3, 0, 15][..], &[0; 15]].concat(),
                DECODE_ERROR,
            ),
            (
                "a forged tag alone",
                |_| [&[23, 3, 3, 0, 16][..], &[0; 16]].concat(),
                BAD_RECORD_MAC,
            ),
            (
                "forged tag",
                |p| {
                    let mut r = p.record(APP, b"PING :x\r\n");
                    *r.last_mut().unwrap() ^= 1;
                    r
                },
                BAD_RECORD_MAC,
            ),
            (
                "zeros alone",
                |p| p.record(ContentType::from(0), &[0; 4]),
                UNEXPECTED_MESSAGE,
            ),
            (
                "plaintext over 2^14",
                |p| p.record(APP, &[b'a'; MAX_PLAIN + 1]),
                RECORD_OVERFLOW,
            ),
            (
                "encrypted change_cipher_spec",
                |p| p.record(ContentType::ChangeCipherSpec, &[1]),
                UNEXPECTED_MESSAGE,
            ),
            (
                "unknown type",
                |p| p.record(ContentType::from(99), b"x"),
                UNEXPECTED_MESSAGE,
            ),
            (
                "three-byte alert",
                |p| p.record(ContentType::Alert, &[2, 10, 0]),
                DECODE_ERROR,
            ),
            ("empty handshake", |p| p.record(HS, &[]), DECODE_ERROR),
            (
                "NewSessionTicket",
                |p| p.record(HS, &[4, 0, 0, 1, 0]),
                UNEXPECTED_MESSAGE,
            ),
            (
                "KeyUpdate of length 2",
                |p| p.record(HS, &[24, 0, 0, 2, 0, 0]),
                DECODE_ERROR,
            ),
            (
                "KeyUpdate request 2",
                |p| p.record(HS, &[24, 0, 0, 1, 2]),
                ILLEGAL_PARAMETER,
            ),
            (
                "two KeyUpdates in a record",
                |p| p.record(HS, &[KEY_UPDATE, KEY_UPDATE].concat()),
                UNEXPECTED_MESSAGE,
            ),
            (
                "data inside a split KeyUpdate",
                |p| [p.record(HS, &[24, 0]), p.record(APP, b"x")].concat(),
                UNEXPECTED_MESSAGE,
            ),
            (
                "33 records without data",
                |p| {
                    (0..=MAX_DATALESS)
                        .flat_map(|_| p.record(APP, b""))
                        .collect()
                },
                UNEXPECTED_MESSAGE,
            ),
            (
                "alert inside a split KeyUpdate",
                |p| [p.record(HS, &[24]), p.record(ContentType::Alert, &[1, 0])].concat(),
                UNEXPECTED_MESSAGE,
            ),
        ];
        for (what, make, alert) in cases {
            let (mut r, mut peer) = taken_over();
            let mut wire = make(&mut peer);
            let Err(fatal) = open_all(&mut r, &mut wire) else {
                panic!("{what}: accepted")
            };
            assert_eq!(fatal.alert, Some(alert), "{what}: {}", fatal.error);
            let mut out = Vec::new();
            r.alert(alert, &mut out);
            let want = [(ContentType::Alert, vec![2, alert])];
            assert_eq!(peer.read(&mut out), want, "{what}");
        }
    }

    /// Empty application data, a KeyUpdate split over five records or two, a record cut by
    /// the network: all go through, and nobody asked for our KeyUpdate.
    #[test]
    fn empty_data_and_split_key_updates_go_through() {
        let (mut r, mut peer) = taken_over();
        let mut wire = peer.record(APP, b"");
        wire.extend(peer.record(APP, b"PING :a\r\n"));
        for byte in KEY_UPDATE {
            wire.extend(peer.record(HS, &[byte]));
        }
        peer.update_tx();
        wire.extend(peer.record(APP, b"PING :b\r\n"));
        wire.extend(peer.record(HS, &[24, 0]));
        wire.extend(peer.record(HS, &[0, 1, 0]));
        peer.update_tx();
        wire.extend(peer.record(APP, b"PING :c\r\n"));
        let cut = wire.len() - 3;
        let mut plain = Vec::new();
        let (used, opened) = r.open(&mut wire[..cut], &mut plain).ok().unwrap();
        assert_eq!(
            (opened, plain.as_slice()),
            (Opened::More, &b"PING :a\r\nPING :b\r\n"[..])
        );
        let (rest, opened) = open_all(&mut r, &mut wire[used..]).ok().unwrap();
        assert_eq!(
            (opened, rest.as_slice()),
            (Opened::More, &b"PING :c\r\n"[..])
        );
        let mut out = Vec::new();
        r.seal(b"PONG\r\n", &mut out).ok().unwrap();
        assert_eq!(peer.read(&mut out), [(APP, b"PONG\r\n".to_vec())]);
        let mut bye = peer.record(ContentType::Alert, &[1, CLOSE_NOTIFY]);
        assert_eq!(
            open_all(&mut r, &mut bye).ok().unwrap().1,
            Opened::PeerClosed
        );
    }

    /// A client asking for our KeyUpdate in each of its records gets one, before our next
    /// data, not one per request.
    #[test]
    fn key_update_requests_are_answered_once_before_our_data() {
        let (mut r, mut peer) = taken_over();
        let mut wire = Vec::new();
        for _ in 0..3 {
            wire.extend(peer.record(HS, &[24, 0, 0, 1, 1]));
            peer.update_tx();
        }
        assert!(open_all(&mut r, &mut wire).ok().unwrap().0.is_empty());
        let mut out = Vec::new();
        r.seal(b"PONG :1\r\n", &mut out).ok().unwrap();
        r.seal(b"PONG :2\r\n", &mut out).ok().unwrap();
        let want = [
            (HS, KEY_UPDATE.to_vec()),
            (APP, b"PONG :1\r\n".to_vec()),
            (APP, b"PONG :2\r\n".to_vec()),
        ];
        assert_eq!(peer.read(&mut out), want);
        // Asked again: answered again.
        let mut again = peer.record(HS, &[24, 0, 0, 1, 1]);
        peer.update_tx();
        open_all(&mut r, &mut again).ok().unwrap();
        let mut out = Vec::new();
        r.seal(b"PONG :3\r\n", &mut out).ok().unwrap();
        assert_eq!(peer.read(&mut out)[0], (HS, KEY_UPDATE.to_vec()));
    }

    /// Records without data (KeyUpdates, empty ones) are taken 32 in a row, again after data.
    #[test]
    fn records_without_data_count_from_the_last_data() {
        let (mut r, mut peer) = taken_over();
        for _ in 0..3 {
            let mut wire = Vec::new();
            for _ in 0..MAX_DATALESS / 2 {
                wire.extend(peer.record(HS, &KEY_UPDATE));
                peer.update_tx();
                wire.extend(peer.record(APP, b""));
            }
            wire.extend(peer.record(APP, b"x"));
            assert_eq!(open_all(&mut r, &mut wire).ok().unwrap().0, b"x");
        }
    }

    /// A session on a TLS 1.3 suite whose keys are not net::tls_aead's stays on
    /// rustls's connection (which works, with more memory), never half taken over.
    #[test]
    fn a_session_on_a_foreign_suite_stays_on_rustls() {
        let ring = Arc::new(rustls::crypto::ring::default_provider());
        let server =
            crate::config::tls::server_config_with(ring, &data("server.crt"), &data("server.key"))
                .unwrap();
        let (s, _c, _) = handshake(server);
        assert!(matches!(Records::take(s), Err(Some(_))));
    }
}
