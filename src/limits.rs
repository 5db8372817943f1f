//! Named limits, each with the reason it has the value it has.

/// RFC 1459 §2.3: a message is at most 512 bytes including the CR LF, so the body of a
/// received line (without its terminator) may hold 510 bytes.
pub const MAX_BODY: usize = 510;

/// IRCv3 message-tags: the tag section of a line may hold 8191 bytes, including the leading
/// `@` and the trailing space.
pub const MAX_TAGS: usize = 8191;

/// IRCv3 message-tags: client-only tag data (without `@` and space) relayed is at most 4094
/// bytes, so the server's own tags still fit in [`MAX_TAGS`].
pub const MAX_CLIENT_TAGS: usize = 4094;

/// The longest unterminated tail a connection may keep; past it the line is overlong and is
/// discarded up to its terminator (417), without closing the connection.
pub const MAX_LINE: usize = MAX_TAGS + MAX_BODY + 2;

/// Lines read from a client but not yet processed because of flood penalty. A client that
/// keeps sending past this is flooding for real and is closed with "Excess Flood".
pub const RECVQ_LIMIT: usize = 24 * 1024;

/// Size of the loop-owned read buffer; no connection owns one of its own.
pub const SCRATCH: usize = 64 * 1024;

/// Bytes read from one socket per readiness event before the loop moves on to others, so a
/// fast sender cannot starve the rest; leftover input is remembered and read next turn.
pub const READ_BUDGET: usize = 32 * 1024;

/// Default SO_SNDBUF of accepted sockets (Linux doubles it for its bookkeeping). Without
/// it a stuck reader's kernel buffer autotunes up to megabytes before its send queue counts
/// a byte, and a thousand of them push the machine's TCP memory to its pressure level.
/// 64 KiB still holds a few hundred lines between two writable edges.
pub const SO_SNDBUF: usize = 64 * 1024;

/// Bytes written to one socket per flush; the remainder waits for the next loop turn.
pub const WRITE_BUDGET: usize = 256 * 1024;

/// Maximum IoSlices handed to one `write_vectored` (Linux IOV_MAX is 1024; 64 keeps the stack
/// array small while still batching many lines per syscall).
pub const MAX_IOV: usize = 64;

/// Seconds a connection may take to register before it is closed.
pub const REGISTRATION_TIMEOUT_S: u64 = 60;

/// Flood control (a token bucket, as RFC 1459 §8.10 and ergo's fakelag describe): a client may
/// send `FLOOD_BURST` lines at once, then one line per `FLOOD_INTERVAL_MS`. Lines over the
/// budget are delayed (penalty), not refused.
pub const FLOOD_BURST: u32 = 10;
pub const FLOOD_INTERVAL_MS: u64 = 500;

/// How often each portal link is PINGed to measure its lag (STATS p, metrics): often
/// enough that a figure is at most half a minute old, rarely enough to cost nothing.
pub const PORTAL_PING_INTERVAL_MS: u64 = 30_000;

/// WHOWAS history entries kept (a ring).
pub const WHOWAS_LEN: usize = 1024;

/// Channels one user may be in (CHANLIMIT).
pub const MAX_CHANNELS: usize = 50;
/// Longest channel name (CHANNELLEN).
pub const CHANNEL_LEN: usize = 50;
/// TOPICLEN, KICKLEN, AWAYLEN.
pub const TOPIC_LEN: usize = 390;
pub const KICK_LEN: usize = 255;
/// A channel renamed here cannot be renamed again for this long (draft/channel-rename's
/// cooldown): each rename costs every member without the capability a PART, a JOIN and a
/// NAMES reply, so a flood of renames is a flood of bursts.
pub const RENAME_COOLDOWN_MS: u64 = 30_000;
pub const AWAY_LEN: usize = 200;
/// Bans per channel (MAXLIST).
pub const MAX_BANS: usize = 100;
/// Mode changes with a parameter per MODE command (MODES).
pub const MAX_MODES: usize = 4;
/// Targets per PRIVMSG/NOTICE (TARGMAX).
pub const MAX_TARGETS: usize = 4;
/// Username length kept (USERLEN).
pub const USER_LEN: usize = 10;
/// Longest host CHGHOST sets: ngIRCd keeps 63 bytes (`CLIENT_HOST_LEN`), and a longer one
/// would be cut there.
pub const HOST_LEN: usize = 63;

/// Nicks one user may MONITOR (ISUPPORT `MONITOR`): what Ergo and InspIRCd default to.
pub const MONITOR_LIMIT: usize = 100;

/// draft/metadata-2 (advertised in the capability's value): keys one client may subscribe
/// to (Ergo's default too).
pub const METADATA_MAX_SUBS: usize = 50;
/// Free-form metadata keys per user and per channel (IRCX's own properties do not count:
/// they are a fixed set). Each is a small heap block, so a user cannot grow without bound.
pub const METADATA_MAX_KEYS: usize = 20;
/// Longest value: IRCX's longest property (ONJOIN, CLIENT), and short enough that a
/// `761`, a `METADATA` notification or a portal's PROP with a 64-byte key and a 50-byte
/// channel still fits the 512-byte line.
pub const METADATA_MAX_VALUE_BYTES: usize = 255;
/// Longest key name.
pub const METADATA_MAX_KEY_BYTES: usize = 64;
