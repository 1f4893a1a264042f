//! Every statement LOG_BASED replication sends to Oracle (LogMiner and the views around
//! it), as pure functions of their inputs, each with its bind plan: the name, Oracle
//! type, size and meaning of every bind, in the order they appear. The snapshot test at
//! the bottom is the reviewable list. See docs/log-based.md for why each one exists.
//!
//! Never `CONTINUOUS_MINE` (desupported in 19c, ORA-44609): the tap lists and adds the
//! log files itself, or in a PDB lets START_LOGMNR pick them by SCN range.

use std::fmt;

use db_boundary::{DbError, MinedTable};
use singer_core::oracle_type::{LengthSemantics, OracleType};

use crate::sql::{in_lists, quote_identifier};

/// The Oracle type a bind is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindType {
    /// A `u64` bound as NUMBER (SCNs, object ids).
    Number,
    /// A `&str` bound as VARCHAR2 of at most this many bytes (never NVARCHAR2: these
    /// binds meet VARCHAR2 dictionary columns and DBMS_LOGMNR's VARCHAR2 parameters).
    Varchar2(u32),
}

/// One bind of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub name: String,
    pub bind_type: BindType,
    pub meaning: String,
}

/// A statement and its bind plan: every named bind once, bound by name (a name may
/// appear several times in the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub binds: Vec<Bind>,
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.sql)?;
        for b in &self.binds {
            let t = match b.bind_type {
                BindType::Number => "NUMBER".to_owned(),
                BindType::Varchar2(n) => format!("VARCHAR2({n})"),
            };
            writeln!(f, "  :{} {t} -- {}", b.name, b.meaning)?;
        }
        Ok(())
    }
}

fn bind(name: impl Into<String>, bind_type: BindType, meaning: impl Into<String>) -> Bind {
    Bind {
        name: name.into(),
        bind_type,
        meaning: meaning.into(),
    }
}

fn plain(sql: &str) -> Statement {
    Statement {
        sql: sql.to_owned(),
        binds: Vec::new(),
    }
}

/// Oracle's file name limit for ADD_LOGFILE (V$LOGFILE.MEMBER is VARCHAR2(513)).
pub const MAX_LOG_FILE_NAME: u32 = 513;
/// DBMS_LOGMNR's fully qualified column name: three quoted identifiers of up to 128 bytes.
pub const MAX_MINED_COLUMN_NAME: u32 = 3 * (128 + 2) + 2;
/// Oracle's select list limit is 1,000 expressions; the query uses 2 per column slot and
/// 10 fixed ones.
pub const MAX_MINED_COLUMNS: usize = 495;

/// DBID, incarnation and container of the session's database.
pub fn database_identity() -> Statement {
    plain(
        "SELECT DBID, RESETLOGS_CHANGE#, TO_NUMBER(SYS_CONTEXT('USERENV', 'CON_ID')) FROM V$DATABASE",
    )
}

/// Archive mode and database-level supplemental logging.
pub fn database_logging() -> Statement {
    plain("SELECT LOG_MODE, SUPPLEMENTAL_LOG_DATA_MIN, SUPPLEMENTAL_LOG_DATA_ALL FROM V$DATABASE")
}

/// The roles enabled in the session (EXECUTE_CATALOG_ROLE).
pub fn session_roles() -> Statement {
    plain("SELECT ROLE FROM SESSION_ROLES ORDER BY ROLE")
}

/// A probe that parses only when the session may read `view` (ORA-00942 otherwise).
/// `view` is one of [`db_boundary::redo::MINING_VIEWS`], never user input.
pub fn view_probe(view: &str) -> Result<Statement, DbError> {
    if !db_boundary::redo::MINING_VIEWS.contains(&view) {
        return Err(DbError::Config(format!("{view} is not a mining view")));
    }
    Ok(plain(&format!("SELECT 1 FROM {view} WHERE 1 = 0")))
}

/// The archive destination the tap reads: the first VALID LOCAL one.
const LOCAL_DEST: &str =
    "(SELECT MIN(DEST_ID) FROM V$ARCHIVE_DEST_STATUS WHERE STATUS = 'VALID' AND TYPE = 'LOCAL')";

