//! Every SQL text this project sends to Oracle, as pure functions of their inputs.
//!
//! Identifiers are always double-quoted after [`quote_identifier`] has checked them
//! (Oracle cannot escape `"` inside a quoted identifier, so one is refused); every value
//! is a bind variable. The snapshot tests at the bottom are the reviewable list of
//! statement shapes.

use db_boundary::{
    AlterTable, BindPlan, ColumnCheck, ColumnDef, DbError, DictionaryScope, RowFilter, TableDef,
    TableName,
};

/// Oracle's limit from 12.2 on; older servers are stricter and will say so themselves.
pub const MAX_IDENTIFIER_BYTES: usize = 128;

/// `name` as a quoted identifier, or an error if Oracle could not accept it.
pub fn quote_identifier(name: &str) -> Result<String, DbError> {
    if name.is_empty() || name.contains('"') || name.contains('\0') {
        return Err(DbError::Config(format!(
            "{name:?} cannot be an Oracle identifier (empty, or contains a double quote or NUL)"
        )));
    }
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Err(DbError::ora(
            972,
            format!(
                "identifier is too long ({} bytes, at most {MAX_IDENTIFIER_BYTES})",
                name.len()
            ),
        ));
    }
    Ok(format!("\"{name}\""))
}

/// `"SCHEMA"."TABLE"` or `"TABLE"`.
pub fn qualified(table: &TableName) -> Result<String, DbError> {
    let name = quote_identifier(&table.name)?;
    Ok(match &table.schema {
        Some(schema) => format!("{}.{name}", quote_identifier(schema)?),
        None => name,
    })
}

/// `column IN (...)` over `items`, as lists of at most 1000 joined by OR: Oracle refuses
/// a longer list (ORA-01795), and a user's schema list or a partitioned table's objects
/// (LogMiner's `DATA_OBJ#`) can be longer.
pub(crate) fn in_lists(column: &str, items: &[String]) -> String {
    let lists: Vec<String> = items
        .chunks(MAX_IN_LIST)
        .map(|chunk| format!("{column} IN ({})", chunk.join(", ")))
        .collect();
    match lists.as_slice() {
        [one] => one.clone(),
        _ => format!("({})", lists.join(" OR ")),
    }
}

/// The most expressions an IN list holds (ORA-01795 beyond).
const MAX_IN_LIST: usize = 1000;

fn quoted_list(names: &[String]) -> Result<String, DbError> {
    Ok(names
        .iter()
        .map(|n| quote_identifier(n))
        .collect::<Result<Vec<_>, _>>()?
        .join(", "))
}

/// Statements run once on every new session, tap or target.
pub fn session_setup(utc: bool) -> Vec<&'static str> {
    let mut statements = vec![
        "ALTER SESSION SET NLS_NUMERIC_CHARACTERS = '.,'",
        "ALTER SESSION SET NLS_DATE_FORMAT = 'YYYY-MM-DD\"T\"HH24:MI:SS'",
        "ALTER SESSION SET NLS_TIMESTAMP_FORMAT = 'YYYY-MM-DD\"T\"HH24:MI:SS.FF9'",
        "ALTER SESSION SET NLS_TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD\"T\"HH24:MI:SS.FF9TZH:TZM'",
        "ALTER SESSION SET NLS_SORT = 'BINARY'",
        "ALTER SESSION SET NLS_COMP = 'BINARY'",
        // The tap reads times as text the server prints (TIMESTAMP WITH TIME ZONE):
        // a client's NLS_LANG may name another calendar.
        "ALTER SESSION SET NLS_CALENDAR = 'GREGORIAN'",
    ];
    if utc {
        statements.push("ALTER SESSION SET TIME_ZONE = 'UTC'");
    }
    statements
}

/// A WHERE condition over an owner and a table-name column plus its named binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCondition {
    pub sql: String,
    pub binds: Vec<(String, String)>,
}

