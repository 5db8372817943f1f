//! Heap bytes an idle TLS session keeps on the server (`cargo bench --bench tls_memory`):
//! N sessions are handshaken in memory (TLS 1.3, the test certificate, a rustls client on
//! the other side), each exchanges one IRC line both ways as a registered client would,
//! the clients are dropped, and the heap bytes still live (a counting global allocator:
//! allocated minus freed, without the allocator's own overhead) are divided by N.
//!
//! Besides the total, each line lists the allocations at least half the sessions keep
//! (count x size), so where the bytes are shows: for rustls 0.23 on ring, the connection
//! (1,088 B), its handshake deframer's span table (640 B, kept for life), the TLS 1.3
//! traffic secrets (224 B), two empty queues' capacity (2x96 B), the SNI name, and one
//! record key per direction.
//!
//! * `buffered, ring`: rustls's `ServerConnection`, which keeps its 4 KiB receive buffer
//!   (the deframer's, sized for the next read) and its queues' capacity while idle.
//! * `ring, SUITE`: `UnbufferedServerConnection` (the caller owns the buffers; Portico's
//!   loop shares one set among all connections) on ring's own suites: a key is ring's
//!   `LessSafeKey`, 560 B whichever the cipher (an enum sized by the AES-GCM key schedule).
//! * `Portico, SUITE`: the same with Portico's provider, whose TLS 1.3 suites keep the raw
//!   key (64 B) and key ring per record (`src/net/tls_aead.rs`): what a session keeps
//!   during its handshake, and for good if it is TLS 1.2.
//! * `taken over, SUITE`: what Portico keeps of a TLS 1.3 session after its handshake
//!   (`src/net/tls_record.rs`): rustls's kernel connection (traffic secrets for key
//!   updates) and the two keys.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::ConnectionState;
use rustls::{CipherSuite, ClientConnection, ServerConnection};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Arc;

struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);
/// Live allocations by exact size (the last slot: every size from it up), to say which
/// allocations an idle session keeps.
const SIZES: usize = 20 * 1024;
static BY_SIZE: [AtomicI64; SIZES] = [const { AtomicI64::new(0) }; SIZES];

fn count(size: usize, n: i64) {
    LIVE.fetch_add(size as i64 * n, Relaxed);
    BY_SIZE[size.min(SIZES - 1)].fetch_add(n, Relaxed);
}

// SAFETY: every call is forwarded to `System` with the same arguments; the counters are
// plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), 1);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), 1);
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(layout.size(), -1);
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(layout.size(), -1);
        count(new_size, 1);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SESSIONS: usize = 1000;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn client_config() -> Arc<rustls::ClientConfig> {
    let fp = portico::config::tls::sha256_hex(
        &portico::config::tls::load_certs(&data("server.crt")).unwrap()[0],
    );
    portico::config::tls::pinned_client_config(&fp, None).unwrap()
}

fn client(config: &Arc<rustls::ClientConfig>) -> ClientConnection {
    ClientConnection::new(config.clone(), ServerName::try_from("irc.test").unwrap()).unwrap()
}

/// Moves every encrypted byte `from` holds into `to`.
fn pipe(from: &mut impl FnMut(&mut Vec<u8>), to: &mut Vec<u8>) {
    from(to);
}

fn buffered(
    server: &Arc<rustls::ServerConfig>,
    cc: &Arc<rustls::ClientConfig>,
) -> ServerConnection {
    let mut s = ServerConnection::new(server.clone()).unwrap();
    let mut c = client(cc);
    let mut wire = Vec::new();
    while c.is_handshaking() || s.is_handshaking() || s.wants_write() || c.wants_write() {
        wire.clear();
        pipe(
            &mut |w| {
                while c.wants_write() {
                    c.write_tls(w).unwrap();
                }
            },
            &mut wire,
        );
        s.read_tls(&mut &wire[..]).unwrap();
        s.process_new_packets().unwrap();
        wire.clear();
        pipe(
            &mut |w| {
                while s.wants_write() {
                    s.write_tls(w).unwrap();
                }
            },
            &mut wire,
        );
        c.read_tls(&mut &wire[..]).unwrap();
        c.process_new_packets().unwrap();
    }
    c.writer().write_all(b"PING :hello\r\n").unwrap();
    wire.clear();
    c.write_tls(&mut wire).unwrap();
    s.read_tls(&mut &wire[..]).unwrap();
    s.process_new_packets().unwrap();
    let mut line = [0; 64];
    let n = s.reader().read(&mut line).unwrap();
    assert_eq!(&line[..n], b"PING :hello\r\n");
    s.writer()
        .write_all(b":irc.test PONG irc.test :hello\r\n")
        .unwrap();
    wire.clear();
    s.write_tls(&mut wire).unwrap();
    s
}

