//! Connection settings for Oracle, the connect string built from them, and redaction
//! so that no password ever reaches a message or a log.

use std::fmt;
use std::time::Duration;

use db_boundary::DbError;
use serde::Deserialize;

/// A secret value: never printed, only handed to the driver.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How to reach and log in to Oracle, deserialized from either binary's checked config.
/// The defaults are declared once, in `db-connect`'s settings table, and applied by the
/// config before this is built; a field with no default there is optional here.
#[derive(Clone, Deserialize)]
pub struct ConnectSettings {
    #[serde(default)]
    pub host: Option<String>,
    pub port: u16,
    #[serde(default)]
    pub service_name: Option<String>,
    #[serde(default)]
    pub sid: Option<String>,
    /// A full easy-connect string, a TNS descriptor, or a TNS alias (with `tns_admin`).
    #[serde(default)]
    pub dsn: Option<String>,
    #[serde(default)]
    pub tns_admin: Option<String>,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub password: Secret,
    #[serde(default)]
    pub wallet_location: Option<String>,
    #[serde(default)]
    pub wallet_password: Option<Secret>,
    pub connect_timeout: u64,
    pub max_connections: u32,
}

impl fmt::Debug for ConnectSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("service_name", &self.service_name)
            .field("sid", &self.sid)
            .field("dsn", &self.dsn.as_deref().map(redact_dsn))
            .field("tns_admin", &self.tns_admin)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("wallet_location", &self.wallet_location)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

/// Characters that would change a descriptor's structure if pasted into it.
fn check_descriptor_value(name: &str, value: &str) -> Result<(), DbError> {
    if value.is_empty()
        || value
            .chars()
            .any(|c| matches!(c, '(' | ')' | '=' | '\n' | '\r'))
    {
        return Err(DbError::Config(format!(
            "{name} must be non-empty and must not contain '(', ')', '=' or line breaks"
        )));
    }
    Ok(())
}

impl ConnectSettings {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout.max(1))
    }

    /// The connect string handed to the driver: `dsn` as given, else a TNS descriptor
    /// built from host/port and service_name or sid (with the connect timeout and,
    /// when a wallet is set, TCPS and the wallet directory).
    pub fn connect_string(&self) -> Result<String, DbError> {
        if self.user.is_empty() {
            return Err(DbError::Config("`user` is required".into()));
        }
        if let Some(dsn) = &self.dsn {
            return Ok(dsn.clone());
        }
        let host = self.host.as_deref().ok_or_else(|| {
            DbError::Config("set `host` with `service_name` or `sid`, or set `dsn`".into())
        })?;
        check_descriptor_value("host", host)?;
        let connect_data = match (&self.service_name, &self.sid) {
            (Some(service), None) => {
                check_descriptor_value("service_name", service)?;
                format!("(SERVICE_NAME={service})")
            }
            (None, Some(sid)) => {
                check_descriptor_value("sid", sid)?;
                format!("(SID={sid})")
            }
            (Some(_), Some(_)) => {
                return Err(DbError::Config(
                    "set `service_name` or `sid`, not both".into(),
                ))
            }
            (None, None) => {
                return Err(DbError::Config(
                    "`host` needs `service_name` or `sid`".into(),
                ))
            }
        };
        let (protocol, security) = match &self.wallet_location {
            Some(wallet) => {
                check_descriptor_value("wallet_location", wallet)?;
                ("TCPS", format!("(SECURITY=(MY_WALLET_DIRECTORY={wallet}))"))
            }
            None => ("TCP", String::new()),
        };
        Ok(format!(
            "(DESCRIPTION=(CONNECT_TIMEOUT={})(RETRY_COUNT=0)(ADDRESS=(PROTOCOL={protocol})(HOST={host})(PORT={}))(CONNECT_DATA={connect_data}){security})",
            self.connect_timeout.max(1),
            self.port
        ))
    }

    /// Where the connection goes, safe to print.
    pub fn target_for_messages(&self) -> String {
        match (&self.dsn, &self.host) {
            (Some(dsn), _) => redact_dsn(dsn),
            (None, Some(host)) => format!(
                "{host}:{}/{}",
                self.port,
                self.service_name
                    .as_deref()
                    .or(self.sid.as_deref())
                    .unwrap_or("")
            ),
            (None, None) => "(no host)".to_owned(),
        }
    }
}

