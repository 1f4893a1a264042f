//! Open transactions: every change of a transaction is kept (as its encoded record) until
//! its COMMIT or ROLLBACK is read. The bytes live in a [`SpillStore`]; what stays in
//! memory per change is a 16-byte index entry, so a million buffered changes cost about
//! 16 MiB plus the store's memory limit.

use std::collections::{BTreeSet, HashMap};

use super::spill::{SpillError, SpillStore};

/// The kind of a buffered change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Update,
    Delete,
}

impl ChangeKind {
    fn code(self) -> u8 {
        match self {
            ChangeKind::Insert => 1,
            ChangeKind::Update => 2,
            ChangeKind::Delete => 3,
        }
    }

    fn from_code(code: u8) -> ChangeKind {
        match code {
            1 => ChangeKind::Insert,
            2 => ChangeKind::Update,
            _ => ChangeKind::Delete,
        }
    }
}

/// Where one buffered change is. `len == 0` marks a change undone by a rollback to a
/// savepoint.
#[derive(Debug, Clone, Copy)]
struct Entry {
    offset: u64,
    len: u32,
    /// A hash of the change's ROWID, to find what a rollback row undoes.
    row: u32,
}

#[derive(Debug)]
struct Txn {
    first_scn: u64,
    /// Position in `Transactions::by_first` (first SCN, arrival number).
    order: (u64, u64),
    entries: Vec<Entry>,
}

/// One buffered change, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change<'a> {
    pub table: usize,
    pub kind: ChangeKind,
    pub body: &'a [u8],
}

/// Changes of open transactions, by XID.
#[derive(Debug)]
pub struct Transactions {
    open: HashMap<Box<str>, Txn>,
    by_first: BTreeSet<(u64, u64)>,
    arrivals: u64,
    store: SpillStore,
    live_bytes: u64,
    live_changes: u64,
    scratch: Vec<u8>,
}

