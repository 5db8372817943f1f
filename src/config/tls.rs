//! The TLS files of the configuration: a listener's certificate chain and key, read and
//! checked when the configuration is loaded (so `--check-config` and a reload see a bad
//! file before any handshake does), and certificate fingerprints as operators write them.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};
use std::path::Path;
use std::sync::Arc;

/// The one crypto provider: ring, which builds with a C compiler alone, with its TLS 1.3
/// suites keyed per record so that an idle session keeps 32-byte keys, not ring's 560-byte
/// key schedules ([`crate::net::tls_aead`]).
pub fn provider() -> Arc<CryptoProvider> {
    let ring = rustls::crypto::ring::default_provider();
    Arc::new(CryptoProvider {
        cipher_suites: crate::net::tls_aead::lean_suites(&ring.cipher_suites),
        ..ring
    })
}

/// The certificate chain in the PEM file `path`, leaf first.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificate file {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "certificate file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

/// A listener's TLS settings from its PEM files: the chain and its private key, which must
/// belong together. Any client certificate is accepted (its fingerprint is what counts).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    server_config_with(provider(), cert, key)
}

/// [`server_config`] on another crypto provider (benchmarks compare providers).
pub fn server_config_with(
    provider: Arc<CryptoProvider>,
    cert: &Path,
    key: &Path,
) -> Result<Arc<ServerConfig>, String> {
    let certs = load_certs(cert)?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        format!(
            "cannot read a PEM private key (PKCS#8, PKCS#1 or SEC1) from key file {}: {e}",
            key.display()
        )
    })?;
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_client_cert_verifier(Arc::new(AnyClientCert(provider)))
        .with_single_cert(certs, key_der)
        .map_err(|e| {
            format!(
                "certificate {} and key {} do not make a usable pair: {e}",
                cert.display(),
                key.display()
            )
        })?;
    // After a TLS 1.3 handshake the loop keeps the keys and drops rustls's connection
    // (net::tls_record): rustls hands them over only when this is set.
    config.enable_secret_extraction = true;
    Ok(Arc::new(config))
}

/// Lowercase hex of the SHA-256 of `der`, as WHOIS shows and `fingerprint` keys compare.
pub fn sha256_hex(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A fingerprint as an operator may write it (`sha256:` prefix optional, colons between
/// bytes allowed, any case) in the form [`sha256_hex`] gives; `None` if it is not 64 hex
/// digits.
pub fn normalize_fingerprint(text: &str) -> Option<String> {
    let t = text.trim();
    let t = match t.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("sha256:") => &t[7..],
        _ => t,
    };
    let hex: String = t.chars().filter(|&c| c != ':').collect();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// The handshake signature checks both verifiers make alike, with the provider's
/// algorithms (`$p`: the field holding the provider).
macro_rules! signature_checks {
    ($p:tt) => {
        signature_checks!($p, verify_tls12_signature);
        signature_checks!($p, verify_tls13_signature);

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.$p
                .signature_verification_algorithms
                .supported_schemes()
        }
    };
    // One handshake version's check: the method calls rustls's function of the same name.
    ($p:tt, $check:ident) => {
        fn $check(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algs = &self.$p.signature_verification_algorithms;
            $check(message, cert, dss, algs)
        }
    };
}

/// A certificate chain and its key: what this side shows the other.
pub type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// TLS settings for dialing a peer known by the SHA-256 `fingerprint` (as
/// [`normalize_fingerprint`] gives it) of its certificate, showing `identity` if given.
pub fn pinned_client_config(
    fingerprint: &str,
    identity: Option<Identity>,
) -> Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let pinned = Pinned {
        fingerprint: fingerprint.into(),
        provider: provider.clone(),
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(pinned));
    let config = match identity {
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .map_err(|e| format!("client certificate: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// TLS settings for dialing a peer whose certificate a CA in the PEM file `ca` signed, for
/// the name the peer is dialed by (the portal's name).
pub fn ca_client_config(ca: &Path) -> Result<Arc<ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in load_certs(ca)? {
        roots
            .add(cert)
            .map_err(|e| format!("CA file {}: unusable certificate: {e}", ca.display()))?;
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Trusts exactly the certificate with a given fingerprint, whatever its names, issuer or
/// dates: the operator vouched for that certificate by writing its fingerprint down.
#[derive(Debug)]
struct Pinned {
    fingerprint: String,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = sha256_hex(end_entity);
        if got == self.fingerprint {
            Ok(ServerCertVerified::assertion())
        } else {
            // A certificate error: the peer is sent a bad_certificate alert.
            let why = format!(
                "its fingerprint sha256:{got} is not the pinned sha256:{}",
                self.fingerprint
            );
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(
                    std::io::Error::other(why),
                ))),
            ))
        }
    }

    signature_checks!(provider);
}