/// The dictionary scope as SQL: schemas as an IN list of binds (or "not maintained by
/// Oracle" when none are named), include/exclude LIKE patterns with `\` as ESCAPE.
pub fn scope_condition(
    scope: &DictionaryScope,
    owner: &str,
    table: &str,
    user_alias: &str,
) -> ScopeCondition {
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    if scope.schemas.is_empty() {
        parts.push(format!("{user_alias}.ORACLE_MAINTAINED = 'N'"));
    } else {
        let names: Vec<String> = scope
            .schemas
            .iter()
            .enumerate()
            .map(|(i, s)| {
                binds.push((format!("s{i}"), s.clone()));
                format!(":s{i}")
            })
            .collect();
        parts.push(in_lists(owner, &names));
    }
    let patterns = |list: &[db_boundary::TablePattern],
                    prefix: &str,
                    binds: &mut Vec<(String, String)>| {
        list.iter()
            .enumerate()
            .map(|(i, p)| {
                binds.push((format!("{prefix}{i}o"), p.owner.clone()));
                binds.push((format!("{prefix}{i}t"), p.table.clone()));
                format!("({owner} LIKE :{prefix}{i}o ESCAPE '\\' AND {table} LIKE :{prefix}{i}t ESCAPE '\\')")
            })
            .collect::<Vec<_>>()
    };
    let include = patterns(&scope.include, "i", &mut binds);
    if !include.is_empty() {
        parts.push(format!("({})", include.join(" OR ")));
    }
    let exclude = patterns(&scope.exclude, "x", &mut binds);
    if !exclude.is_empty() {
        parts.push(format!("NOT ({})", exclude.join(" OR ")));
    }
    ScopeCondition {
        sql: parts.join(" AND "),
        binds,
    }
}

/// Tables (not dropped, temporary, nested, secondary or IOT overflow/mapping segments),
/// materialized views (their container tables, typed as such), external tables (typed
/// as such: ALL_EXTERNAL_TABLES) and views.
pub fn dictionary_tables(scope: &DictionaryScope) -> ScopeCondition {
    let tables = scope_condition(scope, "t.OWNER", "t.TABLE_NAME", "u");
    let views = scope_condition(scope, "v.OWNER", "v.VIEW_NAME", "u");
    ScopeCondition {
        sql: format!(
            "SELECT t.OWNER, t.TABLE_NAME, \
             CASE WHEN m.MVIEW_NAME IS NOT NULL THEN 'MATERIALIZED VIEW' \
             WHEN e.TABLE_NAME IS NOT NULL THEN 'EXTERNAL TABLE' ELSE 'TABLE' END AS TABLE_TYPE, \
             t.IOT_TYPE, t.PARTITIONED, t.TEMPORARY, t.NUM_ROWS \
             FROM ALL_TABLES t \
             JOIN ALL_USERS u ON u.USERNAME = t.OWNER \
             LEFT JOIN ALL_MVIEWS m ON m.OWNER = t.OWNER AND m.MVIEW_NAME = t.TABLE_NAME \
             LEFT JOIN ALL_EXTERNAL_TABLES e ON e.OWNER = t.OWNER AND e.TABLE_NAME = t.TABLE_NAME \
             WHERE t.DROPPED = 'NO' AND t.TEMPORARY = 'N' AND t.NESTED = 'NO' AND t.SECONDARY = 'N' \
             AND (t.IOT_TYPE IS NULL OR t.IOT_TYPE = 'IOT') AND {} \
             UNION ALL \
             SELECT v.OWNER, v.VIEW_NAME, 'VIEW', NULL, 'NO', 'N', NULL \
             FROM ALL_VIEWS v JOIN ALL_USERS u ON u.USERNAME = v.OWNER WHERE {} \
             ORDER BY 1, 2",
            tables.sql, views.sql
        ),
        // Both halves use the same bind names, bound once by name.
        binds: tables.binds,
    }
}

