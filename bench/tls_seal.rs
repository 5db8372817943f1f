//! What sealing a TLS 1.3 record costs with Portico's record keys, which keep the raw key
//! and build ring's key schedule for every record (`src/net/tls_aead.rs`: 32 bytes per
//! direction instead of 560 while idle), against ring's own keys, which keep the schedule
//! (`cargo bench --bench tls_seal`).
//!
//! * `seal/SUITE/lean|cached/N lines`: one record of N IRC lines (60 to 200 bytes, 131 on
//!   average) encrypted and encoded as `net::tls_record` does it: 1 line per record is a
//!   client that gets a line now and then, several the lines a fanout queued for one client
//!   in a loop turn (the send queue hands them over together: one record).
//! * `write/one record of 1 line`: a write() of such a record to a loopback TCP socket
//!   (a thread drains it), the system call every record costs anyway: the scale to judge the
//!   difference against.
//!
//! Figures: ns per record, records/s and MiB/s of plaintext. Keys come from a real
//! handshake (Portico's server settings, one suite at a time). Harness: `bench/harness.rs`.

#[path = "harness.rs"]
mod harness;
#[path = "../src/config/tls_pipe.rs"]
mod tls_pipe;

use harness::{Harness, Thrpt};
use rustls::crypto::cipher::{AeadKey, Iv, MessageEncrypter, OutboundPlainMessage};
use rustls::pki_types::ServerName;
use rustls::{
    CipherSuite, ClientConnection, ConnectionTrafficSecrets, ContentType, ProtocolVersion,
    ServerConnection,
};
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use tls_pipe::pipe;

/// Line lengths a channel's traffic has: a short reply to a long message, 131 on average.
const LINE_LENGTHS: [usize; 5] = [62, 95, 130, 170, 200];

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// `n` IRC lines of the lengths above, one after another.
fn lines(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let len = LINE_LENGTHS[i % LINE_LENGTHS.len()];
        let head = format!(":nick{i}!user@host PRIVMSG #channel :");
        out.extend_from_slice(head.as_bytes());
        out.resize(out.len() + len - head.len() - 2, b'x');
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The server's sending key and IV after a handshake on `suite` alone.
fn server_keys(suite: CipherSuite) -> (AeadKey, Iv) {
    let mut provider = (*portico::config::tls::provider()).clone();
    provider.cipher_suites.retain(|s| s.suite() == suite);
    let (cert, key) = (data("server.crt"), data("server.key"));
    let server = portico::config::tls::server_config_with(Arc::new(provider), &cert, &key).unwrap();
    let certs = portico::config::tls::load_certs(&cert).unwrap();
    let fp = portico::config::tls::sha256_hex(&certs[0]);
    let client = portico::config::tls::pinned_client_config(&fp, None).unwrap();
    let name = ServerName::try_from("irc.test").unwrap();
    let mut c: rustls::Connection = ClientConnection::new(client, name).unwrap().into();
    let mut s: rustls::Connection = ServerConnection::new(server).unwrap().into();
    while c.is_handshaking() || s.is_handshaking() || c.wants_write() || s.wants_write() {
        pipe(&mut c, &mut s);
        pipe(&mut s, &mut c);
    }
    use ConnectionTrafficSecrets as K;
    match s.dangerous_extract_secrets().unwrap().tx.1 {
        K::Aes128Gcm { key, iv } | K::Aes256Gcm { key, iv } | K::Chacha20Poly1305 { key, iv } => {
            (key, iv)
        }
        _ => panic!("a TLS 1.3 suite"),
    }
}

/// `suite`'s encrypter from `provider` (Portico's lean one or ring's own).
fn encrypter(
    provider: &rustls::crypto::CryptoProvider,
    suite: CipherSuite,
) -> Box<dyn MessageEncrypter> {
    let tls13 = provider
        .cipher_suites
        .iter()
        .find(|s| s.suite() == suite)
        .and_then(|s| s.tls13())
        .unwrap();
    let (key, iv) = server_keys(suite);
    tls13.aead_alg.encrypter(key, iv)
}

/// One record of `plain` sealed and encoded, as `Records::seal_one` does.
fn seal(tx: &mut dyn MessageEncrypter, seq: &mut u64, plain: &[u8]) -> Vec<u8> {
    let msg = OutboundPlainMessage {
        typ: ContentType::ApplicationData,
        version: ProtocolVersion::TLSv1_2,
        payload: plain.into(),
    };
    let record = tx.encrypt(msg, *seq).unwrap();
    *seq += 1;
    record.encode()
}

fn main() {
    let mut h = Harness::from_args();
    let lean = portico::config::tls::provider();
    let ring = rustls::crypto::ring::default_provider();
    for (name, suite) in [
        ("AES-128-GCM", CipherSuite::TLS13_AES_128_GCM_SHA256),
        ("AES-256-GCM", CipherSuite::TLS13_AES_256_GCM_SHA384),
        ("ChaCha20", CipherSuite::TLS13_CHACHA20_POLY1305_SHA256),
    ] {
        for n in [1, 4, 16] {
            let plain = lines(n);
            let thrpt = [Thrpt::Items(1, "record"), Thrpt::Bytes(plain.len() as u64)];
            for (kind, provider) in [("lean", &*lean), ("cached", &ring)] {
                let mut tx = encrypter(provider, suite);
                let mut seq = 0;
                h.bench(&format!("seal/{name}/{kind}/{n} lines"), &thrpt, || {
                    black_box(seal(&mut *tx, &mut seq, black_box(&plain)));
                });
            }
        }
    }
    write_baseline(&mut h);
    h.finish();
}

/// A write() of one 1-line record to a loopback TCP socket that a thread drains.
fn write_baseline(h: &mut Harness) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut sock = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    sock.set_nodelay(true).unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0; 1 << 16];
        while matches!(peer.read(&mut buf), Ok(n) if n > 0) {}
    });
    let mut tx = encrypter(
        &portico::config::tls::provider(),
        CipherSuite::TLS13_AES_128_GCM_SHA256,
    );
    let record = seal(&mut *tx, &mut 0, &lines(1));
    let thrpt = [Thrpt::Items(1, "record"), Thrpt::Bytes(record.len() as u64)];
    h.bench("write/one record of 1 line", &thrpt, || {
        sock.write_all(black_box(&record)).unwrap();
    });
}
