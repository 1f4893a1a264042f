//! Schema evolution: the changes that turn an existing table into one that holds the
//! columns a new SCHEMA asks for, as a pure function over table definitions.
//!
//! - a new property -> ADD (always nullable: existing rows have no value);
//! - a longer string -> widen; a VARCHAR2 past the server limit -> CLOB by
//!   add-copy-drop-rename (Oracle cannot MODIFY a VARCHAR2 into a CLOB);
//! - a wider number -> widen;
//! - a type of another family (number -> string, ...) -> the old column is kept under a
//!   suffixed name and a new one is added, so no data is lost;
//! - a narrower type -> nothing (the existing column already holds every value);
//! - a column the schema no longer has -> kept, made nullable.

use singer_core::oracle_type::{LengthSemantics, OracleType};

use db_boundary::{AlterTable, ColumnCheck, ColumnDef, TableDef};

use crate::naming::NamingRules;

/// Families of types whose values convert into each other without loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Number,
    Text,
    Json,
    Boolean,
    Instant,
    WallClock,
    Date,
    Binary,
    Other,
}

fn family(column: &ColumnDef) -> Family {
    match (&column.data_type, column.check) {
        (OracleType::Number { .. }, Some(ColumnCheck::ZeroOrOne)) | (OracleType::Boolean, _) => {
            Family::Boolean
        }
        (OracleType::Clob, Some(ColumnCheck::IsJson)) | (OracleType::Json, _) => Family::Json,
        (OracleType::Number { .. } | OracleType::Float { .. }, _) => Family::Number,
        (
            OracleType::Varchar2 { .. }
            | OracleType::NVarchar2 { .. }
            | OracleType::Char { .. }
            | OracleType::NChar { .. }
            | OracleType::Clob
            | OracleType::NClob,
            _,
        ) => Family::Text,
        (OracleType::TimestampTz { .. } | OracleType::TimestampLtz { .. }, _) => Family::Instant,
        (OracleType::Timestamp { .. }, _) => Family::WallClock,
        (OracleType::Date, _) => Family::Date,
        (OracleType::Blob | OracleType::Raw { .. }, _) => Family::Binary,
        _ => Family::Other,
    }
}

/// How a wanted column relates to the existing one of the same name.
#[derive(Debug, Clone, PartialEq)]
enum Fit {
    /// The existing column holds every value of the wanted one.
    Holds,
    /// `ALTER TABLE ... MODIFY` to this type.
    Widen(OracleType),
    /// VARCHAR2 -> CLOB.
    ToClob,
    Incompatible,
}

/// (digits before the point, digits after) of a NUMBER; `None` for unconstrained.
fn number_shape(t: &OracleType) -> Option<(i64, i64)> {
    match t {
        OracleType::Number {
            precision: Some(p),
            scale,
        } => {
            let s = i64::from(scale.unwrap_or(0));
            Some((i64::from(*p) - s, s))
        }
        _ => None,
    }
}

