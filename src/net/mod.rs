//! The mio shell: one thread, one `Poll`, every socket in a slab. It moves bytes between
//! sockets and the core, enforces send queue limits, owns the clock and the signals.

mod checker;
mod conn;
mod dialer;
mod event_loop;
mod listener;
mod metrics;
pub mod sendq;
pub mod state_file;
mod tls;
pub(crate) mod tls_aead;
mod tls_record;
mod webpage;
mod websocket;

pub use event_loop::Server;

use crate::config::Config;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

/// How the server is started.
#[derive(Debug, Clone)]
pub struct Options {
    pub config: Config,
    /// The file REHASH and SIGHUP reload; `None` runs on the given config only.
    pub config_path: Option<PathBuf>,
    /// Listeners from the command line, replacing the config's (kept across reloads).
    pub listen_override: Option<Vec<SocketAddr>>,
    /// Handle SIGTERM, SIGINT and SIGHUP (the binary does; in-process tests do not).
    pub signals: bool,
}

impl Options {
    pub fn new(config: Config) -> Options {
        Options {
            config,
            config_path: None,
            listen_override: None,
            signals: false,
        }
    }
}

pub(crate) const RUN: u8 = 0;
pub(crate) const STOP: u8 = 1;
pub(crate) const REHASH: u8 = 2;

/// Controls a server running on another thread (tests, embedding).
pub struct Handle {
    waker: Arc<mio::Waker>,
    request: Arc<AtomicU8>,
    snapshots: Arc<Mutex<Vec<mpsc::Sender<String>>>>,
}

impl Handle {
    fn ask(&self, what: u8) {
        self.request.store(what, Ordering::SeqCst);
        let _ = self.waker.wake();
    }
    /// Shut down as on SIGTERM.
    pub fn stop(&self) {
        self.ask(STOP)
    }
    /// Reload the configuration as on SIGHUP.
    pub fn rehash(&self) {
        self.ask(REHASH)
    }
    /// The server's view of the network (`World::snapshot`), for tests that compare the
    /// servers of a network. `None` if the server is gone.
    pub fn snapshot(&self) -> Option<String> {
        let (tx, rx) = mpsc::channel();
        self.snapshots.lock().ok()?.push(tx);
        let _ = self.waker.wake();
        rx.recv_timeout(std::time::Duration::from_secs(5)).ok()
    }
}

/// A server running on its own thread; stops and joins on drop.
pub struct Running {
    pub addrs: Vec<SocketAddr>,
    /// Where `[metrics]` is served, if it is (port 0 resolved).
    pub metrics_addr: Option<SocketAddr>,
    pub handle: Handle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Running {
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }
    /// Stops the server and waits for it.
    pub fn stop(mut self) -> io::Result<()> {
        self.handle.stop();
        self.thread
            .take()
            .map_or(Ok(()), |t| t.join().unwrap_or(Ok(())))
    }
    /// Waits for the server to end by itself (DIE).
    pub fn join(mut self) -> io::Result<()> {
        self.thread
            .take()
            .map_or(Ok(()), |t| t.join().unwrap_or(Ok(())))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.handle.stop();
            let _ = t.join();
        }
    }
}

/// Binds and runs a server on a new thread (the core is single-threaded and not `Send`, so
/// it is built on that thread).
pub fn spawn(opts: Options) -> io::Result<Running> {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("portico".into())
        .spawn(move || {
            let mut server = match Server::bind(opts) {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return Ok(());
                }
            };
            let addrs = (server.local_addrs(), server.metrics_addr());
            let _ = tx.send(Ok((addrs, server.handle())));
            server.run()
        })?;
    let ((addrs, metrics_addr), handle) = rx
        .recv()
        .map_err(|_| io::Error::other("server thread ended early"))??;
    Ok(Running {
        addrs,
        metrics_addr,
        handle,
        thread: Some(thread),
    })
}
