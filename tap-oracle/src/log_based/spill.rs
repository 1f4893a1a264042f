//! An append-only byte store for buffered changes: in memory up to a limit, then in an
//! unnamed temporary file (removed by the OS when the process ends, also when killed),
//! with a hard cap so a runaway transaction stops the run instead of filling the disk.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;

use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SpillError {
    #[error("buffering open transactions in a temporary file failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "open transactions hold more than {limit} bytes of changes (log_buffer_max_bytes); \
         raise the limit, or commit or roll back the long transactions at the source"
    )]
    Full { limit: u64 },
}

/// Bytes written to the file in one go.
const WRITE_CHUNK: usize = 1 << 20;

#[derive(Debug)]
pub struct SpillStore {
    memory: Vec<u8>,
    /// Once spilled, every byte lives in the file; `pending` holds the tail not yet
    /// written to it.
    file: Option<File>,
    pending: Vec<u8>,
    /// Bytes in the file (excluding `pending`).
    written: u64,
    memory_limit: usize,
    max_bytes: u64,
}

impl SpillStore {
    pub fn new(memory_limit: usize, max_bytes: u64) -> SpillStore {
        SpillStore {
            memory: Vec::new(),
            file: None,
            pending: Vec::new(),
            written: 0,
            memory_limit,
            max_bytes,
        }
    }

    /// Bytes stored.
    pub fn stored_bytes(&self) -> u64 {
        match self.file {
            None => self.memory.len() as u64,
            Some(_) => self.written + self.pending.len() as u64,
        }
    }

    /// Whether the store has moved to its file.
    pub fn spilled(&self) -> bool {
        self.file.is_some()
    }

    /// Bytes of memory the store holds (what counts against the memory limit).
    pub fn memory_bytes(&self) -> usize {
        self.memory.capacity() + self.pending.capacity()
    }

    /// Appends `data`, returning its offset.
    pub fn append(&mut self, data: &[u8]) -> Result<u64, SpillError> {
        let offset = self.stored_bytes();
        if offset + data.len() as u64 > self.max_bytes {
            return Err(SpillError::Full {
                limit: self.max_bytes,
            });
        }
        if self.file.is_none() && self.memory.len() + data.len() > self.memory_limit {
            let mut file = tempfile::tempfile()?;
            file.write_all(&self.memory)?;
            self.written = self.memory.len() as u64;
            self.memory = Vec::new();
            self.file = Some(file);
            tracing::info!(
                bytes = self.written,
                "open transactions passed log_buffer_memory_bytes: buffering in a temporary file"
            );
        }
        match &mut self.file {
            None => self.memory.extend_from_slice(data),
            Some(file) => {
                self.pending.extend_from_slice(data);
                if self.pending.len() >= WRITE_CHUNK {
                    file.write_all(&self.pending)?;
                    self.written += self.pending.len() as u64;
                    self.pending.clear();
                }
            }
        }
        Ok(offset)
    }

    /// Reads `len` bytes at `offset` into `out` (replacing its contents).
    pub fn read(&mut self, offset: u64, len: usize, out: &mut Vec<u8>) -> Result<(), SpillError> {
        out.clear();
        match &self.file {
            None => {
                let start = offset as usize;
                out.extend_from_slice(&self.memory[start..start + len]);
            }
            Some(file) => {
                if offset >= self.written {
                    let start = (offset - self.written) as usize;
                    out.extend_from_slice(&self.pending[start..start + len]);
                } else if offset + len as u64 <= self.written {
                    out.resize(len, 0);
                    file.read_exact_at(out, offset)?;
                } else {
                    let in_file = (self.written - offset) as usize;
                    out.resize(in_file, 0);
                    file.read_exact_at(out, offset)?;
                    out.extend_from_slice(&self.pending[..len - in_file]);
                }
            }
        }
        Ok(())
    }

    /// Drops every byte (the file too), keeping the limits.
    pub fn clear(&mut self) {
        *self = SpillStore::new(self.memory_limit, self.max_bytes);
    }

    /// An empty store with the same limits.
    pub fn empty_like(&self) -> SpillStore {
        SpillStore::new(self.memory_limit, self.max_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_in_memory_across_the_spill_and_from_the_pending_tail() {
        let mut store = SpillStore::new(64, 1 << 30);
        let mut offsets = Vec::new();
        for i in 0..5000u32 {
            let data = format!("change-{i}-{}", "x".repeat((i % 50) as usize));
            offsets.push((store.append(data.as_bytes()).unwrap(), data));
        }
        assert!(store.spilled());
        let mut out = Vec::new();
        for (offset, data) in &offsets {
            store.read(*offset, data.len(), &mut out).unwrap();
            assert_eq!(out, data.as_bytes());
        }
        assert!(store.memory_bytes() <= 2 * WRITE_CHUNK + 64);
        store.clear();
        assert_eq!(store.stored_bytes(), 0);
        assert!(!store.spilled());
    }

    #[test]
    fn the_cap_stops_a_runaway_buffer() {
        let mut store = SpillStore::new(16, 100);
        store.append(&[1; 60]).unwrap();
        let error = store.append(&[1; 60]).unwrap_err();
        assert!(
            error.to_string().contains("log_buffer_max_bytes"),
            "{error}"
        );
    }
}
