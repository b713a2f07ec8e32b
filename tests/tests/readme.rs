//! The README's programs, as a new user meets them: each Rust block of README.md is, word for
//! word, the text between the `ANCHOR` markers of an example file (so the two cannot drift);
//! each binding's section first lists the `[dependencies]` that program needs; and each
//! program, built by cargo and run as a child process (against this kit's server on 127.0.0.1
//! where it needs a server), stops by itself, succeeds and prints messages.
//!
//! The kit does not link the programs (it depends on no client crate): it asks the cargo that
//! runs this test to build them, and judges them from outside, by their output.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reconnect_testkit::server::{ServerConfig, TestServer};
use serde_json::Value;

const README: &str = include_str!("../../README.md");
const MIO_QUICKSTART: &str = include_str!("../../bind-mio/examples/mio_quickstart.rs");
const SMOL_QUICKSTART: &str = include_str!("../../bind-smol/examples/smol_quickstart.rs");
const OWN_LOOP: &str = include_str!("../../reconnect-core/examples/own_loop.rs");

/// How long a program may run before it counts as hung: each stops by itself within a few
/// seconds against the local server (the quick starts give up after 30 s on their own).
const HANG: Duration = Duration::from_secs(90);

/// The text of `source` between `// ANCHOR: readme` and `// ANCHOR_END: readme`.
fn anchored(source: &str) -> &str {
    let begin = source.find("// ANCHOR: readme\n").expect("a begin marker") + 18;
    let end = source.find("// ANCHOR_END: readme").expect("an end marker");
    &source[begin..end]
}

/// The README's section under the heading `## {title}`, up to the next `## ` heading.
fn section(title: &str) -> &'static str {
    let heading = format!("\n## {title}\n");
    let start = README
        .find(&heading)
        .unwrap_or_else(|| panic!("no section {title:?}"))
        + 1;
    let rest = &README[start + heading.len() - 1..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    &rest[..end]
}

/// The code blocks of `section` fenced with `lang`, in order.
fn blocks<'a>(section: &'a str, lang: &str) -> Vec<&'a str> {
    let fence = format!("```{lang}\n");
    let mut found = Vec::new();
    let mut rest = section;
    while let Some(at) = rest.find(&fence) {
        let body = &rest[at + fence.len()..];
        let end = body.find("```").expect("a closed fence");
        found.push(&body[..end]);
        rest = &body[end + 3..];
    }
    found
}