fn fit(existing: &ColumnDef, wanted: &ColumnDef) -> Fit {
    if existing.data_type == wanted.data_type {
        return Fit::Holds;
    }
    let (fe, fw) = (family(existing), family(wanted));
    if fe != fw {
        return Fit::Incompatible;
    }
    match fe {
        Family::Number => match (&existing.data_type, &wanted.data_type) {
            (OracleType::Float { .. }, _) => Fit::Holds,
            (_, OracleType::Float { .. }) => Fit::Widen(OracleType::Number {
                precision: None,
                scale: None,
            }),
            _ => match (
                number_shape(&existing.data_type),
                number_shape(&wanted.data_type),
            ) {
                (None, _)
                    if matches!(existing.data_type, OracleType::Number { scale: None, .. }) =>
                {
                    Fit::Holds
                }
                (_, None) => Fit::Widen(wanted.data_type.clone()),
                (Some((ei, es)), Some((wi, ws))) => {
                    if wi <= ei && ws <= es {
                        Fit::Holds
                    } else {
                        let int = ei.max(wi);
                        let scale = es.max(ws);
                        if int + scale > 38 {
                            Fit::Widen(OracleType::Number {
                                precision: None,
                                scale: None,
                            })
                        } else {
                            Fit::Widen(OracleType::Number {
                                precision: Some((int + scale) as u8),
                                scale: Some(scale as i16),
                            })
                        }
                    }
                }
                (None, Some(_)) => Fit::Holds,
            },
        },
        Family::Text => match (&existing.data_type, &wanted.data_type) {
            (OracleType::Clob | OracleType::NClob, _) => Fit::Holds,
            (_, OracleType::Clob | OracleType::NClob) => Fit::ToClob,
            (
                OracleType::Varchar2 {
                    length: el,
                    semantics: es,
                },
                OracleType::Varchar2 {
                    length: wl,
                    semantics: ws,
                },
            ) => {
                if wl <= el && (es == ws || *es == LengthSemantics::Char) {
                    Fit::Holds
                } else {
                    Fit::Widen(OracleType::Varchar2 {
                        length: (*wl).max(*el),
                        semantics: LengthSemantics::Char,
                    })
                }
            }
            _ => Fit::Holds,
        },
        Family::Instant | Family::WallClock => match (&existing.data_type, &wanted.data_type) {
            (
                OracleType::TimestampTz {
                    fractional_precision: e,
                }
                | OracleType::TimestampLtz {
                    fractional_precision: e,
                }
                | OracleType::Timestamp {
                    fractional_precision: e,
                },
                OracleType::TimestampTz {
                    fractional_precision: w,
                }
                | OracleType::TimestampLtz {
                    fractional_precision: w,
                }
                | OracleType::Timestamp {
                    fractional_precision: w,
                },
            ) if w > e => {
                let mut widened = existing.data_type.clone();
                match &mut widened {
                    OracleType::TimestampTz {
                        fractional_precision,
                    }
                    | OracleType::TimestampLtz {
                        fractional_precision,
                    }
                    | OracleType::Timestamp {
                        fractional_precision,
                    } => *fractional_precision = *w,
                    _ => {}
                }
                Fit::Widen(widened)
            }
            _ => Fit::Holds,
        },
        Family::Binary => match (&existing.data_type, &wanted.data_type) {
            (OracleType::Blob, _) => Fit::Holds,
            (OracleType::Raw { length: e }, OracleType::Raw { length: w }) if w > e => {
                Fit::Widen(wanted.data_type.clone())
            }
            (OracleType::Raw { .. }, OracleType::Blob) => Fit::Incompatible,
            _ => Fit::Holds,
        },
        _ => Fit::Holds,
    }
}

/// The result of planning: the DDL to run and the columns rows are then written to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Evolution {
    pub changes: Vec<AlterTable>,
    /// For each wanted column, the column that receives its values (same name; the
    /// definition is the one the table will have after `changes`).
    pub columns: Vec<ColumnDef>,
}

