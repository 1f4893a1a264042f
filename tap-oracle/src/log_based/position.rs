//! A LOG_BASED stream's place in the redo, as its STATE bookmark holds it
//! (`log_position`, see docs/log-based.md): which commits are delivered, where the next
//! run starts mining, and which database and incarnation it belongs to.

use db_boundary::DatabaseIdentity;
use serde_json::{json, Value as Json};

/// Where a stream stands in the redo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPosition {
    /// Every transaction committed at an SCN below this is delivered...
    pub scn: u64,
    /// ...and, of those committed exactly at `scn`, these.
    pub xids: Vec<String>,
    /// Where the next run starts mining: the first SCN of the oldest transaction open
    /// at the checkpoint, at most `scn`.
    pub low_water: u64,
    pub database: DatabaseIdentity,
}

impl LogPosition {
    /// Whether the transaction `xid` committed at `commit_scn` was already delivered.
    pub fn delivered(&self, commit_scn: u64, xid: &str) -> bool {
        commit_scn < self.scn || (commit_scn == self.scn && self.xids.iter().any(|x| x == xid))
    }

    /// Records the delivery of `xid` committed at `commit_scn` (commits arrive in SCN
    /// order; an older one changes nothing).
    pub fn deliver(&mut self, commit_scn: u64, xid: &str) {
        if commit_scn > self.scn {
            self.scn = commit_scn;
            self.xids.clear();
            self.xids.push(xid.to_owned());
        } else if commit_scn == self.scn && !self.xids.iter().any(|x| x == xid) {
            self.xids.push(xid.to_owned());
        }
    }

    /// Every commit up to `end_scn` is delivered (a window was read to its end).
    pub fn drained_to(&mut self, end_scn: u64) {
        if end_scn >= self.scn {
            self.scn = end_scn + 1;
            self.xids.clear();
        }
    }

    pub fn to_json(&self) -> Json {
        json!({
            "scn": self.scn,
            "xids": self.xids,
            "low_water": self.low_water,
            "database": {
                "dbid": self.database.dbid,
                "resetlogs_change": self.database.resetlogs_change,
                "con_id": self.database.con_id,
            },
        })
    }

    /// Reads a bookmark's `log_position`; an error says which part is wrong.
    pub fn from_json(json: &Json) -> Result<LogPosition, String> {
        let number = |v: &Json, what: &str| {
            v.get(what)
                .and_then(Json::as_u64)
                .ok_or_else(|| format!("log_position.{what} is missing or not an integer"))
        };
        let database = json
            .get("database")
            .ok_or("log_position.database is missing")?;
        let xids = json
            .get("xids")
            .and_then(Json::as_array)
            .ok_or("log_position.xids is missing or not a list")?
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "log_position.xids holds a non-string".to_owned())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let position = LogPosition {
            scn: number(json, "scn")?,
            xids,
            low_water: number(json, "low_water")?,
            database: DatabaseIdentity {
                dbid: number(database, "dbid")?,
                resetlogs_change: number(database, "resetlogs_change")?,
                con_id: u32::try_from(number(database, "con_id")?)
                    .map_err(|_| "log_position.database.con_id is too large".to_owned())?,
            },
        };
        if position.low_water > position.scn {
            return Err(format!(
                "log_position.low_water {} is past scn {}",
                position.low_water, position.scn
            ));
        }
        Ok(position)
    }

    /// Refuses a position taken on another database or incarnation.
    pub fn check_database(&self, here: &DatabaseIdentity) -> Result<(), String> {
        if &self.database == here {
            return Ok(());
        }
        Err(format!(
            "the state's log position belongs to database DBID {} (RESETLOGS_CHANGE# {}, container {}) \
             but this is DBID {} (RESETLOGS_CHANGE# {}, container {}); remove the stream's bookmark \
             to start it over with a new snapshot",
            self.database.dbid,
            self.database.resetlogs_change,
            self.database.con_id,
            here.dbid,
            here.resetlogs_change,
            here.con_id
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> DatabaseIdentity {
        DatabaseIdentity {
            dbid: 1_432_867_311,
            resetlogs_change: 1,
            con_id: 3,
        }
    }

    fn at(scn: u64, xids: &[&str]) -> LogPosition {
        LogPosition {
            scn,
            xids: xids.iter().map(|x| x.to_string()).collect(),
            low_water: scn,
            database: db(),
        }
    }

    #[test]
    fn delivered_is_below_the_scn_or_listed_at_it() {
        let p = at(100, &["A"]);
        assert!(p.delivered(99, "Z"));
        assert!(p.delivered(100, "A"));
        assert!(!p.delivered(100, "B"));
        assert!(!p.delivered(101, "A"));
    }

    #[test]
    fn delivery_moves_forward_only() {
        let mut p = at(100, &["A"]);
        p.deliver(100, "B");
        assert_eq!(p.xids, ["A", "B"]);
        p.deliver(100, "B");
        assert_eq!(p.xids, ["A", "B"]);
        p.deliver(90, "C");
        assert_eq!((p.scn, p.xids.len()), (100, 2));
        p.deliver(120, "D");
        assert_eq!((p.scn, p.xids.clone()), (120, vec!["D".to_string()]));
        p.drained_to(150);
        assert_eq!((p.scn, p.xids.len()), (151, 0));
        assert!(p.delivered(150, "anything"));
        p.drained_to(100);
        assert_eq!(p.scn, 151);
    }

    #[test]
    fn positions_round_trip_and_bad_ones_are_named() {
        let p = LogPosition {
            low_water: 90,
            ..at(100, &["0A001B0045020000"])
        };
        let json = p.to_json();
        assert_eq!(LogPosition::from_json(&json).unwrap(), p);
        let mut broken = json.clone();
        broken["scn"] = json!("100");
        assert!(LogPosition::from_json(&broken)
            .unwrap_err()
            .contains("log_position.scn"));
        let mut ahead = json.clone();
        ahead["low_water"] = json!(101);
        assert!(LogPosition::from_json(&ahead).is_err());
        let mut no_db = json;
        no_db.as_object_mut().unwrap().remove("database");
        assert!(LogPosition::from_json(&no_db).is_err());
    }

    #[test]
    fn another_database_or_incarnation_is_refused() {
        let p = at(100, &[]);
        assert!(p.check_database(&db()).is_ok());
        let reset = DatabaseIdentity {
            resetlogs_change: 5000,
            ..db()
        };
        let message = p.check_database(&reset).unwrap_err();
        assert!(message.contains("RESETLOGS_CHANGE# 5000"), "{message}");
        let other = DatabaseIdentity { dbid: 7, ..db() };
        assert!(p.check_database(&other).is_err());
    }
}
