//! Counting the process's open file descriptors, to prove that reconnect cycles leak none.

use std::io;

/// The number of file descriptors open in this process now (Linux: entries of `/proc/self/fd`,
/// not counting the one used to list them).
///
/// The count is process-wide: threads of other tests running at the same time open and close
/// sockets too. Compare counts with a slack, or from a test binary that runs alone.
///
/// # Errors
/// Fails where `/proc/self/fd` does not exist (not Linux).
pub fn open_fds() -> io::Result<usize> {
    let entries = std::fs::read_dir("/proc/self/fd")?;
    // The directory handle used for listing shows up in the listing itself.
    Ok(entries.count().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_a_newly_opened_socket() {
        // No other unit test of this crate opens descriptors, so the count moves by exactly one.
        let before = super::open_fds().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let during = super::open_fds().unwrap();
        drop(listener);
        let after = super::open_fds().unwrap();
        assert!(before >= 3, "stdin, stdout and stderr at least");
        assert_eq!(during, before + 1);
        assert_eq!(after, before);
    }
}
