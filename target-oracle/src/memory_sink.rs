//! An in-memory `Sink` for the loader's unit tests: tables as vectors of rows, with
//! transactions (writes are invisible to [`MemoryDb`] readers until commit, and
//! discarded by rollback), primary-key merges, and injectable row failures.
//!
//! End-to-end tests use the simulated backend (`db_boundary::sim`) through the real
//! binary instead; this one exists so the engine's rules are tested without processes.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use db_boundary::{
    AlterTable, DbError, DbResult, RowFilter, ServerInfo, Sink, TableDef, TableName, Value,
};

use crate::decimal::Decimal;

#[derive(Debug, Clone, Default)]
pub struct MemoryTable {
    pub def: Option<TableDef>,
    pub rows: Vec<Vec<Value>>,
}

impl MemoryTable {
    fn index(&self, column: &str) -> DbResult<usize> {
        self.def
            .as_ref()
            .and_then(|d| d.columns.iter().position(|c| c.name == column))
            .ok_or_else(|| DbError::ora(904, format!("\"{column}\": invalid identifier")))
    }

    /// Rows as maps from column name to value, in row order.
    pub fn records(&self) -> Vec<BTreeMap<String, Value>> {
        let def = self.def.as_ref().expect("table exists");
        self.rows
            .iter()
            .map(|row| {
                def.columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| (c.name.clone(), v.clone()))
                    .collect()
            })
            .collect()
    }
}

/// The committed contents, shared with the test.
pub type MemoryDb = Arc<Mutex<BTreeMap<String, MemoryTable>>>;

/// A `Sink` over a [`MemoryDb`].
pub struct MemorySink {
    committed: MemoryDb,
    working: BTreeMap<String, MemoryTable>,
    pub server: ServerInfo,
    /// Every call, for asserting the order of operations.
    pub log: Arc<Mutex<Vec<String>>>,
    /// Reject (as the database would) any row holding this text value.
    pub poison: Option<String>,
}

impl MemorySink {
    pub fn new(major_version: u32) -> (MemorySink, MemoryDb, Arc<Mutex<Vec<String>>>) {
        let committed = MemoryDb::default();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = MemorySink {
            committed: committed.clone(),
            working: BTreeMap::new(),
            server: ServerInfo {
                version: format!("Oracle Database {major_version}c (in memory)"),
                major_version,
                max_identifier_bytes: if major_version >= 12 { 128 } else { 30 },
                max_string_bytes: 4000,
                user: "LOADER".into(),
                current_schema: "LOADER".into(),
            },
            log: log.clone(),
            poison: None,
        };
        (sink, committed, log)
    }

    fn key(table: &TableName) -> String {
        table.name.clone()
    }

    fn table(&mut self, table: &TableName) -> DbResult<&mut MemoryTable> {
        self.working
            .get_mut(&Self::key(table))
            .filter(|t| t.def.is_some())
            .ok_or_else(|| DbError::ora(942, "table or view does not exist"))
    }

    fn note(&self, entry: String) {
        self.log.lock().unwrap().push(entry);
    }

    fn check_poison(&self, rows: &[Vec<Value>]) -> DbResult<()> {
        if let Some(poison) = &self.poison {
            for (i, row) in rows.iter().enumerate() {
                if row.iter().any(|v| v == &Value::Text(poison.clone())) {
                    return Err(DbError::row_rejected(
                        i,
                        Some(2290),
                        "check constraint (SIM.SYS_C0042) violated",
                    ));
                }
            }
        }
        Ok(())
    }
}

fn matches(filter: &RowFilter, index: Option<usize>, row: &[Value]) -> bool {
    match filter {
        RowFilter::All => true,
        RowFilter::NotNull { .. } => index.is_some_and(|i| !row[i].is_null()),
        RowFilter::LessThan { value, .. } => {
            index.is_some_and(|i| compare(&row[i], value) == Some(Ordering::Less))
        }
        RowFilter::Outside { ranges, .. } => index.is_none_or(|i| {
            !ranges.iter().any(|(low, high)| {
                compare(&row[i], low).is_some_and(|o| o != Ordering::Less)
                    && compare(&row[i], high).is_some_and(|o| o != Ordering::Greater)
            })
        }),
    }
}

/// Numbers compared by value; anything else (NULL included) does not compare.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => {
            Some(Decimal::parse(a).ok()?.cmp_value(&Decimal::parse(b).ok()?))
        }
        _ => None,
    }
}

fn filter_column(filter: &RowFilter) -> Option<&str> {
    match filter {
        RowFilter::All => None,
        RowFilter::NotNull { column }
        | RowFilter::LessThan { column, .. }
        | RowFilter::Outside { column, .. } => Some(column),
    }
}

impl Sink for MemorySink {
    fn server_info(&mut self) -> DbResult<ServerInfo> {
        Ok(self.server.clone())
    }

    fn describe_table(&mut self, table: &TableName) -> DbResult<Option<TableDef>> {
        Ok(self
            .working
            .get(&Self::key(table))
            .and_then(|t| t.def.clone()))
    }

