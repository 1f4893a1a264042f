//! The row sink of one stream's scan: each row becomes a RECORD in the stream's own
//! buffer (or a line of a BATCH file, `crate::batch_files`), and every
//! `state_every_rows` rows, or sooner once the buffer holds [`STATE_EVERY_BYTES`] (or
//! the file `batch_size` rows), the buffer goes out followed by a STATE whose bookmark
//! is the last row's position.

use std::io::Write;
use std::time::Instant;

use db_boundary::{Decimal, RowSink, ScannedRow, Value};
use singer_core::writer::{RecordFrame, WriteError};

use crate::batch_files::BatchFile;
use crate::convert::RowEncoder;
use crate::stream::{now_text, Position, StreamRun};

/// Bytes of RECORDs a stream buffers at most before they go out with a STATE: wide rows
/// and LOBs keep memory flat (10,000 rows of 1 MB CLOBs would be 10 GB), while narrow
/// rows (a 12-column ORDERS row is about 470 bytes) still go by `state_every_rows`.
pub(crate) const STATE_EVERY_BYTES: usize = 8 << 20;

/// Feeds one scan's rows into a [`StreamRun`].
pub(crate) struct StreamRows<'r, 's, W: Write + Send> {
    pub run: &'r mut StreamRun<'s, W>,
    encoder: RowEncoder,
    /// Positions in the row of the columns that make up the stream's position.
    tracked: Vec<usize>,
    /// Those columns of the last row read (and its ROWID, when scanning by ROWID).
    last: Vec<Tracked>,
    last_rowid: Option<String>,
    /// Rows read by this scan.
    pub rows: u64,
    /// The RECORDs' stream, version and `time_extracted` (renewed at each STATE).
    frame: RecordFrame,
    /// That `time_extracted`, for BATCH messages.
    time_extracted: String,
    /// With `batch_config`: the BATCH file the rows go to, once one came.
    batch_file: Option<BatchFile>,
    /// One record's line, reused for every row written to a BATCH file.
    line: Vec<u8>,
}

/// A tracked column's value in the last row, kept in buffers reused from row to row:
/// a key column is copied for every row read, so it must not allocate.
enum Tracked {
    /// A NUMBER's canonical text (a `Decimal` cannot be cloned into an old one's buffer).
    Number(String),
    Other(Value),
}

impl Tracked {
    fn copy_from(&mut self, value: &Value) {
        match (self, value) {
            (Tracked::Number(text), Value::Number(d)) => {
                text.clear();
                text.push_str(d.as_str());
            }
            (Tracked::Other(Value::Text(a)), Value::Text(b)) => a.clone_from(b),
            (slot, Value::Number(d)) => *slot = Tracked::Number(d.as_str().to_owned()),
            (slot, value) => *slot = Tracked::Other(value.clone()),
        }
    }

    fn value(&self) -> Value {
        match self {
            Tracked::Number(text) => {
                Value::Number(Decimal::parse(text).expect("a Decimal's canonical text reads back"))
            }
            Tracked::Other(value) => value.clone(),
        }
    }
}

impl<'r, 's, W: Write + Send> StreamRows<'r, 's, W> {
    pub(crate) fn new(run: &'r mut StreamRun<'s, W>, tracked: Vec<usize>) -> Self {
        let plan = run.plan;
        let encoder = RowEncoder::new(
            &plan
                .columns
                .iter()
                .cloned()
                .zip(plan.styles.iter().copied())
                .collect::<Vec<_>>(),
            run.options.source_offset,
        );
        let time_extracted = now_text();
        let frame = RecordFrame::new(&plan.stream, run.version, Some(&time_extracted));
        StreamRows {
            run,
            encoder,
            last: tracked
                .iter()
                .map(|_| Tracked::Other(Value::Null))
                .collect(),
            tracked,
            last_rowid: None,
            rows: 0,
            frame,
            time_extracted,
            batch_file: None,
            line: Vec::new(),
        }
    }

