//! `portico-load`: a load generator for IRC servers.
//!
//! # Design
//!
//! One thread drives every client connection through a single `mio::Poll`
//! (edge-triggered epoll).  Connections live in a `Slab`; the token is the
//! slab index and each connection carries the scenario's client id (`cid`),
//! which is also its nickname suffix (`<prefix><cid>`), so a receiver can
//! tell who sent a message from the message prefix alone.
//!
//! * `engine.rs`: sockets (socket2 for the optional source-address bind,
//!   non-blocking connect), line framing over one shared 64 KiB read buffer
//!   (a connection keeps only an unfinished line), write batching (output is
//!   appended to per-connection buffers and flushed once per loop
//!   iteration), registration (NICK/USER, 001, then 376/422 = ready) and
//!   PING/PONG.  Closing is deferred to the end of a step so handlers never
//!   see a reused token.
//! * `fleet.rs`: bringing a fixed population up with at most
//!   `--connect-batch` handshakes in flight, retries with exponential
//!   backoff, optional OPER/MODE for senders, JOIN and wait for 366.
//! * `scenarios.rs`: `connect`, `fanout`, `privmsg` and `churn`, each a
//!   state machine advanced by events and by a `tick` per loop iteration.
//! * `noisy.rs` and `probe.rs`: `noisy-stuck`, `noisy-who`, `noisy-reconnect`
//!   (issue 14's noisy neighbours): a healthy client on its own thread times
//!   its PINGs while the engine drives an abusive crowd.
//! * `transport.rs`: `--tls` and `--websocket` (`text.ircv3.net`; both: wss): each
//!   client's bytes pass through a rustls or tungstenite session driven
//!   from the engine's reads and flushes, so every scenario runs over them.
//! * `stats.rs`: a fixed log-linear histogram (64 linear sub-buckets per
//!   power of two, <= 1.6 % error, no allocation per sample), `/proc`
//!   readers for CPU time and RSS, and the table/JSON report.
//!
//! Every message carries `<seq> <send-time-ns>`; times are nanoseconds
//! since the tool started (one monotonic clock for all clients), so
//! latency is exact up to the tool's own scheduling.  Closed-loop senders
//! keep `--window` messages in flight, where a message stops being in
//! flight when a designated receiver (the last member of the channel, or
//! the partner in `privmsg`) has read it.  Open-loop senders (`--rate`)
//! follow a fixed schedule (about 1 ms granularity, the epoll timeout
//! resolution) and never wait for the server: output queues up locally, so
//! a slow server still shows as latency, and the tool's own lateness
//! against the schedule is reported as `send_lag_*`.
//! Throughput and loss count only messages whose send time falls in the
//! measurement window (after `--warmup`); after the window the tool stops
//! sending and drains for up to 5 s.
//!
//! A message not read by a recipient by the end of the drain counts as
//! lost.  The default nickname prefix is new per run, so clients left over
//! from an earlier run never collide with or feed into this one.
//!
//! Output: `key: value` lines on stdout (plus one JSON line with `--json`),
//! progress and warnings on stderr (`RUST_LOG` as usual).  `status` is `ok`,
//! or `errors` when the run finished but counted failed operations, `fatal` or
//! `deadline`.  Exit status: 0
//! when the scenario ran, 1 on a fatal setup error (under 95 % of clients
//! came up, or no churn cycle completed) or when the deadline hit, 2 on a
//! usage error.  Every phase is bounded: the whole run stops by itself at
//! warm-up + duration + 60 s.  The tool cannot raise `RLIMIT_NOFILE`
//! itself (no libc); run `ulimit -n 20000` first for large client counts.

mod engine;
mod fleet;
mod noisy;
mod probe;
mod scenarios;
mod stats;
mod transport;

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mio::Events;

use crate::engine::Engine;
use crate::scenarios::{Churn, Connect, Scenario, Step, Traffic};
use crate::stats::Report;

/// Slack on top of warm-up + duration before the tool gives up.
const DEADLINE_SLACK_NS: u64 = 60_000_000_000;

