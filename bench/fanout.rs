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
//! * `fanout/common_2x500`: `World::to_common`, the delivery of a NICK or QUIT: its sender
//!   shares #c and #d with the same 499 users, each found twice and sent the line once.
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
use portico::core::fanout::Msg;
use portico::core::{ConnId, Outbox, World};
use std::hint::black_box;
use std::net::IpAddr;
use std::rc::Rc;

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

/// Times `to_common` for conn 0's user, as a NICK or QUIT delivers its line: every member
/// of #c and #d (the same 499 others in both) once.
fn bench_common(h: &mut Harness, w: &mut World) {
    let mut out = Outbox::default();
    for i in 0..MEMBERS {
        line(w, ConnId(i as u32), "JOIN #d", &mut out);
    }
    out.sends.clear();
    let cid = w
        .find_nick(format!("m{}", ConnId(0)).as_bytes())
        .expect("conn 0's user");
    let text: Rc<[u8]> = Rc::from(&b":m0!~m0@127.0.0.1 NICK :m0x\r\n"[..]);
    let mut msg = Msg::new(text.clone(), 0);
    w.to_common(cid, false, 0, &mut msg, &mut out);
    assert_eq!(out.sends.len(), MEMBERS - 1, "each common member once");
    out.sends.clear();
    h.bench(
        "fanout/common_2x500",
        &[
            Thrpt::Items(1, "message"),
            Thrpt::Items((MEMBERS - 1) as u64, "delivered line"),
        ],
        || {
            let mut msg = Msg::new(text.clone(), 0);
            w.to_common(black_box(cid), false, 0, &mut msg, &mut out);
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
    bench_common(&mut h, &mut plain);
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
