//! `--plan-shards N`: one SCN for every stream, one table version, and each selected
//! stream's key split into N ranges of about equal size as of that SCN (the same NTILE
//! bounds a chunked pass uses, `chunks::chunks_between`).

use chrono::{SecondsFormat, Utc};
use db_boundary::{Backend, ScanColumn, SessionContext, SessionRole, TableRef};
use singer_core::catalog::Catalog;

use super::{check_catalog, PlannedChunk, PlannedStream, ShardPlan, PLAN_FORMAT};
use crate::chunks::chunks_between;
use crate::error::TapError;
use crate::plan::{plan, Replication};
use crate::stream::key_json;
use crate::sync::SyncOptions;

/// Makes the plan for `shards` shard runs of the catalog's selected streams.
pub(crate) fn make_plan(
    backend: &dyn Backend,
    catalog: &Catalog,
    options: &SyncOptions,
    shards: usize,
) -> Result<ShardPlan, TapError> {
    let plans = catalog
        .selected_streams()
        .map(|entry| plan(entry, &options.default_replication_method))
        .collect::<Result<Vec<_>, _>>()?;
    if plans.is_empty() {
        return Err(TapError::Shard(
            "no stream is selected in the catalog: nothing to plan".into(),
        ));
    }
    let mut source = backend.source()?;
    source.set_context(&SessionContext::new(
        SessionRole::Tap,
        "shard plan",
        &options.run_id,
    ))?;
    let scn = source.current_scn()?;
    let version = Utc::now().timestamp_millis();
    let mut planned = Vec::with_capacity(plans.len());
    for p in &plans {
        let keys = match (&p.replication, super::refusal(p)) {
            (Replication::FullTableByKey(keys), None) => keys,
            (_, why) => {
                let why = why.unwrap_or("cannot be sharded");
                return Err(TapError::Shard(format!("stream {} {why}", p.stream)));
            }
        };
        let table = TableRef {
            owner: p.owner.clone(),
            table: p.table.clone(),
        };
        let key_columns: Vec<ScanColumn> = keys
            .iter()
            .map(|k| ScanColumn::new(k.name.clone(), k.oracle_type.clone()))
            .collect();
        let chunks = u32::try_from(shards).unwrap_or(u32::MAX);
        let bounds = source.chunk_bounds(&table, &key_columns, chunks, Some(scn))?;
        let bounds = bounds
            .iter()
            .map(|b| key_json(&p.replication, b, options.source_offset))
            .collect();
        let chunks: Vec<PlannedChunk> = chunks_between(bounds)
            .into_iter()
            .map(|c| PlannedChunk {
                after: c.after,
                through: c.through,
            })
            .collect();
        tracing::info!(stream = %p.stream, scn, chunks = chunks.len(), "stream planned");
        planned.push(PlannedStream {
            stream: p.stream.clone(),
            version,
            key: key_columns.into_iter().map(|c| c.name).collect(),
            chunks,
        });
    }
    let plan = ShardPlan {
        format: PLAN_FORMAT,
        scn,
        shards,
        created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        streams: planned,
    };
    check_catalog(&plans, &plan)?;
    Ok(plan)
}
