//! The one table of what each Oracle type becomes: its JSON Schema shape (discovery),
//! the `Value` variant that carries it (tap JSON encoding, target conversion), its bind
//! type (array DML, keyset and bookmark binds) and its fetch form (select expression).
//!
//! Adding an Oracle type means: a variant in [`OracleType`] with its spelling in the
//! grammar, one arm in [`OracleType::row`], and one `type_row!` test line below.
//! Bind types carry no driver type: `oracle-backend` maps each [`BindType`] to the
//! `oracle` crate's, and the simulated backend checks values against the same plan.

use crate::oracle_type::{LengthSemantics, OracleType};

/// The JSON Schema a column of the type is declared with (nullability aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonShape {
    /// NUMBER with scale <= 0: `integer`.
    Integer,
    /// Other NUMBER and FLOAT: `number`, or a `x-singer.decimal` string on request.
    Decimal,
    /// BINARY_FLOAT/DOUBLE: `number`, always nullable (NaN and infinities become null).
    BinaryNumber,
    /// `string`, with `maxLength` when the length counts characters.
    Text,
    /// `string`, `format: date-time`.
    DateTime,
    /// `string`, `format: duration`.
    Duration,
    /// `string`, `contentEncoding: base64`.
    Base64,
    Boolean,
    /// Any JSON value: no type restriction.
    AnyJson,
    /// `array` of `number`.
    NumberArray,
    /// Not extracted: `{}` and `inclusion: unsupported`.
    Unsupported,
}

/// The `db_boundary::Value` variant values of the type travel in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Number,
    BinaryFloat,
    BinaryDouble,
    Text,
    Bytes,
    Date,
    Timestamp,
    TimestampTz,
    IntervalYm,
    IntervalDs,
    Json,
    Boolean,
    Vector,
    /// Unsupported types carry no value.
    None,
}

/// How a value is bound for a column of the type: the Oracle type and size of the bind.
/// Text sizes count characters (the driver sizes its buffer for the character set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindType {
    Number,
    BinaryFloat,
    BinaryDouble,
    Varchar2(u32),
    Char(u32),
    NVarchar2(u32),
    NChar(u32),
    Raw(u32),
    Date,
    Timestamp,
    TimestampTz,
    IntervalYm,
    IntervalDs,
    Boolean,
    /// Text bound as LONG data, for CLOB and LONG columns: sent with the row, as
    /// Oracle takes it in INSERT values and UPDATE SET clauses. A CLOB bind would make
    /// a temporary LOB per value, written in round trips of its own (cx_Oracle #189:
    /// 200 times slower).
    Long,
    /// Bytes bound as LONG RAW data, for BLOB and LONG RAW columns (as [`BindType::Long`]).
    LongRaw,
    /// A temporary CLOB: text Oracle converts on the way in (JSON, VECTOR, XMLTYPE).
    Clob,
    NClob,
    /// A temporary BLOB.
    Blob,
}

impl BindType {
    /// LOB and LONG binds must follow every other bind of a statement (ORA-24816).
    pub fn is_lob(self) -> bool {
        self.group() > 0
    }

    /// Where a bind goes in its statement. No bind that may hold more than 4,000 bytes
    /// may follow a LONG or LOB bind (ORA-24816), and a LONG bind is declared that long:
    /// 0 for every other bind, 1 for LONG / LONG RAW data, 2 for temporary LOBs, whose
    /// locators are short.
    pub fn group(self) -> u8 {
        match self {
            BindType::Long | BindType::LongRaw => 1,
            BindType::Clob | BindType::NClob | BindType::Blob => 2,
            _ => 0,
        }
    }

    /// The size in characters (or bytes for RAW) a text bind holds, if sized.
    pub fn size(self) -> Option<u32> {
        match self {
            BindType::Varchar2(n)
            | BindType::Char(n)
            | BindType::NVarchar2(n)
            | BindType::NChar(n)
            | BindType::Raw(n) => Some(n),
            _ => None,
        }
    }

    /// Whether a value of `kind` can be bound with this type (the driver converts
    /// numbers given as text to NUMBER, dates to timestamps and back, text to LOBs;
    /// anything else is refused before a row is appended).
    pub fn accepts(self, kind: ValueKind) -> bool {
        use BindType as B;
        use ValueKind as V;
        match self {
            // Text must be a decimal (ORA-01722 otherwise, checked by the bind plan).
            B::Number => matches!(kind, V::Number | V::Boolean | V::Text),
            B::BinaryFloat | B::BinaryDouble => {
                matches!(kind, V::Number | V::BinaryFloat | V::BinaryDouble)
            }
            B::Varchar2(_)
            | B::Char(_)
            | B::NVarchar2(_)
            | B::NChar(_)
            | B::Long
            | B::Clob
            | B::NClob => matches!(kind, V::Text | V::Json | V::Number | V::Vector),
            B::Raw(_) | B::LongRaw | B::Blob => kind == V::Bytes,
            B::Date | B::Timestamp => matches!(kind, V::Date | V::Timestamp),
            B::TimestampTz => kind == V::TimestampTz,
            B::IntervalYm => kind == V::IntervalYm,
            B::IntervalDs => kind == V::IntervalDs,
            B::Boolean => kind == V::Boolean,
        }
    }
}

