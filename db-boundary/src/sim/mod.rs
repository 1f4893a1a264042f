//! The simulated backend (in progress, issue 3).