/// Parsed command line.
pub struct Config {
    pub server: SocketAddr,
    pub server_str: String,
    pub scenario: String,
    pub clients: Option<usize>,
    pub channels: usize,
    pub members: usize,
    pub senders: usize,
    pub pairs: usize,
    pub window: u64,
    pub rate: Option<f64>,
    pub duration_ns: u64,
    pub warmup_ns: u64,
    pub batch: usize,
    pub source_ips: u32,
    pub server_pid: Option<String>,
    pub oper: Option<(String, String)>,
    pub umode: Option<String>,
    pub json: bool,
    pub nick_prefix: String,
    pub msg_size: usize,
    /// TLS or WebSocket instead of plain TCP.
    pub transport: Option<transport::Kind>,
}

fn options() -> getopts::Options {
    let mut o = getopts::Options::new();
    o.optmulti(
        "",
        "server",
        "server address (default 127.0.0.1:6667)",
        "HOST:PORT",
    );
    o.optmulti(
        "",
        "scenario",
        "connect | fanout | privmsg | churn | noisy-stuck | noisy-who | noisy-reconnect (default connect)",
        "NAME",
    );
    o.optmulti(
        "",
        "clients",
        "connect: clients (default 1000); churn: concurrent workers (default 50); noisy-stuck: stuck readers (default 1000); noisy-reconnect: flooders (default 200)",
        "N",
    );
    o.optmulti("", "channels", "fanout: channels (default 1)", "C");
    o.optmulti(
        "",
        "members",
        "fanout: members per channel, senders included (default 200); noisy-who, noisy-reconnect: channel members",
        "M",
    );
    o.optmulti(
        "",
        "senders",
        "fanout: senders per channel (default 1); noisy-who: WHO flooders among the members",
        "S",
    );
    o.optmulti("", "pairs", "privmsg: client pairs (default 100)", "P");
    o.optmulti(
        "",
        "window",
        "closed loop: messages in flight per sender (default 32)",
        "W",
    );
    o.optmulti(
        "",
        "rate",
        "open loop: total messages/s over all senders (replaces --window)",
        "R",
    );
    o.optmulti(
        "",
        "duration",
        "measured (or, for connect, idle) seconds (default 10)",
        "SECS",
    );
    o.optmulti(
        "",
        "warmup",
        "seconds of traffic before measuring (default 2)",
        "SECS",
    );
    o.optmulti(
        "",
        "connect-batch",
        "max connections in handshake at once (default 50)",
        "K",
    );
    o.optmulti(
        "",
        "source-ips",
        "bind clients to 127.0.0.1..127.0.0.N round-robin (default 0: no bind)",
        "N",
    );
    o.optmulti(
        "",
        "server-pid",
        "server process id, for RSS and CPU figures",
        "PID",
    );
    o.optmulti(
        "",
        "oper",
        "senders send OPER NAME PASS (lifts flood control)",
        "NAME:PASS",
    );
    o.optmulti(
        "",
        "umode",
        "senders set these user modes, e.g. +F for ngIRCd",
        "MODES",
    );
    o.optmulti(
        "",
        "msg-size",
        "PRIVMSG line length in bytes incl. CRLF (default 100)",
        "BYTES",
    );
    o.optmulti(
        "",
        "nick-prefix",
        "nickname prefix, letters only (default: l + 3 letters, new per run); fanout channels are #<prefix><i>",
        "STR",
    );
    o.optflagmulti("", "json", "also print one JSON line");
    o.optflag(
        "",
        "tls",
        "clients speak TLS (any server certificate is taken: loopback testing only)",
    );
    o.optflag(
        "",
        "websocket",
        "clients speak WebSocket (text.ircv3.net), one IRC line per message; with --tls: wss",
    );
    o.optflag("h", "help", "print this help");
    o
}

/// The last occurrence of an option, so later arguments override earlier
/// ones (scripts append the caller's extra arguments to their defaults).
fn last(m: &getopts::Matches, name: &str) -> Option<String> {
    m.opt_strs(name).pop()
}

fn num<T: std::str::FromStr>(m: &getopts::Matches, name: &str, def: T) -> Result<T, String> {
    match last(m, name) {
        None => Ok(def),
        Some(s) => s.parse().map_err(|_| format!("--{name}: bad value '{s}'")),
    }
}

fn secs_ns(m: &getopts::Matches, name: &str, def: f64) -> Result<u64, String> {
    let v: f64 = num(m, name, def)?;
    if !(0.0..=86_400.0).contains(&v) {
        return Err(format!("--{name}: out of range"));
    }
    Ok((v * 1e9) as u64)
}

