//! A new user's first hour (issue 12 item 9), over the real binaries, scripts and
//! Meltano: `demo.sh` says what it is doing and how long a first build takes before it
//! builds; `meltano select` and `meltano config list` work as typed (no
//! `--environment`) and no command warns about a deprecated `version` key; the example
//! configs in `examples/` are accepted by the binaries; `target-oracle --help` lists no
//! tap-only flag (yet still accepts them); the INCREMENTAL log line says where it
//! starts; `--test` on the simulated backend lists the privileges that matter, held or
//! lacking, and a lacking one is enforced; the sample's statistics match its rows.
//! (`sim-admin --help` is tested with sim-admin, in `sim-backend/tests/sim.rs`.)

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value as Json};
use test_support::{bin, describe, repo_root, run_ok, sample_dir, sample_rows, MeltanoProject};

#[test]
fn demo_says_each_step_and_the_first_build_time_before_it_builds() {
    // A stub `cargo` that records its arguments and fails: the demo stops there, after
    // saying what it is about to do.
    let dir = tempfile::tempdir().unwrap();
    let stub = dir.path().join("cargo");
    let log = dir.path().join("cargo-args");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\necho STUB-CARGO-RAN\nexit 7\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // A scratch copy of the script, so its `target/release` check sees no build.
    let scratch = dir.path().join("repo");
    std::fs::create_dir(&scratch).unwrap();
    std::fs::copy(repo_root().join("demo.sh"), scratch.join("demo.sh")).unwrap();
    let out = Command::new("bash")
        .arg(scratch.join("demo.sh"))
        .env(
            "PATH",
            format!(
                "{}:{}",
                dir.path().display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let said = stdout
        .find("a first build compiles")
        .unwrap_or_else(|| panic!("no first-build notice:\n{stdout}"));
    assert!(stdout.contains("5 to 10 minutes"), "{stdout}");
    assert!(
        said < stdout.find("STUB-CARGO-RAN").expect("cargo ran"),
        "the notice comes after the build started:\n{stdout}"
    );
    let args = std::fs::read_to_string(&log).unwrap();
    assert!(
        args.contains("build --release") && !args.split_whitespace().any(|a| a == "-q"),
        "cargo runs quietly, hiding its progress: {args}"
    );
}

#[test]
fn meltano_select_and_config_list_work_as_typed_without_deprecation_warnings() {
    let project = MeltanoProject::new();
    let listed = run_ok(&mut project.command_as_typed(&["select", "tap-oracle", "--list"]));
    let text = String::from_utf8_lossy(&listed.stdout);
    for line in ["HR-EMPLOYEES.EMPLOYEE_ID", "HR-DEPARTMENTS.DEPARTMENT_NAME"] {
        assert!(text.contains(line), "{line} not in:\n{}", describe(&listed));
    }
    let config = run_ok(&mut project.command_as_typed(&["config", "list", "tap-oracle"]));
    let text = String::from_utf8_lossy(&config.stdout);
    assert!(
        text.contains("driver [env: TAP_ORACLE_DRIVER] current value: 'sim'"),
        "{text}"
    );
    let config = run_ok(&mut project.command_as_typed(&["config", "list", "target-oracle"]));
    assert!(String::from_utf8_lossy(&config.stdout)
        .contains("driver [env: TARGET_ORACLE_DRIVER] current value: 'sim'"));
    // Environment `oracle` switches both plugins to Oracle.
    let oracle = run_ok(&mut project.command_as_typed(&[
        "--environment",
        "oracle",
        "config",
        "list",
        "tap-oracle",
    ]));
    assert!(String::from_utf8_lossy(&oracle.stdout)
        .contains("driver [env: TAP_ORACLE_DRIVER] current value: 'oracle'"));
    for out in [&listed, &config, &oracle] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("deprecated"), "{stderr}");
    }
}