    fn create_table(&mut self, def: &TableDef) -> DbResult<()> {
        self.note(format!("create {}", def.name.name));
        self.working.insert(
            Self::key(&def.name),
            MemoryTable {
                def: Some(def.clone()),
                rows: Vec::new(),
            },
        );
        Ok(())
    }

    fn alter_table(&mut self, table: &TableName, change: &AlterTable) -> DbResult<()> {
        self.note(format!("alter {} {change:?}", table.name));
        let t = self.table(table)?;
        let def = t.def.as_mut().expect("checked");
        match change {
            AlterTable::AddColumn(c) => {
                def.columns.push(c.clone());
                t.rows.iter_mut().for_each(|r| r.push(Value::Null));
            }
            AlterTable::ModifyColumn(c) => {
                let i = def
                    .columns
                    .iter()
                    .position(|x| x.name == c.name)
                    .expect("column");
                def.columns[i] = c.clone();
            }
            AlterTable::RenameColumn { from, to } => {
                let i = def
                    .columns
                    .iter()
                    .position(|x| &x.name == from)
                    .expect("column");
                def.columns[i].name = to.clone();
            }
            AlterTable::CopyColumn { from, to } => {
                let f = def
                    .columns
                    .iter()
                    .position(|x| &x.name == from)
                    .expect("column");
                let t_ = def
                    .columns
                    .iter()
                    .position(|x| &x.name == to)
                    .expect("column");
                for row in &mut t.rows {
                    row[t_] = row[f].clone();
                }
            }
            AlterTable::DropColumn(name) => {
                let i = def
                    .columns
                    .iter()
                    .position(|x| &x.name == name)
                    .expect("column");
                def.columns.remove(i);
                t.rows.iter_mut().for_each(|r| {
                    r.remove(i);
                });
            }
        }
        Ok(())
    }

    fn insert_rows(
        &mut self,
        table: &TableName,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> DbResult<()> {
        self.note(format!("insert {} {}", table.name, rows.len()));
        self.check_poison(rows)?;
        let t = self.table(table)?;
        let indices: Vec<usize> = columns
            .iter()
            .map(|c| t.index(c))
            .collect::<DbResult<_>>()?;
        let width = t.def.as_ref().expect("checked").columns.len();
        for row in rows {
            let mut stored = vec![Value::Null; width];
            for (value, &i) in row.iter().zip(&indices) {
                stored[i] = value.clone();
            }
            t.rows.push(stored);
        }
        Ok(())
    }

    fn merge_rows(
        &mut self,
        table: &TableName,
        columns: &[String],
        key: &[String],
        rows: &[Vec<Value>],
    ) -> DbResult<()> {
        self.note(format!("merge {} {}", table.name, rows.len()));
        self.check_poison(rows)?;
        let t = self.table(table)?;
        let indices: Vec<usize> = columns
            .iter()
            .map(|c| t.index(c))
            .collect::<DbResult<_>>()?;
        let key_positions: Vec<usize> = key
            .iter()
            .map(|k| columns.iter().position(|c| c == k).expect("key column"))
            .collect();
        let width = t.def.as_ref().expect("checked").columns.len();
        for row in rows {
            let existing = t
                .rows
                .iter()
                .position(|stored| key_positions.iter().all(|&p| stored[indices[p]] == row[p]));
            match existing {
                Some(e) => {
                    for (value, &i) in row.iter().zip(&indices) {
                        t.rows[e][i] = value.clone();
                    }
                }
                None => {
                    let mut stored = vec![Value::Null; width];
                    for (value, &i) in row.iter().zip(&indices) {
                        stored[i] = value.clone();
                    }
                    t.rows.push(stored);
                }
            }
        }
        Ok(())
    }

    fn delete_rows(&mut self, table: &TableName, filter: &RowFilter) -> DbResult<u64> {
        self.note(format!("delete {} {filter:?}", table.name));
        let t = self.table(table)?;
        let index = filter_column(filter).map(|c| t.index(c)).transpose()?;
        let before = t.rows.len();
        t.rows.retain(|row| !matches(filter, index, row));
        Ok((before - t.rows.len()) as u64)
    }

    fn update_rows(
        &mut self,
        table: &TableName,
        column: &str,
        value: &Value,
        filter: &RowFilter,
    ) -> DbResult<u64> {
        self.note(format!("update {} {column} {filter:?}", table.name));
        let t = self.table(table)?;
        let target = t.index(column)?;
        let index = filter_column(filter).map(|c| t.index(c)).transpose()?;
        let mut count = 0;
        for row in &mut t.rows {
            if matches(filter, index, row) {
                row[target] = value.clone();
                count += 1;
            }
        }
        Ok(count)
    }

    fn commit(&mut self) -> DbResult<()> {
        self.note("commit".into());
        *self.committed.lock().unwrap() = self.working.clone();
        Ok(())
    }

    fn rollback(&mut self) -> DbResult<()> {
        self.note("rollback".into());
        self.working = self.committed.lock().unwrap().clone();
        Ok(())
    }
}
