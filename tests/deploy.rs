//! Deployment files: the example configuration, the man pages, `scripts/install.sh` (run
//! into a scratch root, twice) and the systemd unit it writes (`systemd-analyze verify`),
//! and the journal-friendly log format. The system tools (groff, systemd-analyze) are
//! skipped when absent, unless PORTICO_REQUIRE_TOOLS=1 (set by CI, which installs them).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_portico");
const EXAMPLE: &str = "scripts/deploy/portico.example.toml";
const MAN8: &str = "docs/man/portico.8";
const MAN5: &str = "docs/man/portico.toml.5";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Whether `tool` is on PATH; a missing tool skips the test unless CI requires it.
fn tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("PORTICO_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{tool} is required (PORTICO_REQUIRE_TOOLS=1) but not installed"
        );
        eprintln!("skipped: {tool} not installed");
    }
    found
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("portico-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs scripts/install.sh with `args` into `root`; returns its stdout and stderr.
fn install(root: &Path, args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(repo().join("scripts/install.sh"))
        .args(["--root", root.to_str().unwrap(), "--binary", BIN])
        .args(args)
        .output()
        .expect("run install.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "install.sh {args:?} failed:\n{text}");
    text
}

/// Every file under `dir` with its contents, sorted: two installs compare equal when they
/// left the same tree.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn example_config_passes_check_config() {
    let out = Command::new(BIN)
        .arg("--check-config")
        .arg(repo().join(EXAMPLE))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("state_file = \"/var/lib/portico/portico.state\""));
    assert!(stdout.contains("max_clients = 10000"), "{stdout}");
}

/// The keys of README's configuration reference block (`key = ...` lines).
fn reference_keys() -> Vec<String> {
    let readme = read("README.md");
    let start = readme.find("## Configuration reference").unwrap();
    let block = &readme[start..];
    let block = &block[block.find("```toml").unwrap()..];
    let block = &block[..block[7..].find("```").unwrap() + 7];
    let mut keys: Vec<String> = block
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_string()))
        .filter(|k| {
            k.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[test]
fn config_man_page_documents_every_key_of_the_reference_and_example() {
    let man = read(MAN5);
    let mut keys = reference_keys();
    assert!(
        keys.len() > 30,
        "README's reference lost its keys: {keys:?}"
    );
    // The example's keys, commented-out ones included.
    for line in read(EXAMPLE).lines() {
        let line = line.trim_start_matches('#').trim();
        if let Some((k, _)) = line.split_once(" = ") {
            keys.push(k.to_string());
        }
    }
    let missing: Vec<_> = keys
        .iter()
        .filter(|k| !man.contains(&format!(".B {k}\n")) && !man.contains(&format!(" {k} ")))
        .collect();
    assert!(missing.is_empty(), "not in {MAN5}: {missing:?}");
}

#[test]
fn server_man_page_documents_every_option_of_help() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    let man = read(MAN8).replace("\\-", "-");
    let longs: Vec<&str> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .collect();
    assert!(longs.len() >= 6, "{help}");
    for long in longs {
        assert!(man.contains(long), "{MAN8} does not document {long}");
    }
}

#[test]
fn man_pages_render_without_warnings() {
    if !tool("groff") {
        return;
    }
    for page in [MAN8, MAN5] {
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(repo().join(page))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{page}: {stderr}"
        );
    }
}

