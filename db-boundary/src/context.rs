//! What a session tells the database about itself, so a DBA sees in V$SESSION and in
//! unified audit records which pipeline, stream and run a session belongs to: MODULE,
//! ACTION and CLIENT_IDENTIFIER, each cut to Oracle's length limit.
//!
//! Oracle takes MODULE up to 48 bytes, ACTION up to 32 and CLIENT_IDENTIFIER up to 64
//! (DBMS_APPLICATION_INFO.SET_MODULE / SET_ACTION, DBMS_SESSION.SET_IDENTIFIER and the
//! OCI attributes the `oracle` crate sets), so every value is cut here, on a character
//! boundary, instead of leaving it to the server.

use chrono::Utc;

/// Longest MODULE, ACTION and CLIENT_IDENTIFIER, in bytes.
pub const MAX_MODULE_BYTES: usize = 48;
pub const MAX_ACTION_BYTES: usize = 32;
pub const MAX_CLIENT_IDENTIFIER_BYTES: usize = 64;

/// The three session attributes a DBA sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionContext {
    /// The binary: `tap-oracle` or `target-oracle`.
    pub module: String,
    /// What the session does now: the stream being read or loaded, or `discover`,
    /// `test`, `audit`.
    pub action: String,
    /// The run id, shared by every session of one run.
    pub client_identifier: String,
}

impl SessionContext {
    /// The context of `role`'s session doing `action` in run `run_id`, each value cut
    /// to its limit.
    pub fn new(role: crate::SessionRole, action: &str, run_id: &str) -> SessionContext {
        SessionContext {
            module: cut(role.module(), MAX_MODULE_BYTES).to_owned(),
            action: cut(action, MAX_ACTION_BYTES).to_owned(),
            client_identifier: cut(run_id, MAX_CLIENT_IDENTIFIER_BYTES).to_owned(),
        }
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A new run id: the UTC start time and the process id, e.g.
/// `20261129T191408.123456Z-4242`. Unique per machine and readable in V$SESSION.
pub fn new_run_id() -> String {
    format!(
        "{}-{}",
        Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SessionRole;

    #[test]
    fn values_are_cut_on_a_character_boundary() {
        let long = "é".repeat(40); // 80 bytes
        let context = SessionContext::new(SessionRole::Target, &long, "run-1");
        assert_eq!(context.module, "target-oracle");
        assert_eq!(context.action.len(), 32);
        assert_eq!(context.action, "é".repeat(16));
        assert_eq!(context.client_identifier, "run-1");
        assert_eq!(cut("abc", 2), "ab");
        assert_eq!(cut("aé", 2), "a");
    }

    #[test]
    fn run_ids_carry_time_and_process() {
        let id = new_run_id();
        assert!(id.ends_with(&format!("Z-{}", std::process::id())), "{id}");
        assert_eq!(
            id.len(),
            "20261129T191408.123456Z-".len() + std::process::id().to_string().len()
        );
    }
}
