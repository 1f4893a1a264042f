//! No silent empty result (issue 12 item 8), over the real tap-oracle binary: a
//! `filter_tables` / `filter_schemas` entry that matches no table is named in a warning
//! with the tables it may have meant (another case, a letter off), and a `sim_path` that
//! holds no simulated database is an error (exit 1) in every mode, never an empty
//! catalog.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value as Json};
use test_support::{bin, describe, sample_dir};

fn seeded(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("db");
    let backend = sim_backend::SimBackend::open(&db).expect("open");
    sim_backend::seed::seed_dir(&backend, &sample_dir()).expect("seed");
    db
}

fn tap(dir: &Path, config: Json, args: &[&str]) -> Output {
    let path = dir.join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    Command::new(bin("tap-oracle"))
        .arg("--config")
        .arg(&path)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("SINGER_LOG_FORMAT")
        .output()
        .expect("run tap-oracle")
}

fn stream_ids(output: &Output) -> Vec<String> {
    let catalog: Json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no catalog ({e}): {}", describe(output)));
    catalog["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| s["tap_stream_id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn filters_that_match_nothing_are_named_with_their_near_misses() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let cases = [
        (
            json!({"filter_tables": ["hr.*"]}),
            r#"filter_tables entry "hr.*" matches no table (names are case-sensitive); did you mean HR.DEPARTMENTS, HR.EMPLOYEES, HR.JOB_HISTORY?"#,
        ),
        (
            json!({"filter_tables": ["HR.EMPLOYEE"]}),
            r#"filter_tables entry "HR.EMPLOYEE" matches no table (names are case-sensitive); did you mean HR.EMPLOYEES?"#,
        ),
        (
            json!({"filter_schemas": ["hr"]}),
            r#"filter_schemas entry "hr" matches no table (names are case-sensitive); did you mean HR?"#,
        ),
        (
            json!({"filter_tables": ["HR.EMPLOYEES", "HR.PAYSLIPS_2031"]}),
            r#"filter_tables entry "HR.PAYSLIPS_2031" matches no table (names are case-sensitive); no similar name exists"#,
        ),
    ];
    for (filters, warning) in cases {
        let mut config = json!({"driver": "sim", "sim_path": db});
        for (k, v) in filters.as_object().unwrap() {
            config[k] = v.clone();
        }
        let out = tap(dir.path(), config, &["--discover"]);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(warning),
            "{filters}: no `{warning}` in\n{stderr}"
        );
        assert_eq!(stderr.matches("matches no table").count(), 1, "{stderr}");
    }
    // A filter that matches stays quiet, and so does a partial match's good entry.
    let out = tap(
        dir.path(),
        json!({"driver": "sim", "sim_path": db, "filter_tables": ["HR.EMP*"]}),
        &["--discover"],
    );
    assert_eq!(stream_ids(&out), ["HR-EMPLOYEES"]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("WARN"),
        "{}",
        describe(&out)
    );
}

#[test]
fn a_sim_path_without_a_database_is_an_error_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let missing = dir.path().join("dbb");
    let catalog = dir.path().join("catalog.json");
    std::fs::write(&catalog, r#"{"streams": []}"#).unwrap();
    let catalog = catalog.display().to_string();
    for args in [
        vec!["--discover"],
        vec!["--test"],
        vec!["--catalog", catalog.as_str()],
    ] {
        let out = tap(
            dir.path(),
            json!({"driver": "sim", "sim_path": missing}),
            &args,
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "sim_path: no simulated database at {}",
                missing.display()
            )),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", describe(&out));
        assert!(!missing.exists(), "the tap created {}", missing.display());
    }
}
