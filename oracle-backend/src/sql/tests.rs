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
    let columns = plan.columns();
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
    add("create staging", create_staging(&table()).unwrap());
    add(
        "insert into staging",
        insert(&staging_name(&table()), &plan).unwrap(),
    );
    add(
        "merge from staging",
        merge_from_staging(&table(), &columns, &key("ID")).unwrap(),
    );
    add(
        "merge, key columns only",
        merge_from_staging(&table(), &key("ID"), &key("ID")).unwrap(),
    );
    add("clear staging", clear_staging(&table()).unwrap());
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
