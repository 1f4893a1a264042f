//! What the simulated backend promises beyond the shared boundary contract (that one
//! lives in `contract-tests/`): durability across killed processes, concurrent readers,
//! the 30-byte and 19c modes, dictionary scopes, seed folders and the `sim-admin` tool.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use std::ops::ControlFlow;

use db_boundary::{
    scan_into, Backend, ColumnDef, DictionaryScope, FetchTuning, KeyRange, Scan, ScanError,
    ScanRange, ScannedRow, TableDef, TableName, TablePattern, TableRef, Value,
};
use sim_backend::{SimBackend, SimOptions};
use singer_core::oracle_type::OracleType;

const SIM_ADMIN: &str = env!("CARGO_BIN_EXE_sim-admin");

/// A read of column ID of `table` in the session user's schema.
fn scan_of(table: &str, range: ScanRange, as_of_scn: Option<u64>) -> Scan {
    Scan {
        table: TableRef {
            owner: "SIM_USER".into(),
            table: table.into(),
        },
        columns: vec![db_boundary::ScanColumn::new(
            "ID",
            singer_core::oracle_type::OracleType::parse("NUMBER").unwrap(),
        )],
        range,
        as_of_scn,
        tuning: FetchTuning::default(),
    }
}

fn by_id() -> ScanRange {
    ScanRange::Keyset(KeyRange::new(vec!["ID".into()]).unwrap())
}

fn id_table(backend: &SimBackend, name: &str) -> TableName {
    let table = TableName {
        schema: Some(backend.options().user.clone()),
        name: name.to_owned(),
    };
    let mut sink = backend.sink().unwrap();
    sink.create_table(&TableDef {
        name: table.clone(),
        columns: vec![ColumnDef {
            name: "ID".into(),
            data_type: OracleType::Number {
                precision: None,
                scale: None,
            },
            nullable: false,
            check: None,
        }],
        primary_key: vec!["ID".into()],
    })
    .unwrap();
    table
}

/// A simulated database in `dir` whose table T holds the IDs 1 to `rows`.
fn ids_table(dir: &Path, rows: i64) -> SimBackend {
    let backend = SimBackend::open(dir).unwrap();
    id_table(&backend, "T");
    backend
        .insert_rows(
            "SIM_USER",
            "T",
            &["ID".to_owned()],
            (1..=rows).map(|i| vec![Value::Number(i.into())]),
        )
        .unwrap();
    backend
}

/// Runs `sim-admin hold`, waits until it has written, then kills it (SIGKILL).
fn write_then_get_killed(dir: &Path, rows: u64, commit: bool) {
    let mut command = Command::new(SIM_ADMIN);
    command.args([
        "hold".as_ref(),
        dir.as_os_str(),
        "SIM_USER".as_ref(),
        "KILLED".as_ref(),
        "ID".as_ref(),
        "--rows".as_ref(),
        rows.to_string().as_ref(),
    ]);
    if commit {
        command.arg("--commit");
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("sim-admin starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "sim-admin hold reports its writes");
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the writer was killed, not finished");
}

/// Processes that open one new store at once (shard runs loading one target) all get
/// it, created once: each open is its own connection, as each process has.
#[test]
fn sessions_opening_a_new_store_at_once_all_succeed() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let start = std::sync::Barrier::new(8);
        let opened: Vec<Result<(), String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        SimBackend::open(&path).map(drop).map_err(|e| e.to_string())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(opened.iter().all(Result::is_ok), "{opened:?}");
        let backend = SimBackend::open(&path).unwrap();
        assert_eq!(backend.redo_logs().unwrap().len(), 1, "one first log");
    }
}

#[test]
fn a_killed_writer_leaves_no_uncommitted_rows() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SimBackend::open(dir.path()).unwrap();
    id_table(&backend, "KILLED");
    write_then_get_killed(dir.path(), 500, false);
    let reopened = SimBackend::open(dir.path()).unwrap();
    assert_eq!(reopened.row_count("SIM_USER", "KILLED").unwrap(), 0);
    // The store is not left locked: a new writer gets through at once.
    reopened
        .insert_rows(
            "SIM_USER",
            "KILLED",
            &["ID".to_owned()],
            [vec![Value::number("1")]],
        )
        .unwrap();
    assert_eq!(reopened.row_count("SIM_USER", "KILLED").unwrap(), 1);
}