/// Default nickname prefix: `l` plus three letters that differ per run, so
/// a run never collides with (or counts messages from) leftovers of an
/// earlier run still known to the server.  `l` + 3 + up to 5 digits fits
/// the RFC nickname length of 9 for up to 100000 clients.
fn run_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut x = (u64::from(std::process::id()) << 32 | u64::from(nanos))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        >> 24;
    let mut s = String::from("l");
    for _ in 0..3 {
        s.push(char::from(b'a' + (x % 26) as u8));
        x /= 26;
    }
    s
}

fn parse_config(m: &getopts::Matches) -> Result<Config, String> {
    let server_str = last(m, "server").unwrap_or_else(|| "127.0.0.1:6667".into());
    let addrs: Vec<SocketAddr> = server_str
        .to_socket_addrs()
        .map_err(|e| format!("--server {server_str}: {e}"))?
        .collect();
    let server = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("--server {server_str}: no address"))?;
    let scenario = last(m, "scenario").unwrap_or_else(|| "connect".into());
    let known = ["connect", "fanout", "privmsg", "churn"];
    if !known.contains(&scenario.as_str()) && noisy::Crowd::from_scenario(&scenario).is_none() {
        return Err(format!("--scenario: unknown '{scenario}'"));
    }
    let source_ips: u32 = num(m, "source-ips", 0)?;
    if source_ips > 0 {
        let loopback_v4 = matches!(server.ip(), IpAddr::V4(ip) if ip.is_loopback());
        if !loopback_v4 || source_ips > 65_000 {
            return Err("--source-ips needs an IPv4 loopback server and N <= 65000".into());
        }
    }
    let oper = match last(m, "oper") {
        None => None,
        Some(s) => {
            let (n, p) = s.split_once(':').ok_or("--oper: expected NAME:PASS")?;
            Some((n.to_string(), p.to_string()))
        }
    };
    let nick_prefix = last(m, "nick-prefix").unwrap_or_else(run_prefix);
    if nick_prefix.is_empty() || !nick_prefix.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err("--nick-prefix: letters only".into());
    }
    let rate = match last(m, "rate") {
        None => None,
        Some(s) => match s.parse::<f64>() {
            Ok(r) if r > 0.0 && r.is_finite() => Some(r),
            _ => return Err(format!("--rate: bad value '{s}'")),
        },
    };
    let clients = match last(m, "clients") {
        None => None,
        Some(s) => Some(
            s.parse()
                .map_err(|_| format!("--clients: bad value '{s}'"))?,
        ),
    };
    let msg_size: usize = num(m, "msg-size", 100)?;
    if !(40..=510).contains(&msg_size) {
        return Err("--msg-size: 40..=510".into());
    }
    let transport = match (m.opt_present("tls"), m.opt_present("websocket")) {
        (true, true) => Some(transport::Kind::wss(server)),
        (true, false) => Some(transport::Kind::tls(server)),
        (false, true) => Some(transport::Kind::Ws(server)),
        (false, false) => None,
    };
    Ok(Config {
        transport,
        server,
        server_str,
        scenario,
        clients,
        channels: num(m, "channels", 1)?,
        members: num(m, "members", 200)?,
        senders: num(m, "senders", 1)?,
        pairs: num(m, "pairs", 100)?,
        window: num(m, "window", 32)?,
        rate,
        duration_ns: secs_ns(m, "duration", 10.0)?.max(1),
        warmup_ns: secs_ns(m, "warmup", 2.0)?,
        batch: num(m, "connect-batch", 50)?,
        source_ips,
        server_pid: last(m, "server-pid"),
        oper,
        umode: last(m, "umode"),
        json: m.opt_present("json"),
        nick_prefix,
        msg_size,
    })
}

