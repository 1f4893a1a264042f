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
