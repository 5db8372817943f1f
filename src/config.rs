//! The configuration file (TOML): parsing, defaults, validation. Errors name the file, the
//! line and what to do about it.

use crate::proto::CaseMapping;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

mod channel;
mod diff;
pub mod tls;
pub use channel::ChannelCfg;

/// The configuration used when no file is given: a server for trying Portico locally.
pub const DEFAULT_CONFIG: &str = r#"# Portico's built-in configuration.
[server]
name = "irc.portico.local"
id = 1
description = "Portico IRC server"
network = "PorticoNet"
motd = "Welcome to Portico."

[[listen]]
address = "127.0.0.1:6667"
"#;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerCfg,
    #[serde(default)]
    pub listen: Vec<Listen>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub oper: Vec<Oper>,
    #[serde(default)]
    pub account: Vec<Account>,
    #[serde(default)]
    pub admin: Admin,
    #[serde(default)]
    pub cloak: Cloak,
    #[serde(default)]
    pub log: LogCfg,
    #[serde(default)]
    pub metrics: MetricsCfg,
    #[serde(default)]
    pub portal: Vec<Portal>,
    #[serde(default)]
    pub ircx: Ircx,
    #[serde(default)]
    pub tls: TlsCfg,
    /// Registered channels (IRCX `+r`).
    #[serde(default)]
    pub channel: Vec<ChannelCfg>,
    #[serde(default)]
    pub testing: Testing,
}

/// `[tls]`: settings for all TLS listeners.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TlsCfg {
    /// IRCv3 STS: seconds a client should keep to TLS once it has connected with it. With
    /// a TLS listener, plain listeners then point clients at its port (`sts` capability).
    #[serde(default)]
    pub sts_duration: Option<u64>,
}

/// `[ircx]`: settings of the IRCX dialect (shared/design/IRCX.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ircx {
    /// `"host:port,host:port"`: where IRCX clients are sent (REDIRECT) when this server shuts
    /// down; empty for none.
    #[serde(default)]
    pub redirect: String,
    /// Most ACCESS entries one object (a channel, a user's own list, `$`, `*`) may hold:
    /// a client must not be able to grow the server's memory without bound (916 beyond).
    #[serde(default = "default_max_access")]
    pub max_access: usize,
    /// The symbol RFC clients see on channel owners: `~` (default), or `@` to show owners
    /// as hosts (the Exchange behaviour), or another unused symbol such as `!`.
    #[serde(default = "default_owner_prefix")]
    pub rfc_owner_prefix: String,
}

fn default_owner_prefix() -> String {
    "~".into()
}

impl Default for Ircx {
    fn default() -> Self {
        Ircx {
            redirect: String::new(),
            max_access: default_max_access(),
            // Without an [ircx] section, as before: empty means the default `~`.
            rfc_owner_prefix: String::new(),
        }
    }
}

fn default_max_access() -> usize {
    100
}

/// Beyond this an access list is no longer a list anyone reads, and every JOIN walks it.
pub const MAX_ACCESS_LIMIT: usize = 10_000;
/// Highest value of the per-client limits (channels per client, list entries, metadata
/// keys): past it they would no longer bound anything a server should hold for one client.
pub const MAX_PER_CLIENT_LIMIT: usize = 10_000;

impl Ircx {
    /// The REDIRECT server list, if one is set, without spaces around its entries.
    pub fn redirect_list(&self) -> Option<String> {
        let list = self.redirect.trim();
        (!list.is_empty()).then(|| list.split(',').map(str::trim).collect::<Vec<_>>().join(","))
    }
}

/// A `host:port` entry of a server list: a host-like name or an IP address (IPv6 in
/// brackets), and a port from 1 to 65535.
fn valid_host_port(entry: &str) -> bool {
    let Some((host, port)) = entry.rsplit_once(':') else {
        return false;
    };
    let port_ok = port.parse::<u16>().is_ok_and(|p| p != 0) && !port.starts_with('+');
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        }
    };
    port_ok && host_ok
}

/// A peer server this one may link with.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Portal {
    /// The peer's server name.
    pub name: String,
    /// Where to dial; absent for a portal that only accepts.
    #[serde(default)]
    pub address: Option<SocketAddr>,
    /// The peer's unique server ID.
    pub id: u16,
    /// The same on both ends.
    pub password: String,
    /// Dial out and keep the link up.
    #[serde(default)]
    pub connect: bool,
    /// Send queue limit for this link: larger than a client's, a burst is big.
    #[serde(default = "default_portal_sendq")]
    pub sendq_bytes: usize,
    /// `portico` (the native protocol) or `rfc2813` (ngIRCd and other RFC 2813 servers).
    #[serde(default)]
    pub protocol: PortalProtocol,
    /// The link is TLS only: dialed with TLS, and refused when it comes in without.
    #[serde(default)]
    pub tls: bool,
    /// The SHA-256 fingerprint of the peer's certificate (`sha256:` and colons optional),
    /// which a dialed TLS link must show...
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// ...or a PEM file of CA certificates (relative to the configuration file) whose
    /// certificate for the portal's name it must show.
    #[serde(default)]
    pub ca: Option<String>,
    /// The TLS settings for dialing, built from `fingerprint` or `ca` by [`Config::load`].
    #[serde(skip)]
    pub client_tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PortalProtocol {
    #[default]
    Portico,
    Rfc2813,
}

impl fmt::Debug for Portal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password is never logged.
        write!(
            f,
            "Portal {{ name: {:?}, address: {:?}, id: {}, connect: {}, sendq_bytes: {}, protocol: {:?}, tls: {} }}",
            self.name, self.address, self.id, self.connect, self.sendq_bytes, self.protocol, self.tls
        )
    }
}

fn default_portal_sendq() -> usize {
    16 << 20
}

