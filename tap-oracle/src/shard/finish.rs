//! The final step of a sharded run (`shard_finish`): each planned stream's SCHEMA and
//! ACTIVATE_VERSION with the plan's version, so a target retires the rows of older
//! versions only once every shard's rows are loaded. When given the shards' final
//! STATE files (`shard_states`) it first checks that together they show every shard
//! of the plan complete, and refuses otherwise; without them it trusts the caller's
//! ordering (an orchestrator runs it after every shard task succeeded).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use serde_json::{Map, Value as Json};
use singer_core::catalog::Catalog;
use singer_core::state::State;
use singer_core::writer::MessageWriter;

use super::{check_catalog, ShardPlan};
use crate::bookmark::StreamBookmark;
use crate::error::TapError;
use crate::plan::plan;

/// Writes SCHEMA and ACTIVATE_VERSION for every stream of the plan (unless `activate`
/// is false: the `activate_version` setting), then `state` unchanged (this step has no
/// position of its own).
pub(crate) fn finish<W: Write>(
    catalog: &Catalog,
    shard_plan: &ShardPlan,
    (default_method, activate): (&str, bool),
    states: &[PathBuf],
    state: State,
    out: W,
) -> Result<(), TapError> {
    let plans = catalog
        .selected_streams()
        .map(|entry| plan(entry, default_method))
        .collect::<Result<Vec<_>, _>>()?;
    check_catalog(&plans, shard_plan)?;
    if states.is_empty() {
        tracing::warn!("shard_states is not set: trusting that every shard of the plan has finished (the orchestrator runs this step after them)");
    } else {
        let loaded = states
            .iter()
            .map(|path| State::from_path(path).map(|s| (path.clone(), s)))
            .collect::<Result<Vec<_>, _>>()?;
        check_complete(shard_plan, &loaded)?;
    }
    if !activate {
        tracing::warn!("activate_version is false: the final step has nothing to send");
    }
    let mut writer = MessageWriter::new(out);
    for p in &plans {
        let version = shard_plan.stream(&p.stream).map(|s| s.version);
        let Some(version) = version.filter(|_| activate) else {
            continue;
        };
        writer.write_schema(&p.stream, &p.schema, &p.key_properties, &[])?;
        writer.write_activate_version(&p.stream, version)?;
        tracing::info!(stream = %p.stream, version, "every shard done: version activated");
    }
    writer.write_state(state.as_json())?;
    writer.flush()?;
    Ok(())
}

/// A stream's bookmark in a state file: the bare state, a STATE message, or what
/// `meltano state get` prints (`{"singer_state": ...}`).
fn bookmark_in(state: &State, stream: &str) -> Option<Map<String, Json>> {
    state.bookmark(stream).cloned().or_else(|| {
        state.as_json().get("singer_state")?["bookmarks"]
            .get(stream)?
            .as_object()
            .cloned()
    })
}

/// Checks that for every stream of the plan, the states show shards `0..n` of one
/// shard count `n`, each complete for this plan.
pub(crate) fn check_complete(
    shard_plan: &ShardPlan,
    states: &[(PathBuf, State)],
) -> Result<(), TapError> {
    let mut problems = Vec::new();
    for planned in &shard_plan.streams {
        let mut counts = BTreeSet::new();
        let mut complete = BTreeSet::new();
        let mut unfinished = BTreeSet::new();
        for (path, state) in states {
            let Some(map) = bookmark_in(state, &planned.stream) else {
                continue;
            };
            let bookmark = StreamBookmark::from_map(&map)
                .map_err(|e| TapError::Shard(format!("{}: {e}", path.display())))?;
            let Some(shard) = bookmark.shard.filter(|s| {
                s.plan_scn == shard_plan.scn && bookmark.version == Some(planned.version)
            }) else {
                continue;
            };
            counts.insert(shard.count);
            if shard.complete {
                complete.insert(shard.index);
            } else {
                unfinished.insert(shard.index);
            }
        }
        let stream = &planned.stream;
        match counts.len() {
            0 => problems.push(format!("stream {stream}: no state of a shard of this plan")),
            1 => {
                let count = counts.into_iter().next().unwrap_or_default();
                let missing: Vec<usize> = (0..count).filter(|i| !complete.contains(i)).collect();
                if !missing.is_empty() {
                    let absent: Vec<usize> = missing
                        .iter()
                        .copied()
                        .filter(|i| !unfinished.contains(i))
                        .collect();
                    let unfinished: Vec<usize> = unfinished.into_iter().collect();
                    let detail = [
                        ("unfinished", unfinished),
                        ("no state of this plan", absent),
                    ]
                    .into_iter()
                    .filter(|(_, shards)| !shards.is_empty())
                    .map(|(what, shards)| format!("{what}: {shards:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                    problems.push(format!(
                        "stream {stream}: shards {missing:?} of {count} have not completed ({detail})"
                    ));
                }
            }
            _ => problems.push(format!(
                "stream {stream}: the states are of runs with different shard counts {counts:?}"
            )),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(TapError::Shard(format!(
            "not every shard is done, so no ACTIVATE_VERSION (it would retire rows of shards not yet loaded): {}",
            problems.join("; ")
        )))
    }
}