#[test]
fn a_killed_writer_keeps_its_committed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SimBackend::open(dir.path()).unwrap();
    id_table(&backend, "KILLED");
    write_then_get_killed(dir.path(), 500, true);
    let reopened = SimBackend::open(dir.path()).unwrap();
    let rows = reopened.read_rows("SIM_USER", "KILLED").unwrap();
    assert_eq!(rows.len(), 500);
    assert_eq!(rows[0], vec![Value::number("1")]);
    assert_eq!(rows[499], vec![Value::number("500")]);
}

#[test]
fn readers_scan_concurrently_while_a_writer_holds_a_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SimBackend::open(dir.path()).unwrap();
    let table = id_table(&backend, "SHARED");
    backend
        .insert_rows(
            "SIM_USER",
            "SHARED",
            &["ID".to_owned()],
            (1..=2000).map(|i| vec![Value::Number(i.into())]),
        )
        .unwrap();
    let mut writer = backend.sink().unwrap();
    let columns = db_boundary::column_defs(writer.as_mut(), &table, &["ID".to_owned()]).unwrap();
    writer
        .insert_rows(&table, &columns, &[vec![Value::number("5000")]])
        .unwrap();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let readers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut source = backend.source().unwrap();
                    source
                        .scan(&scan_of("SHARED", by_id(), None), &mut |_| {
                            ControlFlow::Continue(())
                        })
                        .unwrap()
                })
            })
            .collect();
        readers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(counts, vec![2000; 4]);
    writer.commit().unwrap();
    assert_eq!(backend.row_count("SIM_USER", "SHARED").unwrap(), 2001);
}

#[test]
fn a_scan_stops_when_its_consumer_asks() {
    let dir = tempfile::tempdir().unwrap();
    let backend = ids_table(dir.path(), 10);
    let mut seen = 0;
    let mut source = backend.source().unwrap();
    let result = scan_into(
        source.as_mut(),
        &scan_of("T", ScanRange::All, None),
        &mut |_: ScannedRow<'_>| {
            seen += 1;
            if seen == 3 {
                Err("stdout closed")
            } else {
                Ok(())
            }
        },
    );
    assert!(
        matches!(result, Err(ScanError::Stopped("stdout closed"))),
        "{result:?}"
    );
    assert_eq!(seen, 3);
}

/// The query runs on a server thread that hands rows over in batches: a scan longer
/// than several batches gives every row once, in order, with its ROWID; a sink that
/// stops in the middle of a batch ends the read, and the session reads on afterwards.
#[test]
fn a_scan_over_many_server_batches_keeps_order_and_a_stopped_one_frees_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let backend = ids_table(dir.path(), 2_000);
    let mut source = backend.source().unwrap();
    let rowid_scan = scan_of(
        "T",
        ScanRange::RowId {
            after: None,
            limit: None,
        },
        None,
    );
    for _ in 0..2 {
        let (mut ids, mut rowids) = (Vec::new(), Vec::new());
        let read = scan_into(source.as_mut(), &rowid_scan, &mut |row: ScannedRow<'_>| {
            ids.push(row.values[0].clone());
            rowids.push(row.rowid.unwrap().to_owned());
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(read, 2_000);
        let expected: Vec<Value> = (1..=2_000).map(|i| Value::Number(i.into())).collect();
        assert_eq!(ids, expected);
        assert!(rowids.windows(2).all(|w| w[0] < w[1]), "{rowids:?}");
        let mut seen = 0;
        let by_key = scan_of("T", by_id(), None);
        let stopped = scan_into(source.as_mut(), &by_key, &mut |_: ScannedRow<'_>| {
            seen += 1;
            if seen == 300 {
                Err("enough")
            } else {
                Ok(())
            }
        });
        assert!(
            matches!(stopped, Err(ScanError::Stopped("enough"))),
            "{stopped:?}"
        );
        assert_eq!(seen, 300);
    }
}