/// Visible columns in COLUMN_ID order, with their virtual and identity flags.
pub fn dictionary_columns(scope: &DictionaryScope) -> ScopeCondition {
    let condition = scope_condition(scope, "c.OWNER", "c.TABLE_NAME", "u");
    ScopeCondition {
        sql: format!(
            "SELECT c.OWNER, c.TABLE_NAME, c.COLUMN_ID, c.COLUMN_NAME, c.DATA_TYPE, c.DATA_TYPE_OWNER, \
             c.DATA_LENGTH, c.DATA_PRECISION, c.DATA_SCALE, c.CHAR_LENGTH, c.CHAR_USED, c.NULLABLE, \
             c.VIRTUAL_COLUMN, c.HIDDEN_COLUMN, c.IDENTITY_COLUMN \
             FROM ALL_TAB_COLS c JOIN ALL_USERS u ON u.USERNAME = c.OWNER \
             WHERE c.HIDDEN_COLUMN = 'NO' AND {} \
             ORDER BY c.OWNER, c.TABLE_NAME, c.COLUMN_ID",
            condition.sql
        ),
        binds: condition.binds,
    }
}

/// Columns of enabled primary and unique keys in POSITION order.
pub fn dictionary_constraints(scope: &DictionaryScope) -> ScopeCondition {
    let condition = scope_condition(scope, "k.OWNER", "k.TABLE_NAME", "u");
    ScopeCondition {
        sql: format!(
            "SELECT k.OWNER, k.TABLE_NAME, k.CONSTRAINT_NAME, k.CONSTRAINT_TYPE, kc.COLUMN_NAME, kc.POSITION, k.STATUS \
             FROM ALL_CONSTRAINTS k \
             JOIN ALL_CONS_COLUMNS kc ON kc.OWNER = k.OWNER AND kc.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
             AND kc.TABLE_NAME = k.TABLE_NAME \
             JOIN ALL_USERS u ON u.USERNAME = k.OWNER \
             WHERE k.CONSTRAINT_TYPE IN ('P', 'U') AND k.STATUS = 'ENABLED' AND {} \
             ORDER BY k.OWNER, k.TABLE_NAME, k.CONSTRAINT_NAME, kc.POSITION",
            condition.sql
        ),
        binds: condition.binds,
    }
}

/// Session user and current schema.
pub const SESSION_IDENTITY: &str =
    "SELECT SYS_CONTEXT('USERENV', 'SESSION_USER'), SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') FROM DUAL";

/// MAX_STRING_SIZE (needs SELECT on V$PARAMETER; 4000 is assumed when unreadable).
pub const MAX_STRING_SIZE: &str = "SELECT VALUE FROM V$PARAMETER WHERE NAME = 'max_string_size'";

/// The privileges the session holds.
pub const SESSION_PRIVILEGES: &str = "SELECT PRIVILEGE FROM SESSION_PRIVS ORDER BY PRIVILEGE";

/// Columns of one table for `describe_table`; binds `:owner`, `:name`.
pub const DESCRIBE_COLUMNS: &str = "SELECT OWNER, TABLE_NAME, COLUMN_ID, COLUMN_NAME, DATA_TYPE, DATA_TYPE_OWNER, \
     DATA_LENGTH, DATA_PRECISION, DATA_SCALE, CHAR_LENGTH, CHAR_USED, NULLABLE, VIRTUAL_COLUMN, HIDDEN_COLUMN, \
     IDENTITY_COLUMN FROM ALL_TAB_COLS WHERE OWNER = :owner AND TABLE_NAME = :name AND HIDDEN_COLUMN = 'NO' \
     ORDER BY COLUMN_ID";

/// Primary key columns of one table; binds `:owner`, `:name`.
pub const DESCRIBE_PRIMARY_KEY: &str = "SELECT kc.COLUMN_NAME FROM ALL_CONSTRAINTS k \
     JOIN ALL_CONS_COLUMNS kc ON kc.OWNER = k.OWNER AND kc.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
     WHERE k.OWNER = :owner AND k.TABLE_NAME = :name AND k.CONSTRAINT_TYPE = 'P' ORDER BY kc.POSITION";

