//! One shard's FULL_TABLE pass of a stream: its share of the plan's key ranges, read
//! AS OF the plan's SCN under the plan's version on `max_parallel_chunks` sessions (the
//! chunked pass of `chunks.rs`), each range's progress in this shard's own STATE, and
//! no ACTIVATE_VERSION (the final step emits it once every shard is done).

use std::io::Write;

use db_boundary::{Backend, Source};

use super::ShardRun;
use crate::bookmark::ShardBookmark;
use crate::error::TapError;
use crate::plan::Replication;
use crate::stream::{snapshot_lost, StreamRun};

impl<W: Write + Send> StreamRun<'_, W> {
    /// Reads this shard's chunks of the stream, resuming them when the bookmark is of
    /// the same plan and shard; a shard already complete for the plan reads nothing.
    pub(crate) fn shard_pass(
        &mut self,
        backend: &dyn Backend,
        source: &mut dyn Source,
        run: &ShardRun,
    ) -> Result<(), TapError> {
        let stream = self.plan.stream.clone();
        let (Some(planned), Replication::FullTableByKey(keys)) =
            (run.plan.stream(&stream), &self.plan.replication)
        else {
            return Err(TapError::stream(&stream, "not a keyed stream of the plan"));
        };
        let mine = ShardBookmark {
            plan_scn: run.plan.scn,
            index: run.index,
            count: run.count,
            complete: false,
        };
        let same = self.bookmark.version == Some(planned.version)
            && self.bookmark.shard.is_some_and(|s| {
                ShardBookmark {
                    complete: false,
                    ..s
                } == mine
            });
        if !same {
            // Another plan, another shard, or none: this shard's ranges from their start.
            self.bookmark.clear_pass();
            self.bookmark.chunks = Some(run.chunks_of(planned));
            self.bookmark.shard = Some(mine);
        }
        let complete = self.bookmark.shard.is_some_and(|s| s.complete);
        self.version = Some(planned.version);
        self.bookmark.version = Some(planned.version);
        self.bookmark.scn = (!complete).then_some(run.plan.scn);
        let chunks = self.bookmark.chunks.as_ref().map_or(0, Vec::len);
        tracing::info!(stream = %stream, shard = run.index, shards = run.count, chunks, resuming = same && !complete, scn = run.plan.scn, version = planned.version, "FULL_TABLE shard");
        self.publish_start()?;
        if complete {
            tracing::info!(stream = %stream, shard = run.index, "this shard of the plan is already complete: nothing to read");
            return Ok(self.publish(true)?);
        }
        match self.chunked(backend, source, &keys.clone()) {
            Err(TapError::Database(e)) if snapshot_lost(&e) => {
                return Err(TapError::Shard(format!(
                    "stream {stream}: the plan's snapshot (SCN {}) can no longer be read ({e}); every shard reads that one snapshot, so make a new plan and run every shard again (raise UNDO_RETENTION to give shards more time)",
                    run.plan.scn
                )));
            }
            other => other?,
        }
        // This shard's part is read: its ranges are no longer needed, the version and
        // the shard's completion stay for the final step's check.
        self.bookmark.clear_pass();
        self.bookmark.shard = Some(ShardBookmark {
            complete: true,
            ..mine
        });
        self.publish(true)?;
        Ok(())
    }
}
