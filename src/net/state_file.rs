//! The state file beside the configuration (`<config>.state`): what the core says must
//! survive a restart (today the ACCESS entries of `$`, `*` and registered channels; the
//! text is the core's, `World::access_state`). Loaded once at start; written atomically
//! (a temporary file, fsync, rename, fsync of the directory), so a crash mid-write leaves
//! the old file or the new one, never half of one. Writes are at most once per
//! [`SAVE_INTERVAL_MS`], and once more at shutdown.

use crate::core::World;
use log::{info, warn};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Least time between two writes: a burst of ACCESS changes is one write.
pub const SAVE_INTERVAL_MS: u64 = 1_000;

/// The state file of a configuration file: the same path with `.state` added.
pub fn path_for(config: &Path) -> PathBuf {
    let mut name = config.as_os_str().to_owned();
    name.push(".state");
    PathBuf::from(name)
}

/// Puts a state file's entries into the world. A missing file is a first start; a file
/// that cannot be read or parsed is logged with its path and ignored (the server starts
/// without it, and the next save replaces it).
pub fn load(path: &Path, world: &mut World) {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            warn!(
                "state file {}: cannot read it ({e}); starting without it",
                path.display()
            );
            return;
        }
    };
    match world.restore_access_state(&text) {
        Ok(0) => info!("state file {}: loaded", path.display()),
        Ok(skipped) => info!(
            "state file {}: loaded; {skipped} stale entries (expired, duplicate, or for channels no longer registered) left out",
            path.display()
        ),
        Err(e) => warn!(
            "state file {}: corrupt at {e}; starting without it",
            path.display()
        ),
    }
}

/// Writes `text` to `path` atomically.
pub fn save(path: &Path, text: &str) -> io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    // The rename itself is durable only once the directory is synced.
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// When the state is written: after a change, at most once per interval, and at the end.
#[derive(Debug, Default)]
pub struct Saver {
    path: Option<PathBuf>,
    pending: bool,
    last_ms: Option<u64>,
}

impl Saver {
    /// A saver for the configuration at `config`: its `[server] state_file` if set (already
    /// resolved against the config's directory), else `<config>.state`; none without a
    /// configuration file (the built-in configuration keeps nothing).
    pub fn new(config: Option<&Path>, state_file: Option<&str>) -> Saver {
        let path = match state_file {
            Some(file) if config.is_some() => Some(PathBuf::from(file)),
            _ => config.map(path_for),
        };
        Saver {
            path,
            ..Saver::default()
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// After a turn of the loop: notes a change, and writes if one is pending and the
    /// last write is old enough (or `now_ms` is `None`: shutting down).
    pub fn poll(&mut self, world: &mut World, now_ms: Option<u64>) {
        self.pending |= world.take_access_dirty();
        let Some(path) = self.path.as_deref().filter(|_| self.pending) else {
            return;
        };
        let due = match (now_ms, self.last_ms) {
            (Some(now), Some(last)) => now >= last + SAVE_INTERVAL_MS,
            _ => true,
        };
        if !due {
            return;
        }
        match save(path, &world.access_state()) {
            Ok(()) => self.pending = false,
            Err(e) => warn!("state file {}: cannot write it: {e}", path.display()),
        }
        self.last_ms = now_ms.or(self.last_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_path_sits_beside_the_config() {
        assert_eq!(
            path_for(Path::new("/etc/portico/portico.toml")),
            PathBuf::from("/etc/portico/portico.toml.state")
        );
    }

    #[test]
    fn a_configured_state_file_replaces_the_default_but_not_without_a_config() {
        let config = Path::new("/etc/portico/portico.toml");
        let state = Some("/var/lib/portico/portico.state");
        let saver = Saver::new(Some(config), state);
        assert_eq!(
            saver.path(),
            Some(Path::new("/var/lib/portico/portico.state"))
        );
        assert_eq!(
            Saver::new(Some(config), None).path(),
            Some(Path::new("/etc/portico/portico.toml.state"))
        );
        assert_eq!(Saver::new(None, state).path(), None);
    }

    #[test]
    fn save_replaces_the_file_whole() {
        let dir = std::env::temp_dir().join(format!("portico-state-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.toml.state");
        save(&path, "one\n").unwrap();
        save(&path, "two\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two\n");
        assert!(!dir.join("x.toml.state.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
