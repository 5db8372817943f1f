//! "Noisy neighbours" (issue 14): how long a healthy client waits for its PONG while a
//! crowd abuses the server. The healthy client is a [`Probe`] on its own thread; the crowd
//! is driven by the engine:
//!
//! * `noisy-stuck`: `--clients` (1,000) members of a channel stop reading once everyone is
//!   in, while one sender (OPER) sends `--rate` (1,000) messages/s into it: their output
//!   piles up in the kernel, then in the server's send queues until they are cut (SendQ).
//! * `noisy-who`: `--members` (bench.sh: 5,000) members in one channel; the first
//!   `--senders` (bench.sh: 50) of them send `WHO #channel` every 500 ms each (ordinary clients: flood control and
//!   reply cost apply) and read the replies.
//! * `noisy-reconnect`: `--clients` (200) workers loop: connect, register, JOIN a channel
//!   with `--members` (bench.sh: 100) readers and send 300 lines at once, which gets them cut for
//!   Excess Flood, then reconnect at once.
//!
//! `NOISY_SAMPLES=FILE` writes every round trip (ms since the crowd started, then ms).
//!
//! Reported: the probe's round trips sent inside the measurement window (p50/p99/max),
//! PINGs left unanswered, the server's largest RSS seen (sampled every 100 ms), and what
//! the crowd did (messages sent, WHO replies completed, flood cycles, clients cut).

use std::time::{Duration, Instant};

use crate::engine::{CloseReason, Engine, Handler, Msg};
use crate::fleet::{Fleet, Phase};
use crate::probe::{Probe, Samples};
use crate::scenarios::{setup_fatal, Scenario, Step};
use crate::stats::{rss_bytes, CpuMark, Hist, Report};
use crate::Config;

const MS: u64 = 1_000_000;
/// How often each WHO flooder repeats its WHO (the figure).
const WHO_EVERY_NS: u64 = 500 * MS;
/// Lines a reconnecting flooder sends at once: 300 x 100 bytes is past the server's
/// receive queue (24 KiB), so each connection ends in Excess Flood.
const FLOOD_LINES: usize = 300;
/// Quiet time between the crowd being in and the run: the channel's join storm (every
/// member sees every later JOIN: half a million lines for 1,000 members) is setup, not
/// the noise under test, and takes the server about a second to write out.
const SETTLE_NS: u64 = 2_000 * MS;
/// RSS sampling period.
const RSS_EVERY_NS: u64 = 100 * MS;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Crowd {
    Stuck,
    Who,
    Reconnect,
}

impl Crowd {
    pub fn from_scenario(name: &str) -> Option<Crowd> {
        match name {
            "noisy-stuck" => Some(Crowd::Stuck),
            "noisy-who" => Some(Crowd::Who),
            "noisy-reconnect" => Some(Crowd::Reconnect),
            _ => None,
        }
    }
}

#[derive(PartialEq, Eq)]
enum NPhase {
    Setup,
    Run,
    Done,
}

/// A reconnecting flooder.
struct Worker {
    tok: Option<usize>,
    round: u32,
}

pub struct Noisy {
    crowd: Crowd,
    /// The channel members (and, for `noisy-stuck`, the sender as client 0).
    fleet: Fleet,
    /// `noisy-who`: clients 0..flooders send WHO.
    flooders: usize,
    workers: Vec<Worker>,
    chan: Vec<u8>,
    rate: f64,
    msg_size: usize,
    warmup_ns: u64,
    dur_ns: u64,
    pid: Option<String>,
    server: std::net::SocketAddr,
    oper: Option<(String, String)>,
    epoch: Instant,
    probe: Option<Probe>,
    samples: Samples,
    phase: NPhase,
    settle_until: Option<u64>,
    run_start: u64,
    t0: u64,
    t1: u64,
    next_rss: u64,
    rss_before: Option<u64>,
    rss_max: u64,
    mark0: Option<CpuMark>,
    mark1: Option<CpuMark>,
    msgs_sent: u64,
    who_next: u64,
    who_sent: u64,
    who_done: u64,
    who_lines: u64,
    cycles: u64,
    excess_flood: u64,
    sendq_cut: u64,
    crowd_dropped: u64,
    fatal: Option<String>,
}

