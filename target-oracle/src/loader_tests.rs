//! The loader's rules, tested line by line over the simulated backend (the project's
//! one test double of a database, wrapped in a call recorder): STATE after commit,
//! upsert deduplication, schema evolution, ACTIVATE_VERSION, bad records, overwrite,
//! exact values.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufReader, Read, Write};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value as Json};

use db_boundary::{
    AlterTable, Backend, ColumnDef, DbError, DbResult, RowFilter, ServerInfo, Sink, TableDef,
    TableName, Value,
};
use sim_backend::SimBackend;

use crate::error::TargetError;
use singer_core::reader::MessageReader;

use crate::loader::{read_error, Loader};
use crate::settings::TargetConfig;

#[derive(Clone, Default)]
struct SharedOut(Rc<RefCell<Vec<u8>>>);

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedOut {
    /// Every state value written so far (a bare value per line), as compact JSON text.
    fn states(&self) -> Vec<String> {
        String::from_utf8(self.0.borrow().clone())
            .unwrap()
            .lines()
            .map(|l| {
                let value: Json = serde_json::from_str(l).unwrap();
                assert!(value.get("type").is_none(), "a wrapped STATE: {l}");
                value.to_string()
            })
            .collect()
    }
}

fn config(settings: Json) -> TargetConfig {
    let map = settings.as_object().unwrap().clone();
    TargetConfig::from_map(map, true).unwrap()
}

/// Input the test appends to between reads, so one reader sees the whole conversation.
#[derive(Clone, Default)]
struct Feed(Rc<RefCell<VecDeque<u8>>>);