/// Asks for a client certificate and takes any, without a chain: there is no CA for IRC
/// users, a certificate is an identity by its fingerprint. The handshake signature is still
/// checked, so the client holds the certificate's key.
#[derive(Debug)]
struct AnyClientCert(Arc<CryptoProvider>);

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    signature_checks!(0);
}

#[cfg(test)]
#[path = "tls_pipe.rs"]
mod tls_pipe;

#[cfg(test)]
mod tests {
    use super::tls_pipe::pipe;
    use super::*;
    use rustls::{ClientConnection, ServerConnection};
    use std::io::{Read, Write};

    fn data(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    /// Our server (lean suites) and a client on ring's own suites agree on every record,
    /// for each TLS 1.3 suite: same keys, nonces and record format both ways.
    #[test]
    fn lean_suites_talk_to_rings() {
        let server = server_config(&data("server.crt"), &data("server.key")).unwrap();
        let fp = sha256_hex(&load_certs(&data("server.crt")).unwrap()[0]);
        let ring = rustls::crypto::ring::default_provider();
        let tls13 = ring.cipher_suites.iter().filter(|s| s.tls13().is_some());
        for suite in tls13 {
            let provider = Arc::new(CryptoProvider {
                cipher_suites: vec![*suite],
                ..rustls::crypto::ring::default_provider()
            });
            let pinned = Pinned {
                fingerprint: fp.clone(),
                provider: provider.clone(),
            };
            let client = ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13])
                .unwrap()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(pinned))
                .with_no_client_auth();
            let name = ServerName::try_from("irc.test").unwrap();
            let mut c: rustls::Connection = ClientConnection::new(Arc::new(client), name)
                .unwrap()
                .into();
            let mut s: rustls::Connection = ServerConnection::new(server.clone()).unwrap().into();
            while c.is_handshaking() || s.is_handshaking() {
                pipe(&mut c, &mut s);
                pipe(&mut s, &mut c);
            }
            assert_eq!(s.negotiated_cipher_suite(), Some(*suite));
            // Several records each way: the sequence numbers go into the nonces.
            for n in 0..3 {
                let line = format!("PRIVMSG #c :{n}\r\n");
                c.writer().write_all(line.as_bytes()).unwrap();
                pipe(&mut c, &mut s);
                let mut got = vec![0; 64];
                let len = s.reader().read(&mut got).unwrap();
                assert_eq!(&got[..len], line.as_bytes(), "{suite:?}");
                s.writer().write_all(line.as_bytes()).unwrap();
                pipe(&mut s, &mut c);
                let len = c.reader().read(&mut got).unwrap();
                assert_eq!(&got[..len], line.as_bytes(), "{suite:?}");
            }
        }
    }

    #[test]
    fn fingerprints_in_any_spelling() {
        let hex = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        for text in [
            hex.clone(),
            format!("sha256:{hex}"),
            format!("SHA256:{colons}"),
            colons.clone(),
        ] {
            assert_eq!(
                normalize_fingerprint(&text).as_deref(),
                Some(&*hex),
                "{text}"
            );
        }
        for bad in ["", "sha256:", "ab", &"zz".repeat(32), &"ab".repeat(33)] {
            assert_eq!(normalize_fingerprint(bad), None, "{bad}");
        }
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