impl Noisy {
    pub fn new(cfg: &Config, crowd: Crowd, epoch: Instant) -> Noisy {
        let (members, privileged, flooders, workers) = match crowd {
            // Client 0 sends (privileged: OPER lifts flood control); the rest never read.
            Crowd::Stuck => {
                let n = cfg.clients.unwrap_or(1000) + 1;
                (n, 1, 0, 0)
            }
            Crowd::Who => (cfg.members.max(cfg.senders), 0, cfg.senders, 0),
            Crowd::Reconnect => (cfg.members, 0, 0, cfg.clients.unwrap_or(200)),
        };
        let fleet = Fleet::new(
            &cfg.nick_prefix,
            vec![0; members],
            (0..members).map(|i| i < privileged).collect(),
            cfg.batch,
            cfg.oper.clone(),
            cfg.umode.clone(),
        );
        Noisy {
            crowd,
            fleet,
            flooders,
            workers: (0..workers)
                .map(|_| Worker {
                    tok: None,
                    round: 0,
                })
                .collect(),
            chan: format!("#{}0", cfg.nick_prefix).into_bytes(),
            rate: cfg.rate.unwrap_or(1000.0),
            msg_size: cfg.msg_size,
            warmup_ns: cfg.warmup_ns,
            dur_ns: cfg.duration_ns,
            pid: cfg.server_pid.clone(),
            server: cfg.server,
            oper: cfg.oper.clone(),
            epoch,
            probe: None,
            samples: Vec::new(),
            phase: NPhase::Setup,
            settle_until: None,
            run_start: 0,
            t0: u64::MAX,
            t1: u64::MAX,
            next_rss: 0,
            rss_before: None,
            rss_max: 0,
            mark0: None,
            mark1: None,
            msgs_sent: 0,
            who_next: 0,
            who_sent: 0,
            who_done: 0,
            who_lines: 0,
            cycles: 0,
            excess_flood: 0,
            sendq_cut: 0,
            crowd_dropped: 0,
            fatal: None,
        }
    }

    /// Everyone is in: start the probe, mute the stuck readers, start the flooders.
    fn start_run(&mut self, eng: &mut Engine, now: u64) {
        self.rss_before = self.pid.as_deref().and_then(rss_bytes);
        let nick = format!("{}probe", String::from_utf8_lossy(eng.nick_prefix()));
        match Probe::start(self.server, nick, self.oper.clone(), self.epoch) {
            Ok(p) => self.probe = Some(p),
            Err(e) => {
                self.fatal = Some(e);
                self.phase = NPhase::Done;
                return;
            }
        }
        if self.crowd == Crowd::Stuck {
            for cid in 1..self.fleet.len() as u32 {
                if let Some(tok) = self.fleet.up_tok(cid) {
                    eng.mute(tok);
                }
            }
        }
        for w in 0..self.workers.len() {
            self.connect_worker(eng, w);
        }
        log::info!(
            "noisy: {} crowd clients up, {} flooders; warm-up {:.1}s, measuring {:.1}s",
            self.fleet.up,
            self.flooders + self.workers.len(),
            self.warmup_ns as f64 / 1e9,
            self.dur_ns as f64 / 1e9
        );
        self.phase = NPhase::Run;
        self.run_start = now;
        self.who_next = now;
        self.t0 = now + self.warmup_ns;
        self.t1 = self.t0 + self.dur_ns;
    }

    /// Worker client ids follow the fleet's, one block of `workers` per round, so every
    /// connection has a nickname of its own.
    fn worker_cid(&self, w: usize) -> u32 {
        let k = self.workers.len();
        (self.fleet.len() + self.workers[w].round as usize * k + w) as u32
    }

    fn worker_of(&self, cid: u32) -> Option<usize> {
        let base = self.fleet.len();
        (cid as usize >= base && !self.workers.is_empty())
            .then(|| (cid as usize - base) % self.workers.len())
    }

