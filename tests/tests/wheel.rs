//! The Python wheel of `tap-oracle` (maturin, `bindings = "bin"`): built once by
//! `scripts/build-wheels.sh tap-oracle` (or taken from `dist/` when already there),
//! installed with pip into a fresh venv in a temp dir, and run from that venv
//! (`tap-oracle --about --format json`), as a meltano.yml `pip_url` install would.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value as Json;
use test_support::{describe, repo_root, run_ok};

/// The tap's wheel of this version in `dist/`, built first when none is there.
fn tap_wheel() -> PathBuf {
    let dist = repo_root().join("dist");
    let prefix = format!("tap_oracle-{}-", env!("CARGO_PKG_VERSION"));
    let find = || -> Option<PathBuf> {
        std::fs::read_dir(&dist)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
            })
    };
    if let Some(wheel) = find() {
        return wheel;
    }
    let out = Command::new(repo_root().join("scripts/build-wheels.sh"))
        .arg("tap-oracle")
        .current_dir(repo_root())
        .output()
        .expect("run scripts/build-wheels.sh");
    assert!(
        out.status.success(),
        "scripts/build-wheels.sh tap-oracle failed (needs python3 with venv and pip, and \
         PyPI for maturin): {}",
        describe(&out)
    );
    find().unwrap_or_else(|| panic!("no {prefix}*.whl in {} after the build", dist.display()))
}

#[test]
fn tap_wheel_installs_into_a_fresh_venv_and_runs_about() {
    let wheel = tap_wheel();
    let dir = tempfile::tempdir().expect("temp dir");
    let venv = dir.path().join("venv");
    let out = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .expect("python3 must be installed to test the wheel");
    assert!(out.status.success(), "python3 -m venv: {}", describe(&out));
    run_ok(
        Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--no-index",
                "--disable-pip-version-check",
            ])
            .arg(&wheel),
    );

    // pip put the executable in the venv's bin, as a console script would be.
    let tap = venv.join("bin/tap-oracle");
    assert!(
        tap.is_file(),
        "{} not installed from {}",
        tap.display(),
        wheel.display()
    );
    let out = run_ok(Command::new(&tap).args(["--about", "--format", "json"]));
    let about: Json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("--about --format json: {e}: {}", describe(&out)));
    assert_eq!(about["name"], "tap-oracle", "{about}");
    assert_eq!(about["version"], env!("CARGO_PKG_VERSION"), "{about}");
    let capabilities = about["capabilities"].as_array().expect("capabilities");
    for capability in ["catalog", "discover", "state", "about"] {
        assert!(
            capabilities.iter().any(|c| c == capability),
            "{capability} missing: {about}"
        );
    }
    assert!(
        about["settings"]["properties"]["password"]["secret"] == true,
        "{about}"
    );

    // pip knows the package by the name a meltano.yml `pip_url` would use.
    let out = run_ok(Command::new(venv.join("bin/pip")).args(["show", "tap-oracle"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );

    // The wheel's build has no simulated backend: `driver: sim` is refused with a reason.
    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"driver": "sim", "sim_path": "db"}"#).expect("config");
    let out = Command::new(&tap)
        .arg("--config")
        .arg(&config)
        .arg("--discover")
        .output()
        .expect("run the installed tap");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}
