//! LOG_BASED replication (Oracle LogMiner), see docs/log-based.md.
//!
//! - [`position`]: a stream's place in the redo, as its STATE holds it.
//! - [`logs`]: which redo logs a run needs, gap checks, windows by redo bytes.
//! - [`spill`] and [`buffer`]: open transactions, in memory then in a temporary file.
//! - [`miner`]: the engine, pure logic over the redo stream.
//! - [`plan`]: which columns a LOG_BASED stream reads, and its `_sdc_` properties.
//! - [`sync`]: one run: snapshots, then the bounded drain of the redo.

pub mod buffer;
pub mod logs;
pub mod miner;
pub mod plan;
pub mod position;
pub mod spill;
pub(crate) mod sync;

use db_boundary::{DbError, LogMiningFacts, Source};

/// The LOG_BASED lines of `--test`: each requirement held or lacking, with the
/// statement that fixes it, and the oldest archived redo still available. `None` when
/// the backend cannot mine redo at all.
pub fn readiness_report(source: &mut dyn Source) -> Result<Option<String>, DbError> {
    match source.log_mining_facts() {
        Ok(facts) => Ok(Some(render_readiness(&facts))),
        Err(DbError::Unsupported(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn render_readiness(facts: &LogMiningFacts) -> String {
    let mut out = String::from("LOG_BASED replication:\n");
    for check in facts.checks() {
        match &check.fix {
            None => out.push_str(&format!("  has {}\n", check.what)),
            Some(fix) => out.push_str(&format!("  lacks {} -- fix: {fix}\n", check.what)),
        }
    }
    if facts.oldest_archived.is_empty() {
        out.push_str("  no archived redo log is available\n");
    }
    for (thread, sequence, scn, time) in &facts.oldest_archived {
        out.push_str(&format!(
            "  oldest archived redo of thread {thread}: sequence {sequence}, from SCN {scn} ({time}); \
             a stream whose checkpoint is older cannot resume\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_lists_each_need_with_its_fix() {
        let facts = LogMiningFacts {
            user: "TAP".into(),
            archivelog: true,
            supplemental_minimal: false,
            supplemental_all_columns: false,
            privileges: vec!["LOGMINING".into(), "SELECT ANY TRANSACTION".into()],
            roles: vec!["EXECUTE_CATALOG_ROLE".into()],
            unreadable_views: vec!["V$TRANSACTION".into()],
            oldest_archived: vec![(1, 12, 4400, "2024-05-01T10:00:00".into())],
        };
        insta::assert_snapshot!(render_readiness(&facts));
    }
}
