//! Heap bytes an idle TLS session keeps on the server (`cargo bench --bench tls_memory`):
//! N sessions are handshaken in memory (TLS 1.3, the test certificate, a rustls client on
//! the other side), each exchanges one IRC line both ways as a registered client would,
//! the clients are dropped, and the heap bytes still live (a counting global allocator:
//! allocated minus freed, without the allocator's own overhead) are divided by N.
//!
//! * `buffered`: rustls's `ServerConnection`, which keeps its 4 KiB receive buffer (the
//!   deframer's, sized for the next read) and its queues' capacity while idle.
//! * `unbuffered`: `UnbufferedServerConnection`, whose caller owns the buffers (Portico's
//!   loop shares one set among all connections): only the session state stays.

use rustls::pki_types::ServerName;
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::ConnectionState;
use rustls::{ClientConnection, ServerConnection};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Arc;

struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: every call is forwarded to `System` with the same arguments; the counter is a
// plain atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Relaxed);
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

fn measure<T>(name: &str, mut make: impl FnMut() -> T) {
    let before = LIVE.load(Relaxed);
    let held: Vec<T> = (0..SESSIONS).map(|_| make()).collect();
    let after = LIVE.load(Relaxed);
    let each = (after - before) as f64 / SESSIONS as f64;
    println!(
        "{name:>10}: {each:>7.0} B heap per idle TLS 1.3 session ({SESSIONS} sessions, \
         {} B of it the value itself)",
        std::mem::size_of::<T>()
    );
    drop(held);
}

fn main() {
    let server =
        portico::config::tls::server_config(&data("server.crt"), &data("server.key")).unwrap();
    let cc = client_config();
    // One of each first: the provider's and configs' lazily built tables are not per session.
    drop(buffered(&server, &cc));
    drop(unbuffered(&server, &cc));
    measure("buffered", || Box::new(buffered(&server, &cc)));
    measure("unbuffered", || Box::new(unbuffered(&server, &cc)));
}