/// The event loop: tick, flush, poll, dispatch, flush, until the scenario
/// is done or the deadline passes.  Returns false on deadline.
fn drive<S: Scenario>(eng: &mut Engine, sc: &mut S, deadline: u64) -> io::Result<bool> {
    let mut events = Events::with_capacity(256);
    loop {
        let now = eng.now();
        if now >= deadline {
            return Ok(false);
        }
        let wait = match sc.tick(eng, now) {
            Step::Done => return Ok(true),
            Step::Continue(d) => d,
        };
        eng.reap(sc);
        eng.flush();
        eng.reap(sc);
        let wait = wait.min(Duration::from_nanos(deadline - now));
        eng.poll(&mut events, wait)?;
        eng.dispatch(&events, sc);
        eng.reap(sc);
        eng.flush();
        eng.reap(sc);
    }
}

fn run<S: Scenario>(cfg: &Config, mut eng: Engine, mut sc: S) -> ExitCode {
    let began = eng.now();
    let deadline = began + cfg.warmup_ns + cfg.duration_ns + DEADLINE_SLACK_NS;
    let finished = match drive(&mut eng, &mut sc, deadline) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("portico-load: poll failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A run that finished but counted failures says so: "ok" beside errors misleads.
    let status = match (finished, sc.fatal(), sc.errors()) {
        (_, Some(_), _) => "fatal",
        (false, None, _) => "deadline",
        (true, None, 0) => "ok",
        (true, None, _) => "errors",
    };
    let mut r = Report::default();
    r.str("scenario", cfg.scenario.as_str());
    r.str("server", cfg.server_str.as_str());
    r.str("status", status);
    let transport = cfg.transport.as_ref().map_or("tcp", transport::Kind::name);
    r.str("transport", transport);
    r.str("nick_prefix", cfg.nick_prefix.as_str());
    sc.report(&eng, &mut r);
    r.int("bytes_in", eng.stats.bytes_in);
    r.int("bytes_out", eng.stats.bytes_out);
    r.int("lines_in", eng.stats.lines_in);
    r.int("open_connections", eng.open());
    r.float("wall_s", (eng.now() - began) as f64 / 1e9, 2);
    print!("{}", r.table());
    if cfg.json {
        println!("{}", r.json());
    }
    if let Some(f) = sc.fatal() {
        eprintln!("portico-load: {f}");
    }
    if !finished {
        eprintln!("portico-load: deadline reached before the scenario finished");
    }
    if sc.errors() > 0 {
        eprintln!(
            "portico-load: {} operations failed (see the err_* counts)",
            sc.errors()
        );
    }
    // The scenario ran (its figures stand) even when some operations failed.
    if matches!(status, "ok" | "errors") {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    let args: Vec<String> = std::env::args().collect();
    let opts = options();
    let m = match opts.parse(&args[1..]) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("portico-load: {e}\n{}", opts.short_usage("portico-load"));
            return ExitCode::from(2);
        }
    };
    if m.opt_present("help") {
        let brief = "Usage: portico-load [options]\n\n\
            Load generator for IRC servers. Raise the descriptor limit first\n\
            (e.g. `ulimit -n 20000`) for large client counts. An option given\n\
            twice takes its last value.";
        print!("{}", opts.usage(brief));
        return ExitCode::SUCCESS;
    }
    let cfg = match parse_config(&m) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("portico-load: {e}");
            return ExitCode::from(2);
        }
    };
    // One clock for the engine and the noisy scenarios' probe thread.
    let epoch = Instant::now();
    let eng = match Engine::new(cfg.server, cfg.source_ips, &cfg.nick_prefix, epoch) {
        Ok(e) => e.with_transport(cfg.transport.clone()),
        Err(e) => {
            eprintln!("portico-load: cannot create poll: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cfg.scenario.as_str() {
        "connect" => {
            let sc = Connect::new(&cfg, eng.now());
            run(&cfg, eng, sc)
        }
        "fanout" | "privmsg" => {
            let sc = if cfg.scenario == "fanout" {
                Traffic::fanout(&cfg)
            } else {
                Traffic::privmsg(&cfg)
            };
            match sc {
                Ok(sc) => run(&cfg, eng, sc),
                Err(e) => {
                    eprintln!("portico-load: {e}");
                    ExitCode::from(2)
                }
            }
        }
        "churn" => {
            let sc = Churn::new(&cfg);
            run(&cfg, eng, sc)
        }
        name => {
            let crowd = noisy::Crowd::from_scenario(name).expect("checked in parse_config");
            let sc = noisy::Noisy::new(&cfg, crowd, epoch);
            run(&cfg, eng, sc)
        }
    }
}
