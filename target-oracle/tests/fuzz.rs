//! The whole target engine on mutated input (the CI stand-in for a fuzzer: cargo-fuzz
//! needs a nightly toolchain): a valid stream whose schemas, names, keys and values are
//! swapped for odd ones, and whose lines are cut or flipped, is loaded into the
//! simulated backend under every load method. Whatever the input, the engine answers
//! with a result, never a panic (a user sees exit 101 and a backtrace), and a failed run
//! still reports the line it stopped at.

use proptest::prelude::*;
use serde_json::{json, Value as Json};

use db_boundary::Backend;
use sim_backend::SimBackend;
use target_oracle::loader::Loader;
use target_oracle::settings::TargetConfig;

/// Property schemas a tap may send, the odd ones included.
fn property_schema() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(json!({"type": ["null", "integer"]})),
        Just(json!({"type": "integer", "minimum": -9, "maximum": 9})),
        Just(json!({"type": ["null", "number"], "multipleOf": 0.01})),
        Just(json!({"type": ["number"], "exclusiveMaximum": 1e10, "exclusiveMinimum": -1e10})),
        Just(json!({"type": ["null", "string"], "maxLength": 3})),
        Just(json!({"type": ["null", "string"], "maxLength": 100_000})),
        Just(json!({"type": "string", "minLength": 2})),
        Just(json!({"type": ["null", "string"], "format": "date-time"})),
        Just(json!({"type": ["null", "string"], "format": "date"})),
        Just(json!({"type": ["null", "string"], "format": "time"})),
        Just(json!({"type": ["null", "string"], "contentEncoding": "base64"})),
        Just(json!({"type": ["null", "boolean"]})),
        Just(json!({"type": ["null", "object"], "properties": {"x": {"type": "integer"}}})),
        Just(json!({"type": ["null", "array"], "items": {"type": "string"}})),
        Just(json!({"type": ["null", "string", "integer"]})),
        Just(json!({"anyOf": [{"type": "null"}, {"type": "number"}]})),
        Just(json!({"type": "null"})),
        Just(json!({})),
        Just(json!({"type": "bogus"})),
        Just(json!({"type": ["null", "string"], "enum": ["a", "b"]})),
        Just(json!({"type": ["null", "string"], "pattern": "^[a-z]+$"})),
        Just(json!({"type": ["null", "number"], "multipleOf": 0})),
        Just(json!({"type": ["null", "integer"], "maximum": "ten"})),
    ]
}

/// Values of every JSON kind, at and past the limits Oracle and the engine keep.
fn value() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)),
        "-?[0-9]{1,60}(\\.[0-9]{1,60})?([eE][-+]?[0-9]{1,4})?"
            .prop_map(|t| { serde_json::from_str::<Json>(&t).unwrap_or(Json::Null) }),
        "\\PC{0,12}".prop_map(Json::String),
        "[\\x00-\\x1f\"\\\\\u{1f}]{0,5}".prop_map(Json::String),
        Just(Json::String("x".repeat(5000))),
        Just(Json::String("é".repeat(2100))),
        Just(json!("2024-02-29T23:59:59.999999999+14:00")),
        Just(json!("0001-01-01T00:00:00Z")),
        Just(json!("9999-12-31T23:59:59Z")),
        Just(json!("10000-01-01T00:00:00Z")),
        Just(json!("2024-13-01T00:00:00Z")),
        Just(json!("2024-01-01")),
        Just(json!("25:00:00")),
        Just(json!("aGVsbG8=")),
        Just(json!("not base64!")),
        Just(json!({"x": 1, "y": [1, {"z": null}]})),
        Just(json!([1, "two", null])),
    ]
}