impl Read for Feed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut queue = self.0.borrow_mut();
        let n = buf.len().min(queue.len());
        for (slot, byte) in buf.iter_mut().zip(queue.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

/// The simulated backend's sink with a log of the calls the loader made (what the
/// tests assert about ordering) and one injected fault: a row holding `poison` is
/// refused as a CHECK violation would be. Everything else is the simulated backend's.
struct Recorder {
    inner: Box<dyn Sink + Send>,
    log: Arc<Mutex<Vec<String>>>,
    poison: Option<String>,
}

impl Recorder {
    fn note(&self, entry: String) {
        self.log.lock().unwrap().push(entry);
    }

    fn check_poison(&self, rows: &[Vec<Value>]) -> DbResult<()> {
        let Some(poison) = &self.poison else {
            return Ok(());
        };
        match rows
            .iter()
            .position(|row| row.iter().any(|v| v == &Value::Text(poison.clone())))
        {
            Some(row) => Err(DbError::row_rejected(
                row,
                Some(2290),
                "ORA-02290: check constraint (SIM_USER.SYS_C0042) violated",
            )),
            None => Ok(()),
        }
    }
}

impl Sink for Recorder {
    fn server_info(&mut self) -> DbResult<ServerInfo> {
        self.inner.server_info()
    }
    fn set_context(&mut self, context: &db_boundary::SessionContext) -> DbResult<()> {
        self.inner.set_context(context)
    }
    fn describe_table(&mut self, table: &TableName) -> DbResult<Option<TableDef>> {
        self.inner.describe_table(table)
    }
    fn create_table(&mut self, def: &TableDef) -> DbResult<()> {
        self.note(format!("create {}", def.name.name));
        self.inner.create_table(def)
    }
    fn alter_table(&mut self, table: &TableName, change: &AlterTable) -> DbResult<()> {
        self.note(format!("alter {} {change:?}", table.name));
        self.inner.alter_table(table, change)
    }
    fn insert_rows(
        &mut self,
        table: &TableName,
        columns: &[ColumnDef],
        rows: &[Vec<Value>],
    ) -> DbResult<()> {
        self.note(format!("insert {} {}", table.name, rows.len()));
        self.check_poison(rows)?;
        self.inner.insert_rows(table, columns, rows)
    }
    fn merge_rows(
        &mut self,
        table: &TableName,
        columns: &[ColumnDef],
        key: &[String],
        rows: &[Vec<Value>],
    ) -> DbResult<()> {
        self.note(format!("merge {} {}", table.name, rows.len()));
        self.check_poison(rows)?;
        self.inner.merge_rows(table, columns, key, rows)
    }
    fn delete_keys(
        &mut self,
        table: &TableName,
        key: &[ColumnDef],
        keys: &[Vec<Value>],
    ) -> DbResult<u64> {
        self.note(format!("delete by key {} {}", table.name, keys.len()));
        self.inner.delete_keys(table, key, keys)
    }
    fn delete_rows(&mut self, table: &TableName, filter: &RowFilter) -> DbResult<u64> {
        self.note(format!("delete {} {filter:?}", table.name));
        self.inner.delete_rows(table, filter)
    }
    fn update_rows(
        &mut self,
        table: &TableName,
        column: &str,
        value: &Value,
        filter: &RowFilter,
    ) -> DbResult<u64> {
        self.note(format!("update {} {column} {filter:?}", table.name));
        self.inner.update_rows(table, column, value, filter)
    }
    fn commit(&mut self) -> DbResult<()> {
        self.note("commit".into());
        self.inner.commit()
    }
    fn rollback(&mut self) -> DbResult<()> {
        self.note("rollback".into());
        self.inner.rollback()
    }
}

struct Harness {
    loader: Option<Loader<SharedOut>>,
    out: SharedOut,
    db: SimBackend,
    _dir: tempfile::TempDir,
    log: Arc<Mutex<Vec<String>>>,
    feed: Feed,
    reader: MessageReader<BufReader<Feed>>,
}

impl Harness {
    fn new(settings: Json) -> Harness {
        Harness::with_sink(settings, |_| {})
    }

    fn with_sink(settings: Json, setup: impl FnOnce(&mut Recorder)) -> Harness {
        Harness::with_options(settings, sim_backend::SimOptions::default(), setup)
    }

    /// A harness over a simulated database presenting `options`.
    fn with_options(
        settings: Json,
        options: sim_backend::SimOptions,
        setup: impl FnOnce(&mut Recorder),
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let db = SimBackend::open_with(dir.path(), options).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut sink = Recorder {
            inner: db.sink().unwrap(),
            log: log.clone(),
            poison: None,
        };
        setup(&mut sink);
        let out = SharedOut::default();
        let loader = Loader::new(config(settings), Box::new(sink), out.clone()).unwrap();
        let feed = Feed::default();
        Harness {
            loader: Some(loader),
            out,
            db,
            _dir: dir,
            log,
            reader: MessageReader::new(BufReader::new(feed.clone())),
            feed,
        }
    }

    fn send(&mut self, message: Json) -> Result<(), TargetError> {
        self.send_text(&message.to_string())
    }

    /// Feeds one line through the singer-core reader into the loader.
    fn send_text(&mut self, text: &str) -> Result<(), TargetError> {
        self.feed.0.borrow_mut().extend(text.bytes().chain(*b"\n"));
        let line = self
            .reader
            .next_message()
            .map_err(read_error)?
            .expect("a line was fed");
        self.loader
            .as_mut()
            .unwrap()
            .handle(line.number, line.message)
    }

    fn finish(&mut self) -> Result<crate::loader::LoadStats, TargetError> {
        self.loader.take().unwrap().finish()
    }

    /// The committed rows of `table` in the session user's schema, in key order, each
    /// as column name -> value.
    fn rows(&self, table: &str) -> Vec<std::collections::BTreeMap<String, Value>> {
        let owner = &self.db.options().user;
        let columns = self.db.column_names(owner, table).unwrap();
        self.db
            .read_rows(owner, table)
            .unwrap()
            .into_iter()
            .map(|row| columns.iter().cloned().zip(row).collect())
            .collect()
    }

    fn row_count(&self, table: &str) -> usize {
        let owner = &self.db.options().user;
        self.db.row_count(owner, table).map_or(0, |n| n as usize)
    }

    /// Every table the loader created, as the database describes it.
    fn table_defs(&self) -> Vec<TableDef> {
        let mut sink = self.db.sink().unwrap();
        ["S"]
            .iter()
            .filter_map(|name| {
                sink.describe_table(&TableName {
                    schema: None,
                    name: (*name).into(),
                })
                .unwrap()
            })
            .collect()
    }
}

fn schema(stream: &str, keys: &[&str]) -> Json {
    json!({"type": "SCHEMA", "stream": stream, "key_properties": keys, "schema": {
    "type": "object", "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["null", "string"], "maxLength": 10}
    }}})
}

fn record(stream: &str, id: i64, name: &str) -> Json {
    json!({"type": "RECORD", "stream": stream, "record": {"id": id, "name": name}})
}

fn state(n: i64) -> Json {
    json!({"type": "STATE", "value": {"n": n}})
}

fn num(text: &str) -> Value {
    Value::number(text)
}

fn text(t: &str) -> Value {
    Value::Text(t.into())
}

#[test]
fn a_state_is_written_right_after_the_commit_that_covers_it() {
    let mut h = Harness::new(json!({"batch_size_rows": 2}));
    h.send(schema("S", &["id"])).unwrap();
    // Nothing uncommitted: the STATE goes out at once.
    h.send(state(0)).unwrap();
    assert_eq!(h.out.states(), ["{\"n\":0}"]);
    h.send(record("S", 1, "a")).unwrap();
    h.send(state(1)).unwrap();
    assert_eq!(h.out.states().len(), 1, "record 1 is not committed yet");
    h.send(record("S", 2, "b")).unwrap();
    // The batch of 2 committed: STATE 1 is covered, before the end of input.
    assert_eq!(h.out.states(), ["{\"n\":0}", "{\"n\":1}"]);
    assert_eq!(h.row_count("S"), 2);
    h.send(record("S", 3, "c")).unwrap();
    h.send(state(2)).unwrap();
    assert_eq!(h.out.states().len(), 2);
    let stats = h.finish().unwrap();
    assert_eq!(h.out.states(), ["{\"n\":0}", "{\"n\":1}", "{\"n\":2}"]);
    assert_eq!(stats.rows_written, 3);
    assert_eq!(stats.states_emitted, 3);
}