#[test]
fn flashback_reads_see_the_table_as_of_an_older_scn() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SimBackend::open(dir.path()).unwrap();
    id_table(&backend, "T");
    let mut source = backend.source().unwrap();
    let before = source.current_scn().unwrap();
    backend
        .insert_rows(
            "SIM_USER",
            "T",
            &["ID".to_owned()],
            [vec![Value::number("1")]],
        )
        .unwrap();
    let latest = source.current_scn().unwrap();
    assert_eq!(
        latest,
        before + 2,
        "one change and one commit, one SCN each"
    );
    let mut scan_as_of = |scn: u64| {
        let mut rows = 0;
        source
            .scan(&scan_of("T", ScanRange::All, Some(scn)), &mut |_| {
                rows += 1;
                ControlFlow::Continue(())
            })
            .map(|_| rows)
    };
    assert_eq!(scan_as_of(latest).unwrap(), 1);
    assert_eq!(
        scan_as_of(before).unwrap(),
        0,
        "the insert committed after it"
    );
    assert_eq!(scan_as_of(latest + 1).unwrap_err().ora_code(), Some(8181));
    // DDL moves the SCN on; a read as of an SCN before it: "table definition has changed".
    let mut sink = backend.sink().unwrap();
    sink.alter_table(
        &TableName {
            schema: Some("SIM_USER".into()),
            name: "T".into(),
        },
        &db_boundary::AlterTable::AddColumn(ColumnDef {
            name: "EXTRA".into(),
            data_type: OracleType::Number {
                precision: None,
                scale: None,
            },
            nullable: true,
            check: None,
        }),
    )
    .unwrap();
    let error = source
        .scan(&scan_of("T", ScanRange::All, Some(latest)), &mut |_| {
            ControlFlow::Continue(())
        })
        .unwrap_err();
    assert_eq!(error.ora_code(), Some(1466), "{error}");
}

#[test]
fn a_19c_store_with_30_byte_names_says_so_and_enforces_it() {
    let dir = tempfile::tempdir().unwrap();
    let options = SimOptions {
        major_version: 19,
        max_identifier_bytes: 30,
        ..SimOptions::default()
    };
    SimBackend::open_with(dir.path(), options).unwrap();
    // The options are the store's own: a plain open later keeps them.
    let backend = SimBackend::open(dir.path()).unwrap();
    let info = backend.source().unwrap().server_info().unwrap();
    assert_eq!(info.major_version, 19);
    assert_eq!(info.max_identifier_bytes, 30);
    assert!(!info.supports_boolean());
    assert!(!info.supports_json_type());
    id_table(&backend, &"T".repeat(30));
    let mut sink = backend.sink().unwrap();
    let error = sink
        .create_table(&TableDef {
            name: TableName {
                schema: None,
                name: "T".repeat(31),
            },
            columns: vec![],
            primary_key: vec![],
        })
        .unwrap_err();
    assert_eq!(error.ora_code(), Some(972), "{error}");
}

