//! The grammar behind [`OracleType::parse`] and [`OracleType::from_column`]: one
//! keyword table ([`Head`]), a tokenizer and a left-to-right parser of type text.

use super::{LengthSemantics, OracleType};

/// A type text that is not an Oracle type this grammar knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an Oracle type: {reason}")]
pub struct TypeParseError {
    pub text: String,
    pub reason: String,
}

/// The keyword part of a type, the one table both readers share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Head {
    Number,
    /// INTEGER, INT, SMALLINT: NUMBER(*,0).
    Integer,
    Float,
    BinaryFloat,
    BinaryDouble,
    Char,
    NChar,
    Varchar2,
    NVarchar2,
    Clob,
    NClob,
    Long,
    Raw,
    LongRaw,
    Blob,
    Bfile,
    Date,
    Timestamp,
    TimestampTz,
    TimestampLtz,
    IntervalYm,
    IntervalDs,
    RowId,
    URowId,
    Json,
    Boolean,
    Vector,
    XmlType,
    Other(Option<String>, String),
}

impl Head {
    /// The head a keyword spelling names (words upper-case, single-spaced, no numbers).
    pub(super) fn of(words: &str) -> Head {
        match words {
            "NUMBER" | "DECIMAL" | "NUMERIC" | "DEC" => Head::Number,
            "INTEGER" | "INT" | "SMALLINT" => Head::Integer,
            "FLOAT" | "DOUBLE PRECISION" | "REAL" => Head::Float,
            "BINARY_FLOAT" => Head::BinaryFloat,
            "BINARY_DOUBLE" => Head::BinaryDouble,
            "CHAR" | "CHARACTER" => Head::Char,
            "NCHAR" => Head::NChar,
            "VARCHAR2" | "VARCHAR" => Head::Varchar2,
            "NVARCHAR2" => Head::NVarchar2,
            "CLOB" => Head::Clob,
            "NCLOB" => Head::NClob,
            "LONG" => Head::Long,
            "RAW" => Head::Raw,
            "LONG RAW" => Head::LongRaw,
            "BLOB" => Head::Blob,
            "BFILE" => Head::Bfile,
            "DATE" => Head::Date,
            "TIMESTAMP" => Head::Timestamp,
            "TIMESTAMP WITH TIME ZONE" => Head::TimestampTz,
            "TIMESTAMP WITH LOCAL TIME ZONE" => Head::TimestampLtz,
            "INTERVAL YEAR TO MONTH" => Head::IntervalYm,
            "INTERVAL DAY TO SECOND" => Head::IntervalDs,
            "ROWID" => Head::RowId,
            "UROWID" => Head::URowId,
            "JSON" => Head::Json,
            "BOOLEAN" => Head::Boolean,
            "VECTOR" => Head::Vector,
            "XMLTYPE" => Head::XmlType,
            other => Head::Other(None, other.to_owned()),
        }
    }
}

/// The numbers a spelling or a dictionary row gives a head; `None` where absent.
#[derive(Debug, Default)]
pub(super) struct Args {
    /// Length of character, RAW and UROWID types.
    pub(super) length: Option<u32>,
    pub(super) semantics: Option<LengthSemantics>,
    /// NUMBER/FLOAT precision (`None` also for `*`), INTERVAL leading precision.
    pub(super) precision: Option<u32>,
    /// NUMBER scale, TIMESTAMP and INTERVAL DAY TO SECOND fractional precision.
    pub(super) scale: Option<i32>,
}

fn small(n: Option<u32>) -> Option<u8> {
    n.and_then(|n| u8::try_from(n).ok())
}

