//! The mining engine, pure logic over the rows of the redo stream (no database): changes
//! are buffered by XID and a transaction's records go out when its COMMIT is read, so
//! they leave in commit order; a ROLLBACK drops the buffer, a row flagged ROLLBACK
//! (rollback to a savepoint) removes the change it undoes. Transactions a stream already
//! received (by its [`LogPosition`]) are skipped, which makes re-mining from a low-water
//! SCN safe. DDL on a mined table, or a row LogMiner could not decode with the current
//! dictionary, stops the run before any later transaction goes out.

use chrono::NaiveDateTime;
use db_boundary::{ChangeOperation, ChangeRow};
use singer_core::writer::WriteError;
use thiserror::Error;

use super::buffer::{ChangeKind, Transactions};
use super::position::LogPosition;
use super::spill::SpillError;
use crate::convert::RowEncoder;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MineError {
    #[error(
        "stream {stream}: column {column} is not in the redo of the change at SCN {scn} \
         (supplemental logging does not cover it); run ALTER TABLE \"{owner}\".\"{table}\" \
         ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS; and start the stream over"
    )]
    NotLogged {
        stream: String,
        owner: String,
        table: String,
        column: String,
        scn: u64,
    },
    #[error(
        "stream {stream}: the table changed shape at SCN {scn} ({info}); changes after the \
         last STATE were not written. Run --discover, review the catalog, and rerun \
         (or remove the stream's bookmark to start over with a new snapshot)"
    )]
    Ddl {
        stream: String,
        scn: u64,
        info: String,
    },
    #[error("the redo stream holds a row change with no table (SCN {0})")]
    NoTable(u64),
    #[error(transparent)]
    Spill(#[from] SpillError),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// One stream being mined: what identifies it in messages, how its records are
/// encoded, and where it stands.
#[derive(Debug)]
pub struct MinedStream {
    pub stream: String,
    pub owner: String,
    pub table: String,
    pub columns: Vec<String>,
    pub encoder: RowEncoder,
    pub position: LogPosition,
}

/// The commit a change belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Commit<'a> {
    pub xid: &'a str,
    pub scn: u64,
    /// RFC 3339, UTC (`2024-01-02T03:04:05Z`).
    pub time: &'a str,
}

/// Where committed changes go (the tap writes them as RECORDs).
pub trait ChangeSink {
    /// One change of a committed transaction, for `stream` (an index of the miner's
    /// streams); `body` is the record object (`{"COL":value,...}`).
    fn change(
        &mut self,
        stream: usize,
        kind: ChangeKind,
        body: &[u8],
        commit: &Commit<'_>,
    ) -> Result<(), MineError>;
}

/// What a fed row was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// A change buffered, undone or skipped: not a transaction boundary.
    Inside,
    /// A COMMIT or ROLLBACK: a transaction boundary, where STATE may be written.
    Boundary { records: u64 },
}

/// The engine: open transactions and every stream's position.
#[derive(Debug)]
pub struct Miner {
    streams: Vec<MinedStream>,
    txns: Transactions,
    /// The SCN of the last row fed.
    cursor: Option<u64>,
    body: Vec<u8>,
    commit_time: String,
}

fn kind_of(operation: ChangeOperation) -> Option<ChangeKind> {
    match operation {
        ChangeOperation::Insert => Some(ChangeKind::Insert),
        ChangeOperation::Update => Some(ChangeKind::Update),
        ChangeOperation::Delete => Some(ChangeKind::Delete),
        _ => None,
    }
}

/// `2024-01-02T03:04:05Z`.
pub fn utc_text(time: &NaiveDateTime, out: &mut String) {
    use std::fmt::Write as _;
    out.clear();
    let _ = write!(out, "{}Z", time.format("%Y-%m-%dT%H:%M:%S"));
}

impl Miner {
    /// `memory_limit` bytes of buffered changes stay in memory; past that they go to a
    /// temporary file, up to `max_bytes`.
    pub fn new(streams: Vec<MinedStream>, memory_limit: usize, max_bytes: u64) -> Miner {
        Miner {
            streams,
            txns: Transactions::new(memory_limit, max_bytes),
            cursor: None,
            body: Vec::new(),
            commit_time: String::new(),
        }
    }

    pub fn streams(&self) -> &[MinedStream] {
        &self.streams
    }

