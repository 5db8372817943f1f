//! Micro-benchmarks of the core's delivery path, without sockets (`cargo bench --bench
//! fanout`). A `World` is built through its public API as the shell drives it (`on_open`,
//! then `NICK`/`USER`/`JOIN` lines through `on_line`); the timed call is one
//! `on_line(sender, "PRIVMSG …")`, followed by
//! clearing the `Outbox` (which drops the shared line).
//!
//! * `fanout/1x500_plain`: one channel of 500 local members without capabilities: 499
//!   sends per message.
//! * `fanout/1x500_mixed_caps`: the same, every other member with `server-time` and
//!   `message-tags` (two encodings of each message; the sender adds a client tag).
//! * `fanout/privmsg_user`: one PRIVMSG to one user, the baseline per-line cost.
//!
//! Figures: ns per message (per `on_line`) and ns per delivered line.
//! Timing harness and command line: see `bench/harness.rs`.

#[path = "fixture.rs"]
mod fixture;
#[path = "harness.rs"]
mod harness;

use fixture::{CLOCK, CONFIG};
use harness::{Harness, Thrpt};
use portico::config::Config;
use portico::core::{ConnId, Outbox, World};
use std::hint::black_box;
use std::net::IpAddr;

const MEMBERS: usize = 500;

fn line(w: &mut World, conn: ConnId, text: &str, out: &mut Outbox) {
    w.on_line(conn, text.as_bytes(), CLOCK, out);
}

/// A world with `MEMBERS` registered local users in `#c`; `caps(i)` lists the
/// capabilities user `i` requests before registering (empty: no CAP negotiation).
fn world(caps: impl Fn(usize) -> &'static str) -> World {
    let cfg = Config::parse(CONFIG, "bench").expect("bench config");
    let mut w = World::new(cfg, CLOCK);
    let ip: IpAddr = "127.0.0.1".parse().unwrap();
    let mut out = Outbox::default();
    for i in 0..MEMBERS {
        let conn = ConnId(i as u32);
        assert!(w.on_open(conn, ip, CLOCK, &mut out), "connection refused");
        let c = caps(i);
        if !c.is_empty() {
            line(&mut w, conn, "CAP LS 302", &mut out);
            line(&mut w, conn, &format!("CAP REQ :{c}"), &mut out);
        }
        line(&mut w, conn, &format!("NICK m{conn}"), &mut out);
        line(
            &mut w,
            conn,
            &format!("USER m{conn} 0 * :member {conn}"),
            &mut out,
        );
        if !c.is_empty() {
            line(&mut w, conn, "CAP END", &mut out);
        }
        line(&mut w, conn, "JOIN #c", &mut out);
        out.sends.clear();
    }
    assert!(
        out.closes.is_empty(),
        "setup closed connections: {:?}",
        out.closes
    );
    w
}

/// Times one message from conn 0, checking first that it reaches `expect` connections.
fn bench_msg(h: &mut Harness, name: &str, w: &mut World, msg: &[u8], expect: usize) {
    let mut out = Outbox::default();
    w.on_line(ConnId(0), msg, CLOCK, &mut out);
    assert_eq!(
        out.sends.len(),
        expect,
        "{name}: {} sends, first: {:?}",
        out.sends.len(),
        out.sends
            .first()
            .map(|(_, l)| String::from_utf8_lossy(l).into_owned())
    );
    assert!(
        out.sends.iter().all(|&(c, _)| c != ConnId(0)),
        "echoed to the sender"
    );
    out.sends.clear();
    h.bench(
        name,
        &[
            Thrpt::Items(1, "message"),
            Thrpt::Items(expect as u64, "delivered line"),
        ],
        || {
            w.on_line(ConnId(0), black_box(msg), CLOCK, &mut out);
            black_box(out.sends.len());
            out.sends.clear();
        },
    );
}

fn main() {
    let mut h = Harness::from_args();
    let text = b"PRIVMSG #c :hello everyone, this is a fairly ordinary chat line of typical length";

    let mut plain = world(|_| "");
    bench_msg(&mut h, "fanout/1x500_plain", &mut plain, text, MEMBERS - 1);
    bench_msg(
        &mut h,
        "fanout/privmsg_user",
        &mut plain,
        b"PRIVMSG m1 :hello there, this is a fairly ordinary chat line of typical length",
        1,
    );
    drop(plain);

    let mut mixed = world(|i| {
        if i % 2 == 1 {
            "server-time message-tags"
        } else {
            ""
        }
    });
    let tagged = b"@+draft/reply=abc123 PRIVMSG #c :hello everyone, this is a fairly ordinary chat line of typical length";
    bench_msg(
        &mut h,
        "fanout/1x500_mixed_caps",
        &mut mixed,
        tagged,
        MEMBERS - 1,
    );
    h.finish();
}
