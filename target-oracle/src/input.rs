//! Input read on its own thread, handed to the loader in line-aligned chunks, so the
//! loader wakes up when the tap goes quiet: a buffer past its age or a STATE waiting
//! past `max_state_lag_seconds` is flushed even while no line arrives.
//!
//! [`IdleAwareInput`] implements `Read`; when no chunk arrives within the tick it fails
//! with `ErrorKind::TimedOut`. Chunks always end at a newline (or at end of input), so
//! the timeout can only happen between lines: a line reader never loses half a line.

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// Bytes read from the source per system call.
const READ_SIZE: usize = 1 << 20;

/// The reading side: chunks from the reader thread, one at a time.
pub struct IdleAwareInput {
    chunks: Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    position: usize,
    tick: Duration,
    finished: bool,
}

impl IdleAwareInput {
    /// Starts a thread reading `source` to its end.
    pub fn spawn<R: Read + Send + 'static>(mut source: R, tick: Duration) -> IdleAwareInput {
        // Two chunks in flight bound the memory to a few MiB whatever the input.
        let (sender, chunks) = mpsc::sync_channel(2);
        std::thread::spawn(move || {
            let mut pending: Vec<u8> = Vec::new();
            let mut buffer = vec![0u8; READ_SIZE];
            loop {
                let read = match source.read(&mut buffer) {
                    Ok(0) => {
                        if !pending.is_empty() {
                            let _ = sender.send(Ok(std::mem::take(&mut pending)));
                        }
                        return;
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = sender.send(Err(e));
                        return;
                    }
                };
                let fresh = &buffer[..read];
                match fresh.iter().rposition(|&b| b == b'\n') {
                    Some(last_newline) => {
                        let mut chunk = std::mem::take(&mut pending);
                        chunk.extend_from_slice(&fresh[..=last_newline]);
                        pending.extend_from_slice(&fresh[last_newline + 1..]);
                        if sender.send(Ok(chunk)).is_err() {
                            return;
                        }
                    }
                    // A line longer than one read: keep collecting it.
                    None => pending.extend_from_slice(fresh),
                }
            }
        });
        IdleAwareInput {
            chunks,
            current: Vec::new(),
            position: 0,
            tick: tick.max(Duration::from_millis(50)),
            finished: false,
        }
    }
}

/// Whether a read error only means "no input for a while".
pub fn is_idle(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::TimedOut
}

impl Read for IdleAwareInput {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.position == self.current.len() {
            if self.finished {
                return Ok(0);
            }
            match self.chunks.recv_timeout(self.tick) {
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.position = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no input for a while",
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.finished = true;
                    return Ok(0);
                }
            }
        }
        let n = out.len().min(self.current.len() - self.position);
        out[..n].copy_from_slice(&self.current[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    #[test]
    fn lines_arrive_whole_and_idleness_is_reported_between_them() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        let input = IdleAwareInput::spawn(reader, Duration::from_millis(50));
        let mut lines = BufReader::with_capacity(4, input);
        writer.write_all(b"first line\nsecond ").unwrap();
        writer.flush().unwrap();
        let mut line = Vec::new();
        lines.read_until(b'\n', &mut line).unwrap();
        assert_eq!(line, b"first line\n");
        // "second " is held back until its newline: the reader only sees idleness.
        line.clear();
        let err = lines.read_until(b'\n', &mut line).unwrap_err();
        assert!(is_idle(&err));
        assert!(line.is_empty(), "no half line was handed out");
        writer.write_all(b"half\n").unwrap();
        drop(writer);
        let mut rest = String::new();
        loop {
            match lines.read_line(&mut rest) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if is_idle(&e) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(rest, "second half\n");
    }

    #[test]
    fn a_last_line_without_newline_and_long_lines_are_kept() {
        let long = "x".repeat(3 * READ_SIZE);
        let text = format!("{long}\nend");
        let input = IdleAwareInput::spawn(
            io::Cursor::new(text.clone().into_bytes()),
            Duration::from_secs(5),
        );
        let mut all = String::new();
        BufReader::new(input).read_to_string(&mut all).unwrap();
        assert_eq!(all, text);
    }
}
