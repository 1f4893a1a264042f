//! STATE after commit: which STATE messages may be written, and writing them.
//!
//! The rule (issue 6): a STATE goes to stdout only once every RECORD that came before it,
//! in every stream, is committed, and as soon as that is true. Flushing every buffer at
//! each STATE would make batches as small as the tap's STATE interval, so instead each
//! STATE waits, remembered with its input position, and is written right after the
//! commit that covers it: when no uncommitted record is older than it. A STATE that
//! waits longer than `max_state_lag_seconds` makes the loader flush everything (see
//! [`StateTracker::oldest_waiting_since`]), which bounds how stale Meltano's saved state
//! can be when one stream is slow to fill its batch.

use std::collections::VecDeque;
use std::io::Write;
use std::time::Instant;

use serde_json::value::RawValue;
use singer_core::writer::{MessageWriter, WriteError};

/// A STATE waiting for its records to be committed.
#[derive(Debug)]
struct Waiting {
    /// Input line of the STATE message.
    line: u64,
    value: Box<RawValue>,
    since: Instant,
}

/// STATE messages in input order, waiting for commits.
#[derive(Debug, Default)]
pub(crate) struct StateTracker {
    waiting: VecDeque<Waiting>,
}

impl StateTracker {
    pub(crate) fn new() -> StateTracker {
        StateTracker::default()
    }

    /// Remembers a STATE read at `line`.
    pub(crate) fn push(&mut self, line: u64, value: Box<RawValue>, now: Instant) {
        self.waiting.push_back(Waiting {
            line,
            value,
            since: now,
        });
    }

    /// Takes the newest STATE (and its input line) whose records are all committed, given the input line of
    /// the oldest record not yet committed (`None`: nothing uncommitted). Older covered
    /// STATEs are dropped: the newest one supersedes them.
    pub(crate) fn take_ready(
        &mut self,
        oldest_uncommitted_line: Option<u64>,
    ) -> Option<(u64, Box<RawValue>)> {
        let mut ready = None;
        while let Some(front) = self.waiting.front() {
            let covered = oldest_uncommitted_line.is_none_or(|oldest| front.line < oldest);
            if !covered {
                break;
            }
            ready = self.waiting.pop_front().map(|w| (w.line, w.value));
        }
        ready
    }

    /// Forgets the STATEs read at or after input line `line` (the run stops before
    /// their records are all committed).
    pub(crate) fn discard_from(&mut self, line: u64) {
        self.waiting.retain(|w| w.line < line);
    }

    /// The input line of the newest waiting STATE.
    pub(crate) fn newest_line(&self) -> Option<u64> {
        self.waiting.back().map(|w| w.line)
    }

    /// When the oldest waiting STATE arrived.
    pub(crate) fn oldest_waiting_since(&self) -> Option<Instant> {
        self.waiting.front().map(|w| w.since)
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

/// Writes each confirmed state through the one Singer writer
/// ([`MessageWriter::write_state_value`]: the bare value on a line, flushed; a closed
/// pipe is [`WriteError::Closed`]), counting them.
pub(crate) struct StateWriter<W: Write> {
    out: MessageWriter<W>,
}

impl<W: Write> StateWriter<W> {
    pub(crate) fn new(out: W) -> StateWriter<W> {
        StateWriter {
            out: MessageWriter::new(out),
        }
    }

    /// Writes one state value and flushes, so Meltano saves it at once.
    pub(crate) fn emit(&mut self, value: &RawValue) -> Result<(), WriteError> {
        self.out.write_state_value(value)
    }

    /// How many states were written.
    pub(crate) fn written(&self) -> u64 {
        self.out.message_count()
    }

    #[cfg(test)]
    pub(crate) fn into_inner(self) -> Result<W, WriteError> {
        self.out.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn a_state_waits_for_every_older_record() {
        let mut tracker = StateTracker::new();
        let now = Instant::now();
        tracker.push(10, raw("1"), now);
        tracker.push(20, raw("2"), now);
        tracker.push(30, raw("3"), now);
        // A record from line 5 is still uncommitted: nothing is ready.
        assert!(tracker.take_ready(Some(5)).is_none());
        // Oldest uncommitted record is line 25: states 1 and 2 are covered, 2 wins.
        assert_eq!(tracker.take_ready(Some(25)).unwrap().1.get(), "2");
        assert!(tracker.take_ready(Some(25)).is_none());
        assert!(!tracker.is_empty());
        // Everything committed.
        let (line, value) = tracker.take_ready(None).unwrap();
        assert_eq!((line, value.get()), (30, "3"));
        assert!(tracker.is_empty());
        assert!(tracker.oldest_waiting_since().is_none());
    }

    #[test]
    fn states_are_written_as_bare_values_one_per_line() {
        let mut writer = StateWriter::new(Vec::new());
        writer
            .emit(&raw(r#"{"bookmarks":{"S":{"k":12345678901234567890.5}}}"#))
            .unwrap();
        assert_eq!(writer.written(), 1);
        assert_eq!(
            String::from_utf8(writer.into_inner().unwrap()).unwrap(),
            "{\"bookmarks\":{\"S\":{\"k\":12345678901234567890.5}}}\n"
        );
    }

    #[test]
    fn a_closed_pipe_is_its_own_error() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut writer = StateWriter::new(Closed);
        assert!(matches!(writer.emit(&raw("{}")), Err(WriteError::Closed)));
    }
}