/// The oldest archived log still available, per thread, for the retention report.
pub fn oldest_archived_logs() -> Statement {
    plain(&format!(
        "SELECT THREAD#, SEQUENCE#, FIRST_CHANGE#, TO_CHAR(FIRST_TIME, 'YYYY-MM-DD\"T\"HH24:MI:SS') \
         FROM V$ARCHIVED_LOG WHERE (THREAD#, SEQUENCE#) IN (\
         SELECT THREAD#, MIN(SEQUENCE#) FROM V$ARCHIVED_LOG \
         WHERE STATUS = 'A' AND DELETED = 'NO' AND DEST_ID = {LOCAL_DEST} \
         AND RESETLOGS_CHANGE# = (SELECT RESETLOGS_CHANGE# FROM V$DATABASE) GROUP BY THREAD#) \
         AND DEST_ID = {LOCAL_DEST} ORDER BY THREAD#"
    ))
}

/// Redo logs whose redo reaches past `:from_scn`: online logs not yet archived (one valid
/// member per group) and the archived logs of the first valid local destination of the
/// current incarnation, purged ones included (STATUS 'D', NAME NULL) so a gap can be
/// named. Columns: KIND, THREAD#, SEQUENCE#, FIRST_CHANGE#, NEXT_CHANGE#, NAME, BYTES,
/// AVAILABLE ('Y'/'N'). NEXT_CHANGE# is NULL for a thread's current log.
pub fn redo_logs() -> Statement {
    Statement {
        sql: format!(
            "SELECT 'ONLINE' AS KIND, L.THREAD#, L.SEQUENCE#, L.FIRST_CHANGE#, \
             CASE WHEN L.STATUS = 'CURRENT' THEN NULL ELSE L.NEXT_CHANGE# END AS NEXT_CHANGE#, \
             (SELECT MIN(F.MEMBER) FROM V$LOGFILE F WHERE F.GROUP# = L.GROUP# AND F.TYPE = 'ONLINE' \
             AND (F.STATUS IS NULL OR F.STATUS NOT IN ('INVALID', 'DELETED'))) AS NAME, \
             L.BYTES, 'Y' AS AVAILABLE \
             FROM V$LOG L \
             WHERE L.STATUS IN ('CURRENT', 'ACTIVE', 'INACTIVE') AND L.ARCHIVED = 'NO' \
             AND (L.STATUS = 'CURRENT' OR L.NEXT_CHANGE# > :from_scn) \
             UNION ALL \
             SELECT 'ARCHIVED', A.THREAD#, A.SEQUENCE#, A.FIRST_CHANGE#, A.NEXT_CHANGE#, A.NAME, \
             A.BLOCKS * A.BLOCK_SIZE, \
             CASE WHEN A.STATUS = 'A' AND A.DELETED = 'NO' AND A.NAME IS NOT NULL THEN 'Y' ELSE 'N' END \
             FROM V$ARCHIVED_LOG A \
             WHERE A.DEST_ID = {LOCAL_DEST} AND A.STANDBY_DEST = 'NO' \
             AND A.RESETLOGS_CHANGE# = (SELECT RESETLOGS_CHANGE# FROM V$DATABASE) \
             AND A.NEXT_CHANGE# > :from_scn \
             ORDER BY 2, 3, 1"
        ),
        binds: vec![bind(
            "from_scn",
            BindType::Number,
            "the first SCN still to mine (the checkpoint's low-water SCN)",
        )],
    }
}

/// First, the oldest start SCN of the open transactions and the SCN at that moment;
/// the snapshot SCN is read after it (see [`db_boundary::SnapshotPoint`]).
pub fn open_transactions_low_water() -> Statement {
    plain("SELECT CURRENT_SCN, (SELECT MIN(START_SCN) FROM V$TRANSACTION) FROM V$DATABASE")
}

fn owner_table_binds() -> Vec<Bind> {
    vec![
        bind(
            "owner",
            BindType::Varchar2(128),
            "the table's owner, exact case",
        ),
        bind(
            "table_name",
            BindType::Varchar2(128),
            "the table's name, exact case",
        ),
    ]
}

/// The object ids of a table and its partitions (LogMiner's DATA_OBJ#).
pub fn table_objects() -> Statement {
    Statement {
        sql: "SELECT OBJECT_ID FROM ALL_OBJECTS WHERE OWNER = :owner AND OBJECT_NAME = :table_name \
              AND OBJECT_TYPE IN ('TABLE', 'TABLE PARTITION', 'TABLE SUBPARTITION') ORDER BY OBJECT_ID"
            .to_owned(),
        binds: owner_table_binds(),
    }
}

