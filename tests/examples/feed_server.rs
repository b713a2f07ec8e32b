//! An offline feed to point the README's quick starts at: the kit's JSON-RPC server on a fixed
//! loopback port, publishing on every channel a client subscribes to, until it is stopped.
//!
//! `cargo run -p reconnect-testkit --example feed_server [-- OPTIONS]`; `--help` lists them.
//! It prints `listening on ws://127.0.0.1:9944/ws` and runs until Ctrl-C.

use std::convert::Infallible;
use std::ffi::OsString;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use reconnect_testkit::server::{ServerConfig, TestServer};

const DEFAULT_PORT: u16 = 9944;
const DEFAULT_INTERVAL_MS: u64 = 100;
/// An hour: anything slower is a typo, not a feed.
const MAX_INTERVAL_MS: u64 = 3_600_000;

const USAGE: &str = "\
usage: feed_server [--port N] [--interval-ms N] [--tls CERT_FILE]

Serves the test kit's JSON-RPC feed (the Deribit-style subset of the quick starts) on
127.0.0.1 until Ctrl-C, and prints the URL to connect to on its first line of output.

  --port N            the port on 127.0.0.1 (default 9944; 0 picks a free one, the
                      printed URL names it)
  --interval-ms N     one notification per subscribed channel every N ms, numbered from 1
                      in params.data.seq (default 100, at most 3600000)
  --tls CERT_FILE     serve wss:// with a fresh self-signed certificate for 127.0.0.1 and
                      localhost, written to CERT_FILE (PEM) for the client to trust
  -h, --help          this text

Any channel name can be subscribed with public/subscribe; no auth is needed (public/auth
accepts any credentials). Any URL path is accepted. The numbering belongs to a client name
(?client=NAME in the URL, `anonymous` without it) and a channel: it continues across that
name's reconnects, and connections of one name on one channel share it (each sees only some
of the numbers), so give each concurrent client its own name.
";

#[derive(Debug)]
struct Options {
    port: u16,
    interval: Duration,
    tls: Option<PathBuf>,
}

enum Parsed {
    Run(Options),
    Help,
}

fn main() -> ExitCode {
    let options = match parse(std::env::args_os().skip(1)) {
        Ok(Parsed::Run(options)) => options,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(what) => {
            eprintln!("feed_server: {what}\ntry --help");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(never) => match never {},
        Err(what) => {
            eprintln!("feed_server: {what}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> Result<Infallible, String> {
    let config = ServerConfig::default()
        .data_interval(options.interval)
        .tls(options.tls.is_some());
    let addr = SocketAddr::from(([127, 0, 0, 1], options.port));
    let server =
        TestServer::start_on(addr, config).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    if let Some(path) = &options.tls {
        let pem = server
            .root_cert_pem()
            .expect("a TLS server has a certificate");
        std::fs::write(path, pem).map_err(|e| format!("--tls: cannot write {path:?}: {e}"))?;
    }
    let scheme = if options.tls.is_some() { "wss" } else { "ws" };
    // The first line is what a script waits for (the tests read the port from it); an error
    // writing it (stdout closed) must not stop a server someone is still connected to.
    let _ = writeln!(
        std::io::stdout(),
        "listening on {scheme}://{}/ws",
        server.addr()
    );
    if let Some(path) = &options.tls {
        eprintln!("root certificate (PEM) in {}", path.display());
    }
    eprintln!(
        "every subscribed channel gets a notification every {} ms; Ctrl-C stops",
        options.interval.as_millis()
    );
    // The server's own threads do the work; this one only keeps `server` alive. Ctrl-C ends
    // the process, and with it every socket.
    loop {
        std::thread::park();
    }
}

fn parse(args: impl Iterator<Item = OsString>) -> Result<Parsed, String> {
    let mut args = args;
    let mut port = None;
    let mut interval_ms = None;
    let mut tls = None;
    while let Some(arg) = args.next() {
        let arg = utf8(arg)?;
        // `--port=N` as well as `--port N`.
        let (option, mut inline) = match arg.split_once('=') {
            Some((option, value)) if option.starts_with("--") => {
                (option.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let has_value = inline.is_some();
        let mut value = || match inline.take() {
            Some(v) => Ok(v),
            None => utf8(args.next().ok_or(format!("{option} needs a value"))?),
        };
        match option.as_str() {
            "-h" | "--help" if !has_value => return Ok(Parsed::Help),
            "--port" => once(
                &mut port,
                &option,
                integer(&option, &value()?, 0, u16::MAX)?,
            )?,
            "--interval-ms" => {
                let ms = integer(&option, &value()?, 1, MAX_INTERVAL_MS)?;
                once(&mut interval_ms, &option, ms)?;
            }
            "--tls" => {
                let path = value()?;
                if path.is_empty() {
                    return Err("--tls needs a file name to write the certificate to".into());
                }
                once(&mut tls, &option, PathBuf::from(path))?;
            }
            "-h" | "--help" => return Err(format!("{option} takes no value")),
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other => {
                return Err(format!(
                    "unexpected argument {other:?} (the server takes options only)"
                ))
            }
        }
    }
    Ok(Parsed::Run(Options {
        port: port.unwrap_or(DEFAULT_PORT),
        interval: Duration::from_millis(interval_ms.unwrap_or(DEFAULT_INTERVAL_MS)),
        tls,
    }))
}

fn utf8(arg: OsString) -> Result<String, String> {
    arg.into_string()
        .map_err(|a| format!("{a:?} is not valid UTF-8"))
}

/// Sets `slot`, refusing an option given twice (which of the two was meant is a guess).
fn once<T>(slot: &mut Option<T>, option: &str, value: T) -> Result<(), String> {
    match slot.replace(value) {
        Some(_) => Err(format!("{option} is given twice")),
        None => Ok(()),
    }
}

/// `value` of `option` as a whole number in `min..=max`; the error names both.
fn integer<T>(option: &str, value: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    // `parse` takes a leading `+`; a number on the command line does not need one.
    let parsed = (!value.starts_with('+'))
        .then(|| value.parse::<T>().ok())
        .flatten();
    match parsed {
        Some(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!(
            "{option}: {value:?} is not a whole number from {min} to {max}"
        )),
    }
}
