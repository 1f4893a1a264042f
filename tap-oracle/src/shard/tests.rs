//! Unit tests of the plan file checks, the shard settings and the final step's check.