/// Whether a table's supplemental logging covers all columns (one row when it does).
pub fn table_all_column_logging() -> Statement {
    Statement {
        sql: "SELECT LOG_GROUP_NAME FROM ALL_LOG_GROUPS WHERE OWNER = :owner AND TABLE_NAME = :table_name \
              AND LOG_GROUP_TYPE = 'ALL COLUMN LOGGING'"
            .to_owned(),
        binds: owner_table_binds(),
    }
}

/// Adds one redo log file to the session's list (not in a PDB: Oracle refuses it there).
pub fn add_logfile() -> Statement {
    Statement {
        sql: "BEGIN SYS.DBMS_LOGMNR.ADD_LOGFILE(LOGFILENAME => :log_file, OPTIONS => SYS.DBMS_LOGMNR.ADDFILE); END;"
            .to_owned(),
        binds: vec![bind(
            "log_file",
            BindType::Varchar2(MAX_LOG_FILE_NAME),
            "V$LOGFILE.MEMBER or V$ARCHIVED_LOG.NAME of one log of the window",
        )],
    }
}

/// Starts the session on an SCN range with the online catalog as dictionary. Never
/// CONTINUOUS_MINE; never COMMITTED_DATA_ONLY (the tap buffers transactions itself, so
/// open transactions can be carried across runs).
pub fn start_logmnr() -> Statement {
    Statement {
        sql: "BEGIN SYS.DBMS_LOGMNR.START_LOGMNR(STARTSCN => :start_scn, ENDSCN => :end_scn, \
              OPTIONS => SYS.DBMS_LOGMNR.DICT_FROM_ONLINE_CATALOG); END;"
            .to_owned(),
        binds: vec![
            bind("start_scn", BindType::Number, "the window's first SCN"),
            bind("end_scn", BindType::Number, "the window's last SCN"),
        ],
    }
}

/// The logs the session reads; STATUS 4 marks a missing log (a gap in the redo).
/// Columns: THREAD_ID, THREAD_SQN, LOW_SCN, NEXT_SCN, STATUS, INFO.
pub fn logmnr_logs() -> Statement {
    plain(
        "SELECT THREAD_ID, THREAD_SQN, LOW_SCN, NEXT_SCN, STATUS, INFO FROM V$LOGMNR_LOGS \
         ORDER BY THREAD_ID, THREAD_SQN",
    )
}

/// Ends the session (also after a failure, so the server frees its memory).
pub fn end_logmnr() -> Statement {
    plain("BEGIN SYS.DBMS_LOGMNR.END_LOGMNR; END;")
}

/// Text formats MINE_VALUE writes in, for the mining session only: signed years (so a
/// date BC is not read as AD) and every fractional digit. [`crate::sql::session_setup`]
/// restores the tap's formats after the session.
pub fn mining_formats() -> Vec<Statement> {
    [
        "ALTER SESSION SET NLS_NUMERIC_CHARACTERS = '.,'",
        "ALTER SESSION SET NLS_DATE_FORMAT = 'SYYYY-MM-DD\"T\"HH24:MI:SS'",
        "ALTER SESSION SET NLS_TIMESTAMP_FORMAT = 'SYYYY-MM-DD\"T\"HH24:MI:SS.FF9'",
        "ALTER SESSION SET NLS_TIMESTAMP_TZ_FORMAT = 'SYYYY-MM-DD\"T\"HH24:MI:SS.FF9TZH:TZM'",
    ]
    .iter()
    .map(|s| plain(s))
    .collect()
}

/// OPERATION_CODE values of V$LOGMNR_CONTENTS the tap reads.
pub mod operation_code {
    pub const INSERT: i64 = 1;
    pub const DELETE: i64 = 2;
    pub const UPDATE: i64 = 3;
    pub const DDL: i64 = 5;
    pub const COMMIT: i64 = 7;
    pub const ROLLBACK: i64 = 36;
}

const NUMBER: OracleType = OracleType::Number {
    precision: None,
    scale: None,
};

/// A VARCHAR2 of `length` bytes, as the server describes a mining column.
const fn text(length: u32) -> OracleType {
    OracleType::Varchar2 {
        length,
        semantics: LengthSemantics::Byte,
    }
}

