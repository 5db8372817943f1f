//! Heap allocations per relayed message in the core, without sockets (`cargo bench --bench
//! allocs`). A counting global allocator wraps the system one; a `World` is built through
//! its public API as the shell drives it (`on_open`, then `NICK`/`USER`/`JOIN` lines through
//! `on_line`), and each case counts the allocations (and bytes asked for) of one `on_line`
//! call plus the clearing of the `Outbox`, averaged over many repetitions after a warm-up
//! (so a `Vec` that has reached its working size counts nothing).
//!
//! * `privmsg #c (N members)`: one channel PRIVMSG relayed to the N-1 other members.
//! * `privmsg user`: one PRIVMSG to one user.
//! * `join #c` / `part #c`: a user joining and leaving a channel of N members.
//! * `nick (in #c)`: a member of the channel changing nick, seen by the other members.
//! * `quit (in #c)`: a member quitting, seen by the other members (the user's connection,
//!   registration and JOIN are outside the count).
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
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded to `System` with the same arguments; the counters are
// plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
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
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const REPS: u64 = 2000;
const WARMUP: u64 = 50;

struct Bench {
    w: World,
    out: Outbox,
    next: u32,
}

impl Bench {
    fn new(members: usize) -> Bench {
        let cfg = Config::parse(CONFIG, "bench").expect("bench config");
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

    fn line(&mut self, conn: ConnId, text: &str) {
        self.w.on_line(conn, text.as_bytes(), CLOCK, &mut self.out);
    }

    /// A new registered user (not in any channel).
    fn user(&mut self) -> ConnId {
        let conn = ConnId(self.next);
        self.next += 1;
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(
            self.w.on_open(conn, ip, CLOCK, &mut self.out),
            "connection refused"
        );
        self.line(conn, &format!("NICK m{}", conn.0));
        self.line(conn, &format!("USER m{0} 0 * :member {0}", conn.0));
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
        let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        b.w.on_line(conn, text.as_bytes(), CLOCK, &mut b.out);
        sends = b.out.sends.len() + b.out.closes.len();
        b.out.sends.clear();
        b.out.closes.clear();
        let (a1, b1) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
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
}