    fn connect_worker(&mut self, eng: &mut Engine, w: usize) {
        let cid = self.worker_cid(w);
        self.workers[w].round = self.workers[w].round.wrapping_add(1);
        self.workers[w].tok = eng.connect(cid).ok();
    }

    /// Open loop: the stuck crowd's sender keeps `rate` messages/s.
    fn send_due(&mut self, eng: &mut Engine, now: u64) {
        let Some(tok) = self.fleet.up_tok(0) else {
            return;
        };
        let due = ((now - self.run_start) as f64 * self.rate / 1e9) as u64;
        let pad = self.msg_size.saturating_sub(self.chan.len() + 13);
        let Some(out) = eng.out(tok) else {
            return;
        };
        while self.msgs_sent < due {
            out.extend_from_slice(b"PRIVMSG ");
            out.extend_from_slice(&self.chan);
            out.extend_from_slice(b" :");
            out.resize(out.len() + pad, b'x');
            out.extend_from_slice(b"\r\n");
            self.msgs_sent += 1;
        }
    }

    /// Every 500 ms each WHO flooder asks again (whether or not its last reply ended).
    fn who_due(&mut self, eng: &mut Engine, now: u64) {
        if now < self.who_next {
            return;
        }
        self.who_next += WHO_EVERY_NS;
        for cid in 0..self.flooders as u32 {
            if let Some(tok) = self.fleet.up_tok(cid) {
                let chan = self.chan.clone();
                if let Some(out) = eng.out(tok) {
                    out.extend_from_slice(b"WHO ");
                    out.extend_from_slice(&chan);
                    out.extend_from_slice(b"\r\n");
                    self.who_sent += 1;
                }
            }
        }
    }

    fn sample_rss(&mut self, now: u64) {
        if now >= self.next_rss {
            self.next_rss = now + RSS_EVERY_NS;
            if let Some(r) = self.pid.as_deref().and_then(rss_bytes) {
                self.rss_max = self.rss_max.max(r);
            }
        }
    }

    fn stop(&mut self) {
        if let Some(p) = self.probe.take() {
            match p.finish() {
                Ok(s) => self.samples = s,
                Err(e) => self.fatal = Some(e),
            }
        }
        // Every round trip, to see when the slow ones happened: `<ms since the crowd
        // started> <round trip ms>` per line.
        if let Ok(path) = std::env::var("NOISY_SAMPLES") {
            let text: String = self
                .samples
                .iter()
                .map(|&(at, rtt)| {
                    let at = at.saturating_sub(self.run_start) as f64 / 1e6;
                    format!("{at:.1} {:.3}\n", rtt as f64 / 1e6)
                })
                .collect();
            if let Err(e) = std::fs::write(&path, text) {
                log::warn!("NOISY_SAMPLES {path}: {e}");
            }
        }
        self.phase = NPhase::Done;
    }
}

impl Handler for Noisy {
    fn on_ready(&mut self, eng: &mut Engine, tok: usize, cid: u32, now: u64) {
        if self.worker_of(cid).is_none() {
            self.fleet.on_ready(eng, tok, cid, now);
            return;
        }
        let Some(out) = eng.out(tok) else {
            return;
        };
        out.extend_from_slice(b"JOIN ");
        out.extend_from_slice(&self.chan);
        out.extend_from_slice(b"\r\n");
        let pad = self.msg_size.saturating_sub(self.chan.len() + 13);
        for _ in 0..FLOOD_LINES {
            out.extend_from_slice(b"PRIVMSG ");
            out.extend_from_slice(&self.chan);
            out.extend_from_slice(b" :");
            out.resize(out.len() + pad, b'f');
            out.extend_from_slice(b"\r\n");
        }
    }

    fn on_msg(&mut self, eng: &mut Engine, tok: usize, cid: u32, msg: &Msg<'_>, now: u64) {
        if msg.cmd == b"ERROR" {
            let text = msg.last_param().unwrap_or_default();
            if text.windows(6).any(|w| w == b"Excess") {
                self.excess_flood += 1;
            } else if text.windows(5).any(|w| w == b"SendQ") {
                self.sendq_cut += 1;
            }
        }
        if self.worker_of(cid).is_some() || self.fleet.on_msg(eng, tok, cid, msg, now) {
            return;
        }
        match msg.cmd {
            b"352" => self.who_lines += 1,
            b"315" => self.who_done += 1,
            _ => {}
        }
    }