/// Issue 11 item 8: an upgraded database keeps its old COMPATIBLE, and the features that
/// change the data files follow it, not the release: 128-byte names need 12.2 (ORA-00972
/// otherwise) and the JSON type 20 (ORA-00406).
#[test]
fn compatible_not_the_release_decides_names_and_the_json_type() {
    let json_table = |name: &str| TableDef {
        name: TableName {
            schema: None,
            name: name.into(),
        },
        columns: vec![ColumnDef {
            name: "DOC".into(),
            data_type: OracleType::Json,
            nullable: true,
            check: None,
        }],
        primary_key: vec![],
    };
    let open = |major: u32, compatible: &str| {
        let dir = tempfile::tempdir().unwrap();
        let options = SimOptions {
            major_version: major,
            compatible: Some(compatible.into()),
            ..SimOptions::default()
        };
        let backend = SimBackend::open_with(dir.path(), options).unwrap();
        (dir, backend)
    };
    let (_dir, upgraded) = open(23, "19.0.0");
    let info = upgraded.source().unwrap().server_info().unwrap();
    assert_eq!((info.major_version, info.compatible), (23, Some((19, 0))));
    assert!(!info.supports_json_type());
    assert_eq!(info.max_identifier_bytes, 128);
    let error = upgraded
        .sink()
        .unwrap()
        .create_table(&json_table("J"))
        .unwrap_err();
    assert_eq!(error.ora_code(), Some(406), "{error}");
    let (_dir, raised) = open(23, "23.0.0");
    assert!(raised
        .source()
        .unwrap()
        .server_info()
        .unwrap()
        .supports_json_type());
    raised
        .sink()
        .unwrap()
        .create_table(&json_table("J"))
        .unwrap();
    let (_dir, old) = open(19, "12.1.0.2");
    let info = old.source().unwrap().server_info().unwrap();
    assert_eq!(info.max_identifier_bytes, 30);
    id_table(&old, &"T".repeat(30));
    let error = old
        .sink()
        .unwrap()
        .create_table(&TableDef {
            columns: vec![],
            ..json_table(&"T".repeat(31))
        })
        .unwrap_err();
    assert_eq!(error.ora_code(), Some(972), "{error}");
}

#[test]
fn a_table_goes_only_into_a_schema_that_exists_as_oracle_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SimBackend::open(dir.path()).unwrap();
    let in_schema = |schema: &str| TableDef {
        name: TableName {
            schema: Some(schema.into()),
            name: "T".into(),
        },
        columns: vec![ColumnDef {
            name: "ID".into(),
            data_type: OracleType::Number {
                precision: None,
                scale: None,
            },
            nullable: true,
            check: None,
        }],
        primary_key: vec![],
    };
    let mut sink = backend.sink().unwrap();
    // A schema is a user: creating a table in a missing one is ORA-01918.
    let err = sink.create_table(&in_schema("NOPE")).unwrap_err();
    assert_eq!(err.ora_code(), Some(1918), "{err}");
    assert_eq!(err.to_string(), "ORA-01918: user 'NOPE' does not exist");
    // Nothing in it can be described, written or read: no table (ORA-00942).
    assert!(sink
        .describe_table(&in_schema("NOPE").name)
        .unwrap()
        .is_none());
    let err = sink
        .insert_rows(
            &in_schema("NOPE").name,
            &in_schema("NOPE").columns,
            &[vec![Value::Null]],
        )
        .unwrap_err();
    assert_eq!(err.ora_code(), Some(942), "{err}");
    // Once the user exists, it works; the session user always exists.
    backend.create_user("NOPE").unwrap();
    sink.create_table(&in_schema("NOPE")).unwrap();
    sink.create_table(&in_schema("SIM_USER")).unwrap();
    let err = backend.create_user("NOPE").unwrap_err();
    assert_eq!(err.ora_code(), Some(1920), "{err}");
}

