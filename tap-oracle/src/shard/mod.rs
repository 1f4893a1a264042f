//! FULL_TABLE sharded across processes (README "Sharded runs"): a plan fixed once
//! (`--plan-shards N`: one SCN, one table version and the key ranges of every selected
//! stream), shard runs that each read their share of the ranges AS OF the plan's SCN
//! and never emit ACTIVATE_VERSION (`shard_plan` + `shard_index`), and a final step
//! that emits each stream's ACTIVATE_VERSION once every shard is done (`shard_finish`).
//!
//! This file owns the plan file, the shard settings and the check that a run's catalog
//! is the plan's; `make` builds a plan, `pass` is one shard's read of a stream,
//! `finish` the final step.

pub(crate) mod finish;
pub(crate) mod make;
mod pass;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use singer_cli::settings::Config;

use crate::bookmark::ChunkBookmark;
use crate::error::TapError;
use crate::plan::{Replication, StreamPlan};

/// The plan file's format; a plan of another format is refused.
pub(crate) const PLAN_FORMAT: u32 = 1;

/// What `--plan-shards N` writes: every shard and the final step read the same one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ShardPlan {
    pub format: u32,
    /// The SCN every shard reads AS OF, so the union is one snapshot.
    pub scn: u64,
    /// The N the plan was made for: the default `shard_count`.
    pub shards: usize,
    pub created_at: String,
    pub streams: Vec<PlannedStream>,
}

/// One stream of a plan: its table version and its key ranges, in key order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PlannedStream {
    pub stream: String,
    /// The version every shard's RECORDs carry and the final ACTIVATE_VERSION names.
    pub version: i64,
    /// The key the ranges are over, in the order the table is read by.
    pub key: Vec<String>,
    pub chunks: Vec<PlannedChunk>,
}

/// The rows after `after` and through `through` (`None`: the table's start or end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PlannedChunk {
    pub after: Option<Map<String, Json>>,
    pub through: Option<Map<String, Json>>,
}

/// A shard run: the plan, and which of `count` runs this is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShardRun {
    pub plan: ShardPlan,
    pub index: usize,
    pub count: usize,
}

/// What the shard settings ask of this run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ShardMode {
    /// An ordinary run.
    Off,
    Shard(ShardRun),
    /// The final step, with the shard state files to check (none: trust the caller).
    Finish {
        plan: ShardPlan,
        states: Vec<PathBuf>,
    },
}

impl ShardPlan {
    /// Reads and checks a plan file: its format, and that each stream's ranges start at
    /// the table's start, meet, and end at its end (so their union is the table).
    pub(crate) fn load(path: &Path) -> Result<ShardPlan, TapError> {
        let bad = |why: String| TapError::Shard(format!("shard_plan {}: {why}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let plan: ShardPlan =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a shard plan: {e}")))?;
        if plan.format != PLAN_FORMAT {
            return Err(bad(format!(
                "format {} (this tap reads format {PLAN_FORMAT}): make the plan again",
                plan.format
            )));
        }
        for s in &plan.streams {
            let ends = (s.chunks.first(), s.chunks.last());
            let open = matches!(ends, (Some(first), Some(last)) if first.after.is_none() && last.through.is_none());
            let meet = s
                .chunks
                .windows(2)
                .all(|w| w[0].through.is_some() && w[0].through == w[1].after);
            if !open || !meet {
                return Err(bad(format!(
                    "stream {}: the key ranges do not cover the table end to end",
                    s.stream
                )));
            }
        }
        Ok(plan)
    }

    pub(crate) fn stream(&self, stream: &str) -> Option<&PlannedStream> {
        self.streams.iter().find(|s| s.stream == stream)
    }
}

impl ShardRun {
    /// The chunks of `stream` this shard reads: the plan's chunks `index`,
    /// `index + count`, `index + 2 * count`, ... as unread chunk bookmarks.
    pub(crate) fn chunks_of(&self, stream: &PlannedStream) -> Vec<ChunkBookmark> {
        stream
            .chunks
            .iter()
            .skip(self.index)
            .step_by(self.count)
            .map(|c| ChunkBookmark {
                after: c.after.clone(),
                through: c.through.clone(),
                done: false,
            })
            .collect()
    }
}