/// Enabled CHECK constraints on the columns of one table (binds `:owner`, `:name`), so
/// a NUMBER(1) standing in for BOOLEAN, or a CLOB holding JSON, is recognised on the
/// next run. SEARCH_CONDITION_VC (VARCHAR2) exists from 12.2 on; before it the LONG
/// SEARCH_CONDITION is read instead (fetched as text; LONG cannot be filtered in SQL).
pub fn describe_checks(search_condition_vc: bool) -> String {
    let condition = if search_condition_vc {
        "k.SEARCH_CONDITION_VC"
    } else {
        "k.SEARCH_CONDITION"
    };
    format!(
        "SELECT kc.COLUMN_NAME, {condition} FROM ALL_CONSTRAINTS k \
         JOIN ALL_CONS_COLUMNS kc ON kc.OWNER = k.OWNER AND kc.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         AND kc.TABLE_NAME = k.TABLE_NAME \
         WHERE k.OWNER = :owner AND k.TABLE_NAME = :name AND k.CONSTRAINT_TYPE = 'C' \
         AND k.STATUS = 'ENABLED' ORDER BY k.CONSTRAINT_NAME"
    )
}

/// The [`ColumnCheck`] a CHECK condition on `column` expresses, if any: `"C" IN (0, 1)`
/// (either order, any spacing or case of `IN`, the name quoted or, when upper case,
/// bare) or `"C" IS JSON` with any options. Anything else (NOT NULL checks, conditions
/// over several columns, other rules) is not one of ours.
pub fn check_from_condition(column: &str, condition: &str) -> Option<ColumnCheck> {
    let rest = after_column(condition.trim(), column)?;
    let words = rest
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase();
    let compact: String = words.chars().filter(|c| !c.is_whitespace()).collect();
    if compact == "IN(0,1)" || compact == "IN(1,0)" {
        Some(ColumnCheck::ZeroOrOne)
    } else if words == "IS JSON" || words.starts_with("IS JSON ") || words.starts_with("IS JSON(") {
        Some(ColumnCheck::IsJson)
    } else {
        None
    }
}

/// The text after a leading reference to `column` in `text`.
fn after_column<'a>(text: &'a str, column: &str) -> Option<&'a str> {
    if let Some(quoted) = text.strip_prefix('"') {
        return quoted.strip_prefix(column)?.strip_prefix('"');
    }
    let bare = column
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"_$#".contains(&b));
    let head = text.get(..column.len())?;
    let rest = &text[column.len()..];
    let continues = rest
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b"_$#".contains(&b));
    (bare && head.eq_ignore_ascii_case(column) && !continues).then_some(rest)
}

/// COMPATIBLE through DBMS_UTILITY (executable by PUBLIC): out binds version and
/// compatibility.
pub const DB_VERSION: &str = "BEGIN DBMS_UTILITY.DB_VERSION(:1, :2); END;";

/// COMPATIBLE from V$PARAMETER (needs SELECT on it), when DBMS_UTILITY is not granted.
pub const COMPATIBLE_PARAMETER: &str = "SELECT VALUE FROM V$PARAMETER WHERE NAME = 'compatible'";

fn column_sql(column: &ColumnDef) -> Result<String, DbError> {
    let name = quote_identifier(&column.name)?;
    let mut sql = format!("{name} {}", column.data_type);
    if !column.nullable {
        sql.push_str(" NOT NULL");
    }
    match column.check {
        Some(ColumnCheck::ZeroOrOne) => sql.push_str(&format!(" CHECK ({name} IN (0, 1))")),
        Some(ColumnCheck::IsJson) => sql.push_str(&format!(" CHECK ({name} IS JSON)")),
        None => {}
    }
    Ok(sql)
}

pub fn create_table(def: &TableDef) -> Result<String, DbError> {
    let mut parts = def
        .columns
        .iter()
        .map(column_sql)
        .collect::<Result<Vec<_>, _>>()?;
    if !def.primary_key.is_empty() {
        parts.push(format!("PRIMARY KEY ({})", quoted_list(&def.primary_key)?));
    }
    Ok(format!(
        "CREATE TABLE {} ({})",
        qualified(&def.name)?,
        parts.join(", ")
    ))
}

