//! Which database the tap reads: the `driver` setting opens the real Oracle backend
//! (`oracle-backend`) or, in builds with the `sim` feature, the simulated one; and the
//! `--test` connection check.

use std::sync::Arc;

use db_boundary::Backend;
use singer_core::settings::Config;

use crate::error::TapError;

/// Opens the backend the `driver` setting names.
pub fn open_backend(config: &Config) -> Result<Arc<dyn Backend>, TapError> {
    match config.get_str("driver").unwrap_or("oracle") {
        "sim" => open_sim(config),
        _ => {
            let settings: oracle_backend::ConnectSettings =
                serde_json::from_value(serde_json::Value::Object(config.as_map().clone()))
                    .map_err(|e| Config::error(vec![format!("connection settings: {e}")]))?;
            if settings.user.is_empty() {
                return Err(Config::error(vec!["user: required with driver oracle".into()]).into());
            }
            Ok(Arc::new(oracle_backend::OracleBackend::connect(
                &settings,
                oracle_backend::SessionRole::Tap,
            )?))
        }
    }
}

#[cfg(feature = "sim")]
fn open_sim(config: &Config) -> Result<Arc<dyn Backend>, TapError> {
    let path = config
        .get_str("sim_path")
        .ok_or_else(|| Config::error(vec!["sim_path: required with driver sim".into()]))?;
    Ok(Arc::new(db_boundary::sim::SimBackend::open(
        std::path::Path::new(path),
    )?))
}

#[cfg(not(feature = "sim"))]
fn open_sim(_config: &Config) -> Result<Arc<dyn Backend>, TapError> {
    Err(Config::error(vec![
        "driver: `sim` (the simulated backend) is only in builds with the `sim` cargo feature"
            .into(),
    ])
    .into())
}

pub(crate) fn test_connection(config: &Config) -> Result<String, TapError> {
    if config.get_str("driver") == Some("sim") {
        let backend = open_sim(config)?;
        let mut source = backend.source()?;
        let info = source.server_info()?;
        let mut report = format!("{} (user {})\n", info.version, info.user);
        if let Some(lines) = crate::log_based::readiness_report(source.as_mut())? {
            report.push_str(&lines);
        }
        return Ok(report);
    }
    let settings: oracle_backend::ConnectSettings =
        serde_json::from_value(serde_json::Value::Object(config.as_map().clone()))
            .map_err(|e| Config::error(vec![format!("connection settings: {e}")]))?;
    let backend =
        oracle_backend::OracleBackend::connect(&settings, oracle_backend::SessionRole::Tap)?;
    let mut report = backend.check()?.to_string();
    if let Some(lines) = crate::log_based::readiness_report(backend.source()?.as_mut())? {
        report.push_str(&lines);
    }
    Ok(report)
}
