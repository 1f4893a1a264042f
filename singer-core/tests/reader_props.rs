//! Property tests for the message reader: it never panics on arbitrary bytes, and what
//! the writer writes the reader reads back unchanged. (The CI gate that stands in for a
//! fuzzer: cargo-fuzz needs a nightly toolchain this workplace cannot fetch.)

use proptest::prelude::*;
use singer_core::message::Message;
use singer_core::reader::MessageReader;
use singer_core::writer::MessageWriter;

fn read_all(bytes: &[u8]) -> usize {
    let mut reader = MessageReader::new(bytes);
    let mut n = 0;
    loop {
        match reader.next_message() {
            Ok(Some(_)) => n += 1,
            Ok(None) | Err(_) => return n,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        read_all(&bytes);
    }

    #[test]
    fn near_singer_lines_never_panic(
        kind in prop::sample::select(vec!["SCHEMA", "record", "STATE", "ACTIVATE_VERSION", "BATCH", "X", ""]),
        stream in "[a-zA-Z\\-\"\\\\]{0,8}",
        body in "[{}\\[\\]\",:0-9a-z\\- ]{0,40}",
    ) {
        let line = format!("{{\"type\":\"{kind}\",\"stream\":\"{stream}\",\"record\":{body},\"schema\":{body},\"value\":{body}}}\n");
        read_all(line.as_bytes());
    }

    #[test]
    fn written_records_read_back_byte_identical(
        stream in "[A-Za-z0-9_ $#\\-]{1,20}",
        text in "\\PC{0,30}",
        digits in "[1-9][0-9]{0,37}",
        scale in 0usize..10,
    ) {
        let number = if scale > 0 && digits.len() > scale {
            format!("{}.{}", &digits[..digits.len() - scale], &digits[digits.len() - scale..])
        } else {
            digits.clone()
        };
        let record = format!("{{\"N\":{number},\"T\":{}}}", serde_json::to_string(&text).unwrap());
        let raw = serde_json::value::RawValue::from_string(record.clone()).unwrap();
        let mut writer = MessageWriter::new(Vec::new());
        writer.write_schema(&stream, &serde_json::json!({"type": "object"}), &[], &[]).unwrap();
        writer.write_record_raw(&stream, &raw, Some(1), None).unwrap();
        let out = writer.into_inner().unwrap();
        let mut reader = MessageReader::new(out.as_slice());
        reader.next_message().unwrap().unwrap();
        match reader.next_message().unwrap().unwrap().message {
            Message::Record(r) => {
                prop_assert_eq!(r.stream.as_ref(), stream.as_str());
                prop_assert_eq!(r.record, record.as_str());
            }
            other => prop_assert!(false, "expected a record, got {:?}", other),
        }
    }
}