#[test]
fn a_state_waits_for_records_of_every_stream() {
    let mut h = Harness::new(json!({"batch_size_rows": 2}));
    h.send(schema("A", &["id"])).unwrap();
    h.send(schema("B", &["id"])).unwrap();
    h.send(record("A", 1, "a")).unwrap();
    h.send(record("B", 1, "b")).unwrap();
    h.send(state(1)).unwrap();
    h.send(record("B", 2, "b")).unwrap();
    // B committed, but A's record 1 (before the STATE) is still buffered.
    assert_eq!(h.row_count("B"), 2);
    assert!(h.out.states().is_empty());
    h.send(record("A", 2, "a")).unwrap();
    assert_eq!(h.out.states(), ["{\"n\":1}"]);
}

#[test]
fn a_late_state_forces_a_flush_after_max_state_lag() {
    let mut h = Harness::new(json!({"batch_size_rows": 1000, "max_state_lag_seconds": 0}));
    h.send(schema("S", &["id"])).unwrap();
    h.send(record("S", 1, "a")).unwrap();
    h.send(state(1)).unwrap();
    // The lag check runs every 512 lines; repeat the (unchanged, so inert) SCHEMA.
    for _ in 0..600 {
        h.send(schema("S", &["id"])).unwrap();
    }
    assert_eq!(h.out.states(), ["{\"n\":1}"]);
    assert_eq!(h.row_count("S"), 1);
}

#[test]
fn upsert_keeps_the_last_record_of_a_key_within_one_batch() {
    let mut h = Harness::new(json!({}));
    h.send(schema("S", &["id"])).unwrap();
    h.send(record("S", 1, "first")).unwrap();
    h.send(record("S", 2, "other")).unwrap();
    h.send(record("S", 1, "last")).unwrap();
    h.finish().unwrap();
    let rows = h.rows("S");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["ID"], num("1"));
    assert_eq!(rows[0]["NAME"], text("last"));
    assert!(h.log.lock().unwrap().contains(&"merge S 2".to_owned()));
}

#[test]
fn append_only_writes_every_record() {
    let mut h = Harness::new(json!({"load_method": "append-only"}));
    h.send(schema("S", &["id"])).unwrap();
    h.send(record("S", 1, "a")).unwrap();
    h.send(record("S", 1, "b")).unwrap();
    h.finish().unwrap();
    assert_eq!(h.row_count("S"), 2);
}

#[test]
fn a_new_schema_evolves_the_table_after_flushing_the_old_rows() {
    let mut h = Harness::new(json!({}));
    h.send(schema("S", &["id"])).unwrap();
    h.send(record("S", 1, "short")).unwrap();
    h.send(
        json!({"type": "SCHEMA", "stream": "S", "key_properties": ["id"], "schema": {
        "type": "object", "properties": {
            "id": {"type": "integer"},
            "name": {"type": ["null", "string"], "maxLength": 50},
            "added": {"type": ["null", "string"], "format": "date-time"}
        }}}),
    )
    .unwrap();
    assert_eq!(
        h.row_count("S"),
        1,
        "old rows flushed before the new schema"
    );
    h.send(json!({"type": "RECORD", "stream": "S", "record": {
        "id": 2, "name": "a name longer than ten", "added": "2024-01-01T10:00:00+02:00"}}))
        .unwrap();
    h.finish().unwrap();
    let def = h.table_defs().remove(0);
    let columns: Vec<String> = def
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.data_type))
        .collect();
    assert_eq!(
        columns,
        [
            "ID NUMBER(38)",
            "NAME VARCHAR2(50 CHAR)",
            "ADDED TIMESTAMP(6) WITH TIME ZONE"
        ]
    );
    let rows = h.rows("S");
    assert_eq!(rows[0]["ADDED"], Value::Null);
    assert_eq!(rows[1]["NAME"], text("a name longer than ten"));
}

#[test]
fn activate_version_hard_deletes_only_older_versions() {
    let mut h = Harness::new(json!({"hard_delete": true}));
    h.send(schema("S", &["id"])).unwrap();
    h.send(json!({"type": "ACTIVATE_VERSION", "stream": "S", "version": 1}))
        .unwrap();
    for id in 1..=3 {
        h.send(json!({"type": "RECORD", "stream": "S", "version": 1, "record": {"id": id}}))
            .unwrap();
    }
    h.send(json!({"type": "ACTIVATE_VERSION", "stream": "S", "version": 1}))
        .unwrap();
    assert_eq!(h.row_count("S"), 3, "same version: nothing deleted");
    h.send(json!({"type": "RECORD", "stream": "S", "version": 2, "record": {"id": 2}}))
        .unwrap();
    h.send(json!({"type": "ACTIVATE_VERSION", "stream": "S", "version": 2}))
        .unwrap();
    let rows = h.rows("S");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["ID"], num("2"));
    assert_eq!(rows[0]["_SDC_TABLE_VERSION"], num("2"));
}

