//! Snapshot of every statement shape with its bind plan.

use super::*;
use db_boundary::{TablePattern, Value};
use singer_core::oracle_type::{LengthSemantics, OracleType};

fn table() -> TableName {
    TableName {
        schema: Some("App Owner".into()),
        name: "order".into(),
    }
}

#[test]
fn identifiers_are_quoted_or_refused() {
    assert_eq!(quote_identifier("select").unwrap(), "\"select\"");
    assert!(quote_identifier("a\"b").is_err());
    assert!(quote_identifier("").is_err());
    assert_eq!(
        quote_identifier(&"X".repeat(129)).unwrap_err().ora_code(),
        Some(972)
    );
    assert!(quote_identifier(&"X".repeat(128)).is_ok());
}

#[test]
fn every_statement_shape() {
    let scope = DictionaryScope {
        schemas: vec!["HR".into(), "SALES".into()],
        include: vec![TablePattern {
            owner: "HR".into(),
            table: "%".into(),
        }],
        exclude: vec![TablePattern {
            owner: "%".into(),
            table: "TMP\\_%".into(),
        }],
    };
    let unscoped = DictionaryScope::default();
    let key = |k: &str| vec![k.to_owned()];
    let def = TableDef {
        name: table(),
        columns: vec![
            ColumnDef {
                name: "ID".into(),
                data_type: OracleType::Number {
                    precision: Some(38),
                    scale: Some(0),
                },
                nullable: false,
                check: None,
            },
            ColumnDef {
                name: "name".into(),
                data_type: OracleType::Varchar2 {
                    length: 100,
                    semantics: LengthSemantics::Char,
                },
                nullable: true,
                check: None,
            },
            ColumnDef {
                name: "FLAG".into(),
                data_type: OracleType::Number {
                    precision: Some(1),
                    scale: Some(0),
                },
                nullable: true,
                check: Some(ColumnCheck::ZeroOrOne),
            },
            ColumnDef {
                name: "DOC".into(),
                data_type: OracleType::Clob,
                nullable: true,
                check: Some(ColumnCheck::IsJson),
            },
            ColumnDef {
                name: "AT".into(),
                data_type: OracleType::TimestampTz {
                    fractional_precision: 6,
                },
                nullable: true,
                check: None,
            },
        ],
        primary_key: vec!["ID".into()],
    };
    // The caller's order puts the CLOB first; the bind plan moves it last (ORA-24816).
    let written = vec![
        def.columns[3].clone(),
        def.columns[0].clone(),
        def.columns[1].clone(),
        def.columns[2].clone(),
        def.columns[4].clone(),
    ];
    let plan = BindPlan::for_columns(&written).unwrap();
    let filter_lt = RowFilter::LessThan {
        column: "_SDC_TABLE_VERSION".into(),
        value: Value::number("5"),
    };
    let filter_nn = RowFilter::NotNull {
        column: "_SDC_DELETED_AT".into(),
    };
    let mut out = String::new();
    let mut add = |title: &str, sql: String| out.push_str(&format!("-- {title}\n{sql}\n\n"));
    for s in session_setup(true) {
        add("session set-up", s.to_owned());
    }
    let t = dictionary_tables(&scope);
    add(
        &format!("dictionary tables, scoped (binds {:?})", t.binds),
        t.sql,
    );
    add(
        "dictionary tables, every schema Oracle does not maintain",
        dictionary_tables(&unscoped).sql,
    );
    add("dictionary columns", dictionary_columns(&scope).sql);
    add("dictionary constraints", dictionary_constraints(&scope).sql);
    add("session identity", SESSION_IDENTITY.to_owned());
    add("max string size", MAX_STRING_SIZE.to_owned());
    add("session privileges", SESSION_PRIVILEGES.to_owned());
    add("describe columns", DESCRIBE_COLUMNS.to_owned());
    add("describe primary key", DESCRIBE_PRIMARY_KEY.to_owned());
    add("describe checks, 12.2 on", describe_checks(true));
    add(
        "describe checks, before 12.2 (LONG)",
        describe_checks(false),
    );
    add(
        "COMPATIBLE through DBMS_UTILITY (out binds :1 version, :2 compatibility, VARCHAR2(64))",
        DB_VERSION.to_owned(),
    );
    add(
        "COMPATIBLE from V$PARAMETER",
        COMPATIBLE_PARAMETER.to_owned(),
    );
    add("create table", create_table(&def).unwrap());
    add(
        "add column",
        alter_table(&table(), &AlterTable::AddColumn(def.columns[1].clone())).unwrap(),
    );
    add(
        "widen column",
        alter_table(&table(), &AlterTable::ModifyColumn(def.columns[1].clone())).unwrap(),
    );
    add(
        "drop NOT NULL (the type is not restated)",
        alter_table(&table(), &AlterTable::DropNotNull("DOC".into())).unwrap(),
    );
    add(
        "rename column",
        alter_table(
            &table(),
            &AlterTable::RenameColumn {
                from: "name".into(),
                to: "name__OLD".into(),
            },
        )
        .unwrap(),
    );
    add(
        "copy column",
        alter_table(
            &table(),
            &AlterTable::CopyColumn {
                from: "name__OLD".into(),
                to: "name".into(),
            },
        )
        .unwrap(),
    );
    add(
        "drop column",
        alter_table(&table(), &AlterTable::DropColumn("name__OLD".into())).unwrap(),
    );
    add(
        "insert, with its bind plan",
        format!(
            "{}\n{}",
            insert(&table(), &plan).unwrap(),
            plan.describe().trim_end()
        ),
    );
    let upsert_of = |plan: &BindPlan| {
        let u = upsert(&table(), plan, &key("ID")).unwrap();
        let mut text = String::new();
        for statement in u.update.iter().chain([&u.insert]) {
            text.push_str(&format!("{}\n{}", statement.sql, statement.plan.describe()));
        }
        text.trim_end().to_owned()
    };
    add(
        "upsert: UPDATE by key (keys bound first, LOBs last), then INSERT of the rows not found",
        upsert_of(&plan),
    );
    add(
        "upsert, key columns only: MERGE inserting the missing keys",
        upsert_of(&BindPlan::for_columns(&written[1..2]).unwrap()),
    );
    let key_plan = BindPlan::for_columns(&[written[1].clone(), written[2].clone()]).unwrap();
    add(
        "delete by key (hard delete of records marked deleted), with its bind plan",
        format!(
            "{}\n{}",
            delete_by_key(&table(), &key_plan).unwrap(),
            key_plan.describe().trim_end()
        ),
    );
    add("delete all", delete(&table(), &RowFilter::All).unwrap());
    let outside = RowFilter::Outside {
        column: "_SDC_LOAD_SEQUENCE".into(),
        ranges: vec![
            (Value::number("10"), Value::number("19")),
            (Value::number("30"), Value::number("39")),
        ],
    };
    add(
        "delete rows outside the ranges (overwrite)",
        delete(&table(), &outside).unwrap(),
    );
    add(
        "delete older versions",
        delete(&table(), &filter_lt).unwrap(),
    );
    add(
        "delete rows marked deleted",
        delete(&table(), &filter_nn).unwrap(),
    );
    add(
        "mark older versions deleted",
        update(&table(), "_SDC_DELETED_AT", &filter_lt).unwrap(),
    );
    insta::assert_snapshot!(out);
}