#[test]
fn dictionary_scope_filters_schemas_and_like_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SimBackend::open(dir.path()).unwrap();
    for user in ["HR", "SALES", "sales"] {
        backend.create_user(user).unwrap();
    }
    let mut sink = backend.sink().unwrap();
    for (schema, table) in [
        ("HR", "EMPLOYEES"),
        ("HR", "EMP_HISTORY"),
        ("HR", "EMPXHISTORY"),
        ("HR", "JOBS"),
        ("SALES", "ORDERS"),
        ("sales", "orders"),
    ] {
        sink.create_table(&TableDef {
            name: TableName {
                schema: Some(schema.into()),
                name: table.into(),
            },
            columns: vec![],
            primary_key: vec![],
        })
        .unwrap();
    }
    let mut source = backend.source().unwrap();
    let mut tables = |scope: DictionaryScope| -> Vec<String> {
        let rows = source.read_dictionary(&scope).unwrap();
        rows.tables
            .iter()
            .map(|t| format!("{}.{}", t.owner, t.table_name))
            .collect()
    };
    let pattern = |owner: &str, table: &str| TablePattern {
        owner: owner.into(),
        table: table.into(),
    };
    assert_eq!(tables(DictionaryScope::default()).len(), 6);
    assert_eq!(
        tables(DictionaryScope {
            schemas: vec!["SALES".into()],
            ..Default::default()
        }),
        ["SALES.ORDERS"],
        "schemas match in exact case"
    );
    assert_eq!(
        tables(DictionaryScope {
            include: vec![pattern("HR", "EMP\\_%")],
            ..Default::default()
        }),
        ["HR.EMP_HISTORY"],
        "an escaped _ is literal"
    );
    assert_eq!(
        tables(DictionaryScope {
            include: vec![pattern("HR", "EMP_%")],
            exclude: vec![pattern("%", "%HISTORY")],
            ..Default::default()
        }),
        ["HR.EMPLOYEES"]
    );
    assert_eq!(
        tables(DictionaryScope {
            include: vec![pattern("%", "ORDERS"), pattern("HR", "J_BS")],
            ..Default::default()
        }),
        ["HR.JOBS", "SALES.ORDERS"]
    );
}

#[test]
fn a_seed_folder_loads_and_dumps_back_in_the_same_text_forms() {
    let seed = tempfile::tempdir().unwrap();
    let dictionary = serde_json::json!({
        "tables": [{"OWNER": "DEMO", "TABLE_NAME": "THINGS", "TABLE_TYPE": "TABLE"}],
        "columns": [
            {"OWNER": "DEMO", "TABLE_NAME": "THINGS", "COLUMN_ID": 1, "COLUMN_NAME": "ID",
             "DATA_TYPE": "NUMBER", "DATA_PRECISION": 10, "DATA_SCALE": 0, "NULLABLE": "N"},
            {"OWNER": "DEMO", "TABLE_NAME": "THINGS", "COLUMN_ID": 2, "COLUMN_NAME": "PRICE",
             "DATA_TYPE": "NUMBER", "NULLABLE": "Y"},
            {"OWNER": "DEMO", "TABLE_NAME": "THINGS", "COLUMN_ID": 3, "COLUMN_NAME": "NAME",
             "DATA_TYPE": "VARCHAR2", "DATA_LENGTH": 40, "CHAR_LENGTH": 10, "CHAR_USED": "C",
             "NULLABLE": "Y"},
            {"OWNER": "DEMO", "TABLE_NAME": "THINGS", "COLUMN_ID": 4, "COLUMN_NAME": "AT",
             "DATA_TYPE": "TIMESTAMP(6) WITH TIME ZONE", "DATA_SCALE": 6, "NULLABLE": "Y"},
            {"OWNER": "DEMO", "TABLE_NAME": "THINGS", "COLUMN_ID": 5, "COLUMN_NAME": "RAWDATA",
             "DATA_TYPE": "RAW", "DATA_LENGTH": 8, "NULLABLE": "Y"},
            {"OWNER": "DEMO", "TABLE_NAME": "THINGS", "COLUMN_ID": 6, "COLUMN_NAME": "WAIT",
             "DATA_TYPE": "INTERVAL DAY(2) TO SECOND(6)", "DATA_PRECISION": 2, "DATA_SCALE": 6,
             "NULLABLE": "Y"},
            {"OWNER": "DEMO", "TABLE_NAME": "THINGS", "COLUMN_ID": 7, "COLUMN_NAME": "DOC",
             "DATA_TYPE": "JSON", "NULLABLE": "Y"}
        ],
        "constraints": [
            {"OWNER": "DEMO", "TABLE_NAME": "THINGS", "CONSTRAINT_NAME": "THINGS_PK",
             "CONSTRAINT_TYPE": "P", "COLUMN_NAME": "ID", "POSITION": 1}
        ]
    });
    std::fs::write(
        seed.path().join("dictionary.json"),
        serde_json::to_string_pretty(&dictionary).unwrap(),
    )
    .unwrap();
    std::fs::create_dir(seed.path().join("data")).unwrap();
    let lines = [
        r#"[1,12345678901234567890.123456789,"Zoë","2024-05-01T12:30:00.123456+05:30","AAEC/w==","P1DT2H3M4.500000000S",{"k":[1,2.50]}]"#,
        r#"[2,null,null,null,null,null,null]"#,
    ];
    std::fs::write(
        seed.path().join("data").join("DEMO-THINGS.jsonl"),
        lines.join("\n") + "\n",
    )
    .unwrap();
    let sim = tempfile::tempdir().unwrap();
    let seeded = Command::new(SIM_ADMIN)
        .arg("seed")
        .arg(sim.path())
        .arg(seed.path())
        .output()
        .unwrap();
    assert!(seeded.status.success(), "{seeded:?}");
    let dumped = Command::new(SIM_ADMIN)
        .arg("dump")
        .arg(sim.path())
        .args(["DEMO", "THINGS"])
        .output()
        .unwrap();
    assert!(dumped.status.success(), "{dumped:?}");
    let text = String::from_utf8(dumped.stdout).unwrap();
    let out: Vec<&str> = text.lines().collect();
    assert_eq!(out, lines);
    // The dictionary answers with the seeded rows.
    let backend = SimBackend::open(sim.path()).unwrap();
    let rows = backend
        .source()
        .unwrap()
        .read_dictionary(&DictionaryScope::default())
        .unwrap();
    assert_eq!(rows.columns.len(), 7);
    assert_eq!(rows.constraints[0].constraint_name, "THINGS_PK");
}

