//! The feed tools' reader of standard input: lines of at most [`MAX_LINE`] bytes, whatever
//! arrives. A longer line is skipped as it is read, never held whole: the reader's memory stays
//! within [`MAX_LINE`] (besides the underlying reader's own buffer), and it goes on with the next
//! line, since a command-line tool does not stop reading its standard input over one bad line.
//! A line that is not UTF-8 is an item of its own too.
//!
//! A line ends at `\n` or at the end of the input; the `\n`, and a `\r` just before it, are not
//! part of the item. [`MAX_LINE`] counts every byte before the `\n`, a `\r` included.

use std::io::{self, BufRead};

/// The longest line taken, in bytes before its `\n`: 64 KiB, far more than any command needs.
pub const MAX_LINE: usize = 64 * 1024;

/// One line of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line of UTF-8 text, without its line end.
    Text(String),
    /// A line that is not UTF-8: its bytes, without its line end.
    NotUtf8(Vec<u8>),
    /// A line longer than [`MAX_LINE`], skipped: its length in bytes before its `\n`.
    TooLong {
        /// The length; only counted, the bytes are gone.
        len: u64,
    },
}

/// The lines of a `BufRead`, each at most [`MAX_LINE`] bytes (see the module's documentation).
/// An `Interrupted` read is retried; any other error is passed on, and the next call reads on.
pub struct BoundedLines<R> {
    reader: R,
    /// The line so far; never more than [`MAX_LINE`] bytes, in size or capacity.
    line: Vec<u8>,
    /// The largest capacity `line` had, for the tests' bound on memory.
    #[cfg(test)]
    peak: usize,
}

impl<R: BufRead> BoundedLines<R> {
    /// Lines read from `reader`.
    pub fn new(reader: R) -> Self {
        BoundedLines {
            reader,
            line: Vec::new(),
            #[cfg(test)]
            peak: 0,
        }
    }

    /// The next line, or `None` at the end of the input.
    ///
    /// # Errors
    /// The error of a read that failed (not `Interrupted`). The part of a line read before it
    /// is dropped.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        self.line.clear();
        // The length so far of a line found too long; `None` while the line fits.
        let mut skipped: Option<u64> = None;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                // The end of the input, which may end a last line without a `\n`.
                return Ok(match skipped {
                    Some(len) => Some(Line::TooLong { len }),
                    None if self.line.is_empty() => None,
                    None => Some(self.take_line()),
                });
            }
            let newline = chunk.iter().position(|&b| b == b'\n');
            let part = &chunk[..newline.unwrap_or(chunk.len())];
            match &mut skipped {
                Some(len) => *len += part.len() as u64,
                None if self.line.len() + part.len() <= MAX_LINE => {
                    let needed = self.line.len() + part.len();
                    if needed > self.line.capacity() {
                        // Grown by doubling as usual, but never past the bound: `extend`
                        // alone could double a buffer just under it to twice the bound.
                        let target = needed.max(self.line.capacity() * 2).min(MAX_LINE);
                        self.line.reserve_exact(target - self.line.len());
                    }
                    self.line.extend_from_slice(part);
                    #[cfg(test)]
                    {
                        self.peak = self.peak.max(self.line.capacity());
                    }
                }
                None => {
                    skipped = Some((self.line.len() + part.len()) as u64);
                    self.line.clear();
                }
            }
            let consumed = part.len() + usize::from(newline.is_some());
            self.reader.consume(consumed);
            if newline.is_some() {
                return Ok(Some(match skipped {
                    Some(len) => Line::TooLong { len },
                    None => self.take_line(),
                }));
            }
        }
    }

    /// The line read, without a `\r` at its end, as text or bytes.
    fn take_line(&mut self) -> Line {
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        match String::from_utf8(std::mem::take(&mut self.line)) {
            Ok(text) => Line::Text(text),
            Err(e) => Line::NotUtf8(e.into_bytes()),
        }
    }
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = io::Result<Line>;

    fn next(&mut self) -> Option<io::Result<Line>> {
        self.next_line().transpose()
    }
}

#[cfg(test)]
mod tests;