impl std::fmt::Display for BindType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BindType::Varchar2(n) => write!(f, "VARCHAR2({n})"),
            BindType::Char(n) => write!(f, "CHAR({n})"),
            BindType::NVarchar2(n) => write!(f, "NVARCHAR2({n})"),
            BindType::NChar(n) => write!(f, "NCHAR({n})"),
            BindType::Raw(n) => write!(f, "RAW({n})"),
            other => f.write_str(match other {
                BindType::Number => "NUMBER",
                BindType::BinaryFloat => "BINARY_FLOAT",
                BindType::BinaryDouble => "BINARY_DOUBLE",
                BindType::Date => "DATE",
                BindType::Timestamp => "TIMESTAMP",
                BindType::TimestampTz => "TIMESTAMP WITH TIME ZONE",
                BindType::IntervalYm => "INTERVAL YEAR TO MONTH",
                BindType::IntervalDs => "INTERVAL DAY TO SECOND",
                BindType::Boolean => "BOOLEAN",
                BindType::Long => "LONG",
                BindType::LongRaw => "LONG RAW",
                BindType::Clob => "CLOB",
                BindType::NClob => "NCLOB",
                _ => "BLOB",
            }),
        }
    }
}

/// How a column of the type is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchForm {
    /// The column itself, fetched as the driver's own type.
    Native,
    /// Converted to text in SQL (the driver cannot fetch the type, or not exactly):
    /// `{}` is the quoted column, the result is text (a CLOB or a VARCHAR2) read as a
    /// string and decoded into the value kind.
    AsText(&'static str),
}