/// A DSN with any embedded password removed: `user/password@host` and
/// `password=...` / `wallet_password=...` parameters.
pub fn redact_dsn(dsn: &str) -> String {
    let mut out = dsn.to_owned();
    if let Some(at) = out.find('@') {
        if let Some(slash) = out[..at].find('/') {
            if !out[..slash].contains(':') && !out[..slash].starts_with('/') {
                out.replace_range(slash + 1..at, "***");
            }
        }
    }
    let lower = out.to_ascii_lowercase();
    let mut redacted = String::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        let rest = &lower[i..];
        if rest.starts_with("password=") || rest.starts_with("wallet_password=") {
            let key_len = rest.find('=').unwrap_or(0) + 1;
            redacted.push_str(&out[i..i + key_len]);
            redacted.push_str("***");
            i += key_len;
            while i < out.len() && !matches!(out.as_bytes()[i], b'&' | b')' | b' ' | b';') {
                i += 1;
            }
        } else {
            let c = out[i..].chars().next().unwrap_or(' ');
            redacted.push(c);
            i += c.len_utf8();
        }
    }
    redacted
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Settings as a checked config hands them over: the table's defaults filled in.
    pub(crate) fn settings(json: serde_json::Value) -> ConnectSettings {
        let mut map =
            serde_json::json!({"port": 1521, "connect_timeout": 10, "max_connections": 4});
        map.as_object_mut()
            .unwrap()
            .extend(json.as_object().unwrap().clone());
        serde_json::from_value(map).unwrap()
    }

    #[test]
    fn descriptor_from_host_and_service_or_sid() {
        let s = settings(
            serde_json::json!({"host": "db.example", "service_name": "FREEPDB1", "user": "u", "password": "p"}),
        );
        assert_eq!(
            s.connect_string().unwrap(),
            "(DESCRIPTION=(CONNECT_TIMEOUT=10)(RETRY_COUNT=0)(ADDRESS=(PROTOCOL=TCP)(HOST=db.example)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=FREEPDB1)))"
        );
        let s = settings(
            serde_json::json!({"host": "h", "port": 1522, "sid": "ORCL", "user": "u", "wallet_location": "/w", "connect_timeout": 3}),
        );
        assert_eq!(
            s.connect_string().unwrap(),
            "(DESCRIPTION=(CONNECT_TIMEOUT=3)(RETRY_COUNT=0)(ADDRESS=(PROTOCOL=TCPS)(HOST=h)(PORT=1522))(CONNECT_DATA=(SID=ORCL))(SECURITY=(MY_WALLET_DIRECTORY=/w)))"
        );
    }

    #[test]
    fn values_that_would_reshape_the_descriptor_are_refused() {
        let s =
            settings(serde_json::json!({"host": "h)(PORT=1", "service_name": "S", "user": "u"}));
        assert!(matches!(s.connect_string(), Err(DbError::Config(_))));
        let s = settings(serde_json::json!({"host": "h", "user": "u"}));
        assert!(s
            .connect_string()
            .unwrap_err()
            .to_string()
            .contains("service_name"));
    }

    #[test]
    fn secrets_never_print() {
        let s = settings(
            serde_json::json!({"dsn": "scott/tiger@db:1521/X?wallet_password=w1&x=1", "user": "u", "password": "hunter2"}),
        );
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("tiger") && !debug.contains("w1"),
            "{debug}"
        );
        assert_eq!(redact_dsn("scott/tiger@db:1521/X"), "scott/***@db:1521/X");
        assert_eq!(
            redact_dsn("db:1521/X?password=abc&y=2"),
            "db:1521/X?password=***&y=2"
        );
        assert_eq!(redact_dsn("//db:1521/X"), "//db:1521/X");
    }
}
