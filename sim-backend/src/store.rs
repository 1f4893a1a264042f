//! What the simulated dictionary stores about each table (its dictionary rows, the
//! physical SQLite names, CHECKs), and the LIKE matching discovery scopes use.

use serde::{Deserialize, Serialize};
use singer_core::dictionary::{ColumnRow, ConstraintRow, TableRow};

use db_boundary::{ColumnCheck, ColumnDef, DbError};

use crate::codec;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredColumn {
    pub(crate) row: ColumnRow,
    pub(crate) physical: String,
    pub(crate) check: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredTable {
    pub(crate) table: TableRow,
    pub(crate) columns: Vec<StoredColumn>,
    pub(crate) constraints: Vec<ConstraintRow>,
    pub(crate) physical: String,
    pub(crate) next_column: u32,
    /// Bumped by every ALTER: redo written under another version no longer decodes
    /// with this definition (LogMiner's dictionary version mismatch).
    #[serde(default)]
    pub(crate) version: u64,
    /// The SCN of the commit that ended the table's last DDL: a flashback read before
    /// it fails with ORA-01466, as Oracle's does after DDL.
    #[serde(default)]
    pub(crate) ddl_scn: u64,
}

impl StoredColumn {
    /// The SQL expression that compares and orders this column's values as Oracle
    /// does, and the same for a bound value. A TIMESTAMP WITH TIME ZONE is stored as
    /// its instant followed by its offset (see [`codec`]); Oracle compares the instant
    /// only, so `10:00 +02:00` equals `08:00 +00:00`: compare the instant's bytes.
    pub(crate) fn compared(&self, bind: &str) -> (String, String) {
        if self.row.data_type.contains("WITH TIME ZONE") {
            let width = codec::TIMESTAMP_TZ_INSTANT_BYTES;
            (
                format!("substr({}, 1, {width})", self.physical),
                format!("substr({bind}, 1, {width})"),
            )
        } else {
            (self.physical.clone(), bind.to_owned())
        }
    }
}

impl StoredTable {
    pub(crate) fn column(&self, name: &str) -> Option<&StoredColumn> {
        self.columns.iter().find(|c| c.row.column_name == name)
    }

    /// Every column with its type, as a read requests them.
    pub(crate) fn scan_columns(&self) -> Vec<db_boundary::ScanColumn> {
        self.columns
            .iter()
            .map(|c| {
                db_boundary::ScanColumn::new(
                    c.row.column_name.clone(),
                    singer_core::oracle_type::OracleType::from_column(&c.row),
                )
            })
            .collect()
    }

    pub(crate) fn primary_key(&self) -> Vec<String> {
        let mut keys: Vec<&ConstraintRow> = self
            .constraints
            .iter()
            .filter(|k| k.constraint_type == "P")
            .collect();
        keys.sort_by_key(|k| k.position);
        keys.into_iter().map(|k| k.column_name.clone()).collect()
    }
}

pub(crate) fn sql_err(e: rusqlite::Error) -> DbError {
    DbError::Database {
        code: None,
        message: format!("simulated backend storage: {e}"),
    }
}

pub(crate) fn check_to_text(check: Option<ColumnCheck>) -> Option<String> {
    check.map(|c| match c {
        ColumnCheck::ZeroOrOne => "ZERO_OR_ONE".to_owned(),
        ColumnCheck::IsJson => "IS_JSON".to_owned(),
    })
}

pub(crate) fn check_from_text(text: Option<&str>) -> Option<ColumnCheck> {
    match text {
        Some("ZERO_OR_ONE") => Some(ColumnCheck::ZeroOrOne),
        Some("IS_JSON") => Some(ColumnCheck::IsJson),
        _ => None,
    }
}

/// The dictionary row Oracle would report for a column created with `def`.
pub fn column_row(owner: &str, table: &str, column_id: u32, def: &ColumnDef) -> ColumnRow {
    ColumnRow::describing(
        owner,
        table,
        column_id,
        &def.name,
        &def.data_type,
        def.nullable,
    )
}

/// Oracle's LIKE with `\` as ESCAPE: `%` any run, `_` one character.
pub fn like_match(pattern: &str, text: &str) -> bool {
    let mut glob = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('*') => glob.push_str("\u{0}*"),
                Some('?') => glob.push_str("\u{0}?"),
                Some(next) => glob.push(next),
                None => glob.push('\\'),
            },
            '%' => glob.push('*'),
            '_' => glob.push('?'),
            '*' | '?' => {
                glob.push('\u{0}');
                glob.push(c);
            }
            c => glob.push(c),
        }
    }
    like_glob(
        &glob.chars().collect::<Vec<_>>(),
        &text.chars().collect::<Vec<_>>(),
    )
}

/// Glob where `\0` before `*`/`?` makes them literal.
pub(crate) fn like_glob(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('\u{0}') => !t.is_empty() && p.get(1) == t.first() && like_glob(&p[2..], &t[1..]),
        Some('*') => (0..=t.len()).any(|i| like_glob(&p[1..], &t[i..])),
        Some('?') => !t.is_empty() && like_glob(&p[1..], &t[1..]),
        Some(c) => t.first() == Some(c) && like_glob(&p[1..], &t[1..]),
    }
}