#[test]
fn activate_version_soft_marks_older_versions() {
    let mut h = Harness::new(json!({}));
    h.send(schema("S", &["id"])).unwrap();
    h.send(json!({"type": "RECORD", "stream": "S", "version": 5, "record": {"id": 1}}))
        .unwrap();
    h.send(json!({"type": "RECORD", "stream": "S", "version": 5, "record": {"id": 2}}))
        .unwrap();
    h.send(json!({"type": "ACTIVATE_VERSION", "stream": "S", "version": 6}))
        .unwrap();
    h.send(json!({"type": "RECORD", "stream": "S", "version": 6, "record": {"id": 2}}))
        .unwrap();
    h.finish().unwrap();
    let rows = h.rows("S");
    assert_eq!(rows.len(), 2);
    assert!(matches!(rows[0]["_SDC_DELETED_AT"], Value::TimestampTz(_)));
    assert_eq!(rows[1]["_SDC_TABLE_VERSION"], num("6"));
    assert_eq!(
        rows[1]["_SDC_DELETED_AT"],
        Value::Null,
        "rewritten by version 6"
    );
}

#[test]
fn a_bad_record_fails_with_its_line_after_committing_what_came_before() {
    let mut h = Harness::new(json!({}));
    h.send(schema("S", &["id"])).unwrap();
    h.send(record("S", 1, "ok")).unwrap();
    h.send(state(1)).unwrap();
    let err = h.send(record("S", 2, "far too long for ten")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 4: stream \"S\": field \"name\" value is longer than 10 characters"
    );
    assert_eq!(err.exit_code(), 1);
    assert_eq!(h.row_count("S"), 1);
    assert_eq!(h.out.states(), ["{\"n\":1}"]);
    let err = h
        .send_text(r#"{"type":"RECORD","stream":"S","record":{"id":"x"}}"#)
        .unwrap_err();
    let TargetError::BadRecord {
        line,
        field,
        reason,
        ..
    } = err
    else {
        panic!("{err}")
    };
    assert_eq!((line, field.as_str()), (5, "id"));
    assert!(!reason.contains('x') || reason.contains("type"), "{reason}");
}

#[test]
fn a_row_the_database_rejects_keeps_every_later_state_back() {
    let mut h = Harness::with_sink(json!({"batch_size_rows": 3}), |sink| {
        sink.poison = Some("poison".into())
    });
    h.send(schema("S", &[])).unwrap();
    h.send(record("S", 1, "ok")).unwrap();
    h.send(state(1)).unwrap();
    h.send(record("S", 2, "poison")).unwrap();
    h.send(state(2)).unwrap();
    // The batch of three fails on line 4: STATE 2 (line 5) must never be emitted.
    let err = h.send(record("S", 3, "ok")).unwrap_err();
    assert!(err.to_string().starts_with("line 4: stream \"S\""), "{err}");
    assert_eq!(h.out.states(), ["{\"n\":1}"]);
    let ids: Vec<Value> = h.rows("S").iter().map(|r| r["ID"].clone()).collect();
    assert_eq!(ids, [num("1")], "only what STATE 1 covers");
}

#[test]
fn rejected_records_go_to_the_reject_file_and_the_load_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let reject_file = dir.path().join("rejects.jsonl");
    let mut h = Harness::with_sink(
        json!({"on_bad_record": "reject", "reject_file": reject_file, "audit_table": "load_audit"}),
        |sink| sink.poison = Some("poison".into()),
    );
    h.send(schema("S", &["id"])).unwrap();
    h.send(record("S", 1, "ok")).unwrap();
    h.send(record("S", 2, "far too long for ten")).unwrap();
    h.send(record("S", 3, "poison")).unwrap();
    h.send(record("S", 4, "fine")).unwrap();
    let stats = h.finish().unwrap();
    assert_eq!(stats.rejected, 2);
    let ids: Vec<Value> = h.rows("S").iter().map(|r| r["ID"].clone()).collect();
    assert_eq!(ids, [num("1"), num("4")]);
    let rejects: Vec<Json> = std::fs::read_to_string(&reject_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0]["line"], 3);
    assert_eq!(rejects[0]["field"], "name");
    assert_eq!(rejects[0]["record"]["id"], 2);
    assert_eq!(rejects[1]["line"], 4);
    assert!(rejects[1]["reason"].as_str().unwrap().contains("ORA-02290"));
    // The audit row counts the rows the rolled-back batch finally wrote, and both rejects.
    let audit = h.rows("LOAD_AUDIT");
    assert_eq!(
        (&audit[0]["ROWS_MERGED"], &audit[0]["ROWS_REJECTED"]),
        (&num("2"), &num("2"))
    );
}

