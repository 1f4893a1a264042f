//! Input read on its own thread, handed to the loader in line-aligned chunks, so the
//! loader wakes up when the tap goes quiet: a buffer past its age or a STATE waiting
//! past `max_state_lag_seconds` is flushed even while no line arrives.
//!
//! Idleness is signalled out of band: [`Input::wait`] says whether input is ready or a
//! tick passed with none, while reading ([`Read`], [`BufRead`]) blocks until there is
//! data, the end of input or an error. A read error of the source (whatever its kind,
//! `TimedOut` included) ends the input for good: every later read fails too, so a cut
//! input can never pass for a complete one.
//!
//! A line longer than `max_line_bytes` stops the reading with [`LineTooLong`] before
//! more of it is held: memory stays within a few times that limit whatever the input.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::mpsc::{self, Receiver, RecvError, RecvTimeoutError, SyncSender};
use std::time::Duration;

/// Bytes read from the source per system call; also the smallest line limit, so that
/// only a line spanning reads can exceed it.
pub const READ_SIZE: usize = 1 << 20;

/// What [`Input::wait`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Data, the end of input or an error is waiting: the next read returns at once.
    Ready,
    /// A tick passed with no input.
    Idle,
}

/// A line source the loader can ask, between messages, whether the tap went quiet.
pub trait Input: BufRead {
    /// Waits at most one tick for input. Sources that never go quiet are always ready.
    fn wait(&mut self) -> Readiness {
        Readiness::Ready
    }
}

impl<R: Read> Input for BufReader<R> {}
impl Input for &[u8] {}
impl<T: Input + ?Sized> Input for Box<T> {
    fn wait(&mut self) -> Readiness {
        (**self).wait()
    }
}

/// A line longer than the configured limit (the payload of the read error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong {
    pub limit: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the line is longer than max_line_bytes ({} bytes); raise max_line_bytes to load it",
            self.limit
        )
    }
}

impl std::error::Error for LineTooLong {}

/// What the reader thread sends.
enum Chunk {
    /// Whole lines (the last line of the input may lack its newline).
    Data(Vec<u8>),
    /// The source failed, or a line was too long; nothing follows.
    Failed(io::Error),
}

/// How the input ended, once it has.
enum End {
    Open,
    Finished,
    /// The error, until it is handed out once; its kind and text after that.
    Failed {
        error: Option<io::Error>,
        kind: io::ErrorKind,
        text: String,
    },
}

/// The reading side: chunks from the reader thread, one at a time.
pub struct IdleAwareInput {
    chunks: Receiver<Chunk>,
    /// Read chunks go back to the reader thread to be filled again (fresh megabytes
    /// cost page faults and zeroing on every chunk).
    spent: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    position: usize,
    tick: Duration,
    end: End,
}

impl IdleAwareInput {
    /// Starts a thread reading `source` to its end; lines may hold up to
    /// `max_line_bytes` bytes (at least [`READ_SIZE`]).
    pub fn spawn<R: Read + Send + 'static>(
        source: R,
        tick: Duration,
        max_line_bytes: usize,
    ) -> IdleAwareInput {
        // Two chunks in flight (and two spent ones) bound the memory whatever the input.
        let (sender, chunks) = mpsc::sync_channel(2);
        let (spent, recycled) = mpsc::sync_channel(2);
        let limit = max_line_bytes.max(READ_SIZE);
        std::thread::spawn(move || read_chunks(source, &sender, &recycled, limit));
        IdleAwareInput {
            chunks,
            spent,
            current: Vec::new(),
            position: 0,
            tick: tick.max(Duration::from_millis(50)),
            end: End::Open,
        }
    }

    fn accept(&mut self, received: Result<Chunk, RecvError>) {
        match received {
            Ok(Chunk::Data(data)) => {
                let spent = std::mem::replace(&mut self.current, data);
                // A full return channel or a finished reader: the buffer is just freed.
                let _ = self.spent.try_send(spent);
                self.position = 0;
            }
            Ok(Chunk::Failed(error)) => {
                self.end = End::Failed {
                    kind: error.kind(),
                    text: error.to_string(),
                    error: Some(error),
                }
            }
            Err(RecvError) => self.end = End::Finished,
        }
    }
}

