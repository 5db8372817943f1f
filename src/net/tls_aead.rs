//! TLS 1.3 record protection whose keys an idle session keeps small.
//!
//! ring's `LessSafeKey` is an enum sized by its largest variant, the AES-GCM key schedule
//! with its GHASH table: every TLS 1.3 session of the ring provider keeps two boxes of
//! 560 bytes (one key per direction), whichever cipher it negotiated, for as long as it
//! lives. That is most of what an idle TLS client costs beyond a plain one (bench
//! `tls_memory`). These suites are ring's own TLS 1.3 suites (same algorithms, same key
//! derivation, same record format) except that a direction keeps its raw key (32 bytes at
//! most) and builds ring's key from it for each record: a few hundred nanoseconds per
//! record (an AES key expansion and GHASH table, nothing for ChaCha20), against a write()
//! system call per record anyway. Only the record layer is ours; the AEAD itself is ring's.

use rustls::crypto::cipher::{
    make_tls13_aad, AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, MessageDecrypter,
    MessageEncrypter, Nonce, OutboundOpaqueMessage, OutboundPlainMessage, PrefixedPayload,
    Tls13AeadAlgorithm, UnsupportedOperationError,
};
use rustls::{
    CipherSuiteCommon, ConnectionTrafficSecrets, ContentType, Error, ProtocolVersion,
    SupportedCipherSuite, Tls13CipherSuite,
};
use std::sync::LazyLock;

/// One of ring's TLS 1.3 AEADs, keyed per record.
struct LeanAead(&'static ring::aead::Algorithm);

static AES_128_GCM: LeanAead = LeanAead(&ring::aead::AES_128_GCM);
static AES_256_GCM: LeanAead = LeanAead(&ring::aead::AES_256_GCM);
static CHACHA20_POLY1305: LeanAead = LeanAead(&ring::aead::CHACHA20_POLY1305);

/// ring's TLS 1.3 suites in ring's order, each on its lean AEAD (built once: rustls wants
/// `'static` suites).
static SUITES: LazyLock<Vec<Tls13CipherSuite>> = LazyLock::new(|| {
    rustls::crypto::ring::ALL_CIPHER_SUITES
        .iter()
        .filter_map(|s| s.tls13().and_then(lean))
        .collect()
});

/// `suite` with its AEAD keyed per record; `None` if it is not one of ring's AEADs.
fn lean(suite: &Tls13CipherSuite) -> Option<Tls13CipherSuite> {
    use rustls::CipherSuite as C;
    let aead = match suite.common.suite {
        C::TLS13_AES_128_GCM_SHA256 => &AES_128_GCM,
        C::TLS13_AES_256_GCM_SHA384 => &AES_256_GCM,
        C::TLS13_CHACHA20_POLY1305_SHA256 => &CHACHA20_POLY1305,
        _ => return None,
    };
    Some(Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: suite.common.suite,
            hash_provider: suite.common.hash_provider,
            confidentiality_limit: suite.common.confidentiality_limit,
        },
        hkdf_provider: suite.hkdf_provider,
        aead_alg: aead,
        quic: suite.quic,
    })
}

/// `suites` (a provider's, in its order of preference) with every TLS 1.3 suite of ring
/// replaced by its lean twin; TLS 1.2 suites stay as they are.
pub fn lean_suites(suites: &[SupportedCipherSuite]) -> Vec<SupportedCipherSuite> {
    suites
        .iter()
        .map(|s| match s {
            SupportedCipherSuite::Tls13(t) => SUITES
                .iter()
                .find(|l| l.common.suite == t.common.suite)
                .map_or(*s, SupportedCipherSuite::Tls13),
            SupportedCipherSuite::Tls12(_) => *s,
        })
        .collect()
}

/// Whether `suite` keys its records here: a session on any other suite keeps rustls's
/// connection (net::tls_record takes over only these).
pub fn is_lean(suite: &Tls13CipherSuite) -> bool {
    lean_aead(suite.aead_alg)
}

fn lean_aead(aead: &dyn Tls13AeadAlgorithm) -> bool {
    [&AES_128_GCM, &AES_256_GCM, &CHACHA20_POLY1305]
        .into_iter()
        .any(|ours| std::ptr::addr_eq(aead, ours as &dyn Tls13AeadAlgorithm))
}