#[test]
fn generate_writes_the_benchmark_orders_table() {
    let sim = tempfile::tempdir().unwrap();
    let status = Command::new(SIM_ADMIN)
        .arg("generate")
        .arg(sim.path())
        .args(["--rows", "1000"])
        .status()
        .unwrap();
    assert!(status.success());
    let backend = SimBackend::open(sim.path()).unwrap();
    assert_eq!(backend.row_count("BENCH", "ORDERS").unwrap(), 1000);
    assert_eq!(
        backend.column_names("BENCH", "ORDERS").unwrap(),
        [
            "ORDER_ID",
            "CUSTOMER_ID",
            "AMOUNT",
            "CURRENCY",
            "STATUS",
            "CUSTOMER_NAME",
            "SHIP_ADDRESS",
            "NOTES",
            "ORDER_DATE",
            "UPDATED_AT",
            "IS_PRIORITY",
            "DISCOUNT_RATE"
        ]
    );
    let rows = backend.read_rows("BENCH", "ORDERS").unwrap();
    assert_eq!(rows[0][0], Value::number("1"));
    assert_eq!(rows[999][0], Value::number("1000"));
}

#[test]
fn usage_errors_exit_1_with_a_message() {
    let out = Command::new(SIM_ADMIN).arg("nonsense").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sim-admin --help lists them"), "{stderr}");
    assert!(
        stderr.contains("sim-admin seed <sim_dir> <seed_dir>"),
        "{stderr}"
    );
}

#[test]
fn help_prints_every_command_and_exits_0() {
    for flag in ["--help", "-h", "help"] {
        let out = Command::new(SIM_ADMIN).arg(flag).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(out.stderr.is_empty(), "{flag}");
        let text = String::from_utf8_lossy(&out.stdout);
        for command in [
            "seed <sim_dir>",
            "dump <sim_dir>",
            "generate <sim_dir>",
            "hold <sim_dir>",
        ] {
            assert!(
                text.contains(&format!("sim-admin {command}")),
                "{flag}: {text}"
            );
        }
    }
}

