//! Oracle column types as a closed enum, parsed from data-dictionary rows and printed
//! back in Oracle's own SQL spelling.
//!
//! Discovery reads it to choose a JSON Schema, the target writes it into DDL, and both
//! backends use it to know how to bind and fetch a column. Spelling follows the Oracle
//! SQL Language Reference, "Data Types".

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dictionary::ColumnRow;

/// Whether a CHAR/VARCHAR2 length counts bytes or characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LengthSemantics {
    Byte,
    Char,
}

/// An Oracle column data type. Variants mirror the SQL spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OracleType {
    /// `NUMBER`, `NUMBER(p)`, `NUMBER(p,s)`; `INTEGER` is precision `None`, scale `Some(0)`.
    Number {
        precision: Option<u8>,
        scale: Option<i16>,
    },
    /// `FLOAT(b)`, b in binary digits (1..=126).
    Float {
        binary_precision: Option<u8>,
    },
    BinaryFloat,
    BinaryDouble,
    Char {
        length: u32,
        semantics: LengthSemantics,
    },
    NChar {
        length: u32,
    },
    Varchar2 {
        length: u32,
        semantics: LengthSemantics,
    },
    NVarchar2 {
        length: u32,
    },
    Clob,
    NClob,
    Long,
    Raw {
        length: u32,
    },
    LongRaw,
    Blob,
    Bfile,
    Date,
    Timestamp {
        fractional_precision: u8,
    },
    TimestampTz {
        fractional_precision: u8,
    },
    TimestampLtz {
        fractional_precision: u8,
    },
    IntervalYearToMonth {
        year_precision: u8,
    },
    IntervalDayToSecond {
        day_precision: u8,
        fractional_precision: u8,
    },
    RowId,
    URowId {
        length: u32,
    },
    Json,
    Boolean,
    Vector,
    XmlType,
    /// Object types and anything else this project does not extract (SDO_GEOMETRY,
    /// user-defined types, ANYDATA, ...). Kept by name so the catalog can say what it is.
    Other {
        owner: Option<String>,
        name: String,
    },
}

/// Reads the integer inside the first parentheses of `s`, e.g. `TIMESTAMP(6)` -> 6.
fn paren_number(s: &str) -> Option<u32> {
    let start = s.find('(')?;
    let end = s[start..].find(')')? + start;
    s[start + 1..end].trim().parse().ok()
}

impl OracleType {
    /// Builds the type from an ALL_TAB_COLS row, the way Oracle reports it.
    pub fn from_column(row: &ColumnRow) -> OracleType {
        let data_type = row.data_type.trim().to_ascii_uppercase();
        let semantics = match row.char_used.as_deref() {
            Some("C") => LengthSemantics::Char,
            _ => LengthSemantics::Byte,
        };
        let char_length = || match semantics {
            LengthSemantics::Char => row.char_length.or(row.data_length).unwrap_or(1),
            LengthSemantics::Byte => row.data_length.or(row.char_length).unwrap_or(1),
        };
        let scale_as_fraction = |default: u8| -> u8 {
            row.data_scale
                .and_then(|s| u8::try_from(s).ok())
                .unwrap_or(default)
        };
        match data_type.as_str() {
            "NUMBER" => OracleType::Number {
                precision: row.data_precision.and_then(|p| u8::try_from(p).ok()),
                scale: row.data_scale.and_then(|s| i16::try_from(s).ok()),
            },
            "INTEGER" | "INT" | "SMALLINT" => OracleType::Number {
                precision: None,
                scale: Some(0),
            },
            "FLOAT" => OracleType::Float {
                binary_precision: row.data_precision.and_then(|p| u8::try_from(p).ok()),
            },
            "BINARY_FLOAT" => OracleType::BinaryFloat,
            "BINARY_DOUBLE" => OracleType::BinaryDouble,
            "CHAR" => OracleType::Char {
                length: char_length(),
                semantics,
            },
            "NCHAR" => OracleType::NChar {
                length: row.char_length.unwrap_or(1),
            },
            "VARCHAR2" | "VARCHAR" => OracleType::Varchar2 {
                length: char_length(),
                semantics,
            },
            "NVARCHAR2" => OracleType::NVarchar2 {
                length: row.char_length.unwrap_or(1),
            },
            "CLOB" => OracleType::Clob,
            "NCLOB" => OracleType::NClob,
            "LONG" => OracleType::Long,
            "RAW" => OracleType::Raw {
                length: row.data_length.unwrap_or(1),
            },
            "LONG RAW" => OracleType::LongRaw,
            "BLOB" => OracleType::Blob,
            "BFILE" => OracleType::Bfile,
            "DATE" => OracleType::Date,
            "ROWID" => OracleType::RowId,
            "UROWID" => OracleType::URowId {
                length: row.data_length.unwrap_or(4000),
            },
            "JSON" => OracleType::Json,
            "BOOLEAN" => OracleType::Boolean,
            "VECTOR" => OracleType::Vector,
            "XMLTYPE" => OracleType::XmlType,
            t if t.starts_with("TIMESTAMP") => {
                let precision = paren_number(t)
                    .and_then(|p| u8::try_from(p).ok())
                    .unwrap_or_else(|| scale_as_fraction(6));
                if t.ends_with("WITH LOCAL TIME ZONE") {
                    OracleType::TimestampLtz {
                        fractional_precision: precision,
                    }
                } else if t.ends_with("WITH TIME ZONE") {
                    OracleType::TimestampTz {
                        fractional_precision: precision,
                    }
                } else {
                    OracleType::Timestamp {
                        fractional_precision: precision,
                    }
                }
            }
            t if t.starts_with("INTERVAL YEAR") => OracleType::IntervalYearToMonth {
                year_precision: paren_number(t)
                    .and_then(|p| u8::try_from(p).ok())
                    .or_else(|| row.data_precision.and_then(|p| u8::try_from(p).ok()))
                    .unwrap_or(2),
            },
            t if t.starts_with("INTERVAL DAY") => {
                let day_precision = paren_number(t)
                    .and_then(|p| u8::try_from(p).ok())
                    .or_else(|| row.data_precision.and_then(|p| u8::try_from(p).ok()))
                    .unwrap_or(2);
                let fractional_precision = t
                    .find("SECOND")
                    .and_then(|i| paren_number(&t[i..]))
                    .and_then(|p| u8::try_from(p).ok())
                    .unwrap_or_else(|| scale_as_fraction(6));
                OracleType::IntervalDayToSecond {
                    day_precision,
                    fractional_precision,
                }
            }
            _ => OracleType::Other {
                owner: row.data_type_owner.clone(),
                name: row.data_type.clone(),
            },
        }
    }

