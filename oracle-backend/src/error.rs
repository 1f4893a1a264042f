//! Oracle and ODPI-C failures translated into [`DbError`]s a user can act on.
//!
//! The translation is a pure function of the codes and message (tested with a table of
//! codes); the driver's error is only read for those. The message Oracle returns never
//! holds a password.

use db_boundary::DbError;

/// What the failing call was doing, to name the privilege it lacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Connect,
    ReadDictionary,
    Flashback,
    CreateTable,
    /// LogMiner and the V$ views around it (LOG_BASED).
    LogMining,
    Other,
}

/// Maps an ORA code (`ora`) or a DPI code (`dpi`) and the message to a [`DbError`].
pub fn classify(
    ora: Option<i32>,
    dpi: Option<i32>,
    message: &str,
    target: &str,
    operation: Operation,
) -> DbError {
    let message = message.trim().to_owned();
    let unreachable = || DbError::Unreachable {
        target: target.to_owned(),
        reason: message.clone(),
    };
    match (dpi, ora) {
        (Some(1047), _) => DbError::ClientLibraryMissing,
        // The session's call timeout (`call_timeout_seconds`) ended a round trip.
        (Some(1067), _) | (_, Some(3156)) => DbError::Database {
            code: ora,
            message: format!(
                "a database call ran longer than call_timeout_seconds and was cancelled \
                 (a lock held by another session, or a server that stopped answering); \
                 raise call_timeout_seconds, or set 0 for no limit: {message}"
            ),
        },
        (Some(1080), _) => unreachable(),
        (_, Some(1017)) => DbError::InvalidCredentials,
        (_, Some(12541 | 12170 | 12545 | 12543 | 12537 | 12547 | 12560)) => unreachable(),
        (_, Some(12514 | 12505)) => DbError::UnknownService {
            target: target.to_owned(),
            reason: message,
        },
        // PLS-00201 inside ORA-06550: DBMS_LOGMNR is not visible without its role.
        (_, Some(6550)) if operation == Operation::LogMining && message.contains("DBMS_LOGMNR") => {
            DbError::InsufficientPrivileges {
                privilege: "EXECUTE_CATALOG_ROLE (EXECUTE on DBMS_LOGMNR)".to_owned(),
                reason: message,
            }
        }
        (_, Some(1031 | 942 | 1039 | 8185))
            if operation != Operation::Other && operation != Operation::Connect =>
        {
            let privilege = match operation {
                Operation::ReadDictionary => "SELECT on the ALL_* dictionary views (SELECT_CATALOG_ROLE or SELECT ANY DICTIONARY)",
                Operation::Flashback => "FLASHBACK on the table (or FLASHBACK ANY TABLE)",
                Operation::CreateTable => "CREATE TABLE (and quota on the target tablespace)",
                Operation::LogMining => "LOGMINING, SELECT ANY TRANSACTION, EXECUTE_CATALOG_ROLE and SELECT on the V$ views LogMiner reads (tap-oracle --test lists each with its GRANT)",
                _ => "a missing privilege",
            };
            DbError::InsufficientPrivileges {
                privilege: privilege.to_owned(),
                reason: message,
            }
        }
        (_, Some(1045)) => DbError::InsufficientPrivileges {
            privilege: "CREATE SESSION".to_owned(),
            reason: message,
        },
        (_, code) => DbError::Database {
            code,
            message: strip_ora_prefix(&message),
        },
    }
}

/// `ORA-00942: table or view does not exist` -> `table or view does not exist`, since
/// [`DbError::Database`] prints the code itself.
fn strip_ora_prefix(message: &str) -> String {
    match message.strip_prefix("ORA-") {
        Some(rest) if rest.len() > 7 && rest.as_bytes()[5] == b':' => rest[6..].trim().to_owned(),
        _ => message.to_owned(),
    }
}

/// Translates a driver error.
pub fn from_oracle(error: &oracle::Error, target: &str, operation: Operation) -> DbError {
    let ora = error.db_error().map(|e| e.code()).filter(|c| *c != 0);
    let message = error
        .db_error()
        .map(|e| e.message().to_owned())
        .unwrap_or_else(|| error.to_string());
    classify(ora, error.dpi_code(), &message, target, operation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_actionable_errors() {
        let t = "db:1521/FREEPDB1";
        let c = |ora, dpi, op| classify(ora, dpi, "ORA-01234: something", t, op);
        assert!(matches!(
            c(None, Some(1047), Operation::Connect),
            DbError::ClientLibraryMissing
        ));
        assert!(matches!(
            c(Some(1017), None, Operation::Connect),
            DbError::InvalidCredentials
        ));
        assert!(matches!(
            c(Some(12541), None, Operation::Connect),
            DbError::Unreachable { .. }
        ));
        let timeout = classify(
            Some(3156),
            Some(1067),
            "DPI-1067: call timeout of 3600000 ms exceeded with ORA-03156",
            t,
            Operation::Other,
        );
        assert_eq!(timeout.ora_code(), Some(3156));
        assert!(
            timeout.to_string().contains("call_timeout_seconds"),
            "{timeout}"
        );
        assert!(matches!(
            c(None, Some(1080), Operation::Connect),
            DbError::Unreachable { .. }
        ));
        assert!(matches!(
            c(Some(12514), None, Operation::Connect),
            DbError::UnknownService { .. }
        ));
        match c(Some(1031), None, Operation::Flashback) {
            DbError::InsufficientPrivileges { privilege, .. } => {
                assert!(privilege.contains("FLASHBACK"))
            }
            other => panic!("{other:?}"),
        }
        match c(Some(942), None, Operation::ReadDictionary) {
            DbError::InsufficientPrivileges { privilege, .. } => {
                assert!(privilege.contains("SELECT_CATALOG_ROLE"))
            }
            other => panic!("{other:?}"),
        }
        match c(Some(6550), None, Operation::LogMining) {
            DbError::Database { .. } => {}
            other => panic!("{other:?}"),
        }
        match classify(
            Some(6550),
            None,
            "ORA-06550: PLS-00201: identifier 'SYS.DBMS_LOGMNR' must be declared",
            t,
            Operation::LogMining,
        ) {
            DbError::InsufficientPrivileges { privilege, .. } => {
                assert!(privilege.contains("EXECUTE_CATALOG_ROLE"))
            }
            other => panic!("{other:?}"),
        }
        match c(Some(1031), None, Operation::LogMining) {
            DbError::InsufficientPrivileges { privilege, .. } => {
                assert!(privilege.contains("LOGMINING"))
            }
            other => panic!("{other:?}"),
        }
        let other = classify(
            Some(1),
            None,
            "ORA-00001: unique constraint (A.B) violated",
            t,
            Operation::Other,
        );
        assert_eq!(
            other.to_string(),
            "ORA-00001: unique constraint (A.B) violated"
        );
    }

    #[test]
    fn a_missing_client_says_what_to_install_and_which_variable_to_set() {
        let text = classify(
            None,
            Some(1047),
            "DPI-1047: Cannot locate",
            "x",
            Operation::Connect,
        )
        .to_string();
        assert!(
            text.contains("Instant Client") && text.contains("LD_LIBRARY_PATH"),
            "{text}"
        );
        assert!(!text.contains("DPI-1047"));
    }
}
