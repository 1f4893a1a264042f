//! Meltano selection and secrets end to end, beside the broader Meltano tests in
//! `meltano.rs` and the SDK peer tests in `sdk_peer.rs`: a `meltano select --exclude`
//! rule reaches tap-oracle through the catalog Meltano writes (the excluded property is
//! absent from every record, keys stay), and a `password` setting given through
//! `TAP_ORACLE_PASSWORD` is listed by `meltano config list` as redacted, never in clear.
//! Needs the pinned peers (scripts/install-peers.sh); a missing one fails the test.

use e2e::{parse_json_lines, run_ok, sample_rows, MeltanoProject};
use serde_json::Value as Json;

#[test]
fn meltano_select_exclusion_reaches_the_tap_and_the_password_stays_redacted() {
    let project = MeltanoProject::new();
    // Deselect one property, then list: Meltano reads the tap's catalog and applies it.
    // `meltano --environment sim select` writes the environment's own `select` list,
    // which replaces the plugin's `HR-*.*`: include the streams there too.
    project.run(&["select", "tap-oracle", "HR-*", "*"]);
    project.run(&["select", "tap-oracle", "--exclude", "HR-EMPLOYEES", "EMAIL"]);
    let listed = project.run(&["select", "tap-oracle", "--list", "--all"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("HR-EMPLOYEES.EMPLOYEE_ID"), "{listed}");
    let email_line = listed
        .lines()
        .find(|l| l.contains("] HR-EMPLOYEES.EMAIL"))
        .unwrap_or_else(|| panic!("EMAIL not listed: {listed}"));
    assert!(email_line.contains("excluded"), "{email_line}");

    // The tap receives the exclusion: EMAIL is absent from its records.
    let invoked = project.run(&["invoke", "tap-oracle"]);
    let records: Vec<Json> = parse_json_lines(&String::from_utf8_lossy(&invoked.stdout))
        .into_iter()
        .filter(|m| m["type"] == "RECORD" && m["stream"] == "HR-EMPLOYEES")
        .collect();
    assert_eq!(records.len(), sample_rows("HR-EMPLOYEES").len());
    assert!(records.iter().all(|r| r["record"].get("EMAIL").is_none()));
    assert!(records
        .iter()
        .all(|r| r["record"].get("EMPLOYEE_ID").is_some()));

    // Settings: the CLI form `meltano config list <plugin> --all` names every setting
    // with its TAP_ORACLE_* variable and the sim environment's values, and redacts the
    // sensitive password; `meltano config print <plugin>` prints the resolved config.
    let list = run_ok(
        project
            .command(&["config", "list", "tap-oracle", "--all"])
            .env("TAP_ORACLE_PASSWORD", "s3cret-value"),
    );
    let list = String::from_utf8_lossy(&list.stdout);
    for setting in ["driver", "sim_path", "host", "user", "filter_schemas"] {
        let variable = format!("{setting} [env: TAP_ORACLE_{}]", setting.to_uppercase());
        assert!(list.contains(&variable), "{variable} not in:\n{list}");
    }
    assert!(
        list.contains("driver [env: TAP_ORACLE_DRIVER] current value: 'sim'"),
        "{list}"
    );
    assert!(
        !list.contains("s3cret-value"),
        "the password leaked:\n{list}"
    );
    assert!(
        list.contains("password [env: TAP_ORACLE_PASSWORD] current value: (redacted)"),
        "{list}"
    );
    let config = project.run(&["config", "print", "tap-oracle"]);
    let config: Json = serde_json::from_slice(&config.stdout).expect("config JSON");
    assert_eq!(config["driver"], "sim");
}