    /// Whether values of this type are whole numbers (NUMBER with scale <= 0).
    pub fn is_integer(&self) -> bool {
        matches!(self, OracleType::Number { scale: Some(s), .. } if *s <= 0)
    }

    /// Whether values can be compared with `<`/`>` and so serve as a replication or
    /// keyset-pagination key.
    pub fn is_orderable(&self) -> bool {
        matches!(
            self,
            OracleType::Number { .. }
                | OracleType::Float { .. }
                | OracleType::BinaryFloat
                | OracleType::BinaryDouble
                | OracleType::Char { .. }
                | OracleType::NChar { .. }
                | OracleType::Varchar2 { .. }
                | OracleType::NVarchar2 { .. }
                | OracleType::Raw { .. }
                | OracleType::Date
                | OracleType::Timestamp { .. }
                | OracleType::TimestampTz { .. }
                | OracleType::TimestampLtz { .. }
        )
    }

    /// Whether this project reads and writes values of this type.
    pub fn is_supported(&self) -> bool {
        !matches!(self, OracleType::Bfile | OracleType::Other { .. })
    }
}

impl fmt::Display for OracleType {
    /// The type in Oracle DDL spelling, e.g. `NUMBER(10,2)` or `VARCHAR2(50 CHAR)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sem = |s: &LengthSemantics| match s {
            LengthSemantics::Byte => "BYTE",
            LengthSemantics::Char => "CHAR",
        };
        match self {
            OracleType::Number {
                precision: None,
                scale: None,
            } => f.write_str("NUMBER"),
            OracleType::Number {
                precision: None,
                scale: Some(0),
            } => f.write_str("INTEGER"),
            OracleType::Number {
                precision: None,
                scale: Some(s),
            } => write!(f, "NUMBER(*,{s})"),
            OracleType::Number {
                precision: Some(p),
                scale: None | Some(0),
            } => write!(f, "NUMBER({p})"),
            OracleType::Number {
                precision: Some(p),
                scale: Some(s),
            } => write!(f, "NUMBER({p},{s})"),
            OracleType::Float {
                binary_precision: Some(b),
            } => write!(f, "FLOAT({b})"),
            OracleType::Float {
                binary_precision: None,
            } => f.write_str("FLOAT"),
            OracleType::BinaryFloat => f.write_str("BINARY_FLOAT"),
            OracleType::BinaryDouble => f.write_str("BINARY_DOUBLE"),
            OracleType::Char { length, semantics } => {
                write!(f, "CHAR({length} {})", sem(semantics))
            }
            OracleType::NChar { length } => write!(f, "NCHAR({length})"),
            OracleType::Varchar2 { length, semantics } => {
                write!(f, "VARCHAR2({length} {})", sem(semantics))
            }
            OracleType::NVarchar2 { length } => write!(f, "NVARCHAR2({length})"),
            OracleType::Clob => f.write_str("CLOB"),
            OracleType::NClob => f.write_str("NCLOB"),
            OracleType::Long => f.write_str("LONG"),
            OracleType::Raw { length } => write!(f, "RAW({length})"),
            OracleType::LongRaw => f.write_str("LONG RAW"),
            OracleType::Blob => f.write_str("BLOB"),
            OracleType::Bfile => f.write_str("BFILE"),
            OracleType::Date => f.write_str("DATE"),
            OracleType::Timestamp {
                fractional_precision,
            } => write!(f, "TIMESTAMP({fractional_precision})"),
            OracleType::TimestampTz {
                fractional_precision,
            } => write!(f, "TIMESTAMP({fractional_precision}) WITH TIME ZONE"),
            OracleType::TimestampLtz {
                fractional_precision,
            } => write!(f, "TIMESTAMP({fractional_precision}) WITH LOCAL TIME ZONE"),
            OracleType::IntervalYearToMonth { year_precision } => {
                write!(f, "INTERVAL YEAR({year_precision}) TO MONTH")
            }
            OracleType::IntervalDayToSecond {
                day_precision,
                fractional_precision,
            } => write!(
                f,
                "INTERVAL DAY({day_precision}) TO SECOND({fractional_precision})"
            ),
            OracleType::RowId => f.write_str("ROWID"),
            OracleType::URowId { length } => write!(f, "UROWID({length})"),
            OracleType::Json => f.write_str("JSON"),
            OracleType::Boolean => f.write_str("BOOLEAN"),
            OracleType::Vector => f.write_str("VECTOR"),
            OracleType::XmlType => f.write_str("XMLTYPE"),
            OracleType::Other {
                owner: Some(owner),
                name,
            } => write!(f, "{owner}.{name}"),
            OracleType::Other { owner: None, name } => f.write_str(name),
        }
    }
}

