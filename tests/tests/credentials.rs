//! End to end over both binaries on the simulated backend: credential sources
//! (`password_file`, the environment, `external_auth`) reported by `--test` without
//! their value, the permission warning, no password-file content in any output; and
//! every session naming itself (MODULE, ACTION, CLIENT_IDENTIFIER) in the simulated
//! V$SESSION record.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value as Json};
use test_support::{bin, describe, run_ok};

const FILE_PASSWORD: &str = "pw-from-file-7Qz!x";

/// A seeded tap database, a target database, and the password file.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let backend = sim_backend::SimBackend::open(&dir.path().join("tap-db")).unwrap();
        sim_backend::seed::seed_dir(&backend, &test_support::sample_dir()).unwrap();
        let setup = Setup { dir };
        std::fs::write(setup.password_file(), format!("{FILE_PASSWORD}\n")).unwrap();
        setup.chmod(0o600);
        setup
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn password_file(&self) -> PathBuf {
        self.path("oracle.pw")
    }

    fn chmod(&self, mode: u32) {
        std::fs::set_permissions(self.password_file(), std::fs::Permissions::from_mode(mode))
            .unwrap();
    }

    /// A config for `db` (`tap-db` or `target-db`) with `extra` settings.
    fn config(&self, db: &str, extra: Json) -> PathBuf {
        let mut config = json!({"driver": "sim", "sim_path": self.path(db), "user": "LOADER"});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        let path = self.path(&format!("{db}.json"));
        std::fs::write(&path, config.to_string()).unwrap();
        path
    }
}