pub(super) fn build(head: Head, args: Args, original: &str) -> OracleType {
    let fraction = |default: u8| {
        args.scale
            .and_then(|s| u8::try_from(s).ok())
            .unwrap_or(default)
    };
    match head {
        Head::Number => OracleType::Number {
            precision: small(args.precision),
            scale: args.scale.and_then(|s| i16::try_from(s).ok()),
        },
        Head::Integer => OracleType::Number {
            precision: None,
            scale: Some(0),
        },
        Head::Float => OracleType::Float {
            binary_precision: small(args.precision),
        },
        Head::BinaryFloat => OracleType::BinaryFloat,
        Head::BinaryDouble => OracleType::BinaryDouble,
        Head::Char => OracleType::Char {
            length: args.length.unwrap_or(1),
            semantics: args.semantics.unwrap_or(LengthSemantics::Char),
        },
        Head::NChar => OracleType::NChar {
            length: args.length.unwrap_or(1),
        },
        Head::Varchar2 => OracleType::Varchar2 {
            length: args.length.unwrap_or(1),
            semantics: args.semantics.unwrap_or(LengthSemantics::Char),
        },
        Head::NVarchar2 => OracleType::NVarchar2 {
            length: args.length.unwrap_or(1),
        },
        Head::Clob => OracleType::Clob,
        Head::NClob => OracleType::NClob,
        Head::Long => OracleType::Long,
        Head::Raw => OracleType::Raw {
            length: args.length.unwrap_or(1),
        },
        Head::LongRaw => OracleType::LongRaw,
        Head::Blob => OracleType::Blob,
        Head::Bfile => OracleType::Bfile,
        Head::Date => OracleType::Date,
        Head::Timestamp => OracleType::Timestamp {
            fractional_precision: fraction(6),
        },
        Head::TimestampTz => OracleType::TimestampTz {
            fractional_precision: fraction(6),
        },
        Head::TimestampLtz => OracleType::TimestampLtz {
            fractional_precision: fraction(6),
        },
        Head::IntervalYm => OracleType::IntervalYearToMonth {
            year_precision: small(args.precision).unwrap_or(2),
        },
        Head::IntervalDs => OracleType::IntervalDayToSecond {
            day_precision: small(args.precision).unwrap_or(2),
            fractional_precision: fraction(6),
        },
        Head::RowId => OracleType::RowId,
        Head::URowId => OracleType::URowId {
            length: args.length.unwrap_or(4000),
        },
        Head::Json => OracleType::Json,
        Head::Boolean => OracleType::Boolean,
        Head::Vector => OracleType::Vector,
        Head::XmlType => OracleType::XmlType,
        Head::Other(owner, _) => OracleType::Other {
            owner,
            name: original.to_owned(),
        },
    }
}

/// One token of type text.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Word(String),
    Int(i64),
    Star,
    Open,
    Close,
    Comma,
    Dot,
}

pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' | '*' | '.' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    ',' => Token::Comma,
                    '*' => Token::Star,
                    _ => Token::Dot,
                });
            }
            '-' | '+' | '0'..='9' => {
                let mut number = String::from(c);
                chars.next();
                while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    number.push(d);
                    chars.next();
                }
                tokens.push(Token::Int(
                    number
                        .parse()
                        .map_err(|_| format!("bad number {number:?}"))?,
                ));
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' || c == '#' => {
                let mut word = String::new();
                while let Some(&d) = chars
                    .peek()
                    .filter(|d| d.is_alphanumeric() || matches!(d, '_' | '$' | '#'))
                {
                    word.push(d.to_ascii_uppercase());
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
            other => return Err(format!("unexpected {other:?}")),
        }
    }
    Ok(tokens)
}