impl std::str::FromStr for OracleType {
    type Err = String;

    /// Parses the DDL spelling [`fmt::Display`] writes (the catalog's `sql-datatype`),
    /// e.g. `NUMBER(10,2)`, `VARCHAR2(50 CHAR)`, `TIMESTAMP(6) WITH TIME ZONE`,
    /// `MDSYS.SDO_GEOMETRY`.
    fn from_str(text: &str) -> Result<OracleType, String> {
        let text = text.trim();
        let upper = text.to_ascii_uppercase();
        let mut row = ColumnRow {
            owner: String::new(),
            table_name: String::new(),
            column_id: None,
            column_name: String::new(),
            data_type: upper.clone(),
            data_type_owner: None,
            data_length: None,
            data_precision: None,
            data_scale: None,
            char_length: None,
            char_used: None,
            nullable: "Y".into(),
            virtual_column: None,
            hidden_column: None,
            identity_column: None,
        };
        if upper.starts_with("TIMESTAMP") || upper.starts_with("INTERVAL") {
            return Ok(OracleType::from_column(&row));
        }
        let (name, args) = match upper.split_once('(') {
            Some((name, rest)) => (
                name.trim().to_owned(),
                rest.strip_suffix(')')
                    .ok_or_else(|| format!("unbalanced parentheses in {text:?}"))?
                    .to_owned(),
            ),
            None => (upper.clone(), String::new()),
        };
        let number = |s: &str| -> Result<u32, String> {
            s.trim()
                .parse()
                .map_err(|_| format!("bad number {s:?} in {text:?}"))
        };
        row.data_type = name.clone();
        match name.as_str() {
            "NUMBER" if !args.is_empty() => {
                let (p, s) = args.split_once(',').unwrap_or((&args, "0"));
                row.data_precision = if p.trim() == "*" {
                    None
                } else {
                    Some(number(p)?)
                };
                row.data_scale = Some(
                    s.trim()
                        .parse()
                        .map_err(|_| format!("bad scale in {text:?}"))?,
                );
            }
            "FLOAT" if !args.is_empty() => row.data_precision = Some(number(&args)?),
            "CHAR" | "VARCHAR2" | "NCHAR" | "NVARCHAR2" | "RAW" | "UROWID" if !args.is_empty() => {
                let mut parts = args.split_whitespace();
                let length = number(parts.next().unwrap_or_default())?;
                let semantics = parts.next().unwrap_or("BYTE");
                row.char_used = Some(if semantics == "CHAR" { "C" } else { "B" }.into());
                row.char_length = Some(length);
                row.data_length = Some(length);
            }
            _ => {}
        }
        if let Some((owner, type_name)) = text.split_once('.') {
            if !matches!(name.as_str(), "NUMBER" | "FLOAT") {
                return Ok(OracleType::Other {
                    owner: Some(owner.to_owned()),
                    name: type_name.to_owned(),
                });
            }
        }
        Ok(OracleType::from_column(&row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(data_type: &str) -> ColumnRow {
        ColumnRow {
            owner: "HR".into(),
            table_name: "T".into(),
            column_id: Some(1),
            column_name: "C".into(),
            data_type: data_type.into(),
            data_type_owner: None,
            data_length: None,
            data_precision: None,
            data_scale: None,
            char_length: None,
            char_used: None,
            nullable: "Y".into(),
            virtual_column: None,
            hidden_column: None,
            identity_column: None,
        }
    }

    #[test]
    fn number_variants_print_as_oracle_spells_them() {
        let mut c = col("NUMBER");
        assert_eq!(OracleType::from_column(&c).to_string(), "NUMBER");
        c.data_scale = Some(0);
        assert_eq!(OracleType::from_column(&c).to_string(), "INTEGER");
        assert!(OracleType::from_column(&c).is_integer());
        c.data_precision = Some(10);
        c.data_scale = Some(2);
        assert_eq!(OracleType::from_column(&c).to_string(), "NUMBER(10,2)");
        assert!(!OracleType::from_column(&c).is_integer());
        c.data_scale = Some(-3);
        assert!(OracleType::from_column(&c).is_integer());
    }

    #[test]
    fn timestamps_and_intervals_keep_their_precision() {
        let t = OracleType::from_column(&col("TIMESTAMP(9) WITH TIME ZONE"));
        assert_eq!(
            t,
            OracleType::TimestampTz {
                fractional_precision: 9
            }
        );
        let t = OracleType::from_column(&col("TIMESTAMP(3) WITH LOCAL TIME ZONE"));
        assert_eq!(t.to_string(), "TIMESTAMP(3) WITH LOCAL TIME ZONE");
        let t = OracleType::from_column(&col("INTERVAL DAY(3) TO SECOND(2)"));
        assert_eq!(t.to_string(), "INTERVAL DAY(3) TO SECOND(2)");
        let t = OracleType::from_column(&col("INTERVAL YEAR(4) TO MONTH"));
        assert_eq!(t.to_string(), "INTERVAL YEAR(4) TO MONTH");
    }

    #[test]
    fn char_semantics_come_from_char_used() {
        let mut c = col("VARCHAR2");
        c.data_length = Some(200);
        c.char_length = Some(50);
        c.char_used = Some("C".into());
        assert_eq!(OracleType::from_column(&c).to_string(), "VARCHAR2(50 CHAR)");
        c.char_used = Some("B".into());
        assert_eq!(
            OracleType::from_column(&c).to_string(),
            "VARCHAR2(200 BYTE)"
        );
    }

    #[test]
    fn display_spellings_parse_back() {
        for text in [
            "NUMBER",
            "INTEGER",
            "NUMBER(10)",
            "NUMBER(10,2)",
            "NUMBER(5,-2)",
            "NUMBER(*,3)",
            "FLOAT(126)",
            "BINARY_FLOAT",
            "BINARY_DOUBLE",
            "CHAR(10 BYTE)",
            "CHAR(10 CHAR)",
            "NCHAR(5)",
            "VARCHAR2(50 CHAR)",
            "VARCHAR2(4000 BYTE)",
            "NVARCHAR2(20)",
            "CLOB",
            "NCLOB",
            "LONG",
            "RAW(16)",
            "LONG RAW",
            "BLOB",
            "BFILE",
            "DATE",
            "TIMESTAMP(0)",
            "TIMESTAMP(9)",
            "TIMESTAMP(6) WITH TIME ZONE",
            "TIMESTAMP(3) WITH LOCAL TIME ZONE",
            "INTERVAL YEAR(2) TO MONTH",
            "INTERVAL DAY(3) TO SECOND(6)",
            "ROWID",
            "UROWID(4000)",
            "JSON",
            "BOOLEAN",
            "VECTOR",
            "XMLTYPE",
            "MDSYS.SDO_GEOMETRY",
        ] {
            let parsed: OracleType = text.parse().unwrap();
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn object_types_are_other_and_unsupported() {
        let mut c = col("SDO_GEOMETRY");
        c.data_type_owner = Some("MDSYS".into());
        let t = OracleType::from_column(&c);
        assert_eq!(t.to_string(), "MDSYS.SDO_GEOMETRY");
        assert!(!t.is_supported());
        assert!(OracleType::from_column(&col("XMLTYPE")).is_supported());
    }
}