fn command(binary: &str, config: &Path) -> Command {
    let mut command = Command::new(bin(binary));
    command.arg("--config").arg(config).env_remove("RUST_LOG");
    for (key, _) in std::env::vars() {
        if key.starts_with("TAP_ORACLE_") || key.starts_with("TARGET_ORACLE_") {
            command.env_remove(key);
        }
    }
    command
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn test_mode_names_the_credential_source_never_the_value() {
    let setup = Setup::new();
    let with_file = json!({"password_file": setup.password_file()});
    for (binary, db) in [("tap-oracle", "tap-db"), ("target-oracle", "target-db")] {
        let config = setup.config(db, with_file.clone());
        let output = run_ok(command(binary, &config).arg("--test"));
        let all = text(&output);
        assert!(
            all.contains(&format!(
                "credentials: password from password_file {}",
                setup.password_file().display()
            )),
            "{binary}: {all}"
        );
        assert!(
            !all.contains("chmod 600"),
            "a 0600 file is not warned about: {all}"
        );
        assert!(!all.contains(FILE_PASSWORD), "{binary}: {all}");

        // Group-readable: used, with a warning.
        setup.chmod(0o640);
        let output = run_ok(command(binary, &config).arg("--test"));
        let all = text(&output);
        assert!(
            all.contains("password_file can be read by group or others"),
            "{all}"
        );
        assert!(
            all.contains("0640") && !all.contains(FILE_PASSWORD),
            "{all}"
        );
        setup.chmod(0o600);

        // The environment variable, named; the value is not.
        let prefix = if binary == "tap-oracle" {
            "TAP_ORACLE_"
        } else {
            "TARGET_ORACLE_"
        };
        let config = setup.config(db, json!({}));
        let output = run_ok(
            command(binary, &config)
                .arg("--test")
                .env(format!("{prefix}PASSWORD"), "pw-from-env-Kx9"),
        );
        let all = text(&output);
        assert!(
            all.contains(&format!(
                "credentials: password from the environment ({prefix}PASSWORD)"
            )),
            "{all}"
        );
        assert!(!all.contains("pw-from-env-Kx9"), "{all}");

        // A wallet: no user or password at all.
        let config = setup.config(
            db,
            json!({"external_auth": true, "user": null, "dsn": "PROD_LOADER"}),
        );
        let output = run_ok(command(binary, &config).arg("--test"));
        assert!(
            text(&output).contains("credentials: external authentication"),
            "{}",
            describe(&output)
        );
        let config = setup.config(db, json!({"external_auth": true}));
        let output = command(binary, &config).arg("--test").output().unwrap();
        assert!(
            !output.status.success(),
            "user with external_auth: {}",
            describe(&output)
        );
        assert!(
            text(&output)
                .contains("external_auth logs in with the wallet's credentials: remove user"),
            "{}",
            describe(&output)
        );
    }
}

/// Runs the whole pipeline with the password in a group-readable file, at debug level,
/// and greps every output of every mode for it.
#[test]
fn the_password_files_content_appears_in_no_output_of_any_mode() {
    let setup = Setup::new();
    setup.chmod(0o644);
    let settings = json!({"password_file": setup.password_file()});
    let tap = setup.config("tap-db", settings.clone());
    let target = setup.config("target-db", settings);
    let mut outputs = Vec::new();
    for level in ["debug", "info"] {
        let about = run_ok(command("tap-oracle", &tap).args(["--about", "--log-level", level]));
        let test = run_ok(command("tap-oracle", &tap).args(["--test", "--log-level", level]));
        let discover =
            run_ok(command("tap-oracle", &tap).args(["--discover", "--log-level", level]));
        let catalog: Json = serde_json::from_slice(&discover.stdout).unwrap();
        let catalog = select_all(catalog);
        let catalog_path = setup.path("catalog.json");
        std::fs::write(&catalog_path, catalog.to_string()).unwrap();
        let sync = run_ok(
            command("tap-oracle", &tap)
                .arg("--catalog")
                .arg(&catalog_path)
                .args(["--log-level", level]),
        );
        let input = setup.path("messages.jsonl");
        std::fs::write(&input, &sync.stdout).unwrap();
        let load = run_ok(
            command("target-oracle", &target)
                .arg("--input")
                .arg(&input)
                .args(["--log-level", level]),
        );
        let target_test =
            run_ok(command("target-oracle", &target).args(["--test", "--log-level", level]));
        outputs.extend([about, test, discover, sync, load, target_test]);
    }
    let mut warned = 0;
    for output in &outputs {
        let all = text(output);
        assert!(!all.contains(FILE_PASSWORD), "the password leaked: {all}");
        warned += usize::from(all.contains("password_file can be read by group or others"));
    }
    assert!(
        warned >= 8,
        "every mode that connects warns about the 0644 file ({warned})"
    );
}

fn select_all(mut catalog: Json) -> Json {
    for stream in catalog["streams"].as_array_mut().unwrap() {
        stream["metadata"][0]["metadata"]["selected"] = json!(true);
    }
    catalog
}

/// The run id a binary logged at its start.
fn logged_run_id(stderr: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    let at = stderr.find("run_id=").expect("run id logged") + "run_id=".len();
    stderr[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_matches('"')
        .to_owned()
}

#[test]
fn every_session_names_its_binary_stream_and_run() {
    let setup = Setup::new();
    let tap = setup.config("tap-db", json!({}));
    let target = setup.config("target-db", json!({"audit_table": "LOAD_AUDIT"}));
    let discover = run_ok(command("tap-oracle", &tap).arg("--discover"));
    let discover_run = logged_run_id(&discover.stderr);
    let catalog = select_all(serde_json::from_slice(&discover.stdout).unwrap());
    let streams: Vec<String> = catalog["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tap_stream_id"].as_str().unwrap().to_owned())
        .collect();
    let catalog_path = setup.path("catalog.json");
    std::fs::write(&catalog_path, catalog.to_string()).unwrap();
    let sync = run_ok(
        command("tap-oracle", &tap)
            .arg("--catalog")
            .arg(&catalog_path),
    );
    let sync_run = logged_run_id(&sync.stderr);
    let input = setup.path("messages.jsonl");
    std::fs::write(&input, &sync.stdout).unwrap();
    let load = run_ok(command("target-oracle", &target).arg("--input").arg(&input));
    let load_run = logged_run_id(&load.stderr);

    let tap_sessions = sim_backend::recorded_contexts(&setup.path("tap-db")).unwrap();
    assert!(
        tap_sessions.iter().all(|c| c.module == "tap-oracle"),
        "{tap_sessions:?}"
    );
    let discover_sessions: Vec<_> = tap_sessions
        .iter()
        .filter(|c| c.client_identifier == discover_run)
        .collect();
    assert_eq!(discover_sessions.len(), 1);
    assert_eq!(discover_sessions[0].action, "discover");
    let mut synced: Vec<&str> = tap_sessions
        .iter()
        .filter(|c| c.client_identifier == sync_run)
        .map(|c| c.action.as_str())
        .collect();
    synced.sort_unstable();
    let mut expected: Vec<&str> = streams
        .iter()
        .map(|s| db_boundary::context::cut(s, 32))
        .collect();
    expected.sort_unstable();
    assert_eq!(synced, expected, "one session per stream, named after it");

    let target_sessions = sim_backend::recorded_contexts(&setup.path("target-db")).unwrap();
    assert!(!target_sessions.is_empty());
    for context in &target_sessions {
        assert_eq!(context.module, "target-oracle");
        assert_eq!(context.client_identifier, load_run);
        assert!(
            context.action == "load" || streams.contains(&context.action),
            "{context:?}"
        );
    }
    // The audit rows carry the same run id the DBA sees as CLIENT_IDENTIFIER.
    let backend = sim_backend::SimBackend::open(&setup.path("target-db")).unwrap();
    let audit = backend.read_rows("SIM_USER", "LOAD_AUDIT").unwrap();
    assert_eq!(audit.len(), streams.len());
    for row in audit {
        assert_eq!(row[0], db_boundary::Value::Text(load_run.clone()));
    }
}
