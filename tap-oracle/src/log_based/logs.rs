//! Which redo logs a run mines, and in which windows: pure functions over the logs the
//! backend lists. A log missing between the start SCN and the current one (purged, or
//! never archived) is an error naming thread, sequence and SCN range; it is never
//! skipped silently.

use std::collections::BTreeMap;
use std::fmt;

use db_boundary::{RedoLog, RedoLogKind};

/// A hole in the redo a run needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGap {
    pub thread: u32,
    pub sequence: u64,
    /// The SCN range the missing log held, when known.
    pub scn_range: Option<(u64, Option<u64>)>,
    pub reason: &'static str,
}

impl fmt::Display for LogGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "redo log of thread {} sequence {} {}",
            self.thread, self.sequence, self.reason
        )?;
        match self.scn_range {
            Some((first, Some(next))) => write!(f, " (SCN {first} to {next})"),
            Some((first, None)) => write!(f, " (from SCN {first})"),
            None => Ok(()),
        }?;
        write!(
            f,
            "; the changes it held cannot be read: restore the log, or remove the stream's \
             bookmark to start over with a new snapshot"
        )
    }
}

/// The logs holding redo from `from_scn` on, per thread in sequence order, one copy of
/// each (the archived one when both exist and it is available), or the first gap.
pub fn needed_logs(logs: Vec<RedoLog>, from_scn: u64) -> Result<Vec<RedoLog>, LogGap> {
    // (thread, sequence) -> best copy.
    let mut best: BTreeMap<(u32, u64), RedoLog> = BTreeMap::new();
    for log in logs {
        let key = (log.thread, log.sequence);
        let better = match best.get(&key) {
            None => true,
            Some(have) => rank(&log) > rank(have),
        };
        if better {
            best.insert(key, log);
        }
    }
    let mut threads: BTreeMap<u32, Vec<RedoLog>> = BTreeMap::new();
    for ((thread, _), log) in best {
        threads.entry(thread).or_default().push(log);
    }
    let mut needed = Vec::new();
    for (thread, logs) in threads {
        let logs: Vec<RedoLog> = logs
            .into_iter()
            .filter(|l| l.next_scn.is_none_or(|next| next > from_scn))
            .collect();
        let Some(first) = logs.first() else {
            continue;
        };
        if first.first_scn > from_scn && first.sequence > 1 {
            return Err(LogGap {
                thread,
                sequence: first.sequence - 1,
                scn_range: Some((from_scn, Some(first.first_scn))),
                reason: "(and any before it) is no longer listed",
            });
        }
        for (i, log) in logs.iter().enumerate() {
            if i > 0 && log.sequence != logs[i - 1].sequence + 1 {
                return Err(LogGap {
                    thread,
                    sequence: logs[i - 1].sequence + 1,
                    scn_range: logs[i - 1].next_scn.map(|n| (n, Some(log.first_scn))),
                    reason: "is not listed",
                });
            }
            if !log.available || log.name.is_none() {
                return Err(LogGap {
                    thread,
                    sequence: log.sequence,
                    scn_range: Some((log.first_scn, log.next_scn)),
                    reason: "was purged",
                });
            }
        }
        needed.extend(logs);
    }
    Ok(needed)
}

/// Preference among copies of one log: available archived, available online, purged.
fn rank(log: &RedoLog) -> u8 {
    match (log.available && log.name.is_some(), log.kind) {
        (true, RedoLogKind::Archived) => 3,
        (true, RedoLogKind::Online) => 2,
        (false, _) => 1,
    }
}

/// One mining session's SCN range and the logs it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub start_scn: u64,
    pub end_scn: u64,
    pub logs: Vec<RedoLog>,
}

