//! Where the contract suite gets its databases: a fresh simulated backend per test, or
//! one real Oracle per test binary (an existing instance named by `ORACLE_TEST_DSN`, else
//! a `gvenzl/oracle-free:23-slim-faststart` container started through testcontainers).
//!
//! Real-Oracle tests never pass by default: when neither Docker nor `ORACLE_TEST_DSN`
//! is there, [`oracle`] panics with the reason.

#[allow(dead_code)] // used by the fidelity and read suites, not by every test binary
pub mod tables;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use db_boundary::{Backend, SessionRole, TableName};
use serde_json::{Map, Value as Json};
use sim_backend::SimBackend;
use singer_cli::settings::Config;

/// Generates every contract test twice: `sim::<name>` runs always against a fresh
/// simulated backend; `oracle::<name>` is ignored unless asked for with `--ignored`,
/// and then runs against real Oracle (or fails saying why it cannot).
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod sim {
            $(
                #[test]
                fn $name() {
                    super::$name(&crate::harness::sim());
                }
            )*
        }
        mod oracle {
            $(
                #[test]
                #[ignore = "needs Docker or ORACLE_TEST_DSN: real-Oracle contract test (run with --ignored)"]
                fn $name() {
                    super::$name(&crate::harness::oracle());
                }
            )*
        }
    };
}

/// One database for one test.
pub struct Db {
    pub backend: std::sync::Arc<dyn Backend>,
    /// The session's current schema, where the test's tables live.
    pub schema: String,
    /// Makes table names unique per test on a shared Oracle; empty on the simulated
    /// backend, whose store is private to the test.
    prefix: String,
    /// The simulated store, to configure its redo as a DBA configures Oracle's.
    sim: Option<SimBackend>,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    /// A table name unique to this test: `name` behind the test's prefix.
    pub fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The table `name` (already unique) in the test schema.
    pub fn table(&self, name: &str) -> TableName {
        TableName {
            schema: Some(self.schema.clone()),
            name: name.to_owned(),
        }
    }

    /// Makes the database ready for LogMiner: on the simulated backend, ARCHIVELOG and
    /// all-column supplemental logging; on Oracle, checks the DBA did the same (the CI
    /// workflow does, as `.github/workflows/ci.yml` shows) and says what is missing.
    pub fn prepare_log_mining(&self) {
        if let Some(sim) = &self.sim {
            sim.set_archivelog(true).expect("ARCHIVELOG");
            sim.set_supplemental_logging(true, true)
                .expect("supplemental logging");
            return;
        }
        let facts = self
            .backend
            .source()
            .and_then(|mut s| s.log_mining_facts())
            .unwrap_or_else(|e| panic!("LogMiner readiness cannot be read: {e}"));
        let missing: Vec<String> = facts
            .checks()
            .into_iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{} ({})", c.what, c.fix.unwrap_or_default()))
            .collect();
        assert!(
            missing.is_empty(),
            "the Oracle test database is not ready for LogMiner: {}",
            missing.join("; ")
        );
    }

    /// How many bytes of an identifier the prefix uses.
    pub fn prefix_len(&self) -> usize {
        self.prefix.len()
    }
}

/// A fresh simulated database in its own temporary folder.
pub fn sim() -> Db {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let backend = SimBackend::open(dir.path()).expect("the simulated backend opens");
    let schema = backend.options().user.clone();
    Db {
        backend: std::sync::Arc::new(backend.clone()),
        schema,
        prefix: String::new(),
        sim: Some(backend.clone()),
        _dir: Some(dir),
    }
}

/// The real Oracle this test binary uses (started once), with a fresh table prefix.
pub fn oracle() -> Db {
    let settings = oracle_connection_settings();
    let backend = db_connect::open_backend(settings, SessionRole::Target)
        .unwrap_or_else(|e| panic!("real-Oracle contract test cannot connect: {e}"));
    let schema = settings["user"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_uppercase();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let run = std::process::id() % 10_000;
    let prefix = format!("C{run}_{}_", NEXT.fetch_add(1, Ordering::Relaxed));
    Db {
        backend,
        schema,
        prefix,
        sim: None,
        _dir: None,
    }
}

/// The connection settings of the real Oracle this test binary uses (started once).
pub fn oracle_connection_settings() -> &'static Map<String, Json> {
    static SETTINGS: OnceLock<Result<Map<String, Json>, String>> = OnceLock::new();
    match SETTINGS.get_or_init(oracle_settings) {
        Ok(settings) => settings,
        Err(reason) => panic!("real-Oracle contract test cannot run: {reason}"),
    }
}

