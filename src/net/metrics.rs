//! The `[metrics]` listener: `GET /metrics` is answered with the Prometheus text
//! (`World::metrics`), any other path with 404, then the connection is closed. It runs in
//! the IRC loop, so all it does is bounded: at most [`MAX_SCRAPERS`] connections at a
//! time (more are closed at once), a request of at most [`MAX_REQUEST`] bytes, and
//! [`SCRAPE_MS`] to send it and read the answer. The answer goes through a [`SendQ`] like
//! any IRC line, written as the socket takes it: a slow scraper holds its own small queue,
//! never the loop.

use super::listener;
use super::sendq::{Flushed, SendQ};
use log::{debug, warn};
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use slab::Slab;
use std::io::{self, Read};
use std::net::SocketAddr;

/// The listener's token, and the first of the scrapers' (beside the IRC listeners' range,
/// which starts at 1 << 40, and the connections', which the slab keeps far below both).
const LISTENER: usize = (1 << 39) - 1;
const BASE: usize = 1 << 39;
/// Scrapers served at once: Prometheus sends one at a time per target.
pub const MAX_SCRAPERS: usize = 8;
/// A scrape request is a line and a few headers.
pub const MAX_REQUEST: usize = 4096;
/// Time a scraper has from connecting to having read the answer.
pub const SCRAPE_MS: u64 = 10_000;

/// The counters only the shell can keep, shown with the core's figures.
pub use crate::core::metrics::ShellFigures;

struct Scraper {
    stream: TcpStream,
    request: Vec<u8>,
    reply: SendQ,
    /// The answer is queued: nothing more is read.
    answered: bool,
    deadline_ms: u64,
}

pub struct Metrics {
    listener: TcpListener,
    pub addr: SocketAddr,
    scrapers: Slab<Scraper>,
}

/// Whether a poll token belongs to the metrics listener or one of its scrapers.
pub fn owns(token: Token) -> bool {
    (LISTENER..BASE + MAX_SCRAPERS).contains(&token.0)
}

impl Metrics {
    pub fn bind(addr: SocketAddr, registry: &Registry) -> io::Result<Metrics> {
        let mut listener = listener::bind(addr).map_err(|e| {
            io::Error::new(e.kind(), format!("[metrics] cannot listen on {addr}: {e}"))
        })?;
        registry.register(&mut listener, Token(LISTENER), Interest::READABLE)?;
        Ok(Metrics {
            addr: listener.local_addr()?,
            listener,
            scrapers: Slab::with_capacity(MAX_SCRAPERS),
        })
    }

    /// A readiness event for `token` (see [`owns`]); `render` makes the body of a scrape.
    pub fn on_event(
        &mut self,
        token: Token,
        registry: &Registry,
        now_ms: u64,
        render: impl FnOnce() -> String,
    ) {
        if token.0 == LISTENER {
            self.accept(registry, now_ms);
        } else {
            self.serve(token.0 - BASE, registry, render);
        }
    }

    /// Accepts until the backlog is empty; past [`MAX_SCRAPERS`] a connection is closed
    /// unanswered (left in the backlog it would never raise another edge).
    fn accept(&mut self, registry: &Registry, now_ms: u64) {
        loop {
            let (mut stream, peer) = match self.listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("metrics: accept: {e}");
                    return;
                }
            };
            if self.scrapers.len() >= MAX_SCRAPERS {
                debug!("metrics: {peer} closed: {MAX_SCRAPERS} scrapers already");
                continue;
            }
            let entry = self.scrapers.vacant_entry();
            let token = Token(BASE + entry.key());
            if let Err(e) =
                registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            {
                warn!("metrics: register {peer}: {e}");
                continue;
            }
            entry.insert(Scraper {
                stream,
                request: Vec::new(),
                reply: SendQ::default(),
                answered: false,
                deadline_ms: now_ms + SCRAPE_MS,
            });
        }
    }

    /// Reads the request (once complete, queues the answer) and writes what the socket
    /// takes; closes the scraper when its answer is out or it went wrong.
    fn serve(&mut self, k: usize, registry: &Registry, render: impl FnOnce() -> String) {
        let Some(s) = self.scrapers.get_mut(k) else {
            return;
        };
        let done = s.step(render).unwrap_or_else(|e| {
            debug!("metrics: scraper {k}: {e}");
            true
        });
        if done {
            self.close(k, registry);
        }
    }

    /// Closes scrapers past their deadline (called about once a second).
    pub fn expire(&mut self, registry: &Registry, now_ms: u64) {
        let late: Vec<usize> = self
            .scrapers
            .iter()
            .filter(|(_, s)| now_ms >= s.deadline_ms)
            .map(|(k, _)| k)
            .collect();
        for k in late {
            debug!("metrics: scraper {k} took over {SCRAPE_MS} ms; closed");
            self.close(k, registry);
        }
    }

    fn close(&mut self, k: usize, registry: &Registry) {
        let mut s = self.scrapers.remove(k);
        let _ = registry.deregister(&mut s.stream);
    }
}

/// What a complete request is answered with.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Metrics,
    NotFound,
    MethodNotAllowed,
    BadRequest,
    TooLarge,
}