/// Fixed columns of [`mining_query`], in order, before the column slots, each with the
/// type the server describes it as (for the driver's define buffers).
pub const MINING_FIXED_COLUMNS: &[(&str, OracleType)] = &[
    ("SCN", NUMBER),
    ("XID", text(16)),
    ("OPERATION_CODE", NUMBER),
    ("ROLLBACK", NUMBER),
    ("DATA_OBJ#", NUMBER),
    ("ROW_ID", text(18)),
    ("COMMIT_TIME_UTC", text(19)),
    ("STATUS", NUMBER),
    ("INFO", text(32)),
    ("DDL_TEXT", text(1000)),
];

/// A column slot's two columns: `P{k}` (COLUMN_PRESENT) and `V{k}` (MINE_VALUE, a
/// VARCHAR2(4000)).
const SLOT_COLUMNS: &[OracleType] = &[NUMBER, text(4000)];

/// Rows per fetch of [`mining_query`] when `wanted` are asked for: fewer when the
/// driver's define buffers would pass the array budget (`db_boundary::arrays`). Each
/// value slot is a MINE_VALUE result, described as VARCHAR2(4000): 16 KB a row in the
/// driver whatever it holds, so a 30-column table at 1,000 rows would take 480 MB.
pub fn mining_fetch_rows(tables: &[MinedTable], wanted: u32) -> u32 {
    let width = tables.iter().map(|t| t.columns.len()).max().unwrap_or(0);
    let elements = MINING_FIXED_COLUMNS
        .iter()
        .map(|(_, data_type)| data_type)
        .chain(SLOT_COLUMNS.iter().cycle().take(2 * width))
        .map(db_boundary::arrays::fetch_element);
    u32::try_from(db_boundary::arrays::rows_within_budget(
        elements,
        wanted.max(1) as usize,
    ))
    .unwrap_or(wanted)
}

/// The one mining query for every mined table of the session, in redo order: COMMIT and
/// ROLLBACK rows of every transaction (DATA_OBJ# 0) and the DML and DDL rows of the
/// tables' objects, every id and name bound.
///
/// After the fixed columns come two columns per slot k (k < the widest table's
/// width): `P{k}`, for UPDATEs only, `COLUMN_PRESENT(REDO) + 2 * COLUMN_PRESENT(UNDO)`
/// of the table's column k (0 = not logged); `V{k}`, its value: from UNDO_VALUE for a
/// DELETE and for an UPDATE that did not change it, else from REDO_VALUE. Which table's
/// column fills slot k is chosen by DATA_OBJ#; rows flagged ROLLBACK get no values
/// (the tap matches them by ROW_ID).
pub fn mining_query(tables: &[MinedTable]) -> Result<Statement, DbError> {
    let mut binds = vec![
        bind("start_scn", BindType::Number, "the window's first SCN"),
        bind("end_scn", BindType::Number, "the window's last SCN"),
    ];
    let mut objects_of = Vec::with_capacity(tables.len());
    let mut ddl_names = Vec::with_capacity(tables.len());
    for (t, table) in tables.iter().enumerate() {
        if table.object_ids.is_empty() {
            return Err(DbError::Unsupported(format!(
                "\"{}\".\"{}\" has no object id to mine",
                table.owner, table.table
            )));
        }
        if table.columns.len() > MAX_MINED_COLUMNS {
            return Err(DbError::Unsupported(format!(
                "\"{}\".\"{}\" has {} columns; LOG_BASED reads at most {MAX_MINED_COLUMNS}",
                table.owner,
                table.table,
                table.columns.len()
            )));
        }
        let ids: Vec<String> = (0..table.object_ids.len())
            .map(|i| {
                let name = format!("o{t}_{i}");
                binds.push(bind(
                    &name,
                    BindType::Number,
                    format!(
                        "object id {} of \"{}\".\"{}\"",
                        i + 1,
                        table.owner,
                        table.table
                    ),
                ));
                format!(":{name}")
            })
            .collect();
        objects_of.push(in_lists("DATA_OBJ#", &ids));
        binds.push(bind(
            format!("w{t}"),
            BindType::Varchar2(128),
            format!("owner of table {t}, for its DDL rows"),
        ));
        binds.push(bind(
            format!("n{t}"),
            BindType::Varchar2(128),
            format!("name of table {t}, for its DDL rows"),
        ));
        ddl_names.push(format!("(SEG_OWNER = :w{t} AND TABLE_NAME = :n{t})"));
    }
    // With one table, every DML row the WHERE lets through is that table's: its slots
    // need no test of DATA_OBJ# (a partitioned table's list is long, and would be
    // repeated twice for every column).
    let slot_tests: Vec<String> = match tables.len() {
        1 => vec![String::new()],
        _ => objects_of.iter().map(|o| format!("{o} AND ")).collect(),
    };
    let slots = column_slots(tables, &slot_tests, &mut binds)?;
    let objects_any = objects_of.join(" OR ");
    let mut select = vec![
        "SCN".to_owned(),
        "RAWTOHEX(XID) AS XID".to_owned(),
        "OPERATION_CODE".to_owned(),
        "ROLLBACK".to_owned(),
        "DATA_OBJ#".to_owned(),
        "ROW_ID".to_owned(),
        // TIMESTAMP (quoted: a keyword) is a DATE in the server's clock; written in UTC
        // with its current offset.
        "TO_CHAR(SYS_EXTRACT_UTC(FROM_TZ(CAST(\"TIMESTAMP\" AS TIMESTAMP), TO_CHAR(SYSTIMESTAMP, 'TZH:TZM'))), \
         'YYYY-MM-DD\"T\"HH24:MI:SS') AS COMMIT_TIME_UTC"
            .to_owned(),
        "STATUS".to_owned(),
        "INFO".to_owned(),
        "CASE WHEN OPERATION_CODE = 5 THEN SUBSTR(SQL_REDO, 1, 1000) END AS DDL_TEXT".to_owned(),
    ];
    select.extend(slots);
    let sql = format!(
        "SELECT {} FROM V$LOGMNR_CONTENTS WHERE SCN >= :start_scn AND SCN <= :end_scn AND (\
         OPERATION_CODE IN (7, 36) \
         OR (OPERATION_CODE IN (1, 2, 3) AND ({objects_any})) \
         OR (OPERATION_CODE = 5 AND ({objects_any} OR {})))",
        select.join(", "),
        ddl_names.join(" OR ")
    );
    Ok(Statement { sql, binds })
}