pub fn alter_table(table: &TableName, change: &AlterTable) -> Result<String, DbError> {
    let t = qualified(table)?;
    Ok(match change {
        AlterTable::AddColumn(c) => format!("ALTER TABLE {t} ADD ({})", column_sql(c)?),
        AlterTable::ModifyColumn(c) => format!(
            "ALTER TABLE {t} MODIFY ({} {})",
            quote_identifier(&c.name)?,
            c.data_type
        ),
        AlterTable::DropNotNull(c) => {
            format!("ALTER TABLE {t} MODIFY ({} NULL)", quote_identifier(c)?)
        }
        AlterTable::RenameColumn { from, to } => format!(
            "ALTER TABLE {t} RENAME COLUMN {} TO {}",
            quote_identifier(from)?,
            quote_identifier(to)?
        ),
        AlterTable::CopyColumn { from, to } => format!(
            "UPDATE {t} SET {} = {}",
            quote_identifier(to)?,
            quote_identifier(from)?
        ),
        AlterTable::DropColumn(c) => {
            format!("ALTER TABLE {t} DROP COLUMN {}", quote_identifier(c)?)
        }
    })
}

/// Array INSERT; binds `:1..:N` in the plan's order (LOB columns last).
pub fn insert(table: &TableName, plan: &BindPlan) -> Result<String, DbError> {
    let columns = plan.columns();
    let binds: Vec<String> = (1..=columns.len()).map(|i| format!(":{i}")).collect();
    Ok(format!(
        "INSERT INTO {} ({}) VALUES ({})",
        qualified(table)?,
        quoted_list(&columns)?,
        binds.join(", ")
    ))
}

/// One statement with the plan of its binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub plan: BindPlan,
}

/// How an upsert runs: straight from array binds, with no staging table and no DDL.
///
/// 1. `update`: an array UPDATE of the non-key columns by key, run with row counts;
/// 2. `insert`: an array INSERT of the rows the UPDATE found no row for.
///
/// Both are array DML with batch errors, so a CHECK, NOT NULL or length violation names
/// its row; every bind is typed from its column. Oracle's data interface for LOBs (the
/// driver sends CLOB and BLOB binds as LONG data) is allowed in INSERT and UPDATE only,
/// not in the select list of `MERGE ... USING (SELECT :1 ... FROM DUAL)`, which is why
/// this is not one MERGE. The UPDATE is written over an inline view so that the key binds
/// come first and the LOB binds last (ORA-24816 when a bind that may exceed 4,000 bytes,
/// such as a `VARCHAR2(4000 CHAR)` key, follows a LOB bind).
///
/// A table whose columns are all keys has nothing to update: `update` is `None` and
/// `insert` is a MERGE that inserts the keys not yet there (key columns are never LOBs,
/// ORA-02329).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upsert {
    pub update: Option<Statement>,
    pub insert: Statement,
}