fn column(name: &str, data_type: &str) -> ColumnDef {
    ColumnDef {
        name: name.into(),
        data_type: OracleType::parse(data_type).unwrap(),
        nullable: true,
        check: None,
    }
}

/// Issue 11 item 3: an upsert runs on the target table alone (no staging table whose
/// shape goes stale, no DDL), its UPDATE binds the keys before any LOB and every LOB
/// last (ORA-24816), and its INSERT is the plain array INSERT.
#[test]
fn an_upsert_touches_only_its_table_with_keys_first_and_lobs_last() {
    let columns = [
        column("DOC", "CLOB"),
        column("CODE", "VARCHAR2(4000 CHAR)"),
        column("N", "NUMBER"),
        column("PIC", "BLOB"),
    ];
    let plan = BindPlan::for_columns(&columns).unwrap();
    let u = upsert(&table(), &plan, &["CODE".to_owned()]).unwrap();
    let update = u.update.expect("non-key columns to update");
    assert_eq!(update.plan.columns(), ["CODE", "N", "DOC", "PIC"]);
    assert_eq!(u.insert.sql, insert(&table(), &plan).unwrap());
    for sql in [&update.sql, &u.insert.sql] {
        let other_tables = sql.matches(" FROM ").count() + sql.matches(" INTO ").count();
        assert_eq!(other_tables, 1, "one table reference: {sql}");
        assert!(sql.contains("\"App Owner\".\"order\""), "{sql}");
        assert!(!sql.contains("CREATE") && !sql.contains("DELETE"), "{sql}");
    }
    let missing = upsert(&table(), &plan, &["ID".to_owned()]).unwrap_err();
    assert!(matches!(missing, DbError::Unsupported(_)), "{missing:?}");
}

/// Issue 11 item 4: Oracle's describe read no CHECKs, so a 19c NUMBER(1) boolean looked
/// like a number on the next run. The conditions Oracle stores map back to the checks
/// this project creates, whatever their spelling; other conditions map to none.
#[test]
fn check_conditions_map_back_to_column_checks() {
    let flag = |text| check_from_condition("FLAG", text);
    assert_eq!(flag("\"FLAG\" IN (0, 1)"), Some(ColumnCheck::ZeroOrOne));
    assert_eq!(flag("FLAG in (1,0)"), Some(ColumnCheck::ZeroOrOne));
    assert_eq!(
        flag("  \"FLAG\"  IN ( 0 ,\n 1 ) "),
        Some(ColumnCheck::ZeroOrOne)
    );
    assert_eq!(flag("\"FLAG\" IS NOT NULL"), None);
    assert_eq!(flag("\"FLAG\" IN (0, 1, 2)"), None);
    assert_eq!(flag("FLAGS IN (0, 1)"), None);
    assert_eq!(flag("\"FLAG2\" IN (0, 1)"), None);
    assert_eq!(flag("\"FLAG\" IN (0, 1) AND \"N\" > 0"), None);
    let doc = |text| check_from_condition("doc", text);
    assert_eq!(doc("\"doc\" IS JSON"), Some(ColumnCheck::IsJson));
    assert_eq!(doc("\"doc\" is json (strict)"), Some(ColumnCheck::IsJson));
    assert_eq!(doc("\"doc\" IS JSON STRICT"), Some(ColumnCheck::IsJson));
    // A lower-case name is only ever quoted.
    assert_eq!(doc("doc IS JSON"), None);
    assert_eq!(doc("\"doc\" IS JSONX"), None);
    // What this project writes is read back.
    for (name, check) in [
        ("FLAG", ColumnCheck::ZeroOrOne),
        ("doc", ColumnCheck::IsJson),
    ] {
        let created = column_sql(&ColumnDef {
            name: name.into(),
            data_type: OracleType::Clob,
            nullable: true,
            check: Some(check),
        })
        .unwrap();
        let condition = created
            .split_once(" CHECK (")
            .unwrap()
            .1
            .strip_suffix(')')
            .unwrap();
        assert_eq!(
            check_from_condition(name, condition),
            Some(check),
            "{created}"
        );
    }
}