/// The reader thread: reads `source` and sends whole lines until the end, an error or
/// a line over `limit` bytes. Each read lands in the chunk it is sent in (no copy but the
/// cut line's tail), in buffers the reading side hands back.
fn read_chunks<R: Read>(
    mut source: R,
    sender: &mpsc::SyncSender<Chunk>,
    recycled: &Receiver<Vec<u8>>,
    limit: usize,
) {
    // The start of a line cut by the last read.
    let mut pending: Vec<u8> = Vec::new();
    let too_long = || {
        Chunk::Failed(io::Error::new(
            io::ErrorKind::InvalidData,
            LineTooLong { limit },
        ))
    };
    loop {
        let start;
        let mut chunk = if pending.len() > READ_SIZE / 4 {
            // A long line being gathered: keep reading onto it.
            start = pending.len();
            let mut chunk = std::mem::take(&mut pending);
            chunk.resize(start + READ_SIZE, 0);
            chunk
        } else {
            // A spent chunk comes back with its bytes: only what it lacks of the read
            // size is zeroed (zeroing a whole chunk per read cost as much as reading
            // it), and the cut line's head is copied over its start.
            let mut chunk = recycled
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(2 * READ_SIZE));
            start = pending.len();
            chunk.truncate(start + READ_SIZE);
            chunk.resize(start + READ_SIZE, 0);
            chunk[..start].copy_from_slice(&pending);
            pending.clear();
            chunk
        };
        let read = match source.read(&mut chunk[start..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                chunk.truncate(start);
                pending = chunk;
                continue;
            }
            Err(e) => {
                // The partial line is dropped: it can only be a cut line.
                let _ = sender.send(Chunk::Failed(e));
                return;
            }
        };
        chunk.truncate(start + read);
        if read == 0 {
            if !chunk.is_empty() {
                let _ = sender.send(Chunk::Data(chunk));
            }
            return;
        }
        let fresh = &chunk[start..];
        let Some(first_newline) = memchr::memchr(b'\n', fresh) else {
            // A line longer than one read: keep collecting it, up to the limit.
            if chunk.len() > limit {
                let _ = sender.send(too_long());
                return;
            }
            pending = chunk;
            continue;
        };
        // Lines inside one read are shorter than READ_SIZE <= limit; only the one that
        // began in an earlier read can be too long.
        if start + first_newline > limit {
            let _ = sender.send(too_long());
            return;
        }
        let last_newline = start + memchr::memrchr(b'\n', fresh).unwrap_or(first_newline);
        pending.extend_from_slice(&chunk[last_newline + 1..]);
        chunk.truncate(last_newline + 1);
        if sender.send(Chunk::Data(chunk)).is_err() {
            return;
        }
    }
}

impl Input for IdleAwareInput {
    fn wait(&mut self) -> Readiness {
        if self.position < self.current.len() || !matches!(self.end, End::Open) {
            return Readiness::Ready;
        }
        match self.chunks.recv_timeout(self.tick) {
            Ok(chunk) => self.accept(Ok(chunk)),
            Err(RecvTimeoutError::Timeout) => return Readiness::Idle,
            Err(RecvTimeoutError::Disconnected) => self.end = End::Finished,
        }
        Readiness::Ready
    }
}

impl BufRead for IdleAwareInput {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.position == self.current.len() {
            match &mut self.end {
                End::Open => {
                    let received = self.chunks.recv();
                    self.accept(received);
                }
                End::Finished => return Ok(&[]),
                End::Failed { error, kind, text } => {
                    return Err(error.take().unwrap_or_else(|| {
                        io::Error::new(*kind, format!("the input failed earlier: {text}"))
                    }))
                }
            }
        }
        Ok(&self.current[self.position..])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.current.len());
    }
}

