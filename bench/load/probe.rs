//! The healthy client of the `noisy-*` scenarios: one connection on its own thread with a
//! blocking socket, sending `PING :<n>` every [`PING_EVERY`] and timing each PONG. Its own
//! thread keeps the figure free of the load tool's loop, which is busy driving the crowd:
//! what it measures is the server's answer time alone.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One PING per 10 ms: 100 samples a second, enough for a p99 over 10 s. The probe OPERs
/// when it can, so this rate is not slowed by flood control.
pub const PING_EVERY: Duration = Duration::from_millis(10);
/// A PONG later than this is counted lost and the probe gives up.
const PONG_TIMEOUT: Duration = Duration::from_secs(10);

/// (send time in ns since the tool's start, round trip in ns) of every answered PING.
pub type Samples = Vec<(u64, u64)>;

pub struct Probe {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<Samples, String>>,
}

impl Probe {
    /// Connects, registers as `nick` (and OPERs with `oper`), then PINGs until stopped.
    /// Returns once registered, so the crowd never races the probe's own setup.
    pub fn start(
        server: SocketAddr,
        nick: String,
        oper: Option<(String, String)>,
        epoch: Instant,
    ) -> Result<Probe, String> {
        let (mut out, mut input) = register(server, &nick, oper.as_ref())?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut samples = Vec::new();
            let mut line = String::new();
            let mut n: u64 = 0;
            while !flag.load(Ordering::Relaxed) {
                let sent = Instant::now();
                write!(out, "PING :p{n}\r\n").map_err(|e| format!("probe: {e}"))?;
                let want = format!("p{n}");
                loop {
                    line.clear();
                    match input.read_line(&mut line) {
                        Ok(0) => return Err("probe: the server closed the connection".into()),
                        Ok(_) => {}
                        Err(e) => return Err(format!("probe: no PONG in time: {e}")),
                    }
                    let l = line.trim_end();
                    let last = l.rsplit(' ').next().map(|t| t.trim_start_matches(':'));
                    if l.contains(" PONG ") && last == Some(want.as_str()) {
                        break;
                    }
                }
                let rtt = sent.elapsed();
                samples.push((
                    sent.duration_since(epoch).as_nanos() as u64,
                    rtt.as_nanos() as u64,
                ));
                n += 1;
                std::thread::sleep(PING_EVERY.saturating_sub(rtt));
            }
            Ok(samples)
        });
        Ok(Probe { stop, handle })
    }

    /// Stops the probe and returns its samples.
    pub fn finish(self) -> Result<Samples, String> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .join()
            .unwrap_or_else(|_| Err("probe: thread panicked".into()))
    }
}

/// Registers (and OPERs): the socket's write half and a reader, past 376/422 (and 381).
fn register(
    server: SocketAddr,
    nick: &str,
    oper: Option<&(String, String)>,
) -> Result<(TcpStream, BufReader<TcpStream>), String> {
    let e = |e: std::io::Error| format!("probe: {e}");
    let mut out = TcpStream::connect(server).map_err(e)?;
    out.set_nodelay(true).map_err(e)?;
    out.set_read_timeout(Some(PONG_TIMEOUT)).map_err(e)?;
    let mut input = BufReader::new(out.try_clone().map_err(e)?);
    write!(out, "NICK {nick}\r\nUSER probe 0 * :healthy\r\n").map_err(e)?;
    wait_for(&mut input, &[" 376 ", " 422 "])?;
    if let Some((name, pass)) = oper {
        write!(out, "OPER {name} {pass}\r\n").map_err(e)?;
        wait_for(&mut input, &[" 381 "])?;
    }
    Ok((out, input))
}

fn wait_for(input: &mut BufReader<TcpStream>, any: &[&str]) -> Result<(), String> {
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) => return Err("probe: closed during registration".into()),
            Ok(_) if line.starts_with("ERROR") => {
                return Err(format!("probe: refused: {}", line.trim_end()))
            }
            Ok(_) if any.iter().any(|m| line.contains(m)) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(format!("probe: registration: {e}")),
        }
    }
}