fn unbuffered(
    server: &Arc<rustls::ServerConfig>,
    cc: &Arc<rustls::ClientConfig>,
) -> UnbufferedServerConnection {
    let mut s = UnbufferedServerConnection::new(server.clone()).unwrap();
    let mut c = client(cc);
    let (mut incoming, mut outgoing) = (Vec::new(), vec![0u8; 65536]);
    let mut out_len = 0;
    let mut got = Vec::new();
    c.writer().write_all(b"PING :hello\r\n").unwrap();
    loop {
        while c.wants_write() {
            c.write_tls(&mut incoming).unwrap();
        }
        let st = s.process_tls_records(&mut incoming);
        let discard = st.discard;
        match st.state.unwrap() {
            ConnectionState::EncodeTlsData(mut e) => {
                out_len += e.encode(&mut outgoing[out_len..]).unwrap();
            }
            ConnectionState::TransmitTlsData(t) => {
                c.read_tls(&mut &outgoing[..out_len]).unwrap();
                c.process_new_packets().unwrap();
                out_len = 0;
                t.done();
            }
            ConnectionState::ReadTraffic(mut r) => {
                while let Some(rec) = r.next_record() {
                    got.extend_from_slice(rec.unwrap().payload);
                }
            }
            ConnectionState::WriteTraffic(mut w) if got == b"PING :hello\r\n" => {
                let reply = b":irc.test PONG irc.test :hello\r\n";
                let n = w.encrypt(reply, &mut outgoing).unwrap();
                c.read_tls(&mut &outgoing[..n]).unwrap();
                c.process_new_packets().unwrap();
                incoming.drain(..discard);
                return s;
            }
            ConnectionState::WriteTraffic(_) | ConnectionState::BlockedHandshake => {
                assert!(c.wants_write(), "both sides wait");
            }
            other => panic!("unexpected {other:?}"),
        }
        incoming.drain(..discard);
    }
}

/// What glibc's malloc takes for an allocation of `size` bytes on 64-bit: its 8-byte
/// header, rounded up to 16 bytes, 32 at least.
fn chunk(size: usize) -> usize {
    (size + 8).div_ceil(16).max(2) * 16
}

fn by_size() -> Vec<i64> {
    BY_SIZE.iter().map(|c| c.load(Relaxed)).collect()
}

fn measure<T>(name: &str, mut make: impl FnMut() -> T) {
    let mut held: Vec<T> = Vec::with_capacity(SESSIONS);
    let (before, sizes) = (LIVE.load(Relaxed), by_size());
    held.extend((0..SESSIONS).map(|_| make()));
    let after = LIVE.load(Relaxed);
    let each = (after - before) as f64 / SESSIONS as f64;
    // Sizes kept by at least half the sessions: what an idle session is made of.
    let mut parts = Vec::new();
    let mut malloc = 0.0;
    for (size, (now, was)) in by_size().iter().zip(sizes).enumerate() {
        let per = (now - was) as f64 / SESSIONS as f64;
        malloc += per * chunk(size) as f64;
        if per >= 0.5 {
            parts.push(format!("{per:.1}x{size}"));
        }
    }
    println!(
        "{name:>22}: {each:>5.0} B heap ({malloc:.0} B in malloc chunks) per idle session \
         ({SESSIONS} sessions; the value itself {} B); allocations kept: {}",
        std::mem::size_of::<T>(),
        parts.join(" ")
    );
    drop(held);
}

/// Portico's server settings on `provider`, offering only the TLS 1.3 suite `only` if given.
fn server(mut provider: CryptoProvider, only: Option<CipherSuite>) -> Arc<rustls::ServerConfig> {
    if let Some(only) = only {
        provider.cipher_suites.retain(|s| s.suite() == only);
    }
    let (cert, key) = (data("server.crt"), data("server.key"));
    portico::config::tls::server_config_with(Arc::new(provider), &cert, &key).unwrap()
}

/// What Portico keeps of a TLS 1.3 session once its handshake is done (net/tls_record.rs):
/// rustls's kernel connection (the secrets for key updates) and a key per direction.
fn taken_over(
    s: UnbufferedServerConnection,
) -> (
    rustls::kernel::KernelConnection<rustls::server::ServerConnectionData>,
    Box<dyn rustls::crypto::cipher::MessageEncrypter>,
    Box<dyn rustls::crypto::cipher::MessageDecrypter>,
) {
    let Some(rustls::SupportedCipherSuite::Tls13(suite)) = s.negotiated_cipher_suite() else {
        panic!("TLS 1.3")
    };
    let (secrets, kernel) = s.dangerous_into_kernel_connection().unwrap();
    use rustls::ConnectionTrafficSecrets as K;
    let keys = |k| match k {
        K::Aes128Gcm { key, iv } | K::Aes256Gcm { key, iv } | K::Chacha20Poly1305 { key, iv } => {
            (key, iv)
        }
        _ => panic!("a TLS 1.3 suite"),
    };
    let (key, iv) = keys(secrets.tx.1);
    let tx = suite.aead_alg.encrypter(key, iv);
    let (key, iv) = keys(secrets.rx.1);
    (kernel, tx, suite.aead_alg.decrypter(key, iv))
}

fn main() {
    let cc = client_config();
    let ring = rustls::crypto::ring::default_provider;
    let portico = || (*portico::config::tls::provider()).clone();
    // One of each first: the provider's and configs' lazily built tables are not per session.
    let first = server(ring(), None);
    drop(buffered(&first, &cc));
    drop(unbuffered(&first, &cc));
    measure("buffered, ring", || Box::new(buffered(&first, &cc)));
    // The suite rustls's client prefers first, then the two others.
    for (suite, only) in [
        ("AES-256-GCM", None),
        ("AES-128-GCM", Some(CipherSuite::TLS13_AES_128_GCM_SHA256)),
        (
            "ChaCha20",
            Some(CipherSuite::TLS13_CHACHA20_POLY1305_SHA256),
        ),
    ] {
        for (name, provider) in [("ring", ring()), ("Portico", portico())] {
            let server = server(provider, only);
            drop(unbuffered(&server, &cc));
            measure(&format!("{name}, {suite}"), || {
                Box::new(unbuffered(&server, &cc))
            });
        }
        let server = server(portico(), only);
        measure(&format!("taken over, {suite}"), || {
            Box::new(taken_over(unbuffered(&server, &cc)))
        });
    }
}