/// Runs `binary` with `config` in `dir`, feeding `stdin`.
fn run_in(dir: &Path, binary: &str, config: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(bin(binary))
        .arg("--config")
        .arg(config)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("SINGER_LOG_FORMAT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn the_example_configs_are_accepted_by_the_binaries() {
    let examples = repo_root().join("examples");
    let dir = tempfile::tempdir().unwrap();
    let backend = sim_backend::SimBackend::open(&dir.path().join(".meltano/sim-db")).unwrap();
    sim_backend::seed::seed_dir(&backend, &sample_dir()).unwrap();
    let tap_sim = examples.join("tap-oracle.sim.json");
    let out = run_in(dir.path(), "tap-oracle", &tap_sim, &["--discover"], b"");
    assert!(out.status.success(), "{}", describe(&out));
    let mut catalog: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(catalog["streams"].as_array().unwrap().len(), 3);
    for stream in catalog["streams"].as_array_mut().unwrap() {
        stream["metadata"][0]["metadata"]["selected"] = json!(true);
    }
    std::fs::write(dir.path().join("catalog.json"), catalog.to_string()).unwrap();
    let synced = run_in(
        dir.path(),
        "tap-oracle",
        &tap_sim,
        &["--catalog", "catalog.json"],
        b"",
    );
    assert!(synced.status.success(), "{}", describe(&synced));
    let target_sim = examples.join("target-oracle.sim.json");
    let loaded = run_in(
        dir.path(),
        "target-oracle",
        &target_sim,
        &[],
        &synced.stdout,
    );
    assert!(loaded.status.success(), "{}", describe(&loaded));
    let target = sim_backend::SimBackend::open(&dir.path().join(".meltano/sim-target-db")).unwrap();
    // The default `stream_prefix: table` keeps the stream's schema in the table name.
    assert_eq!(target.row_count("SIM_USER", "HR_EMPLOYEES").unwrap(), 107);
    // The Oracle examples pass validation and get as far as the Oracle Client library,
    // which this machine lacks (exit 2, not a configuration error).
    for (binary, file) in [
        ("tap-oracle", "tap-oracle.oracle.json"),
        ("target-oracle", "target-oracle.oracle.json"),
    ] {
        let out = run_in(dir.path(), binary, &examples.join(file), &["--test"], b"");
        assert_eq!(out.status.code(), Some(2), "{file}: {}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("Oracle Client library (libclntsh.so) was not found"),
            "{file}: {}",
            describe(&out)
        );
    }
    // No example holds a key the binary does not know.
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let binary = if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("tap-")
            {
                "tap-oracle"
            } else {
                "target-oracle"
            };
            let out = run_in(dir.path(), binary, &path, &["--test"], b"");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !stderr.contains("unknown setting"),
                "{}: {stderr}",
                path.display()
            );
        }
    }
}

#[test]
fn target_help_lists_no_tap_only_flag_yet_accepts_them() {
    let help = run_ok(Command::new(bin("target-oracle")).arg("--help"));
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--discover", "--catalog", "--state", "--properties"] {
        assert!(!text.contains(flag), "{flag} in:\n{text}");
    }
    for flag in ["--config", "--about", "--test", "--input", "--log-level"] {
        assert!(text.contains(flag), "{flag} not in:\n{text}");
    }
    let tap_help = run_ok(Command::new(bin("tap-oracle")).arg("--help"));
    assert!(String::from_utf8_lossy(&tap_help.stdout).contains("--discover"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.json");
    std::fs::write(
        &config,
        json!({"driver": "sim", "sim_path": dir.path().join("db")}).to_string(),
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        "target-oracle",
        &config,
        &[
            "--state",
            "s.json",
            "--catalog",
            "c.json",
            "--properties",
            "p.json",
            "--discover",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
}

/// The sample seeded into a fresh simulated database and a tap config for it.
fn sample_db(dir: &Path) -> (sim_backend::SimBackend, std::path::PathBuf) {
    let backend = sim_backend::SimBackend::open(&dir.join("db")).unwrap();
    sim_backend::seed::seed_dir(&backend, &sample_dir()).unwrap();
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        json!({"driver": "sim", "sim_path": dir.join("db")}).to_string(),
    )
    .unwrap();
    (backend, config)
}

#[test]
fn the_incremental_log_line_says_where_the_sync_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (_backend, config) = sample_db(dir.path());
    let out = run_in(dir.path(), "tap-oracle", &config, &["--discover"], b"");
    let mut catalog: Json = serde_json::from_slice(&out.stdout).unwrap();
    for stream in catalog["streams"].as_array_mut().unwrap() {
        let employees = stream["tap_stream_id"] == "HR-EMPLOYEES";
        let top = &mut stream["metadata"][0]["metadata"];
        top["selected"] = json!(employees);
        top["replication-method"] = json!("INCREMENTAL");
        top["replication-key"] = json!("UPDATED_AT");
    }
    std::fs::write(dir.path().join("catalog.json"), catalog.to_string()).unwrap();
    let first = run_in(
        dir.path(),
        "tap-oracle",
        &config,
        &["--catalog", "catalog.json"],
        b"",
    );
    assert!(first.status.success(), "{}", describe(&first));
    let state = test_support::parse_json_lines(&String::from_utf8_lossy(&first.stdout))
        .into_iter()
        .rev()
        .find(|m| m["type"] == "STATE")
        .unwrap();
    std::fs::write(dir.path().join("state.json"), state["value"].to_string()).unwrap();
    let second = run_in(
        dir.path(),
        "tap-oracle",
        &config,
        &["--catalog", "catalog.json", "--state", "state.json"],
        b"",
    );
    for (out, start) in [(&first, "start=beginning"), (&second, "start=bookmark")] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr
            .lines()
            .find(|l| l.contains("INCREMENTAL sync"))
            .unwrap_or_else(|| panic!("no INCREMENTAL sync line:\n{stderr}"));
        assert!(line.contains(start) && !line.contains("from="), "{line}");
    }
}

