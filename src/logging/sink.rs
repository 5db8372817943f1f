//! Where log lines go besides stderr: a file (`[log] file`), reopened after SIGHUP so that
//! logrotate can move it away, and syslog (`[log] syslog = true`: one datagram per line to
//! the local syslog socket, facility daemon).

use log::Level;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by SIGHUP (`reopen`): the next line goes to a freshly opened file.
static REOPEN: AtomicBool = AtomicBool::new(false);

/// After SIGHUP: the log file is reopened before its next line (logrotate's `postrotate`
/// or `systemctl reload` after moving it).
pub fn reopen() {
    REOPEN.store(true, Ordering::SeqCst);
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The log file, appended to.
pub struct FileSink {
    path: PathBuf,
    file: File,
}

impl FileSink {
    pub fn open(path: &Path) -> io::Result<FileSink> {
        Ok(FileSink {
            path: path.to_path_buf(),
            file: open(path)?,
        })
    }
}

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if REOPEN.swap(false, Ordering::SeqCst) {
            // A file that cannot be reopened keeps the old one: lines still go somewhere.
            if let Ok(f) = open(&self.path) {
                self.file = f;
            }
        }
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The local syslog socket.
pub struct Syslog {
    sock: UnixDatagram,
    pid: u32,
}

/// Facility "daemon" (3), as syslog(3) numbers it.
const DAEMON: u8 = 3 << 3;

impl Syslog {
    pub fn connect(path: &Path) -> io::Result<Syslog> {
        let sock = UnixDatagram::unbound()?;
        sock.connect(path)?;
        Ok(Syslog {
            sock,
            pid: std::process::id(),
        })
    }

    /// One line as one datagram: `<priority>portico[pid]: target: text`. A full or absent
    /// syslog loses the line rather than stalling the server.
    pub fn send(&self, level: Level, target: &str, text: &str) {
        let severity = match level {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Info => 6,
            Level::Debug | Level::Trace => 7,
        };
        let line = format!(
            "<{}>portico[{}]: {target}: {text}",
            DAEMON + severity,
            self.pid
        );
        let _ = self.sock.send(line.as_bytes());
    }
}
