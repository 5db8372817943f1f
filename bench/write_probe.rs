//! Probe of what ONE thread can write to N loopback TCP sockets (`cargo bench --bench
//! write_probe`). No server involved: N connected `std::net::TcpStream` pairs on
//! 127.0.0.1; one writer thread owns the writing ends (non-blocking, `TCP_NODELAY`, as the
//! event loop sets them) and writes 100-byte lines round-robin across them; reader threads
//! (mio, edge-triggered) drain the other ends and count bytes.
//!
//! * mode A: one line per `write()`.
//! * mode B: 16 lines per `write()` (one 1600-byte buffer).
//!
//! A partial write keeps its offset and the rest is written on that socket's next turn;
//! a line counts once all its bytes are accepted by the kernel. `WouldBlock` skips the
//! socket for that round (counted as stalls). After each mode the probe waits until the
//! readers have received every written byte.
//!
//! Writer CPU: utime+stime of the writer thread from `/proc/self/task/<tid>/stat` (100 Hz
//! clock ticks). On loopback the receiving side's TCP processing largely runs in the
//! sender's system call, so it is part of that figure.
//!
//! Environment: `PROBE_SECS` (seconds per mode, default 3), `PROBE_SOCKETS` (default 500),
//! `PROBE_READERS` (default 2, or 1 on a machine with fewer than 3 CPUs).

use mio::{Events, Interest, Poll, Token};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const LINE_LEN: usize = 100;
const CLK_TCK: u64 = 100;

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            eprintln!("probe: bad {name}={v:?}, using {default}");
            default
        }),
        Err(_) => default,
    }
}

/// One 100-byte IRC-looking line ending in CRLF.
fn line() -> Vec<u8> {
    let mut l = b":nick!user@host PRIVMSG #chan :".to_vec();
    l.resize(LINE_LEN - 2, b'x');
    l.extend_from_slice(b"\r\n");
    l
}

/// This thread's id, from the `/proc/thread-self` link (`<pid>/task/<tid>`).
fn own_tid() -> Option<String> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// utime+stime of thread `tid` in clock ticks.
fn thread_cpu_ticks(tid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces):
    // index 0 is field 3 (state); utime is field 14, stime field 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

struct ModeResult {
    lines: u64,
    bytes: u64,
    writes: u64,
    stalls: u64,
    elapsed: Duration,
    cpu_ticks: Option<u64>,
}

/// Writes `lines_per_write` lines per `write()` round-robin for `secs` seconds.
fn run_mode(
    socks: &mut [TcpStream],
    offs: &mut [usize],
    lines_per_write: usize,
    secs: u64,
) -> ModeResult {
    let buf: Vec<u8> = line().repeat(lines_per_write);
    let tid = own_tid();
    let cpu0 = tid.as_deref().and_then(thread_cpu_ticks);
    let (mut lines, mut bytes, mut writes, mut stalls) = (0u64, 0u64, 0u64, 0u64);
    let limit = Duration::from_secs(secs);
    let start = Instant::now();
    let elapsed = loop {
        for (s, off) in socks.iter_mut().zip(offs.iter_mut()) {
            // A partial buffer left by the previous mode is finished with this mode's
            // bytes: the readers only count bytes.
            if *off >= buf.len() {
                *off = 0;
            }
            match s.write(&buf[*off..]) {
                Ok(n) => {
                    writes += 1;
                    bytes += n as u64;
                    *off += n;
                    if *off == buf.len() {
                        *off = 0;
                        lines += lines_per_write as u64;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => stalls += 1,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("write: {e}"),
            }
        }
        let el = start.elapsed();
        if el >= limit {
            break el;
        }
    };
    let cpu1 = tid.as_deref().and_then(thread_cpu_ticks);
    ModeResult {
        lines,
        bytes,
        writes,
        stalls,
        elapsed,
        cpu_ticks: cpu0.zip(cpu1).map(|(a, b)| b - a),
    }
}

fn reader(socks: Vec<TcpStream>, stop: Arc<AtomicBool>, received: Arc<AtomicU64>) {
    let mut poll = Poll::new().expect("poll");
    let mut socks: Vec<mio::net::TcpStream> = socks
        .into_iter()
        .map(mio::net::TcpStream::from_std)
        .collect();
    for (i, s) in socks.iter_mut().enumerate() {
        poll.registry()
            .register(s, Token(i), Interest::READABLE)
            .expect("register");
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        match poll.poll(&mut events, Some(Duration::from_millis(50))) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => panic!("poll: {e}"),
        }
        for ev in events.iter() {
            let s = &mut socks[ev.token().0];
            // Edge-triggered: drain until WouldBlock.
            loop {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        received.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => panic!("read: {e}"),
                }
            }
        }
    }
}

