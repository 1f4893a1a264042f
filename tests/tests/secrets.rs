//! No secret reaches any output (issue 12 item 5): every mode of both binaries
//! (`--about`, `--test`, `--discover`, a sync, a target load, a configuration error,
//! a connection failure on driver `oracle`), at every log level including `trace`, as
//! text and as `--log-format json`, with known passwords in every secret-bearing place:
//! `password`, `wallet_password`, a `dsn` with a quoted password holding `@` and `/`,
//! the environment (`TAP_ORACLE_DSN`, `TARGET_ORACLE_PASSWORD`, ...), a misspelled
//! key (`passwrod`) and a group-readable `password_file` (issue 15). All stdout and stderr of every run is searched for each password
//! and for each of its parts.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value as Json};
use test_support::{bin, describe, sample_dir};

/// Every password used below; each is made of parts of 6+ characters that occur
/// nowhere else, so a part leaking alone is found too.
const PASSWORD: &str = "Pqx71Lmd-Ruv38Kze";
const WALLET_PASSWORD: &str = "Wlt55Hgq-Nbo92Vcy";
const DSN_PASSWORD: &str = "Dsq40Jtx@Yko17Fam/Qsn63Wuh";
const MISSPELT_PASSWORD: &str = "Mzp28Crb-Tgi74Kwe";
const ENV_PASSWORD: &str = "Enx39Bvd-Hqa81Lzo";
const ENV_DSN_PASSWORD: &str = "Edw62Rkp@Uvs05Nmj";
const NUMERIC_PASSWORD: i64 = 918_273_645_501;
const FILE_PASSWORD: &str = "Fpw47Xcq-Lre90Sbn";

fn needles() -> Vec<String> {
    let mut needles = vec![NUMERIC_PASSWORD.to_string()];
    for secret in [
        PASSWORD,
        WALLET_PASSWORD,
        DSN_PASSWORD,
        MISSPELT_PASSWORD,
        ENV_PASSWORD,
        ENV_DSN_PASSWORD,
        FILE_PASSWORD,
    ] {
        needles.push(secret.to_owned());
        needles.extend(
            secret
                .split(|c: char| !c.is_ascii_alphanumeric())
                .map(str::to_owned),
        );
    }
    needles
}

fn dsn_with(password: &str) -> String {
    format!("scott/\"{password}\"@dbhost:1521/FREEPDB1")
}

/// The secrets of a config file (the environment's are set per run).
fn secrets_in_file() -> Json {
    json!({
        "password": PASSWORD,
        "wallet_password": WALLET_PASSWORD,
        "dsn": dsn_with(DSN_PASSWORD),
        "passwrod": MISSPELT_PASSWORD,
    })
}

fn env_secrets() -> Vec<(&'static str, String)> {
    vec![
        ("TAP_ORACLE_PASSWORD", ENV_PASSWORD.to_owned()),
        ("TAP_ORACLE_DSN", dsn_with(ENV_DSN_PASSWORD)),
        ("TAP_ORACLE_PASSWROD", ENV_PASSWORD.to_owned()),
        ("TARGET_ORACLE_PASSWORD", ENV_PASSWORD.to_owned()),
        ("TARGET_ORACLE_DSN", dsn_with(ENV_DSN_PASSWORD)),
        ("TARGET_ORACLE_WALLET_PASSWORD", ENV_PASSWORD.to_owned()),
    ]
}

/// `(flags, stdin)` of each mode of `binary`.
fn modes(binary: &str, dir: &Path, tap_output: &[u8]) -> Vec<(Vec<String>, Vec<u8>)> {
    let path = |name: &str| dir.join(name).display().to_string();
    let flags = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    match binary {
        "tap-oracle" => vec![
            (flags(&["--about", "--format", "json"]), Vec::new()),
            (flags(&["--about", "--format", "markdown"]), Vec::new()),
            (flags(&["--test"]), Vec::new()),
            (flags(&["--discover"]), Vec::new()),
            (
                vec![
                    "--catalog".into(),
                    path("catalog.json"),
                    "--state".into(),
                    path("state.json"),
                ],
                Vec::new(),
            ),
        ],
        _ => vec![
            (flags(&["--about"]), Vec::new()),
            (flags(&["--test"]), Vec::new()),
            (Vec::new(), tap_output.to_vec()),
        ],
    }
}

/// The log settings: the default, each level, and each as JSON lines.
fn log_settings() -> Vec<Vec<String>> {
    let mut out = vec![Vec::new(), vec!["--log-format".into(), "json".into()]];
    for level in ["error", "warn", "info", "debug", "trace"] {
        out.push(vec!["--log-level".into(), level.into()]);
        out.push(vec![
            "--log-level".into(),
            level.into(),
            "--log-format".into(),
            "json".into(),
        ]);
    }
    out
}

fn run(
    binary: &str,
    config: &Path,
    args: &[String],
    env: &[(&str, String)],
    stdin: &[u8],
) -> Output {
    let mut command = Command::new(bin(binary));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("SINGER_LOG_FORMAT")
        .env_remove("SINGER_SDK_LOG_CONFIG")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start the binary");
    let mut input = child.stdin.take().expect("stdin");
    // A mode that reads nothing may exit first: a broken pipe here is fine.
    let _ = std::io::Write::write_all(&mut input, stdin);
    drop(input);
    child.wait_with_output().expect("wait")
}