/// Reads tokens left to right: keywords, one optional parenthesised list after a
/// keyword, and the TIMESTAMP/INTERVAL forms whose lists sit between keywords.
pub(super) struct Parser {
    pub(super) tokens: Vec<Token>,
    pub(super) pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn eat(&mut self, token: &Token) -> bool {
        let hit = self.peek() == Some(token);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn word(&mut self) -> Option<String> {
        match self.peek() {
            Some(Token::Word(w)) => {
                let w = w.clone();
                self.pos += 1;
                Some(w)
            }
            _ => None,
        }
    }

    fn unsigned(&mut self) -> Result<u32, String> {
        match self.peek() {
            Some(Token::Int(n)) => {
                let n = u32::try_from(*n).map_err(|_| format!("{n} is not a length"))?;
                self.pos += 1;
                Ok(n)
            }
            other => Err(format!("expected a number, found {other:?}")),
        }
    }

    /// `( n )` after TIMESTAMP, YEAR, DAY or SECOND.
    fn one_number(&mut self) -> Result<Option<u32>, String> {
        if !self.eat(&Token::Open) {
            return Ok(None);
        }
        let n = self.unsigned()?;
        self.close()?;
        Ok(Some(n))
    }

    fn close(&mut self) -> Result<(), String> {
        if self.eat(&Token::Close) {
            Ok(())
        } else {
            Err("unbalanced parentheses".into())
        }
    }

    /// The arguments of a simple head: `(n [BYTE|CHAR])`, `(p[,s])`, `(*,s)`.
    fn arguments(&mut self, head: &Head, args: &mut Args) -> Result<(), String> {
        if !self.eat(&Token::Open) {
            return Ok(());
        }
        match head {
            Head::Number | Head::Float => {
                if !self.eat(&Token::Star) {
                    args.precision = Some(self.unsigned()?);
                }
                if self.eat(&Token::Comma) {
                    match self.peek() {
                        Some(Token::Int(s)) => {
                            args.scale = Some(i32::try_from(*s).map_err(|_| "bad scale")?);
                            self.pos += 1;
                        }
                        other => return Err(format!("expected a scale, found {other:?}")),
                    }
                } else if *head == Head::Number {
                    args.scale = Some(0);
                }
            }
            Head::Char
            | Head::Varchar2
            | Head::NChar
            | Head::NVarchar2
            | Head::Raw
            | Head::URowId => {
                args.length = Some(self.unsigned()?);
                args.semantics = match self.word().as_deref() {
                    None => None,
                    Some("BYTE") => Some(LengthSemantics::Byte),
                    Some("CHAR") => Some(LengthSemantics::Char),
                    Some(other) => return Err(format!("unknown length unit {other}")),
                };
            }
            // Anything else takes no arguments Oracle would print; keep it as `Other`.
            _ => {
                while !matches!(self.peek(), Some(Token::Close) | None) {
                    self.pos += 1;
                }
            }
        }
        self.close()
    }

    /// The whole text: one type and nothing after it.
    pub(super) fn parse(&mut self, original: &str) -> Result<OracleType, String> {
        let first = self.word().ok_or("expected a type name")?;
        if self.eat(&Token::Dot) {
            let name = self.word().ok_or("expected a type name after the owner")?;
            self.end()?;
            let owner_len = original.find('.').unwrap_or(0);
            let (owner, name_text) = (
                original[..owner_len].trim(),
                original[owner_len + 1..].trim(),
            );
            return Ok(if name == "XMLTYPE" {
                OracleType::XmlType
            } else {
                OracleType::Other {
                    owner: Some(owner.to_owned()),
                    name: name_text.to_owned(),
                }
            });
        }
        let mut args = Args::default();
        let head = match first.as_str() {
            "TIMESTAMP" => {
                args.scale = self.one_number()?.map(|n| n as i32);
                if self.word_is("WITH") {
                    let local = self.word_is("LOCAL");
                    self.expect_words(&["TIME", "ZONE"])?;
                    if local {
                        Head::TimestampLtz
                    } else {
                        Head::TimestampTz
                    }
                } else {
                    Head::Timestamp
                }
            }
            "INTERVAL" => match self.word().as_deref() {
                Some("YEAR") => {
                    args.precision = self.one_number()?;
                    self.expect_words(&["TO", "MONTH"])?;
                    Head::IntervalYm
                }
                Some("DAY") => {
                    args.precision = self.one_number()?;
                    self.expect_words(&["TO", "SECOND"])?;
                    args.scale = self.one_number()?.map(|n| n as i32);
                    Head::IntervalDs
                }
                _ => return Err("INTERVAL YEAR or INTERVAL DAY expected".into()),
            },
            _ => {
                let mut words = first.clone();
                while let Some(Token::Word(w)) = self.peek() {
                    words.push(' ');
                    words.push_str(w);
                    self.pos += 1;
                }
                let head = Head::of(&words);
                self.arguments(&head, &mut args)?;
                head
            }
        };
        self.end()?;
        Ok(build(head, args, original.trim()))
    }

    fn word_is(&mut self, word: &str) -> bool {
        self.eat(&Token::Word(word.to_owned()))
    }

    fn expect_words(&mut self, words: &[&str]) -> Result<(), String> {
        for w in words {
            if !self.word_is(w) {
                return Err(format!("expected {w}"));
            }
        }
        Ok(())
    }

    fn end(&self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(format!("unexpected {t:?}")),
        }
    }
}
