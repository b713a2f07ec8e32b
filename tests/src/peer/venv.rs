//! The Python the peer tests run when `RECONNECT_PYTHON` is not set: a virtualenv that
//! `python/setup.sh` makes once per cargo target directory, shared by every test binary.
//!
//! Files, all next to each other in the target directory (so `cargo clean` removes them):
//!
//! - `python-venv/`: the virtualenv;
//! - `python-venv.ready`: written last, by an atomic rename, when the setup succeeded: the
//!   interpreter's path on the first line, then the `requirements.txt` it was made from (a
//!   changed pin makes a fresh venv);
//! - `python-venv.lock`: held while one process runs the setup (made with `create_new`, holds
//!   the process id, removed when that process is done or found dead);
//! - `python-venv.log`: the setup's output;
//! - `python-venv.failed`: the last failure's message, for the processes that waited on it.
//!
//! The target directory is the nearest ancestor of the running test executable that holds
//! cargo's `CACHEDIR.TAG` (so it follows `CARGO_TARGET_DIR`, `--target-dir` and
//! `--target TRIPLE` without reading any of them), else `target/` of the workspace.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// How long a process waits for another one's setup (pip resolves and downloads from PyPI; on
/// a slow link that takes minutes, and a hung setup must still end in a failure).
const WAIT_LIMIT: Duration = Duration::from_secs(20 * 60);

/// How long a lock may stay empty before it counts as abandoned: its maker died between
/// creating it and writing its process id.
const EMPTY_LOCK_GRACE: Duration = Duration::from_secs(10);

/// What to do about a failed setup; every failure message ends with it.
const FIX: &str = "To fix: install Python 3 with venv and pip \
(Debian/Ubuntu: `apt-get install -y python3-venv`) and let the first run reach PyPI (it installs \
tests/python/requirements.txt), or set RECONNECT_PYTHON to a Python 3 that has those packages \
(`export RECONNECT_PYTHON=\"$(tests/python/setup.sh \"$PWD/.venv\")\"` makes one). \
PYTHON=/path/to/python3 chooses the interpreter the venv is made from.";

struct Paths {
    venv: PathBuf,
    ready: PathBuf,
    lock: PathBuf,
    log: PathBuf,
    failed: PathBuf,
}

impl Paths {
    fn in_dir(dir: &Path) -> Paths {
        Paths {
            venv: dir.join("python-venv"),
            ready: dir.join("python-venv.ready"),
            lock: dir.join("python-venv.lock"),
            log: dir.join("python-venv.log"),
            failed: dir.join("python-venv.failed"),
        }
    }
}

fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// The cargo target directory this test executable was built into.
fn target_dir() -> PathBuf {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .find(|d| d.join("CACHEDIR.TAG").is_file())
            .map(Path::to_path_buf)
    });
    from_exe.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The venv's interpreter, made first if needed.
pub(super) fn interpreter() -> Result<PathBuf, String> {
    let dir = target_dir();
    let paths = Paths::in_dir(&dir);
    let requirements_path = python_dir().join("requirements.txt");
    let requirements = fs::read_to_string(&requirements_path)
        .map_err(|e| format!("cannot read {}: {e}", requirements_path.display()))?;
    fs::create_dir_all(&dir).map_err(|e| {
        format!(
            "cannot create the target directory {}: {e}\n{FIX}",
            dir.display()
        )
    })?;
    let started = SystemTime::now();
    let deadline = Instant::now() + WAIT_LIMIT;
    let mut announced = false;
    loop {
        if let Some(python) = ready(&paths, &requirements) {
            return Ok(python);
        }
        // A setup that failed while this process waited for it would fail again the same way:
        // report it instead of paying for a second attempt.
        if let Some(message) = failed_since(&paths, started) {
            return Err(message);
        }
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&paths.lock)
        {
            Ok(mut lock) => {
                let _held = Held(&paths.lock);
                let _ = writeln!(lock, "{}", std::process::id());
                drop(lock);
                // Another process may have finished between the check above and the lock.
                if let Some(python) = ready(&paths, &requirements) {
                    return Ok(python);
                }
                return set_up(&paths, &requirements);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if remove_if_abandoned(&paths.lock) {
                    continue;
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "waited {WAIT_LIMIT:?} for another test process to set up the Python \
                         venv ({} is still held); if no test is running, remove that file.\n{FIX}",
                        paths.lock.display()
                    ));
                }
                if !announced {
                    announced = true;
                    say(&format!(
                        "waiting for another test process to set up {}",
                        paths.venv.display()
                    ));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => {
                return Err(format!(
                    "cannot create the lock {}: {e}\n{FIX}",
                    paths.lock.display()
                ))
            }
        }
    }
}