/// The two select items of every column slot (see [`mining_query`]), binding each
/// table's column names as they are used; `tests[t]` is what picks table t's rows
/// (`"<condition> AND "`, or nothing when one table is mined).
fn column_slots(
    tables: &[MinedTable],
    tests: &[String],
    binds: &mut Vec<Bind>,
) -> Result<Vec<String>, DbError> {
    let width = tables.iter().map(|t| t.columns.len()).max().unwrap_or(0);
    let mut slots = Vec::with_capacity(width * 2);
    for k in 0..width {
        let mut present = String::from("CASE");
        let mut value = String::from("CASE");
        for (t, table) in tables.iter().enumerate() {
            let Some(column) = table.columns.get(k) else {
                continue;
            };
            let name = format!("c{t}_{k}");
            binds.push(bind(
                &name,
                BindType::Varchar2(MAX_MINED_COLUMN_NAME),
                format!("{}.{}.{} quoted", table.owner, table.table, column.name),
            ));
            // Checked here so a name Oracle could not take never reaches MINE_VALUE.
            quote_identifier(&column.name)?;
            let objects = &tests[t];
            present.push_str(&format!(
                " WHEN {objects}OPERATION_CODE = 3 AND ROLLBACK = 0 THEN \
                 DBMS_LOGMNR.COLUMN_PRESENT(REDO_VALUE, :{name}) + 2 * DBMS_LOGMNR.COLUMN_PRESENT(UNDO_VALUE, :{name})"
            ));
            value.push_str(&format!(
                " WHEN {objects}OPERATION_CODE IN (1, 2, 3) AND ROLLBACK = 0 THEN \
                 CASE WHEN OPERATION_CODE = 2 OR (OPERATION_CODE = 3 AND DBMS_LOGMNR.COLUMN_PRESENT(REDO_VALUE, :{name}) = 0) \
                 THEN DBMS_LOGMNR.MINE_VALUE(UNDO_VALUE, :{name}) ELSE DBMS_LOGMNR.MINE_VALUE(REDO_VALUE, :{name}) END"
            ));
        }
        slots.push(format!("{present} END AS P{k}"));
        slots.push(format!("{value} END AS V{k}"));
    }
    Ok(slots)
}

