//! Integer settings out of range are refused, naming the setting (issue 12 item 6), over
//! the real binaries: every integer setting `--about` declares (each with its `minimum`
//! and `maximum`) given a negative number, one past its maximum and 4294967296 (which a
//! 32-bit cast wraps to 0), in a config file and in its environment variable: exit 1,
//! the setting and its range on stderr, nothing on stdout. The bounds themselves run.

use std::process::{Command, Output, Stdio};

use serde_json::{json, Value as Json};
use test_support::{bin, describe, sample_dir};

/// `(name, minimum, maximum)` of every integer setting of `binary`.
fn integer_settings(binary: &str) -> Vec<(String, i64, i64)> {
    let out = test_support::run_ok(Command::new(bin(binary)).args(["--about", "--format", "json"]));
    let about: Json = serde_json::from_slice(&out.stdout).expect("--about JSON");
    let properties = about["settings"]["properties"]
        .as_object()
        .expect("settings");
    let integers: Vec<(String, i64, i64)> = properties
        .iter()
        .filter(|(_, schema)| schema["type"] == "integer")
        .map(|(name, schema)| {
            let bound = |key: &str| {
                schema[key]
                    .as_i64()
                    .unwrap_or_else(|| panic!("{binary}: {name} declares no {key}: {schema}"))
            };
            (name.clone(), bound("minimum"), bound("maximum"))
        })
        .collect();
    assert!(integers.len() >= 6, "{binary}: {integers:?}");
    integers
}

/// Runs `binary` on the simulated backend with `extra` settings in its config file and
/// `env` in its environment: `--discover` for the tap, an empty load for the target.
fn run(binary: &str, dir: &std::path::Path, extra: Json, env: &[(String, String)]) -> Output {
    let mut config = json!({"driver": "sim", "sim_path": dir.join("db")});
    for (k, v) in extra.as_object().expect("object") {
        config[k] = v.clone();
    }
    let path = dir.join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let mut command = Command::new(bin(binary));
    command.arg("--config").arg(&path);
    if binary == "tap-oracle" {
        command.arg("--discover");
    }
    command
        .env_remove("RUST_LOG")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .output()
        .expect("run")
}

#[test]
fn every_integer_setting_refuses_values_outside_its_range_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let backend = sim_backend::SimBackend::open(&dir.path().join("db")).expect("open");
    sim_backend::seed::seed_dir(&backend, &sample_dir()).expect("seed");
    for (binary, prefix) in [
        ("tap-oracle", "TAP_ORACLE_"),
        ("target-oracle", "TARGET_ORACLE_"),
    ] {
        for (name, min, max) in integer_settings(binary) {
            let expected = format!("{name}: must be an integer from {min} to {max}");
            let mut bad: Vec<Json> = vec![json!(-1), json!(max + 1), json!(min - 1)];
            if max < 4_294_967_296 {
                bad.push(json!(4_294_967_296_u64));
            }
            bad.push(json!(1.5));
            for value in bad {
                if value.as_i64().is_some_and(|v| (min..=max).contains(&v)) {
                    continue;
                }
                let out = run(binary, dir.path(), json!({ &name: value }), &[]);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(
                    out.status.code(),
                    Some(1),
                    "{binary} {name}={value}: {}",
                    describe(&out)
                );
                assert!(
                    stderr.contains(&expected),
                    "{binary} {name}={value}: {stderr}"
                );
                assert!(out.stdout.is_empty(), "{binary} {name}={value}");
            }
            let variable = format!("{prefix}{}", name.to_uppercase());
            let out = run(
                binary,
                dir.path(),
                json!({}),
                &[(variable.clone(), "-1".into())],
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{variable}=-1: {}",
                describe(&out)
            );
            assert!(
                stderr.contains(&format!(
                    "{variable}: must be an integer from {min} to {max}"
                )),
                "{variable}=-1: {stderr}"
            );
        }
    }
}

#[test]
fn the_bounds_of_the_run_time_settings_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let backend = sim_backend::SimBackend::open(&dir.path().join("db")).expect("open");
    sim_backend::seed::seed_dir(&backend, &sample_dir()).expect("seed");
    for binary in ["tap-oracle", "target-oracle"] {
        for (name, min, max) in integer_settings(binary) {
            for value in [min, max] {
                let out = run(binary, dir.path(), json!({ &name: value }), &[]);
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{binary} {name}={value}: {}",
                    describe(&out)
                );
            }
        }
    }
}