/// Splits `[start_scn, end_scn]` into windows of about `max_bytes` of redo each: logs
/// are taken in SCN order and a window ends where a log that brings it to `max_bytes`
/// ends. Every window lists every log (of any thread) overlapping its range.
pub fn windows(logs: &[RedoLog], start_scn: u64, end_scn: u64, max_bytes: u64) -> Vec<Window> {
    if start_scn > end_scn {
        return Vec::new();
    }
    let mut ordered: Vec<&RedoLog> = logs.iter().collect();
    ordered.sort_by_key(|l| (l.first_scn, l.thread, l.sequence));
    let mut cuts = Vec::new();
    let mut bytes = 0u64;
    for log in &ordered {
        bytes = bytes.saturating_add(log.bytes);
        if let Some(next) = log.next_scn {
            if bytes >= max_bytes && next > start_scn && next <= end_scn {
                cuts.push(next);
                bytes = 0;
            }
        }
    }
    let mut result = Vec::new();
    let mut from = start_scn;
    for cut in cuts.into_iter().chain([end_scn + 1]) {
        if cut <= from {
            continue;
        }
        let to = cut - 1;
        result.push(Window {
            start_scn: from,
            end_scn: to,
            logs: ordered
                .iter()
                .filter(|l| l.first_scn <= to && l.next_scn.is_none_or(|n| n > from))
                .map(|l| (*l).clone())
                .collect(),
        });
        from = cut;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(
        thread: u32,
        sequence: u64,
        first: u64,
        next: Option<u64>,
        kind: RedoLogKind,
    ) -> RedoLog {
        RedoLog {
            thread,
            sequence,
            first_scn: first,
            next_scn: next,
            name: Some(format!("{kind:?}_{thread}_{sequence}")),
            bytes: 100,
            kind,
            available: true,
        }
    }

    fn archived(sequence: u64, first: u64, next: u64) -> RedoLog {
        log(1, sequence, first, Some(next), RedoLogKind::Archived)
    }

    #[test]
    fn archived_copies_win_and_old_logs_are_left_out() {
        let logs = vec![
            archived(1, 1, 100),
            archived(2, 100, 200),
            log(1, 2, 100, Some(200), RedoLogKind::Online),
            log(1, 3, 200, None, RedoLogKind::Online),
        ];
        let needed = needed_logs(logs, 150).unwrap();
        let names: Vec<_> = needed.iter().map(|l| l.name.clone().unwrap()).collect();
        assert_eq!(names, ["Archived_1_2", "Online_1_3"]);
    }

    #[test]
    fn a_purged_log_is_named_with_its_range() {
        let mut purged = archived(2, 100, 200);
        purged.available = false;
        purged.name = None;
        let logs = vec![
            purged,
            archived(3, 200, 300),
            log(1, 4, 300, None, RedoLogKind::Online),
        ];
        let gap = needed_logs(logs, 150).unwrap_err();
        assert_eq!((gap.thread, gap.sequence), (1, 2));
        let message = gap.to_string();
        assert!(
            message.contains("thread 1 sequence 2 was purged"),
            "{message}"
        );
        assert!(message.contains("SCN 100 to 200"), "{message}");
    }

    #[test]
    fn a_purged_archive_with_its_online_copy_still_there_is_read_online() {
        let mut purged = archived(2, 100, 200);
        purged.available = false;
        let logs = vec![purged, log(1, 2, 100, Some(200), RedoLogKind::Online)];
        let needed = needed_logs(logs, 150).unwrap();
        assert_eq!(needed[0].kind, RedoLogKind::Online);
    }

    #[test]
    fn holes_in_sequences_and_before_the_first_log_are_gaps() {
        let logs = vec![archived(5, 100, 200), archived(7, 300, 400)];
        let gap = needed_logs(logs, 150).unwrap_err();
        assert_eq!(gap.sequence, 6);
        assert!(gap.to_string().contains("SCN 200 to 300"));
        let logs = vec![archived(9, 500, 600)];
        let gap = needed_logs(logs, 150).unwrap_err();
        assert_eq!(gap.sequence, 8);
        assert!(gap.to_string().contains("no longer listed"), "{gap}");
    }

    #[test]
    fn threads_are_checked_apart() {
        let logs = vec![
            archived(3, 100, 200),
            log(2, 10, 90, Some(210), RedoLogKind::Archived),
            log(2, 12, 300, None, RedoLogKind::Online),
            log(1, 4, 200, None, RedoLogKind::Online),
        ];
        let gap = needed_logs(logs, 150).unwrap_err();
        assert_eq!((gap.thread, gap.sequence), (2, 11));
    }

    #[test]
    fn windows_follow_redo_bytes_and_cover_the_range_once() {
        let logs: Vec<RedoLog> = (0..6)
            .map(|i| archived(i + 1, i * 100 + 1, (i + 1) * 100 + 1))
            .chain([log(1, 7, 601, None, RedoLogKind::Online)])
            .collect();
        let w = windows(&logs, 50, 650, 250);
        let ranges: Vec<(u64, u64, usize)> = w
            .iter()
            .map(|w| (w.start_scn, w.end_scn, w.logs.len()))
            .collect();
        assert_eq!(ranges, [(50, 300, 3), (301, 600, 3), (601, 650, 1)]);
        // Contiguous and complete.
        for pair in w.windows(2) {
            assert_eq!(pair[0].end_scn + 1, pair[1].start_scn);
        }
        // One huge window when the limit is never reached.
        assert_eq!(windows(&logs, 50, 650, u64::MAX).len(), 1);
        assert!(windows(&logs, 700, 650, 1).is_empty());
    }
}
