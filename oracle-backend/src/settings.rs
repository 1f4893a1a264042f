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
    /// Log in with the wallet's credentials for the connect string (Secure External
    /// Password Store): no user, no password.
    #[serde(default)]
    pub external_auth: bool,
    pub connect_timeout: u64,
    /// Longest single round trip in seconds (0: none): a statement blocked on a lock or
    /// a server that stopped answering fails the run instead of hanging it.
    #[serde(default)]
    pub call_timeout_seconds: u64,
    /// Minutes between probes of an idle connection (the descriptor's EXPIRE_TIME; 0:
    /// none), so a dead peer or a dropped firewall session is noticed.
    #[serde(default)]
    pub expire_time_minutes: u64,
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
            .field("external_auth", &self.external_auth)
            .field("connect_timeout", &self.connect_timeout)
            .field("call_timeout_seconds", &self.call_timeout_seconds)
            .field("expire_time_minutes", &self.expire_time_minutes)
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

    /// The call timeout each session gets; `None` when switched off.
    pub fn call_timeout(&self) -> Option<Duration> {
        (self.call_timeout_seconds > 0).then(|| Duration::from_secs(self.call_timeout_seconds))
    }

    /// The wallet the Oracle Client will open, checked before it does: ODPI-C (thick
    /// mode) opens only auto-login wallets (`cwallet.sso`) and has no way to take a
    /// wallet password, so a folder holding only `ewallet.p12` would fail later with a
    /// bare ORA-28759. Returns a warning when `wallet_password` is set (it cannot be used).
    pub fn check_wallet(&self) -> Result<Option<String>, DbError> {
        let Some(dir) = &self.wallet_location else {
            return Ok(self.wallet_password.as_ref().map(|_| {
                "wallet_password is set without wallet_location and is not used".to_owned()
            }));
        };
        let auto_login = std::path::Path::new(dir).join("cwallet.sso");
        if !auto_login.is_file() {
            return Err(DbError::Config(format!(
                "wallet_location {dir} holds no cwallet.sso: the Oracle Client opens only \
                 auto-login wallets (create one with `orapki wallet create -wallet {dir} \
                 -auto_login`); a wallet password cannot be passed to it"
            )));
        }
        Ok(self.wallet_password.as_ref().map(|_| {
            "wallet_password is not used: the Oracle Client opens the auto-login wallet \
             (cwallet.sso) without it; remove the setting"
                .to_owned()
        }))
    }

    /// The connect string handed to the driver: `dsn` as given, else a TNS descriptor
    /// built from host/port and service_name or sid (with the connect timeout and,
    /// when a wallet is set, TCPS and the wallet directory).
    pub fn connect_string(&self) -> Result<String, DbError> {
        if self.external_auth {
            // The wallet holds credentials per connect string: a TNS alias it names.
            return self.dsn.clone().ok_or_else(|| {
                DbError::Config(
                    "external_auth needs `dsn`: the TNS alias whose credentials the wallet holds (with `tns_admin`)".into(),
                )
            });
        }
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
        let expire_time = match self.expire_time_minutes {
            0 => String::new(),
            minutes => format!("(EXPIRE_TIME={minutes})"),
        };
        Ok(format!(
            "(DESCRIPTION=(CONNECT_TIMEOUT={}){expire_time}(RETRY_COUNT=0)(ADDRESS=(PROTOCOL={protocol})(HOST={host})(PORT={}))(CONNECT_DATA={connect_data}){security})",
            self.connect_timeout.max(1),
            self.port
        ))
    }

    /// User and password handed to the driver, and whether to ask for external
    /// authentication (then both are empty, as ODPI-C requires).
    pub fn login(&self) -> (&str, &str, bool) {
        if self.external_auth {
            ("", "", true)
        } else {
            (self.user.as_str(), self.password.expose(), false)
        }
    }

    /// Where the connection goes, safe to print: the dsn through [`redact_dsn`], and the
    /// password settings' values hidden wherever they still appear in it.
    pub fn target_for_messages(&self) -> String {
        match (&self.dsn, &self.host) {
            (Some(dsn), _) => {
                let mut text = redact_dsn(dsn);
                let secrets = [Some(&self.password), self.wallet_password.as_ref()];
                for secret in secrets.into_iter().flatten() {
                    if !secret.expose().is_empty() {
                        text = text.replace(secret.expose(), "***");
                    }
                }
                text
            }
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

/// A connect string with every embedded secret replaced by `***`, for messages:
/// - the password of `user/password@where`, quoted (`scott/"S3cr3t@Pa55!"@host`, which
///   may hold `@`, `/` and more) or not; an unquoted one runs to the last `@` (before
///   any `?` parameters), so a password holding `@` is hidden whole (when in doubt, the
///   host part is hidden with it);
/// - the value of every `...password=` or `...pwd=` parameter, in any case, quoted or
///   not: Easy Connect Plus (`?wallet_password=w&x=1`) and descriptors
///   (`(WALLET_PASSWORD=w)`).
///
/// Easy connect (`host:1521/svc`, `//host/svc`), descriptors and TNS aliases carry no
/// credentials and come back unchanged.
pub fn redact_dsn(dsn: &str) -> String {
    let out = match credentials_span(dsn) {
        Some((start, end)) => format!("{}***{}", &dsn[..start], &dsn[end..]),
        None => dsn.to_owned(),
    };
    redact_password_parameters(&out)
}

/// The byte range of the password in `user/password@where`, if the string has that form.
fn credentials_span(dsn: &str) -> Option<(usize, usize)> {
    let bytes = dsn.as_bytes();
    // The user: quoted, or a name holding none of the characters that start a host,
    // a port, a descriptor or a parameter.
    let slash = if bytes.first() == Some(&b'"') {
        let close = dsn[1..].find('"')? + 1;
        (bytes.get(close + 1) == Some(&b'/')).then_some(close + 1)?
    } else {
        let slash = dsn.find('/')?;
        let user = &dsn[..slash];
        let plausible = !user.is_empty()
            && !user
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b"@()=:?&;,".contains(&b));
        plausible.then_some(slash)?
    };
    let password = slash + 1;
    let last_at = dsn.rfind('@').filter(|&at| at >= password)?;
    // The host part's Easy Connect Plus parameters (`?k=v`) may hold an `@` too: prefer
    // the last `@` before the first `?`, when there is one.
    let before_parameters = dsn[password..]
        .find('?')
        .and_then(|q| dsn[password..password + q].rfind('@'))
        .map(|at| password + at);
    if bytes.get(password) == Some(&b'"') {
        // Quoted: up to the closing quote when an `@` follows it.
        if let Some(close) = dsn[password + 1..].find('"') {
            let close = password + 1 + close;
            if bytes.get(close + 1) == Some(&b'@') {
                return Some((password, close + 1));
            }
        }
    }
    Some((password, before_parameters.unwrap_or(last_at)))
}

/// `...password=value` and `...pwd=value` parameters with their values replaced.
fn redact_password_parameters(text: &str) -> String {
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !is_word(bytes[i]) || (i > 0 && is_word(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let word_end = (i..bytes.len())
            .find(|&j| !is_word(bytes[j]))
            .unwrap_or(bytes.len());
        let word = text[i..word_end].to_ascii_lowercase();
        let mut eq = word_end;
        while eq < bytes.len() && bytes[eq] == b' ' {
            eq += 1;
        }
        if !(word.ends_with("password") || word.ends_with("pwd")) || bytes.get(eq) != Some(&b'=') {
            i = word_end;
            continue;
        }
        let mut value = eq + 1;
        while value < bytes.len() && bytes[value] == b' ' {
            value += 1;
        }
        let value_end = match bytes.get(value) {
            Some(&quote @ (b'"' | b'\'')) => text[value + 1..]
                .find(quote as char)
                .map_or(bytes.len(), |q| value + 1 + q + 1),
            _ => (value..bytes.len())
                .find(|&j| bytes[j].is_ascii_whitespace() || b"&);,".contains(&bytes[j]))
                .unwrap_or(bytes.len()),
        };
        out.push_str(&text[copied..value]);
        out.push_str("***");
        copied = value_end;
        i = value_end;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Settings as a checked config hands them over: the table's defaults filled in.
    pub(crate) fn settings(json: serde_json::Value) -> ConnectSettings {
        let mut map = serde_json::json!({"port": 1521, "connect_timeout": 10, "call_timeout_seconds": 3600, "expire_time_minutes": 1, "max_connections": 4});
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
            "(DESCRIPTION=(CONNECT_TIMEOUT=10)(EXPIRE_TIME=1)(RETRY_COUNT=0)(ADDRESS=(PROTOCOL=TCP)(HOST=db.example)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=FREEPDB1)))"
        );
        let s = settings(
            serde_json::json!({"host": "h", "port": 1522, "sid": "ORCL", "user": "u", "wallet_location": "/w", "connect_timeout": 3, "expire_time_minutes": 0}),
        );
        assert_eq!(
            s.connect_string().unwrap(),
            "(DESCRIPTION=(CONNECT_TIMEOUT=3)(RETRY_COUNT=0)(ADDRESS=(PROTOCOL=TCPS)(HOST=h)(PORT=1522))(CONNECT_DATA=(SID=ORCL))(SECURITY=(MY_WALLET_DIRECTORY=/w)))"
        );
    }

    #[test]
    fn the_call_timeout_is_off_only_at_zero() {
        let s = settings(serde_json::json!({"user": "u", "dsn": "db/X"}));
        assert_eq!(s.call_timeout(), Some(Duration::from_secs(3600)));
        let s =
            settings(serde_json::json!({"user": "u", "dsn": "db/X", "call_timeout_seconds": 0}));
        assert_eq!(s.call_timeout(), None);
    }

    #[test]
    fn a_wallet_must_be_auto_login_and_its_password_is_never_used() {
        let dir = tempfile::tempdir().unwrap();
        let wallet = dir.path().display().to_string();
        std::fs::write(dir.path().join("ewallet.p12"), b"pkcs12").unwrap();
        let s = settings(
            serde_json::json!({"user": "u", "dsn": "db/X", "wallet_location": wallet, "wallet_password": "w1"}),
        );
        let err = s.check_wallet().unwrap_err().to_string();
        assert!(
            err.contains("cwallet.sso") && err.contains("orapki"),
            "{err}"
        );
        assert!(!err.contains("w1"), "{err}");
        std::fs::write(dir.path().join("cwallet.sso"), b"sso").unwrap();
        let warning = s.check_wallet().unwrap().unwrap();
        assert!(warning.contains("wallet_password is not used"), "{warning}");
        let s =
            settings(serde_json::json!({"user": "u", "dsn": "db/X", "wallet_location": wallet}));
        assert_eq!(s.check_wallet().unwrap(), None);
        let s = settings(serde_json::json!({"user": "u", "dsn": "db/X"}));
        assert_eq!(s.check_wallet().unwrap(), None);
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
    fn external_auth_logs_in_with_no_user_or_password_through_an_alias() {
        let s = settings(
            serde_json::json!({"external_auth": true, "dsn": "PROD_LOADER", "tns_admin": "/etc/wallet"}),
        );
        assert_eq!(s.connect_string().unwrap(), "PROD_LOADER");
        assert_eq!(s.login(), ("", "", true));
        let s =
            settings(serde_json::json!({"external_auth": true, "host": "h", "service_name": "S"}));
        assert!(s
            .connect_string()
            .unwrap_err()
            .to_string()
            .contains("needs `dsn`"));
        let s = settings(serde_json::json!({"user": "u", "password": "p", "dsn": "X"}));
        assert_eq!(s.login(), ("u", "p", false));
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
    }

    #[test]
    fn redact_dsn_hides_the_password_of_every_dsn_form() {
        let cases = [
            // Easy connect with credentials, plain and quoted.
            ("scott/tiger@db:1521/X", "scott/***@db:1521/X"),
            ("scott/tiger@//db:1521/X", "scott/***@//db:1521/X"),
            (r#"scott/"S3cr3t@Pa55!"@host"#, "scott/***@host"),
            (r#"scott/"a/b@c"@host:1521/svc"#, "scott/***@host:1521/svc"),
            (r#""Scott"/"t@g"@host/svc"#, r#""Scott"/***@host/svc"#),
            // Unquoted passwords holding `@`, `/` or `"`: hidden whole.
            ("scott/p@ss@host/svc", "scott/***@host/svc"),
            ("scott/a/b@host/svc", "scott/***@host/svc"),
            (r#"scott/ab"c@host"#, "scott/***@host"),
            (r#"scott/"unclosed@host"#, "scott/***@host"),
            ("scott/a?b@c@host/X?k=v@z", "scott/***@z"),
            // Credentials before a descriptor.
            (
                "scott/tiger@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=h)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=s)))",
                "scott/***@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=h)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=s)))",
            ),
            // Password parameters: descriptor, Easy Connect Plus, any case, quoted.
            (
                "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCPS)(HOST=h)(PORT=2484))(SECURITY=(MY_WALLET_DIRECTORY=/w)(WALLET_PASSWORD=w1)))",
                "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCPS)(HOST=h)(PORT=2484))(SECURITY=(MY_WALLET_DIRECTORY=/w)(WALLET_PASSWORD=***)))",
            ),
            (
                "tcps://db:1522/X?wallet_location=/w&wallet_password=w1&x=1",
                "tcps://db:1522/X?wallet_location=/w&wallet_password=***&x=1",
            ),
            ("db:1521/X?password=abc&y=2", "db:1521/X?password=***&y=2"),
            (r#"db/X?PASSWORD = "a b&c"&y=2"#, "db/X?PASSWORD = ***&y=2"),
            ("db/X?pwd='x)y'", "db/X?pwd=***"),
            (
                "scott/tiger@db/X?wallet_password=w@1",
                "scott/***@db/X?wallet_password=***",
            ),
            // No credentials: unchanged.
            ("//db:1521/X", "//db:1521/X"),
            ("db:1521/X", "db:1521/X"),
            ("db/X", "db/X"),
            ("tcps://db:1522/X?wallet_location=/w", "tcps://db:1522/X?wallet_location=/w"),
            ("MYALIAS", "MYALIAS"),
            ("host/svc?password_file=x", "host/svc?password_file=x"),
        ];
        for (dsn, expected) in cases {
            assert_eq!(redact_dsn(dsn), expected, "{dsn}");
        }
    }

    #[test]
    fn messages_never_show_the_password_settings_even_inside_a_dsn() {
        let s = settings(
            serde_json::json!({"dsn": "db/X?odd=S3cr3t-W", "user": "u", "password": "S3cr3t-W"}),
        );
        assert_eq!(s.target_for_messages(), "db/X?odd=***");
    }
}
