//! The reader against long, broken and split input, checked against a plain model of lines.

use std::io::{BufReader, Read};

use super::*;

/// A source that counts the bytes taken from it.
struct Counting<R> {
    inner: R,
    taken: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.taken += n as u64;
        Ok(n)
    }
}

/// Every item of `input`, read through a buffer of `capacity` bytes; the reader's buffer never
/// grew past [`MAX_LINE`].
fn lines_of(input: &[u8], capacity: usize) -> Vec<Line> {
    let mut reader = BoundedLines::new(BufReader::with_capacity(capacity, input));
    let lines = reader.by_ref().map(Result::unwrap).collect();
    assert!(
        reader.peak <= MAX_LINE,
        "buffer of {capacity}: the reader held {} bytes for one line",
        reader.peak
    );
    lines
}

fn text(s: &str) -> Line {
    Line::Text(s.to_owned())
}

#[test]
fn ten_megabytes_without_a_newline_are_skipped_in_bounded_memory_then_the_next_line_arrives() {
    const LONG: u64 = 10 << 20;
    let source = io::repeat(b'x').take(LONG).chain(&b"\nsub good\n"[..]);
    let mut lines = BoundedLines::new(BufReader::new(Counting {
        inner: source,
        taken: 0,
    }));
    assert_eq!(lines.next().unwrap().unwrap(), Line::TooLong { len: LONG });
    assert_eq!(lines.next().unwrap().unwrap(), text("sub good"));
    assert!(lines.next().is_none());
    assert!(
        lines.peak <= MAX_LINE,
        "the reader held {} bytes for one line",
        lines.peak
    );
    // The whole input was read through, not abandoned.
    assert_eq!(lines.reader.get_ref().taken, LONG + 10);
}

#[test]
fn a_line_of_max_line_bytes_is_taken_and_one_byte_more_is_too_long() {
    // 40000: the longest line arrives in two parts, the first not a power of two, which
    // plain doubling would grow past the bound.
    for capacity in [1, 7, 8192, 40_000, 3 * MAX_LINE] {
        let mut input = vec![b'a'; MAX_LINE];
        input.push(b'\n');
        input.extend(vec![b'b'; MAX_LINE + 1]);
        input.extend_from_slice(b"\nclose\n");
        // A `\r` counts: with it the line is one byte too long.
        input.extend(vec![b'c'; MAX_LINE]);
        input.extend_from_slice(b"\r\n");
        let lines = lines_of(&input, capacity);
        let full = "a".repeat(MAX_LINE);
        assert_eq!(
            lines,
            [
                Line::Text(full),
                Line::TooLong {
                    len: MAX_LINE as u64 + 1
                },
                text("close"),
                Line::TooLong {
                    len: MAX_LINE as u64 + 1
                },
            ],
            "buffer of {capacity}"
        );
    }
}

#[test]
fn a_line_that_is_not_utf8_is_an_item_and_reading_goes_on() {
    let lines = lines_of(b"sub \xff\xfe\xc3\x28\nsub ok\n", 8192);
    assert_eq!(
        lines,
        [
            Line::NotUtf8(b"sub \xff\xfe\xc3\x28".to_vec()),
            text("sub ok")
        ]
    );
}

#[test]
fn line_ends_crlf_blank_lines_and_a_last_line_without_newline() {
    assert_eq!(lines_of(b"", 8192), []);
    assert_eq!(lines_of(b"\n", 8192), [text("")]);
    assert_eq!(
        lines_of(b"a\r\n\nb\rc\nlast", 3),
        [text("a"), text(""), text("b\rc"), text("last")]
    );
    // An overlong last line without a newline is still reported.
    let mut input = b"x\n".to_vec();
    input.extend(vec![b'y'; MAX_LINE + 5]);
    assert_eq!(
        lines_of(&input, 8192),
        [
            text("x"),
            Line::TooLong {
                len: MAX_LINE as u64 + 5
            }
        ]
    );
}

/// A source whose every other read is interrupted, then one that fails.
struct Flaky {
    data: io::Cursor<Vec<u8>>,
    interrupt: bool,
    fail_at_end: bool,
}

impl Read for Flaky {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.interrupt = !self.interrupt;
        if self.interrupt {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let len = buf.len().min(2);
        let n = self.data.read(&mut buf[..len])?;
        if n == 0 && self.fail_at_end {
            self.fail_at_end = false;
            return Err(io::Error::other("gone"));
        }
        Ok(n)
    }
}

#[test]
fn interrupted_reads_are_retried_and_other_errors_passed_on() {
    let mut lines = BoundedLines::new(BufReader::with_capacity(
        4,
        Flaky {
            data: io::Cursor::new(b"sub a\nclose\n".to_vec()),
            interrupt: false,
            fail_at_end: true,
        },
    ));
    assert_eq!(lines.next().unwrap().unwrap(), text("sub a"));
    assert_eq!(lines.next().unwrap().unwrap(), text("close"));
    let error = lines.next().unwrap().unwrap_err();
    assert_eq!(error.to_string(), "gone");
    // The failure was the source's last word: after it, the end.
    assert!(lines.next().is_none());
}

/// A line as the model reads it: split at `\n`, without one `\r` at the end.
fn model(input: &[u8]) -> Vec<Line> {
    let mut pieces: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    // After a final `\n` (or of an empty input) the split leaves an empty piece, not a line.
    if pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces
        .into_iter()
        .map(|piece| {
            if piece.len() > MAX_LINE {
                return Line::TooLong {
                    len: piece.len() as u64,
                };
            }
            let piece = piece.strip_suffix(b"\r").unwrap_or(piece);
            match std::str::from_utf8(piece) {
                Ok(s) => text(s),
                Err(_) => Line::NotUtf8(piece.to_vec()),
            }
        })
        .collect()
}

#[test]
fn random_inputs_through_random_buffers_read_as_the_model_says() {
    // A fixed-seed generator (xorshift): the same cases on every run.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };
    for case in 0..150 {
        let mut input = Vec::new();
        for _ in 0..next(5) {
            let len = match next(4) {
                0 => next(6),
                1 => MAX_LINE as u64 - 2 + next(5),
                2 => 2 * MAX_LINE as u64 + next(100),
                _ => next(300),
            };
            for _ in 0..len {
                // Mostly text, some `\r` and bytes that break UTF-8.
                input.push(match next(50) {
                    0 => b'\r',
                    1 => 0xff,
                    2 => 0xc3,
                    _ => b'a' + next(26) as u8,
                });
            }
            if next(5) != 0 {
                input.push(b'\n');
            }
        }
        let capacity = [1, 2, 5, 4096, 8192, 70_000][next(6) as usize];
        assert_eq!(
            lines_of(&input, capacity),
            model(&input),
            "case {case}, buffer of {capacity}"
        );
    }
}