/// A scratch root with the system's user database, so the script can add its user there
/// (only root can; others get the files without the user).
fn scratch_root(name: &str) -> Scratch {
    let s = Scratch::new(name);
    std::fs::create_dir_all(s.0.join("etc")).unwrap();
    for f in ["passwd", "group", "shadow", "gshadow", "login.defs"] {
        let _ = std::fs::copy(Path::new("/etc").join(f), s.0.join("etc").join(f));
    }
    s
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

#[test]
fn install_twice_leaves_the_same_tree_and_keeps_the_operators_config() {
    let root = scratch_root("install");
    let first = install(&root.0, &[]);
    assert!(first.contains("wrote /etc/portico/portico.toml"), "{first}");
    let config = root.0.join("etc/portico/portico.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        !text.contains("change-me"),
        "the placeholder password stayed"
    );
    let secret = first
        .split("OPER admin ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next();
    // Printed once, stored only as its hash.
    assert!(!text.contains(secret.unwrap()));
    assert!(text.contains("password = \"$argon2id$"), "{text}");
    let unit = std::fs::read_to_string(root.0.join("etc/systemd/system/portico.service"));
    let unit = unit.unwrap();
    assert!(
        unit.contains("LimitNOFILE=11024\n"),
        "max_clients 10000 + 1024"
    );
    assert!(unit.contains("ExecStart=/usr/local/bin/portico -c /etc/portico/portico.toml\n"));
    for field in ["@BIN@", "@CONFIG@", "@LIMITNOFILE@"] {
        assert!(!unit.contains(field), "{field} left unfilled:\n{unit}");
    }
    if is_root() {
        let passwd = std::fs::read_to_string(root.0.join("etc/passwd")).unwrap();
        assert!(passwd.lines().any(|l| l.starts_with("portico:")), "no user");
    }

    let before = tree(&root.0);
    let second = install(&root.0, &[]);
    assert!(second.contains("keeping the existing /etc/portico/portico.toml"));
    assert_eq!(tree(&root.0), before, "a second install changed files");

    // The operator's edits survive a reinstall, and the unit follows max_clients.
    std::fs::write(
        &config,
        text.replace("max_clients = 10000", "max_clients = 2000"),
    )
    .unwrap();
    install(&root.0, &[]);
    let unit = std::fs::read_to_string(root.0.join("etc/systemd/system/portico.service"));
    assert!(unit.unwrap().contains("LimitNOFILE=3024\n"));
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("max_clients = 2000"));

    install(&root.0, &["--uninstall"]);
    assert!(!root.0.join("usr/local/bin/portico").exists());
    assert!(!root.0.join("etc/systemd/system/portico.service").exists());
    assert!(
        config.exists(),
        "uninstall without --purge removed the config"
    );
    install(&root.0, &["--uninstall", "--purge"]);
    assert!(!config.exists());
    let passwd = std::fs::read_to_string(root.0.join("etc/passwd")).unwrap_or_default();
    assert!(!passwd.lines().any(|l| l.starts_with("portico:")));
}

#[test]
fn installed_unit_passes_systemd_analyze_verify() {
    if !tool("systemd-analyze") || !tool("man") {
        return;
    }
    let root = Scratch::new("unit");
    install(&root.0, &[]);
    // The unit names the target system's paths; point them at the scratch root so
    // verify finds the binary, the config and (Documentation=) the man pages.
    let r = root.0.display().to_string();
    let unit = std::fs::read_to_string(root.0.join("etc/systemd/system/portico.service"))
        .unwrap()
        .replace("/usr/local/bin/", &format!("{r}/usr/local/bin/"))
        .replace("/etc/portico/", &format!("{r}/etc/portico/"));
    let dir = Scratch::new("unit-verify");
    let path = dir.0.join("portico.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .env("MANPATH", root.0.join("usr/local/share/man"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    assert!(!stderr.contains("portico.service"), "{stderr}");
}

#[test]
fn under_systemd_log_lines_carry_a_priority_and_no_timestamp() {
    let mut child = Command::new(BIN)
        .args(["-l", "127.0.0.1:0"])
        .env("JOURNAL_STREAM", "8:1234")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with("portico: listening on 127.0.0.1:"),
        "{first}"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(killed.unwrap().success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().unwrap().success());
    assert!(
        rest.contains(&"<6>portico::net::event_loop: signal 15: shutting down".to_string()),
        "{rest:?}"
    );
    assert!(rest.iter().all(|l| l.starts_with('<')), "{rest:?}");
}
