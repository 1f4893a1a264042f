//! The real side of the database boundary: Oracle through the `oracle` crate (ODPI-C,
//! which loads the Oracle Client library at run time), an r2d2 pool, and every SQL text
//! the project sends.
//!
//! - `settings`: connection settings, the connect string, secret redaction.
//! - `error`: ORA-/DPI- codes to errors a user can act on.
//! - [`sql`]: every statement, pure and snapshot-tested (public for its snapshots'
//!   readers and the contract suite; it holds no driver type).
//! - [`read_sql`]: the tap's reads as plans (SQL text, bind plan, fetch plan), pure and
//!   snapshot-tested; `read` executes them.
//! - [`logminer_sql`]: every LOG_BASED (LogMiner) statement with its bind plan (public
//!   like `sql`).
//! - `mined_value`: LogMiner's MINE_VALUE text back into values.
//! - `mining`: LOG_BASED on a session, executing the `logminer_sql` plans.
//! - `value`: driver values to and from [`db_boundary::Value`].
//! - `session`: one pooled connection implementing `Source` and `Sink`.
//!
//! This is the only crate that depends on `oracle`, and it exports no driver type:
//! [`OracleBackend`] (a [`Backend`]), its [`ConnectSettings`] and [`redact_dsn`]. Only
//! `db-connect` depends on it, so the engines cannot reach the driver.

mod error;
pub mod logminer_sql;
mod mined_value;
mod mining;
mod read;
pub mod read_sql;
mod session;
mod settings;
pub mod sql;
mod value;

use std::sync::{Arc, OnceLock};

use db_boundary::{Backend, CheckReport, DbError, DbResult, SessionRole, Sink, Source};

use error::Operation;
pub use settings::{redact_dsn, ConnectSettings};

use session::OracleSession;

/// Loads the Oracle Client library once, before any pool exists, so a missing library
/// is reported at once instead of after a pool's connection timeout.
fn check_client_library(tns_admin: Option<&str>) -> DbResult<String> {
    static RESULT: OnceLock<Result<String, (Option<i32>, String)>> = OnceLock::new();
    let result = RESULT.get_or_init(|| {
        let mut params = oracle::InitParams::new();
        if let Some(dir) = tns_admin {
            if let Err(e) = params.oracle_client_config_dir(dir) {
                return Err((e.dpi_code(), e.to_string()));
            }
        }
        params.init().map_err(|e| (e.dpi_code(), e.to_string()))?;
        oracle::Version::client()
            .map(|v| v.to_string())
            .map_err(|e| (e.dpi_code(), e.to_string()))
    });
    match result {
        Ok(version) => Ok(version.clone()),
        Err((dpi, message)) => Err(error::classify(None, *dpi, message, "", Operation::Connect)),
    }
}

/// Opens connections for the pool, each set up the same way.
struct Manager {
    settings: Arc<ConnectSettings>,
    connect_string: String,
    role: SessionRole,
}

/// r2d2 needs an `Error + 'static`; this carries the already translated error.
#[derive(Debug)]
struct PoolError(DbError);

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for PoolError {}