/// Plans the changes from `existing` to a table holding `wanted`. `keys` are never
/// made nullable.
pub(crate) fn plan(existing: &TableDef, wanted: &[ColumnDef], naming: &NamingRules) -> Evolution {
    let mut changes = Vec::new();
    let mut columns = Vec::with_capacity(wanted.len());
    let mut taken: Vec<String> = existing.columns.iter().map(|c| c.name.clone()).collect();
    for want in wanted {
        let Some(have) = existing.columns.iter().find(|c| c.name == want.name) else {
            let added = ColumnDef {
                nullable: true,
                ..want.clone()
            };
            changes.push(AlterTable::AddColumn(added.clone()));
            taken.push(added.name.clone());
            columns.push(added);
            continue;
        };
        match fit(have, want) {
            Fit::Holds => columns.push(have.clone()),
            Fit::Widen(data_type) => {
                let widened = ColumnDef {
                    data_type,
                    ..have.clone()
                };
                changes.push(AlterTable::ModifyColumn(widened.clone()));
                columns.push(widened);
            }
            Fit::ToClob => {
                let temporary = free_name(&format!("{}_CLOB", have.name), &taken, naming);
                taken.push(temporary.clone());
                let clob = ColumnDef {
                    name: temporary.clone(),
                    data_type: OracleType::Clob,
                    nullable: true,
                    check: None,
                };
                changes.push(AlterTable::AddColumn(clob));
                changes.push(AlterTable::CopyColumn {
                    from: have.name.clone(),
                    to: temporary.clone(),
                });
                changes.push(AlterTable::DropColumn(have.name.clone()));
                changes.push(AlterTable::RenameColumn {
                    from: temporary,
                    to: have.name.clone(),
                });
                columns.push(ColumnDef {
                    name: have.name.clone(),
                    data_type: OracleType::Clob,
                    nullable: true,
                    check: None,
                });
            }
            Fit::Incompatible => {
                let kept = free_name(
                    &format!("{}_{}", have.name, type_tag(&have.data_type)),
                    &taken,
                    naming,
                );
                taken.push(kept.clone());
                changes.push(AlterTable::RenameColumn {
                    from: have.name.clone(),
                    to: kept,
                });
                let added = ColumnDef {
                    nullable: true,
                    ..want.clone()
                };
                changes.push(AlterTable::AddColumn(added.clone()));
                columns.push(added);
            }
        }
    }
    for have in &existing.columns {
        let wanted_here = wanted.iter().any(|w| w.name == have.name);
        if !wanted_here && !have.nullable && !existing.primary_key.contains(&have.name) {
            changes.push(AlterTable::DropNotNull(have.name.clone()));
        }
    }
    Evolution { changes, columns }
}

/// A short word for a type, used in the name a replaced column is kept under.
fn type_tag(t: &OracleType) -> &'static str {
    match t {
        OracleType::Number { .. } | OracleType::Float { .. } => "NUM",
        OracleType::Varchar2 { .. } | OracleType::NVarchar2 { .. } => "STR",
        OracleType::Char { .. } | OracleType::NChar { .. } => "CHR",
        OracleType::Clob | OracleType::NClob => "CLOB",
        OracleType::Json => "JSON",
        OracleType::Boolean => "BOOL",
        OracleType::Date => "DATE",
        OracleType::Timestamp { .. }
        | OracleType::TimestampTz { .. }
        | OracleType::TimestampLtz { .. } => "TS",
        OracleType::Blob | OracleType::Raw { .. } => "BIN",
        _ => "OLD",
    }
}