#[test]
fn a_bad_seed_line_is_named_and_loads_nothing_of_its_file() {
    let seed = tempfile::tempdir().unwrap();
    let dictionary = serde_json::json!({
        "tables": [{"OWNER": "DEMO", "TABLE_NAME": "T", "TABLE_TYPE": "TABLE"}],
        "columns": [
            {"OWNER": "DEMO", "TABLE_NAME": "T", "COLUMN_ID": 1, "COLUMN_NAME": "AT",
             "DATA_TYPE": "DATE", "NULLABLE": "Y"}
        ]
    });
    std::fs::write(seed.path().join("dictionary.json"), dictionary.to_string()).unwrap();
    std::fs::create_dir(seed.path().join("data")).unwrap();
    std::fs::write(
        seed.path().join("data").join("DEMO-T.jsonl"),
        "[\"2024-01-01T00:00:00\"]\n[\"yesterday\"]\n",
    )
    .unwrap();
    let sim = tempfile::tempdir().unwrap();
    let out = Command::new(SIM_ADMIN)
        .arg("seed")
        .arg(sim.path())
        .arg(seed.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DEMO-T.jsonl line 2, column AT"),
        "{stderr}"
    );
    let backend = SimBackend::open(sim.path()).unwrap();
    assert_eq!(backend.row_count("DEMO", "T").unwrap(), 0);
}

/// An external table (`EXTERNAL TABLE` in the dictionary rows, as ALL_EXTERNAL_TABLES
/// marks it) refuses what Oracle refuses on one: `AS OF SCN` (ORA-08188, for scans and
/// chunk bounds alike) and ROWID (ORA-02031); a plain read, ordered or not, works.
#[test]
fn an_external_table_refuses_flashback_and_rowid_as_oracle_does() {
    use singer_core::dictionary::{ColumnRow, DictionaryRows, TableRow};
    let dir = tempfile::tempdir().unwrap();
    let backend = SimBackend::open(dir.path()).unwrap();
    let number = OracleType::Number {
        precision: None,
        scale: None,
    };
    backend
        .load_dictionary(&DictionaryRows {
            tables: vec![TableRow {
                owner: "SIM_USER".into(),
                table_name: "FILES".into(),
                table_type: "EXTERNAL TABLE".into(),
                iot_type: None,
                partitioned: Some("NO".into()),
                temporary: Some("N".into()),
                num_rows: None,
            }],
            columns: vec![ColumnRow::describing(
                "SIM_USER", "FILES", 1, "ID", &number, true,
            )],
            constraints: vec![],
        })
        .unwrap();
    backend
        .insert_rows(
            "SIM_USER",
            "FILES",
            &["ID".to_owned()],
            (1..=3).map(|i| vec![Value::number(&i.to_string())]),
        )
        .unwrap();
    let mut source = backend.source().unwrap();
    let scn = source.current_scn().unwrap();
    let code = |scan: &Scan, source: &mut Box<dyn db_boundary::Source + Send>| {
        source
            .scan(scan, &mut |_| ControlFlow::Continue(()))
            .map_err(|e| e.ora_code())
    };
    assert_eq!(
        code(&scan_of("FILES", by_id(), Some(scn)), &mut source),
        Err(Some(8188))
    );
    let by_rowid = ScanRange::RowId {
        after: None,
        limit: None,
    };
    assert_eq!(
        code(&scan_of("FILES", by_rowid, None), &mut source),
        Err(Some(2031))
    );
    let table = TableRef {
        owner: "SIM_USER".into(),
        table: "FILES".into(),
    };
    let key = db_boundary::ScanColumn::new("ID", number.clone());
    let bounds = source
        .chunk_bounds(&table, &[key], 2, Some(scn))
        .unwrap_err();
    assert_eq!(bounds.ora_code(), Some(8188));
    assert_eq!(code(&scan_of("FILES", by_id(), None), &mut source), Ok(3));
    assert_eq!(
        code(&scan_of("FILES", ScanRange::All, None), &mut source),
        Ok(3)
    );
}