#[test]
fn test_mode_on_the_simulated_backend_lists_the_privileges_and_enforces_a_lacking_one() {
    let dir = tempfile::tempdir().unwrap();
    let (mut backend, config) = sample_db(dir.path());
    let privileges = [
        "CREATE SESSION",
        "SELECT ANY DICTIONARY",
        "SELECT ANY TABLE",
        "FLASHBACK ANY TABLE",
        "CREATE TABLE",
    ];
    for binary in ["tap-oracle", "target-oracle"] {
        let out = run_in(dir.path(), binary, &config, &["--test"], b"");
        assert!(out.status.success(), "{}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        for privilege in privileges {
            assert!(
                stderr.contains(&format!("has {privilege}")),
                "{binary}: {stderr}"
            );
        }
    }
    backend
        .set_privileges(&["CREATE SESSION", "SELECT ANY TABLE", "CREATE TABLE"])
        .unwrap();
    let out = run_in(dir.path(), "tap-oracle", &config, &["--test"], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("lacks FLASHBACK ANY TABLE"), "{stderr}");
    assert!(stderr.contains("lacks SELECT ANY DICTIONARY"), "{stderr}");
    // use_flashback reads the sample's HR tables AS OF an SCN: refused as Oracle does.
    let discovered = run_in(dir.path(), "tap-oracle", &config, &["--discover"], b"");
    let mut catalog: Json = serde_json::from_slice(&discovered.stdout).unwrap();
    for stream in catalog["streams"].as_array_mut().unwrap() {
        stream["metadata"][0]["metadata"]["selected"] = json!(true);
    }
    std::fs::write(dir.path().join("catalog.json"), catalog.to_string()).unwrap();
    let flashback = dir.path().join("flashback.json");
    std::fs::write(
        &flashback,
        json!({"driver": "sim", "sim_path": dir.path().join("db"), "use_flashback": true})
            .to_string(),
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        "tap-oracle",
        &flashback,
        &["--catalog", "catalog.json"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ORA-01031"),
        "{}",
        describe(&out)
    );
}

#[test]
fn the_sample_statistics_match_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (_backend, config) = sample_db(dir.path());
    let out = run_in(dir.path(), "tap-oracle", &config, &["--discover"], b"");
    let catalog: Json = serde_json::from_slice(&out.stdout).unwrap();
    for stream in catalog["streams"].as_array().unwrap() {
        let id = stream["tap_stream_id"].as_str().unwrap();
        assert_eq!(
            stream["metadata"][0]["metadata"]["row-count"].as_u64(),
            Some(sample_rows(id).len() as u64),
            "{id}"
        );
    }
}