/// The MINE_VALUE name of a column: `"OWNER"."TABLE"."COLUMN"`, exact case.
pub fn mined_column_name(owner: &str, table: &str, column: &str) -> Result<String, DbError> {
    Ok(format!(
        "{}.{}.{}",
        quote_identifier(owner)?,
        quote_identifier(table)?,
        quote_identifier(column)?
    ))
}

/// One row of V$LOGMNR_LOGS, as [`logmnr_logs`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogmnrLog {
    pub thread: u32,
    pub sequence: u64,
    pub low_scn: u64,
    pub next_scn: u64,
    pub status: i64,
    pub info: Option<String>,
}

/// A missing log among a session's logs (STATUS 4, INFO 'MISSING_SCN'), as a message
/// naming thread, sequence and SCN range; `None` when the redo is complete.
pub fn missing_log(logs: &[LogmnrLog]) -> Option<String> {
    logs.iter()
        .find(|l| l.status == 4 || l.info.as_deref() == Some("MISSING_SCN"))
        .map(|l| {
            format!(
                "redo log of thread {} sequence {} (SCN {} to {}) is missing from the mining session",
                l.thread, l.sequence, l.low_scn, l.next_scn
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use db_boundary::MinedColumn;
    use singer_core::oracle_type::{LengthSemantics, OracleType};

    fn column(name: &str, data_type: OracleType) -> MinedColumn {
        MinedColumn {
            name: name.into(),
            data_type,
        }
    }

    #[test]
    fn mining_fetches_fewer_rows_as_tables_widen() {
        // Two value slots and DDL_TEXT: about 36 KB a row, some 900 rows.
        let narrow = mining_fetch_rows(&tables(), 1000);
        assert!((800..1000).contains(&narrow), "{narrow}");
        assert_eq!(mining_fetch_rows(&tables(), 100), 100);
        let wide = vec![MinedTable {
            owner: "HR".into(),
            table: "WIDE".into(),
            object_ids: vec![1],
            columns: (0..30)
                .map(|i| column(&format!("C{i}"), OracleType::Date))
                .collect(),
        }];
        // 30 value slots of 16 KB each: about 70 rows fit the 32 MiB budget.
        let rows = mining_fetch_rows(&wide, 1000);
        assert!((50..100).contains(&rows), "{rows}");
        assert_eq!(mining_fetch_rows(&wide, 10), 10);
    }

    fn tables() -> Vec<MinedTable> {
        vec![
            MinedTable {
                owner: "HR".into(),
                table: "EMPLOYEES".into(),
                object_ids: vec![73120],
                columns: vec![
                    column(
                        "ID",
                        OracleType::Number {
                            precision: Some(10),
                            scale: Some(0),
                        },
                    ),
                    column(
                        "name",
                        OracleType::Varchar2 {
                            length: 50,
                            semantics: LengthSemantics::Char,
                        },
                    ),
                ],
            },
            MinedTable {
                owner: "SALES".into(),
                table: "Orders".into(),
                object_ids: vec![73200, 73201],
                columns: vec![column(
                    "ORDER_ID",
                    OracleType::Number {
                        precision: None,
                        scale: None,
                    },
                )],
            },
        ]
    }

    #[test]
    fn every_logminer_statement_and_its_binds() {
        let mut out = String::new();
        let mut add = |title: &str, s: Statement| out.push_str(&format!("-- {title}\n{s}\n"));
        add("database identity", database_identity());
        add("database logging", database_logging());
        add("session roles", session_roles());
        add("view probe", view_probe("V$LOGMNR_CONTENTS").unwrap());
        add("oldest archived logs", oldest_archived_logs());
        add("redo logs", redo_logs());
        add("open transactions low water", open_transactions_low_water());
        add("table objects", table_objects());
        add("table all-column logging", table_all_column_logging());
        for s in mining_formats() {
            add("mining formats", s);
        }
        add("add log file", add_logfile());
        add("start LogMiner", start_logmnr());
        add("session logs", logmnr_logs());
        add("mining query, two tables", mining_query(&tables()).unwrap());
        add(
            "mining query, one table (its slots need no object test)",
            mining_query(&tables()[1..]).unwrap(),
        );
        add("end LogMiner", end_logmnr());
        insta::assert_snapshot!(out);
    }

    /// A table with 2,500 partitions and subpartitions: its objects go in IN lists of at
    /// most 1000 (ORA-01795 beyond), every object is bound, and with one table mined the
    /// list is not repeated in each column's slots.
    #[test]
    fn a_table_of_many_partitions_stays_within_the_in_list_limit() {
        let mut table = tables().remove(1);
        table.object_ids = (0..2500).map(|i| 80_000 + i).collect();
        let query = mining_query(std::slice::from_ref(&table)).unwrap();
        let lists: Vec<usize> = query
            .sql
            .split("DATA_OBJ# IN (")
            .skip(1)
            .map(|rest| rest.split(')').next().unwrap().split(", ").count())
            .collect();
        // Three lists (1000, 1000, 500), once for DML rows and once for DDL rows.
        assert_eq!(lists, [1000, 1000, 500, 1000, 1000, 500]);
        for i in 0..2500 {
            let name = format!(":o0_{i}");
            let uses = query.sql.matches(&format!("{name},")).count()
                + query.sql.matches(&format!("{name})")).count();
            assert_eq!(uses, 2, "{name}");
        }
        let id_binds = query
            .binds
            .iter()
            .filter(|b| b.name.starts_with("o0_"))
            .count();
        assert_eq!(id_binds, 2500);
        // Two tables still test DATA_OBJ# in their slots, each list within the limit.
        let mut two = tables();
        two[1] = table;
        let query = mining_query(&two).unwrap();
        assert!(query.sql.contains("WHEN (DATA_OBJ# IN (:o1_0,"));
        assert!(query.sql.split("IN (").skip(1).all(|rest| rest
            .split(')')
            .next()
            .unwrap()
            .split(", ")
            .count()
            <= 1000));
    }

    #[test]
    fn no_statement_uses_continuous_mine_or_pastes_a_value() {
        let all = [
            redo_logs(),
            start_logmnr(),
            add_logfile(),
            mining_query(&tables()).unwrap(),
        ];
        for s in &all {
            assert!(!s.sql.contains("CONTINUOUS_MINE"), "{}", s.sql);
            assert!(!s.sql.contains("COMMITTED_DATA_ONLY"), "{}", s.sql);
            for b in &s.binds {
                assert!(s.sql.contains(&format!(":{}", b.name)), "{} unused", b.name);
            }
        }
        let q = mining_query(&tables()).unwrap();
        for literal in ["73120", "EMPLOYEES", "Orders", "ORDER_ID"] {
            assert!(!q.sql.contains(literal), "{literal} pasted into the query");
        }
    }

    #[test]
    fn names_are_checked_and_widths_limited() {
        assert_eq!(
            mined_column_name("HR", "Mixed Case", "id").unwrap(),
            "\"HR\".\"Mixed Case\".\"id\""
        );
        assert!(mined_column_name("HR", "a\"b", "id").is_err());
        let mut wide = tables();
        wide[0].columns = (0..=MAX_MINED_COLUMNS)
            .map(|i| column(&format!("C{i}"), OracleType::Date))
            .collect();
        assert!(mining_query(&wide).is_err());
        wide[0].columns.pop();
        let q = mining_query(&wide).unwrap();
        let items = MINING_FIXED_COLUMNS.len() + 2 * MAX_MINED_COLUMNS;
        assert!(items <= 1000, "{items} select items");
        assert!(q.sql.contains(&format!("AS V{}", MAX_MINED_COLUMNS - 1)));
        let mut no_ids = tables();
        no_ids[1].object_ids.clear();
        assert!(mining_query(&no_ids).is_err());
    }

    #[test]
    fn a_missing_log_is_named_by_thread_and_sequence() {
        let ok = LogmnrLog {
            thread: 1,
            sequence: 41,
            low_scn: 100,
            next_scn: 200,
            status: 0,
            info: None,
        };
        assert_eq!(missing_log(std::slice::from_ref(&ok)), None);
        let gap = LogmnrLog {
            sequence: 42,
            low_scn: 200,
            next_scn: 300,
            status: 4,
            info: Some("MISSING_SCN".into()),
            ..ok.clone()
        };
        let message = missing_log(&[ok, gap]).unwrap();
        assert!(message.contains("thread 1 sequence 42"), "{message}");
        assert!(message.contains("SCN 200 to 300"), "{message}");
    }
}
