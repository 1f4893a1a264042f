//! The one Oracle type grammar: a closed enum, read from data-dictionary rows
//! ([`OracleType::from_column`]) or parsed from type text ([`OracleType::parse`]: DDL,
//! the catalog's `sql-datatype`, a schema's `x-sql-datatype`, the simulated backend's
//! store), and printed back in Oracle's own spelling ([`fmt::Display`]).
//!
//! Both readers share one keyword table ([`Head`]), so a spelling means the same thing
//! wherever it comes from. What each type becomes (JSON Schema, JSON value, bind, fetch)
//! is [`crate::type_table`]'s. Spelling follows the Oracle SQL Language Reference,
//! "Data Types". One deliberate choice: a length without `BYTE`/`CHAR` (`VARCHAR2(50)`)
//! counts characters, as every column this project creates does (Oracle's own default
//! follows NLS_LENGTH_SEMANTICS; printed DDL always names the unit, so no session
//! setting changes what the target creates).

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

mod grammar;

pub use grammar::TypeParseError;
use grammar::{build, tokenize, Args, Head, Parser};

impl OracleType {
    /// Parses type text as Oracle writes it (DDL, `sql-datatype`, `x-sql-datatype`):
    /// `NUMBER(10,2)`, `VARCHAR2(50 CHAR)`, `TIMESTAMP(6) WITH TIME ZONE`,
    /// `INTERVAL DAY(3) TO SECOND(6)`, `MDSYS.SDO_GEOMETRY`. A name the grammar does not
    /// know becomes [`OracleType::Other`].
    pub fn parse(text: &str) -> Result<OracleType, TypeParseError> {
        let fail = |reason: String| TypeParseError {
            text: text.to_owned(),
            reason,
        };
        let tokens = tokenize(text).map_err(fail)?;
        Parser { tokens, pos: 0 }.parse(text).map_err(fail)
    }

    /// Builds the type from an ALL_TAB_COLS row, the way Oracle reports it: the keyword
    /// from DATA_TYPE (through the same grammar as [`OracleType::parse`]), the numbers
    /// from DATA_LENGTH, DATA_PRECISION, DATA_SCALE, CHAR_LENGTH and CHAR_USED.
    pub fn from_column(row: &ColumnRow) -> OracleType {
        if row.data_type_owner.is_some() && !row.data_type.eq_ignore_ascii_case("XMLTYPE") {
            return OracleType::Other {
                owner: row.data_type_owner.clone(),
                name: row.data_type.clone(),
            };
        }
        // DATA_TYPE spells TIMESTAMP and INTERVAL with their precisions; parse those
        // whole, and read everything else's numbers from the row's own columns.
        let parsed = OracleType::parse(&row.data_type);
        let semantics = match row.char_used.as_deref() {
            Some("C") => LengthSemantics::Char,
            _ => LengthSemantics::Byte,
        };
        let length = match semantics {
            LengthSemantics::Char => row.char_length.or(row.data_length),
            LengthSemantics::Byte => row.data_length.or(row.char_length),
        };
        let mut args = Args {
            length,
            semantics: Some(semantics),
            precision: row.data_precision,
            scale: row.data_scale,
        };
        let head = match parsed {
            Ok(
                t @ (OracleType::Timestamp { .. }
                | OracleType::TimestampTz { .. }
                | OracleType::TimestampLtz { .. }
                | OracleType::IntervalYearToMonth { .. }
                | OracleType::IntervalDayToSecond { .. }),
            ) => return t.with_dictionary_precision(row),
            Ok(OracleType::Other { .. }) | Err(_) => {
                Head::Other(row.data_type_owner.clone(), row.data_type.clone())
            }
            Ok(_) => {
                let words: String = row
                    .data_type
                    .split('(')
                    .next()
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_ascii_uppercase();
                Head::of(&words)
            }
        };
        match head {
            Head::NChar | Head::NVarchar2 => args.length = row.char_length.or(args.length),
            Head::Raw | Head::URowId => args.length = row.data_length,
            _ => {}
        }
        build(head, args, row.data_type.trim())
    }

