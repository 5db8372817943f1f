//! Heap allocations per relayed message in the core, without sockets (`cargo bench --bench
//! allocs`). A counting global allocator wraps the system one; a `World` is built through
//! its public API as the shell drives it (`on_open`, then `NICK`/`USER`/`JOIN` lines through
//! `on_line`), and each case counts the allocations (and bytes asked for) of one `on_line`
//! call plus the clearing of the `Outbox`, averaged over many repetitions after a warm-up
//! (so a `Vec` that has reached its working size counts nothing).
//!
//! * `privmsg #c (N members)`: one channel PRIVMSG relayed to the N-1 other members.
//! * `privmsg user`: one PRIVMSG to one user.
//! * `privmsg #t (N tagged)`: as `privmsg #c`, to members with server-time and message-tags.
//! * `join #c` / `part #c`: a user joining and leaving a channel of N members.
//! * `nick (in #c)`: a member of the channel changing nick, seen by the other members.
//! * `quit (in #c)`: a member quitting, seen by the other members (the user's connection,
//!   registration and JOIN are outside the count).
//! * `link …`: link forwarding, with two peer servers linked in (every link capability,
//!   protocol version 2) and a user of each in #c: a message coming `in` from one link
//!   reaches the local members and the other link; one going `out` from a local user
//!   reaches both links (and the local members for a channel).
//!
//! `--trace` prints a backtrace of every allocation of the last repetition of each case
//! (on stderr): where to look when a figure goes up.
//!
//! A benchmark, not a test: it prints the figures and asserts only that each message reaches
//! the recipients it should, so the figures are about the right work. Run it with
//! `cargo bench --bench allocs` (`-- --members 500` for another channel size; other words
//! are substring filters on the case names, e.g. `-- "privmsg user"`, handy under
//! `valgrind --tool=callgrind` for instructions per message).

#[path = "fixture.rs"]
mod fixture;

use fixture::{CLOCK, CONFIG};
use portico::config::Config;
use portico::core::{ConnId, Outbox, World};
use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::Cell;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
/// `--trace`: print a backtrace of each allocation in the last repetition of each case.
static TRACE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set while the last repetition of a case runs under `--trace`: each allocation's
    /// backtrace is printed (and the printing's own allocations are not traced).
    static TRACING: Cell<bool> = const { Cell::new(false) };
}

/// With `--trace`: prints where this allocation comes from.
fn trace(size: usize) {
    if !TRACING.get() {
        return;
    }
    TRACING.set(false);
    eprintln!(
        "--- allocation of {size} bytes\n{}",
        Backtrace::force_capture()
    );
    TRACING.set(true);
}

// SAFETY: every call is forwarded to `System` with the same arguments; the counters are
// plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        trace(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        trace(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }

    // A realloc counts as an allocation of the new size (it may move the block).
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        trace(new_size);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Everything a native peer can negotiate.
const LINK_CAPS: &str = "ACCOUNT AWAY BMASK EOB IRCX METADATA SETNAME TB";

/// Two portals for the link cases.
const PORTALS: &str = "[[portal]]\nname = \"peer.test\"\nid = 2\npassword = \"pw\"\n\
    [[portal]]\nname = \"far.test\"\nid = 3\npassword = \"pw\"\n";

const REPS: u64 = 2000;
const WARMUP: u64 = 50;

struct Bench {
    w: World,
    out: Outbox,
    next: u32,
}

impl Bench {
    fn new(members: usize) -> Bench {
        Bench::with_config(CONFIG, members)
    }

    fn with_config(text: &str, members: usize) -> Bench {
        let cfg = Config::parse(text, "bench").expect("bench config");
        let mut b = Bench {
            w: World::new(cfg, CLOCK),
            out: Outbox::default(),
            next: 0,
        };
        for _ in 0..members {
            let c = b.user();
            b.line(c, "JOIN #c");
        }
        b.out.sends.clear();
        b
    }

    /// A peer server `name` (portal id `sid`) linked in with every link capability; what
    /// this server sent it (handshake, burst) is discarded.
    fn link(&mut self, name: &str, sid: u16) -> ConnId {
        let conn = ConnId(self.next);
        self.next += 1;
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(
            self.w.on_open(conn, ip, CLOCK, &mut self.out),
            "link refused"
        );
        self.line(conn, "PASS pw 0210-PORTICO bench|0");
        self.line(conn, &format!("CAPAB 1 2 :{LINK_CAPS}"));
        self.line(conn, &format!("SERVER {name} 1 {sid} :{name}"));
        self.out.sends.clear();
        assert!(self.out.closes.is_empty(), "link {name} refused");
        conn
    }

