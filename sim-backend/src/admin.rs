//! What a DBA does to the simulated redo (and `sim-admin redo` exposes): archive mode,
//! supplemental logging, log size, log switches, purging archived logs.

use rusqlite::params;

use crate::redo::{self, Cursor};
use crate::{sql_err, SimBackend};
use db_boundary::{DbError, DbResult, RedoLog};

fn flag(on: bool) -> &'static str {
    if on {
        "YES"
    } else {
        "NO"
    }
}

impl SimBackend {
    fn admin<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> DbResult<T>) -> DbResult<T> {
        let session = self.session()?;
        let conn = &session.conn;
        conn.execute_batch("BEGIN IMMEDIATE").map_err(sql_err)?;
        match f(conn) {
            Ok(value) => {
                conn.execute_batch("COMMIT").map_err(sql_err)?;
                Ok(value)
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// `ALTER DATABASE ARCHIVELOG` / `NOARCHIVELOG` (in effect from the next switch).
    pub fn set_archivelog(&self, on: bool) -> DbResult<()> {
        self.admin(|conn| redo::set_meta(conn, "archivelog", flag(on)))
    }

    /// `ALTER DATABASE ADD SUPPLEMENTAL LOG DATA` (minimal) and `... (ALL) COLUMNS`.
    pub fn set_supplemental_logging(&self, minimal: bool, all_columns: bool) -> DbResult<()> {
        self.admin(|conn| {
            redo::set_meta(conn, "supplemental_min", flag(minimal))?;
            redo::set_meta(conn, "supplemental_all", flag(all_columns))
        })
    }

    /// `ALTER TABLE owner.table ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS`.
    pub fn add_table_supplemental_logging(&self, owner: &str, table: &str) -> DbResult<()> {
        self.admin(|conn| {
            let exists: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM sim_tables WHERE owner = ?1 AND table_name = ?2)",
                    params![owner, table],
                    |r| r.get(0),
                )
                .map_err(sql_err)?;
            if !exists {
                return Err(DbError::ora(
                    942,
                    format!("table or view \"{owner}\".\"{table}\" does not exist"),
                ));
            }
            conn.execute(
                "INSERT OR IGNORE INTO sim_supplemental (owner, table_name) VALUES (?1, ?2)",
                params![owner, table],
            )
            .map_err(sql_err)?;
            Ok(())
        })
    }

    /// The size at which an online log switches, in bytes of redo records.
    pub fn set_log_bytes(&self, bytes: u64) -> DbResult<()> {
        self.admin(|conn| redo::set_meta(conn, "log_bytes", &bytes.max(1).to_string()))
    }

    /// `ALTER SYSTEM SWITCH LOGFILE`; returns the new current sequence.
    pub fn switch_logfile(&self) -> DbResult<u64> {
        self.admin(|conn| {
            let mut cursor = Cursor::load(conn)?;
            cursor.switch(conn)?;
            cursor.save(conn)?;
            Ok(cursor.sequence)
        })
    }

    /// Deletes the archived logs up to `through_sequence` (RMAN `DELETE ARCHIVELOG`);
    /// returns how many.
    pub fn purge_archived_logs(&self, through_sequence: u64) -> DbResult<u64> {
        self.admin(|conn| redo::purge(conn, through_sequence))
    }

    /// The redo logs as the tap lists them (V$LOG not archived, V$ARCHIVED_LOG).
    pub fn redo_logs(&self) -> DbResult<Vec<RedoLog>> {
        redo::list_logs(&self.session()?.conn, 0)
    }

    /// A session whose row changes write no redo: direct-path NOLOGGING loads.
    pub fn nologging_session(&self) -> DbResult<crate::SimSession> {
        let mut session = self.session()?;
        session.redo.nologging = true;
        Ok(session)
    }
}