#[test]
fn overwrite_removes_the_old_rows_once_the_run_is_complete() {
    let mut h = Harness::with_sink(
        json!({"load_method": "overwrite", "batch_size_rows": 1}),
        |sink| {
            let table = db_boundary::TableName {
                schema: None,
                name: "S".into(),
            };
            let columns = vec![
                db_boundary::ColumnDef {
                    name: "ID".into(),
                    data_type: singer_core::oracle_type::OracleType::Number {
                        precision: Some(38),
                        scale: Some(0),
                    },
                    nullable: false,
                    check: None,
                },
                db_boundary::ColumnDef {
                    name: "NAME".into(),
                    data_type: singer_core::oracle_type::OracleType::Varchar2 {
                        length: 10,
                        semantics: singer_core::oracle_type::LengthSemantics::Char,
                    },
                    nullable: true,
                    check: None,
                },
            ];
            let id = columns[0].clone();
            sink.create_table(&db_boundary::TableDef {
                name: table.clone(),
                columns,
                primary_key: vec![],
            })
            .unwrap();
            sink.insert_rows(&table, &[id], &[vec![num("99")]]).unwrap();
            sink.commit().unwrap();
        },
    );
    h.send(schema("S", &[])).unwrap();
    h.send(record("S", 1, "new")).unwrap();
    h.send(state(1)).unwrap();
    // Committed, and the old row still there: a kill now loses nothing.
    assert_eq!(h.row_count("S"), 2);
    let emitted: Json = serde_json::from_str(&h.out.states()[0]).unwrap();
    assert_eq!(emitted["n"], 1);
    let covered = &emitted["bookmarks"]["S"]["target_oracle_overwrite"];
    assert_eq!(covered[0]["through_line"], 3, "{emitted}");
    h.finish().unwrap();
    let ids: Vec<Value> = h.rows("S").iter().map(|r| r["ID"].clone()).collect();
    assert_eq!(ids, [num("1")]);
    let log = h.log.lock().unwrap().clone();
    let tail: Vec<&str> = log.iter().rev().take(2).rev().map(String::as_str).collect();
    assert!(tail[0].starts_with("delete S Outside"), "{log:?}");
    assert_eq!(tail[1], "commit");
    // The final STATE says the overwrite is done.
    let last: Json = serde_json::from_str(h.out.states().last().unwrap()).unwrap();
    assert_eq!(
        last["bookmarks"]["S"]["target_oracle_overwrite"],
        Json::Null
    );
}

#[test]
fn overwrite_of_a_stream_ends_at_its_closing_activate_version() {
    let mut h = Harness::new(json!({"load_method": "overwrite", "batch_size_rows": 1}));
    let versioned = |id: i64| json!({"type": "RECORD", "stream": "A", "version": 7, "record": {"id": id, "name": "a"}});
    h.send(schema("A", &[])).unwrap();
    h.send(versioned(1)).unwrap();
    h.send(json!({"type": "STATE", "value": {"bookmarks": {"A": {"at": 1}}}}))
        .unwrap();
    let open: Json = serde_json::from_str(h.out.states().last().unwrap()).unwrap();
    assert!(
        open["bookmarks"]["A"]["target_oracle_overwrite"].is_array(),
        "{open}"
    );
    // The tap says A is complete: its overwrite ends now, not at the end of the run,
    // so a kill while another stream loads cannot leave A's rows claimed twice.
    h.send(json!({"type": "ACTIVATE_VERSION", "stream": "A", "version": 7}))
        .unwrap();
    assert!(h
        .log
        .lock()
        .unwrap()
        .iter()
        .any(|e| e.starts_with("delete A Outside")));
    h.send(schema("B", &[])).unwrap();
    h.send(record("B", 1, "b")).unwrap();
    h.send(json!({"type": "STATE", "value": {"bookmarks": {"A": {"at": 9}, "B": {"at": 1}}}}))
        .unwrap();
    let later: Json = serde_json::from_str(h.out.states().last().unwrap()).unwrap();
    assert_eq!(
        later["bookmarks"]["A"]["target_oracle_overwrite"],
        Json::Null,
        "{later}"
    );
    assert!(
        later["bookmarks"]["B"]["target_oracle_overwrite"].is_array(),
        "{later}"
    );
    h.finish().unwrap();
    assert_eq!(h.row_count("A"), 1);
    assert_eq!(h.row_count("B"), 1);
}