/// The interpreter of a finished setup made from these `requirements`.
fn ready(paths: &Paths, requirements: &str) -> Option<PathBuf> {
    let marker = fs::read_to_string(&paths.ready).ok()?;
    let (python, made_from) = marker.split_once('\n')?;
    let python = PathBuf::from(python);
    (made_from == requirements && python.is_file()).then_some(python)
}

fn failed_since(paths: &Paths, started: SystemTime) -> Option<String> {
    let modified = fs::metadata(&paths.failed).ok()?.modified().ok()?;
    if modified < started {
        return None;
    }
    fs::read_to_string(&paths.failed).ok()
}

/// Removes the lock file when dropped, also when the setup panics.
struct Held<'a>(&'a Path);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.0);
    }
}

/// Removes a lock whose holder is gone (a test run killed during its setup); true if it did.
fn remove_if_abandoned(lock: &Path) -> bool {
    let Ok(content) = fs::read_to_string(lock) else {
        return false; // released meanwhile: the caller looks again
    };
    let abandoned = match content.trim().parse::<u32>() {
        Ok(pid) => !is_alive(pid),
        Err(_) => fs::metadata(lock)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > EMPTY_LOCK_GRACE),
    };
    // Only if it still names the dead holder: two waiters that both found it abandoned must not
    // remove the lock one of them has taken since. (The window left between this read and the
    // removal is a few instructions wide.)
    if abandoned && fs::read_to_string(lock).ok().as_deref() == Some(content.as_str()) {
        say(&format!(
            "removing {}: its process {} is gone",
            lock.display(),
            content.trim()
        ));
        let _ = fs::remove_file(lock);
        return true;
    }
    false
}

/// Whether process `pid` exists. Without `/proc` (not Linux) every holder counts as alive, so
/// an abandoned lock there ends in the wait limit's message rather than in two setups at once.
fn is_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Runs `setup.sh` into a fresh venv directory; the caller holds the lock.
fn set_up(paths: &Paths, requirements: &str) -> Result<PathBuf, String> {
    let script = python_dir().join("setup.sh");
    let command = format!("bash {} {}", script.display(), paths.venv.display());
    say(&format!(
        "setting up the Python peer's venv (once per target directory): {command}"
    ));
    let started = Instant::now();
    let _ = fs::remove_file(&paths.ready);
    // A venv left half-made (a killed run, or `python3 -m venv` without ensurepip, which leaves
    // bin/python but no pip) would make setup.sh skip creating it and fail on every later run.
    if let Err(e) = fs::remove_dir_all(&paths.venv) {
        if e.kind() != ErrorKind::NotFound {
            return Err(fail(
                paths,
                &format!("cannot remove the old venv {}: {e}", paths.venv.display()),
            ));
        }
    }
    let log = fs::File::create(&paths.log).map_err(|e| {
        fail(
            paths,
            &format!("cannot create {}: {e}", paths.log.display()),
        )
    })?;
    let output = Command::new("bash")
        .arg(&script)
        .arg(&paths.venv)
        .stdin(Stdio::null())
        .stderr(log)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) => return Err(fail(paths, &format!("`{command}` could not start: {e}"))),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let python = stdout
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .map(str::trim);
    let python = match (output.status.success(), python) {
        (true, Some(p)) if Path::new(p).is_file() => PathBuf::from(p),
        (true, _) => {
            let what = format!("`{command}` printed no interpreter path (stdout: {stdout:?})");
            return Err(fail(paths, &what));
        }
        (false, _) => {
            let what = format!("`{command}` failed ({})", output.status);
            return Err(fail(paths, &what));
        }
    };
    // Written whole under another name and renamed: a reader sees no marker or a complete one.
    let tmp = paths
        .ready
        .with_extension(format!("ready.{}", std::process::id()));
    let marker = format!("{}\n{requirements}", python.display());
    fs::write(&tmp, marker)
        .and_then(|()| fs::rename(&tmp, &paths.ready))
        .map_err(|e| {
            fail(
                paths,
                &format!("cannot write {}: {e}", paths.ready.display()),
            )
        })?;
    let _ = fs::remove_file(&paths.failed);
    say(&format!(
        "Python peer's venv ready in {:.0?}: {}",
        started.elapsed(),
        python.display()
    ));
    Ok(python)
}

/// The failure message (with the end of the setup's log and the fix), also left for the
/// processes waiting on this setup.
fn fail(paths: &Paths, what: &str) -> String {
    let log = fs::read_to_string(&paths.log).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    let message = format!(
        "could not set up the Python peer's venv: {what}\n\
         last lines of {}:\n{tail}\n{FIX}",
        paths.log.display()
    );
    let _ = fs::write(&paths.failed, &message);
    message
}

/// Straight to the stderr handle, not `eprintln!`: the test harness captures the macros, and a
/// first run that spends a minute in pip should say why.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "reconnect-testkit: {line}");
}