    fn on_closed(&mut self, eng: &mut Engine, cid: u32, reason: CloseReason, now: u64) {
        let Some(w) = self.worker_of(cid) else {
            if self.fleet.m[cid as usize].phase == Phase::Up && self.phase == NPhase::Run {
                self.crowd_dropped += 1;
            }
            self.fleet.on_closed(cid, reason, now);
            return;
        };
        self.cycles += 1;
        self.workers[w].tok = None;
        if self.phase == NPhase::Run && now < self.t1 {
            self.connect_worker(eng, w);
        }
    }
}

impl Scenario for Noisy {
    fn tick(&mut self, eng: &mut Engine, now: u64) -> Step {
        match self.phase {
            NPhase::Setup => {
                self.fleet.pump(eng, now);
                match self.settle_until {
                    None if self.fleet.settled() => {
                        self.fatal = setup_fatal(&self.fleet);
                        if self.fatal.is_some() {
                            return Step::Done;
                        }
                        self.settle_until = Some(now + SETTLE_NS);
                    }
                    Some(t) if now >= t => self.start_run(eng, now),
                    _ => {}
                }
            }
            NPhase::Run => {
                self.sample_rss(now);
                if self.mark0.is_none() && now >= self.t0 {
                    self.mark0 = Some(CpuMark::take(now, self.pid.as_deref()));
                }
                match self.crowd {
                    Crowd::Stuck => self.send_due(eng, now),
                    Crowd::Who => self.who_due(eng, now),
                    Crowd::Reconnect => {}
                }
                if now >= self.t1 {
                    self.mark1 = Some(CpuMark::take(now, self.pid.as_deref()));
                    self.stop();
                }
            }
            NPhase::Done => return Step::Done,
        }
        Step::Continue(Duration::from_millis(1))
    }

    fn report(&self, _eng: &Engine, r: &mut Report) {
        let name = match self.crowd {
            Crowd::Stuck => "stuck readers",
            Crowd::Who => "WHO flood",
            Crowd::Reconnect => "flood and reconnect",
        };
        r.str("crowd", name);
        self.fleet.report(r);
        let mut h = Hist::new();
        let mut late = 0u64;
        for &(at, rtt) in &self.samples {
            if at >= self.t0 && at < self.t1 {
                h.record(rtt);
                late += u64::from(rtt > 10 * MS);
            }
        }
        r.latency(
            [
                "healthy_samples",
                "healthy_p50_ms",
                "healthy_p99_ms",
                "healthy_max_ms",
                "healthy_mean_ms",
            ],
            &h,
        );
        r.int("healthy_over_10ms", late);
        r.opt_int("server_rss_before", self.rss_before);
        r.int("server_rss_max", self.rss_max);
        r.float(
            "server_rss_max_mb",
            self.rss_max as f64 / (1 << 20) as f64,
            1,
        );
        r.int("crowd_dropped", self.crowd_dropped);
        r.int("cut_sendq", self.sendq_cut);
        r.int("cut_excess_flood", self.excess_flood);
        match self.crowd {
            Crowd::Stuck => {
                r.float("rate", self.rate, 0);
                r.int("msgs_sent", self.msgs_sent);
            }
            Crowd::Who => {
                r.int("who_flooders", self.flooders);
                r.int("who_sent", self.who_sent);
                r.int("who_done", self.who_done);
                r.int("who_lines", self.who_lines);
            }
            Crowd::Reconnect => {
                r.int("flooders", self.workers.len());
                r.int("flood_cycles", self.cycles);
            }
        }
        if let (Some(a), Some(b)) = (&self.mark0, &self.mark1) {
            r.cpu(a, b, h.count(), "server_cpu_per_ping_us");
        }
    }

    fn fatal(&self) -> Option<&str> {
        self.fatal.as_deref()
    }
}