/// Options for tests only: they make this server behave like an older release on its
/// portals, so mixed-version links can be tested. Never set them in production.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Testing {
    /// Highest portal protocol version offered (default: the newest).
    #[serde(default)]
    pub portal_protocol_max: Option<u8>,
    /// Portal capabilities offered (default: all known).
    #[serde(default)]
    pub portal_caps: Option<Vec<String>>,
    /// The password-guessing window and first suspension, in ms (default: a minute).
    #[serde(default)]
    pub auth_window_ms: Option<u64>,
    /// The syslog socket `[log] syslog` writes to (default /dev/log).
    #[serde(default)]
    pub syslog_path: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerCfg {
    pub name: String,
    pub id: u16,
    #[serde(default = "default_description")]
    pub description: String,
    #[serde(default = "default_network")]
    pub network: String,
    #[serde(default)]
    pub motd: Option<String>,
    #[serde(default)]
    pub motd_file: Option<String>,
    #[serde(default)]
    pub password: String,
    /// Where ACCESS state that must survive a restart is kept (relative to the config
    /// file; default `<config>.state` beside it). A service whose config directory is
    /// read-only points it at a writable one (`/var/lib/portico/portico.state`).
    #[serde(default)]
    pub state_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    pub address: SocketAddr,
    /// Clients speak TLS here, with the certificate `cert` and its key `key` (PEM files,
    /// relative to the configuration file).
    #[serde(default)]
    pub tls: bool,
    #[serde(default)]
    pub cert: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    /// Clients speak IRC over WebSocket here (IRCv3 WebSocket), and a plain HTTP GET gets
    /// the built-in web client page.
    #[serde(default)]
    pub websocket: bool,
    /// The TLS settings built from `cert` and `key` by [`Config::load`].
    #[serde(skip)]
    pub server_tls: Option<std::sync::Arc<rustls::ServerConfig>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_clients: usize,
    pub max_clients_per_ip: usize,
    pub sendq_bytes: usize,
    pub nick_length: usize,
    pub casemapping: CaseMapping,
    pub ping_interval_s: u64,
    pub ping_timeout_s: u64,
    pub registration_timeout_s: u64,
    /// Lines a client may send at once before flood penalty starts.
    pub flood_burst: u32,
    /// Milliseconds per line once the burst is spent.
    pub flood_interval_ms: u64,
    /// SO_SNDBUF for each accepted socket (0: the kernel's autotuning). Small, so that a
    /// client that stops reading fills its send queue (which counts) rather than megabytes
    /// of kernel memory (which do not).
    pub so_sndbuf: usize,
    /// New connections one address (an IPv6 /64) may open per minute; 0: no limit.
    pub connects_per_ip_per_min: u32,
    /// Channels the server holds before JOIN stops creating new ones (437); 0: no cap.
    pub max_channels: usize,
    /// What one client can make the server keep (issue 14's per-client budget): channels
    /// it is in (CHANLIMIT; 405 past it)...
    pub max_channels_per_client: usize,
    /// ...entries in each ban, exception and invitation list of a channel (MAXLIST; 478
    /// past it; ACCESS entries per object are `[ircx] max_access`, 916)...
    pub max_list_entries: usize,
    /// ...and free-form metadata keys (IRCX PROP or draft/metadata-2) per user and per
    /// channel (`max-keys`; FAIL METADATA LIMIT_REACHED, or IRCX 906, past it).
    pub max_metadata_keys: usize,
    /// IRCv3 UTF8ONLY: text that is not valid UTF-8 is refused (`FAIL <command>
    /// INVALID_UTF8`) instead of relayed as bytes.
    pub utf8only: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_clients: 50_000,
            max_clients_per_ip: 16,
            sendq_bytes: 1 << 20,
            nick_length: 30,
            casemapping: CaseMapping::Rfc1459,
            ping_interval_s: 120,
            ping_timeout_s: 60,
            registration_timeout_s: crate::limits::REGISTRATION_TIMEOUT_S,
            flood_burst: crate::limits::FLOOD_BURST,
            flood_interval_ms: crate::limits::FLOOD_INTERVAL_MS,
            so_sndbuf: crate::limits::SO_SNDBUF,
            connects_per_ip_per_min: 0,
            max_channels: 100_000,
            max_channels_per_client: crate::limits::MAX_CHANNELS,
            max_list_entries: crate::limits::MAX_BANS,
            max_metadata_keys: crate::limits::METADATA_MAX_KEYS,
            utf8only: false,
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oper {
    pub name: String,
    pub password: String,
    /// `user@host` mask the operator must match; default any.
    #[serde(default = "default_oper_host")]
    pub host: String,
    /// IRCX level: `sysop` (user mode +o) or `manager` (sysop manager, +o and +a).
    #[serde(default)]
    pub level: OperLevel,
    /// What this operator may do ([`Privilege`] names); absent: [`DEFAULT_PRIVILEGES`].
    #[serde(default)]
    pub privileges: Option<Vec<String>>,
    /// The SHA-256 fingerprint of the TLS client certificate the operator must connect
    /// with (`sha256:` and colons optional); none needed if absent.
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// An operator power that an `[[oper]]` block grants by name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Privilege {
    Kill,
    Die,
    Restart,
    Rehash,
    Connect,
    Squit,
    Ban,
    Wallops,
    SeeIps,
    /// CHGHOST and CHGIDENT: change a user's shown host or username.
    Chghost,
}

/// Every privilege with its name in the configuration.
pub const PRIVILEGES: [(Privilege, &str); 10] = [
    (Privilege::Kill, "kill"),
    (Privilege::Die, "die"),
    (Privilege::Restart, "restart"),
    (Privilege::Rehash, "rehash"),
    (Privilege::Connect, "connect"),
    (Privilege::Squit, "squit"),
    (Privilege::Ban, "ban"),
    (Privilege::Wallops, "wallops"),
    (Privilege::SeeIps, "see-ips"),
    (Privilege::Chghost, "chghost"),
];

/// Without a `privileges` list: everything but stopping or restarting the server, which
/// an operator must be given by name.
pub const DEFAULT_PRIVILEGES: u16 =
    !(Privilege::Die.bit() | Privilege::Restart.bit()) & ((1 << PRIVILEGES.len()) - 1);

impl Privilege {
    pub const fn bit(self) -> u16 {
        1 << self as u16
    }

    pub fn name(self) -> &'static str {
        PRIVILEGES[self as usize].1
    }

    fn from_name(name: &str) -> Option<Privilege> {
        PRIVILEGES.iter().find(|(_, n)| *n == name).map(|(p, _)| *p)
    }
}

impl Oper {
    /// The privileges this block grants, as a bit set.
    pub fn privileges(&self) -> u16 {
        match &self.privileges {
            None => DEFAULT_PRIVILEGES,
            Some(names) => names
                .iter()
                .filter_map(|n| Privilege::from_name(n))
                .fold(0, |bits, p| bits | p.bit()),
        }
    }

    /// The first name in `privileges` that is not one.
    fn unknown_privilege(&self) -> Option<&str> {
        self.privileges
            .iter()
            .flatten()
            .find(|n| Privilege::from_name(n).is_none())
            .map(String::as_str)
    }
}