/// Oracle sizes a primary key's index by its columns' declared widths (4 bytes a
/// character in AL32UTF8, capped by MAX_STRING_SIZE) plus a byte each, and an 8 KB
/// block holds at most 6398: CREATE TABLE over two VARCHAR2(4000 CHAR) keys is
/// ORA-01450, and so is one with MAX_STRING_SIZE = EXTENDED (16,000 bytes); widening a
/// key column past the limit is ORA-01404.
#[test]
fn a_primary_key_too_wide_for_an_index_is_refused_as_oracle_refuses_it() {
    let text = |chars: u32| OracleType::Varchar2 {
        length: chars,
        semantics: singer_core::oracle_type::LengthSemantics::Char,
    };
    let column = |name: &str, data_type: OracleType| ColumnDef {
        name: name.into(),
        data_type,
        nullable: false,
        check: None,
    };
    let table = |name: &str, keys: Vec<ColumnDef>| TableDef {
        name: TableName {
            schema: None,
            name: name.into(),
        },
        primary_key: keys.iter().map(|c| c.name.clone()).collect(),
        columns: keys,
    };
    let number = || OracleType::Number {
        precision: Some(38),
        scale: Some(0),
    };
    for (max_string_bytes, fits, too_wide) in [
        // STANDARD: a VARCHAR2 is at most 4000 bytes, so one fits and two do not.
        (
            4000,
            vec![column("A", text(4000)), column("N", number())],
            vec![column("A", text(4000)), column("B", text(4000))],
        ),
        // EXTENDED: 4000 characters are 16,000 bytes; 1599 are 6396, plus one byte.
        (
            32767,
            vec![column("A", text(1599))],
            vec![column("A", text(1600))],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let options = SimOptions {
            max_string_bytes,
            ..SimOptions::default()
        };
        let backend = SimBackend::open_with(dir.path(), options).unwrap();
        let mut sink = backend.sink().unwrap();
        sink.create_table(&table("FITS", fits.clone())).unwrap();
        let error = sink.create_table(&table("WIDE", too_wide)).unwrap_err();
        assert_eq!(error.ora_code(), Some(1450), "{max_string_bytes}: {error}");
        // Widening a key column of the table that fits past the limit.
        let wider = column("A", text(max_string_bytes.min(8000)));
        let widen = db_boundary::AlterTable::ModifyColumn(ColumnDef {
            data_type: if max_string_bytes == 4000 {
                OracleType::Varchar2 {
                    length: 4000,
                    semantics: singer_core::oracle_type::LengthSemantics::Byte,
                }
            } else {
                text(2000)
            },
            ..wider
        });
        let fits_name = TableName {
            schema: None,
            name: "FITS".into(),
        };
        match max_string_bytes {
            // A(4000 CHAR) + NUMBER is 4024 bytes: still fits at 4000 BYTE.
            4000 => sink.alter_table(&fits_name, &widen).unwrap(),
            _ => {
                let error = sink.alter_table(&fits_name, &widen).unwrap_err();
                assert_eq!(error.ora_code(), Some(1404), "{error}");
            }
        }
    }
}

/// A table holds at most 1000 columns: CREATE TABLE with 1001 and ADD of the 1001st are
/// ORA-01792, as on Oracle.
#[test]
fn a_table_holds_at_most_a_thousand_columns() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SimBackend::open(dir.path()).unwrap();
    let mut sink = backend.sink().unwrap();
    let column = |i: usize| ColumnDef {
        name: format!("C{i}"),
        data_type: OracleType::Number {
            precision: None,
            scale: None,
        },
        nullable: true,
        check: None,
    };
    let table = |name: &str, count: usize| TableDef {
        name: TableName {
            schema: None,
            name: name.into(),
        },
        columns: (0..count).map(column).collect(),
        primary_key: vec![],
    };
    let error = sink.create_table(&table("WIDE", 1001)).unwrap_err();
    assert_eq!(error.ora_code(), Some(1792), "{error}");
    sink.create_table(&table("FULL", 1000)).unwrap();
    let full = TableName {
        schema: None,
        name: "FULL".into(),
    };
    let error = sink
        .alter_table(&full, &db_boundary::AlterTable::AddColumn(column(1000)))
        .unwrap_err();
    assert_eq!(error.ora_code(), Some(1792), "{error}");
}