#[test]
fn numbers_and_instants_are_stored_exactly() {
    let mut h = Harness::new(json!({}));
    h.send_text(r#"{"type":"SCHEMA","stream":"HR-T","key_properties":["k"],"schema":{"properties":{"k":{"type":"integer"},"amount":{"type":"number","multipleOf":0.01},"at":{"type":"string","format":"date-time"},"d":{"type":"string","format":"singer.decimal"}}}}"#).unwrap();
    h.send_text(r#"{"type":"RECORD","stream":"HR-T","record":{"k":12345678901234567890123456789012345678,"amount":0.07,"at":"2024-02-29T23:59:59.999999-08:00","d":"-0.000000000000000000000000000000000001"}}"#).unwrap();
    h.finish().unwrap();
    let rows = h.rows("HR_T");
    assert_eq!(rows[0]["K"], num("12345678901234567890123456789012345678"));
    assert_eq!(rows[0]["AMOUNT"], num("0.07"));
    assert_eq!(rows[0]["D"], num("-0.000000000000000000000000000000000001"));
    let Value::TimestampTz(at) = &rows[0]["AT"] else {
        panic!("{:?}", rows[0]["AT"])
    };
    assert_eq!(at.to_rfc3339(), "2024-02-29T23:59:59.999999-08:00");
}

#[test]
fn metadata_columns_are_filled() {
    let mut h = Harness::new(json!({"add_record_metadata": true}));
    h.send(schema("S", &["id"])).unwrap();
    h.send(
        json!({"type": "RECORD", "stream": "S", "time_extracted": "2024-01-01T00:00:00Z",
                  "record": {"id": 1, "_sdc_deleted_at": "2024-01-02T00:00:00Z"}}),
    )
    .unwrap();
    h.finish().unwrap();
    let row = &h.rows("S")[0];
    for column in [
        "_SDC_EXTRACTED_AT",
        "_SDC_RECEIVED_AT",
        "_SDC_BATCHED_AT",
        "_SDC_DELETED_AT",
    ] {
        assert!(
            matches!(row[column], Value::TimestampTz(_)),
            "{column}: {:?}",
            row[column]
        );
    }
    assert!(matches!(row["_SDC_SEQUENCE"], Value::Number(_)));
    assert_eq!(row["_SDC_TABLE_VERSION"], Value::Null);
}

#[test]
fn hard_delete_removes_rows_marked_deleted() {
    let mut h = Harness::new(json!({"add_record_metadata": true, "hard_delete": true}));
    h.send(schema("S", &["id"])).unwrap();
    h.send(record("S", 1, "keep")).unwrap();
    h.send(json!({"type": "RECORD", "stream": "S",
                  "record": {"id": 2, "_sdc_deleted_at": "2024-01-02T00:00:00Z"}}))
        .unwrap();
    h.finish().unwrap();
    let ids: Vec<Value> = h.rows("S").iter().map(|r| r["ID"].clone()).collect();
    assert_eq!(ids, [num("1")]);
}

#[test]
fn freeze_schema_rejects_what_does_not_fit_instead_of_altering() {
    let mut h = Harness::new(json!({}));
    h.send(schema("S", &["id"])).unwrap();
    h.send(record("S", 1, "a")).unwrap();
    h.finish().unwrap();
    let defs = h.table_defs();
    let mut frozen = Harness::with_sink(json!({"freeze_schema": true}), |sink| {
        for def in &defs {
            sink.create_table(def).unwrap();
        }
        sink.commit().unwrap();
    });
    frozen.log.lock().unwrap().clear();
    frozen
        .send(
            json!({"type": "SCHEMA", "stream": "S", "key_properties": ["id"], "schema": {
            "properties": {"id": {"type": "integer"}, "name": {"type": "string", "maxLength": 99},
                           "extra": {"type": "string"}}}}),
        )
        .unwrap();
    frozen.send(record("S", 2, "fits")).unwrap();
    let err = frozen
        .send(json!({"type": "RECORD", "stream": "S", "record": {"id": 3, "extra": "x"}}))
        .unwrap_err();
    assert!(
        err.to_string().contains("field \"extra\" has no column"),
        "{err}"
    );
    assert!(frozen
        .log
        .lock()
        .unwrap()
        .iter()
        .all(|e| !e.starts_with("alter")));
    assert_eq!(frozen.row_count("S"), 1, "the fitting record was committed");
}

#[test]
fn malformed_input_names_its_line() {
    let mut h = Harness::new(json!({}));
    h.send(schema("S", &["id"])).unwrap();
    let err = h.send_text("{not json").unwrap_err();
    assert!(err.to_string().starts_with("line 2: invalid JSON"), "{err}");
    let err = h.send(record("NOPE", 1, "a")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 3: stream \"NOPE\": RECORD arrived before any SCHEMA for its stream"
    );
}

/// Issue 11 item 6: Oracle refuses TIMESTAMP WITH TIME ZONE in a primary key
/// (ORA-02329), so a date-time key property becomes a UTC TIMESTAMP: the same instant
/// in two offsets is one key.
#[test]
fn a_date_time_key_is_a_utc_timestamp() {
    let mut h = Harness::new(json!({}));
    h.send(
        json!({"type": "SCHEMA", "stream": "S", "key_properties": ["at"], "schema": {
        "type": "object", "properties": {
            "at": {"type": "string", "format": "date-time"},
            "name": {"type": ["null", "string"], "maxLength": 10}
        }}}),
    )
    .unwrap();
    for (at, name) in [
        ("2024-03-01T12:00:00+02:00", "a"),
        ("2024-03-01T10:00:00Z", "b"),
    ] {
        h.send(json!({"type": "RECORD", "stream": "S", "record": {"at": at, "name": name}}))
            .unwrap();
    }
    h.finish().unwrap();
    let defs = h.table_defs();
    assert_eq!(defs[0].columns[0].data_type.to_string(), "TIMESTAMP(6)");
    let rows = h.rows("S");
    assert_eq!(rows.len(), 1, "one instant, one key: {rows:?}");
    let utc = chrono::NaiveDate::from_ymd_opt(2024, 3, 1)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .unwrap();
    assert_eq!(rows[0]["AT"], Value::Timestamp(utc));
    assert_eq!(rows[0]["NAME"], text("b"));
}

/// Oracle refuses a primary key whose columns' declared widths add up to more than an
/// index key holds (ORA-01450, 6398 bytes in an 8 KB block). Taps rarely give a key
/// string a `maxLength`, and VARCHAR2(4000 CHAR) is 4000 bytes (16,000 with
/// MAX_STRING_SIZE = EXTENDED): so key strings without a declared length are sized to
/// share what the key has room for, and the table is created and loaded.
#[test]
fn string_keys_without_a_length_are_sized_to_fit_the_index() {
    for max_string_bytes in [4000, 32767] {
        let options = sim_backend::SimOptions {
            max_string_bytes,
            ..sim_backend::SimOptions::default()
        };
        let mut h = Harness::with_options(json!({}), options, |_| {});
        h.send(
            json!({"type": "SCHEMA", "stream": "S", "key_properties": ["org", "repo", "n"],
                "schema": {"type": "object", "properties": {
                    "org": {"type": "string"},
                    "repo": {"type": ["string"]},
                    "n": {"type": "integer"},
                    "about": {"type": ["null", "string"]}
            }}}),
        )
        .unwrap();
        let long = "r".repeat(700);
        for (org, repo) in [("a", long.as_str()), ("a", "b"), ("a", long.as_str())] {
            h.send(json!({"type": "RECORD", "stream": "S",
                "record": {"org": org, "repo": repo, "n": 1, "about": "x"}}))
                .unwrap();
        }
        h.finish().unwrap();
        let defs = h.table_defs();
        let types: Vec<String> = defs[0]
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.data_type))
            .collect();
        // (6398 - 22 - 3) / 2 = 3186 bytes each: 796 characters of 4 bytes.
        assert_eq!(
            types,
            [
                "ORG VARCHAR2(796 CHAR)",
                "REPO VARCHAR2(796 CHAR)",
                "N NUMBER(38)",
                "ABOUT VARCHAR2(4000 CHAR)"
            ],
            "{max_string_bytes}"
        );
        assert_eq!(h.rows("S").len(), 2);
    }
    // A key longer than its column is refused by name, as any too-long value is.
    let mut h = Harness::new(json!({}));
    h.send(
        json!({"type": "SCHEMA", "stream": "S", "key_properties": ["org", "repo"],
        "schema": {"type": "object", "properties": {
            "org": {"type": "string"}, "repo": {"type": "string"}}}}),
    )
    .unwrap();
    let error = h
        .send(json!({"type": "RECORD", "stream": "S",
            "record": {"org": "a", "repo": "r".repeat(1600)}}))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("\"repo\"") && error.contains("holds 799"),
        "{error}"
    );
}