/// The names of the privileges in `bits`, comma-separated (STATS o, --check-config).
pub fn privilege_names(bits: u16) -> String {
    PRIVILEGES
        .iter()
        .filter(|(p, _)| bits & p.bit() != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

/// `[[account]]`: a user who may authenticate (IRCX `AUTH PLAIN`). The password is kept as
/// an argon2 PHC hash (`portico --hash-password` makes one), never in the clear.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub name: String,
    /// `$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>`.
    pub password: String,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Account {{ name: {:?} }}", self.name)
    }
}

impl Account {
    /// Whether `password` is this account's (argon2 verification: slow on purpose).
    pub fn verify(&self, password: &[u8]) -> bool {
        verify_hash(&self.password, password)
    }
}

/// Whether `given` equals the secret `wanted` (a configured password), in a time that
/// depends only on `given`'s length: stopping at the first difference would tell a guesser
/// how much of a password was right, one timing at a time.
pub fn same_secret(wanted: &[u8], given: &[u8]) -> bool {
    let mut diff = u8::from(wanted.len() != given.len());
    for (i, &b) in given.iter().enumerate() {
        let w = if wanted.is_empty() {
            0
        } else {
            wanted[i % wanted.len()]
        };
        diff |= w ^ b;
    }
    std::hint::black_box(diff) == 0
}

/// Whether `given` is the configured secret `wanted`: an argon2 hash (`$argon2id$…`, as
/// `--hash-password` prints) is verified (milliseconds of CPU on the loop thread, which
/// the guessing guard bounds per address), plain text compared in constant time.
pub fn check_secret(wanted: &str, given: &[u8]) -> bool {
    if is_hashed(wanted) {
        verify_hash(wanted, given)
    } else {
        same_secret(wanted.as_bytes(), given)
    }
}

/// Whether a configured secret is meant as an argon2 hash.
pub fn is_hashed(secret: &str) -> bool {
    secret.starts_with("$argon2")
}

/// Whether `password` matches the argon2 PHC string `hash`.
pub fn verify_hash(hash: &str, password: &[u8]) -> bool {
    use argon2::{Argon2, PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password, &h).is_ok())
}

/// Whether `hash` is an argon2 PHC hash string that `Account::verify` can use.
fn valid_password_hash(hash: &str) -> bool {
    argon2::PasswordHash::new(hash).is_ok_and(|h| {
        matches!(h.algorithm.as_str(), "argon2id" | "argon2i" | "argon2d")
            && h.hash.is_some()
            && h.salt.is_some()
    })
}

/// The argon2id PHC hash of `password` with a fresh random 16-byte salt from
/// `/dev/urandom` (`--hash-password`; argon2's own `OsRng` would pull in getrandom).
pub fn hash_password(password: &[u8]) -> std::io::Result<String> {
    use argon2::password_hash::SaltString;
    use argon2::{Argon2, PasswordHasher};
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let salt = SaltString::encode_b64(&bytes).expect("16 bytes make a valid salt");
    Ok(Argon2::default()
        .hash_password(password, &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string())
}

/// The level an `[[oper]]` block gives (draft-pfenning-irc-extensions §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OperLevel {
    #[default]
    Sysop,
    Manager,
}

impl fmt::Debug for Oper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Passwords are never logged.
        write!(
            f,
            "Oper {{ name: {:?}, host: {:?}, level: {:?} }}",
            self.name, self.host, self.level
        )
    }
}

/// `[log]`: where the log goes besides (or instead of) stderr.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogCfg {
    /// A file the log is appended to instead of stderr (relative to the config file);
    /// reopened after SIGHUP, for logrotate.
    #[serde(default)]
    pub file: Option<String>,
    /// Each line to the local syslog too (facility daemon).
    #[serde(default)]
    pub syslog: bool,
}

/// `[metrics]`: a Prometheus scrape endpoint (`net::metrics`), off without an address.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetricsCfg {
    /// `IP:PORT` serving `GET /metrics`. A string, not a `SocketAddr`, so that a bad one
    /// is reported with its key and the form expected ([`Config::validate`]).
    #[serde(default)]
    pub address: Option<String>,
}

impl MetricsCfg {
    /// The address to listen on, if metrics are on (validated at load).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.address.as_deref().and_then(|a| a.parse().ok())
    }
}

/// `[cloak]`: hosts shown as keyed hashes of the address (`core::cloak`).
#[derive(Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Cloak {
    /// The key; empty (the default) shows addresses as they are.
    #[serde(default)]
    pub secret: String,
}

/// Shorter keys could be found by trying every cloak of a known address.
pub const MIN_CLOAK_SECRET: usize = 16;

impl fmt::Debug for Cloak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cloak {{ on: {} }}", !self.secret.is_empty())
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub location2: String,
    #[serde(default)]
    pub email: String,
}

fn default_description() -> String {
    "Portico IRC server".into()
}
fn default_network() -> String {
    "PorticoNet".into()
}
fn default_oper_host() -> String {
    "*@*".into()
}

impl Listen {
    /// Reads and checks the certificate and key of a TLS listener (paths relative to
    /// `dir`, the configuration file's directory).
    fn load_tls(&mut self, dir: &Path) -> Result<(), String> {
        let (true, Some(cert), Some(key)) = (self.tls, &self.cert, &self.key) else {
            return Ok(());
        };
        let tls = tls::server_config(&dir.join(cert), &dir.join(key)).map_err(|e| {
            format!(
                "[[listen]] {}: {e}; fix the file or the path (relative to this file), e.g. make a self-signed pair as README.md shows",
                self.address
            )
        })?;
        self.server_tls = Some(tls);
        Ok(())
    }
}

impl Portal {
    /// The TLS settings for dialing a `tls = true` portal: its pinned fingerprint, or its
    /// CA file (relative to `dir`).
    fn load_tls(&self, dir: &Path) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>, String> {
        if !self.tls {
            return Ok(None);
        }
        let config = match (&self.fingerprint, &self.ca) {
            (Some(fp), _) => {
                let fp = tls::normalize_fingerprint(fp).unwrap_or_default();
                tls::pinned_client_config(&fp, None)
            }
            (None, Some(ca)) => tls::ca_client_config(&dir.join(ca)),
            (None, None) => return Ok(None),
        };
        config.map(Some).map_err(|e| {
            format!(
                "portal {:?}: {e}; fix the file or the path (relative to this file)",
                self.name
            )
        })
    }
}