    fn line(&mut self, conn: ConnId, text: &str) {
        self.w.on_line(conn, text.as_bytes(), CLOCK, &mut self.out);
    }

    /// A new registered user (not in any channel).
    fn user(&mut self) -> ConnId {
        self.user_with_caps("")
    }

    /// A new registered user that asked for the client capabilities `caps` first.
    fn user_with_caps(&mut self, caps: &str) -> ConnId {
        let conn = ConnId(self.next);
        self.next += 1;
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(
            self.w.on_open(conn, ip, CLOCK, &mut self.out),
            "connection refused"
        );
        if !caps.is_empty() {
            self.line(conn, &format!("CAP REQ :{caps}"));
        }
        self.line(conn, &format!("NICK m{}", conn.0));
        self.line(conn, &format!("USER m{0} 0 * :member {0}", conn.0));
        if !caps.is_empty() {
            self.line(conn, "CAP END");
        }
        self.out.sends.clear();
        assert!(self.out.closes.is_empty(), "setup closed a connection");
        conn
    }
}

/// Counts one case: `setup` (not counted) returns the connection and line to feed, which
/// must reach `expect` sends (lines queued, closing ERROR included) when given; the average
/// over REPS repetitions is printed.
fn case(
    b: &mut Bench,
    filters: &[String],
    name: &str,
    expect: Option<usize>,
    mut setup: impl FnMut(&mut Bench, u64) -> (ConnId, String),
    mut after: impl FnMut(&mut Bench, ConnId),
) {
    if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
        return;
    }
    let (mut allocs, mut bytes, mut sends) = (0u64, 0u64, 0usize);
    for i in 0..WARMUP + REPS {
        let (conn, text) = setup(b, i);
        b.out.sends.clear();
        b.out.closes.clear();
        let last = i + 1 == WARMUP + REPS;
        if last && TRACE.load(Relaxed) {
            eprintln!("=== {name}: allocations of one message");
            TRACING.set(true);
        }
        let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        b.w.on_line(conn, text.as_bytes(), CLOCK, &mut b.out);
        sends = b.out.sends.len() + b.out.closes.len();
        b.out.sends.clear();
        b.out.closes.clear();
        let (a1, b1) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        TRACING.set(false);
        if let Some(expect) = expect {
            assert_eq!(sends, expect, "{name}: {sends} sends, expected {expect}");
        }
        if i >= WARMUP {
            allocs += a1 - a0;
            bytes += b1 - b0;
        }
        after(b, conn);
    }
    let per = |v: u64| v as f64 / REPS as f64;
    let recips = sends.max(1) as f64;
    println!(
        "{name:<28} {sends:>6} {:>10.2} {:>10.0} {:>12.3}",
        per(allocs),
        per(bytes),
        per(allocs) / recips
    );
}

fn main() {
    let mut members = 50usize;
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--members" {
            members = args
                .next()
                .and_then(|v| v.parse().ok())
                .expect("--members N");
        } else if a == "--trace" {
            TRACE.store(true, Relaxed);
        } else if !a.starts_with('-') {
            filters.push(a);
        }
        // Other options (cargo bench passes --bench) are ignored.
    }
    let filters = &filters[..];
    assert!(members >= 2, "--members must be at least 2");
    let n = members;

    println!(
        "allocations per relayed message (core only, no sockets; mean of {REPS} after {WARMUP} warm-up)"
    );
    println!(
        "{:<28} {:>6} {:>10} {:>10} {:>12}",
        "case", "sends", "allocs", "bytes", "allocs/send"
    );

    let mut b = Bench::new(n);
    let text = "hello everyone, this is a fairly ordinary chat line of typical length";
    case(
        &mut b,
        filters,
        &format!("privmsg #c ({n} members)"),
        Some(n - 1),
        |_, _| (ConnId(0), format!("PRIVMSG #c :{text}")),
        |_, _| {},
    );
    case(
        &mut b,
        filters,
        "privmsg user",
        Some(1),
        |_, _| (ConnId(0), format!("PRIVMSG m1 :{text}")),
        |_, _| {},
    );
    case(
        &mut b,
        filters,
        &format!("notice #c ({n} members)"),
        Some(n - 1),
        |_, _| (ConnId(0), format!("NOTICE #c :{text}")),
        |_, _| {},
    );

    // Members that asked for server-time and message-tags (as most clients do) get one
    // tagged rendering of the line, made once for all of them.
    let tagged: Vec<ConnId> = (0..n)
        .map(|_| b.user_with_caps("server-time message-tags"))
        .collect();
    for &c in &tagged {
        b.line(c, "JOIN #t");
    }
    b.out.sends.clear();
    case(
        &mut b,
        filters,
        &format!("privmsg #t ({n} tagged)"),
        Some(n - 1),
        |_, _| (tagged[0], format!("PRIVMSG #t :{text}")),
        |_, _| {},
    );
    for &c in &tagged {
        b.line(c, "QUIT");
        b.w.on_close(c, "closed", CLOCK, &mut b.out);
    }
    b.out.sends.clear();
    b.out.closes.clear();

    // JOIN and PART by one extra user, alternating; each counted in its own case.
    let joiner = b.user();
    case(
        &mut b,
        filters,
        &format!("join #c ({n} members)"),
        // JOIN to the n members and the joiner; the joiner's NAMES reply and topic lines
        // are counted too (they are part of what a JOIN costs).
        None,
        |_, _| (joiner, "JOIN #c".to_string()),
        |b, c| b.line(c, "PART #c"),
    );
    case(
        &mut b,
        filters,
        &format!("part #c ({n} members)"),
        Some(n + 1),
        |b, _| {
            b.line(joiner, "JOIN #c");
            (joiner, "PART #c".to_string())
        },
        |_, _| {},
    );

    // NICK by a member, alternating between two nicks: seen by every member once.
    case(
        &mut b,
        filters,
        &format!("nick (in #c, {n} members)"),
        Some(n),
        |_, i| {
            let nick = if i % 2 == 0 { "renamed" } else { "m1" };
            (ConnId(1), format!("NICK {nick}"))
        },
        |_, _| {},
    );

    // QUIT by a fresh member each time: the n members see it, plus the closing ERROR.
    case(
        &mut b,
        filters,
        &format!("quit (in #c, {n} members)"),
        Some(n + 1),
        |b, _| {
            let c = b.user();
            b.line(c, "JOIN #c");
            (c, "QUIT :bye".to_string())
        },
        |b, c| {
            b.w.on_close(c, "closed", CLOCK, &mut b.out);
            b.out.sends.clear();
            b.out.closes.clear();
        },
    );

    links(filters, n, text);
}