fn assert_no_secret(what: &str, output: &Output) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for needle in needles() {
        assert!(
            !text.contains(&needle),
            "{what}: `{needle}` leaked\n{}",
            describe(output)
        );
    }
}

/// A seeded source database, its catalog (every stream selected), an empty state, and
/// the tap's sync output to feed the target.
fn setup(dir: &Path) -> Vec<u8> {
    let backend = sim_backend::SimBackend::open(&dir.join("source")).expect("open");
    sim_backend::seed::seed_dir(&backend, &sample_dir()).expect("seed");
    let plain = dir.join("plain.json");
    std::fs::write(
        &plain,
        json!({"driver": "sim", "sim_path": dir.join("source")}).to_string(),
    )
    .unwrap();
    let discovered = run("tap-oracle", &plain, &["--discover".into()], &[], b"");
    assert!(discovered.status.success(), "{}", describe(&discovered));
    let mut catalog: Json = serde_json::from_slice(&discovered.stdout).expect("catalog");
    for stream in catalog["streams"].as_array_mut().expect("streams") {
        stream["metadata"][0]["metadata"]["selected"] = json!(true);
    }
    std::fs::write(dir.join("catalog.json"), catalog.to_string()).unwrap();
    std::fs::write(dir.join("state.json"), "").unwrap();
    let catalog = dir.join("catalog.json").display().to_string();
    let synced = run(
        "tap-oracle",
        &plain,
        &["--catalog".into(), catalog],
        &[],
        b"",
    );
    assert!(synced.status.success(), "{}", describe(&synced));
    synced.stdout
}

fn write_config(dir: &Path, name: &str, binary: &str, mut config: Json) -> std::path::PathBuf {
    let db = if binary == "tap-oracle" {
        "source"
    } else {
        "target"
    };
    if config["driver"] == "sim" {
        config["sim_path"] = json!(dir.join(db));
    }
    let path = dir.join(format!("{binary}-{name}.json"));
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// One way of giving the secrets: a config, an environment, and the exit codes a run
/// may end with.
struct Variant {
    name: &'static str,
    config: Json,
    env: Vec<(&'static str, String)>,
    codes: &'static [i32],
}

impl Variant {
    fn new(
        name: &'static str,
        config: Json,
        env: Vec<(&'static str, String)>,
        codes: &'static [i32],
    ) -> Variant {
        Variant {
            name,
            config,
            env,
            codes,
        }
    }
}

#[test]
fn no_password_appears_in_any_output_of_any_mode_or_log_level() {
    let dir = tempfile::tempdir().unwrap();
    let tap_output = setup(dir.path());
    let mut in_file = secrets_in_file();
    in_file["driver"] = json!("sim");
    let mut numeric = secrets_in_file();
    numeric["driver"] = json!("sim");
    numeric["password"] = json!(NUMERIC_PASSWORD);
    let mut oracle_dsn = secrets_in_file();
    oracle_dsn["driver"] = json!("oracle");
    oracle_dsn["user"] = json!("scott");
    // An auto-login wallet, so the run gets as far as the client library (and warns that
    // wallet_password is not used).
    let wallet = dir.path().join("wallet");
    std::fs::create_dir(&wallet).unwrap();
    std::fs::write(wallet.join("cwallet.sso"), b"sso").unwrap();
    let oracle_host = json!({"driver": "oracle", "host": "dbhost", "service_name": "FREEPDB1",
        "user": "scott", "password": PASSWORD, "wallet_password": WALLET_PASSWORD,
        "wallet_location": wallet, "passwrod": MISSPELT_PASSWORD});
    // Group-readable, so every run that connects also warns about the file.
    let password_file = dir.path().join("oracle.pw");
    std::fs::write(&password_file, format!("{FILE_PASSWORD}\n")).unwrap();
    std::fs::set_permissions(
        &password_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let from_file = json!({"driver": "sim", "password_file": password_file});
    let oracle_from_file = json!({"driver": "oracle", "host": "dbhost", "service_name": "FREEPDB1",
        "user": "scott", "password_file": password_file});
    let variants = [
        Variant::new("file", in_file, Vec::new(), &[0]),
        Variant::new("env", json!({"driver": "sim"}), env_secrets(), &[0]),
        Variant::new("bad-config", numeric, Vec::new(), &[0, 1]),
        Variant::new("oracle-dsn", oracle_dsn, Vec::new(), &[0, 2]),
        Variant::new("oracle-host", oracle_host, env_secrets(), &[0, 2]),
        Variant::new("password-file", from_file, Vec::new(), &[0]),
        Variant::new(
            "oracle-password-file",
            oracle_from_file,
            Vec::new(),
            &[0, 2],
        ),
    ];
    let mut runs = 0;
    for Variant {
        name,
        config,
        env,
        codes,
    } in &variants
    {
        for binary in ["tap-oracle", "target-oracle"] {
            let config_path = write_config(dir.path(), name, binary, config.clone());
            for (flags, stdin) in modes(binary, dir.path(), &tap_output) {
                for logging in log_settings() {
                    let args: Vec<String> = flags.iter().chain(&logging).cloned().collect();
                    let output = run(binary, &config_path, &args, env, &stdin);
                    let what = format!("{binary} {name} {args:?}");
                    let code = output.status.code().unwrap_or(-1);
                    assert!(codes.contains(&code), "{what}: {}", describe(&output));
                    assert_no_secret(&what, &output);
                    runs += 1;
                }
            }
        }
    }
    assert!(runs >= 5 * 8 * 12, "{runs} runs");
}