fn row_hash(row_id: &str) -> u32 {
    // FNV-1a: stable and cheap; collisions are resolved by comparing the stored ROWID.
    let mut hash: u32 = 0x811c_9dc5;
    for b in row_id.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// Header of a stored change: table (u16), kind (u8), ROWID length (u16), ROWID.
const HEADER: usize = 5;

impl Transactions {
    pub fn new(memory_limit: usize, max_bytes: u64) -> Transactions {
        Transactions {
            open: HashMap::new(),
            by_first: BTreeSet::new(),
            arrivals: 0,
            store: SpillStore::new(memory_limit, max_bytes),
            live_bytes: 0,
            live_changes: 0,
            scratch: Vec::new(),
        }
    }

    /// Changes currently buffered (undone ones excluded).
    pub fn live_changes(&self) -> u64 {
        self.live_changes
    }

    /// Bytes of memory held: the index entries and the store's memory.
    pub fn memory_bytes(&self) -> usize {
        let entries: usize = self
            .open
            .values()
            .map(|t| t.entries.capacity() * std::mem::size_of::<Entry>() + 64)
            .sum();
        entries + self.store.memory_bytes() + self.scratch.capacity()
    }

    pub fn is_open(&self, xid: &str) -> bool {
        self.open.contains_key(xid)
    }

    /// The first SCN of the oldest open transaction.
    pub fn oldest_first_scn(&self) -> Option<u64> {
        self.by_first.first().map(|(scn, _)| *scn)
    }

    /// Buffers one change of `xid` seen at `scn`; `body` is its encoded record.
    pub fn add(
        &mut self,
        xid: &str,
        scn: u64,
        table: usize,
        kind: ChangeKind,
        row_id: &str,
        body: &[u8],
    ) -> Result<(), SpillError> {
        let mut record = std::mem::take(&mut self.scratch);
        record.clear();
        record.extend_from_slice(&(table as u16).to_le_bytes());
        record.push(kind.code());
        record.extend_from_slice(&(row_id.len() as u16).to_le_bytes());
        record.extend_from_slice(row_id.as_bytes());
        record.extend_from_slice(body);
        let appended = self.store.append(&record);
        let len = record.len() as u32;
        self.scratch = record;
        let offset = appended?;
        if !self.open.contains_key(xid) {
            self.arrivals += 1;
            let order = (scn, self.arrivals);
            self.by_first.insert(order);
            self.open.insert(
                xid.into(),
                Txn {
                    first_scn: scn,
                    order,
                    entries: Vec::new(),
                },
            );
        }
        let txn = self.open.get_mut(xid).expect("inserted above");
        txn.entries.push(Entry {
            offset,
            len,
            row: row_hash(row_id),
        });
        self.live_bytes += u64::from(len);
        self.live_changes += 1;
        Ok(())
    }

    /// Undoes the latest live change of `xid` to `row_id` (a row flagged ROLLBACK).
    /// Returns false when there was none to undo.
    pub fn undo(&mut self, xid: &str, row_id: &str) -> Result<bool, SpillError> {
        let Some(txn) = self.open.get_mut(xid) else {
            return Ok(false);
        };
        let hash = row_hash(row_id);
        let mut buf = std::mem::take(&mut self.scratch);
        let mut found = None;
        for (i, entry) in txn.entries.iter().enumerate().rev() {
            if entry.len == 0 || entry.row != hash {
                continue;
            }
            let id_len = HEADER + row_id.len();
            if (entry.len as usize) < id_len {
                continue;
            }
            self.store.read(entry.offset, id_len, &mut buf)?;
            let stored_len = u16::from_le_bytes([buf[3], buf[4]]) as usize;
            if stored_len == row_id.len() && &buf[HEADER..] == row_id.as_bytes() {
                found = Some(i);
                break;
            }
        }
        self.scratch = buf;
        let Some(i) = found else {
            return Ok(false);
        };
        let entry = &mut txn.entries[i];
        self.live_bytes -= u64::from(entry.len);
        self.live_changes -= 1;
        entry.len = 0;
        Ok(true)
    }

    /// Drops `xid` (rolled back); returns whether it was buffered.
    pub fn discard(&mut self, xid: &str) -> bool {
        match self.open.remove(xid) {
            Some(txn) => {
                self.forget(&txn);
                self.reclaim();
                true
            }
            None => false,
        }
    }

    /// Hands every live change of `xid`, in order, to `each`, then drops the transaction.
    /// Returns how many changes were handed over (0 when `xid` was not buffered).
    pub fn drain<E: From<SpillError>>(
        &mut self,
        xid: &str,
        mut each: impl FnMut(Change<'_>) -> Result<(), E>,
    ) -> Result<u64, E> {
        let Some(txn) = self.open.remove(xid) else {
            return Ok(0);
        };
        let mut buf = std::mem::take(&mut self.scratch);
        let mut count = 0;
        let mut result = Ok(());
        for entry in txn.entries.iter().filter(|e| e.len > 0) {
            if let Err(e) = self.store.read(entry.offset, entry.len as usize, &mut buf) {
                result = Err(E::from(e));
                break;
            }
            let table = u16::from_le_bytes([buf[0], buf[1]]) as usize;
            let kind = ChangeKind::from_code(buf[2]);
            let id_len = u16::from_le_bytes([buf[3], buf[4]]) as usize;
            if let Err(e) = each(Change {
                table,
                kind,
                body: &buf[HEADER + id_len..],
            }) {
                result = Err(e);
                break;
            }
            count += 1;
        }
        self.scratch = buf;
        self.forget(&txn);
        self.reclaim();
        result.map(|()| count)
    }

    fn forget(&mut self, txn: &Txn) {
        self.by_first.remove(&txn.order);
        for entry in txn.entries.iter().filter(|e| e.len > 0) {
            self.live_bytes -= u64::from(entry.len);
            self.live_changes -= 1;
        }
        debug_assert!(txn.first_scn == txn.order.0);
    }

    /// Frees the store when nothing is open, and compacts it when dead bytes dominate.
    fn reclaim(&mut self) {
        if self.open.is_empty() {
            self.store.clear();
            return;
        }
        let total = self.store.stored_bytes();
        if total > 64 << 20 && total > 4 * self.live_bytes {
            if let Err(e) = self.compact() {
                tracing::warn!(error = %e, "compacting the transaction buffer failed; it keeps growing");
            }
        }
    }

    /// Copies the live changes into a fresh store.
    fn compact(&mut self) -> Result<(), SpillError> {
        let mut fresh = self.store.empty_like();
        let mut buf = Vec::new();
        for txn in self.open.values_mut() {
            for entry in txn.entries.iter_mut().filter(|e| e.len > 0) {
                self.store
                    .read(entry.offset, entry.len as usize, &mut buf)?;
                entry.offset = fresh.append(&buf)?;
            }
        }
        self.store = fresh;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(t: &mut Transactions, xid: &str) -> Vec<(usize, ChangeKind, String)> {
        let mut out = Vec::new();
        t.drain::<SpillError>(xid, |c| {
            out.push((c.table, c.kind, String::from_utf8(c.body.to_vec()).unwrap()));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn a_rollback_row_undoes_the_latest_change_to_its_row() {
        let mut t = Transactions::new(1 << 20, 1 << 30);
        t.add("X", 10, 0, ChangeKind::Insert, "R1", b"i1").unwrap();
        t.add("X", 11, 0, ChangeKind::Update, "R1", b"u1").unwrap();
        t.add("X", 12, 1, ChangeKind::Insert, "R2", b"i2").unwrap();
        assert!(t.undo("X", "R1").unwrap());
        assert!(!t.undo("X", "R9").unwrap());
        assert!(!t.undo("Y", "R1").unwrap());
        assert_eq!(t.live_changes(), 2);
        assert_eq!(
            bodies(&mut t, "X"),
            [
                (0, ChangeKind::Insert, "i1".into()),
                (1, ChangeKind::Insert, "i2".into())
            ]
        );
        assert!(!t.is_open("X"));
        assert_eq!(t.live_changes(), 0);
    }

    #[test]
    fn the_oldest_open_transaction_sets_the_low_water() {
        let mut t = Transactions::new(1 << 20, 1 << 30);
        assert_eq!(t.oldest_first_scn(), None);
        t.add("B", 20, 0, ChangeKind::Insert, "R1", b"x").unwrap();
        t.add("A", 10, 0, ChangeKind::Insert, "R2", b"x").unwrap();
        t.add("B", 30, 0, ChangeKind::Insert, "R3", b"x").unwrap();
        assert_eq!(t.oldest_first_scn(), Some(10));
        assert!(t.discard("A"));
        assert_eq!(t.oldest_first_scn(), Some(20));
        assert!(!t.discard("A"));
        assert_eq!(bodies(&mut t, "B").len(), 2);
        assert_eq!(t.oldest_first_scn(), None);
    }

    #[test]
    fn a_million_open_changes_stay_small_in_memory() {
        let mut t = Transactions::new(8 << 20, 1 << 34);
        let body = br#"{"ID":123456,"NAME":"a name of some length","AMOUNT":12345.67,"AT":"2024-01-01T00:00:00Z"}"#;
        for i in 0..1_000_000u64 {
            let xid = format!("{:016X}", i % 1000);
            t.add(&xid, i, 0, ChangeKind::Insert, &format!("ROW{i:015}"), body)
                .unwrap();
        }
        assert_eq!(t.live_changes(), 1_000_000);
        let memory = t.memory_bytes();
        assert!(memory < 64 << 20, "{} MiB in memory", memory >> 20);
        // Every change is still there, in order.
        let changes = bodies(&mut t, &format!("{:016X}", 7));
        assert_eq!(changes.len(), 1000);
        assert!(changes.iter().all(|(_, _, b)| b.as_bytes() == body));
    }
}