/// Every crate a program names by path (`smol::spawn`, `use bind_mio::prelude`), as spelled
/// in `Cargo.toml`, other than `std`.
fn crates_named(program: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = program.as_bytes();
    for (at, _) in program.match_indices("::") {
        let start = program[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = &program[start..at];
        let after_path = start > 0 && bytes[start - 1] == b':';
        let lowercase = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if !after_path && lowercase && name != "std" {
            let name = name.replace('_', "-");
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// Checks that the section `title` holds the program `source` word for word, after a `toml`
/// block of `[dependencies]` that names every crate the program uses.
fn assert_section_holds(title: &str, source: &str) {
    let section = section(title);
    let program = anchored(source);
    let rust = blocks(section, "rust");
    assert_eq!(rust.len(), 1, "one Rust block in {title:?}");
    assert_eq!(
        rust[0], program,
        "the README block of {title:?} is not the example's text"
    );
    let toml = blocks(section, "toml");
    assert_eq!(toml.len(), 1, "one toml block in {title:?}");
    assert!(
        section.find("```toml") < section.find("```rust"),
        "{title:?} starts with its dependencies"
    );
    assert!(toml[0].starts_with("[dependencies]\n"), "{}", toml[0]);
    for name in crates_named(program) {
        assert!(
            toml[0]
                .lines()
                .any(|l| l.starts_with(&format!("{name} = "))),
            "{title:?} uses {name} but its [dependencies] do not list it:\n{}",
            toml[0]
        );
    }
}

#[test]
fn the_bind_mio_quick_start_is_the_example_with_its_dependencies() {
    assert_section_holds("Quick start: bind-mio", MIO_QUICKSTART);
}

#[test]
fn the_bind_smol_quick_start_is_the_example_with_its_dependencies() {
    assert_section_holds("Quick start: bind-smol", SMOL_QUICKSTART);
}

#[test]
fn the_own_loop_program_is_the_example_with_its_dependencies() {
    assert_section_holds("Quick start: drive the core from your own loop", OWN_LOOP);
}

#[test]
fn the_dependency_check_sees_every_crate_a_program_names() {
    let program = "use bind_smol::prelude::*;\nlet t = smol::spawn(x);\nstd::thread::sleep(d);\n\
                   let f = smol::future::or(a, b); let n = Topic::as_str;";
    assert_eq!(crates_named(program), ["bind-smol", "smol"]);
}

/// Builds `example` of `package` with the cargo that runs this test, returning its path.
fn build_example(package: &str, example: &str) -> PathBuf {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    reconnect_testkit::example::build(std::path::Path::new(manifest), Some(package), example)
}

/// A child that is killed and reaped however the test ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a finished program printed, and whether it succeeded.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
    /// The processor time it had used (user and system, in clock ticks) at the last look
    /// before it exited, where `/proc` tells.
    cpu_ticks: Option<u64>,
}

/// The processor time process `pid` has used so far, in clock ticks, from `/proc/PID/stat`
/// (fields 14 and 15, `utime` and `stime`, counted after the parenthesised name).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Runs `program` with `args` until it exits by itself, or panics after [`HANG`].
fn run(program: &PathBuf, args: &[&str]) -> Run {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the program starts");
    let mut child = Reaped(child);
    // Read both pipes on threads, so that a chatty program never blocks on a full pipe.
    let mut stdout = child.0.stdout.take().expect("piped");
    let mut stderr = child.0.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let mut cpu = None;
    let status = loop {
        cpu = cpu_ticks(child.0.id()).or(cpu);
        if let Some(status) = child.0.try_wait().expect("the child can be waited for") {
            break status;
        }
        if started.elapsed() > HANG {
            drop(child); // killed and reaped, so the pipes close and the readers end
            let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
            panic!("still running after {HANG:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        success: status.success(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        cpu_ticks: cpu,
    }
}

/// The number in the program's last line, `N messages, A attempts`: (N, A).
fn summary(run: &Run) -> (u64, u64) {
    let last = run.stdout.lines().last().unwrap_or_default();
    let numbers: Vec<u64> = last
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(
        last.ends_with(" attempts") && numbers.len() == 2,
        "last line {last:?}\nstderr:\n{}",
        run.stderr
    );
    (numbers[0], numbers[1])
}

/// The lines `channel: frame` a quick start printed for the kit's notifications on `channels`.
fn message_lines<'a>(run: &'a Run, channels: &[&str]) -> Vec<&'a str> {
    run.stdout
        .lines()
        .filter(|line| {
            channels.iter().any(|c| {
                line.strip_prefix(c)
                    .and_then(|rest| rest.strip_prefix(": "))
                    .and_then(|data| serde_json::from_str::<Value>(data).ok())
                    .is_some_and(|frame| {
                        frame["params"]["channel"] == *c
                            && frame["params"]["data"]["seq"].as_u64().is_some()
                    })
            })
        })
        .collect()
}

#[test]
fn the_bind_mio_quick_start_prints_messages_and_closes_cleanly_on_its_own() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let program = build_example("bind-mio", "mio_quickstart");
    let run = run(&program, &[&server.url("quickstart")]);
    assert!(
        run.success,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let (messages, attempts) = summary(&run);
    let printed = message_lines(&run, &["trades.BTC-PERPETUAL.100ms"]);
    // It asks to close after five; those already on the way still arrive, but not the ~1,500
    // of its 30 s limit at the server's 20 ms pace (200 would take 4 s of close handshake).
    assert!((5..200).contains(&messages), "{}", run.stdout);
    assert_eq!(printed.len() as u64, messages, "{}", run.stdout);
    assert_eq!(attempts, 1, "{}", run.stderr);
    assert_eq!(server.stats().handshakes, 1);
    assert!(
        run.stdout.contains("stopped: Closed { clean: true }\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_bind_smol_quick_start_prints_five_messages_and_closes_on_its_own() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let program = build_example("bind-smol", "smol_quickstart");
    let run = run(&program, &[&server.url("quickstart")]);
    assert!(
        run.success,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let printed = message_lines(
        &run,
        &["trades.BTC-PERPETUAL.100ms", "ticker.BTC-PERPETUAL.100ms"],
    );
    assert_eq!(printed.len(), 5, "{}", run.stdout);
    assert_eq!(summary(&run), (5, 1), "{}", run.stderr);
    assert_eq!(server.stats().handshakes, 1);
}

#[test]
fn the_own_loop_program_echoes_pings_while_idle_and_stops_cleanly() {
    let program = build_example("reconnect-core", "own_loop");
    let started = Instant::now();
    let run = run(&program, &[]);
    let took = started.elapsed();
    assert!(
        run.success,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines.contains(&r#"message: Text("hello")"#),
        "{}",
        run.stdout
    );
    // It closes after one second and pings after 250 ms without inbound data: a loop that
    // waits for the deadlines sees about three pings, one that never waits none.
    let pings = lines.iter().filter(|l| **l == "ping").count();
    assert!((2..=4).contains(&pings), "{pings} pings:\n{}", run.stdout);
    assert_eq!(lines.last(), Some(&"stopped: Closed { clean: true }"));
    assert!(
        took >= Duration::from_secs(1),
        "it closes after a second, not {took:?}"
    );
    // A loop that sleeps until its deadlines uses next to no processor time in that second;
    // one that spins uses all of it (clock ticks are usually 1/100 s).
    if let Some(ticks) = run.cpu_ticks {
        assert!(
            ticks < 20,
            "{ticks} ticks of processor time: the loop spins"
        );
    }
}