/// A MERGE that inserts the keys bound (in `keys` order) that are not in table `t`.
fn insert_missing_keys(t: &str, keys: Vec<db_boundary::PlannedBind>) -> Result<Statement, DbError> {
    let names: Vec<String> = keys.iter().map(|b| b.column.clone()).collect();
    let each = |f: &dyn Fn(usize, &str) -> String| {
        names
            .iter()
            .enumerate()
            .map(|(i, k)| quote_identifier(k).map(|q| f(i + 1, &q)))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(Statement {
        sql: format!(
            "MERGE INTO {t} d USING (SELECT {} FROM DUAL) s ON ({}) \
             WHEN NOT MATCHED THEN INSERT ({}) VALUES ({})",
            each(&|i, q| format!(":{i} {q}"))?.join(", "),
            each(&|_, q| format!("d.{q} = s.{q}"))?.join(" AND "),
            quoted_list(&names)?,
            each(&|_, q| format!("s.{q}"))?.join(", ")
        ),
        plan: BindPlan { binds: keys },
    })
}

/// The statements of an upsert of `plan`'s columns on the `key` columns.
pub fn upsert(table: &TableName, plan: &BindPlan, key: &[String]) -> Result<Upsert, DbError> {
    let t = qualified(table)?;
    let (keys, others): (Vec<_>, Vec<_>) = plan
        .binds
        .iter()
        .cloned()
        .partition(|b| key.contains(&b.column));
    if keys.len() != key.len() {
        return Err(DbError::Unsupported(format!(
            "an upsert of {t} needs every key column ({}) among its columns",
            key.join(", ")
        )));
    }
    // Key binds in key order.
    let keys: Vec<_> = key
        .iter()
        .filter_map(|k| keys.iter().find(|b| &b.column == k).cloned())
        .collect();
    let key_names: Vec<String> = keys.iter().map(|b| b.column.clone()).collect();
    let matched = key_names
        .iter()
        .enumerate()
        .map(|(i, k)| quote_identifier(k).map(|q| format!("{q} = :{}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?
        .join(" AND ");
    if others.is_empty() {
        return Ok(Upsert {
            update: None,
            insert: insert_missing_keys(&t, keys)?,
        });
    }
    let other_names: Vec<String> = others.iter().map(|b| b.column.clone()).collect();
    let set = other_names
        .iter()
        .enumerate()
        .map(|(i, c)| quote_identifier(c).map(|q| format!("{q} = :{}", keys.len() + i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut binds = keys;
    binds.extend(others);
    Ok(Upsert {
        update: Some(Statement {
            sql: format!(
                "UPDATE (SELECT {} FROM {t} WHERE {matched}) SET {}",
                quoted_list(&other_names)?,
                set.join(", ")
            ),
            plan: BindPlan { binds },
        }),
        insert: Statement {
            sql: insert(table, plan)?,
            plan: plan.clone(),
        },
    })
}

fn filter_sql(filter: &RowFilter) -> Result<String, DbError> {
    Ok(match filter {
        RowFilter::All => String::new(),
        RowFilter::LessThan { column, .. } => format!(" WHERE {} < :v", quote_identifier(column)?),
        RowFilter::NotNull { column } => {
            format!(" WHERE {} IS NOT NULL", quote_identifier(column)?)
        }
        RowFilter::Outside { ranges, .. } if ranges.is_empty() => String::new(),
        RowFilter::Outside { column, ranges } => {
            let c = quote_identifier(column)?;
            let inside: Vec<String> = (1..=ranges.len())
                .map(|i| format!("{c} BETWEEN :l{i} AND :h{i}"))
                .collect();
            format!(" WHERE {c} IS NULL OR NOT ({})", inside.join(" OR "))
        }
    })
}

/// Array DELETE by key: `DELETE FROM t WHERE "K1" = :1 AND "K2" = :2`, binds in the
/// plan's order (key columns are never LOBs), one execution per key; the key index
/// finds each row.
pub fn delete_by_key(table: &TableName, plan: &BindPlan) -> Result<String, DbError> {
    let matched = plan
        .columns()
        .iter()
        .enumerate()
        .map(|(i, k)| quote_identifier(k).map(|q| format!("{q} = :{}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    if matched.is_empty() {
        return Err(DbError::Unsupported(
            "a delete by key needs key columns".into(),
        ));
    }
    Ok(format!(
        "DELETE FROM {} WHERE {}",
        qualified(table)?,
        matched.join(" AND ")
    ))
}

/// DELETE by filter; `LessThan` binds `:v`, `Outside` binds `:l1`, `:h1`, `:l2` ...
pub fn delete(table: &TableName, filter: &RowFilter) -> Result<String, DbError> {
    Ok(format!(
        "DELETE FROM {}{}",
        qualified(table)?,
        filter_sql(filter)?
    ))
}

/// UPDATE one column by filter; binds `:x` (the new value) and `:v` for `LessThan`.
pub fn update(table: &TableName, column: &str, filter: &RowFilter) -> Result<String, DbError> {
    Ok(format!(
        "UPDATE {} SET {} = :x{}",
        qualified(table)?,
        quote_identifier(column)?,
        filter_sql(filter)?
    ))
}

#[cfg(test)]
mod tests;