/// `wanted` if free and within the limit, else a hashed variant of it.
fn free_name(wanted: &str, taken: &[String], naming: &NamingRules) -> String {
    let candidate = naming.identifier(wanted);
    if !taken.contains(&candidate) {
        return candidate;
    }
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let candidate = naming.identifier(&format!("{wanted}_{attempt}"));
        if !taken.contains(&candidate) {
            return candidate;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use db_boundary::TableName;

    fn col(name: &str, data_type: OracleType) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            data_type,
            nullable: true,
            check: None,
        }
    }

    fn varchar(n: u32) -> OracleType {
        OracleType::Varchar2 {
            length: n,
            semantics: LengthSemantics::Char,
        }
    }

    fn number(p: Option<u8>, s: Option<i16>) -> OracleType {
        OracleType::Number {
            precision: p,
            scale: s,
        }
    }

    fn table(columns: Vec<ColumnDef>) -> TableDef {
        TableDef {
            name: TableName {
                schema: None,
                name: "T".into(),
            },
            columns,
            primary_key: vec!["ID".into()],
        }
    }

    const NAMING: NamingRules = NamingRules {
        upper_case: true,
        max_bytes: 128,
    };

    fn render(evolution: &Evolution) -> String {
        evolution
            .changes
            .iter()
            .map(|c| match c {
                AlterTable::AddColumn(c) => format!("ADD {} {}", c.name, c.data_type),
                AlterTable::ModifyColumn(c) => format!(
                    "MODIFY {} {}{}",
                    c.name,
                    c.data_type,
                    if c.nullable { "" } else { " NOT NULL" }
                ),
                AlterTable::DropNotNull(c) => format!("MODIFY {c} NULL"),
                AlterTable::RenameColumn { from, to } => format!("RENAME {from} TO {to}"),
                AlterTable::CopyColumn { from, to } => format!("COPY {from} TO {to}"),
                AlterTable::DropColumn(c) => format!("DROP {c}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn every_kind_of_change() {
        let existing = table(vec![
            ColumnDef {
                nullable: false,
                ..col("ID", number(Some(38), Some(0)))
            },
            col("NAME", varchar(20)),
            col("NOTE", varchar(4000)),
            col("AMOUNT", number(Some(10), Some(2))),
            col("CODE", number(Some(38), Some(0))),
            col("SHORT", varchar(100)),
            ColumnDef {
                nullable: false,
                ..col("GONE", varchar(5))
            },
        ]);
        let wanted = vec![
            ColumnDef {
                nullable: false,
                ..col("ID", number(Some(38), Some(0)))
            },
            col("NAME", varchar(50)),
            col("NOTE", OracleType::Clob),
            col("AMOUNT", number(Some(14), Some(4))),
            col("CODE", varchar(10)),
            col("SHORT", varchar(10)),
            col("NEW", OracleType::Date),
        ];
        let evolution = plan(&existing, &wanted, &NAMING);
        insta::assert_snapshot!(render(&evolution), @r"
        MODIFY NAME VARCHAR2(50 CHAR)
        ADD NOTE_CLOB CLOB
        COPY NOTE TO NOTE_CLOB
        DROP NOTE
        RENAME NOTE_CLOB TO NOTE
        MODIFY AMOUNT NUMBER(14,4)
        RENAME CODE TO CODE_NUM
        ADD CODE VARCHAR2(10 CHAR)
        ADD NEW DATE
        MODIFY GONE NULL
        ");
        let types: Vec<String> = evolution
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.data_type))
            .collect();
        assert_eq!(
            types,
            [
                "ID NUMBER(38)",
                "NAME VARCHAR2(50 CHAR)",
                "NOTE CLOB",
                "AMOUNT NUMBER(14,4)",
                "CODE VARCHAR2(10 CHAR)",
                "SHORT VARCHAR2(100 CHAR)",
                "NEW DATE"
            ]
        );
    }

    #[test]
    fn identical_schema_needs_nothing() {
        let columns = vec![col("A", number(None, None)), col("B", OracleType::Json)];
        let evolution = plan(&table(columns.clone()), &columns, &NAMING);
        assert!(evolution.changes.is_empty());
        assert_eq!(evolution.columns, columns);
    }

    #[test]
    fn numbers_widen_to_cover_both_shapes() {
        let evolution = plan(
            &table(vec![col("A", number(Some(10), Some(0)))]),
            &[col("A", number(Some(5), Some(3)))],
            &NAMING,
        );
        assert_eq!(render(&evolution), "MODIFY A NUMBER(13,3)");
        let evolution = plan(
            &table(vec![col("A", number(Some(38), Some(0)))]),
            &[col("A", number(None, None))],
            &NAMING,
        );
        assert_eq!(render(&evolution), "MODIFY A NUMBER");
        let evolution = plan(
            &table(vec![col("A", number(None, None))]),
            &[col("A", number(Some(38), Some(0)))],
            &NAMING,
        );
        assert!(evolution.changes.is_empty());
    }

    #[test]
    fn repeated_incompatible_changes_keep_every_old_column() {
        let existing = table(vec![
            col("A", varchar(10)),
            col("A_NUM", number(None, None)),
        ]);
        let evolution = plan(&existing, &[col("A", number(None, None))], &NAMING);
        assert_eq!(render(&evolution), "RENAME A TO A_STR\nADD A NUMBER");
        let existing = table(vec![col("A", number(None, None)), col("A_NUM", varchar(3))]);
        let evolution = plan(&existing, &[col("A", varchar(10))], &NAMING);
        assert_eq!(
            render(&evolution),
            "RENAME A TO A_NUM_1\nADD A VARCHAR2(10 CHAR)"
        );
    }
}