/// A property whose schema allows only null (a tap that could not tell its type) is a
/// nullable text column, and the stream loads, as the Meltano SDK's SQL targets do.
#[test]
fn a_null_only_property_does_not_stop_the_stream() {
    let mut h = Harness::new(json!({}));
    h.send(
        json!({"type": "SCHEMA", "stream": "S", "key_properties": ["id"],
        "schema": {"type": "object", "properties": {
            "id": {"type": "integer"}, "unknown": {"type": ["null"]}}}}),
    )
    .unwrap();
    h.send(json!({"type": "RECORD", "stream": "S", "record": {"id": 1, "unknown": null}}))
        .unwrap();
    h.finish().unwrap();
    let rows = h.rows("S");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["UNKNOWN"], Value::Null);
    assert_eq!(
        h.table_defs()[0].columns[1].data_type.to_string(),
        "VARCHAR2(4000 CHAR)"
    );
}

/// An Oracle table has at most 1000 columns (ORA-01792): a SCHEMA with more is refused
/// at its line, naming the first property over, before any table is created.
#[test]
fn a_schema_wider_than_a_table_is_refused_at_its_line() {
    let mut h = Harness::new(json!({}));
    let properties: serde_json::Map<String, Json> = (0..1001)
        .map(|i| (format!("p{i:04}"), json!({"type": ["null", "integer"]})))
        .collect();
    let error = h
        .send(
            json!({"type": "SCHEMA", "stream": "S", "key_properties": [],
            "schema": {"type": "object", "properties": properties}}),
        )
        .and_then(|()| h.send(json!({"type": "RECORD", "stream": "S", "record": {"p0000": 1}})))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("line 1: stream \"S\"")
            && error.contains("\"p1000\"")
            && error.contains("ORA-01792"),
        "{error}"
    );
    assert!(h.table_defs().is_empty());
}

