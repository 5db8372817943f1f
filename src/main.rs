//! `portico`: command line, logging, configuration; then the event loop. No logic here.

use portico::config::Config;
use portico::net::{Options, Server};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

fn usage(opts: &getopts::Options) -> String {
    opts.usage(
        "Usage: portico [options]\n\n\
         Runs the Portico IRC server. Without -c it uses the built-in configuration\n\
         (listening on 127.0.0.1:6667). Logging is set with RUST_LOG (e.g. RUST_LOG=debug).",
    )
}

/// A server without a listener would run and serve nobody.
const NO_LISTENER: &str = "no [[listen]] address: the server would listen on nothing; add [[listen]] address = \"127.0.0.1:6667\" or start it with --listen IP:PORT";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = getopts::Options::new();
    opts.optopt("c", "config", "configuration file (TOML)", "FILE");
    opts.optmulti(
        "l",
        "listen",
        "listen on ADDR (repeatable; replaces the config's listeners; port 0 picks a free port)",
        "ADDR",
    );
    opts.optopt(
        "",
        "check-config",
        "validate FILE, print the effective settings, exit 0 (valid) or 1",
        "FILE",
    );
    opts.optflag(
        "",
        "hash-password",
        "read a password (one line) from stdin, print its argon2id hash for an [[account]], exit",
    );
    opts.optflag("h", "help", "print this help");
    opts.optflag("V", "version", "print the version");
    let m = match opts.parse(&args) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("portico: {e}\n\n{}", usage(&opts));
            return ExitCode::from(2);
        }
    };
    if m.opt_present("h") {
        print!("{}", usage(&opts));
        return ExitCode::SUCCESS;
    }
    if m.opt_present("V") {
        println!("portico {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if m.opt_present("hash-password") {
        let mut line = String::new();
        if let Err(e) = std::io::stdin().read_line(&mut line) {
            eprintln!("portico: --hash-password: cannot read stdin: {e}");
            return ExitCode::FAILURE;
        }
        let password = line.strip_suffix('\n').unwrap_or(&line);
        let password = password.strip_suffix('\r').unwrap_or(password);
        if password.is_empty() {
            eprintln!("portico: --hash-password: the password (first line of stdin) is empty");
            return ExitCode::FAILURE;
        }
        return match portico::config::hash_password(password.as_bytes()) {
            Ok(hash) => {
                println!("{hash}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("portico: --hash-password: no random salt from /dev/urandom: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(file) = m.opt_str("check-config") {
        return match Config::load(&PathBuf::from(&file)) {
            Ok(cfg) if cfg.listen.is_empty() && !m.opt_present("l") => {
                eprintln!("portico: {file}: {NO_LISTENER}");
                ExitCode::FAILURE
            }
            Ok(cfg) => {
                for warning in cfg.plain_secrets() {
                    eprintln!("portico: {file}: warning: {warning}");
                }
                print!("{cfg}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("portico: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let config_path = m.opt_str("c").map(PathBuf::from);
    let config = match &config_path {
        Some(path) => match Config::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("portico: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => Config::default_config(),
    };
    if let Err(e) = portico::logging::init(&config) {
        eprintln!("portico: {e}");
        return ExitCode::FAILURE;
    }
    let mut listen = Vec::new();
    for a in m.opt_strs("l") {
        match a.parse::<SocketAddr>() {
            Ok(addr) => listen.push(addr),
            Err(_) => {
                eprintln!(
                    "portico: --listen {a}: not an address; use IP:PORT, e.g. 127.0.0.1:6667"
                );
                return ExitCode::from(2);
            }
        }
    }
    if listen.is_empty() && config.listen.is_empty() {
        let file = config_path
            .as_ref()
            .map_or("<built-in>".into(), |p| p.display().to_string());
        eprintln!("portico: {file}: {NO_LISTENER}");
        return ExitCode::FAILURE;
    }
    let options = Options {
        config,
        config_path,
        listen_override: (!listen.is_empty()).then_some(listen),
        signals: true,
    };
    let mut server = match Server::bind(options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("portico: {e}");
            return ExitCode::FAILURE;
        }
    };
    for addr in server.local_addrs() {
        eprintln!("portico: listening on {addr}");
    }
    if let Some(addr) = server.metrics_addr() {
        eprintln!("portico: metrics on http://{addr}/metrics");
    }
    match server.run() {
        Ok(()) if server.restart_requested() => {
            // Listening sockets are closed with the server; the new image binds them again.
            drop(server);
            restart()
        }
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portico: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Executes this binary again with the arguments it was started with (RESTART); returns
/// only if that fails.
fn restart() -> ExitCode {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("portico: RESTART: cannot find the binary: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("portico: restarting {}", exe.display());
    let err = std::process::Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .exec();
    eprintln!("portico: RESTART: cannot execute {}: {err}", exe.display());
    ExitCode::FAILURE
}
