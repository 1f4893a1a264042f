//! Where the database credentials come from, so no password needs to sit in a config
//! file or a Meltano project: `password` (a config file or the environment variable
//! `TAP_ORACLE_PASSWORD` / `TARGET_ORACLE_PASSWORD`), `password_file` (read once here,
//! trailing newline trimmed, a warning when group- or world-readable), or
//! `external_auth` (an Oracle wallet's Secure External Password Store: no user or
//! password, the wallet holds them for the `dsn` alias).
//!
//! [`resolve`] puts the password read from a file into the settings handed to the
//! backend and says which source was used; the source is reported by `--test` and
//! logged, the value never is.

use std::fmt;
use std::path::{Path, PathBuf};

use db_boundary::{DbError, DbResult, SessionRole};
use serde_json::{Map, Value as Json};

/// Which source the credentials came from (never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `password` from a `--config` file.
    ConfigPassword,
    /// `password` from this environment variable.
    Environment(String),
    /// The contents of `password_file`.
    PasswordFile(PathBuf),
    /// `external_auth`: the wallet's credentials for the connect string.
    ExternalAuth,
    /// No password set.
    None,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::ConfigPassword => f.write_str("password from the config (`password`)"),
            CredentialSource::Environment(var) => write!(f, "password from the environment ({var})"),
            CredentialSource::PasswordFile(path) => {
                write!(f, "password from password_file {}", path.display())
            }
            CredentialSource::ExternalAuth => f.write_str(
                "external authentication (the wallet's credentials for the connect string; no user or password)",
            ),
            CredentialSource::None => f.write_str("no password set"),
        }
    }
}

fn env_prefix(role: SessionRole) -> &'static str {
    match role {
        SessionRole::Tap => "TAP_ORACLE_",
        SessionRole::Target => "TARGET_ORACLE_",
    }
}

fn non_empty<'a>(settings: &'a Map<String, Json>, name: &str) -> Option<&'a str> {
    settings
        .get(name)
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
}

/// Checks the credential settings, reads `password_file` into `password`, and says
/// which source is used. `env` looks up an environment variable (to tell a password
/// set by `<PREFIX>PASSWORD` from one in a config file).
pub fn resolve(
    settings: &mut Map<String, Json>,
    role: SessionRole,
    env: impl Fn(&str) -> Option<String>,
) -> DbResult<CredentialSource> {
    let password = non_empty(settings, "password").map(str::to_owned);
    let password_file = non_empty(settings, "password_file").map(PathBuf::from);
    let external = settings.get("external_auth").and_then(Json::as_bool) == Some(true);
    if external {
        let set: Vec<&str> = ["user", "password", "password_file"]
            .into_iter()
            .filter(|name| non_empty(settings, name).is_some())
            .collect();
        if !set.is_empty() {
            return Err(DbError::Config(format!(
                "external_auth logs in with the wallet's credentials: remove {}",
                set.join(", ")
            )));
        }
        return Ok(CredentialSource::ExternalAuth);
    }
    match (password, password_file) {
        (Some(_), Some(_)) => Err(DbError::Config(
            "set `password` or `password_file`, not both".into(),
        )),
        (None, Some(path)) => {
            let secret = read_password_file(&path)?;
            settings.insert("password".into(), Json::String(secret));
            Ok(CredentialSource::PasswordFile(path))
        }
        (Some(value), None) => {
            let var = format!("{}PASSWORD", env_prefix(role));
            Ok(match env(&var) {
                Some(from_env) if from_env == value => CredentialSource::Environment(var),
                _ => CredentialSource::ConfigPassword,
            })
        }
        (None, None) => Ok(CredentialSource::None),
    }
}

/// The password in `path`: read once, one trailing line break (`\n` or `\r\n`) removed.
/// A file others can read is used, with a warning naming the fix.
fn read_password_file(path: &Path) -> DbResult<String> {
    let unreadable = |why: String| {
        DbError::Config(format!(
            "password_file {}: cannot read it: {why}",
            path.display()
        ))
    };
    let metadata = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?;
    warn_when_others_can_read(path, &metadata);
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.kind().to_string()))?;
    let password = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if password.is_empty() {
        return Err(DbError::Config(format!(
            "password_file {}: the file is empty",
            path.display()
        )));
    }
    Ok(password.to_owned())
}

#[cfg(unix)]
fn warn_when_others_can_read(path: &Path, metadata: &std::fs::Metadata) {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = %format!("{mode:04o}"),
            "password_file can be read by group or others: chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_when_others_can_read(_path: &Path, _metadata: &std::fs::Metadata) {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Json) -> Map<String, Json> {
        value.as_object().unwrap().clone()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_password_file_is_read_and_its_trailing_newline_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cr et\r\n").unwrap();
        let mut settings = map(json!({"user": "u", "password_file": path}));
        let source = resolve(&mut settings, SessionRole::Tap, no_env).unwrap();
        assert_eq!(source, CredentialSource::PasswordFile(path.clone()));
        assert_eq!(settings["password"], "s3cr et");
        assert!(!source.to_string().contains("s3cr"));
        std::fs::write(&path, "two\n\n").unwrap();
        let mut settings = map(json!({"password_file": path}));
        resolve(&mut settings, SessionRole::Tap, no_env).unwrap();
        assert_eq!(
            settings["password"], "two\n",
            "only one line break is trimmed"
        );
    }

    #[test]
    fn the_environment_is_told_from_the_config_file() {
        let mut settings = map(json!({"user": "u", "password": "pw"}));
        let env = |var: &str| (var == "TARGET_ORACLE_PASSWORD").then(|| "pw".to_owned());
        assert_eq!(
            resolve(&mut settings.clone(), SessionRole::Target, env).unwrap(),
            CredentialSource::Environment("TARGET_ORACLE_PASSWORD".into())
        );
        assert_eq!(
            resolve(&mut settings, SessionRole::Tap, env).unwrap(),
            CredentialSource::ConfigPassword
        );
    }

    #[test]
    fn conflicting_sources_are_refused_without_values() {
        let mut settings = map(json!({"password": "hunter2", "password_file": "/x"}));
        let err = resolve(&mut settings, SessionRole::Tap, no_env).unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
        let mut settings =
            map(json!({"external_auth": true, "user": "scott", "password": "hunter2"}));
        let err = resolve(&mut settings, SessionRole::Tap, no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("remove user, password") && !err.contains("hunter2"),
            "{err}"
        );
        let mut settings = map(json!({"external_auth": true, "dsn": "PROD_ALIAS"}));
        assert_eq!(
            resolve(&mut settings, SessionRole::Tap, no_env).unwrap(),
            CredentialSource::ExternalAuth
        );
    }

    #[test]
    fn a_missing_or_empty_file_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = map(json!({"password_file": dir.path().join("none")}));
        let err = resolve(&mut settings, SessionRole::Tap, no_env).unwrap_err();
        assert!(matches!(err, DbError::Config(_)) && err.to_string().contains("cannot read"));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let mut settings = map(json!({"password_file": empty}));
        let err = resolve(&mut settings, SessionRole::Tap, no_env).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }
}