    /// A TIMESTAMP or INTERVAL whose DATA_TYPE text omitted a precision takes it from
    /// DATA_PRECISION / DATA_SCALE.
    fn with_dictionary_precision(self, row: &ColumnRow) -> OracleType {
        let text = row.data_type.to_ascii_uppercase();
        let scale = row.data_scale.and_then(|s| u8::try_from(s).ok());
        let lead = row.data_precision.and_then(|p| u8::try_from(p).ok());
        let said = |keyword: &str| {
            text.find(keyword)
                .is_some_and(|i| text[i + keyword.len()..].trim_start().starts_with('('))
        };
        match self {
            OracleType::Timestamp { .. } if !said("TIMESTAMP") => OracleType::Timestamp {
                fractional_precision: scale.unwrap_or(6),
            },
            OracleType::TimestampTz { .. } if !said("TIMESTAMP") => OracleType::TimestampTz {
                fractional_precision: scale.unwrap_or(6),
            },
            OracleType::TimestampLtz { .. } if !said("TIMESTAMP") => OracleType::TimestampLtz {
                fractional_precision: scale.unwrap_or(6),
            },
            OracleType::IntervalYearToMonth { .. } if !said("YEAR") => {
                OracleType::IntervalYearToMonth {
                    year_precision: lead.unwrap_or(2),
                }
            }
            OracleType::IntervalDayToSecond {
                day_precision,
                fractional_precision,
            } => OracleType::IntervalDayToSecond {
                day_precision: if said("DAY") {
                    day_precision
                } else {
                    lead.unwrap_or(2)
                },
                fractional_precision: if said("SECOND") {
                    fractional_precision
                } else {
                    scale.unwrap_or(6)
                },
            },
            other => other,
        }
    }

    /// Whether values of this type are whole numbers (NUMBER with scale <= 0).
    pub fn is_integer(&self) -> bool {
        matches!(self, OracleType::Number { scale: Some(s), .. } if *s <= 0)
    }

    /// Whether values can be compared with `<`/`>` and so serve as a replication or
    /// keyset-pagination key ([`crate::type_table`]).
    pub fn is_orderable(&self) -> bool {
        self.row().orderable
    }

    /// Whether this project reads and writes values of this type.
    pub fn is_supported(&self) -> bool {
        self.row().bind.is_some()
    }

    /// The bytes this column takes in an index key, as Oracle sizes it for ORA-01450
    /// ("the total index length is the sum of the width of all indexed columns plus the
    /// number of indexed columns"): a text's declared byte length (4 bytes a character
    /// in AL32UTF8, 2 in AL16UTF16, at most `max_string_bytes`: 4000, or 32767 with
    /// MAX_STRING_SIZE = EXTENDED), 22 for NUMBER, 7 for DATE. `None` for the types no
    /// key may hold (LOBs, LONG, JSON, VECTOR, XMLTYPE, TIMESTAMP WITH TIME ZONE:
    /// ORA-02329).
    pub fn key_bytes(&self, max_string_bytes: u32) -> Option<u32> {
        use OracleType as T;
        let text = |bytes: u32| bytes.min(max_string_bytes);
        Some(match self {
            T::Number { .. } | T::Float { .. } => 22,
            T::BinaryFloat => 4,
            T::BinaryDouble => 8,
            T::Char { length, semantics } | T::Varchar2 { length, semantics } => match semantics {
                LengthSemantics::Byte => text(*length),
                LengthSemantics::Char => text(length.saturating_mul(4)),
            },
            T::NChar { length } | T::NVarchar2 { length } => text(length.saturating_mul(2)),
            T::Raw { length } => text(*length),
            T::Date => 7,
            T::Timestamp { .. } | T::TimestampLtz { .. } | T::IntervalDayToSecond { .. } => 11,
            T::IntervalYearToMonth { .. } => 5,
            T::RowId => 10,
            T::URowId { length } => *length,
            T::Boolean => 1,
            T::TimestampTz { .. }
            | T::Clob
            | T::NClob
            | T::Blob
            | T::Bfile
            | T::Long
            | T::LongRaw
            | T::Json
            | T::Vector
            | T::XmlType
            | T::Other { .. } => return None,
        })
    }
}

/// Oracle's largest index key in an 8 KB block (the default `db_block_size`): a primary
/// key whose columns' [`OracleType::key_bytes`] plus one byte each add up to more is
/// refused with ORA-01450 at CREATE TABLE, and a change that makes it so with ORA-01404.
pub const MAX_INDEX_KEY_BYTES: u32 = 6398;

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
    type Err = TypeParseError;

    /// [`OracleType::parse`].
    fn from_str(text: &str) -> Result<OracleType, TypeParseError> {
        OracleType::parse(text)
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
