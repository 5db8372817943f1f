//! Test and benchmark support, not part of the library: two in-memory rustls connections
//! talking. Included by `config::tls`'s tests and, with `#[path]`, by `bench/tls_seal.rs`.

/// Moves every record `from` has for `to` and lets `to` process them.
pub fn pipe(from: &mut rustls::Connection, to: &mut rustls::Connection) {
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).unwrap();
    }
    let mut rest = &wire[..];
    while !rest.is_empty() {
        to.read_tls(&mut rest).unwrap();
        to.process_new_packets().unwrap();
    }
}
