//! One reviewed snapshot per fixture folder: adding a case is adding a folder.
//! (Kept in its own test file: insta's `glob!` keeps failure state process-wide.)

use std::path::Path;

#[test]
fn every_fixture_renders_its_reviewed_catalog() {
    insta::glob!("../", "*/dictionary.json", |path| {
        let dir = path.parent().expect("fixture folder");
        let output = catalog_fixtures::render_dir(dir, None).expect("fixture renders");
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        // Rendered by serde_json itself: insta's own JSON serializer would spell the
        // exact (arbitrary-precision) numbers as internal structs.
        let rendered = serde_json::to_string_pretty(
            &serde_json::json!({"catalog": output.catalog, "warnings": output.warnings}),
        )
        .expect("catalog serializes");
        insta::assert_snapshot!(name, rendered);
    });
    // The glob must have found the fixture set (a typo in the pattern would pass
    // vacuously otherwise).
    let count = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("dictionary.json").exists())
        .count();
    assert!(count >= 6, "expected the fixture folders, found {count}");
}