/// The shard settings, checked together: `shard_index`, `shard_count`, `shard_finish`
/// and `shard_states` need `shard_plan`; a plan needs a shard or the final step.
pub(crate) fn shard_mode(config: &Config) -> Result<ShardMode, TapError> {
    let index: Option<usize> = config.get_int("shard_index")?;
    let count: Option<usize> = config.get_int("shard_count")?;
    let finish = config.get_bool("shard_finish").unwrap_or(false);
    let states: Vec<PathBuf> = config
        .get_str_list("shard_states")
        .into_iter()
        .map(PathBuf::from)
        .collect();
    let usage = |why: &str| Err(TapError::Config(Config::error(vec![why.to_owned()])));
    let Some(path) = config.get_str("shard_plan") else {
        if index.is_some() || count.is_some() || finish || !states.is_empty() {
            return usage("shard_index, shard_count, shard_finish and shard_states need shard_plan: every shard must read the same key ranges AS OF the same SCN, which only a plan made once fixes (`tap-oracle --plan-shards N --config ... --catalog ... > plan.json`)");
        }
        return Ok(ShardMode::Off);
    };
    if !states.is_empty() && !finish {
        return usage("shard_states is read by the final step only (shard_finish: true)");
    }
    let plan = ShardPlan::load(Path::new(path))?;
    if finish {
        if index.is_some() {
            return usage("shard_finish is the final step and reads no rows: unset shard_index");
        }
        return Ok(ShardMode::Finish { plan, states });
    }
    let count = count.unwrap_or(plan.shards);
    match index {
        None => usage("shard_plan needs shard_index (this run's shard, from 0) or shard_finish: true (the final step)"),
        Some(index) if index >= count => usage(&format!(
            "shard_index must be below shard_count ({index} is not below {count}; shards are numbered from 0)"
        )),
        Some(index) => Ok(ShardMode::Shard(ShardRun { plan, index, count })),
    }
}

/// Why a selected stream cannot be sharded, if it cannot: only a keyed FULL_TABLE
/// stream has ranges to split.
pub(crate) fn refusal(plan: &StreamPlan) -> Option<&'static str> {
    if plan.log_based.is_some() {
        return Some(
            "is LOG_BASED: the redo is read by one process; sync it in an ordinary (unsharded) run",
        );
    }
    match plan.replication {
        Replication::FullTableByKey(_) => None,
        Replication::Incremental(_) => Some("is INCREMENTAL: shards split a FULL_TABLE pass; after its first read an INCREMENTAL stream reads only new rows, so sync it in an ordinary (unsharded) run"),
        Replication::FullTableByRowId | Replication::FullTableOnePass => Some("has no key to split on (key-properties): sync it in an ordinary (unsharded) run, or give the view key-properties in the catalog"),
    }
}

/// Checks that the run's selected streams are the plan's, each a keyed FULL_TABLE
/// stream over the plan's key: a shard reading another catalog would leave rows out.
pub(crate) fn check_catalog(plans: &[StreamPlan], plan: &ShardPlan) -> Result<(), TapError> {
    let mut problems = Vec::new();
    for p in plans {
        if let Some(why) = refusal(p) {
            problems.push(format!("stream {} {why}", p.stream));
            continue;
        }
        let Some(planned) = plan.stream(&p.stream) else {
            problems.push(format!(
                "stream {} is selected but not in the plan: make the plan from the same catalog",
                p.stream
            ));
            continue;
        };
        let key: Vec<&str> = match &p.replication {
            Replication::FullTableByKey(keys) => keys.iter().map(|k| k.name.as_str()).collect(),
            _ => Vec::new(),
        };
        if key != planned.key {
            problems.push(format!(
                "stream {}: the catalog's key {key:?} is not the plan's {:?}",
                p.stream, planned.key
            ));
        }
    }
    for planned in &plan.streams {
        if !plans.iter().any(|p| p.stream == planned.stream) {
            problems.push(format!(
                "stream {} is in the plan but not selected: every shard and the final step need the plan's catalog",
                planned.stream
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(TapError::Shard(problems.join("; ")))
    }
}

#[cfg(test)]
mod tests;
