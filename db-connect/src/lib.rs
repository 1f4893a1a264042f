//! Opening a database for either binary: the `driver` setting picks the real Oracle
//! backend (feature `oracle`, the default) or the simulated one (feature `sim`), and the
//! connection settings are declared here once for both binaries' settings tables.
//!
//! This crate is the wiring point between the engines and the backends. The engines
//! depend on `db-boundary`'s traits and on this crate's three items, never on a backend
//! crate, so no engine code can name a driver type: the boundary is a fact of the
//! dependency graph (and `scripts/test.sh` builds the binaries' libraries without the
//! `oracle` feature to prove it).

pub mod credentials;

use std::sync::Arc;

use db_boundary::{Backend, CheckReport, DbError, DbResult, SessionRole};
use serde_json::{Map, Value as Json};
use singer_cli::settings::{Setting, SettingKind};

/// The connection settings both binaries read, in the order `--about` and the README
/// list them. Defaults live here and nowhere else: `Config` applies them before a
/// backend sees the settings.
pub const CONNECTION_SETTINGS: &[Setting] = &[
    Setting::new("driver", SettingKind::Choice(&["oracle", "sim"]), Some("\"oracle\""),
        "Database backend: `oracle`, or `sim` (the simulated backend, only in builds with the `sim` feature)."),
    Setting::new("sim_path", SettingKind::String, None, "Folder of the simulated database (driver `sim`)."),
    Setting::new("host", SettingKind::String, None, "Oracle listener host (with `service_name` or `sid`)."),
    Setting::new("port", SettingKind::Integer { min: 1, max: 65_535 }, Some("1521"), "Oracle listener port."),
    Setting::new("service_name", SettingKind::String, None, "Service name to connect to."),
    Setting::new("sid", SettingKind::String, None, "SID to connect to (instead of `service_name`)."),
    Setting::secret("dsn", "Full easy-connect string, TNS descriptor, or TNS alias (with `tns_admin`); replaces host/port/service. May embed a password (`user/password@host/service`)."),
    Setting::new("tns_admin", SettingKind::String, None, "Folder holding tnsnames.ora and sqlnet.ora."),
    Setting::new("user", SettingKind::String, None, "Database user (required with driver `oracle`)."),
    Setting::secret("password", "Database password."),
    Setting::new("wallet_location", SettingKind::String, None, "Oracle wallet folder (switches to TCPS)."),
    Setting::secret("wallet_password", "Not used: the Oracle Client opens only auto-login wallets (`cwallet.sso`), without a password; a warning says so when it is set."),
    Setting::new("password_file", SettingKind::String, None, "File holding the database password instead of `password` (read once, trailing newline trimmed; a warning when group- or world-readable)."),
    Setting::new("external_auth", SettingKind::Boolean, Some("false"), "Log in with the credentials an Oracle wallet holds for the `dsn` TNS alias (Secure External Password Store): no `user` or `password`; `tns_admin`'s sqlnet.ora names the wallet."),
    Setting::new("connect_timeout", SettingKind::Integer { min: 1, max: 3_600 }, Some("10"), "Connect timeout in seconds."),
    Setting::new("call_timeout_seconds", SettingKind::Integer { min: 0, max: 86_400 }, Some("3600"), "Longest single database round trip in seconds (0: no limit): a statement blocked on another session's lock, or a server that stopped answering, fails the run instead of hanging it."),
    Setting::new("expire_time_minutes", SettingKind::Integer { min: 0, max: 1_440 }, Some("1"), "Minutes between probes of an idle connection (EXPIRE_TIME in the descriptor built from `host`; put `(EXPIRE_TIME=n)` or `?expire_time=n` in your own `dsn`), so a dead peer or a firewall that dropped the session is noticed (0: none)."),
    Setting::new("max_connections", SettingKind::Integer { min: 1, max: 1_024 }, Some("4"), "Connection pool size (the tap: at least `max_parallel_streams`)."),
];

/// Opens the backend the `driver` setting of `settings` (a checked config, defaults
/// applied) names, for the binary `role`.
pub fn open_backend(settings: &Map<String, Json>, role: SessionRole) -> DbResult<Arc<dyn Backend>> {
    open_with_credentials(settings, role).map(|(backend, _)| backend)
}

/// Resolves the credentials (see [`credentials`]), logs their source (never the value),
/// and opens the backend.
fn open_with_credentials(
    settings: &Map<String, Json>,
    role: SessionRole,
) -> DbResult<(Arc<dyn Backend>, credentials::CredentialSource)> {
    let mut settings = settings.clone();
    let source = credentials::resolve(&mut settings, role, |var| std::env::var(var).ok())?;
    tracing::info!(credentials = %source, "credentials");
    Ok((open_driver(&settings, role)?, source))
}

fn open_driver(settings: &Map<String, Json>, role: SessionRole) -> DbResult<Arc<dyn Backend>> {
    match settings
        .get("driver")
        .and_then(Json::as_str)
        .unwrap_or("oracle")
    {
        "sim" => open_sim(settings, role),
        _ => open_oracle(settings, role),
    }
}

/// `--test`: opens the backend and reports what it found and which credential source
/// it used (never a secret).
pub fn check_connection(settings: &Map<String, Json>, role: SessionRole) -> DbResult<CheckReport> {
    let (backend, source) = open_with_credentials(settings, role)?;
    let mut report = backend.check()?;
    report.credentials = Some(source.to_string());
    Ok(report)
}

#[cfg(feature = "oracle")]
fn open_oracle(settings: &Map<String, Json>, role: SessionRole) -> DbResult<Arc<dyn Backend>> {
    let connect: oracle_backend::ConnectSettings =
        serde_json::from_value(Json::Object(settings.clone()))
            .map_err(|e| DbError::Config(format!("connection settings: {e}")))?;
    Ok(Arc::new(oracle_backend::OracleBackend::connect(
        &connect, role,
    )?))
}

#[cfg(not(feature = "oracle"))]
fn open_oracle(_settings: &Map<String, Json>, _role: SessionRole) -> DbResult<Arc<dyn Backend>> {
    Err(DbError::Config(
        "driver: `oracle` is only in builds with the `oracle` cargo feature (the default)".into(),
    ))
}

/// The simulated database at `sim_path`: the target creates it when missing, the tap
/// reads only an existing one (a typo in its path is an error, not an empty catalog).
#[cfg(feature = "sim")]
fn open_sim(settings: &Map<String, Json>, role: SessionRole) -> DbResult<Arc<dyn Backend>> {
    let path = settings
        .get("sim_path")
        .and_then(Json::as_str)
        .ok_or_else(|| DbError::Config("sim_path: required with driver sim".into()))?;
    let path = std::path::Path::new(path);
    Ok(Arc::new(match role {
        SessionRole::Tap => sim_backend::SimBackend::open_existing(path)?,
        SessionRole::Target => sim_backend::SimBackend::open(path)?,
    }))
}

#[cfg(not(feature = "sim"))]
fn open_sim(_settings: &Map<String, Json>, _role: SessionRole) -> DbResult<Arc<dyn Backend>> {
    Err(DbError::Config(
        "driver: `sim` (the simulated backend) is only in builds with the `sim` cargo feature"
            .into(),
    ))
}
