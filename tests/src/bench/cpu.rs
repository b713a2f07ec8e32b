//! The CPU time a process has used, for the fleet benchmarks' idle-CPU readings.

use std::io;
use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat` (`USER_HZ`): 100 on every Linux this runs on;
/// reading it from `sysconf` would need `unsafe` or another crate.
const TICKS_PER_SECOND: u64 = 100;

/// The user + system CPU time of process `pid` (`/proc/PID/stat`, fields 14 and 15), with a
/// resolution of 10 ms. Pass `std::process::id()` for this process.
///
/// # Errors
/// Fails where `/proc/PID/stat` does not exist (not Linux, or no such process) or does not
/// parse.
pub fn process_cpu_time(pid: u32) -> io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    Ok(Duration::from_millis(
        parse_ticks(&stat)? * 1000 / TICKS_PER_SECOND,
    ))
}

/// utime + stime of a `/proc/PID/stat` line, in ticks. The command name (field 2) is in
/// parentheses and may contain spaces, so fields are counted after its closing parenthesis.
fn parse_ticks(stat: &str) -> io::Result<u64> {
    let bad = || io::Error::other(format!("unexpected /proc/PID/stat: {stat:?}"));
    let rest = &stat[stat.rfind(')').ok_or_else(bad)? + 1..];
    // After the name: field 3 (state) is the first; utime and stime are fields 14 and 15.
    let mut fields = rest.split_whitespace().skip(11);
    let mut next =
        || -> io::Result<u64> { fields.next().and_then(|f| f.parse().ok()).ok_or_else(bad) };
    Ok(next()? + next()?)
}

#[cfg(test)]
mod tests {
    use super::parse_ticks;

    #[test]
    fn utime_and_stime_are_fields_14_and_15_even_with_spaces_in_the_name() {
        // Fields 1..=17 of a real line, with a name holding a space and a parenthesis.
        let stat = "4242 (fleet (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 37 0 0 20";
        assert_eq!(parse_ticks(stat).unwrap(), 287);
        assert!(parse_ticks("4242 (short) S 1").is_err());
    }
}