impl FetchForm {
    /// The select expression for `quoted` (an already quoted column name).
    pub fn expression(self, quoted: &str) -> String {
        match self {
            FetchForm::Native => quoted.to_owned(),
            FetchForm::AsText(template) => template.replace("{}", quoted),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeRow {
    pub json: JsonShape,
    pub value: ValueKind,
    /// `None` for types this project does not bind.
    pub bind: Option<BindType>,
    pub fetch: FetchForm,
    /// Comparable with `<`/`>`: usable as a replication or keyset key.
    pub orderable: bool,
}

/// Characters a byte-length text column can hold at most (one byte each).
fn text_chars(length: u32, _semantics: LengthSemantics) -> u32 {
    length.max(1)
}

impl OracleType {
    /// What the type becomes everywhere: the table itself.
    pub fn row(&self) -> TypeRow {
        use BindType as B;
        use FetchForm::{AsText, Native};
        use JsonShape as J;
        use OracleType as T;
        use ValueKind as V;
        let row = |json, value, bind, fetch, orderable| TypeRow {
            json,
            value,
            bind: Some(bind),
            fetch,
            orderable,
        };
        match self {
            T::Number { .. } if self.is_integer() => {
                row(J::Integer, V::Number, B::Number, Native, true)
            }
            T::Number { .. } | T::Float { .. } => {
                row(J::Decimal, V::Number, B::Number, Native, true)
            }
            T::BinaryFloat => row(
                J::BinaryNumber,
                V::BinaryFloat,
                B::BinaryFloat,
                Native,
                true,
            ),
            T::BinaryDouble => row(
                J::BinaryNumber,
                V::BinaryDouble,
                B::BinaryDouble,
                Native,
                true,
            ),
            T::Char { length, semantics } => row(
                J::Text,
                V::Text,
                B::Char(text_chars(*length, *semantics)),
                Native,
                true,
            ),
            T::Varchar2 { length, semantics } => row(
                J::Text,
                V::Text,
                B::Varchar2(text_chars(*length, *semantics)),
                Native,
                true,
            ),
            T::NChar { length } => row(J::Text, V::Text, B::NChar(*length), Native, true),
            T::NVarchar2 { length } => row(J::Text, V::Text, B::NVarchar2(*length), Native, true),
            T::Clob | T::Long => row(J::Text, V::Text, B::Long, Native, false),
            T::NClob => row(J::Text, V::Text, B::NClob, Native, false),
            T::Raw { length } => row(J::Base64, V::Bytes, B::Raw(*length), Native, true),
            T::LongRaw | T::Blob => row(J::Base64, V::Bytes, B::LongRaw, Native, false),
            T::Date => row(J::DateTime, V::Date, B::Date, Native, true),
            T::Timestamp { .. } => row(J::DateTime, V::Timestamp, B::Timestamp, Native, true),
            // Both as text the server makes, with the offset it works out: natively,
            // the driver works out a region-named value's offset with the client's
            // time-zone file (ORA-01805 when it is older than the server's), and an LTZ
            // value's offset from the client's environment, not the session.
            T::TimestampTz { .. } => row(
                J::DateTime,
                V::TimestampTz,
                B::TimestampTz,
                AsText("TO_CHAR({}, 'SYYYY-MM-DD\"T\"HH24:MI:SS.FF9TZH:TZM')"),
                true,
            ),
            T::TimestampLtz { .. } => row(
                J::DateTime,
                V::TimestampTz,
                B::TimestampTz,
                AsText("TO_CHAR(SYS_EXTRACT_UTC({}), 'SYYYY-MM-DD\"T\"HH24:MI:SS.FF9\"+00:00\"')"),
                true,
            ),
            T::IntervalYearToMonth { .. } => {
                row(J::Duration, V::IntervalYm, B::IntervalYm, Native, false)
            }
            T::IntervalDayToSecond { .. } => {
                row(J::Duration, V::IntervalDs, B::IntervalDs, Native, false)
            }
            T::RowId => row(J::Text, V::Text, B::Varchar2(18), Native, false),
            T::URowId { length } => row(J::Text, V::Text, B::Varchar2(*length), Native, false),
            // oracle 0.6.3 cannot fetch JSON ("unsupported Oracle type") nor VECTOR
            // (type 2033 with 23.4+ clients): both are read as text made in SQL.
            T::Json => row(
                J::AnyJson,
                V::Json,
                B::Clob,
                AsText("JSON_SERIALIZE({} RETURNING CLOB)"),
                false,
            ),
            // As text made in SQL: what a client older than 23 receives for a BOOLEAN
            // column is not documented; a CASE gives every client the same two words.
            T::Boolean => row(
                J::Boolean,
                V::Boolean,
                B::Boolean,
                AsText("CASE WHEN {} THEN 'true' WHEN NOT {} THEN 'false' END"),
                false,
            ),
            T::Vector => row(
                J::NumberArray,
                V::Vector,
                B::Clob,
                AsText("FROM_VECTOR({} RETURNING CLOB)"),
                false,
            ),
            T::XmlType => row(
                J::Text,
                V::Text,
                B::Clob,
                AsText("XMLSERIALIZE(CONTENT {} AS CLOB)"),
                false,
            ),
            T::Bfile | T::Other { .. } => TypeRow {
                json: J::Unsupported,
                value: V::None,
                bind: None,
                fetch: Native,
                orderable: false,
            },
        }
    }

    /// The bind a value for a column of this type takes (`None`: not bindable).
    pub fn bind_type(&self) -> Option<BindType> {
        self.row().bind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One `#[test]` per type (sqlx's `test_type!` style), so a wrong row fails alone:
    /// the spelling parses and prints back, and its row says what the table says.
    macro_rules! type_row {
        ($name:ident: $text:literal => $json:ident, $value:ident, $bind:expr, $fetch:expr, $orderable:literal) => {
            #[test]
            fn $name() {
                let parsed = OracleType::parse($text).unwrap();
                assert_eq!(parsed.to_string(), $text, "prints back");
                let row = parsed.row();
                assert_eq!(row.json, JsonShape::$json, "JSON Schema");
                assert_eq!(row.value, ValueKind::$value, "value kind");
                assert_eq!(row.bind, $bind, "bind type");
                assert_eq!(row.fetch.expression("\"C\""), $fetch, "fetch form");
                assert_eq!(row.orderable, $orderable, "orderable");
                if let Some(bind) = row.bind {
                    assert!(bind.accepts(row.value), "its own values bind");
                }
            }
        };
    }

    const C: &str = "\"C\"";

    type_row!(number: "NUMBER" => Decimal, Number, Some(BindType::Number), C, true);
    type_row!(integer: "INTEGER" => Integer, Number, Some(BindType::Number), C, true);
    type_row!(number_p: "NUMBER(10)" => Integer, Number, Some(BindType::Number), C, true);
    type_row!(number_ps: "NUMBER(10,2)" => Decimal, Number, Some(BindType::Number), C, true);
    type_row!(number_negative_scale: "NUMBER(5,-2)" => Integer, Number, Some(BindType::Number), C, true);
    type_row!(number_star: "NUMBER(*,3)" => Decimal, Number, Some(BindType::Number), C, true);
    type_row!(float: "FLOAT(126)" => Decimal, Number, Some(BindType::Number), C, true);
    type_row!(binary_float: "BINARY_FLOAT" => BinaryNumber, BinaryFloat, Some(BindType::BinaryFloat), C, true);
    type_row!(binary_double: "BINARY_DOUBLE" => BinaryNumber, BinaryDouble, Some(BindType::BinaryDouble), C, true);
    type_row!(char_byte: "CHAR(10 BYTE)" => Text, Text, Some(BindType::Char(10)), C, true);
    type_row!(char_char: "CHAR(10 CHAR)" => Text, Text, Some(BindType::Char(10)), C, true);
    type_row!(nchar: "NCHAR(5)" => Text, Text, Some(BindType::NChar(5)), C, true);
    type_row!(varchar2_char: "VARCHAR2(50 CHAR)" => Text, Text, Some(BindType::Varchar2(50)), C, true);
    type_row!(varchar2_byte: "VARCHAR2(4000 BYTE)" => Text, Text, Some(BindType::Varchar2(4000)), C, true);
    type_row!(nvarchar2: "NVARCHAR2(20)" => Text, Text, Some(BindType::NVarchar2(20)), C, true);
    type_row!(clob: "CLOB" => Text, Text, Some(BindType::Long), C, false);
    type_row!(nclob: "NCLOB" => Text, Text, Some(BindType::NClob), C, false);
    type_row!(long: "LONG" => Text, Text, Some(BindType::Long), C, false);
    type_row!(raw: "RAW(16)" => Base64, Bytes, Some(BindType::Raw(16)), C, true);
    type_row!(long_raw: "LONG RAW" => Base64, Bytes, Some(BindType::LongRaw), C, false);
    type_row!(blob: "BLOB" => Base64, Bytes, Some(BindType::LongRaw), C, false);
    type_row!(bfile: "BFILE" => Unsupported, None, None, C, false);
    type_row!(date: "DATE" => DateTime, Date, Some(BindType::Date), C, true);
    type_row!(timestamp: "TIMESTAMP(9)" => DateTime, Timestamp, Some(BindType::Timestamp), C, true);
    type_row!(timestamp_tz: "TIMESTAMP(6) WITH TIME ZONE" => DateTime, TimestampTz, Some(BindType::TimestampTz), "TO_CHAR(\"C\", 'SYYYY-MM-DD\"T\"HH24:MI:SS.FF9TZH:TZM')", true);
    type_row!(timestamp_ltz: "TIMESTAMP(3) WITH LOCAL TIME ZONE" => DateTime, TimestampTz, Some(BindType::TimestampTz), "TO_CHAR(SYS_EXTRACT_UTC(\"C\"), 'SYYYY-MM-DD\"T\"HH24:MI:SS.FF9\"+00:00\"')", true);
    type_row!(interval_ym: "INTERVAL YEAR(2) TO MONTH" => Duration, IntervalYm, Some(BindType::IntervalYm), C, false);
    type_row!(interval_ds: "INTERVAL DAY(3) TO SECOND(6)" => Duration, IntervalDs, Some(BindType::IntervalDs), C, false);
    type_row!(rowid: "ROWID" => Text, Text, Some(BindType::Varchar2(18)), C, false);
    type_row!(urowid: "UROWID(4000)" => Text, Text, Some(BindType::Varchar2(4000)), C, false);
    type_row!(json: "JSON" => AnyJson, Json, Some(BindType::Clob), "JSON_SERIALIZE(\"C\" RETURNING CLOB)", false);
    type_row!(boolean: "BOOLEAN" => Boolean, Boolean, Some(BindType::Boolean), "CASE WHEN \"C\" THEN 'true' WHEN NOT \"C\" THEN 'false' END", false);
    type_row!(vector: "VECTOR" => NumberArray, Vector, Some(BindType::Clob), "FROM_VECTOR(\"C\" RETURNING CLOB)", false);
    type_row!(xmltype: "XMLTYPE" => Text, Text, Some(BindType::Clob), "XMLSERIALIZE(CONTENT \"C\" AS CLOB)", false);
    type_row!(object: "MDSYS.SDO_GEOMETRY" => Unsupported, None, None, C, false);

    #[test]
    fn lobs_are_the_binds_that_go_last() {
        assert!(BindType::Clob.is_lob() && BindType::NClob.is_lob() && BindType::Blob.is_lob());
        assert!(!BindType::Varchar2(10).is_lob() && !BindType::Date.is_lob());
    }

    #[test]
    fn binds_refuse_values_of_another_kind() {
        assert!(!BindType::Date.accepts(ValueKind::Text));
        assert!(!BindType::Varchar2(10).accepts(ValueKind::Date));
        assert!(!BindType::Number.accepts(ValueKind::Date));
        assert!(BindType::Date.accepts(ValueKind::Timestamp));
    }
}
