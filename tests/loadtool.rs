//! The load tool and `scripts/loadtest.sh` against servers that refuse: a run quotes the
//! server's ERROR text and fails, and the script fails a scenario that counted errors.
mod common;
use common::{TempDir, TestServer};
use std::process::Command;

const LOAD: &str = env!("CARGO_BIN_EXE_portico-load");

/// 40 clients from 127.0.0.1 against the default per-IP limit (16): the run is fatal, and
/// says why in the server's words and what to change.
#[test]
fn a_run_refused_by_the_per_ip_limit_quotes_the_server_and_fails() {
    let s = TestServer::start("");
    let out = Command::new(LOAD)
        .args(["--server", &s.addr().to_string(), "--json"])
        .args([
            "--scenario",
            "connect",
            "--clients",
            "40",
            "--duration",
            "1",
        ])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run portico-load");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("\"status\":\"fatal\""), "{stdout}");
    assert!(
        stderr.contains(
            "the server said: ERROR \"Closing Link: 127.0.0.1 (Too many connections from your IP address)\""
        ),
        "{stderr}"
    );
    assert!(stderr.contains("max_clients_per_ip"), "{stderr}");
}

/// loadtest.sh fails (exit 1) when a run finished but counted failed operations, though
/// the tool itself exits 0 for it; a stand-in tool reports such a run.
#[test]
fn loadtest_fails_a_scenario_that_counted_errors() {
    let dir = TempDir::new();
    let fake = dir.write(
        "fake-load",
        "#!/bin/sh\ncase \"$*\" in\n  *churn*) echo '{\"status\":\"errors\"}' ;;\n  *) echo '{\"status\":\"ok\"}' ;;\nesac\n",
    );
    let status = Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
    assert!(status.success());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/loadtest.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg("127.0.0.1:1")
        .env("LOAD_BIN", &fake)
        .env("RESULTS_DIR", dir.0.join("results"))
        .output()
        .expect("run loadtest.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("!!! churn counted failed operations (status: errors)"),
        "{stdout}"
    );
    assert!(!stdout.contains("!!! connect"), "{stdout}");
}