/// A configuration error, printed as `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The built-in configuration.
    pub fn default_config() -> Config {
        Config::parse(DEFAULT_CONFIG, "<built-in>").expect("the built-in config is valid")
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            message: format!("cannot read the file: {e}; check the path and its permissions"),
        })?;
        let mut cfg = Config::parse(&text, &file)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for file in [&mut cfg.server.state_file, &mut cfg.log.file]
            .into_iter()
            .flatten()
        {
            *file = dir.join(&*file).display().to_string();
        }
        if let Some(motd) = &cfg.server.motd_file {
            let motd_path = dir.join(motd);
            cfg.server.motd = Some(std::fs::read_to_string(&motd_path).map_err(|e| ConfigError {
                file: file.clone(),
                line: line_of(&text, "motd_file"),
                message: format!(
                    "cannot read motd_file {}: {e}; fix the path (relative to this file) or use motd = \"...\"",
                    motd_path.display()
                ),
            })?);
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        for (i, l) in cfg.listen.iter_mut().enumerate() {
            l.load_tls(dir).map_err(|message| ConfigError {
                file: file.clone(),
                line: line_of_in(&text, "[[listen]]", i, "cert"),
                message,
            })?;
        }
        for (i, p) in cfg.portal.iter_mut().enumerate() {
            p.client_tls = p.load_tls(dir).map_err(|message| ConfigError {
                file: file.clone(),
                line: line_of_in(&text, "[[portal]]", i, "ca"),
                message,
            })?;
        }
        Ok(cfg)
    }

    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(0);
            ConfigError {
                file: file.into(),
                line,
                message: format!(
                    "{}{}; see the configuration reference in README.md",
                    key_at(text, line).map_or(String::new(), |k| format!("{k}: ")),
                    plain_toml_error(e.message())
                ),
            }
        })?;
        cfg.validate(text, file)?;
        // A pinned portal needs no file: its TLS settings are ready without `load`.
        for p in cfg.portal.iter_mut().filter(|p| p.ca.is_none()) {
            p.client_tls = p.load_tls(Path::new("")).map_err(|message| ConfigError {
                file: file.into(),
                line: line_of(text, "fingerprint"),
                message,
            })?;
        }
        Ok(cfg)
    }

    fn validate(&self, text: &str, file: &str) -> Result<(), ConfigError> {
        let err = |key: &str, message: String| ConfigError {
            file: file.into(),
            line: line_of(text, key),
            message,
        };
        let s = &self.server;
        if !(1..=4095).contains(&s.id) {
            return Err(err("id", format!("server id {} is out of range; use a number from 1 to 4095, unique in the network", s.id)));
        }
        if is_hashed(&s.password) && !valid_password_hash(&s.password) {
            return Err(err("password", "[server] password looks like an argon2 hash but is not a valid one; run portico --hash-password to make one".into()));
        }
        if !valid_server_name(&s.name) {
            return Err(err("name", format!("server name {:?} is not a valid host-like name; use letters, digits, '-' and at least one '.', at most 63 characters", s.name)));
        }
        if s.network.is_empty() || s.network.contains(' ') {
            return Err(err(
                "network",
                "network must be a non-empty word without spaces".into(),
            ));
        }
        let at = |table: &str, i: usize, key: &str, message: String| ConfigError {
            file: file.into(),
            line: line_of_in(text, table, i, key),
            message,
        };
        if let Some(i) = first_repeat(&self.listen, |a, b| a.address == b.address) {
            let a = self.listen[i].address;
            return Err(at("[[listen]]", i, "address", format!("[[listen]] address {a} is given twice; remove one (a port can be listened on once)")));
        }
        if self.tls.sts_duration.is_some() && !self.listen.iter().any(|l| l.tls) {
            return Err(err("sts_duration", "sts_duration tells clients to use TLS, but no [[listen]] has tls = true; add a TLS listener or remove sts_duration".into()));
        }
        for (i, l) in self.listen.iter().enumerate() {
            if l.tls != (l.cert.is_some() && l.key.is_some()) {
                return Err(at("[[listen]]", i, "address", format!("[[listen]] {}: TLS needs all three of tls = true, cert = \"cert.pem\" and key = \"key.pem\" (PEM files, relative to this file)", l.address)));
            }
        }
        if let Some(i) = first_repeat(&self.oper, |a, b| a.name == b.name) {
            let name = &self.oper[i].name;
            return Err(at(
                "[[oper]]",
                i,
                "name",
                format!("[[oper]] {name:?} is given twice; OPER would only ever match the first"),
            ));
        }
        for (i, o) in self.oper.iter().enumerate() {
            if let Some(bad) = o.unknown_privilege() {
                let known = PRIVILEGES.map(|(_, n)| n).join(", ");
                return Err(at(
                    "[[oper]]",
                    i,
                    "privileges",
                    format!(
                        "[[oper]] {:?}: {bad:?} is not a privilege; use some of {known}",
                        o.name
                    ),
                ));
            }
        }
        if let Some(a) = self
            .metrics
            .address
            .as_deref()
            .filter(|a| a.parse::<SocketAddr>().is_err())
        {
            return Err(at("[metrics]", 0, "address", format!("[metrics] address {a:?} is not an address; write an address like 127.0.0.1:9100 or [::1]:9100 (an IP and a port: host names are not resolved), or leave the key out to serve no metrics")));
        }
        let secret = &self.cloak.secret;
        if !secret.is_empty() && secret.chars().count() < MIN_CLOAK_SECRET {
            return Err(err(
                "secret",
                format!("[cloak] secret is too short ({} characters); use at least {MIN_CLOAK_SECRET} random ones, e.g. from: head -c 24 /dev/urandom | base64", secret.chars().count()),
            ));
        }
        let l = &self.limits;
        if !(1..=50).contains(&l.nick_length) {
            return Err(err(
                "nick_length",
                format!("nick_length {} is out of range; use 1 to 50", l.nick_length),
            ));
        }
        if l.max_clients == 0 {
            return Err(err("max_clients", "max_clients must be at least 1".into()));
        }
        if l.sendq_bytes < 4096 {
            return Err(err(
                "sendq_bytes",
                "sendq_bytes must be at least 4096".into(),
            ));
        }
        if l.so_sndbuf != 0 && l.so_sndbuf < 4096 {
            return Err(err(
                "so_sndbuf",
                "so_sndbuf must be 0 (the kernel's autotuning) or at least 4096".into(),
            ));
        }
        if l.ping_interval_s == 0 || l.ping_timeout_s == 0 || l.registration_timeout_s == 0 {
            return Err(err(
                "ping_",
                "ping_interval_s, ping_timeout_s and registration_timeout_s must be at least 1"
                    .into(),
            ));
        }
        if l.flood_burst == 0 {
            return Err(err("flood_burst", "flood_burst must be at least 1".into()));
        }
        for (i, o) in self.oper.iter().enumerate() {
            if is_hashed(&o.password) && !valid_password_hash(&o.password) {
                return Err(err(
                    "[[oper]]",
                    format!(
                        "[[oper]] {:?}: password looks like an argon2 hash but is not a valid one; run portico --hash-password to make one",
                        o.name
                    ),
                ));
            }
            if o.name.is_empty() || o.password.is_empty() {
                return Err(err(
                    "[[oper]]",
                    "every [[oper]] needs a non-empty name and password".into(),
                ));
            }
            if o.fingerprint
                .as_deref()
                .is_some_and(|f| tls::normalize_fingerprint(f).is_none())
            {
                return Err(at("[[oper]]", i, "fingerprint", format!("[[oper]] {:?}: fingerprint is not a SHA-256 fingerprint; write 64 hex digits (colons between bytes and a sha256: prefix allowed), e.g. from: openssl x509 -in cert.pem -noout -fingerprint -sha256", o.name)));
            }
        }
        for (i, a) in self.account.iter().enumerate() {
            let at = format!("name = {:?}", a.name);
            if a.name.is_empty() || a.name.contains(|c: char| c == '\0' || c.is_whitespace()) {
                return Err(err(
                    "[[account]]",
                    format!(
                        "[[account]] name {:?} must be non-empty, without spaces",
                        a.name
                    ),
                ));
            }
            if !valid_password_hash(&a.password) {
                let line = line_of_in(text, "[[account]]", i, "password");
                return Err(ConfigError {
                    file: file.into(),
                    line: if line == 0 { line_of(text, &at) } else { line },
                    message: format!(
                        "[[account]] {:?}: password is not an argon2 hash; run portico --hash-password to make one",
                        a.name
                    ),
                });
            }
            if self.account[..i]
                .iter()
                .any(|b| b.name.eq_ignore_ascii_case(&a.name))
            {
                return Err(err(&at, format!("[[account]] {:?} is given twice", a.name)));
            }
        }
        if let Some(list) = self.ircx.redirect_list() {
            if let Some(bad) = list.split(',').find(|e| !valid_host_port(e)) {
                return Err(err(
                    "redirect",
                    format!("redirect entry {bad:?} is not host:port; write redirect = \"host:port,host:port\" (a name or IP address, [IPv6] in brackets, port 1-65535)"),
                ));
            }
        }
        let per_client = [
            (
                "max_channels_per_client",
                self.limits.max_channels_per_client,
            ),
            ("max_list_entries", self.limits.max_list_entries),
            ("max_metadata_keys", self.limits.max_metadata_keys),
        ];
        for (key, v) in per_client {
            if !(1..=MAX_PER_CLIENT_LIMIT).contains(&v) {
                return Err(err(
                    key,
                    format!("[limits] {key} = {v} must be 1-{MAX_PER_CLIENT_LIMIT}"),
                ));
            }
        }
        if !(1..=MAX_ACCESS_LIMIT).contains(&self.ircx.max_access) {
            return Err(err(
                "max_access",
                format!(
                    "max_access = {} must be 1-{MAX_ACCESS_LIMIT} (entries per ACCESS object)",
                    self.ircx.max_access
                ),
            ));
        }
        let sym = &self.ircx.rfc_owner_prefix;
        let reserved = "+.#&:,$* ";
        let mut chars = sym.chars();
        if !sym.is_empty()
            && !matches!((chars.next(), chars.next()), (Some(c), None) if c.is_ascii_graphic() && !reserved.contains(c))
        {
            return Err(err(
                "rfc_owner_prefix",
                format!("rfc_owner_prefix {sym:?} is not one symbol owners can wear; write \"~\" (the default), \"@\" (owners shown as hosts) or another single symbol such as \"!\" (not one of + . # & : , $ *)"),
            ));
        }
        channel::validate(&self.channel, l.casemapping, text, file)?;
        self.validate_portals(text, file)
    }

    fn validate_portals(&self, text: &str, file: &str) -> Result<(), ConfigError> {
        let err = |key: &str, message: String| ConfigError {
            file: file.into(),
            line: line_of(text, key),
            message,
        };
        for (i, p) in self.portal.iter().enumerate() {
            let at = |key: &str| {
                format!(
                    "{key} = {}",
                    if key == "name" {
                        format!("{:?}", p.name)
                    } else {
                        String::new()
                    }
                )
            };
            if !valid_server_name(&p.name) {
                return Err(err(&at("name"), format!("portal name {:?} is not a valid server name; use letters, digits, '-' and at least one '.'", p.name)));
            }
            if p.name.eq_ignore_ascii_case(&self.server.name) {
                return Err(err(
                    &at("name"),
                    format!(
                        "portal {:?} has this server's own name; a portal names the peer",
                        p.name
                    ),
                ));
            }
            if !(1..=4095).contains(&p.id) || p.id == self.server.id {
                return Err(err(
                    &at("name"),
                    format!(
                        "portal {:?}: id {} must be 1-4095 and differ from this server's id {}",
                        p.name, p.id, self.server.id
                    ),
                ));
            }
            if p.password.is_empty() || p.password.contains(' ') {
                return Err(err(
                    &at("name"),
                    format!(
                        "portal {:?}: password must be non-empty and without spaces",
                        p.name
                    ),
                ));
            }
            if p.sendq_bytes < 4096 {
                return Err(err(
                    &at("name"),
                    format!("portal {:?}: sendq_bytes must be at least 4096", p.name),
                ));
            }
            if p.connect && p.address.is_none() {
                return Err(err(
                    &at("name"),
                    format!(
                        "portal {:?}: connect = true needs an address = \"host:port\"",
                        p.name
                    ),
                ));
            }
            if let Some(fp) = p
                .fingerprint
                .as_deref()
                .filter(|f| tls::normalize_fingerprint(f).is_none())
            {
                return Err(err(
                    &at("name"),
                    format!("portal {:?}: fingerprint {fp:?} is not a SHA-256 fingerprint; write sha256: and 64 hex digits (colons between bytes allowed), e.g. from: openssl x509 -in cert.pem -noout -fingerprint -sha256", p.name),
                ));
            }
            if p.tls && p.address.is_some() && p.fingerprint.is_none() && p.ca.is_none() {
                return Err(err(
                    &at("name"),
                    format!("portal {:?}: tls = true with an address needs the peer's certificate: fingerprint = \"sha256:...\" or ca = \"ca.pem\"", p.name),
                ));
            }
            if !p.tls && (p.fingerprint.is_some() || p.ca.is_some()) {
                return Err(err(
                    &at("name"),
                    format!(
                        "portal {:?}: fingerprint and ca are for TLS links; add tls = true",
                        p.name
                    ),
                ));
            }
            if self.portal[..i]
                .iter()
                .any(|q| q.name.eq_ignore_ascii_case(&p.name) || q.id == p.id)
            {
                return Err(err(
                    &at("name"),
                    format!(
                        "portal {:?}: another [[portal]] has the same name or id",
                        p.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Secrets written in plain text (`--check-config` warns about each). Portal passwords
    /// are not among them: a server sends its own, so it must know it.
    pub fn plain_secrets(&self) -> Vec<String> {
        const HOW: &str =
            "is plain text; portico --hash-password makes an argon2id hash to use instead";
        let mut found: Vec<String> = self
            .oper
            .iter()
            .filter(|o| !is_hashed(&o.password))
            .map(|o| format!("[[oper]] {:?}: password {HOW}", o.name))
            .collect();
        if !self.server.password.is_empty() && !is_hashed(&self.server.password) {
            found.push(format!("[server] password {HOW}"));
        }
        found
    }

    pub fn motd_lines(&self) -> Vec<String> {
        self.server
            .motd
            .as_deref()
            .map(|m| m.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

/// A host-like name: letters, digits, '-' and at least one '.', at most 63 bytes.
pub fn valid_server_name(name: &str) -> bool {
    !name.is_empty()
        && name.contains('.')
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// The line (1-based) where `key` is first set, for errors found after parsing; 0 if absent.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map_or(0, |i| i + 1)
}

/// The index of the first entry equal (by `same`) to an earlier one.
fn first_repeat<T>(items: &[T], same: impl Fn(&T, &T) -> bool) -> Option<usize> {
    (0..items.len()).find(|&i| items[..i].iter().any(|b| same(b, &items[i])))
}

/// serde's wording of a few errors, in the operator's terms: Rust type names mean nothing
/// to them, a host name where an address belongs needs saying so, and `[testing]` is for
/// the test suite, not a section to offer.
fn plain_toml_error(message: &str) -> String {
    if message.contains("invalid socket address syntax") {
        return "not an address; write IP:PORT, e.g. \"127.0.0.1:6667\" or \"[::1]:6667\" \
            (host names such as localhost are not resolved)"
            .into();
    }
    let mut m = message.to_string();
    for (rust, plain) in [
        ("expected usize", "expected a whole number (0 or more)"),
        ("expected u64", "expected a whole number (0 or more)"),
        ("expected u32", "expected a whole number (0 or more)"),
        ("expected u16", "expected a whole number (0 to 65535)"),
        ("expected u8", "expected a whole number (0 to 255)"),
        (", `testing`", ""),
    ] {
        m = m.replace(rust, plain);
    }
    m
}

/// The key set on line `line` (1-based) with its table, as an operator would look for it
/// (`[[listen]] address`), for parse errors that name only a line.
fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (key, _) = lines.get(line.checked_sub(1)?)?.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let table = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['));
    Some(match table {
        Some(t) => format!("{t} {key}"),
        None => key.to_string(),
    })
}

/// The line of `key` in the `n`th (0-based) `table` block, e.g. the `password` of the second
/// `[[account]]`; 0 if absent.
fn line_of_in(text: &str, table: &str, n: usize, key: &str) -> usize {
    let mut seen = 0;
    let mut inside = false;
    for (i, l) in text.lines().enumerate() {
        let l = l.trim_start();
        if l.starts_with('[') {
            inside = l.starts_with(table) && {
                seen += 1;
                seen == n + 1
            };
        } else if inside && l.starts_with(key) {
            return i + 1;
        }
    }
    0
}

impl fmt::Display for Config {
    /// The effective settings, as `--check-config` prints them (passwords hidden).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.server;
        writeln!(f, "[server]")?;
        writeln!(
            f,
            "name = {:?}\nid = {}\ndescription = {:?}\nnetwork = {:?}",
            s.name, s.id, s.description, s.network
        )?;
        writeln!(f, "motd = {} line(s)", self.motd_lines().len())?;
        writeln!(
            f,
            "password = {}",
            if s.password.is_empty() {
                "(none)"
            } else {
                "(set)"
            }
        )?;
        if let Some(state) = &s.state_file {
            writeln!(f, "state_file = {state:?}")?;
        }
        for l in &self.listen {
            writeln!(f, "\n[[listen]]\naddress = \"{}\"", l.address)?;
            if let (true, Some(cert), Some(key)) = (l.tls, &l.cert, &l.key) {
                writeln!(f, "tls = true\ncert = {cert:?}\nkey = {key:?}")?;
            }
            if l.websocket {
                writeln!(f, "websocket = true")?;
            }
        }
        let l = &self.limits;
        writeln!(f, "\n[limits]")?;
        writeln!(
            f,
            "max_clients = {}\nmax_clients_per_ip = {}\nconnects_per_ip_per_min = {}\nmax_channels = {}\nsendq_bytes = {}\nso_sndbuf = {}\nutf8only = {}",
            l.max_clients, l.max_clients_per_ip, l.connects_per_ip_per_min, l.max_channels, l.sendq_bytes, l.so_sndbuf, l.utf8only
        )?;
        writeln!(
            f,
            "max_channels_per_client = {}\nmax_list_entries = {}\nmax_metadata_keys = {}",
            l.max_channels_per_client, l.max_list_entries, l.max_metadata_keys
        )?;
        writeln!(
            f,
            "nick_length = {}\ncasemapping = {:?}",
            l.nick_length,
            l.casemapping.name()
        )?;
        writeln!(
            f,
            "ping_interval_s = {}\nping_timeout_s = {}\nregistration_timeout_s = {}",
            l.ping_interval_s, l.ping_timeout_s, l.registration_timeout_s
        )?;
        writeln!(
            f,
            "flood_burst = {}\nflood_interval_ms = {}",
            l.flood_burst, l.flood_interval_ms
        )?;
        for o in &self.oper {
            writeln!(
                f,
                "\n[[oper]]\nname = {:?}\nhost = {:?}\nlevel = \"{}\"\nprivileges = \"{}\"\npassword = (set)",
                o.name,
                o.host,
                if o.level == OperLevel::Manager {
                    "manager"
                } else {
                    "sysop"
                },
                privilege_names(o.privileges())
            )?;
            if let Some(fp) = &o.fingerprint {
                writeln!(f, "fingerprint = {fp:?}")?;
            }
        }
        for a in &self.account {
            writeln!(f, "\n[[account]]\nname = {:?}\npassword = (set)", a.name)?;
        }
        if !self.cloak.secret.is_empty() {
            writeln!(f, "\n[cloak]\nsecret = (set)")?;
        }
        if self.log.file.is_some() || self.log.syslog {
            writeln!(f, "\n[log]\nsyslog = {}", self.log.syslog)?;
            if let Some(file) = &self.log.file {
                writeln!(f, "file = {file:?}")?;
            }
        }
        if let Some(d) = self.tls.sts_duration {
            writeln!(f, "\n[tls]\nsts_duration = {d}")?;
        }
        if let Some(a) = &self.metrics.address {
            writeln!(f, "\n[metrics]\naddress = {a:?}")?;
        }
        writeln!(f, "\n[ircx]\nmax_access = {}", self.ircx.max_access)?;
        if let Some(list) = self.ircx.redirect_list() {
            writeln!(f, "redirect = {list:?}")?;
        }
        if !matches!(&*self.ircx.rfc_owner_prefix, "" | "~") {
            writeln!(f, "rfc_owner_prefix = {:?}", self.ircx.rfc_owner_prefix)?;
        }
        for c in &self.channel {
            write!(f, "{c}")?;
        }
        for p in &self.portal {
            let addr = p
                .address
                .map_or("(accept only)".to_string(), |a| format!("\"{a}\""));
            writeln!(
                f,
                "\n[[portal]]\nname = {:?}\naddress = {addr}\nid = {}\npassword = (set)\nconnect = {}\nsendq_bytes = {}\nprotocol = \"{}\"",
                p.name, p.id, p.connect, p.sendq_bytes, if p.protocol == PortalProtocol::Rfc2813 { "rfc2813" } else { "portico" }
            )?;
            if p.tls {
                writeln!(f, "tls = true")?;
            }
            if let Some(fp) = &p.fingerprint {
                writeln!(f, "fingerprint = {fp:?}")?;
            }
            if let Some(ca) = &p.ca {
                writeln!(f, "ca = {ca:?}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_secret_compares_whole_secrets() {
        assert!(super::same_secret(b"hunter2", b"hunter2"));
        for given in ["hunter", "hunter22", "Hunter2", "", "hunter2hunter2"] {
            assert!(!super::same_secret(b"hunter2", given.as_bytes()), "{given}");
        }
        assert!(super::same_secret(b"", b""));
        assert!(!super::same_secret(b"", b"x"));
    }

    use super::*;

    #[test]
    fn default_is_valid() {
        let c = Config::default_config();
        assert_eq!(c.listen[0].address.to_string(), "127.0.0.1:6667");
        assert_eq!(c.limits.max_clients, 50_000);
        assert_eq!(c.limits.casemapping, CaseMapping::Rfc1459);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = Config::parse("[server]\nname = \"a.b\"\nid = 5000\n", "x.toml").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("x.toml", 3));
        assert!(e.message.contains("1 to 4095"), "{}", e.message);
        let e = Config::parse(
            "[server]\nname = \"a.b\"\nid = 1\n[limits]\nbogus = 1\n",
            "y.toml",
        )
        .unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        let e = Config::parse(
            "[server]\nname = \"a.b\"\nid = 1\n[limits]\ncasemapping = \"utf8\"\n",
            "y.toml",
        )
        .unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        let e = Config::parse("[server\n", "z.toml").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn oper_password_not_in_debug() {
        let c = Config::parse(
            "[server]\nname=\"a.b\"\nid=1\n[[oper]]\nname=\"root\"\npassword=\"hunter2\"\n",
            "t",
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{c}").contains("hunter2"));
    }

    #[test]
    fn oper_levels() {
        let base = "[server]\nname=\"a.b\"\nid=1\n[[oper]]\nname=\"root\"\npassword=\"pw\"\n";
        let c = Config::parse(base, "t").unwrap();
        assert_eq!(c.oper[0].level, OperLevel::Sysop);
        let c = Config::parse(&format!("{base}level = \"manager\"\n"), "t").unwrap();
        assert_eq!(c.oper[0].level, OperLevel::Manager);
        assert!(format!("{c}").contains("level = \"manager\""));
        let c = Config::parse(&format!("{base}level = \"sysop\"\n"), "t").unwrap();
        assert_eq!(c.oper[0].level, OperLevel::Sysop);
        let e = Config::parse(&format!("{base}level = \"admin\"\n"), "o.toml").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("o.toml", 7), "{e}");
        assert!(
            e.message.contains("sysop") && e.message.contains("manager"),
            "{e}"
        );
    }

    #[test]
    fn ircx_max_access() {
        let base = "[server]\nname = \"a.b\"\nid = 1\n";
        assert_eq!(Config::parse(base, "t").unwrap().ircx.max_access, 100);
        let c = Config::parse(&format!("{base}[ircx]\nmax_access = 5\n"), "t").unwrap();
        assert_eq!(c.ircx.max_access, 5);
        assert!(format!("{c}").contains("max_access = 5"));
        for bad in ["0", "10001"] {
            let text = format!("{base}\n[ircx]\nmax_access = {bad}\n");
            let e = Config::parse(&text, "m.toml").unwrap_err();
            assert_eq!((e.file.as_str(), e.line), ("m.toml", 6), "{e}");
            assert!(e.message.contains("max_access"), "{e}");
        }
    }

    #[test]
    fn ircx_redirect() {
        let base = "[server]\nname=\"a.b\"\nid=1\n";
        let c = Config::parse(base, "t").unwrap();
        assert_eq!(c.ircx.redirect_list(), None);
        let c = Config::parse(
            &format!("{base}[ircx]\nredirect = \"a.example:6667, 10.0.0.2:6697,[::1]:7000\"\n"),
            "t",
        )
        .unwrap();
        assert_eq!(
            c.ircx.redirect_list().as_deref(),
            Some("a.example:6667,10.0.0.2:6697,[::1]:7000")
        );
        assert!(format!("{c}").contains("[ircx]"));
        for bad in [
            "a.example",
            "a.example:",
            "a.example:0",
            "a.example:70000",
            "a.example:+1",
            ":6667",
            "a.example:6667,",
            "a b:6667",
            "[zz]:1",
        ] {
            let text = format!("{base}\n[ircx]\nredirect = \"{bad}\"\n");
            let e = Config::parse(&text, "r.toml").unwrap_err();
            assert_eq!((e.file.as_str(), e.line), ("r.toml", 6), "{bad}: {e}");
            assert!(e.message.contains("host:port"), "{bad}: {e}");
        }
        let e = Config::parse(&format!("{base}[ircx]\nbogus = 1\n"), "r.toml").unwrap_err();
        assert_eq!(e.line, 5, "{e}");
    }

    #[test]
    fn operator_mistakes_are_named_in_their_terms() {
        let base = "[server]\nname=\"a.b\"\nid=1\n";
        let check = |extra: &str, line: usize, want: &str| {
            let e = Config::parse(&format!("{base}{extra}"), "o.toml").unwrap_err();
            assert_eq!(e.line, line, "{e}");
            assert!(e.message.contains(want), "{want:?} not in {e}");
            assert!(
                !e.message.contains("usize") && !e.message.contains("`testing`"),
                "{e}"
            );
        };
        let listen = "[[listen]]\naddress = \"127.0.0.1:6667\"\n";
        check(
            &format!("{listen}{listen}"),
            7,
            "address 127.0.0.1:6667 is given twice",
        );
        let oper = "[[oper]]\nname = \"x\"\npassword = \"p\"\n";
        check(&format!("{oper}{oper}"), 8, "[[oper]] \"x\" is given twice");
        check(
            "[cloak]\nsecret = \"short\"\n",
            5,
            "[cloak] secret is too short (5 characters); use at least 16",
        );
        check(
            &format!("{oper}privileges = [\"kill\", \"nuke\"]\n"),
            7,
            "[[oper]] \"x\": \"nuke\" is not a privilege; use some of kill, die, restart, rehash, connect, squit, ban, wallops, see-ips",
        );
        check(
            "[[listen]]\naddress = \"localhost:6667\"\n",
            5,
            "[[listen]] address: not an address; write IP:PORT",
        );
        check(
            "[limits]\nmax_clients = \"x\"\n",
            5,
            "[limits] max_clients: invalid type: string \"x\", expected a whole number",
        );
        check("[bogus]\n", 4, "unknown field `bogus`");
        for bad in ["localhost:9100", "127.0.0.1", "9100", ""] {
            check(
                &format!("[metrics]\naddress = \"{bad}\"\n"),
                5,
                &format!("[metrics] address {bad:?} is not an address; write an address like 127.0.0.1:9100 or [::1]:9100"),
            );
        }
        check("[metrics]\naddress = 9100\n", 5, "expected a string");
        let ok = Config::parse(
            &format!("{base}[metrics]\naddress = \"[::1]:0\"\n"),
            "o.toml",
        )
        .unwrap();
        assert_eq!(ok.metrics.addr(), Some("[::1]:0".parse().unwrap()));
        assert!(ok
            .to_string()
            .contains("\n[metrics]\naddress = \"[::1]:0\"\n"));
        assert_eq!(Config::parse(base, "o.toml").unwrap().metrics.addr(), None);
    }

    #[test]
    fn rfc_owner_prefix() {
        let base = "[server]\nname=\"a.b\"\nid=1\n[ircx]\n";
        for good in ["~", "@", "!"] {
            let c = Config::parse(&format!("{base}rfc_owner_prefix = \"{good}\"\n"), "t").unwrap();
            assert_eq!(c.ircx.rfc_owner_prefix, good);
        }
        for bad in ["", "~~", "+", ".", "#", " ", "é"] {
            let text = format!("{base}rfc_owner_prefix = \"{bad}\"\n");
            match Config::parse(&text, "r.toml") {
                Err(e) => {
                    assert_eq!((e.file.as_str(), e.line), ("r.toml", 5), "{bad:?}: {e}");
                    assert!(e.message.contains("single symbol"), "{bad:?}: {e}");
                }
                // An empty value is the default.
                Ok(c) => assert!(bad.is_empty() && c.ircx.rfc_owner_prefix.is_empty()),
            }
        }
    }
}

#[cfg(test)]
mod account_tests {
    use super::*;

    const BASE: &str = "[server]\nname=\"a.b\"\nid=1\n";

    #[test]
    fn accounts_need_a_hash() {
        let hash = hash_password(b"secret").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let text = format!("{BASE}[[account]]\nname = \"ann\"\npassword = \"{hash}\"\n");
        let c = Config::parse(&text, "t").unwrap();
        assert!(c.account[0].verify(b"secret"));
        assert!(!c.account[0].verify(b"Secret"));
        assert!(!format!("{c:?}").contains(&hash));
        assert!(!format!("{c}").contains(&hash));
        assert!(format!("{c}").contains("[[account]]\nname = \"ann\""));
        // The second account's clear-text password: its own line is named.
        for bad in [
            "hunter2",
            "",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$pbkdf2$i=1$c2FsdA$aGFzaA",
        ] {
            let text = format!(
                "{BASE}[[account]]\nname = \"ann\"\npassword = \"{hash}\"\n\
                 [[account]]\nname = \"bob\"\npassword = \"{bad}\"\n"
            );
            let e = Config::parse(&text, "a.toml").unwrap_err();
            assert_eq!((e.file.as_str(), e.line), ("a.toml", 9), "{bad}: {e}");
            assert!(e.message.contains("portico --hash-password"), "{e}");
            assert!(e.message.contains("\"bob\""), "{e}");
        }
        let text = format!(
            "{BASE}[[account]]\nname = \"ann\"\npassword = \"{hash}\"\n\
             [[account]]\nname = \"ANN\"\npassword = \"{hash}\"\n"
        );
        let e = Config::parse(&text, "a.toml").unwrap_err();
        assert!(e.message.contains("twice"), "{e}");
        let e =
            Config::parse(&format!("{BASE}[[account]]\nname = \"ann\"\n"), "a.toml").unwrap_err();
        assert!(e.message.contains("password"), "{e}");
    }
}
