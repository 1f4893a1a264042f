//! End-to-end: distinct streams never share one table (issue 12, item 2). By default
//! the stream's `<PREFIX>-` stays in the table name; any two streams that still map to
//! one table are refused before a row of the second is written, naming both streams
//! and the setting that resolves it.

mod common;

use common::{lines, num, record, schema, state, text, Db};
use db_boundary::Value;
use serde_json::json;

fn ids_and_values(rows: &[std::collections::BTreeMap<String, Value>]) -> Vec<(Value, Value)> {
    rows.iter()
        .map(|r| (r["ID"].clone(), r["V"].clone()))
        .collect()
}

#[test]
fn two_owners_same_named_tables_load_into_two_tables_by_default() {
    // What tap-oracle writes when schemas HR and SALES both hold a table EMP.
    let db = Db::new(json!({}));
    let run = db.run(&lines(&[
        schema("HR-EMP", &["id"]),
        record("HR-EMP", 1, "hr one"),
        record("HR-EMP", 2, "hr two"),
        schema("SALES-EMP", &["id"]),
        record("SALES-EMP", 1, "sales one"),
        state(json!({"done": true})),
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        ids_and_values(&db.rows("HR_EMP")),
        [(num("1"), text("hr one")), (num("2"), text("hr two"))]
    );
    assert_eq!(
        ids_and_values(&db.rows("SALES_EMP")),
        [(num("1"), text("sales one"))]
    );
}

#[test]
fn streams_that_still_share_a_table_are_refused_naming_both_and_the_way_out() {
    let cases = [
        (json!({}), "t", "T", "set uppercase_identifiers to false"),
        (json!({}), "x;", "x'", "table_names"),
        (json!({}), "", "-", "table_names"),
        (
            json!({"stream_prefix": "drop", "default_target_schema": "SIM_USER"}),
            "HR-EMP",
            "SALES-EMP",
            "set stream_prefix to \"table\" or \"schema\"",
        ),
    ];
    for (settings, first, second, way_out) in cases {
        let db = Db::new(settings.clone());
        let run = db.run(&lines(&[
            schema(first, &[]),
            record(first, 1, "first"),
            state(json!({"n": 1})),
            schema(second, &[]),
            record(second, 2, "second"),
        ]));
        let case = format!("{first:?} / {second:?} with {settings}");
        assert_eq!(run.code, 1, "{case}: {}", run.stderr);
        let both = format!(
            "line 4: stream {second:?}: streams {first:?} and {second:?} both map to table"
        );
        assert!(
            run.stderr.contains(&both) && run.stderr.contains(way_out),
            "{case}: {}",
            run.stderr
        );
        // The first stream's committed rows are intact; nothing of the second is there.
        assert_eq!(run.states(), [json!({"n": 1})], "{case}");
        let table = run
            .stderr
            .split("both map to table \"SIM_USER\".\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("{case}: {}", run.stderr))
            .to_owned();
        assert_eq!(
            ids_and_values(&db.rows(&table)),
            [(num("1"), text("first"))],
            "{case}"
        );
    }
}

#[test]
fn table_names_gives_a_stream_its_own_table() {
    let db = Db::new(json!({"table_names": {"x'": "x_quote"}}));
    let run = db.run(&lines(&[
        schema("x;", &[]),
        record("x;", 1, "semicolon"),
        schema("x'", &[]),
        record("x'", 2, "quote"),
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        ids_and_values(&db.rows("X_")),
        [(num("1"), text("semicolon"))]
    );
    assert_eq!(
        ids_and_values(&db.rows("X_QUOTE")),
        [(num("2"), text("quote"))]
    );
}

#[test]
fn stream_prefix_schema_loads_into_the_owners_schema_which_must_exist() {
    let db = Db::new(json!({"stream_prefix": "schema"}));
    db.backend().create_user("HR").unwrap();
    let run = db.run(&lines(&[
        schema("HR-EMP", &["id"]),
        record("HR-EMP", 1, "hr one"),
        state(json!({"hr": "done"})),
        schema("SALES-EMP", &["id"]),
        record("SALES-EMP", 1, "sales one"),
    ]));
    assert_eq!(
        ids_and_values(&db.rows_in("HR", "EMP")),
        [(num("1"), text("hr one"))]
    );
    // Oracle has no schema SALES here (a schema is a user): the run stops, exit 2,
    // saying what to do.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "creating table \"SALES\".\"EMP\" for stream \"SALES-EMP\" (its schema must exist"
        ) && run
            .stderr
            .contains("ORA-01918: user 'SALES' does not exist"),
        "{}",
        run.stderr
    );
    assert_eq!(run.states(), [json!({"hr": "done"})]);
}