/// Property names: usual, reserved, quoted, case twins, empty, long, unicode.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{1,8}",
        Just("id".to_owned()),
        Just("ID".to_owned()),
        Just("Id".to_owned()),
        Just("select".to_owned()),
        Just("date".to_owned()),
        Just("_sdc_deleted_at".to_owned()),
        Just("_sdc_sequence".to_owned()),
        Just("a\"b".to_owned()),
        Just(String::new()),
        Just(" ".to_owned()),
        Just("n".repeat(200)),
        Just("Ünïcödé 名前".to_owned()),
        Just("a.b".to_owned()),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    stream: String,
    properties: Vec<(String, Json)>,
    keys: Vec<String>,
    records: Vec<Vec<Json>>,
    settings: Json,
    /// (line, byte, replacement): a line damaged after it was written.
    damage: Option<(usize, usize, u8)>,
    cut: Option<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![
            Just("orders".to_owned()),
            "[a-zA-Z\"\\- ]{0,12}",
            Just("s".repeat(140))
        ],
        proptest::collection::vec((name(), property_schema()), 0..6),
        proptest::collection::vec(proptest::collection::vec(value(), 0..7), 0..6),
        prop::sample::subsequence(vec![0usize, 1, 2], 0..=2),
        prop_oneof![
            Just(json!({})),
            Just(json!({"load_method": "upsert"})),
            Just(json!({"load_method": "append-only"})),
            Just(json!({"load_method": "overwrite"})),
            Just(json!({"hard_delete": true, "add_record_metadata": true})),
            Just(json!({"on_bad_record": "reject", "reject_file": "-"})),
            Just(json!({"freeze_schema": true})),
            Just(json!({"batch_size_rows": 1})),
        ],
        proptest::option::of((0usize..12, 0usize..400, any::<u8>())),
        proptest::option::of(0usize..4000),
    )
        .prop_map(
            |(stream, properties, records, key_positions, settings, damage, cut)| {
                let keys = key_positions
                    .into_iter()
                    .filter_map(|i| properties.get(i).map(|(n, _)| n.clone()))
                    .collect();
                Case {
                    stream,
                    properties,
                    keys,
                    records,
                    settings,
                    damage,
                    cut,
                }
            },
        )
}

/// The case as the lines a tap would write (then damaged).
fn lines(case: &Case) -> Vec<u8> {
    let properties: serde_json::Map<String, Json> = case.properties.iter().cloned().collect();
    let mut lines = vec![json!({
        "type": "SCHEMA", "stream": case.stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": case.keys,
    })];
    for (n, values) in case.records.iter().enumerate() {
        let record: serde_json::Map<String, Json> = case
            .properties
            .iter()
            .map(|(k, _)| k.clone())
            .zip(values.iter().cloned())
            .collect();
        lines.push(json!({"type": "RECORD", "stream": case.stream, "record": record}));
        if n % 2 == 1 {
            lines.push(json!({"type": "STATE", "value": {"n": n}}));
        }
    }
    lines.push(json!({"type": "ACTIVATE_VERSION", "stream": case.stream, "version": 7}));
    lines.push(json!({"type": "STATE", "value": {"done": true}}));
    let mut text: Vec<Vec<u8>> = lines.iter().map(|l| l.to_string().into_bytes()).collect();
    if let Some((line, byte, replacement)) = case.damage {
        let count = text.len();
        if let Some(line) = text.get_mut(line % count) {
            if !line.is_empty() {
                let at = byte % line.len();
                line[at] = replacement;
            }
        }
    }
    let mut bytes = text.join(&b'\n');
    bytes.push(b'\n');
    if let Some(cut) = case.cut {
        bytes.truncate(cut.min(bytes.len()));
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if std::env::var_os("CI").is_some() { 600 } else { 300 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// No input makes the engine panic: each run ends with its statistics or an error.
    #[test]
    fn no_input_makes_the_engine_panic(case in case()) {
        let dir = tempfile::tempdir().unwrap();
        let db = SimBackend::open(dir.path()).unwrap();
        let mut settings = case.settings.as_object().cloned().unwrap_or_default();
        if settings.get("reject_file").is_some() {
            settings.insert(
                "reject_file".into(),
                json!(dir.path().join("rejects.jsonl").to_string_lossy()),
            );
        }
        let config = TargetConfig::from_map(settings, true).unwrap();
        let input = lines(&case);
        let mut out = Vec::new();
        let result = Loader::new(config, db.sink().unwrap(), &mut out)
            .and_then(|loader| loader.load(input.as_slice()));
        // Either outcome is an answer; an error names what it stopped at.
        if let Err(error) = result {
            prop_assert!(!error.to_string().is_empty());
        }
        // Whatever went out is whole states, one per line.
        for line in String::from_utf8(out).unwrap().lines() {
            prop_assert!(serde_json::from_str::<Json>(line).is_ok(), "{}", line);
        }
    }
}
