//! The log as the binary writes it: env_logger, behind two guards every line passes, so no
//! call site can forget them.
//!
//! * Text from the network (nicks, SERVER names, QUIT reasons, ERROR text) may hold control
//!   characters; written raw, a CR or an escape sequence forges or hides log lines. Every
//!   message goes through [`safe`], which shows them as `\xNN`.
//! * A guesser or a flood can make one WARN line thousands of times a second. A WARN equal
//!   to the one before is counted instead of written; the count is written (`… (repeated N
//!   times)`) when a different line comes, or with the next repeat after [`SUMMARY_MS`].

mod sink;
pub use sink::reopen;

use crate::config::Config;
use log::{Level, Log, Metadata, Record};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

/// How long repeats of a WARN may stay uncounted in the log at most.
pub const SUMMARY_MS: u128 = 10_000;

/// `text` with ASCII control characters (and DEL) shown as `\xNN`; borrowed when clean.
pub fn safe(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        if ch.is_ascii_control() {
            let _ = write!(out, "\\x{:02x}", ch as u32);
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

/// The last WARN written and how many equal ones were held back since.
#[derive(Default)]
struct Repeats {
    last: String,
    held: u64,
    since: Option<Instant>,
}

impl Repeats {
    /// Whether `line` (a WARN) is written; a held-back count due is returned first.
    fn offer(&mut self, line: &str, now: Instant) -> (Option<u64>, bool) {
        let since = *self.since.get_or_insert(now);
        if line == self.last {
            self.held += 1;
            if now.duration_since(since).as_millis() < SUMMARY_MS {
                return (None, false);
            }
            self.since = Some(now);
            return (Some(std::mem::take(&mut self.held)), false);
        }
        let due = std::mem::take(&mut self.held);
        self.last = line.to_string();
        self.since = Some(now);
        ((due > 0).then_some(due), true)
    }

    /// A line of another level came: a held-back count is written before it.
    fn interrupt(&mut self) -> Option<u64> {
        self.last.clear();
        let due = std::mem::take(&mut self.held);
        (due > 0).then_some(due)
    }
}

struct Guarded {
    inner: env_logger::Logger,
    repeats: Mutex<Repeats>,
    syslog: Option<sink::Syslog>,
}

impl Guarded {
    /// Writes `text` as `record`'s message, at `level`.
    fn write(&self, record: &Record<'_>, level: Level, text: &str) {
        if let Some(syslog) = &self.syslog {
            syslog.send(level, record.target(), text);
        }
        self.inner.log(
            &Record::builder()
                .args(format_args!("{text}"))
                .level(level)
                .target(record.target())
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .build(),
        );
    }
}

impl Log for Guarded {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.inner.matches(record) {
            return;
        }
        let text = record.args().to_string();
        let text = safe(&text);
        let Ok(mut repeats) = self.repeats.lock() else {
            return self.write(record, record.level(), &text);
        };
        let (due, write) = if record.level() == Level::Warn {
            repeats.offer(&text, Instant::now())
        } else {
            (repeats.interrupt(), true)
        };
        drop(repeats);
        if let Some(n) = due {
            let summary = format!("last warning repeated {n} more times");
            self.write(record, Level::Warn, &summary);
        }
        if write {
            self.write(record, record.level(), &text);
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

/// Installs the guarded logger (RUST_LOG as env_logger reads it, `info` by default), to
/// stderr or the configuration's `[log] file`, and to syslog with `[log] syslog`.
/// Under systemd (`JOURNAL_STREAM` set) each stderr line starts with its syslog priority
/// (`<3>` error .. `<7>` trace), which the journal turns into the entry's priority, and
/// carries no timestamp: the journal adds its own. The error names what could not be
/// opened and what to do.
pub fn init(config: &Config) -> Result<(), String> {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if let Some(path) = &config.log.file {
        let file = sink::FileSink::open(std::path::Path::new(path)).map_err(|e| {
            format!(
                "[log] file {path}: cannot open it ({e}); check the directory and its permissions"
            )
        })?;
        builder.target(env_logger::Target::Pipe(Box::new(file)));
    } else if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.format(|buf, record| {
            use std::io::Write;
            let priority = match record.level() {
                Level::Error => 3,
                Level::Warn => 4,
                Level::Info => 6,
                Level::Debug | Level::Trace => 7,
            };
            writeln!(buf, "<{priority}>{}: {}", record.target(), record.args())
        });
    }
    let syslog = match config.log.syslog {
        false => None,
        true => {
            let path = config.testing.syslog_path.as_deref().unwrap_or("/dev/log");
            Some(sink::Syslog::connect(std::path::Path::new(path)).map_err(|e| {
                format!("[log] syslog: cannot reach {path} ({e}); is a syslog daemon running? Or set syslog = false")
            })?)
        }
    };
    let inner = builder.build();
    log::set_max_level(inner.filter());
    let logger = Guarded {
        inner,
        repeats: Mutex::default(),
        syslog,
    };
    let _ = log::set_boxed_logger(Box::new(logger));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(safe("plain text, ünïcode"), "plain text, ünïcode");
        assert!(matches!(safe("clean"), Cow::Borrowed(_)));
        assert_eq!(
            safe("evil\rWARN forged\n\x1b[2Jx\x7f\t"),
            "evil\\x0dWARN forged\\x0a\\x1b[2Jx\\x7f\\x09"
        );
    }

    #[test]
    fn equal_warnings_are_counted_not_written() {
        let mut r = Repeats::default();
        let t0 = Instant::now();
        assert_eq!(r.offer("a", t0), (None, true));
        for _ in 0..511 {
            assert_eq!(r.offer("a", t0), (None, false));
        }
        // Another line: the count first, then the line.
        assert_eq!(r.offer("b", t0), (Some(511), true));
        assert_eq!(r.offer("b", t0), (None, false));
        assert_eq!(r.interrupt(), Some(1));
        // After an INFO line the same WARN is written again.
        assert_eq!(r.offer("b", t0), (None, true));
        assert_eq!(r.interrupt(), None);
    }

    #[test]
    fn a_long_run_of_repeats_is_summed_up_now_and_then() {
        let mut r = Repeats::default();
        let t0 = Instant::now();
        assert_eq!(r.offer("a", t0), (None, true));
        assert_eq!(r.offer("a", t0), (None, false));
        let later = t0 + Duration::from_millis(SUMMARY_MS as u64);
        assert_eq!(r.offer("a", later), (Some(2), false));
        assert_eq!(r.offer("a", later), (None, false));
        assert_eq!(r.offer("c", later), (Some(1), true));
    }
}