impl LeanAead {
    fn key(&self, key: &AeadKey) -> ring::aead::LessSafeKey {
        // rustls derives `key_len()` bytes of key, which is what ring takes.
        let key = ring::aead::UnboundKey::new(self.0, key.as_ref())
            .expect("rustls derives a key of the AEAD's length");
        ring::aead::LessSafeKey::new(key)
    }
}

impl Tls13AeadAlgorithm for LeanAead {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(Encrypter {
            aead: self.0,
            key,
            iv,
        })
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(Decrypter {
            aead: self.0,
            key,
            iv,
        })
    }

    fn key_len(&self) -> usize {
        self.0.key_len()
    }

    fn extract_keys(
        &self,
        key: AeadKey,
        iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        let a = self.0;
        Ok(if a == &ring::aead::AES_128_GCM {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv }
        } else if a == &ring::aead::AES_256_GCM {
            ConnectionTrafficSecrets::Aes256Gcm { key, iv }
        } else {
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv }
        })
    }

    fn fips(&self) -> bool {
        false
    }
}

/// One direction's sending key: the raw key (zeroed on drop by `AeadKey`) and IV.
struct Encrypter {
    aead: &'static ring::aead::Algorithm,
    key: AeadKey,
    iv: Iv,
}

struct Decrypter {
    aead: &'static ring::aead::Algorithm,
    key: AeadKey,
    iv: Iv,
}

impl MessageEncrypter for Encrypter {
    /// RFC 8446 section 5.2: the content type after the data, the record header as AAD,
    /// the nonce the IV XOR the sequence number.
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total_len);
        let nonce = ring::aead::Nonce::assume_unique_for_key(Nonce::new(&self.iv, seq).0);
        let aad = ring::aead::Aad::from(make_tls13_aad(total_len));
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&msg.typ.to_array());
        LeanAead(self.aead)
            .key(&self.key)
            .seal_in_place_append_tag(nonce, aad, &mut payload)
            .map_err(|_| Error::EncryptError)?;
        // Every TLS 1.3 record says TLS 1.2 and application data (RFC 8446 section 5.1).
        Ok(OutboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            payload,
        ))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + self.aead.tag_len()
    }
}

impl MessageDecrypter for Decrypter {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let payload = &mut msg.payload;
        if payload.len() < self.aead.tag_len() {
            return Err(Error::DecryptError);
        }
        let nonce = ring::aead::Nonce::assume_unique_for_key(Nonce::new(&self.iv, seq).0);
        let aad = ring::aead::Aad::from(make_tls13_aad(payload.len()));
        let plain_len = LeanAead(self.aead)
            .key(&self.key)
            .open_in_place(nonce, aad, payload)
            .map_err(|_| Error::DecryptError)?
            .len();
        payload.truncate(plain_len);
        msg.into_tls13_unpadded_message()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ring_tls13_suite_has_a_lean_twin() {
        let ring = rustls::crypto::ring::default_provider().cipher_suites;
        let lean = lean_suites(&ring);
        assert_eq!(lean.len(), ring.len());
        for (l, r) in lean.iter().zip(&ring) {
            assert_eq!(l.suite(), r.suite(), "same order");
            if let (SupportedCipherSuite::Tls13(l), SupportedCipherSuite::Tls13(_)) = (l, r) {
                assert!(is_lean(l), "{:?} is not lean", l.common.suite);
            }
        }
    }

    /// What the server and client configurations can negotiate is what they were given
    /// (`config::tls::provider`): each of its TLS 1.3 suites is taken over by the record
    /// layer, none silently left on rustls's.
    #[test]
    fn every_tls13_suite_we_offer_is_lean() {
        let provider = crate::config::tls::provider();
        let tls13: Vec<_> = provider
            .cipher_suites
            .iter()
            .filter_map(|s| s.tls13())
            .collect();
        assert_eq!(tls13.len(), 3);
        assert!(tls13.iter().all(|s| is_lean(s)));
        let ring = rustls::crypto::ring::default_provider().cipher_suites;
        assert!(ring.iter().filter_map(|s| s.tls13()).all(|s| !is_lean(s)));
    }
}
