//! Micro-benchmarks of the input side, without sockets (`cargo bench --bench parse`):
//!
//! * `framer/*`: a 64 KiB buffer of typical client and server lines fed to a
//!   [`Framer`], split at random points as TCP reads arrive (chunks of 1..=4096 bytes, or
//!   1..=64 for `small_splits`; fixed seed) or in one read; the figure is per 64 KiB, with
//!   MiB/s, lines/s and ns per line.
//! * `parse/*`: [`parse`] on single typical lines (PRIVMSG with tags, JOIN, numerics, …)
//!   and on the whole mix in turn.
//!
//! Timing harness and command line: see `bench/harness.rs`.

#[path = "harness.rs"]
mod harness;

use harness::{Harness, Thrpt};
use portico::proto::framer::{Flow, Framer, Input};
use portico::proto::message::parse;
use std::hint::black_box;

/// Typical traffic: what a server reads from clients and from peers.
const LINES: &[(&str, &str)] = &[
    (
        "privmsg_tags",
        "@time=2024-05-01T12:34:56.789Z;msgid=Zm9vYmFyYmF6;+draft/reply=abc123 :alice!~alice@203.0.113.7 PRIVMSG #portico :hey, did anyone try the new build yet?",
    ),
    (
        "privmsg",
        "PRIVMSG #portico :hello everyone, this is a fairly ordinary chat line of typical length",
    ),
    ("join", "JOIN #portico"),
    ("join_keys", "JOIN #rust,#irc,#portico key1,key2"),
    (
        "numeric_001",
        ":irc.example.net 001 alice :Welcome to the ExampleNet IRC Network alice!~alice@203.0.113.7",
    ),
    (
        "numeric_353",
        ":irc.example.net 353 alice = #portico :alice @bob +carol dave erin frank grace heidi ivan judy mallory",
    ),
    ("ping", "PING :irc.example.net"),
    ("mode", "MODE #portico +ov alice bob"),
];

/// A tiny deterministic PRNG (xorshift64*), so every run splits the buffer the same way.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// About 64 KiB of whole CRLF-terminated lines drawn from [`LINES`]; returns it and the
/// number of lines.
fn buffer_64k(rng: &mut Rng) -> (Vec<u8>, u64) {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut lines = 0;
    loop {
        let (_, l) = LINES[rng.below(LINES.len() as u64) as usize];
        if buf.len() + l.len() + 2 > 64 * 1024 {
            break;
        }
        buf.extend_from_slice(l.as_bytes());
        buf.extend_from_slice(b"\r\n");
        lines += 1;
    }
    (buf, lines)
}

/// Cuts `buf` into chunks of 1..=max bytes at random points.
fn split<'a>(buf: &'a [u8], rng: &mut Rng, max: u64) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let n = (1 + rng.below(max) as usize).min(rest.len());
        let (a, b) = rest.split_at(n);
        chunks.push(a);
        rest = b;
    }
    chunks
}

/// Feeds every chunk; returns (lines, bytes of lines) so nothing is optimised away.
fn frame_all(framer: &mut Framer, chunks: &[&[u8]]) -> (u64, usize) {
    let (mut lines, mut bytes) = (0u64, 0usize);
    for chunk in chunks {
        framer.feed(black_box(chunk), |input| {
            if let Input::Line(l) = input {
                lines += 1;
                bytes += black_box(l).len();
            }
            Flow::Continue
        });
    }
    (lines, bytes)
}

fn main() {
    let mut h = Harness::from_args();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let (buf, nlines) = buffer_64k(&mut rng);
    let bytes = buf.len() as u64;

    for (name, max) in [
        ("framer/64k_random_splits", 4096),
        ("framer/64k_small_splits", 64),
    ] {
        let chunks = split(&buf, &mut rng, max);
        let mut framer = Framer::default();
        // The buffer ends on a line boundary, so the framer holds nothing between calls.
        assert_eq!(frame_all(&mut framer, &chunks).0, nlines);
        assert_eq!(framer.pending(), 0);
        h.bench(
            name,
            &[Thrpt::Bytes(bytes), Thrpt::Items(nlines, "line")],
            || {
                black_box(frame_all(&mut framer, &chunks));
            },
        );
    }
    {
        let chunks = [&buf[..]];
        let mut framer = Framer::default();
        h.bench(
            "framer/64k_one_read",
            &[Thrpt::Bytes(bytes), Thrpt::Items(nlines, "line")],
            || {
                black_box(frame_all(&mut framer, &chunks));
            },
        );
    }

    for (name, line) in LINES {
        let line = line.as_bytes();
        assert!(parse(line).is_ok(), "{name} parses");
        h.bench(
            &format!("parse/{name}"),
            &[Thrpt::Bytes(line.len() as u64)],
            || {
                let m = parse(black_box(line)).ok();
                black_box(m.map(|m| (m.command.len(), m.len())));
            },
        );
    }
    let all: Vec<&[u8]> = LINES.iter().map(|(_, l)| l.as_bytes()).collect();
    let all_bytes: usize = all.iter().map(|l| l.len()).sum();
    h.bench(
        "parse/mix",
        &[
            Thrpt::Bytes(all_bytes as u64),
            Thrpt::Items(all.len() as u64, "line"),
        ],
        || {
            for l in &all {
                let m = parse(black_box(l)).ok();
                black_box(m.map(|m| (m.command.len(), m.len())));
            }
        },
    );
    h.finish();
}