/// Link forwarding: the n local members of #c, rob (behind peer.test) and fay (behind
/// far.test) in it too. A message arriving from one link goes to the local members and the
/// other link; a local one goes to both links.
fn links(filters: &[String], n: usize, text: &str) {
    let mut b = Bench::with_config(&format!("{CONFIG}{PORTALS}"), n);
    let peer = b.link("peer.test", 2);
    let far = b.link("far.test", 3);
    let seat = |b: &mut Bench, link: ConnId, server: &str, nick: &str, sid: u16| {
        b.line(
            link,
            &format!(":{server} NICK {nick} 1 1600000000000 ~{nick} {nick}.host {sid} + :{nick}"),
        );
        b.line(link, &format!(":{server} SJOIN 1700000000000 #c + :{nick}"));
    };
    seat(&mut b, peer, "peer.test", "rob", 2);
    seat(&mut b, far, "far.test", "fay", 3);
    b.out.sends.clear();
    case(
        &mut b,
        filters,
        &format!("link privmsg #c in ({n})"),
        Some(n + 1),
        |_, _| (peer, format!(":rob PRIVMSG #c :{text}")),
        |_, _| {},
    );
    case(
        &mut b,
        filters,
        &format!("link privmsg #c out ({n})"),
        Some(n - 1 + 2),
        |_, _| (ConnId(0), format!("PRIVMSG #c :{text}")),
        |_, _| {},
    );
    case(
        &mut b,
        filters,
        "link privmsg user in",
        Some(1),
        |_, _| (peer, format!(":rob PRIVMSG m1 :{text}")),
        |_, _| {},
    );
    case(
        &mut b,
        filters,
        "link privmsg user out",
        Some(1),
        |_, _| (ConnId(0), format!("PRIVMSG rob :{text}")),
        |_, _| {},
    );
    case(
        &mut b,
        filters,
        &format!("link nick in ({n})"),
        Some(n + 1),
        |_, i| {
            let (from, to) = if i % 2 == 0 {
                ("rob", "robin")
            } else {
                ("robin", "rob")
            };
            (peer, format!(":{from} NICK {to} {}", 1700000000001 + i))
        },
        |_, _| {},
    );
    case(
        &mut b,
        filters,
        &format!("link part #c in ({n})"),
        Some(n + 1),
        |b, _| {
            b.line(peer, ":peer.test SJOIN 1700000000000 #c + :rob");
            (peer, ":rob PART #c :bye".to_string())
        },
        |_, _| {},
    );
    case(
        &mut b,
        filters,
        &format!("link quit in ({n})"),
        Some(n + 1),
        |b, _| {
            seat(b, peer, "peer.test", "rob", 2);
            (peer, ":rob QUIT :bye".to_string())
        },
        |_, _| {},
    );
}