impl Answer {
    /// The whole HTTP response; only a scrape renders the figures.
    fn build(&self, render: impl FnOnce() -> String) -> Vec<u8> {
        let (status, ctype, body) = match self {
            Answer::Metrics => ("200 OK", "text/plain; version=0.0.4", render()),
            Answer::NotFound => (
                "404 Not Found",
                "text/plain",
                "Not found; try /metrics\n".into(),
            ),
            Answer::MethodNotAllowed => (
                "405 Method Not Allowed",
                "text/plain",
                "GET /metrics\n".into(),
            ),
            Answer::BadRequest => ("400 Bad Request", "text/plain", "Bad request\n".into()),
            Answer::TooLarge => (
                "431 Request Header Fields Too Large",
                "text/plain",
                "Request too large\n".into(),
            ),
        };
        let allow = if *self == Answer::MethodNotAllowed {
            "Allow: GET\r\n"
        } else {
            ""
        };
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

/// The answer a request deserves once it is complete; `None` while it is not.
fn answer_for(request: &[u8]) -> Option<Answer> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(request) {
        Ok(httparse::Status::Partial) if request.len() >= MAX_REQUEST => Some(Answer::TooLarge),
        Ok(httparse::Status::Partial) => None,
        Err(_) => Some(Answer::BadRequest),
        Ok(httparse::Status::Complete(_)) => {
            let path = req.path.unwrap_or_default();
            let path = path.split('?').next().unwrap_or_default();
            Some(match (req.method, path) {
                (Some("GET"), "/metrics") => Answer::Metrics,
                (Some("GET"), _) => Answer::NotFound,
                _ => Answer::MethodNotAllowed,
            })
        }
    }
}

impl Scraper {
    /// Moves the exchange on as far as the socket allows: request, answer, then the
    /// scraper's EOF. True when the connection can go.
    fn step(&mut self, render: impl FnOnce() -> String) -> io::Result<bool> {
        if !self.answered {
            let Some(answer) = self.read_request()? else {
                return Ok(false);
            };
            self.answered = true;
            self.reply.push(answer.build(render).into());
        }
        if !self.reply.is_empty() {
            if self.reply.flush(&mut self.stream)? != Flushed::Empty {
                return Ok(false);
            }
            // Then wait for the scraper to close: closing with its unread bytes (a
            // request cut off at 4 KiB) would reset the connection and lose the answer.
            self.stream.shutdown(std::net::Shutdown::Write)?;
        }
        self.discard_until_eof()
    }

    /// Reads and drops what the scraper still sends, a bounded amount per event; true at
    /// its EOF. Stopping at the bound waits for the deadline instead.
    fn discard_until_eof(&mut self) -> io::Result<bool> {
        let mut buf = [0u8; 1024];
        for _ in 0..16 {
            match self.stream.read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    /// Reads what is there (up to [`MAX_REQUEST`]); the answer once the request is whole.
    /// An error for EOF before that or a read error.
    fn read_request(&mut self) -> io::Result<Option<Answer>> {
        let mut buf = [0u8; 1024];
        loop {
            let room = MAX_REQUEST - self.request.len();
            match self.stream.read(&mut buf[..room.min(1024)]) {
                // `room` is never 0 here: a request that fills it is answered (431).
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    self.request.extend_from_slice(&buf[..n]);
                    if let Some(answer) = answer_for(&self.request) {
                        self.request = Vec::new();
                        return Ok(Some(answer));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{answer_for, Answer, MAX_REQUEST};

    #[test]
    fn requests_are_answered_by_method_and_path() {
        let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            answer_for(get("/metrics").as_bytes()),
            Some(Answer::Metrics)
        );
        assert_eq!(
            answer_for(get("/metrics?x=1").as_bytes()),
            Some(Answer::Metrics)
        );
        assert_eq!(answer_for(get("/").as_bytes()), Some(Answer::NotFound));
        assert_eq!(
            answer_for(get("/metricsx").as_bytes()),
            Some(Answer::NotFound)
        );
        assert_eq!(
            answer_for(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Some(Answer::MethodNotAllowed)
        );
        assert_eq!(
            answer_for(b"GET /metrics HTTP/1.1\r\nHost"),
            None,
            "partial"
        );
        assert_eq!(
            answer_for(b"\x01\x02 nonsense\r\n\r\n"),
            Some(Answer::BadRequest)
        );
        let huge = format!("GET /metrics HTTP/1.1\r\nX: {}", "a".repeat(MAX_REQUEST));
        assert_eq!(
            answer_for(&huge.as_bytes()[..MAX_REQUEST]),
            Some(Answer::TooLarge)
        );
    }

    #[test]
    fn a_scrape_answer_has_the_exposition_content_type_and_length() {
        let reply = String::from_utf8(Answer::Metrics.build(|| "a 1\n".into())).unwrap();
        assert_eq!(
            reply,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 4\r\nConnection: close\r\n\r\na 1\n"
        );
        let mut rendered = false;
        let reply = Answer::NotFound.build(|| {
            rendered = true;
            String::new()
        });
        assert!(!rendered, "only a scrape renders the figures");
        assert!(reply.starts_with(b"HTTP/1.1 404 Not Found\r\n"));
    }
}