    /// Finishes the open BATCH file, if any, and names it in a BATCH message in the
    /// stream's buffer: at each STATE, and when the read ends.
    pub(crate) fn close_batch(&mut self) -> Result<(), WriteError> {
        let (Some(file), Some(config)) = (self.batch_file.take(), &self.run.options.batch) else {
            return Ok(());
        };
        let url = file.finish()?;
        let run = &mut *self.run;
        run.local.write_batch(
            &run.plan.stream,
            config.gzip,
            &[url],
            run.version,
            Some(&self.time_extracted),
        )
    }

    /// Writes `values` as one line of the stream's BATCH file, opening one first.
    fn write_to_batch(&mut self, values: &[Value]) -> Result<u64, WriteError> {
        let file = match &mut self.batch_file {
            Some(file) => file,
            None => {
                let run = &*self.run;
                let config = run.options.batch.as_ref().expect("batch mode");
                let path = config.new_path(&run.plan.stream, &run.options.run_id);
                self.batch_file
                    .insert(BatchFile::create(path, config.gzip)?)
            }
        };
        self.line.clear();
        self.encoder.encode(values, &mut self.line);
        file.write_line(&self.line)?;
        Ok(file.rows)
    }

    /// The position of the last row read, or `None` before the first.
    pub(crate) fn position(&self) -> Option<Position> {
        (self.rows > 0).then(|| Position {
            values: self.last.iter().map(Tracked::value).collect(),
            rowid: self.last_rowid.clone(),
        })
    }
}

impl<W: Write + Send> RowSink for StreamRows<'_, '_, W> {
    type Error = WriteError;

    fn row(&mut self, row: ScannedRow<'_>) -> Result<(), WriteError> {
        let values = row.values;
        let in_file = if self.run.options.batch.is_some() {
            self.write_to_batch(values)?
        } else {
            let encoder = &mut self.encoder;
            self.run
                .local
                .write_record_framed(&self.frame, |out| encoder.encode(values, out))?;
            0
        };
        let run = &mut *self.run;
        self.rows += 1;
        for (slot, at) in self.last.iter_mut().zip(&self.tracked) {
            slot.copy_from(&values[*at]);
        }
        if let Some(rowid) = row.rowid {
            match &mut self.last_rowid {
                Some(last) => {
                    last.clear();
                    last.push_str(rowid);
                }
                None => self.last_rowid = Some(rowid.to_owned()),
            }
        }
        run.rows += 1;
        run.since_state += 1;
        let buffered = run.local.inner_mut().len();
        let file_full = run
            .options
            .batch
            .as_ref()
            .is_some_and(|c| in_file >= c.batch_size);
        if run.since_state >= run.options.state_every_rows
            || buffered >= STATE_EVERY_BYTES
            || file_full
        {
            let position = self.position().expect("a row was read");
            self.close_batch()?;
            let run = &mut *self.run;
            run.since_state = 0;
            run.publish_at(Some(&position), true)?;
            self.time_extracted = now_text();
            self.frame =
                RecordFrame::new(&run.plan.stream, run.version, Some(&self.time_extracted));
        }
        self.run.progress();
        Ok(())
    }
}

impl<W: Write + Send> StreamRun<'_, W> {
    /// Logs rows and rows/s every `progress_interval`.
    fn progress(&mut self) {
        if self.rows.is_multiple_of(1024)
            && self.last_progress.elapsed() >= self.options.progress_interval
        {
            self.last_progress = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            tracing::info!(
                stream = %self.plan.stream,
                rows = self.rows,
                rows_per_second = (self.rows as f64 / secs) as u64,
                "progress"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tracked slot gives back the last value copied into it, whichever kinds came
    /// before (numbers are kept as text and read back as the same `Decimal`).
    #[test]
    fn a_tracked_slot_gives_back_the_last_value_copied() {
        let mut slot = Tracked::Other(Value::Null);
        let values = [
            Value::number("-12345678901234567890.5"),
            Value::number("7"),
            Value::Text("b".repeat(40)),
            Value::Text("a".into()),
            Value::Null,
            Value::number("0.001"),
            Value::BinaryDouble(1.5),
        ];
        for value in values {
            slot.copy_from(&value);
            assert_eq!(slot.value(), value);
        }
    }
}