    /// The first SCN to mine for every stream to be served: the lowest low-water SCN.
    pub fn start_scn(&self) -> Option<u64> {
        self.streams.iter().map(|s| s.position.low_water).min()
    }

    /// Changes buffered in open transactions.
    pub fn open_changes(&self) -> u64 {
        self.txns.live_changes()
    }

    /// Memory the buffer holds.
    pub fn buffer_memory(&self) -> usize {
        self.txns.memory_bytes()
    }

    /// Takes one row of the redo stream.
    pub fn feed(&mut self, row: &ChangeRow, sink: &mut dyn ChangeSink) -> Result<Fed, MineError> {
        self.cursor = Some(row.scn);
        match row.operation {
            ChangeOperation::Commit => self.commit(row, sink),
            ChangeOperation::Rollback => {
                self.txns.discard(&row.xid);
                Ok(Fed::Boundary { records: 0 })
            }
            ChangeOperation::Ddl => {
                let stream = row
                    .table
                    .and_then(|t| self.streams.get(t))
                    .map(|s| s.stream.clone())
                    .unwrap_or_default();
                Err(MineError::Ddl {
                    stream,
                    scn: row.scn,
                    info: row.info.clone().unwrap_or_else(|| "DDL".into()),
                })
            }
            op => {
                let kind = kind_of(op).expect("DML here");
                let t = row.table.ok_or(MineError::NoTable(row.scn))?;
                if row.rollback {
                    self.txns.undo(&row.xid, &row.row_id)?;
                    return Ok(Fed::Inside);
                }
                let stream = self.streams.get_mut(t).ok_or(MineError::NoTable(row.scn))?;
                if let Some(missing) = row.values.iter().position(Option::is_none) {
                    return Err(MineError::NotLogged {
                        stream: stream.stream.clone(),
                        owner: stream.owner.clone(),
                        table: stream.table.clone(),
                        column: stream.columns.get(missing).cloned().unwrap_or_default(),
                        scn: row.scn,
                    });
                }
                self.body.clear();
                stream
                    .encoder
                    .encode_values(row.values.iter().flatten(), &mut self.body);
                self.txns
                    .add(&row.xid, row.scn, t, kind, &row.row_id, &self.body)?;
                Ok(Fed::Inside)
            }
        }
    }

    fn commit(&mut self, row: &ChangeRow, sink: &mut dyn ChangeSink) -> Result<Fed, MineError> {
        utc_text(&row.timestamp, &mut self.commit_time);
        let commit = Commit {
            xid: &row.xid,
            scn: row.scn,
            time: &self.commit_time,
        };
        let streams = &self.streams;
        let mut records = 0u64;
        self.txns.drain::<MineError>(&row.xid, |change| {
            if !streams[change.table].position.delivered(row.scn, &row.xid) {
                sink.change(change.table, change.kind, change.body, &commit)?;
                records += 1;
            }
            Ok(())
        })?;
        for stream in &mut self.streams {
            stream.position.deliver(row.scn, &row.xid);
        }
        Ok(Fed::Boundary { records })
    }

    /// Every stream's position at this transaction boundary, with its low-water SCN:
    /// the oldest open transaction's first SCN, at most the stream's `scn`, and never
    /// past a low-water SCN the mining has not reached yet.
    pub fn positions(&self) -> Vec<LogPosition> {
        let oldest = self.txns.oldest_first_scn().unwrap_or(u64::MAX);
        self.streams
            .iter()
            .map(|s| {
                let mut p = s.position.clone();
                let reached = self.cursor.is_some_and(|c| c >= s.position.low_water);
                if reached {
                    p.low_water = oldest.min(p.scn);
                }
                p
            })
            .collect()
    }

    /// A window was read through `end_scn`: every commit up to it is delivered.
    pub fn drained_to(&mut self, end_scn: u64) {
        for stream in &mut self.streams {
            stream.position.drained_to(end_scn);
        }
        self.cursor = Some(self.cursor.map_or(end_scn, |c| c.max(end_scn)));
    }

    /// The positions to keep when the run ends after draining to `end_scn`:
    /// `open_at_start` is the oldest start SCN of the transactions open when `end_scn`
    /// was read, whose changes may not have been in the redo files yet.
    pub fn final_positions(&self, open_at_start: u64) -> Vec<LogPosition> {
        self.positions()
            .into_iter()
            .map(|mut p| {
                p.low_water = p.low_water.min(open_at_start);
                p
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "miner_tests.rs"]
mod tests;
