//! Holding up under abuse (issue 14): password guessing, broken reloads.

mod common;
use common::*;
use portico::config::Config;
use portico::net::Options;

const OPER: &str = "[[oper]]\nname = \"root\"\npassword = \"rootpw\"\n";

/// A config file in the temp dir, unique to this test process and `tag`.
fn config_file(tag: &str, text: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("portico-abuse-{}-{tag}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn rehash_of_a_broken_file_tells_the_operator_why() {
    let good = format!("{BASE}{EASY}{OPER}");
    let path = config_file("rehash", &good);
    let s = TestServer::with_options(Options {
        config_path: Some(path.clone()),
        ..Options::new(Config::load(&path).expect("config file"))
    });
    let mut c = s.user("alice");
    c.send("OPER root rootpw");
    c.skip_until(" 381 ");
    c.expect(":alice MODE alice :+o");
    std::fs::write(&path, format!("{good}[limits\n")).unwrap();
    c.send("REHASH");
    let got = c.sync();
    let _ = std::fs::remove_file(&path);
    // The text the log has too (no 382).
    let want = format!(
        ":irc.test NOTICE alice :rehash failed, keeping the old configuration: {}:14: \
         unclosed table, expected `]`; see the configuration reference in README.md",
        path.display()
    );
    assert_eq!(got, [want]);
    // The old configuration is still in force; a good file is loaded and says 382.
    std::fs::write(&path, &good).unwrap();
    c.send("REHASH");
    let got = c.sync();
    let _ = std::fs::remove_file(&path);
    assert_eq!(got, [":irc.test 382 alice portico.toml :Rehashing"]);
}