impl Read for IdleAwareInput {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = out.len().min(available.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_line(input: &mut IdleAwareInput) -> io::Result<String> {
        let mut line = String::new();
        input.read_line(&mut line)?;
        Ok(line)
    }

    #[test]
    fn lines_arrive_whole_and_idleness_is_reported_out_of_band() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        let mut input = IdleAwareInput::spawn(reader, Duration::from_millis(50), READ_SIZE);
        writer.write_all(b"first line\nsecond ").unwrap();
        writer.flush().unwrap();
        assert_eq!(input.wait(), Readiness::Ready);
        assert_eq!(read_line(&mut input).unwrap(), "first line\n");
        // "second " is held back until its newline: the loader only sees idleness.
        assert_eq!(input.wait(), Readiness::Idle);
        writer.write_all(b"half\n").unwrap();
        drop(writer);
        assert_eq!(read_line(&mut input).unwrap(), "second half\n");
        assert_eq!(input.wait(), Readiness::Ready);
        assert_eq!(read_line(&mut input).unwrap(), "", "the end of input");
    }

    #[test]
    fn a_last_line_without_newline_and_long_lines_are_kept() {
        let long = "x".repeat(3 * READ_SIZE);
        let text = format!("{long}\nend");
        let mut input = IdleAwareInput::spawn(
            io::Cursor::new(text.clone().into_bytes()),
            Duration::from_secs(5),
            4 * READ_SIZE,
        );
        let mut all = String::new();
        input.read_to_string(&mut all).unwrap();
        assert_eq!(all, text);
    }

    /// A source that yields `data`, then fails with `kind` on every read.
    struct FailingSource {
        data: Option<Vec<u8>>,
        kind: io::ErrorKind,
    }

    impl Read for FailingSource {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match self.data.take() {
                Some(data) => {
                    out[..data.len()].copy_from_slice(&data);
                    Ok(data.len())
                }
                None => Err(io::Error::new(self.kind, "the device timed out")),
            }
        }
    }

    #[test]
    fn a_timed_out_read_of_the_source_is_an_error_for_good_never_the_end() {
        let source = FailingSource {
            data: Some(b"line one\ncut li".to_vec()),
            kind: io::ErrorKind::TimedOut,
        };
        let mut input = IdleAwareInput::spawn(source, Duration::from_millis(50), READ_SIZE);
        assert_eq!(read_line(&mut input).unwrap(), "line one\n");
        assert_eq!(input.wait(), Readiness::Ready, "an error is not idleness");
        let first = read_line(&mut input).unwrap_err();
        assert_eq!(first.kind(), io::ErrorKind::TimedOut);
        assert!(first.to_string().contains("timed out"), "{first}");
        // Every later read fails as well: the cut line never reads as end of input.
        let again = read_line(&mut input).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::TimedOut);
        assert!(again.to_string().contains("failed earlier"), "{again}");
    }

    #[test]
    fn a_line_over_the_limit_stops_the_input_after_the_lines_before_it() {
        let limit = READ_SIZE + 10;
        let text = format!("short\n{}\nnever\n", "y".repeat(limit + 1));
        let mut input = IdleAwareInput::spawn(
            io::Cursor::new(text.into_bytes()),
            Duration::from_secs(5),
            limit,
        );
        assert_eq!(read_line(&mut input).unwrap(), "short\n");
        let err = read_line(&mut input).unwrap_err();
        let payload = err.get_ref().and_then(|e| e.downcast_ref::<LineTooLong>());
        assert_eq!(payload, Some(&LineTooLong { limit }));
        // A line of exactly the limit is fine.
        let text = format!("{}\n", "z".repeat(limit));
        let mut input = IdleAwareInput::spawn(
            io::Cursor::new(text.clone().into_bytes()),
            Duration::from_secs(5),
            limit,
        );
        assert_eq!(read_line(&mut input).unwrap(), text);
    }
}