/// Issue 11 item 5: a NOT NULL column the schema no longer has is made nullable with
/// `MODIFY ("X" NULL)`; restating its type would keep NOT NULL, and for a CLOB is
/// ORA-22859.
#[test]
fn a_required_clob_left_out_of_the_schema_becomes_nullable() {
    let mut h = Harness::new(json!({}));
    let with_doc = json!({"type": "SCHEMA", "stream": "S", "key_properties": ["id"], "schema": {
    "type": "object", "properties": {
        "id": {"type": "integer"},
        "doc": {"type": "string", "maxLength": 100000}
    }}});
    h.send(with_doc).unwrap();
    h.send(json!({"type": "RECORD", "stream": "S", "record": {"id": 1, "doc": "x"}}))
        .unwrap();
    h.send(schema("S", &["id"])).unwrap();
    h.send(record("S", 2, "b")).unwrap();
    h.finish().unwrap();
    let defs = h.table_defs();
    let doc = defs[0].columns.iter().find(|c| c.name == "DOC").unwrap();
    assert_eq!(doc.data_type.to_string(), "CLOB");
    assert!(doc.nullable, "{doc:?}");
    let rows = h.rows("S");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["DOC"], Value::Null);
}

fn deleted(stream: &str, id: i64) -> Json {
    json!({"type": "RECORD", "stream": stream,
           "record": {"id": id, "_sdc_deleted_at": "2024-01-02T00:00:00Z"}})
}

fn audit_total(h: &Harness, column: &str) -> i64 {
    h.rows("LOAD_AUDIT")
        .iter()
        .map(|r| match &r[column] {
            Value::Number(n) => n.as_str().parse::<i64>().unwrap(),
            other => panic!("{column}: {other:?}"),
        })
        .sum()
}

/// Issue 11 item 14: with hard_delete, each batch ran `DELETE ... WHERE _SDC_DELETED_AT
/// IS NOT NULL`, a scan of the whole table. A record marked deleted in a keyed stream
/// now deletes its key's row by key and is never written; the audit counts what went.
#[test]
fn hard_delete_deletes_by_key_in_a_keyed_stream_without_a_scan() {
    let mut h = Harness::new(json!({"add_record_metadata": true, "hard_delete": true,
                                   "batch_size_rows": 3, "audit_table": "LOAD_AUDIT"}));
    h.send(schema("S", &["id"])).unwrap();
    for id in 1..=3 {
        h.send(record("S", id, "v")).unwrap();
    }
    h.send(deleted("S", 2)).unwrap();
    h.send(deleted("S", 9)).unwrap();
    h.send(record("S", 4, "w")).unwrap();
    h.send(record("S", 5, "x")).unwrap();
    h.send(deleted("S", 5)).unwrap();
    h.finish().unwrap();
    let ids: Vec<Value> = h.rows("S").iter().map(|r| r["ID"].clone()).collect();
    assert_eq!(ids, [num("1"), num("3"), num("4")]);
    let log = h.log.lock().unwrap().clone();
    let on_s: Vec<&String> = log
        .iter()
        .filter(|e| e.ends_with(" S") || e.contains(" S "))
        .collect();
    assert!(
        !on_s.iter().any(|e| e.starts_with("delete S")),
        "no delete by filter: {on_s:?}"
    );
    assert!(log.contains(&"delete by key S 2".to_owned()), "{log:?}");
    assert!(log.contains(&"merge S 1".to_owned()), "{log:?}");
    assert_eq!(audit_total(&h, "ROWS_DELETED"), 1);
    assert_eq!(audit_total(&h, "ROWS_MERGED"), 4);
}

/// Issue 11 item 14: in a keyless stream a record marked deleted has no row to find; it
/// is left out, and nothing is deleted.
#[test]
fn hard_delete_in_a_keyless_stream_leaves_marked_records_out() {
    let mut h = Harness::new(json!({"add_record_metadata": true, "hard_delete": true}));
    h.send(schema("S", &[])).unwrap();
    h.send(record("S", 1, "keep")).unwrap();
    h.send(deleted("S", 2)).unwrap();
    h.finish().unwrap();
    let ids: Vec<Value> = h.rows("S").iter().map(|r| r["ID"].clone()).collect();
    assert_eq!(ids, [num("1")]);
    let log = h.log.lock().unwrap().clone();
    assert!(log.contains(&"insert S 1".to_owned()), "{log:?}");
    assert!(!log.iter().any(|e| e.starts_with("delete")), "{log:?}");
}