/// Settings for an existing Oracle (`ORACLE_TEST_DSN`, `ORACLE_TEST_USER`,
/// `ORACLE_TEST_PASSWORD`) or for a container started now and left to Docker's clean-up
/// when the binary exits.
fn oracle_settings() -> Result<Map<String, Json>, String> {
    let (dsn, user, password) = match std::env::var("ORACLE_TEST_DSN") {
        Ok(dsn) => (
            dsn,
            std::env::var("ORACLE_TEST_USER").unwrap_or_else(|_| "test".to_owned()),
            std::env::var("ORACLE_TEST_PASSWORD").unwrap_or_else(|_| "test".to_owned()),
        ),
        Err(_) => (start_container()?, "test".to_owned(), "test".to_owned()),
    };
    let json = serde_json::json!({ "dsn": dsn, "user": user, "password": password });
    let map = json.as_object().cloned().unwrap_or_default();
    // The connection settings table's defaults, applied as either binary applies them.
    Config::from_map(
        map,
        "ORACLE_TEST_",
        std::iter::empty(),
        db_connect::CONNECTION_SETTINGS,
    )
    .map(|config| config.as_map().clone())
    .map_err(|e| format!("connection settings: {e}"))
}

fn start_container() -> Result<String, String> {
    use testcontainers_modules::oracle::free::Oracle;
    use testcontainers_modules::testcontainers::runners::SyncRunner;
    use testcontainers_modules::testcontainers::ImageExt;

    let container = Oracle::default()
        .with_startup_timeout(Duration::from_secs(600))
        .start()
        .map_err(|e| {
            format!("needs Docker or ORACLE_TEST_DSN (could not start gvenzl/oracle-free: {e})")
        })?;
    prepare_log_mining(&container)?;
    let host = container.get_host().map_err(|e| e.to_string())?;
    let port = container
        .get_host_port_ipv4(1521)
        .map_err(|e| e.to_string())?;
    // The container must outlive every test of this binary; statics are never dropped,
    // so keep it by leaking the handle (Docker removes it with the test run's clean-up).
    std::mem::forget(container);
    Ok(format!("//{host}:{port}/FREEPDB1"))
}

/// What a DBA runs once so LogMiner works in the container's FREEPDB1 (the CI workflow
/// runs the same statements against its Oracle service; `tap-oracle --test` lists each).
const LOG_MINING_SETUP: &str = "SHUTDOWN IMMEDIATE
STARTUP MOUNT
ALTER DATABASE ARCHIVELOG;
ALTER DATABASE OPEN;
ALTER PLUGGABLE DATABASE ALL OPEN;
WHENEVER SQLERROR EXIT FAILURE
ALTER DATABASE ADD SUPPLEMENTAL LOG DATA;
ALTER DATABASE ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS;
ALTER SESSION SET CONTAINER = FREEPDB1;
GRANT LOGMINING, SELECT ANY TRANSACTION, EXECUTE_CATALOG_ROLE, SELECT_CATALOG_ROLE TO test;
EXIT";

fn prepare_log_mining(
    container: &testcontainers_modules::testcontainers::Container<
        testcontainers_modules::oracle::free::Oracle,
    >,
) -> Result<(), String> {
    use testcontainers_modules::testcontainers::core::ExecCommand;
    let script = format!("sqlplus -s / as sysdba <<'SQL'\n{LOG_MINING_SETUP}\nSQL\n");
    let mut result = container
        .exec(ExecCommand::new(["bash", "-lc", script.as_str()]))
        .map_err(|e| format!("LogMiner set-up in the container: {e}"))?;
    let output = result.stdout_to_vec().unwrap_or_default();
    match result.exit_code() {
        Ok(Some(0)) => Ok(()),
        other => Err(format!(
            "LogMiner set-up in the container failed ({other:?}): {}",
            String::from_utf8_lossy(&output)
        )),
    }
}