impl Manager {
    fn open(&self) -> DbResult<oracle::Connection> {
        let target = self.settings.target_for_messages();
        let (user, password, external) = self.settings.login();
        let mut connector = oracle::Connector::new(user, password, self.connect_string.as_str());
        connector.driver_name(self.role.module());
        connector.external_auth(external);
        let conn = connector
            .connect()
            .map_err(|e| error::from_oracle(&e, &target, Operation::Connect))?;
        conn.set_call_timeout(self.settings.call_timeout())
            .map_err(|e| error::from_oracle(&e, &target, Operation::Connect))?;
        session::set_up(&conn, self.role)
            .map_err(|e| error::from_oracle(&e, &target, Operation::Connect))?;
        Ok(conn)
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = oracle::Connection;
    type Error = PoolError;

    fn connect(&self) -> Result<oracle::Connection, PoolError> {
        self.open().map_err(PoolError)
    }

    fn is_valid(&self, conn: &mut oracle::Connection) -> Result<(), PoolError> {
        conn.ping()
            .map_err(|e| PoolError(error::from_oracle(&e, "", Operation::Other)))
    }

    fn has_broken(&self, _conn: &mut oracle::Connection) -> bool {
        false
    }
}

/// A pool of Oracle sessions.
pub struct OracleBackend {
    pool: r2d2::Pool<Manager>,
    settings: Arc<ConnectSettings>,
    role: SessionRole,
}

impl OracleBackend {
    /// Checks the client library, opens one session to surface connection errors
    /// plainly, then builds the pool.
    pub fn connect(settings: &ConnectSettings, role: SessionRole) -> DbResult<OracleBackend> {
        let connect_string = settings.connect_string()?;
        if let Some(warning) = settings.check_wallet()? {
            tracing::warn!("{warning}");
        }
        check_client_library(settings.tns_admin.as_deref())?;
        let settings = Arc::new(settings.clone());
        let manager = Manager {
            settings: settings.clone(),
            connect_string,
            role,
        };
        let first = manager.open()?;
        let pool = r2d2::Pool::builder()
            .max_size(settings.max_connections.max(1))
            .min_idle(Some(0))
            .connection_timeout(settings.connect_timeout() * 2)
            .build_unchecked(manager);
        drop(first);
        tracing::info!(target = %settings.target_for_messages(), user = %settings.user, external_auth = settings.external_auth, "connected to Oracle");
        Ok(OracleBackend {
            pool,
            settings,
            role,
        })
    }

    fn session(&self) -> DbResult<OracleSession> {
        let conn = self.pool.get().map_err(|e| DbError::Unreachable {
            target: self.settings.target_for_messages(),
            reason: e.to_string(),
        })?;
        Ok(OracleSession::new(conn, self.settings.clone()))
    }

    /// Server version, limits and the privileges that matter, for `--test`.
    fn report(&self) -> DbResult<CheckReport> {
        let mut session = self.session()?;
        let server = Source::server_info(&mut session)?;
        let held = session.session_privileges()?;
        Ok(CheckReport {
            client_version: Some(check_client_library(self.settings.tns_admin.as_deref())?),
            server,
            privileges: db_boundary::PRIVILEGES_THAT_MATTER
                .iter()
                .map(|p| (p.to_string(), held.iter().any(|h| h == p)))
                .collect(),
            credentials: None,
            log_mining: match self.role {
                SessionRole::Tap => match Source::log_mining_facts(&mut session) {
                    Ok(facts) => Some(facts),
                    Err(e) => {
                        tracing::warn!(error = %e, "what LOG_BASED needs could not be read");
                        None
                    }
                },
                SessionRole::Target => None,
            },
        })
    }
}

impl Backend for OracleBackend {
    fn check(&self) -> DbResult<CheckReport> {
        self.report()
    }

    fn source(&self) -> DbResult<Box<dyn Source + Send>> {
        Ok(Box::new(self.session()?))
    }

    fn sink(&self) -> DbResult<Box<dyn Sink + Send>> {
        Ok(Box::new(self.session()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine has no Oracle Client: connecting must say so plainly, at once.
    #[test]
    fn a_missing_client_library_is_reported_plainly_and_promptly() {
        if std::env::var_os("ORACLE_TEST_DSN").is_some() {
            return; // a machine with a client and a database: nothing to check here
        }
        let settings = settings::tests::settings(serde_json::json!({
            "host": "127.0.0.1", "port": 1, "service_name": "NONE", "user": "u", "password": "secret-pw"
        }));
        let start = std::time::Instant::now();
        let result = OracleBackend::connect(&settings, SessionRole::Tap);
        let elapsed = start.elapsed();
        let error = match result {
            Err(e) => e,
            Ok(_) => panic!("connected to 127.0.0.1:1?"),
        };
        let text = error.to_string();
        // With a client installed the failure is the unreachable listener instead.
        match error {
            DbError::ClientLibraryMissing => {
                assert!(
                    text.contains("Instant Client") && text.contains("LD_LIBRARY_PATH"),
                    "{text}"
                );
            }
            DbError::Unreachable { .. } => {}
            other => panic!("unexpected error: {other:?}"),
        }
        assert!(!text.contains("secret-pw"));
        assert!(
            elapsed < std::time::Duration::from_secs(5),
            "took {elapsed:?}"
        );
    }
}