fn main() {
    let secs = env_num("PROBE_SECS", 3).clamp(1, 60);
    let n = env_num("PROBE_SOCKETS", 500).clamp(1, 5000) as usize;
    let cpus = thread::available_parallelism().map_or(1, |c| c.get());
    let default_readers = if cpus < 3 { 1 } else { 2 };
    let nreaders = (env_num("PROBE_READERS", default_readers).clamp(1, 8) as usize).min(n);

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    let mut writers = Vec::with_capacity(n);
    let mut readers: Vec<Vec<TcpStream>> = (0..nreaders).map(|_| Vec::new()).collect();
    for i in 0..n {
        let w = TcpStream::connect(addr).expect("connect (file descriptor limit?)");
        let (r, _) = listener.accept().expect("accept");
        w.set_nodelay(true).expect("nodelay");
        w.set_nonblocking(true).expect("nonblocking");
        r.set_nonblocking(true).expect("nonblocking");
        writers.push(w);
        readers[i % nreaders].push(r);
    }
    drop(listener);

    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = readers
        .into_iter()
        .map(|socks| {
            let (stop, received) = (stop.clone(), received.clone());
            thread::spawn(move || reader(socks, stop, received))
        })
        .collect();

    println!(
        "probe: {n} loopback sockets, {nreaders} reader thread(s), {cpus} CPUs, \
         {secs} s per mode, {LINE_LEN}-byte lines"
    );
    let writer = thread::spawn(move || {
        let mut offs = vec![0usize; writers.len()];
        let mut sent = 0u64;
        let mut out = Vec::new();
        for lpw in [1usize, 16] {
            let r = run_mode(&mut writers, &mut offs, lpw, secs);
            sent += r.bytes;
            // Wait (bounded) until the readers have everything written so far.
            let deadline = Instant::now() + Duration::from_secs(10);
            while received.load(Ordering::Relaxed) < sent && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            let got = received.load(Ordering::Relaxed);
            out.push((lpw, r, got >= sent));
        }
        out
    });
    let results = writer.join().expect("writer thread");
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("reader thread");
    }

    for (lpw, r, delivered) in results {
        let secs_f = r.elapsed.as_secs_f64();
        let lps = r.lines as f64 / secs_f;
        let us_line = secs_f * 1e6 / r.lines.max(1) as f64;
        let cpu = match r.cpu_ticks {
            Some(t) => format!(
                "writer CPU {:.1} us/line, {:.0}% of a core",
                (t * 1_000_000 / CLK_TCK) as f64 / r.lines.max(1) as f64,
                100.0 * (t as f64 / CLK_TCK as f64) / secs_f
            ),
            None => "writer CPU n/a".to_string(),
        };
        let what = if lpw == 1 {
            "1 line/write".to_string()
        } else {
            format!("{lpw} lines/write")
        };
        println!(
            "probe: {n} sockets, {what}: {lps:.0} lines/s, {us_line:.2} us/line ({cpu}); \
             {:.0} writes/s, {:.1} MB/s, {} stalls (WouldBlock){}",
            r.writes as f64 / secs_f,
            r.bytes as f64 / secs_f / 1e6,
            r.stalls,
            if delivered {
                ", all bytes received"
            } else {
                ", NOT all bytes received within 10 s"
            }
        );
    }
}
